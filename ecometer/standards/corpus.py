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
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ecometer.checks.text import json_text
from ecometer.errors import InputError
from ecometer.files.atomic import write_atomic
from ecometer.record.model import CHECKPOINT_SUFFIX, RunRecord, load_record
from ecometer.standards.tables import REPORTED, ImportSpec, bounded_int, bulk, import_tables, is_table, make_entry

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


# ---- corpus entry files ----------------------------------------------------------------------
def _entry_line(record: RunRecord) -> dict[str, Any]:
    (comp,) = record.components.values()
    reported = record.attachments.get(REPORTED, {})
    spread = reported.get("spread")
    where = {k: v for k, v in reported.items() if k not in ("source", "water_total_l", "spread")}
    line: dict[str, Any] = {"name": record.name, "component": comp.name, "energy_j": comp.energy_j}
    if spread is not None:
        line["spread"] = spread
    line["work"] = record.work
    if record.work_unit and len(record.work) > 1:
        line["work_unit"] = record.work_unit
    if record.meta:
        line["meta"] = record.meta
    if math.isfinite(record.duration_s):
        line["duration_s"] = record.duration_s
    water = reported.get("water_total_l")
    if water is not None:
        line["water_l"] = water
    if where:
        line["where"] = where
    return line


def write_entries(path: str | Path, entries: list[RunRecord], header: dict[str, Any]) -> Path:
    """Write corpus entries as JSON lines: a header (``kind``, ``source``, ...) then one per line.

    The header's ``source`` is the entries' source when they share one (else as given); an
    entry whose source differs (one table of several, each naming its own) carries its own.
    """
    target = Path(path)
    sources = [e.attachments.get(REPORTED, {}).get("source") for e in entries]
    if sources and all(s == sources[0] for s in sources) and sources[0] is not None:
        header = {**header, "source": sources[0]}
    head = {"kind": ENTRIES_KIND, "version": 1, **header, "entries": len(entries)}
    lines = [json_text(head, allow_nan=False)]
    base = head.get("source")
    for e, src in zip(entries, sources, strict=True):
        line = _entry_line(e)
        if src is not None and src != base:
            line["source"] = src
        lines.append(json_text(line, allow_nan=False))
    write_atomic(target, "\n".join(lines) + "\n")
    return target


def read_entries(path: str | Path) -> list[RunRecord]:
    """The corpus entries of a file written by :func:`write_entries`."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"{p}: cannot read the corpus entries ({exc.strerror or exc})") from None
    try:
        head = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError as exc:
        raise InputError(f"{p}: line 1: not valid JSON ({exc.msg})") from None
    if not isinstance(head, dict) or head.get("kind") != ENTRIES_KIND:
        raise InputError(f"{p}: line 1: expected a header with kind {ENTRIES_KIND!r} (ecometer corpus import)")
    source = head.get("source") or {}
    with bulk():
        return _entries(p, lines, source)


def _entries(p: Path, lines: list[str], source: dict[str, str]) -> list[RunRecord]:
    out = []
    for n, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        try:
            d = json.loads(text, parse_int=bounded_int)
            check_entry_numbers(d)
            out.append(
                make_entry(
                    d["name"],
                    float(d["energy_j"]),
                    component=d.get("component", "it"),
                    spread=d.get("spread"),
                    work=d.get("work"),
                    work_unit=d.get("work_unit"),
                    meta=d.get("meta"),
                    duration_s=float(d.get("duration_s", math.nan)),
                    source=d.get("source", source),
                    where=d.get("where"),
                    water_l=d.get("water_l"),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(f"{p}: line {n}: not a corpus entry ({type(exc).__name__}: {exc})") from None
    return out


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
