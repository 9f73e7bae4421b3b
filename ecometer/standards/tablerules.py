"""Import-spec rules for tables whose rows are not all alike (see "Import specs" in FORMAT.md).

- ``[table] where = { has_power = true }``: keep only the rows whose column holds one of the
  values given (a table may hold results without an energy figure); a row without the column
  is a layout the spec does not fit, and an error.
- A unit read from a second column: ``energy_unit = { column = "Power_Units", map = { Watts =
  "W", millijoules = "mJ" } }``. A cell the map does not list is an error naming the file, the
  row, the column and the values expected.
- ``@table.KEY`` as a column: the value of ``KEY`` at the top of a JSON table (the task of an
  ML.ENERGY file: ``task = "@table.task"``).
- ``{KEY}`` and ``{@file}`` in a ``[source]`` string: filled per table from its top-level keys
  and its file name, so that entries of several tables each name their own source.

This module reads cells and specs only; :mod:`ecometer.standards.tables` builds the entries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecometer.errors import InputError

#: prefix of a pseudo-column that reads a key at the top of a JSON table
TABLE_PREFIX = "@table."
_PLACEHOLDER = re.compile(r"\{(@file|[A-Za-z_][A-Za-z0-9_]*)\}")


#: at most this many column names are listed in an error (a table may have 100,000 columns)
MAX_NAMES_SHOWN = 12


def name_hint(name: str, names: Any) -> str:
    """The names to show beside a missing ``name``: all of them when few, else the closest few
    and how many more (an error stays one short line whatever the width of the table)."""
    listed = [str(n) for n in names]
    if len(listed) <= MAX_NAMES_SHOWN:
        return f"columns: {sorted(listed)}"
    import difflib

    close = difflib.get_close_matches(name, listed, n=5, cutoff=0.6)
    near = f"closest: {close}; " if close else ""
    return f"{near}{len(listed):,} columns in all, first {sorted(listed)[:5]}"


def spec_error(origin: str, where: str, found: Any, expected: str) -> InputError:
    """An error in an import spec: the spec, the key, what was found and what was expected."""
    return InputError(f"{origin}: {where}: found {found!r}, expected {expected}")


@dataclass(frozen=True)
class Lookup:
    """A value that depends on the row: the cell of ``column`` translated by ``map``."""

    column: str
    map: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"column": self.column, "map": dict(self.map)}

    def read(self, cell: Any, file: Path, n: int) -> str:
        """The translation of ``cell`` (row ``n`` of ``file``); an error naming what was expected."""
        key = None if cell is None else str(cell).strip()
        if key not in self.map:
            raise InputError(
                f"{file}: row {n}: column {self.column!r}: found {cell!r}, expected one of {sorted(self.map)}"
            )
        return self.map[key]


def parse_lookup(origin: str, raw: Any, where: str, valid: list[str]) -> str | Lookup:
    """A fixed value from ``valid``, or ``{ column = .., map = { CELL = VALUE } }`` with values in ``valid``."""
    if isinstance(raw, str):
        if raw not in valid:
            raise spec_error(origin, where, raw, f"one of {valid} or {{ column = .., map = {{ .. }} }}")
        return raw
    if not isinstance(raw, dict) or set(raw) != {"column", "map"}:
        raise spec_error(origin, where, raw, f"one of {valid} or {{ column = .., map = {{ CELL = VALUE }} }}")
    column, mapping = raw["column"], raw["map"]
    if not isinstance(column, str) or not column:
        raise spec_error(origin, f"{where}.column", column, "a column name")
    if not isinstance(mapping, dict) or not mapping:
        raise spec_error(origin, f"{where}.map", mapping, "a table of cell value = meaning")
    for cell, value in mapping.items():
        if value not in valid:
            raise spec_error(origin, f"{where}.map.{cell}", value, f"one of {valid}")
    return Lookup(column, {str(k): str(v) for k, v in mapping.items()})


def parse_where(origin: str, raw: Any) -> dict[str, list[Any]]:
    """``[table] where``: column -> the values a kept row holds (one value or a list)."""
    if not isinstance(raw, dict):
        raise spec_error(origin, "table.where", raw, "a table of column = value (or [values])")
    out: dict[str, list[Any]] = {}
    for column, values in raw.items():
        vals = values if isinstance(values, list) else [values]
        if not vals or not all(isinstance(v, (str, int, float, bool)) for v in vals):
            raise spec_error(origin, f"table.where.{column}", values, "a value or a list of values")
        out[column] = vals
    return out


def _same(cell: Any, value: Any) -> bool:
    """A cell equals a value of ``where``: as they are, or as text (a CSV holds 'true' for true)."""
    if cell == value and type(cell) is type(value):
        return True
    return str(cell).strip().lower() == str(value).strip().lower()


def row_kept(where: dict[str, list[Any]], cells: dict[str, Any], file: Path, n: int) -> bool:
    """Whether row ``n`` of ``file`` passes ``where``; a row without a ``where`` column is an error."""
    for column, values in where.items():
        if column not in cells:
            raise InputError(
                f"{file}: row {n}: no column {column!r}, which the import spec's table.where needs "
                f"(expected one of {values}; {name_hint(column, cells)})"
            )
        if not any(_same(cells[column], v) for v in values):
            return False
    return True


def table_value(top: dict[str, Any] | None, column: str, file: Path, n: int, *, optional: bool = False) -> Any:
    """The ``@table.KEY`` pseudo-column: ``KEY`` at the top of the JSON table (None when it
    is not there and ``optional``, else an error)."""
    key = column[len(TABLE_PREFIX) :]
    if top is None or key not in top or isinstance(top[key], (dict, list)):
        if optional:
            return None
        found = "a table without top-level keys" if not top else f"top-level keys {sorted(top)}"
        raise InputError(
            f"{file}: row {n}: column {column!r}: expected a value under {key!r} at the top of the file; found {found}"
        )
    return top[key]


def fill_source(source: dict[str, str], top: dict[str, Any] | None, file: Path, origin: str) -> dict[str, str]:
    """``source`` with ``{KEY}`` (a top-level key of the table) and ``{@file}`` (its name) filled in."""
    if not any("{" in v for v in source.values()):
        return source

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key == "@file":
            return file.name
        if top is None or key not in top or isinstance(top[key], (dict, list)):
            raise InputError(
                f"{origin}: source: {{{key}}} names no top-level value of {file} "
                f"(found {sorted(top) if top else 'none'})"
            )
        return str(top[key])

    return {k: _PLACEHOLDER.sub(fill, v) for k, v in source.items()}
