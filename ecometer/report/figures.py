"""The figures of a run, read from a record and its attached footprint and assessment.

Reports, charts, tables and comparisons all take their numbers from here, as
:class:`QuantityValue` objects named by :mod:`ecometer.quantities` (the names standards and
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

from ecometer import quantities
from ecometer.errors import FigureMissing, InputError, NotApplicable
from ecometer.quantities import Quantity, footprint_data
from ecometer.record import Estimate, RunRecord

COMPONENT_ORDER = ("gpu", "cpu", "dram")




@dataclass
class QuantityValue:
    """The value of one named quantity for a run: ``central`` with bounds ``low``..``high`` in SI ``unit``.

    ``key`` is the quantity's name in :mod:`ecometer.quantities` (``_per_unit`` appended when
    divided by the work counted); ``kind`` is ``energy``, ``water``, ``carbon``, ``time`` or ``power`` (for display scaling);
    ``method`` is how it was obtained (``counter``, ``integrated``, ``modelled``, ``constant``,
    ``user``, or ``mixed (...)`` for a total over components obtained differently).
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

    @property
    def exact(self) -> bool:
        return self.low == self.high == self.central

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


def it_energy(record: RunRecord) -> QuantityValue:
    unc = record.energy_uncertainty
    q = quantities.QUANTITIES["it_energy_j"]
    return _value(q, Estimate(record.energy_j, unc.low, unc.high), combined_method(record))


def component_energy(record: RunRecord, name: str) -> QuantityValue:
    c = record.components[name]
    low, high = min(c.uncertainty.low, c.energy_j), max(c.uncertainty.high, c.energy_j)
    q = quantities.QUANTITIES.get(f"{name}_energy_j")
    if q is None:  # a component the registry does not name (a custom sensor)
        return QuantityValue(f"{name}_energy_j", f"{name.upper()} energy", "energy", "J", c.energy_j, low, high,
                             c.method, list(c.notes))  # fmt: skip
    return _value(q, Estimate(c.energy_j, low, high), c.method, c.notes)


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
    return QuantityValue(q.name, q.label, q.kind, q.unit, est.central, est.low, est.high, method, list(notes or []))


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
    return _value(q, est, footprint_method(fp))


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
    d = record.duration_s or math.nan
    q = quantities.QUANTITIES["average_power_w"]
    return _value(q, Estimate(e.central / d, e.low / d, e.high / d), e.method)


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
    Names that reports used before :mod:`ecometer.quantities` are accepted with a warning.
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
