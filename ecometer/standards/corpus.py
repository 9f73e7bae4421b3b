"""Reading a corpus from files and folders: run records, corpus entries, published tables.

A corpus mixes three kinds of file:

- run records (``*.json`` written by ecometer);
- corpus entry files (``*.jsonl`` written by ``ecometer corpus import``): one published
  figure per line, after a header line that says where the figures come from;
- published tables (``*.csv``, or JSON tables) read with an import spec
  (:mod:`ecometer.standards.tables`).

A folder stands for its records and entry files (and, given a spec, its tables).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from ecometer.checks.text import json_text
from ecometer.errors import InputError
from ecometer.files.atomic import write_atomic
from ecometer.record.model import CHECKPOINT_SUFFIX, RunRecord, load_record
from ecometer.standards.columns import MISSING, EntryColumns, columns_from_lines, entry_line
from ecometer.standards.columns import concat as concat_columns
from ecometer.standards.compact import read_compact
from ecometer.standards.reported import REPORTED
from ecometer.standards.tables import ImportSpec, bounded_int, bulk, import_tables, is_table

ENTRIES_SUFFIX = ".jsonl"
ENTRIES_KIND = "ecometer.corpus"
ENTRIES_FILE = "entries.jsonl"


def record_paths(paths: Iterable[str | Path], spec: ImportSpec | None = None) -> list[Path]:
    """Files named, plus every record (``*.json``) and entry file (``*.jsonl``) directly inside a
    named folder, and its ``*.csv`` tables when an import spec is given (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            suffixes = {".json", ENTRIES_SUFFIX} | ({".csv"} if spec is not None else set())
            found = sorted(
                f for f in p.iterdir() if f.suffix.lower() in suffixes and not f.name.endswith(CHECKPOINT_SUFFIX)
            )
            if not found:
                hint = "" if spec is not None else " (a folder of published tables needs an import spec: --spec SPEC)"
                raise InputError(f"{p}: folder holds no *.json record files or *.jsonl corpus entries{hint}")
            out.extend(found)
        else:
            out.append(p)
    return out


def load_records(paths: Iterable[str | Path], spec: ImportSpec | None = None) -> list[RunRecord]:
    """Load every record and corpus entry named by ``paths`` (files or folders).

    With ``spec``, CSV and JSON tables are imported with it; without one a table is an error
    that says how to read it. Raises on the first bad file.
    """
    files = record_paths(paths, spec)
    if not files:
        raise InputError("no record files given")
    out: list[RunRecord] = []
    tables: list[Path] = []
    for f in files:
        if f.suffix.lower() == ENTRIES_SUFFIX:
            out.extend(read_entries(f))
        elif f.suffix.lower() == ".csv" or (spec is not None and f.exists() and is_table(f, spec)):
            if spec is None:
                raise InputError(
                    f"{f}: a published table, not a run record: give an import spec (--spec SPEC.toml, "
                    "or a shipped one such as ai-energy-score-2025-02) or import it first with "
                    "'ecometer corpus import'"
                )
            tables.append(f)
        else:
            out.append(load_record(f))
    if tables:
        out.extend(import_tables(tables, spec))  # type: ignore[arg-type]
    return out


def load_columns(paths: Iterable[str | Path], spec: ImportSpec | None = None) -> EntryColumns | None:
    """The corpus entries named by ``paths``, by column (no RunRecord built), when every file is
    an entries file or a table read with ``spec``; None when any is a run record (or a table
    without a spec: :func:`load_records` says how to read it)."""
    files = record_paths(paths, spec)
    if not files:
        raise InputError("no record files given")
    entries = [f for f in files if f.suffix.lower() == ENTRIES_SUFFIX]
    tables = [f for f in files if f.suffix.lower() != ENTRIES_SUFFIX]
    if tables and (
        spec is None or not all(f.suffix.lower() == ".csv" or (f.exists() and is_table(f, spec)) for f in tables)
    ):
        return None
    parts = [read_columns(f) for f in entries]
    if tables:
        from ecometer.standards.tablecolumns import import_columns

        parts.append(import_columns(tables, spec))  # type: ignore[arg-type]
    return concat_columns(parts)


# ---- corpus entry files ----------------------------------------------------------------------
#: lines of an entries file parsed at a time
CHUNK_LINES = 1 << 17


def write_entries(path: str | Path, entries: list[RunRecord], header: dict[str, Any]) -> Path:
    """Write corpus entries (see :func:`write_columns`)."""
    lines = ({**entry_line(e), "source": e.attachments.get(REPORTED, {}).get("source") or {}} for e in entries)
    return write_columns(path, columns_from_lines(lines, header.get("source") or {}), header)


@bulk()
def write_columns(path: str | Path, cols: EntryColumns, header: dict[str, Any]) -> Path:
    """Write corpus entries compactly (version 2): a header line (``kind``, ``source``, ...,
    ``columns``, the values every entry shares under ``constant``) then one JSON array per entry
    holding its values of ``columns`` (null: the entry has none). The header's ``source`` is the
    entries' source when they share one; else ``sources`` lists them and a ``source`` column
    gives each entry's position in that list."""
    fields = _fields(cols)
    constant = {k: v[0] for k, v in fields.items() if v and v[0] is not None and _all_same(v)}
    varying = [k for k in fields if k not in constant]
    head = {"kind": ENTRIES_KIND, "version": 2, **header, "entries": len(cols)}
    if len(cols.sources) == 1:
        head["source"] = cols.sources[0]
    elif cols.sources:
        head["sources"] = cols.sources
        varying.append("source")
        fields["source"] = cols.source_index.tolist()
    head.update(columns=varying, constant=constant)
    blocks = [json_text(head, allow_nan=False) + "\n"]
    for start in range(0, len(cols), CHUNK_LINES):  # encoded a chunk at a time: memory of one chunk's cells
        end = start + CHUNK_LINES
        cells = zip(*(_encoded(fields[k][start:end]) for k in varying), strict=True) if varying else None
        lines = map(",".join, cells) if cells is not None else ("" for _ in range(min(end, len(cols)) - start))
        blocks.append(
            "".join(
                f"[{line}]\n" if line.isascii() else json_text(json.loads(f"[{line}]"), separators=(",", ":")) + "\n"
                for line in lines
            )
        )
    write_atomic(Path(path), "".join(blocks))
    return Path(path)


def _fields(cols: EntryColumns) -> dict[str, list[Any]]:
    """Each field of the entries as a list of JSON values (None where an entry has none)."""

    def floats(a: Any) -> list[Any]:
        return [None if math.isnan(x) else x for x in a.tolist()]

    out: dict[str, list[Any]] = {"name": cols.names, "component": cols.component, "energy_j": cols.energy_j.tolist()}
    out["spread"] = floats(cols.spread)
    for unit, counts in cols.work.items():
        out[f"work.{unit}"] = floats(counts)
    out["work_unit"] = cols.work_unit
    for prefix, table in (("meta", cols.meta), ("where", cols.where)):
        for k, values in table.items():
            out[f"{prefix}.{k}"] = [None if v is MISSING else v for v in values]
    out["duration_s"] = floats(cols.duration_s)
    out["water_l"] = floats(cols.water_l)
    return {k: v for k, v in out.items() if any(x is not None for x in v)}


def _encoded(values: list[Any]) -> list[str]:
    """Each value as JSON text (a column of one type at once; floats are finite here)."""
    kinds = set(map(type, values))
    if kinds == {str}:
        return list(map(encode_basestring, values))
    if kinds == {float}:
        return list(map(float.__repr__, values))
    if kinds == {int}:
        return list(map(int.__repr__, values))
    encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
    return list(map(encode, values))


def _all_same(values: list[Any]) -> bool:
    first, kind = values[0], type(values[0])
    return all(type(v) is kind and v == first for v in values)


def read_entries(path: str | Path) -> list[RunRecord]:
    """The corpus entries of a file written by :func:`write_entries` (either version)."""
    cols = read_columns(path)
    with bulk():
        return list(cols.records())


def read_columns(path: str | Path) -> EntryColumns:
    """The corpus entries of an entries file, by column (no RunRecord built)."""
    p = Path(path)
    try:
        with p.open(encoding="utf-8") as fh:
            first = fh.readline()
            try:
                head = json.loads(first) if first.strip() else None
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}: line 1: not valid JSON ({exc.msg})") from None
            if not isinstance(head, dict) or head.get("kind") != ENTRIES_KIND:
                raise InputError(f"{p}: line 1: expected a header with kind {ENTRIES_KIND!r} (ecometer corpus import)")
            source = head.get("source") or {}
            with bulk():  # millions of small lists: the cyclic collector's full passes would dominate
                if head.get("version") == 2:
                    return read_compact(p, fh, head)
                return concat_columns([columns_from_lines(chunk, source) for chunk in _v1_chunks(p, fh)])
    except OSError as exc:
        raise InputError(f"{p}: cannot read the corpus entries ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _v1_chunks(p: Path, fh: Iterable[str]) -> Iterator[list[dict[str, Any]]]:
    """The entry lines of a version-1 file (one JSON object each), checked, in chunks."""
    chunk: list[dict[str, Any]] = []
    for n, text in enumerate(fh, start=2):
        if not text.strip():
            continue
        try:
            d = json.loads(text, parse_int=bounded_int)
            check_entry_numbers(d)
            d["name"], d["energy_j"] = d["name"], float(d["energy_j"])
            d["duration_s"] = float(d.get("duration_s", math.nan))
            for key in ("work", "meta", "where"):
                if d.get(key) is not None and not isinstance(d[key], dict):
                    raise TypeError(f"field {key} is not an object")
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{p}: line {n}: not a corpus entry ({type(exc).__name__}: {exc})") from None
        chunk.append(d)
        if len(chunk) == CHUNK_LINES:
            yield chunk
            chunk = []
    yield chunk


def check_entry_numbers(d: Any) -> None:
    """Refuse (ValueError naming the field) an entry line whose energy (J) is not a finite number
    >= 0, or whose ``spread`` or ``water_l`` is given and is not: such values were only flagged
    at scoring, after a corpus had been calibrated on them."""
    if not isinstance(d, dict):
        raise TypeError(f"expected a JSON object, found {type(d).__name__}")
    for field, required in (("energy_j", True), ("spread", False), ("water_l", False)):
        value = d.get(field)
        if value is None and not required:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"field {field} is {str(value)[:60]!r}; expected a number")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"field {field} is {value!r}; expected a finite number >= 0")
