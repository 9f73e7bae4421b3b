"""A published CSV table read once into columns (:class:`~ecometer.standards.columns.EntryColumns`).

The row path (:func:`ecometer.standards.tables.import_tables`) builds a RunRecord per row;
this one reads the table in chunks of rows, turns each column the spec reads into an array at
once, and checks whole columns (finite, at least 0, still finite in SI units). The two give
the same entries (tested on the same tables): a row whose cells fail a check is handed to the
row path, which raises its error naming the file, the row and the column. A spec this path
does not cover (a unit read from a column, a mean power with a rate, ``[table] where``,
``@table.KEY``), a JSON table or a row with more or fewer cells than the header goes by the
row path whole; only the number of rows decides how long either takes.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import stat
from pathlib import Path
from typing import Any

import numpy as np

from ecometer.errors import InputError
from ecometer.record import units as U
from ecometer.standards.columns import MISSING, EntryColumns, columns_from_lines, concat, entry_line
from ecometer.standards.tablerules import TABLE_PREFIX, fill_source
from ecometer.standards.tables import (
    DURATION_UNITS,
    FILE_COLUMN,
    MAX_TABLE_BYTES,
    REPORTED,
    ROW_COLUMN,
    ImportSpec,
    TableRow,
    bulk,
    check_meta_columns,
    csv_layout,
    entry_from_row,
    import_tables,
    table_files,
    typed_value,
)

#: rows converted at a time (bounds the memory of cells not yet in arrays)
CHUNK_ROWS = 1 << 17


class _ByRows(Exception):
    """This table or spec goes by the row path."""


@bulk()  # millions of cells and rows: the cyclic collector's full passes would dominate
def import_columns(paths: list[Path], spec: ImportSpec) -> EntryColumns:
    """The rows of every table in ``paths`` as corpus entries, by column where the spec allows
    (see the module docstring); the same entries, errors and checks as :func:`import_tables`."""
    files = table_files(paths)
    try:
        if not fits_columns(spec) or any(f.suffix.lower() != ".csv" for f in files):
            raise _ByRows
        parts, seen, rows = [], set(), 0
        for f in files:
            cols, header = _csv_columns(f, spec)
            if len(cols):
                seen.update(header)
                rows += len(cols)
                parts.append(cols)
        check_meta_columns(spec, files, seen, rows > 0)
        return concat(parts) if parts else columns_from_lines([], spec.source)
    except _ByRows:
        entries = import_tables(paths, spec)
        lines = ({**entry_line(e), "source": e.attachments[REPORTED].get("source") or {}} for e in entries)
        return columns_from_lines(lines, spec.source)


def fits_columns(spec: ImportSpec) -> bool:
    """Whether the column path covers ``spec`` (fixed units, an energy, no ``where``, no ``@table.KEY``)."""
    if not isinstance(spec.energy_unit, str) or U.UNITS[spec.energy_unit].dimension != "energy":
        return False
    if spec.rate is not None or spec.where:
        return False
    named = [*spec.id, spec.energy, spec.duration, spec.water]
    named += [c.column for c in [*spec.work.values(), *spec.meta.values()]]
    return not any(isinstance(c, str) and c.startswith(TABLE_PREFIX) for c in named)


def _open_table(path: Path) -> io.TextIOWrapper:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read this table ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise _ByRows  # the row path's reader names what the file is
    if info.st_size > MAX_TABLE_BYTES:
        raise InputError(f"{path}: larger than {MAX_TABLE_BYTES // 2**20} MiB; a table is read whole up to that size")
    return open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed by the caller


def _csv_columns(path: Path, spec: ImportSpec) -> tuple[EntryColumns, list[str]]:
    source = fill_source(spec.source, None, path, spec.origin)
    parts = []
    try:
        with _open_table(path) as fh:
            first = fh.readline()
            delimiter, header = csv_layout(path, first)
            reader = csv.reader(itertools.chain([first], fh), delimiter=delimiter)
            next(reader, None)
            n = 0
            rows = (r for r in reader if r)  # a blank line is no row (as the row path reads it)
            while chunk := list(itertools.islice(rows, CHUNK_ROWS)):
                parts.append(_Chunk(path, spec, header, chunk, n, source).columns())
                n += len(chunk)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable table ({exc})") from None
    if not parts:
        return columns_from_lines([], source), header
    out = concat(parts)
    out.sources, out.source_index = [source], np.zeros(len(out), dtype=np.int32)
    return out, header


class _Chunk:
    """Rows ``start + 1 ..`` of one table, column by column."""

    def __init__(self, path: Path, spec: ImportSpec, header: list[str], rows: list[list[str]], start: int, source: Any):
        if any(len(r) != len(header) for r in rows):
            raise _ByRows  # short or long rows: the row path reads them as the CSV reader by name does
        self.path, self.spec, self.header, self.rows, self.start, self.source = path, spec, header, rows, start, source
        self.index = {name: i for i, name in enumerate(header)}
        self.bad = np.zeros(len(rows), dtype=bool)

    def cells(self, column: str) -> list[Any] | None:
        """The cells of ``column`` (text; ``@file`` and ``@row`` filled), None when the table lacks it."""
        if column == FILE_COLUMN:
            return [self.path.stem] * len(self.rows)
        if column == ROW_COLUMN:
            return list(range(self.start + 1, self.start + 1 + len(self.rows)))
        j = self.index.get(column)
        return None if j is None else [r[j] for r in self.rows]

    def numbers(self, column: str, *, positive: bool = False, scale: float = 1.0, empty_ok: bool = False) -> np.ndarray:
        """The column as floats times ``scale``; rows that fail the row path's check are marked
        bad (an empty cell is NaN, and fine when ``empty_ok``)."""
        cells = self.cells(column)
        if cells is None:
            self.bad[0] = True  # the row path names the missing column
            return np.full(len(self.rows), math.nan)
        try:
            x = np.array([float(c) for c in cells], dtype=float) if cells and isinstance(cells[0], str) else None
        except ValueError:
            x = None
        if x is None:
            x = np.array([_number(c) for c in cells], dtype=float)
        with np.errstate(over="ignore", invalid="ignore"):
            y = x * scale if scale != 1.0 else x
            bad = ~np.isfinite(x) | (x <= 0 if positive else x < 0) | ~np.isfinite(y)
        if empty_ok:
            empty = np.array([isinstance(c, str) and not c.strip() for c in cells], dtype=bool)
            bad &= ~empty
            y[empty] = math.nan
        self.bad |= bad
        return y

    def columns(self) -> EntryColumns:
        spec, n = self.spec, len(self.rows)
        cols = EntryColumns(component=[spec.component] * n)
        parts = []
        for c in spec.id:
            cells = self.cells(c)
            if cells is None:
                self.bad[0] = True
                cells = [""] * n
            cells = [str(x) for x in cells]
            self.bad |= np.array([not x.strip() for x in cells], dtype=bool)
            parts.append(cells)
        cols.names = ["/".join(p) for p in zip(*parts, strict=True)] if len(parts) > 1 else parts[0]
        cols.energy_j = self.numbers(spec.energy, scale=U.UNITS[spec.energy_unit].factor)  # type: ignore[index]
        for unit, c in spec.work.items():
            cols.work[unit] = (
                np.full(n, c.value) if c.column is None else self.numbers(c.column, positive=True, scale=c.scale)
            )
        work_unit = spec.work_unit or (next(iter(spec.work)) if len(spec.work) == 1 else None)
        cols.work_unit = [work_unit] * n
        self._meta(cols)
        cols.duration_s = np.full(n, math.nan)
        if spec.duration is not None:
            cols.duration_s = self.numbers(spec.duration, scale=DURATION_UNITS[spec.duration_unit])
        cols.water_l = self._water()
        cols.spread = np.full(n, math.nan if spec.spread is None else spec.spread)
        cols.where = {"file": [self.path.name] * n, "row": list(range(self.start + 1, self.start + 1 + n))}
        cols.sources, cols.source_index = [self.source], np.zeros(n, dtype=np.int32)
        if self.bad.any():
            self._fail(int(np.flatnonzero(self.bad)[0]))
        return cols

    def _meta(self, cols: EntryColumns) -> None:
        n = len(self.rows)
        for key, c in self.spec.meta.items():
            if c.column is None:
                cols.meta[key] = [c.value] * n
                continue
            cells = self.cells(c.column)
            if cells is None:  # a column this table lacks stays unknown (check_meta_columns: not every table)
                cols.meta[key] = [MISSING] * n
            elif c.scale != 1:
                values = self.numbers(c.column, scale=c.scale, empty_ok=True)
                cols.meta[key] = [MISSING if math.isnan(v) else v for v in values.tolist()]
            else:
                seen: dict[Any, Any] = {}
                cols.meta[key] = [seen[x] if x in seen else seen.setdefault(x, _typed(x)) for x in cells]

    def _water(self) -> np.ndarray:
        if self.spec.water is None:
            return np.full(len(self.rows), math.nan)
        return self.numbers(self.spec.water, scale=U.UNITS[self.spec.water_unit].factor, empty_ok=True)

    def _fail(self, i: int) -> None:
        """Raise the row path's error for row ``i`` of this chunk (the first row that fails a check)."""
        row = TableRow(dict(zip(self.header, self.rows[i], strict=True)), self.path, self.start + i + 1)
        entry_from_row(row, self.spec, self.source)
        raise _ByRows  # the row path takes a row this path refused: read the tables by row


def _number(cell: Any) -> float:
    value = typed_value(cell) if isinstance(cell, str) else cell
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _typed(cell: str) -> Any:
    return MISSING if not cell.strip() else typed_value(cell)
