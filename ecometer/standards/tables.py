"""Published tables as corpus entries: read a CSV or JSON table with an import spec.

A *corpus entry* is a :class:`~ecometer.record.model.RunRecord` built from one row of a published
table (a leaderboard, a paper's appendix). Its energy component has the method ``reported``
and says who published it; nothing is invented around the figure: a duration the table does
not give is unknown (``duration_s`` is NaN), and the work it covers is only what the spec
states (a constant such as "per 1,000 queries", or a column).

An :class:`ImportSpec` says which column is what (see "Import specs" in ``ecometer/standards/FORMAT.md``)::

    [source]
    publisher = "AI Energy Score (Hugging Face and partners)"
    date = "2025-02"
    url = "https://huggingface.co/spaces/AIEnergyScore/Leaderboard"

    [entry]
    id = ["@file", "model"]          # columns joined by "/"; "@file" is the file's stem
    energy = "total_gpu_energy"
    energy_unit = "kWh"
    component = "gpu"                # or "it" (default)
    work = { query = 1000 }          # a count, or { column = "avg_output_len" }
    meta = { task = "@file", size_class = "class" }
    set = { gpu_model = "H100" }

Errors name the file, the row (1 = the first data row) and the column.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import gc
import io
import json
import logging
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecometer.errors import InputError
from ecometer.files.textfile import read_text_file
from ecometer.record import units as U
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord
from ecometer.standards.reported import FOOTPRINT, REPORTED, reported_water_footprint
from ecometer.standards.schema import KNOWN_WORK_UNITS
from ecometer.standards.tablerules import (
    TABLE_PREFIX,
    Lookup,
    fill_source,
    name_hint,
    parse_lookup,
    parse_where,
    row_kept,
    table_value,
)

log = logging.getLogger(__name__)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

FILE_COLUMN = "@file"  # the stem of the table's file name
ROW_COLUMN = "@row"  # the row number (1 = first data row)
COMPONENTS = ("it", "gpu")
TABLE_SUFFIXES = (".csv", ".json")
#: the largest import spec read (a spec is a few hundred bytes)
MAX_SPEC_BYTES = 2**20
#: the largest published table read (far above any leaderboard; a bound on memory, not a format rule)
MAX_TABLE_BYTES = 512 * 2**20

_SOURCE_KEYS = ("publisher", "title", "date", "url", "licence", "note")
_ENTRY_KEYS = (
    "id",
    "energy",
    "energy_unit",
    "component",
    "spread",
    "work",
    "work_unit",
    "meta",
    "set",
    "duration",
    "duration_unit",
    "water",
    "water_unit",
    "rate",
    "rate_unit",
)
_TOP_KEYS = ("source", "table", "entry")
_TABLE_KEYS = ("records_key", "files", "where")
DURATION_UNITS = {"s": 1.0, "min": U.S_PER_MIN, "h": U.S_PER_H}


@dataclass
class Column:
    """A value read from a column (``scale`` multiplies it), or a constant when ``column`` is None.
    An ``optional`` meta column may be in none of the tables (a column a later release adds)."""

    column: str | None = None
    value: Any = None
    scale: float = 1.0
    optional: bool = False


@dataclass
class ImportSpec:
    """How the rows of a published table become corpus entries (all columns by name)."""

    id: list[str]
    energy: str
    #: an energy unit, a power unit (then ``rate`` says the work per second), or a :class:`Lookup`
    energy_unit: str | Lookup = "J"
    component: str = "it"
    work: dict[str, Column] = field(default_factory=dict)
    work_unit: str | None = None
    meta: dict[str, Column] = field(default_factory=dict)
    duration: str | None = None
    duration_unit: str = "s"
    water: str | None = None
    water_unit: str = "L"
    spread: float | None = None
    records_key: str | None = None
    files: list[str] = field(default_factory=list)
    source: dict[str, str] = field(default_factory=dict)
    origin: str = "<spec>"
    #: the column of work done per second, for rows whose figure is a mean power
    rate: str | None = None
    #: the work unit of ``rate`` (a :class:`Lookup` when a column says it)
    rate_unit: str | Lookup | None = None
    #: rows kept: column -> values (``[table] where``)
    where: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def source_text(self) -> str:
        """Who published the figures, what, when and where, in one line."""
        return source_line(self.source)

    def to_dict(self) -> dict[str, Any]:
        """The spec's TOML-shaped dictionary (to record how a corpus was imported)."""

        def col(c: Column) -> Any:
            if c.column is None:
                return c.value
            if c.scale == 1 and not c.optional:
                return c.column
            return {
                "column": c.column,
                **({"scale": c.scale} if c.scale != 1 else {}),
                **({"optional": True} if c.optional else {}),
            }

        unit = self.energy_unit.to_dict() if isinstance(self.energy_unit, Lookup) else self.energy_unit
        entry: dict[str, Any] = {"id": list(self.id), "energy": self.energy, "energy_unit": unit}
        entry["component"] = self.component
        if self.spread is not None:
            entry["spread"] = self.spread
        if self.work:
            entry["work"] = {k: col(c) for k, c in self.work.items()}
        if self.work_unit:
            entry["work_unit"] = self.work_unit
        meta = {k: col(c) for k, c in self.meta.items() if c.column is not None}
        consts = {k: c.value for k, c in self.meta.items() if c.column is None}
        if meta:
            entry["meta"] = meta
        if consts:
            entry["set"] = consts
        for key in ("duration", "water"):
            if getattr(self, key):
                entry[key] = getattr(self, key)
                entry[f"{key}_unit"] = getattr(self, f"{key}_unit")
        if self.rate:
            entry["rate"] = self.rate
            entry["rate_unit"] = self.rate_unit.to_dict() if isinstance(self.rate_unit, Lookup) else self.rate_unit
        out: dict[str, Any] = {"source": dict(self.source), "entry": entry}
        table: dict[str, Any] = {}
        if self.records_key:
            table["records_key"] = self.records_key
        if self.where:
            table["where"] = {k: v if len(v) > 1 else v[0] for k, v in self.where.items()}
        if table:
            out["table"] = table
        return out


