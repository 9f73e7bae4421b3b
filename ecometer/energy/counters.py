"""Hardware energy counters that misbehave: implausible steps, bridging, stuck counters.

The one place for what ecometer does when a cumulative energy counter cannot be trusted. Used
by the NVML sensor on the driver's raw counter and by :class:`ecometer.energy.curves.DeviceTrack` on
every sensor's counter readings. It imports nothing of ecometer.

* A step that goes **backwards** (driver reset or reload, an unhandled wrap) or **jumps** by
  more energy than ``max_power_w`` could deliver in that interval is not trusted: the
  interval is *bridged* with the energy integrated from power points over the same interval,
  and the counter is re-based on the new reading (:class:`BridgedCounter`).
* A counter that has **not moved** since its first reading, long after it should have, while
  the power points show real energy, is *stuck* (some vGPUs): :meth:`BridgedCounter.stuck`.

RAPL's modular wrap arithmetic (a counter that wraps at a known range) stays with the RAPL
sensor, which knows the range; a wrap nobody accounted for shows up here as a backwards step.
All energies in joules, times in seconds (any one clock).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Plausibility bound (W) on one device's counter: a reading implying more power than this
#: is rejected. Not a measured figure but a sanity limit far above any single accelerator or
#: CPU socket (the largest GPU modules draw a few kW); a sensor measuring bigger units
#: declares its own ``max_power_w``.
MAX_DEVICE_POWER_W = 20_000.0
#: Counter jumps are judged over at least this window (s): counters advance in steps
#: (NVML about every 100 ms), so a legitimate step may land in a very short interval.
MIN_JUMP_WINDOW_S = 1.0

BACKWARDS = "backwards"
JUMP = "jump"


def implausible(
    delta_j: float, dt_s: float, max_power_w: float = MAX_DEVICE_POWER_W, min_window_s: float = MIN_JUMP_WINDOW_S
) -> str | None:
    """Why a counter step of ``delta_j`` (J) over ``dt_s`` (s) cannot be true, or ``None``.

    :data:`BACKWARDS` when it is negative; :data:`JUMP` when it exceeds ``max_power_w`` (W)
    over ``max(dt_s, min_window_s)``.
    """
    if delta_j < 0:
        return BACKWARDS
    if delta_j > max_power_w * max(dt_s, min_window_s):
        return JUMP
    return None


@dataclass(frozen=True)
class Step:
    """One counter reading's step: what the counter said and what was accepted (J, s)."""

    raw_delta_j: float  # the counter's own difference to the previous reading
    delta_j: float  # the energy accepted for the interval
    dt_s: float
    anomaly: str | None = None  # None, BACKWARDS or JUMP (then ``delta_j`` is the bridge)
    max_power_w: float = MAX_DEVICE_POWER_W

    @property
    def bridged(self) -> bool:
        return self.anomaly is not None

    def describe(self) -> str:
        """One phrase for a bridged step (``""`` for a good one)."""
        if self.anomaly == BACKWARDS:
            return f"energy counter went backwards by {-self.raw_delta_j:.3f} J (driver reset?)"
        if self.anomaly == JUMP:
            return (
                f"energy counter jumped by {self.raw_delta_j:.4g} J in {self.dt_s:.3g} s (more than "
                f"{self.max_power_w:g} W could deliver)"
            )
        return ""


class BridgedCounter:
    """Energy (J) from a cumulative counter's readings since the first one, bad steps bridged.

    Each reading comes with ``integrated_j``: the energy integrated from power points up to
    the reading's time (any origin, the same for every call). An implausible step is replaced
    by the integrated energy of its interval (never negative) and the counter re-based.
    """

    def __init__(self, reading_j: float, t: float, integrated_j: float, max_power_w: float | None = None) -> None:
        self.max_power_w = float(max_power_w) if max_power_w else MAX_DEVICE_POWER_W
        self.first_j = self.last_j = float(reading_j)
        self.first_t = self.last_t = float(t)
        self.first_integrated_j = self.last_integrated_j = float(integrated_j)
        self.total_j = 0.0  # accepted energy since the first reading
        self.bridged_j = 0.0  # of which taken from power points across bad steps
        self.bridges = 0  # number of bad steps

    def update(self, reading_j: float, t: float, integrated_j: float) -> Step:
        """Take a reading at ``t``; returns its step (``total_j`` grows by ``step.delta_j``)."""
        raw = float(reading_j) - self.last_j
        dt = t - self.last_t
        kind = implausible(raw, dt, self.max_power_w)
        delta = raw if kind is None else max(integrated_j - self.last_integrated_j, 0.0)
        if kind is not None:
            self.bridges += 1
            self.bridged_j += delta
        self.total_j += delta
        self.last_j, self.last_t, self.last_integrated_j = float(reading_j), t, float(integrated_j)
        return Step(raw, delta, dt, kind, self.max_power_w)

    def provisional(self, integrated_j: float) -> float:
        """Energy (J) now, while the counter cannot be read: the total plus the integrated energy since.

        Nothing is kept: the next good reading's step covers the interval exactly.
        """
        return self.total_j + max(integrated_j - self.last_integrated_j, 0.0)

    def stuck(self, t: float, integrated_j: float, min_s: float, min_integrated_j: float) -> bool:
        """Whether the counter has never moved in ``min_s`` (s) although ``min_integrated_j`` (J) were integrated."""
        return (
            self.last_j == self.first_j
            and t - self.first_t >= min_s
            and integrated_j - self.first_integrated_j >= min_integrated_j
        )
