"""How much of the machine a run's neighbours used: for machine scope, which charges the whole machine's
CPU and memory energy to the run.

:class:`Neighbours` reads the machine's busy CPU time and this process tree's CPU time (this
process and its descendants, reaped children included) at the run's start and end; when other
processes used a large part of the machine's busy CPU time, :meth:`Neighbours.warning` says so, with
the figures and the run's own share of its CPU and DRAM energy. Units: CPU-seconds (one busy CPU
for 1 s = 1 s), J, fractions in 0..1.
"""

from __future__ import annotations

import logging
from typing import Any

from ecometer.errors import SensorUnavailable
from ecometer.record.units import fmt
from ecometer.sensors.usage import CpuTimes, ProcessTree, ProcStat

log = logging.getLogger("ecometer.measuring.meter")

#: others' share of the machine's busy CPU time above which machine scope warns
OTHERS_WARN = 0.5
#: below this much busy CPU time over the run (CPU-seconds) the shares say too little to warn
MIN_BUSY_S = 1.0
#: the components whose machine figure neighbours inflate (their energy follows CPU use)
HOST_COMPONENTS = ("cpu", "dram")


class Neighbours:
    """The run's own share of the machine's busy CPU time, from :meth:`open` to :meth:`shares`."""

    def __init__(self, stat: Any = None, tree: Any = None) -> None:
        self._stat = stat if stat is not None else ProcStat()
        self._tree = tree if tree is not None else ProcessTree()
        self._start: CpuTimes | None = None

    def open(self) -> None:
        """Start counting; where ``/proc`` cannot be read, the run goes on without the check (debug log)."""
        try:
            self._stat.open()
            self._tree.open()
            self._start = self._stat.read()
        except (SensorUnavailable, OSError) as exc:
            log.debug("no check of other processes' share of the machine: %s", exc)
            self._start = None

    def shares(self) -> tuple[float, float] | None:
        """``(own CPU-seconds, the machine's busy CPU-seconds)`` since :meth:`open`, or None."""
        if self._start is None:
            return None
        try:
            end = self._stat.read()
            own = self._tree.sample().cpu_s
        except (SensorUnavailable, OSError) as exc:
            log.debug("no check of other processes' share of the machine: %s", exc)
            return None
        return own, max(end.busy_s - self._start.busy_s, 0.0)

    def warning(self, host_energy_j: float) -> str | None:
        """A warning when other processes used more than :data:`OTHERS_WARN` of the machine's busy CPU
        time; ``host_energy_j``: the run's CPU and DRAM energy as machine scope charged it (J)."""
        got = self.shares()
        if got is None:
            return None
        own_s, busy_s = got
        if busy_s < MIN_BUSY_S:
            return None
        own = min(own_s / busy_s, 1.0)
        if 1.0 - own <= OTHERS_WARN:
            return None
        return (
            f"other processes used {1.0 - own:.0%} of the machine's busy CPU time during the run (this job: "
            f"{own_s:.1f} of {busy_s:.1f} CPU-seconds); machine scope charges their share of the CPU and DRAM "
            f"energy to this job: {fmt('energy', host_energy_j)} as measured, about "
            f"{fmt('energy', host_energy_j * own)} as its own share (scope='process', --scope process)"
        )

    def close(self) -> None:
        for part in (self._tree, self._stat):
            try:
                part.close()
            except OSError as exc:  # pragma: no cover - closing procfs readers
                log.debug("closing the neighbours check: %s", exc)