_SOURCE_LINE = ("publisher", "title", "date", "url")


def source_line(source: dict[str, str]) -> str:
    """Who published figures, what, when and where, in one line (from a ``[source]`` table)."""
    return _source_line(tuple(source.get(k, "") for k in _SOURCE_LINE))


@functools.lru_cache(maxsize=64)
def _source_line(parts: tuple[str, ...]) -> str:
    return ", ".join(p for p in parts if p) or "unnamed source"


# ---- reading a spec --------------------------------------------------------------------------
def _err(origin: str, where: str, found: Any, expected: str) -> InputError:
    return InputError(f"{origin}: {where}: found {found!r}, expected {expected}")


def _keys(origin: str, table: Any, allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _err(origin, where, table, "a table")
    import difflib

    for k in table:
        if k not in allowed:
            close = difflib.get_close_matches(k, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise _err(origin, f"{where}.{k}" if where else k, k, f"one of {list(allowed)}{hint}")
    return table


def _column(origin: str, value: Any, where: str, *, constant_ok: bool) -> Column:
    if isinstance(value, str) and not constant_ok:
        return Column(column=value)
    if isinstance(value, dict):
        _keys(origin, value, ("column", "scale", "optional"), where)
        if not isinstance(value.get("column"), str):
            raise _err(origin, f"{where}.column", value.get("column"), "a column name")
        scale = value.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
            raise _err(origin, f"{where}.scale", scale, "a number above 0")
        optional = value.get("optional", False)
        if not isinstance(optional, bool):
            raise _err(origin, f"{where}.optional", optional, "true or false")
        return Column(column=value["column"], scale=float(scale), optional=optional)
    if constant_ok and isinstance(value, (str, int, float, bool)):
        return Column(value=value)
    raise _err(origin, where, value, "a column name or { column = .., scale = .. }")


def _one_of(origin: str, entry: dict[str, Any], key: str, default: str, valid: list[str]) -> str:
    value = entry.get(key, default)
    if value not in valid:
        raise _err(origin, f"entry.{key}", value, f"one of {valid}")
    return value


def _optional_column(origin: str, table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value):
        raise _err(origin, f"{where}.{key}", value, "a column name (or key) as a string")
    return value


def _work(origin: str, raw: Any) -> dict[str, Column]:
    """``[entry] work``: how many of each work unit a row's energy covers (a count or a column)."""
    work: dict[str, Column] = {}
    for k, v in _keys(origin, raw, tuple(raw) if isinstance(raw, dict) else (), "entry.work").items():
        if isinstance(v, bool) or (isinstance(v, (int, float)) and not v > 0):
            raise _err(origin, f"entry.work.{k}", v, "a positive count or { column = .. }")
        where = f"entry.work.{k}"
        work[k] = (
            Column(value=float(v)) if isinstance(v, (int, float)) else _column(origin, v, where, constant_ok=False)
        )
    return work


def _meta(origin: str, entry: dict[str, Any]) -> dict[str, Column]:
    """``[entry.meta]`` (fields from columns) and ``[entry.set]`` (constants)."""
    out: dict[str, Column] = {}
    for key, constant in (("meta", False), ("set", True)):
        raw = entry.get(key, {})
        for k, v in _keys(origin, raw, tuple(raw) if isinstance(raw, dict) else (), f"entry.{key}").items():
            out[k] = _column(origin, v, f"entry.{key}.{k}", constant_ok=constant)
    return out


def spec_from_dict(data: dict[str, Any], *, origin: str = "<spec>") -> ImportSpec:
    """Validate an import spec's TOML-shaped dictionary."""
    _keys(origin, data, _TOP_KEYS, "")
    source = _keys(origin, data.get("source", {}), _SOURCE_KEYS, "source")
    for k, v in source.items():
        if not isinstance(v, str):
            raise _err(origin, f"source.{k}", v, "a string")
    table = _keys(origin, data.get("table", {}), _TABLE_KEYS, "table")
    entry = _keys(origin, data.get("entry"), _ENTRY_KEYS, "entry")
    if "id" not in entry or "energy" not in entry:
        raise _err(origin, "entry.id" if "id" not in entry else "entry.energy", None, "a column name (required)")
    ids = entry["id"] if isinstance(entry["id"], list) else [entry["id"]]
    if not ids or not all(isinstance(c, str) and c for c in ids):
        raise _err(origin, "entry.id", entry["id"], "a column name or a list of them")
    work = _work(origin, entry.get("work", {}))
    work_unit = entry.get("work_unit")
    if work_unit is not None and work_unit not in work:
        raise _err(origin, "entry.work_unit", work_unit, f"one of the work units {list(work)}")
    spread = entry.get("spread")
    if spread is not None and (isinstance(spread, bool) or not isinstance(spread, (int, float)) or not 0 <= spread < 1):
        raise _err(origin, "entry.spread", spread, "a relative half-width from 0 to below 1 (0.05 = +/-5 %)")
    files = table.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise _err(origin, "table.files", files, "a list of file names or glob patterns")
    energy_unit, rate, rate_unit = _energy_units(origin, entry)
    return ImportSpec(
        id=list(ids),
        energy=_optional_column(origin, entry, "energy", "entry") or "",
        energy_unit=energy_unit,
        rate=rate,
        rate_unit=rate_unit,
        where=parse_where(origin, table.get("where", {})),
        component=_one_of(origin, entry, "component", "it", list(COMPONENTS)),
        work=work,
        work_unit=work_unit,
        meta=_meta(origin, entry),
        duration=_optional_column(origin, entry, "duration", "entry"),
        duration_unit=_one_of(origin, entry, "duration_unit", "s", list(DURATION_UNITS)),
        water=_optional_column(origin, entry, "water", "entry"),
        water_unit=_one_of(origin, entry, "water_unit", "L", U.units_of("volume")),
        spread=None if spread is None else float(spread),
        records_key=_optional_column(origin, table, "records_key", "table"),
        files=list(files),
        source=dict(source),
        origin=origin,
    )


def _energy_units(origin: str, entry: dict[str, Any]) -> tuple[str | Lookup, str | None, str | Lookup | None]:
    """``energy_unit`` (energy, or power with ``rate`` and ``rate_unit``), checked together."""
    powers = U.units_of("power")
    unit = parse_lookup(origin, entry.get("energy_unit", "J"), "entry.energy_unit", U.units_of("energy") + powers)
    units = set(unit.map.values()) if isinstance(unit, Lookup) else {unit}
    rate = _optional_column(origin, entry, "rate", "entry")
    if not units & set(powers):
        if rate is not None or "rate_unit" in entry:
            raise _err(origin, "entry.rate", rate, "no rate: energy_unit is an energy, not a power")
        return unit, None, None
    if rate is None or "rate_unit" not in entry:
        raise _err(
            origin,
            "entry.rate" if rate is None else "entry.rate_unit",
            None,
            "the column of work per second and its work unit: energy_unit can be a power "
            f"({sorted(units & set(powers))}), and a mean power becomes energy per unit of work by this rate",
        )
    work = entry.get("work", {})
    work_units = sorted(set(KNOWN_WORK_UNITS) | set(work if isinstance(work, dict) else ()))
    return unit, rate, parse_lookup(origin, entry["rate_unit"], "entry.rate_unit", work_units)


def builtin_specs() -> list[str]:
    """Names of the import specs shipped with ecometer (``ecometer/data/corpora/*.toml``)."""
    return sorted(p.stem for p in _corpora_dir().glob("*.toml"))


def _corpora_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("ecometer").joinpath("data", "corpora")))


