"""The figures of a run, read from a record and its attached footprint and assessment.

Reports, charts, tables and comparisons all take their numbers from here, as
:class:`QuantityValue` objects named by :mod:`ecometer.record.quantities` (the names standards and
the Prometheus exporter use too), so that a figure is named, united and qualified (method,
uncertainty) the same way everywhere. Only the stored
attachment *dictionaries* are read (``record.attachments["footprint"]`` and
``["assessment"]``), so a record footprinted or scored on another machine reports the same,
and a record with neither still reports what it has.

All values are SI: joules, litres, grams CO2e, seconds, watts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecometer.errors import FigureMissing, InputError, NotApplicable
from ecometer.record import quantities
from ecometer.record.estimate import DISTRIBUTIONS, Estimate
from ecometer.record.model import RunRecord
from ecometer.record.quantities import Quantity, footprint_data
from ecometer.record.units import number

COMPONENT_ORDER = ("gpu", "cpu", "dram")




@dataclass
class QuantityValue:
    """The value of one named quantity for a run: ``central`` with bounds ``low``..``high`` in SI ``unit``.

    ``key`` is the quantity's name in :mod:`ecometer.record.quantities` (``_per_unit`` appended when
    divided by the work counted); ``kind`` is ``energy``, ``water``, ``carbon``, ``time`` or ``power`` (for display scaling);
    ``method`` is how it was obtained (``counter``, ``integrated``, ``modelled``, ``constant``,
    ``user``, ``reported``, or ``mixed (...)`` for a total over components obtained differently).
    ``coverage`` is the probability that ``low..high`` claims to hold the true value (1.0 for a
    stated bound, 0.95 for a propagated interval, ``None`` when not stated) and
    ``distribution`` the shape behind it (see :data:`ecometer.record.estimate.DISTRIBUTIONS`).
    """

    key: str
    label: str
    kind: str
    unit: str
    central: float
    low: float
    high: float
    method: str
    notes: list[str] = field(default_factory=list)
    coverage: float | None = None
    distribution: str = ""
    problems: list[str] = field(default_factory=list)  # what is wrong with the stored figure, if anything

    @property
    def exact(self) -> bool:
        return self.low == self.high == self.central

    @property
    def claim(self) -> str:
        """What the interval claims, in words: ``exact``, ``95 % interval``, ``stated bound``, ``coverage not stated``."""
        if not all(math.isfinite(v) for v in (self.central, self.low, self.high)):
            return "not a finite number"
        if self.exact:
            return "exact"
        if self.coverage is None:
            return "coverage not stated"
        if self.coverage >= 1.0:
            return "stated bound"
        return f"{number(100 * self.coverage, 2)} % interval"

    def per(self, count: float, unit: str) -> QuantityValue:
        """This figure divided by ``count`` units of work named ``unit``."""
        return QuantityValue(
            key=f"{self.key}_per_unit",
            label=f"{self.label} per {unit}",
            kind=self.kind,
            unit=f"{self.unit}/{unit}",
            central=self.central / count,
            low=self.low / count,
            high=self.high / count,
            method=self.method,
            notes=list(self.notes),
            coverage=self.coverage,
            distribution=self.distribution,
            problems=list(self.problems),
        )


# ---- reading attachment dictionaries --------------------------------------------------
def footprint_method(fp: dict[str, Any]) -> str:
    method = fp.get("method")
    return method if isinstance(method, str) and method else "modelled"


def footprint_assumptions(record: RunRecord) -> list[str]:
    """The footprint's stated assumptions as readable lines (dict items written ``key: value``)."""
    fp = footprint_data(record)
    if not fp:
        return []
    out: list[str] = []
    for item in fp.get("assumptions") or []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            text = item.get("text") or item.get("description")
            if isinstance(text, str):
                out.append(text)
            else:
                out.append(", ".join(f"{k}: {v}" for k, v in item.items()))
        else:
            out.append(str(item))
    return out


