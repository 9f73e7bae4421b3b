"""The quantities a standard can grade, and how a measure of one is computed for a record.

A *quantity* is a figure of a whole run in an SI unit, named once in
:mod:`ecometer.record.quantities` (``it_energy_j`` in joules, ``water_total_l`` in litres ...).
A *measure* is a quantity normalised by a functional unit (per token, per 1,000 queries,
per GPU-hour, per run) and shown in a display unit. Both the graded metrics and the hard
limits of a standard are measures. A measure that cannot be computed for a record raises
:class:`NotApplicable` with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecometer.errors import NotApplicable
from ecometer.record import quantities
from ecometer.record import units as U
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord
from ecometer.record.quantities import Quantity
from ecometer.record.uncertainty import propagate
from ecometer.record.units import S_PER_H
from ecometer.work.estimates import work_estimate

#: functional units that are not work counters
RUN = "run"
GPU_HOUR = "gpu_hour"

#: the quantities a standard may grade (their names are those standards files use)
GRADABLE = (
    "it_energy_j",
    "gpu_energy_j",
    "facility_energy_j",
    "water_onsite_l",
    "water_total_l",
    "carbon_g",
    "average_power_w",
    "site_pue",
    "site_wue",
    "work_per_joule",
)
QUANTITIES: dict[str, Quantity] = {name: quantities.QUANTITIES[name] for name in GRADABLE}

#: dimensions of physical amounts that cannot be negative (energy, water, carbon, time, power,
#: ratios of them); every quantity of the registry is of one today
NONNEGATIVE_DIMENSIONS = ("energy", "volume", "mass", "time", "power", "ratio", "water_intensity", "rate")


def cannot_be_negative(quantity: str) -> bool:
    """Whether ``quantity`` (a name in :mod:`ecometer.record.quantities`) is an amount that is never below 0."""
    q = quantities.QUANTITIES.get(quantity)
    return q is not None and q.dimension in NONNEGATIVE_DIMENSIONS


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
            return f"{self.unit} per {U.format_count(self.scale)} {plural(per)}"
        return f"{self.unit} per {per}"


def plural(word: str) -> str:
    """The plural of a unit of work (``"query"`` -> ``"queries"``)."""
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


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
    return record.work_count(per)[1]


def measure(m: Measure, record: RunRecord) -> Estimate:
    """The value of measure ``m`` for ``record`` in ``m.unit`` (central, low, high)."""
    q = QUANTITIES[m.quantity]
    if m.quantity == "work_per_joule":
        _, count = record.work_count(m.work)
        energy = QUANTITIES["it_energy_j"].read(record)
        if energy.central <= 0:
            raise NotApplicable("record measured 0 J, so work per joule is undefined")
        work = count / m.scale
        counted = work_estimate(record, record.work_count(m.work)[0])
        if not counted.is_exact:  # an estimated count (FLOPs by a rule...): its bounds and the energy's, drawn
            si = propagate(
                lambda w, e: w / e,
                {"w": counted.scaled(1.0 / m.scale), "e": energy},
                basis=f"work / IT energy, both uncertain; work {counted.basis}",
            )
            return U.from_si(si, m.unit)
        low = work / energy.high if energy.high > 0 else math.inf
        high = work / energy.low if energy.low > 0 else math.inf
        # a monotone map of one uncertain quantity keeps the coverage its interval claims
        si = Estimate(
            work / energy.central,
            low,
            high,
            coverage=energy.coverage,
            distribution=energy.distribution,
            basis="work / IT energy: the energy's interval, mapped",
        )
    else:
        si = q.read(record)
        if q.extensive and m.per != RUN:
            si = si.scaled(m.scale / functional_units(record, m.per))
    return U.from_si(si, m.unit)
