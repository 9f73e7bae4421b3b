"""Corpus entries by column: a million published rows in arrays, a RunRecord made only when asked.

A corpus entry (:func:`ecometer.standards.tables.make_entry`) is a whole
:class:`~ecometer.record.model.RunRecord` (about 3.7 KB). :class:`EntryColumns` holds the same
entries as columns (numbers in numpy arrays, text in lists, about 100 bytes an entry):
``ecometer corpus import`` fills it from a table read once, writes it compactly
(:mod:`ecometer.standards.corpus`), and ``calibrate`` reads it column by column
(:meth:`EntryColumns.pairs`). :meth:`EntryColumns.record` makes the RunRecord of one row, the
same as the row path would (scoring streams them one at a time).

numpy is imported here: this is the path of published tables, never of measuring.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from ecometer.record.model import RunRecord
from ecometer.standards.metrics import QUANTITIES, RUN, measure
from ecometer.standards.reported import REPORTED
from ecometer.standards.schema import Metric
from ecometer.standards.tables import make_entry

#: a meta or ``where`` value a row does not have (``None`` may be a value of an old entries file)
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__slots__": ()})()


@dataclass
class EntryColumns:
    """Corpus entries as columns (one position per entry; NaN or :data:`MISSING` where a row has none).

    Energies in J, durations in s, water in L; ``work`` maps a work unit to its counts;
    ``source_index`` points into ``sources`` (who published each row's figure).
    """

    names: list[str] = field(default_factory=list)
    energy_j: np.ndarray = field(default_factory=lambda: np.empty(0))
    component: list[str] = field(default_factory=list)
    spread: np.ndarray = field(default_factory=lambda: np.empty(0))
    work: dict[str, np.ndarray] = field(default_factory=dict)
    work_unit: list[str | None] = field(default_factory=list)
    meta: dict[str, list[Any]] = field(default_factory=dict)
    duration_s: np.ndarray = field(default_factory=lambda: np.empty(0))
    water_l: np.ndarray = field(default_factory=lambda: np.empty(0))
    where: dict[str, list[Any]] = field(default_factory=dict)
    sources: list[dict[str, str]] = field(default_factory=list)
    source_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))

    def __len__(self) -> int:
        return len(self.names)

    def record(self, i: int) -> RunRecord:
        """The RunRecord of entry ``i`` (as :func:`make_entry` builds it from the row)."""
        spread = float(self.spread[i])
        water = float(self.water_l[i])
        return make_entry(
            self.names[i],
            float(self.energy_j[i]),
            component=self.component[i],
            spread=None if math.isnan(spread) else spread,
            work={u: float(c[i]) for u, c in self.work.items() if not math.isnan(c[i])},
            work_unit=self.work_unit[i],
            meta={k: v[i] for k, v in self.meta.items() if v[i] is not MISSING},
            duration_s=float(self.duration_s[i]),
            source=self.sources[int(self.source_index[i])],
            where={k: v[i] for k, v in self.where.items() if v[i] is not MISSING} or None,
            water_l=None if math.isnan(water) else water,
        )

    def records(self) -> Iterator[RunRecord]:
        """Every entry as a RunRecord, one at a time."""
        return (self.record(i) for i in range(len(self)))

    def pairs(
        self, metric: Metric, values: Callable[[list[RunRecord]], list[tuple[Any, float]]]
    ) -> list[tuple[Any, float]]:
        """``(entry, value of metric)`` for every entry the metric applies to, as ``values``
        (the record path) gives them: a row the column rule covers gets an :class:`EntryView`,
        any other row its RunRecord passed through ``values`` (same value, same skip reason)."""
        fast, value = self._fast_values(metric)
        views = _Views(self)
        if fast.all():
            return list(zip(map(EntryView, self.names, views.meta, views.parts), value.tolist(), strict=True))
        out: list[tuple[Any, float]] = []
        for i, (ok, v) in enumerate(zip(fast.tolist(), value.tolist(), strict=True)):
            if ok:
                out.append((views.view(i), v))
            else:
                out.extend(values([self.record(i)]))
        return out

    def _fast_values(self, metric: Metric) -> tuple[np.ndarray, np.ndarray]:
        """Which rows the column rule covers, and their values: a component's energy per
        functional unit, ``(E * (scale / count)) * (1 / unit factor)`` exactly as
        :func:`ecometer.standards.metrics.measure` computes it (checked on a row)."""
        n = len(self)
        m = metric.measure
        fast = np.zeros(n, dtype=bool)
        value = np.full(n, math.nan)
        q = QUANTITIES.get(m.quantity)
        comp = m.quantity[: -len("_energy_j")] if m.quantity.endswith("_energy_j") else None
        if q is None or not q.extensive or comp is None or m.quantity == "work_per_joule":
            return fast, value
        if m.per == RUN:
            count = np.ones(n)
        elif m.per in self.work:
            count = self.work[m.per]
        else:
            return fast, value
        half = np.nan_to_num(self.spread, nan=0.0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            fast = np.array([c == comp for c in self.component], dtype=bool) & (count > 0) & np.isfinite(count)
            fast &= np.isfinite(self.energy_j * (1 + half)) & (self.energy_j >= 0)
            value = (self.energy_j * (m.scale / count)) * (1.0 / _unit_factor(m.unit))
            fast &= np.isfinite(value)
        first = np.flatnonzero(fast)[:1]
        if len(first) and measure(m, self.record(int(first[0]))).central != value[first[0]]:
            fast[:] = False  # the rule does not hold for this metric: every row by its record
        return fast, value


def _unit_factor(unit: str) -> float:
    from ecometer.record import units as U

    return U.UNITS[unit].factor


class ReportedPart(NamedTuple):
    """What calibration reads of a corpus entry's one component: its method and its source."""

    method: str
    source: str


class EntryView(NamedTuple):
    """A corpus entry as calibration reads it: name, meta and who published it (no figures)."""

    name: str
    meta: dict[str, Any]
    components: dict[str, ReportedPart]


class _Views:
    """Views of one corpus's rows, sharing the meta dictionaries and components rows have alike."""

    def __init__(self, cols: EntryColumns) -> None:
        self.cols = cols
        keys = list(cols.meta)
        metas: dict[tuple, dict[str, Any]] = {}

        def meta(values: tuple) -> dict[str, Any]:
            key = (values, tuple(map(type, values)))  # 1, 1.0 and True are equal keys, not equal meta
            found = metas.get(key)
            if found is None:
                found = metas[key] = {k: v for k, v in zip(keys, values, strict=True) if v is not MISSING}
            return found

        rows = zip(*(cols.meta[k] for k in keys), strict=True) if keys else (() for _ in range(len(cols)))
        self.meta = list(map(meta, rows))
        parts: dict[tuple[str, int], dict[str, ReportedPart]] = {}
        for i, key in enumerate(zip(cols.component, cols.source_index.tolist(), strict=True)):
            if key not in parts:  # the source line of a (component, source) as the entry's record names it
                parts[key] = {key[0]: ReportedPart(REPORTED, cols.record(i).components[key[0]].source)}
        self.parts = list(map(parts.__getitem__, zip(cols.component, cols.source_index.tolist(), strict=True)))

    def view(self, i: int) -> EntryView:
        return EntryView(self.cols.names[i], self.meta[i], self.parts[i])


def entry_line(record: RunRecord) -> dict[str, Any]:
    """A corpus entry as the dictionary of one entries-file line (its source left out)."""
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


def columns_from_lines(lines: Iterable[dict[str, Any]], default_source: dict[str, str]) -> EntryColumns:
    """Columns from entry dictionaries (:func:`entry_line`, or a line of an entries file of
    version 1), each with its ``source`` or ``default_source``; numbers already checked."""
    rows = list(lines)
    n = len(rows)
    cols = EntryColumns(names=[str(d["name"]) for d in rows], component=[d.get("component", "it") for d in rows])
    cols.energy_j = np.array([float(d["energy_j"]) for d in rows], dtype=float)
    cols.spread = _floats(d.get("spread") for d in rows)
    cols.duration_s = _floats(d.get("duration_s") for d in rows)
    cols.water_l = _floats(d.get("water_l") for d in rows)
    works = [d.get("work") or {} for d in rows]
    for unit in dict.fromkeys(u for w in works for u in w):
        cols.work[unit] = _floats(w.get(unit) for w in works)
    cols.work_unit = [d.get("work_unit") or _only(works[i]) for i, d in enumerate(rows)]
    for key, name in (("meta", "meta"), ("where", "where")):
        dicts = [d.get(key) or {} for d in rows]
        target = getattr(cols, name)
        for k in dict.fromkeys(k for m in dicts for k in m):
            target[k] = [m.get(k, MISSING) for m in dicts]
    index: dict[str, int] = {}
    positions = np.empty(n, dtype=np.int32)
    for i, d in enumerate(rows):
        src = d.get("source", default_source) or {}
        key = repr(sorted(src.items()))
        if key not in index:
            index[key] = len(cols.sources)
            cols.sources.append(dict(src))
        positions[i] = index[key]
    cols.source_index = positions
    return cols


def _only(work: dict[str, Any]) -> str | None:
    return next(iter(work)) if len(work) == 1 else None


def _floats(values: Iterable[Any]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def concat(parts: list[EntryColumns]) -> EntryColumns:
    """The entries of several column sets, in order (sources merged)."""
    if len(parts) == 1:
        return parts[0]
    out = EntryColumns()
    n = [len(p) for p in parts]
    out.names = [x for p in parts for x in p.names]
    out.component = [x for p in parts for x in p.component]
    out.work_unit = [x for p in parts for x in p.work_unit]
    for name in ("energy_j", "spread", "duration_s", "water_l"):
        setattr(out, name, np.concatenate([getattr(p, name) for p in parts]))
    for unit in dict.fromkeys(u for p in parts for u in p.work):
        out.work[unit] = np.concatenate([p.work.get(unit, np.full(k, math.nan)) for p, k in zip(parts, n, strict=True)])
    for name in ("meta", "where"):
        target = getattr(out, name)
        for key in dict.fromkeys(k for p in parts for k in getattr(p, name)):
            target[key] = [x for p, k in zip(parts, n, strict=True) for x in getattr(p, name).get(key, [MISSING] * k)]
    index: dict[str, int] = {}
    positions = []
    for p in parts:
        remap = []
        for src in p.sources:
            key = repr(sorted(src.items()))
            if key not in index:
                index[key] = len(out.sources)
                out.sources.append(src)
            remap.append(index[key])
        positions.append(np.asarray(remap, dtype=np.int32)[p.source_index] if len(p) else p.source_index)
    out.source_index = np.concatenate(positions).astype(np.int32)
    return out
