"""Every quantity of a run, named once: for standards, reports and the Prometheus exporter.

A *quantity* is a figure of a whole run in an SI unit: ``it_energy_j`` in joules,
``water_onsite_l`` in litres, ``carbon_g`` in grams CO2e ... Each :class:`Quantity` says
its name (what standards files, ``ecometer compare --metric`` and JSON outputs use), a
human label, its dimension (the ``ecometer.record.units`` dimension its display units belong
to), its display kind (for :func:`ecometer.record.units.pick_scale`), its SI unit, and how it is
read from a record (:meth:`Quantity.read`, which raises :class:`NotApplicable` with the
reason when the record cannot give it).

Footprint quantities are read from the footprint attached to the record
(:func:`footprint_data`), a dictionary shaped like::

    {"facility_energy_j": {"central": .., "low": .., "high": ..},
     "water": {"onsite_l": {...}, "offsite_l": {...}, "total_l": {...}, "withdrawal_l": {...} | None},
     "carbon_g": {...}, "site": {"pue": 1.2, "wue": 0.5, ...}, "method": "modelled", ...}

where the site's WUE is in litres per kWh of IT energy (the ISO/IEC 30134-9 convention).

Names that reports used before this registry (``onsite_water_l``, ``energy_j`` ...) are in
:data:`RENAMED`; :func:`get` accepts them with a deprecation warning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ecometer.errors import NotApplicable, RecordError
from ecometer.record import units as U
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord

log = logging.getLogger("ecometer.record.quantities")

NO_FOOTPRINT = "record has no footprint; score with a site"


@dataclass(frozen=True)
class Quantity:
    """A figure of a whole run: its name, SI unit, natural direction and how to read it.

    ``extensive`` quantities (energy, water, carbon, time) can be divided by a functional
    unit; intensive ones (power, PUE, WUE, work per joule) cannot. ``footprint`` is the
    path of the value in the footprint dictionary (``None`` for measured quantities);
    ``prometheus`` the exporter's metric name and fixed labels (``None`` if not exported).
    """

    name: str
    label: str
    description: str
    dimension: str
    kind: str
    unit: str
    default_unit: str
    direction: str
    extensive: bool
    reader: Callable[[RunRecord], Estimate]
    footprint: tuple[str, ...] | None = None
    prometheus: tuple[str, tuple[tuple[str, str], ...]] | None = None

    def read(self, record: RunRecord) -> Estimate:
        """The quantity for ``record`` in SI units. Raises :class:`NotApplicable`."""
        return self.reader(record)

    def from_footprint(self, fp: dict[str, Any]) -> Estimate:
        """This footprint quantity from a footprint dictionary. Raises :class:`NotApplicable`."""
        if self.footprint is None:
            raise NotApplicable(f"{self.name} is not a footprint quantity")
        node: Any = fp
        for key in self.footprint:
            node = node.get(key) if isinstance(node, dict) else None
        est = estimate(node)
        if est is None:
            raise NotApplicable(f"the record's footprint has no usable {'.'.join(self.footprint)} (found {node!r})")
        return est


# ---- reading the record and its footprint --------------------------------------------
def estimate(value: Any) -> Estimate | None:
    """An :class:`Estimate` from a stored estimate dict or a plain finite number, else ``None``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Estimate.exact(float(value)) if math.isfinite(value) else None
    if not isinstance(value, dict) or "central" not in value:
        return None
    c = value["central"]
    lo = c if value.get("low") is None else value["low"]
    hi = c if value.get("high") is None else value["high"]
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in (c, lo, hi)):
        return None
    lo, hi = sorted((float(lo), float(hi)))
    try:  # keep the coverage and shape the footprint states (absent: "not stated", as in schema 1)
        return Estimate.from_dict({**value, "central": float(c), "low": min(lo, float(c)), "high": max(hi, float(c))})
    except RecordError:
        return None


def footprint_data(record: RunRecord) -> dict[str, Any] | None:
    """The footprint dictionary attached to ``record`` (as stored), or ``None``."""
    fp = record.attachments.get("footprint")
    return fp if isinstance(fp, dict) else None


def _from_footprint(name: str) -> Callable[[RunRecord], Estimate]:
    def read(record: RunRecord) -> Estimate:
        fp = footprint_data(record)
        if fp is None:
            raise NotApplicable(NO_FOOTPRINT)
        return QUANTITIES[name].from_footprint(fp)

    return read


def _it_energy(record: RunRecord) -> Estimate:
    if not record.components:
        raise NotApplicable("record has no measured energy (no components)")
    unc = record.energy_uncertainty
    central = record.energy_j
    return unc.replace(central=central, low=min(unc.low, central), high=max(unc.high, central))  # coverage kept


def _component(name: str) -> Callable[[RunRecord], Estimate]:
    def read(record: RunRecord) -> Estimate:
        comp = record.components.get(name)
        if comp is None:
            raise NotApplicable(f"record has no {name.upper()} energy (no {name!r} component)")
        unc = comp.uncertainty
        return unc.replace(central=comp.energy_j, low=min(unc.low, comp.energy_j), high=max(unc.high, comp.energy_j))

    return read