def site_description(record: RunRecord) -> dict[str, Any]:
    """The footprint's site as a flat dict (empty without a footprint)."""
    fp = footprint_data(record)
    site = fp.get("site") if fp else None
    return site if isinstance(site, dict) else {}


# ---- the figures ----------------------------------------------------------------------
def ordered_components(record: RunRecord) -> list[str]:
    names = list(record.components)
    return sorted(names, key=lambda n: (COMPONENT_ORDER.index(n) if n in COMPONENT_ORDER else 99, n))


def combined_method(record: RunRecord) -> str:
    methods = {c.method for c in record.components.values()}
    if not methods:
        return "none"
    if len(methods) == 1:
        return methods.pop()
    parts = ", ".join(f"{n} {record.components[n].method}" for n in ordered_components(record))
    return f"mixed ({parts})"


def _around(central: float, bounds: Estimate) -> tuple[Estimate, list[str]]:
    """``bounds`` moved to ``central`` when they agree; when ``central`` lies outside them the
    interval is widened to include it, claims no coverage, and a note says so."""
    if not math.isfinite(central):
        return Estimate(central, central, central, distribution="exact"), ["not a finite number"]
    if not (math.isfinite(bounds.low) and math.isfinite(bounds.high)):
        return Estimate.exact(central), ["its bounds are not finite numbers: not shown"]
    if bounds.low <= central <= bounds.high:
        return bounds.replace(central=central), []
    low, high = min(bounds.low, central), max(bounds.high, central)
    note = f"central value {number(central)} lies outside its stated bounds {number(bounds.low)}..{number(bounds.high)}"
    return Estimate(central, low, high, coverage=None, distribution="envelope"), [note]


def _energy_bounds(record: RunRecord) -> tuple[Estimate, list[str]]:
    """The record's IT energy bounds, or none (with a note) when the components' cannot be combined."""
    try:
        return record.energy_uncertainty, []
    except (OverflowError, ValueError, FloatingPointError) as exc:  # e.g. bounds near the float limit
        return Estimate.exact(record.energy_j), [f"its components' bounds cannot be combined ({exc}): not shown"]


def it_energy(record: RunRecord) -> QuantityValue:
    bounds, problems = _energy_bounds(record)
    est, more = _around(record.energy_j, bounds)
    out = _value(quantities.QUANTITIES["it_energy_j"], est, combined_method(record))
    out.problems = problems + more
    return out


def component_energy(record: RunRecord, name: str) -> QuantityValue:
    c = record.components[name]
    est, problems = _around(c.energy_j, c.uncertainty)
    q = quantities.QUANTITIES.get(f"{name}_energy_j")
    if q is None:  # a component the registry does not name (a custom sensor)
        return QuantityValue(f"{name}_energy_j", f"{name.upper()} energy", "energy", "J", est.central, est.low,
                             est.high, c.method, list(c.notes), est.coverage, est.distribution, problems)  # fmt: skip
    out = _value(q, est, c.method, c.notes)
    out.problems = problems
    return out


#: the footprint quantities a report shows, in order
FOOTPRINT_QUANTITIES = (
    "facility_energy_j",
    "water_total_l",
    "water_onsite_l",
    "water_offsite_l",
    "water_withdrawal_l",
    "carbon_g",
)


def _value(q: Quantity, est: Estimate, method: str, notes: list[str] | None = None) -> QuantityValue:
    return QuantityValue(q.name, q.label, q.kind, q.unit, est.central, est.low, est.high, method,
                         list(notes or []), est.coverage, est.distribution)  # fmt: skip


def stored_claim(node: Any, est: Estimate) -> Estimate:
    """``est`` with the coverage and distribution its stored dict ``node`` states (schema 2).

    A stored interval without a ``coverage`` key (schema 1) claims none; an unusable one is ignored.
    """
    if est.is_exact or not isinstance(node, dict):
        return est
    coverage = node.get("coverage")
    distribution = node.get("distribution")
    ok_cov = coverage is None or (isinstance(coverage, (int, float)) and not isinstance(coverage, bool)
                                  and 0.0 < coverage <= 1.0)  # fmt: skip
    if "coverage" not in node or not ok_cov:
        return est.replace(coverage=None, distribution=distribution if distribution in DISTRIBUTIONS else "uniform")
    return est.replace(coverage=coverage, distribution=distribution if distribution in DISTRIBUTIONS else "normal")


