"""The quantities a standard can grade, and how each is read from a run record.

A *quantity* is a figure of a whole run in an SI unit (``it_energy_j`` in joules,
``water_total_l`` in litres ...). A *measure* is a quantity normalised by a functional unit
(per token, per 1,000 queries, per GPU-hour, per run) and shown in a display unit. Both
the graded metrics and the hard limits of a standard are measures.

Footprint quantities (facility energy, water, carbon, site PUE/WUE) are read from the
footprint attached to the record (``record.attachments["footprint"]``), a dictionary
shaped like::

    {"facility_energy_j": {"central": .., "low": .., "high": ..},
     "water": {"onsite_l": {...}, "offsite_l": {...}, "total_l": {...}, "withdrawal_l": {...} | None},
     "carbon_g": {...}, "site": {"pue": 1.2, "wue": 0.5, ...}, "assumptions": [...]}

where the site's WUE is in litres per kWh of IT energy (the ISO/IEC 30134-9 convention).
A measure that cannot be computed for a record raises :class:`NotApplicable` with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecometer import units as U
from ecometer.errors import NotApplicable
from ecometer.record import Estimate, RunRecord
from ecometer.units import S_PER_H

NO_FOOTPRINT = "record has no footprint; score with a site"

#: functional units that are not work counters
RUN = "run"
GPU_HOUR = "gpu_hour"


@dataclass(frozen=True)
class Quantity:
    """A figure of a whole run: its SI unit, natural direction and how to read it.

    ``extensive`` quantities (energy, water, carbon) can be divided by a functional unit;
    intensive ones (power, PUE, WUE, work per joule) cannot.
    """

    name: str
    dimension: str
    direction: str
    extensive: bool
    default_unit: str
    description: str
    read: Callable[[RunRecord], Estimate]


# ---- readers ----------------------------------------------------------------------------
def _estimate(data: Any, what: str) -> Estimate:
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        return Estimate.exact(float(data))
    if isinstance(data, dict) and "central" in data:
        c = data.get("central")
        lo = data.get("low", c)
        hi = data.get("high", c)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (c, lo, hi)):
            lo, hi = sorted((float(lo), float(hi)))
            return Estimate(float(c), min(lo, float(c)), max(hi, float(c)))
    raise NotApplicable(f"the record's footprint has no usable {what} (found {data!r})")


def _footprint(record: RunRecord) -> dict[str, Any]:
    fp = record.attachments.get("footprint")
    if not isinstance(fp, dict):
        raise NotApplicable(NO_FOOTPRINT)
    return fp


def _fp_path(*keys: str) -> Callable[[RunRecord], Estimate]:
    def read(record: RunRecord) -> Estimate:
        node: Any = _footprint(record)
        for key in keys:
            if not isinstance(node, dict) or node.get(key) is None:
                raise NotApplicable(f"the record's footprint has no {'.'.join(keys)}")
            node = node[key]
        return _estimate(node, ".".join(keys))

    return read


def _it_energy(record: RunRecord) -> Estimate:
    if not record.components:
        raise NotApplicable("record has no measured energy (no components)")
    unc = record.energy_uncertainty
    central = record.energy_j
    return Estimate(central, min(unc.low, central), max(unc.high, central))


def _gpu_energy(record: RunRecord) -> Estimate:
    comp = record.components.get("gpu")
    if comp is None:
        raise NotApplicable("record has no GPU energy (no 'gpu' component)")
    unc = comp.uncertainty
    return Estimate(comp.energy_j, min(unc.low, comp.energy_j), max(unc.high, comp.energy_j))


def _average_power(record: RunRecord) -> Estimate:
    if record.duration_s <= 0:
        raise NotApplicable(f"record duration is {record.duration_s} s; average power needs a positive duration")
    return _it_energy(record).scaled(1.0 / record.duration_s)


def _site_wue(record: RunRecord) -> Estimate:
    # the footprint gives WUE in L/kWh of IT energy; inside we hold L/J
    return U.to_si(_fp_path("site", "wue")(record), "L/kWh")


def _work_per_joule(record: RunRecord) -> Estimate:  # pragma: no cover - evaluated in measure()
    raise NotApplicable("work_per_joule needs a work counter")


QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity(
            "it_energy_j", "energy", "lower", True, "J", "IT energy of the run (all measured components)", _it_energy
        ),
        Quantity("gpu_energy_j", "energy", "lower", True, "J", "GPU energy of the run", _gpu_energy),
        Quantity(
            "facility_energy_j",
            "energy",
            "lower",
            True,
            "kWh",
            "facility energy (IT energy x PUE) from the footprint",
            _fp_path("facility_energy_j"),
        ),
        Quantity(
            "water_onsite_l",
            "volume",
            "lower",
            True,
            "L",
            "on-site water consumption (footprint)",
            _fp_path("water", "onsite_l"),
        ),
        Quantity(
            "water_total_l",
            "volume",
            "lower",
            True,
            "L",
            "on-site plus off-site water consumption (footprint)",
            _fp_path("water", "total_l"),
        ),
        Quantity(
            "carbon_g", "mass", "lower", True, "g", "operational carbon, g CO2e (footprint)", _fp_path("carbon_g")
        ),
        Quantity("average_power_w", "power", "lower", False, "W", "IT energy / duration", _average_power),
        Quantity(
            "site_pue",
            "ratio",
            "lower",
            False,
            "1",
            "the site's power usage effectiveness (footprint)",
            _fp_path("site", "pue"),
        ),
        Quantity(
            "site_wue",
            "water_intensity",
            "lower",
            False,
            "L/kWh",
            "the site's water usage effectiveness (footprint)",
            _site_wue,
        ),
        Quantity(
            "work_per_joule",
            "rate",
            "higher",
            False,
            "1/J",
            "units of work (a counter of record.work) per joule of IT energy",
            _work_per_joule,
        ),
    )
}


# ---- measures ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Measure:
    """A quantity normalised by a functional unit and shown in a display unit.

    ``per``: ``"run"``, ``"gpu_hour"`` or the name of a work counter in ``record.work``;
    ``scale``: how many functional units (``per = "query"``, ``scale = 1000`` means per
    1,000 queries). For ``work_per_joule``, ``work`` names the counter and ``scale`` divides
    it (``work = "flop"``, ``scale = 1e9`` gives GFLOP per joule).
    """

    quantity: str
    per: str = RUN
    scale: float = 1.0
    unit: str = ""
    work: str | None = None

    @property
    def label(self) -> str:
        """Human-readable unit, e.g. ``"Wh per 1,000 queries"``."""
        if self.quantity == "work_per_joule":
            what = self.work or "work"
            amount = f"({U.format_count(self.scale)} {what})" if self.scale != 1 else what
            return f"{amount} per {self.unit.removeprefix('1/')}"
        if self.per == RUN:
            q = QUANTITIES[self.quantity]
            unit = "" if self.unit == "1" else self.unit
            return unit if not q.extensive else f"{unit} per run"
        per = "GPU-hour" if self.per == GPU_HOUR else self.per
        if self.scale != 1:
            plural = _plural(per)
            return f"{self.unit} per {U.format_count(self.scale)} {plural}"
        return f"{self.unit} per {per}"


def _plural(word: str) -> str:
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _work_count(record: RunRecord, counter: str | None) -> tuple[str, float]:
    unit = counter or record.work_unit or (next(iter(record.work)) if len(record.work) == 1 else None)
    if unit is None:
        raise NotApplicable(
            f"record names no work unit (counted: {sorted(record.work) or 'nothing'})", missing_unit=True
        )
    if unit not in record.work:
        raise NotApplicable(
            f"record counted no {unit!r} (counted: {', '.join(sorted(record.work)) or 'nothing'})", missing_unit=True
        )
    count = float(record.work[unit])
    if not math.isfinite(count) or count <= 0:
        raise NotApplicable(f"record counted {record.work[unit]} {unit}; a positive count is needed", missing_unit=True)
    return unit, count


def gpu_count(record: RunRecord) -> int:
    """Number of GPU devices whose energy the record holds (0 if none)."""
    comp = record.components.get("gpu")
    return len(comp.devices) if comp is not None else 0


def functional_units(record: RunRecord, per: str) -> float:
    """How many ``per`` units the record holds (1 for a run). Raises :class:`NotApplicable`."""
    if per == RUN:
        return 1.0
    if per == GPU_HOUR:
        n = gpu_count(record)
        if n == 0:
            raise NotApplicable("record has no GPU devices, so no GPU-hours", missing_unit=True)
        if record.duration_s <= 0:
            raise NotApplicable(f"record duration is {record.duration_s} s, so no GPU-hours", missing_unit=True)
        return n * record.duration_s / S_PER_H
    return _work_count(record, per)[1]


def measure(m: Measure, record: RunRecord) -> Estimate:
    """The value of measure ``m`` for ``record`` in ``m.unit`` (central, low, high)."""
    q = QUANTITIES[m.quantity]
    if m.quantity == "work_per_joule":
        _, count = _work_count(record, m.work)
        energy = _it_energy(record)
        if energy.central <= 0:
            raise NotApplicable("record measured 0 J, so work per joule is undefined")
        work = count / m.scale
        low = work / energy.high if energy.high > 0 else math.inf
        high = work / energy.low if energy.low > 0 else math.inf
        si = Estimate(work / energy.central, low, high)
    else:
        si = q.read(record)
        if q.extensive and m.per != RUN:
            si = si.scaled(m.scale / functional_units(record, m.per))
    return U.from_si(si, m.unit)
