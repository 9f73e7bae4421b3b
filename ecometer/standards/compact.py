"""Reading an entries file of version 2 (one JSON array per entry) into columns, checked.

The header names the ``columns`` each line holds, the values every entry shares
(``constant``) and who published the figures (``source``, or ``sources`` and a ``source``
column of positions in that list). Lines are parsed in chunks, numbers checked by column:
an energy, spread or water that is not a finite number of at least 0, a work count that is not
above 0, a text where a number belongs, is refused naming the file, the line and the field.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ecometer.errors import InputError
from ecometer.standards.columns import MISSING, EntryColumns, concat
from ecometer.standards.tables import as_float, bounded_int, shown

#: lines parsed at a time
CHUNK_LINES = 1 << 17
#: number fields: (smallest allowed, whether the smallest itself is allowed, required)
_NUMBERS = {"energy_j": (0.0, True, True), "spread": (0.0, True, False), "water_l": (0.0, True, False)}
_NUMBERS["duration_s"] = (0.0, True, False)


def read_compact(p: Path, lines: Iterable[str], head: dict[str, Any]) -> EntryColumns:
    """The entries of a version-2 file whose header ``head`` was line 1 of ``lines``' file."""
    columns, constant = head.get("columns"), head.get("constant", {})
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns) or not isinstance(constant, dict):
        raise InputError(f"{p}: line 1: expected 'columns' (a list of field names) and 'constant' (an object)")
    if "name" not in columns and "name" not in constant or "energy_j" not in [*columns, *constant]:
        raise InputError(f"{p}: line 1: the entries have no 'name' or no 'energy_j' field")
    sources = head.get("sources") or [head.get("source") or {}]
    parts, n = [], 2
    it = iter(lines)
    while chunk := [t for t in itertools.islice(it, CHUNK_LINES)]:
        rows, line_of = _parse(p, chunk, n, len(columns))
        parts.append(_chunk_columns(p, rows, line_of, columns, constant, sources))
        n += len(chunk)
    if not parts:
        return _chunk_columns(p, [], [], columns, constant, sources)
    return concat(parts)


def _parse(p: Path, chunk: list[str], first: int, width: int) -> tuple[list[list[Any]], list[int]]:
    """The entries of a chunk of lines (and the line number of each)."""
    texts = [t for t in chunk if t.strip()]
    try:  # integers as Python reads them; one beyond its digit limit sends the chunk line by line
        rows = json.loads("[" + ",".join(texts) + "]")
    except ValueError:  # JSONDecodeError included
        rows = None
    if rows is None or len(rows) != len(texts) or not all(type(r) is list and len(r) == width for r in rows):
        rows = []
        for n, text in enumerate(chunk, start=first):
            if not text.strip():
                continue
            try:
                row = json.loads(text, parse_int=bounded_int)
            except json.JSONDecodeError as exc:
                raise InputError(f"{p}: line {n}: not a corpus entry (not valid JSON: {exc.msg})") from None
            if not isinstance(row, list) or len(row) != width:
                raise InputError(f"{p}: line {n}: not a corpus entry (expected a JSON array of {width} values)")
            rows.append(row)
    if len(texts) != len(chunk):  # blank lines are no entries; keep line numbers for errors
        return rows, [n for n, t in enumerate(chunk, start=first) if t.strip()]
    return rows, list(range(first, first + len(rows)))


def _chunk_columns(
    p: Path, rows: list[list[Any]], line_of: list[int], columns: list[str], constant: dict[str, Any], sources: list[Any]
) -> EntryColumns:
    n = len(rows)
    by = dict(zip(columns, zip(*rows, strict=True), strict=True)) if rows and columns else {}

    def field(name: str) -> list[Any]:
        if name in by:
            return list(by[name])
        return [constant.get(name)] * n

    def numbers(name: str, low: float, inclusive: bool, required: bool) -> np.ndarray:
        values = field(name)
        kinds = set(map(type, values))
        if kinds <= {float, type(None)} and (not required or type(None) not in kinds):  # ints: one by one below
            absent = np.array([v is None for v in values], bool) if type(None) in kinds else np.zeros(len(values), bool)
            x = np.array([math.nan if v is None else v for v in values] if absent.any() else values, float)
            with np.errstate(invalid="ignore"):
                ok = (np.isfinite(x) & (x >= low if inclusive else x > low)) | absent
            if ok.all():
                return x
        for i, v in enumerate(values):  # the first bad value, by its line
            if v is None and not required:
                continue
            x = as_float(v) if type(v) in (int, float) else None
            if x is None or not (math.isfinite(x) and (x >= low if inclusive else x > low)):
                expected = f"a finite number {'>=' if inclusive else '>'} {low:g}"
                raise InputError(
                    f"{p}: line {line_of[i]}: not a corpus entry (field {name} is {shown(v)}; expected {expected})"
                )
        return np.array([math.nan if v is None else float(v) for v in values], float)

    cols = EntryColumns(names=[str(x) for x in field("name")], component=[c or "it" for c in field("component")])
    cols.energy_j = numbers("energy_j", *_NUMBERS["energy_j"])
    cols.spread = numbers("spread", *_NUMBERS["spread"])
    cols.duration_s = numbers("duration_s", *_NUMBERS["duration_s"])
    cols.water_l = numbers("water_l", *_NUMBERS["water_l"])
    for key in [*columns, *constant]:
        prefix, _, rest = key.partition(".")
        if prefix == "work" and rest:
            cols.work[rest] = numbers(key, 0.0, False, False)
        elif prefix in ("meta", "where") and rest:
            getattr(cols, prefix)[rest] = [MISSING if v is None else v for v in field(key)]
    cols.work_unit = field("work_unit")  # None: the entry's only work unit, as make_entry names it
    cols.sources = list(sources)
    index = field("source") if "source" in by else [0] * n
    for i, k in enumerate(index):
        if type(k) is not int or not 0 <= k < len(sources):
            raise InputError(
                f"{p}: line {line_of[i]}: not a corpus entry (field source is {shown(k)}; "
                "expected a position in the header's sources)"
            )
    cols.source_index = np.array(index, dtype=np.int32)
    return cols
