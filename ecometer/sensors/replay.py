"""A scripted sensor: replays a known power trace, so tests know the exact expected energy.

The trace is a list of ``(t_s, watts)`` breakpoints, ``t_s`` seconds after :meth:`open`.
With ``interpolation="step"`` power holds each value until the next breakpoint; with
``"linear"`` it ramps between breakpoints. Past the last breakpoint the last value holds.

``method="counter"`` makes the sensor also expose an exact cumulative energy counter (with an
optional wrap-around range, like hardware counters); ``method="integrated"`` gives only
power points. ``uncertainty`` is the relative factor the sensor declares: a ready
:class:`~ecometer.record.estimate.Estimate`, or ``(rel_low, rel_high)`` with ``distribution`` (a
``uniform``/``triangular`` stated bound; ``normal``/``lognormal`` a 95 % interval). Points are emitted at every breakpoint crossed and at the poll time, so the
trapezoid rule integrates the trace exactly.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Sequence

from ecometer.record.estimate import Estimate
from ecometer.sensors.base import Device, Sensor, relative_factor


class ReplaySensor(Sensor):
    name = "replay"
    pollable = True

    def __init__(
        self,
        trace: Sequence[tuple[float, float]],
        *,
        component: str = "gpu",
        device: str | None = None,
        method: str = "integrated",
        interpolation: str = "step",
        clock: Callable[[], float] = time.monotonic,
        uncertainty: tuple[float, float] | Estimate = (0.0, 0.0),
        distribution: str = "uniform",
        poll_step_s: float | None = None,
    ) -> None:
        if not trace:
            raise ValueError("trace must have at least one (t_s, watts) point")
        times = [float(t) for t, _ in trace]
        if times != sorted(times) or times[0] < 0:
            raise ValueError("trace times must be non-negative and increasing")
        if method not in ("counter", "integrated", "modelled"):
            raise ValueError(f"method {method!r}: expected counter, integrated or modelled")
        if interpolation not in ("step", "linear"):
            raise ValueError(f"interpolation {interpolation!r}: expected step or linear")
        self.component = component
        self.method = method
        self._device = Device(device or f"{component}:0", model="replay")
        self._times = times
        self._watts = [float(w) for _, w in trace]
        self._interp = interpolation
        self._clock = clock
        if isinstance(uncertainty, Estimate):
            self._factor = uncertainty.replace(basis=uncertainty.basis or "scripted trace (replay)")
        else:
            lo, hi = uncertainty
            self._factor = relative_factor(lo, hi, "scripted trace (replay)", distribution=distribution, coverage=0.95)
        self._poll_step = poll_step_s
        self._t_open: float | None = None
        self._last_poll: float | None = None
        self.polls = 0

    def open(self) -> None:
        self._t_open = self._clock()
        self._last_poll = self._t_open

    def devices(self) -> list[Device]:
        return [self._device]

    # ---- exact trace maths (t relative to open) -----------------------------------------
    def power_at(self, t: float) -> float:
        """Power (W) of the trace at ``t`` seconds after open."""
        ts, ws = self._times, self._watts
        if t <= ts[0]:
            return ws[0]
        i = bisect.bisect_right(ts, t) - 1
        if i >= len(ts) - 1 or self._interp == "step":
            return ws[i]
        return ws[i] + (ws[i + 1] - ws[i]) * (t - ts[i]) / (ts[i + 1] - ts[i])

    def energy_between(self, a: float, b: float) -> float:
        """Exact energy (J) of the trace between ``a`` and ``b`` seconds after open."""
        if b <= a:
            return 0.0
        cuts = [a] + [t for t in self._times if a < t < b] + [b]
        total = 0.0
        for lo, hi in zip(cuts, cuts[1:], strict=False):
            if self._interp == "step":
                total += self.power_at(lo) * (hi - lo)
            else:
                total += 0.5 * (self.power_at(lo) + self.power_at(hi)) * (hi - lo)
        return total

    # ---- sensor protocol -----------------------------------------------------------------
    def poll(self, now: float) -> dict[str, list[tuple[float, float]]]:
        if self._t_open is None or self._last_poll is None:
            return {}
        self.polls += 1
        a, b = self._last_poll - self._t_open, now - self._t_open
        if b <= a:
            if self.polls == 1:  # the first poll reports the power at the start
                return {self._device.id: [(now, self.power_at(max(b, 0.0)))]}
            return {}
        points: list[tuple[float, float]] = []
        for t in self._times:
            if a < t <= b:
                if self._interp == "step":
                    prev = self.power_at(t - 1e-9) if t > 0 else self._watts[0]
                    points.append((self._t_open + t - 1e-9, prev))
                points.append((self._t_open + t, self.power_at(t)))
        points.append((now, self.power_at(b)))
        self._last_poll = now
        return {self._device.id: points}

    def read_counters(self) -> dict[str, float] | None:
        if self.method != "counter" or self._t_open is None:
            return None
        now = self._clock() - self._t_open
        return {self._device.id: self.energy_between(0.0, now)}

    def uncertainty(self) -> Estimate:
        return self._factor

    def notes(self) -> list[str]:
        return ["replayed power trace (scripted; not a measurement)"]