def footprint_figure(record: RunRecord, key: str) -> QuantityValue | None:
    """The footprint quantity ``key`` of ``record``, or ``None`` if the footprint lacks it."""
    fp = footprint_data(record)
    if fp is None:
        return None
    q = quantities.get(key)
    try:
        est = q.from_footprint(fp)
    except NotApplicable:
        return None
    node: Any = fp
    for part in q.footprint or ():
        node = node.get(part) if isinstance(node, dict) else None
    return _value(q, stored_claim(node, est), footprint_method(fp))


def headline(record: RunRecord) -> list[QuantityValue]:
    """IT energy, energy per component, then whatever the footprint holds."""
    out = [it_energy(record)]
    out += [component_energy(record, n) for n in ordered_components(record)]
    for key in FOOTPRINT_QUANTITIES:
        fig = footprint_figure(record, key)
        if fig is not None:
            out.append(fig)
    return out


def work_unit(record: RunRecord) -> tuple[str, float] | None:
    """The run's functional unit and its count, or ``None`` if no (positive) work was counted."""
    try:
        return record.work_count()
    except NotApplicable:
        return None


def per_unit(record: RunRecord) -> list[QuantityValue]:
    """Every headline figure divided by the work counted (empty without work)."""
    wu = work_unit(record)
    if wu is None:
        return []
    unit, count = wu
    return [f.per(count, unit) for f in headline(record)]


# ---- metrics for comparisons -----------------------------------------------------------
def _duration(record: RunRecord) -> QuantityValue:
    return _value(quantities.QUANTITIES["duration_s"], Estimate.exact(record.duration_s), "constant")


def _power(record: RunRecord) -> QuantityValue:
    e = it_energy(record)
    d = record.duration_s if record.duration_s > 0 and math.isfinite(record.duration_s) else math.nan
    q = quantities.QUANTITIES["average_power_w"]
    return QuantityValue(q.name, q.label, q.kind, q.unit, e.central / d, e.low / d, e.high / d, e.method,
                         list(e.notes), e.coverage, e.distribution, list(e.problems))  # fmt: skip


def _need_footprint(key: str) -> Callable[[RunRecord], QuantityValue]:
    def get(record: RunRecord) -> QuantityValue:
        fig = footprint_figure(record, key)
        if fig is None:
            what = "footprint" if footprint_data(record) is None else f"footprint figure {key!r}"
            raise FigureMissing(
                f"run {record.name!r} has no {what}: measure with a site (ecometer run --site us-average) "
                f"or pass --site to ecometer report / compare"
            )
        return fig

    return get


def _need_component(name: str) -> Callable[[RunRecord], QuantityValue]:
    def get(record: RunRecord) -> QuantityValue:
        if name not in record.components:
            raise FigureMissing(f"run {record.name!r} has no {name} component (it has {ordered_components(record)})")
        return component_energy(record, name)

    return get