def _duration(record: RunRecord) -> Estimate:
    return Estimate.exact(record.duration_s)


def _average_power(record: RunRecord) -> Estimate:
    if record.duration_s <= 0:
        raise NotApplicable(f"record duration is {record.duration_s} s; average power needs a positive duration")
    return _it_energy(record).scaled(1.0 / record.duration_s)


def _site_wue(record: RunRecord) -> Estimate:
    # the footprint gives WUE in L/kWh of IT energy; inside we hold L/J
    return U.to_si(_from_footprint("site_wue")(record), "L/kWh")


def _work_per_joule(record: RunRecord) -> Estimate:  # pragma: no cover - needs a counter: see standards.metrics
    raise NotApplicable("work_per_joule needs a work counter")


def _fp(name: str, label: str, description: str, dimension: str, kind: str, unit: str, default: str, path: str,
        prometheus: tuple[str, tuple[tuple[str, str], ...]] | None = None, extensive: bool = True) -> Quantity:
    return Quantity(name, label, description, dimension, kind, unit, default, "lower", extensive,
                    _from_footprint(name), tuple(path.split(".")), prometheus)  # fmt: skip


_WATER = "ecometer_water_litres_total"

QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        Quantity("it_energy_j", "IT energy", "IT energy of the run (all measured components)", "energy", "energy",
                 "J", "J", "lower", True, _it_energy, prometheus=("ecometer_energy_joules_total", ())),
        Quantity("gpu_energy_j", "GPU energy", "GPU energy of the run", "energy", "energy", "J", "J", "lower", True,
                 _component("gpu")),
        Quantity("cpu_energy_j", "CPU energy", "CPU energy of the run", "energy", "energy", "J", "J", "lower", True,
                 _component("cpu")),
        Quantity("dram_energy_j", "DRAM energy", "DRAM energy of the run", "energy", "energy", "J", "J", "lower",
                 True, _component("dram")),
        _fp("facility_energy_j", "Facility energy", "facility energy (IT energy x PUE) from the footprint",
            "energy", "energy", "J", "kWh", "facility_energy_j"),
        _fp("water_total_l", "Water consumed", "on-site plus off-site water consumption (footprint)",
            "volume", "water", "L", "L", "water.total_l"),
        _fp("water_onsite_l", "On-site water", "on-site water consumption (footprint)", "volume", "water", "L", "L",
            "water.onsite_l", (_WATER, (("kind", "onsite"),))),
        _fp("water_offsite_l", "Off-site water", "off-site water consumption, electricity generation (footprint)",
            "volume", "water", "L", "L", "water.offsite_l", (_WATER, (("kind", "offsite"),))),
        _fp("water_withdrawal_l", "Water withdrawn", "water withdrawn, on-site plus off-site (footprint)",
            "volume", "water", "L", "L", "water.withdrawal_l"),
        _fp("carbon_g", "Carbon", "operational carbon, g CO2e (footprint)", "mass", "carbon", "g CO2e", "g",
            "carbon_g", ("ecometer_carbon_grams_total", ())),
        Quantity("duration_s", "Duration", "wall-clock duration of the run", "time", "time", "s", "s", "lower",
                 True, _duration),
        Quantity("average_power_w", "Average IT power", "IT energy / duration", "power", "power", "W", "W", "lower",
                 False, _average_power),
        _fp("site_pue", "Site PUE", "the site's power usage effectiveness (footprint)", "ratio", "ratio", "1", "1",
            "site.pue", extensive=False),
        Quantity("site_wue", "Site WUE", "the site's water usage effectiveness (footprint)", "water_intensity",
                 "water_intensity", "L/J", "L/kWh", "lower", False, _site_wue, ("site", "wue")),
        Quantity("work_per_joule", "Work per joule",
                 "units of work (a counter of record.work) per joule of IT energy", "rate", "rate", "1/J", "1/J",
                 "higher", False, _work_per_joule),
    )
}  # fmt: skip

#: names reports used before this registry -> the one name now
RENAMED: dict[str, str] = {
    "energy_j": "it_energy_j",
    "water_l": "water_total_l",
    "onsite_water_l": "water_onsite_l",
    "offsite_water_l": "water_offsite_l",
    "withdrawal_water_l": "water_withdrawal_l",
    "power_w": "average_power_w",
}


def canonical(name: str) -> str:
    """``name``, or its current spelling (with a deprecation warning) if it was renamed."""
    base, suffix = (name[: -len("_per_unit")], "_per_unit") if name.endswith("_per_unit") else (name, "")
    if base in RENAMED:
        new = RENAMED[base] + suffix
        log.warning("quantity %r is now called %r; the old name will be removed", name, new)
        return new
    return name


def get(name: str) -> Quantity:
    """The quantity called ``name`` (old names accepted, see :data:`RENAMED`). ``KeyError`` if unknown."""
    return QUANTITIES[canonical(name)]
