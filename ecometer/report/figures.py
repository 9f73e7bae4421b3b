"""The figures of a run, read from a record and its attached footprint and assessment.

Reports, charts, tables and comparisons all take their numbers from here, so that a figure is
named, united and qualified (method, uncertainty) the same way everywhere. Only the stored
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

from ecometer.errors import FigureMissing, InputError
from ecometer.record import RunRecord

COMPONENT_ORDER = ("gpu", "cpu", "dram")




@dataclass
class Figure:
    """One figure of a run: ``central`` with bounds ``low``..``high`` in SI ``unit``.

    ``kind`` is ``energy``, ``water``, ``carbon``, ``time`` or ``power`` (for display scaling);
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

    def per(self, count: float, unit: str) -> Figure:
        """This figure divided by ``count`` units of work named ``unit``."""
        return Figure(
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
def estimate(value: Any) -> tuple[float, float, float] | None:
    """``(central, low, high)`` from a stored estimate dict or a plain number, else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        return (v, v, v) if math.isfinite(v) else None
    if isinstance(value, dict) and "central" in value:
        try:
            c = float(value["central"])
            lo = float(value.get("low", c) if value.get("low") is not None else c)
            hi = float(value.get("high", c) if value.get("high") is not None else c)
        except (TypeError, ValueError):
            return None
        if not all(math.isfinite(x) for x in (c, lo, hi)):
            return None
        return c, min(lo, c), max(hi, c)
    return None


def footprint_dict(record: RunRecord) -> dict[str, Any] | None:
    fp = record.attachments.get("footprint")
    return fp if isinstance(fp, dict) else None


def footprint_method(fp: dict[str, Any]) -> str:
    method = fp.get("method")
    return method if isinstance(method, str) and method else "modelled"


def footprint_assumptions(record: RunRecord) -> list[str]:
    """The footprint's stated assumptions as readable lines (dict items written ``key: value``)."""
    fp = footprint_dict(record)
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
    fp = footprint_dict(record)
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


def it_energy(record: RunRecord) -> Figure:
    unc = record.energy_uncertainty
    return Figure("energy_j", "IT energy", "energy", "J", record.energy_j, unc.low, unc.high, combined_method(record))


def component_energy(record: RunRecord, name: str) -> Figure:
    c = record.components[name]
    return Figure(
        f"{name}_energy_j",
        f"{name.upper()} energy",
        "energy",
        "J",
        c.energy_j,
        min(c.uncertainty.low, c.energy_j),
        max(c.uncertainty.high, c.energy_j),
        c.method,
        list(c.notes),
    )


_FOOTPRINT_FIGURES: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    # key: (label, kind, unit, path in the footprint dict)
    "facility_energy_j": ("Facility energy", "energy", "J", ("facility_energy_j",)),
    "water_l": ("Water consumed", "water", "L", ("water", "total_l")),
    "onsite_water_l": ("On-site water", "water", "L", ("water", "onsite_l")),
    "offsite_water_l": ("Off-site water", "water", "L", ("water", "offsite_l")),
    "withdrawal_water_l": ("Water withdrawn", "water", "L", ("water", "withdrawal_l")),
    "carbon_g": ("Carbon", "carbon", "g CO2e", ("carbon_g",)),
}


def footprint_figure(record: RunRecord, key: str) -> Figure | None:
    fp = footprint_dict(record)
    if fp is None:
        return None
    label, kind, unit, path = _FOOTPRINT_FIGURES[key]
    node: Any = fp
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    est = estimate(node)
    if est is None:
        return None
    return Figure(key, label, kind, unit, est[0], est[1], est[2], footprint_method(fp))


def headline(record: RunRecord) -> list[Figure]:
    """IT energy, energy per component, then whatever the footprint holds."""
    out = [it_energy(record)]
    out += [component_energy(record, n) for n in ordered_components(record)]
    for key in _FOOTPRINT_FIGURES:
        fig = footprint_figure(record, key)
        if fig is not None:
            out.append(fig)
    return out


def work_unit(record: RunRecord) -> tuple[str, float] | None:
    """The run's functional unit and its count, or ``None`` if no (non-zero) work was counted."""
    unit = record.work_unit or (next(iter(record.work)) if len(record.work) == 1 else None)
    if unit is None or unit not in record.work:
        return None
    count = record.work[unit]
    if not isinstance(count, (int, float)) or not math.isfinite(count) or count <= 0:
        return None
    return unit, float(count)


def per_unit(record: RunRecord) -> list[Figure]:
    """Every headline figure divided by the work counted (empty without work)."""
    wu = work_unit(record)
    if wu is None:
        return []
    unit, count = wu
    return [f.per(count, unit) for f in headline(record)]


# ---- metrics for comparisons -----------------------------------------------------------
def _duration(record: RunRecord) -> Figure:
    d = record.duration_s
    return Figure("duration_s", "Duration", "time", "s", d, d, d, "constant")


def _power(record: RunRecord) -> Figure:
    e = it_energy(record)
    d = record.duration_s or math.nan
    return Figure("power_w", "Average IT power", "power", "W", e.central / d, e.low / d, e.high / d, e.method)


def _need_footprint(key: str) -> Callable[[RunRecord], Figure]:
    def get(record: RunRecord) -> Figure:
        fig = footprint_figure(record, key)
        if fig is None:
            what = "footprint" if footprint_dict(record) is None else f"footprint figure {key!r}"
            raise FigureMissing(
                f"run {record.name!r} has no {what}: measure with a site (ecometer run --site us-average) "
                f"or pass --site to ecometer report / compare"
            )
        return fig

    return get


def _need_component(name: str) -> Callable[[RunRecord], Figure]:
    def get(record: RunRecord) -> Figure:
        if name not in record.components:
            raise FigureMissing(f"run {record.name!r} has no {name} component (it has {ordered_components(record)})")
        return component_energy(record, name)

    return get


BASE_METRICS: dict[str, Callable[[RunRecord], Figure]] = {
    "energy_j": it_energy,
    "gpu_energy_j": _need_component("gpu"),
    "cpu_energy_j": _need_component("cpu"),
    "dram_energy_j": _need_component("dram"),
    "facility_energy_j": _need_footprint("facility_energy_j"),
    "water_l": _need_footprint("water_l"),
    "onsite_water_l": _need_footprint("onsite_water_l"),
    "offsite_water_l": _need_footprint("offsite_water_l"),
    "carbon_g": _need_footprint("carbon_g"),
    "duration_s": _duration,
    "power_w": _power,
}
PER_UNIT_BASES = ("energy_j", "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "facility_energy_j", "water_l")
PER_UNIT_BASES += ("onsite_water_l", "offsite_water_l", "carbon_g", "duration_s")


def metric_names() -> list[str]:
    """Every metric name :func:`metric` accepts."""
    return list(BASE_METRICS) + [f"{b}_per_unit" for b in PER_UNIT_BASES]


def metric(record: RunRecord, name: str) -> Figure:
    """The figure called ``name`` (see :func:`metric_names`) for ``record``.

    Raises :class:`FigureMissing` when the record lacks it (no footprint, no work units).
    """
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