def load_spec(name_or_path: str | Path) -> ImportSpec:
    """An import spec from a TOML file, or a shipped one by name (see :func:`builtin_specs`)."""
    path = Path(name_or_path)
    if not path.exists() and str(name_or_path) in builtin_specs():
        path = _corpora_dir() / f"{name_or_path}.toml"
    text = read_text_file(
        path,
        MAX_SPEC_BYTES,
        what="import spec",
        error=lambda msg: InputError(f"{msg}; expected a TOML file or one of {builtin_specs()}"),
    )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: malformed TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{path}: malformed import spec: arrays or tables nested too deeply to parse") from None
    return spec_from_dict(data, origin=str(path))


def spec_files(spec: ImportSpec) -> list[Path]:
    """The tables a spec names itself (``[table] files``, relative to the spec file)."""
    base = Path(spec.origin).parent
    out: list[Path] = []
    for pattern in spec.files:
        found = sorted(base.glob(pattern))
        if not found:
            raise InputError(f"{spec.origin}: table.files: {pattern!r} matches no file under {base}")
        out.extend(found)
    return out


# ---- reading tables --------------------------------------------------------------------------
def is_table(path: Path, spec: ImportSpec | None) -> bool:
    """Whether ``path`` is a published table rather than a record file."""
    if path.suffix.lower() == ".csv":
        return True
    if path.suffix.lower() != ".json" or spec is None or not path.is_file():
        return False  # a FIFO or device is not opened here (reading it would wait or never end)
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip()
    return head.startswith(b"[") or (spec.records_key is not None and b'"schema_version"' not in head)