BASE_METRICS: dict[str, Callable[[RunRecord], QuantityValue]] = {
    "it_energy_j": it_energy,
    "gpu_energy_j": _need_component("gpu"),
    "cpu_energy_j": _need_component("cpu"),
    "dram_energy_j": _need_component("dram"),
    "facility_energy_j": _need_footprint("facility_energy_j"),
    "water_total_l": _need_footprint("water_total_l"),
    "water_onsite_l": _need_footprint("water_onsite_l"),
    "water_offsite_l": _need_footprint("water_offsite_l"),
    "carbon_g": _need_footprint("carbon_g"),
    "duration_s": _duration,
    "average_power_w": _power,
}
PER_UNIT_BASES = ("it_energy_j", "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "facility_energy_j")
PER_UNIT_BASES += ("water_total_l", "water_onsite_l", "water_offsite_l", "carbon_g", "duration_s")


def metric_names() -> list[str]:
    """Every metric name :func:`metric` accepts."""
    return list(BASE_METRICS) + [f"{b}_per_unit" for b in PER_UNIT_BASES]


def metric(record: RunRecord, name: str) -> QuantityValue:
    """The figure called ``name`` (see :func:`metric_names`) for ``record``.

    Raises :class:`FigureMissing` when the record lacks it (no footprint, no work units).
    Names that reports used before :mod:`ecometer.record.quantities` are accepted with a warning.
    """
    name = quantities.canonical(name)
    if name in BASE_METRICS:
        return BASE_METRICS[name](record)
    base = name[: -len("_per_unit")] if name.endswith("_per_unit") else None
    if base in PER_UNIT_BASES:
        fig = BASE_METRICS[base](record)
        wu = work_unit(record)
        if wu is None:
            raise FigureMissing(
                f"run {record.name!r} counted no work units (work={record.work}); "
                f"count them with meter.add_work(n) or `ecometer run --work N --work-unit U`"
            )
        out = fig.per(wu[1], wu[0])
        out.key = name
        return out
    raise InputError(f"unknown metric {name!r}; valid metrics: {', '.join(metric_names())}")


# ---- what a report cannot show as stored -----------------------------------------------------
def _bad(value: float) -> str | None:
    if not math.isfinite(value):
        return "is not a finite number"
    if value < 0:
        return f"is negative ({number(value)})"
    return None


def data_problems(record: RunRecord) -> list[str]:
    """What in ``record`` a report cannot show as stored, one sentence each.

    The record loader accepts these (a value saved as null reads as NaN, for instance); the
    report shows what it can, leaves the rest out of its charts, and lists these lines.
    """
    out: list[str] = []
    bad = _bad(record.duration_s)
    if bad:
        out.append(f"duration {bad}: time axes use the timeline alone")
    for name in ordered_components(record):
        c = record.components[name]
        bad = _bad(c.energy_j)
        if bad:
            out.append(f"{name} energy {bad}")
        if math.isfinite(c.energy_j) and not c.uncertainty.low <= c.energy_j <= c.uncertainty.high:
            out.append(
                f"{name} energy {number(c.energy_j)} J lies outside its stated bounds "
                f"{number(c.uncertainty.low)}..{number(c.uncertainty.high)} J: shown widened, with no coverage claimed"
            )
    for p in record.phases.values():
        values = [p.energy_j, p.duration_s, *p.components.values()]
        if not all(math.isfinite(v) for v in values):
            out.append(f"phase {p.name!r}: a figure is not a finite number; not drawn")
        elif p.energy_j < 0:
            out.append(f"phase {p.name!r}: energy is negative ({number(p.energy_j)} J)")
    tl = record.timeline
    n = len(tl.t_s)
    if any(not math.isfinite(t) for t in tl.t_s):
        out.append("timeline: some times are not finite numbers; those points are not drawn")
    elif any(b <= a for a, b in zip(tl.t_s, tl.t_s[1:], strict=False)):
        out.append("timeline: times do not increase; points going back in time are not drawn")
    for channel, series in tl.power_w.items():
        if len(series) != n:
            action = "the extra values are not drawn" if len(series) > n else "the missing ones count as no power"
            out.append(f"timeline: {channel} has {len(series)} power values for {n} times; {action}")
        if any(v is not None and (not math.isfinite(v) or v < 0) for v in series):
            out.append(f"timeline: {channel} has power values that are negative or not finite; drawn as none")
    bad_spans = len(tl.spans) - sum(
        1 for s in tl.spans if math.isfinite(s.start_s) and math.isfinite(s.end_s) and s.end_s >= s.start_s
    )
    if bad_spans:
        out.append(f"timeline: {bad_spans} phase span(s) with times that are not finite or run backwards; not drawn")
    return out
