"""The utilisation-model sensor: one device whose power is modelled from CPU utilisation.

Both host models are one skeleton with a different power function of the machine's CPU
utilisation ``u`` (0..1) between two polls (:mod:`ecometer.sensors.usage`):

* :class:`~ecometer.sensors.cpu_model.CpuModelSensor`: ``P = n_threads x W_thread x curve(u)``
* :class:`~ecometer.sensors.memory.MemoryModelSensor`: ``P = GB x (background + activity x u)``

:class:`UtilisationModelSensor` opens a shared :class:`~ecometer.sensors.usage.HostUsage`,
turns each interval into two power points that integrate exactly to ``P(u) x dt`` and, in
process scope, hands the interval's :class:`~ecometer.sensors.usage.IntervalUsage` to the
subclass to say which fraction of that power the process tree draws.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable

from ecometer.errors import SensorUnavailable
from ecometer.sensors.base import Sensor, check_scope
from ecometer.sensors.usage import HostUsage, IntervalUsage, ShareTracker

_EPS_S = 1e-6  # offset of the step point that opens an interval (s)


def step_points(t_prev: float, now: float, watts: float) -> list[tuple[float, float]]:
    """Two points ``(t_s, W)`` that make the trapezoid rule integrate exactly ``watts x (now - t_prev)``."""
    eps = min(_EPS_S, (now - t_prev) / 2.0)
    return [(t_prev + eps, watts), (now, watts)]


class UtilisationModelSensor(Sensor):
    """Base of the modelled host sensors (method ``modelled``, one device ``component``).

    Subclasses set ``name``, ``component`` (also the device id) and ``label`` (for error
    messages), and implement :meth:`power_w` and :meth:`share_of`; they may override
    :meth:`prepare` (load tables, detect hardware; raise :class:`SensorUnavailable`) and
    :meth:`new_usage`. ``usage`` shares one :class:`HostUsage` with other host sensors.
    """

    method = "modelled"
    pollable = True
    label = "model"

    def __init__(
        self,
        scope: str = "machine",
        *,
        usage: HostUsage | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = check_scope(scope)
        self._usage = usage
        self._clock = clock
        self._points: ShareTracker | None = None
        self._shares: ShareTracker | None = None
        self._open = False

    # ---- what a subclass provides ----------------------------------------------------------
    @abstractmethod
    def power_w(self, u: float) -> float:
        """Modelled power (W) of the device at machine CPU utilisation ``u`` (0..1)."""

    @abstractmethod
    def share_of(self, interval: IntervalUsage) -> float:
        """Process scope: the fraction (0..1) of the device's modelled power the tree drew."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Called by :meth:`open` before usage is read: load data, detect the hardware."""

    def new_usage(self) -> HostUsage:
        """The :class:`HostUsage` to read when none was given."""
        return HostUsage(self.scope)

    # ---- the skeleton -----------------------------------------------------------------------
    def open(self) -> None:
        if self._open:
            return
        self.prepare()
        if self._usage is None:
            self._usage = self.new_usage()
        try:
            self._usage.acquire()
        except OSError as exc:
            raise SensorUnavailable(f"{self.label}: cannot read CPU times ({exc})") from exc
        now = self._clock()
        self._points = ShareTracker(self._usage)
        self._points.start(now)
        if self.scope == "process":
            self._shares = ShareTracker(self._usage, tree=True)
            self._shares.start(now)
        self._open = True

    def close(self) -> None:
        if self._open and self._usage is not None:
            self._usage.release()
        self._open = False

    def poll(self, now: float) -> dict[str, list[tuple[float, float]]]:
        points = self._points
        if not self._open or points is None or points.prev is None:
            return {}
        t_prev = points.prev.t
        got = points.update(now)
        if got is None:
            return {}
        return {self.component: step_points(t_prev, now, self.power_w(got.u))}

    def share(self, now: float) -> dict[str, float]:
        """Process scope: the tree's share of the device's power since the previous call.

        An interval with no new clock tick keeps the previous interval's share.
        """
        if self.scope != "process" or self._shares is None:
            return {}
        got = self._shares.update(now)
        return {self.component: self.share_of(got if got is not None else self._shares.last)}


__all__ = ["UtilisationModelSensor", "step_points"]