def table_rows(path: Path, records_key: str | None = None) -> list[dict[str, Any]]:
    """The rows of a CSV file (strings) or a JSON list (optionally under ``records_key``)."""
    return table_data(path, records_key)[0]


def table_data(path: Path, records_key: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """The rows of a table and, for a JSON object holding them under ``records_key``, that
    object's other keys (a file-level task, architecture...; None for a CSV or a bare list)."""
    text = read_text_file(path, MAX_TABLE_BYTES, what="table")
    try:
        if path.suffix.lower() == ".csv":
            delimiter, _ = csv_layout(path, text)
            return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)), None
        data = json_table(path, text, records_key)
    except (json.JSONDecodeError, RecursionError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable table ({exc})") from None
    top = None
    if records_key is not None:
        if not isinstance(data, dict) or records_key not in data:
            keys = name_hint(records_key, data) if isinstance(data, dict) else type(data).__name__
            raise InputError(f"{path}: no list under key {records_key!r} (found {keys})")
        top = {k: v for k, v in data.items() if k != records_key}
        data = data[records_key]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        hint = "; name the key of the list with records_key" if isinstance(data, dict) else ""
        raise InputError(f"{path}: expected a JSON list of objects (one per row){hint}")
    return data, top


#: the column separators a CSV header is sniffed for when it holds no comma
DELIMITERS = (";", "\t", "|")


def csv_layout(path: Path, text: str) -> tuple[str, list[str]]:
    """The separator of a CSV table (a comma, or else the one of ``;``, tab, ``|`` its header
    line uses most) and its header; a header naming a column twice is refused (a reader by name
    would silently keep the last of the two)."""
    line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = ","
    if "," not in line:
        counts = {d: line.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        if counts[best]:
            delimiter = best
            log.info("%s: columns separated by %r (the header line holds no comma)", path, best)
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    where: dict[str, int] = {}
    for i, name in enumerate(header, start=1):
        if name in where:
            raise InputError(
                f"{path}: header line: column {shown(name)} is both column {where[name]} and column {i}; "
                "expected each column named once"
            )
        where[name] = i
    return delimiter, header


class DuplicateKey(ValueError):
    """A JSON object names a key twice."""


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKey(k)
            seen.add(k)
    return out


_TWICE = "\x00twice"  # marks an object with a repeated key, to find its row for the error


def _marked_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    try:
        return _unique_pairs(pairs)
    except DuplicateKey as exc:
        return {**dict(pairs), _TWICE: exc.args[0]}


def json_table(path: Path, text: str, records_key: str | None) -> Any:
    """A JSON table parsed with every key once per object (a repeated key is refused with its
    row, not silently the last value) and integers beyond 300 digits read as inf (refused by
    name where a number is read)."""
    try:
        return json.loads(text, object_pairs_hook=_unique_pairs, parse_int=bounded_int)
    except DuplicateKey as exc:
        key = exc.args[0]
    data = json.loads(text, object_pairs_hook=_marked_pairs, parse_int=bounded_int)
    rows = data.get(records_key) if isinstance(data, dict) and records_key else data
    for n, row in enumerate(rows if isinstance(rows, list) else [], start=1):
        if isinstance(row, dict) and _TWICE in row:
            raise InputError(
                f"{path}: row {n}: column {shown(row[_TWICE])} appears twice in the row's object; "
                "expected each key once (which of the two values is meant is not known)"
            )
    raise InputError(f"{path}: key {shown(key)} appears twice in one JSON object; expected each key once")


def bounded_int(digits: str) -> int | float:
    """A JSON integer as an int, or as -inf / inf beyond 300 digits (no float holds it; the
    field's own check then refuses it by name instead of a parser error that names none)."""
    if len(digits) <= 300:
        return int(digits)
    return -math.inf if digits.startswith("-") else math.inf


_INT = re.compile(r"^[+-]?\d+$")


def typed_value(value: Any) -> Any:
    """A CSV cell as a number when it reads as one; JSON values as they are."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if _INT.match(text):  # beyond 300 digits no float holds it: inf, refused by name where a number is read
        return int(text) if len(text) <= 300 else float(text)
    try:
        x = float(text)
    except ValueError:
        return text
    return x if math.isfinite(x) else text


def as_float(value: Any) -> float | None:
    """A number cell as a float (an integer beyond the float range is inf); None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


#: the most characters of a cell shown in an error
MAX_SHOWN = 40


def shown(value: Any) -> str:
    """A cell for an error message: as written when short, else its start and its length."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        if value.bit_length() > 14_000:  # str() refuses an integer of over 4,300 digits
            return "an integer of over 4,000 digits"
        return f"a {len(str(abs(value))):,}-digit integer"
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else f"{text[:MAX_SHOWN]}... ({len(text):,} characters)"


def decimal_comma_hint(value: Any) -> str:
    """A hint when a cell reads as a number written with a decimal comma ("0,5")."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+,\d+\s*", value):
        return " (a decimal comma? write the number with a point)"
    return ""


class TableRow:
    """One row of one table, for reading cells with errors that say where."""

    __slots__ = ("cells", "file", "n", "top")

    def __init__(self, cells: dict[str, Any], file: Path, n: int, top: dict[str, Any] | None = None) -> None:
        self.cells, self.file, self.n, self.top = cells, file, n, top

    def raw(self, column: str, *, optional: bool = False, typed: bool = True, role: str = "") -> Any:
        """The cell (a number when it reads as one, unless ``typed`` is false); None when empty.
        ``role`` says what the spec reads the column for (in the error when it is missing)."""
        if column == FILE_COLUMN:
            return self.file.stem
        if column == ROW_COLUMN:
            return self.n
        if column.startswith(TABLE_PREFIX):
            return table_value(self.top, column, self.file, self.n, optional=optional)
        if column not in self.cells:
            if optional:
                return None
            why = f", which the import spec reads as {role}" if role else ""
            raise InputError(f"{self.file}: row {self.n}: no column {column!r}{why} ({name_hint(column, self.cells)})")
        value = self.cells[column]
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return typed_value(value) if typed else value

    def number(self, column: str, what: str, *, positive: bool = False, scale: float = 1.0, unit: str = "") -> float:
        """The cell as a finite number >= 0 (> 0 if ``positive``) times ``scale`` (a unit's factor,
        ``unit`` its name), which must stay finite too (1e308 kWh is beyond any float of joules)."""
        value = self.raw(column, role=f"the {what}")
        x = as_float(value)
        if x is None or not math.isfinite(x) or x < 0 or (positive and x == 0):
            raise InputError(
                f"{self.file}: row {self.n}: column {column!r} ({what}): found {shown(value)}, "
                f"expected a finite number {'above' if positive else 'of at least'} 0{decimal_comma_hint(value)}"
            )
        if not math.isfinite(x * scale):
            raise InputError(
                f"{self.file}: row {self.n}: column {column!r} ({what}): {shown(value)} {unit} is beyond the "
                f"largest number this import holds (about 1.8e308 in SI units); expected a realistic figure"
            )
        return x * scale if scale != 1.0 else x


def make_entry(
    name: str,
    energy_j: float,
    *,
    component: str = "it",
    spread: float | None = None,
    work: dict[str, float] | None = None,
    work_unit: str | None = None,
    meta: dict[str, Any] | None = None,
    duration_s: float = math.nan,
    source: dict[str, str] | None = None,
    where: dict[str, Any] | None = None,
    water_l: float | None = None,
) -> RunRecord:
    """A corpus entry: a record holding one reported figure and only what the table states.

    ``spread`` is the publisher's relative half-width (None: none stated, the interval is
    the point); ``where`` says where in the table it was read (file, row).
    """
    source = source or {}
    text = _source_line(tuple(source.get(k, "") for k in _SOURCE_LINE))
    half = spread or 0.0
    notes = [] if spread is not None else ["the publisher states no spread; the interval is the reported mean"]
    comp = Component(
        component,
        energy_j,
        REPORTED,
        Estimate(energy_j, energy_j * (1 - half), energy_j * (1 + half)),
        source=text,
        notes=notes,
    )
    work = dict(work or {})
    reported: dict[str, Any] = {"source": dict(source), **(where or {})}
    if spread is not None:
        reported["spread"] = spread
    attachments: dict[str, dict[str, Any]] = {REPORTED: reported}
    if water_l is not None:
        reported["water_total_l"] = water_l
        attachments[FOOTPRINT] = reported_water_footprint(name, source, water_l)
    return RunRecord(
        name=name,
        status="ok",
        duration_s=duration_s,
        components={component: comp},
        work=work,
        work_unit=work_unit or (next(iter(work)) if len(work) == 1 else None),
        scope=REPORTED,
        meta=dict(meta or {}),
        attachments=attachments,
    )


def _row_unit(row: TableRow, unit: str | Lookup) -> str:
    return unit.read(row.raw(unit.column, typed=False), row.file, row.n) if isinstance(unit, Lookup) else unit


def _energy_and_work(row: TableRow, spec: ImportSpec) -> tuple[float, dict[str, float], str | None]:
    """The row's energy (J) and the work it covers; a mean power covers one second of the
    steady state it was measured in: its watts as joules, and ``rate`` units of work."""
    name = _row_unit(row, spec.energy_unit)
    unit = U.UNITS[name]
    what = "energy" if unit.dimension == "energy" else "mean power"
    figure = row.number(spec.energy, what, scale=unit.factor, unit=name)
    if unit.dimension == "power":
        per = _row_unit(row, spec.rate_unit)  # type: ignore[arg-type]
        return figure, {per: row.number(spec.rate, f"{per} per second", positive=True)}, per  # type: ignore[arg-type]
    work = {
        unit: c.value if c.column is None else row.number(c.column, f"{unit} count", positive=True, scale=c.scale)
        for unit, c in spec.work.items()
    }
    return figure, work, spec.work_unit


def entry_from_row(row: TableRow, spec: ImportSpec, source: dict[str, str] | None = None) -> RunRecord:
    """One corpus entry from one table row (see the module docstring); ``source`` is the spec's
    ``[source]`` filled in for the row's table (default: as written)."""
    parts = [row.raw(c, typed=False, role="part of the identity (entry.id)") for c in spec.id]  # "007" stays text
    missing = [c for c, p in zip(spec.id, parts, strict=True) if p is None]
    if missing:
        raise InputError(f"{row.file}: row {row.n}: identity column {missing[0]!r} is empty")
    energy, work, work_unit = _energy_and_work(row, spec)
    meta: dict[str, Any] = {}
    for key, c in spec.meta.items():
        value = c.value if c.column is None else row.raw(c.column, optional=True)
        if value is None:  # an empty cell, or a column this table lacks, stays unknown
            continue
        meta[key] = row.number(c.column or key, key, scale=c.scale) if c.scale != 1 else value
    duration = math.nan
    if spec.duration is not None:
        duration = row.number(
            spec.duration, "duration", scale=DURATION_UNITS[spec.duration_unit], unit=spec.duration_unit
        )
    water = None
    if spec.water is not None and row.raw(spec.water) is not None:
        water = row.number(spec.water, "water", scale=U.UNITS[spec.water_unit].factor, unit=spec.water_unit)
    return make_entry(
        "/".join(str(p) for p in parts),
        energy,
        component=spec.component,
        spread=spec.spread,
        work=work,
        work_unit=work_unit,
        meta=meta,
        duration_s=duration,
        source=spec.source if source is None else source,
        where={"file": row.file.name, "row": row.n},
        water_l=water,
    )


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while many acyclic objects are built (entries of a
    large table): its repeated full passes would otherwise dominate the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def table_files(paths: list[Path]) -> list[Path]:
    """The files named, a folder standing for its ``*.csv`` and ``*.json`` files (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in TABLE_SUFFIXES)
            if not found:
                raise InputError(f"{p}: folder holds no *.csv or *.json tables")
            out.extend(found)
        else:
            out.append(p)
    return out


def import_tables(paths: list[Path], spec: ImportSpec) -> list[RunRecord]:
    """Rows of every table in ``paths`` as corpus entries.

    A meta column may be absent from some tables (the value stays unknown there), but a
    column that no table has is a typo in the spec and an error.
    """
    files = table_files(paths)
    out: list[RunRecord] = []
    seen: set[str] = set()
    for f in files:
        rows, top = table_data(f, spec.records_key)
        source = fill_source(spec.source, top, f, spec.origin)
        kept: Any = enumerate(rows, start=1)
        if spec.where:  # only the rows that are results of the kind the spec reads
            kept = [(i, cells) for i, cells in kept if row_kept(spec.where, cells, f, i)]
            rows = [cells for _, cells in kept[:1]]
        for cells in rows[:1]:
            seen.update(cells)
        with bulk():
            out.extend(entry_from_row(TableRow(cells, f, i, top), spec, source) for i, cells in kept)
    check_meta_columns(spec, files, seen, bool(out))
    return out


def check_meta_columns(spec: ImportSpec, files: list[Path], seen: set[str], any_rows: bool) -> None:
    """Refuse a spec whose ``entry.meta`` names a column none of the tables has (a typo):
    ``seen`` holds the columns of the tables that gave rows."""
    wanted = {c.column for c in spec.meta.values() if c.column is not None and not c.optional}
    wanted -= {FILE_COLUMN, ROW_COLUMN}
    wanted = {c for c in wanted if not c.startswith(TABLE_PREFIX)}
    absent = sorted(wanted - seen)
    if absent and any_rows:
        raise InputError(
            f"{spec.origin}: entry.meta: column {absent[0]!r} is in none of the tables "
            f"({', '.join(str(f) for f in files)}; {name_hint(absent[0], seen)})"
        )


def file_sha256(paths: list[Path]) -> str:
    """The SHA-256 of the files' bytes, in the order given (the identity of an imported table)."""
    import hashlib  # only when a table is imported (scoring never needs it)

    h = hashlib.sha256()
    for p in paths:
        with p.open("rb") as fh:
            while block := fh.read(1 << 20):
                h.update(block)
    return h.hexdigest()
