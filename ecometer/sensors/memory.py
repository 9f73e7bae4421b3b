"""Modelled memory (DRAM) power where no RAPL DRAM domain exists.

The model, with its constants in ``ecometer/data/memory_power.json`` (sources there)::

    P(t) = GB x (background_w_per_gb + activity_w_per_gb x u(t))          [W]

* ``GB``: the memory the OS sees (physical pages x page size, as ``free`` reports; GiB). On a VM that
  is its own allocation, i.e. its share of the host's installed DIMMs, which draw
  background (refresh and standby) power whether or not pages are used.
* ``background_w_per_gb`` (0.125 W/GB): idle power of installed server DRAM per GB
  (ENERGY STAR Computer Servers v3.0 draft memory adder, 2017), with bounds for large and
  small DIMMs.
* ``activity_w_per_gb x u``: extra power under traffic, with the machine's CPU utilisation
  ``u`` standing in for memory traffic (not observable without hardware counters).

Why not CodeCarbon's 3/8 W per GB of total RAM: that figure is a small (8 GB) module's
active power; applied to a 2 TB host it gives 768 W, more than an H100 board. This model
gives 256 W idle to 512 W fully busy there, and states a -72 %/+76 % uncertainty.

``scope="process"``: the background term is attributed by the process tree's resident
memory (RSS summed over the tree, capped at total; shared pages count once per process) and
the activity term by the tree's share of busy CPU time; :meth:`MemoryModelSensor.share`
returns the resulting fraction of the machine's modelled DRAM power.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ecometer.errors import SensorUnavailable
from ecometer.files import datafiles
from ecometer.record.estimate import Estimate
from ecometer.sensors.base import Device, declared_factor
from ecometer.sensors.model import UtilisationModelSensor
from ecometer.sensors.usage import HostUsage, IntervalUsage, total_memory_bytes

GIB = float(2**30)


def memory_share(data: dict[str, Any], u: float, cpu_share: float, rss_share: float) -> float:
    """Fraction of the machine's modelled DRAM power attributed to a process tree.

    ``u`` machine CPU utilisation, ``cpu_share`` the tree's share of busy CPU time,
    ``rss_share`` its resident memory over total memory (all 0..1) over the same interval.
    """
    bg = data["background_w_per_gb"]["central"]
    act = data["activity_w_per_gb"]["central"] * u
    total = bg + act
    if total <= 0:
        return 0.0
    return min(max((bg * rss_share + act * cpu_share) / total, 0.0), 1.0)


class MemoryModelSensor(UtilisationModelSensor):
    """DRAM power modelled from installed memory and activity (method ``modelled``, device ``"dram"``).

    ``MemoryModelSensor(scope="machine", *, total_bytes=None, usage=None, data=None,
    clock=time.monotonic)``: ``total_bytes`` overrides the detected memory size,
    ``usage`` shares one :class:`~ecometer.sensors.usage.HostUsage` with other host
    sensors, ``data`` overrides ``memory_power.json`` (tests).
    """

    name = "dram-model"
    component = "dram"
    label = "memory model"

    def __init__(
        self,
        scope: str = "machine",
        *,
        total_bytes: int | None = None,
        usage: HostUsage | None = None,
        data: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(scope, usage=usage, clock=clock)
        self._total = total_bytes
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            self._data = datafiles.load("memory_power.json")
        return self._data

    @property
    def gib(self) -> float:
        """Memory counted, in GiB."""
        if self._total is None:
            self._total = total_memory_bytes()
        return self._total / GIB

    def prepare(self) -> None:
        if self.gib <= 0:
            raise SensorUnavailable("memory model: the total memory size is unknown")

    def new_usage(self) -> HostUsage:
        return HostUsage(self.scope, total_memory_bytes=self._total)

    def power_w(self, u: float) -> float:
        """Modelled DRAM power (W) at CPU utilisation ``u`` (0..1)."""
        d = self.data
        u = min(max(u, 0.0), 1.0)
        return self.gib * (d["background_w_per_gb"]["central"] + d["activity_w_per_gb"]["central"] * u)

    def share_of(self, interval: IntervalUsage) -> float:
        """Background power by resident memory, activity power by busy CPU time (:func:`memory_share`)."""
        return memory_share(self.data, interval.u, interval.cpu_share, interval.rss_share)

    def devices(self) -> list[Device]:
        d = self.data
        facts = {
            "memory_gib": round(self.gib, 3),
            "background_w_per_gb": d["background_w_per_gb"]["central"],
            "activity_w_per_gb": d["activity_w_per_gb"]["central"],
        }
        return [Device("dram", model="installed memory (modelled)", facts=facts)]

    def uncertainty(self) -> Estimate:
        unc = self.data["uncertainty"]
        return declared_factor(unc, unc["basis"], "memory_power.json uncertainty")

    def notes(self) -> list[str]:
        d = self.data
        bg, act = d["background_w_per_gb"]["central"], d["activity_w_per_gb"]["central"]
        gib = self.gib
        return [
            f"DRAM power modelled, not measured: {gib:.1f} GiB x ({bg:g} W/GB background + {act:g} W/GB x CPU "
            f"utilisation) = {gib * bg:.1f} W idle to {gib * (bg + act):.1f} W fully busy",
            f"basis: {d['background_w_per_gb']['source']} ({bg:g} W/GB background); CPU utilisation stands in for "
            "memory traffic; see ecometer/data/memory_power.json",
        ]

    def attribution(self) -> str | None:
        if self.scope != "process":
            return None
        return (
            "process scope: the modelled DRAM power's background part is attributed to this process tree by its "
            "resident memory (RSS summed over the tree) over total memory, and its activity part by the tree's "
            "share of the machine's busy CPU time; an attribution, not a measurement"
        )


__all__ = ["MemoryModelSensor", "memory_share"]
