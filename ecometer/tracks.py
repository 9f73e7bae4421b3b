"""Cumulative energy per device, built from power points and counter readings.

Each measured device has a :class:`DeviceTrack` holding a *finalised* cumulative-energy curve
``E(t)`` in joules over the monotonic clock:

* a device **with** an energy counter is anchored to the counter at every reading; between
  two readings the curve follows the shape of the integrated power points, scaled so that
  the energy between the two readings equals the counter's delta exactly ("calibrated
  integration"). Totals are therefore counter readings; the timeline and phase splits get
  the power samples' time resolution.
* a device **without** a counter integrates its power points (trapezoid rule, zero-order
  hold before the first and after the last point).

Finalised curve segments flow to a sink (the bounded timeline); phases read ``E(t)`` at
their boundaries once the curve has been finalised past them (:class:`PhaseBook`). Memory
is bounded: curve points older than the oldest unresolved phase boundary are dropped.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("ecometer.tracks")

Sink = Callable[[str, float, float, float], None]


class DeviceTrack:
    """Energy of one device (channel ``gpu:0``, ``cpu``...) since ``t0`` (monotonic s)."""

    def __init__(self, channel: str, t0: float, has_counter: bool, sink: Sink | None = None) -> None:
        self.channel = channel
        self.t0 = t0
        self.has_counter = has_counter
        self.sink = sink
        self.share = 1.0  # attribution share applied to energy increments (process scope)
        self.curve_t: list[float] = [t0]
        self.curve_e: list[float] = [0.0]
        self._raw_final = 0.0  # unshared energy at the last finalised point
        self.total_j = 0.0  # shared energy at the last finalised point
        self.integrated_j = 0.0  # raw integral of the power points (diagnostic for counters)
        self.last_point: tuple[float, float] | None = None
        self.points_seen = 0
        self._pending: list[tuple[float, float]] = []  # (t, integrated_j) awaiting an anchor
        self._counter_origin: float | None = None
        self._anchor: tuple[float, float, float] | None = None  # (t, counter_j rel, integrated_j)
        self.counter_j = 0.0
        self.anomalies: list[str] = []

    # ---- inputs ----------------------------------------------------------------------
    @property
    def final_t(self) -> float:
        return self.curve_t[-1]

    def add_points(self, points: list[tuple[float, float]]) -> None:
        """Power points ``(t, watts)``; points not newer than the last one are ignored."""
        for t, w in points:
            if not math.isfinite(w) or w < 0:
                self._anomaly(f"ignored invalid power {w!r} W")
                continue
            last = self.last_point
            if last is not None and t <= last[0]:
                continue
            self.points_seen += 1
            if last is None:
                if t > self.t0:
                    self.integrated_j += w * (t - self.t0)  # hold the first value back to t0
            else:
                t_prev, w_prev = last
                if t > self.t0:
                    if t_prev < self.t0:  # clip the segment at the run's start
                        w_prev = w_prev + (w - w_prev) * (self.t0 - t_prev) / (t - t_prev)
                        t_prev = self.t0
                    self.integrated_j += 0.5 * (w + w_prev) * (t - t_prev)
            self.last_point = (t, w)
            if t <= self.t0:
                continue
            if self.has_counter:
                self._pending.append((t, self.integrated_j))
            else:
                self._finalise(t, self.integrated_j)

    def _integrated_at(self, t: float) -> float:
        """Raw integral up to ``t``, holding the last power value past the last point."""
        if self.last_point is None or t <= self.last_point[0]:
            return self.integrated_j
        return self.integrated_j + self.last_point[1] * (t - max(self.last_point[0], self.t0))

    def anchor(self, t: float, counter_j: float) -> None:
        """A counter reading (cumulative J of the sensor) taken at ``t``."""
        if not self.has_counter:
            raise RuntimeError(f"{self.channel}: anchor() on a device without a counter")
        if self._counter_origin is None:
            self._counter_origin = counter_j
            self._anchor = (max(t, self.t0), 0.0, self._integrated_at(t))
            return
        assert self._anchor is not None
        t_a, rel_a, int_a = self._anchor
        if t <= t_a:
            return
        rel = counter_j - self._counter_origin
        if rel < rel_a:
            self._anomaly(f"energy counter went backwards by {rel_a - rel:.3f} J (driver reset?); re-based")
            self._counter_origin = counter_j - rel_a
            rel = rel_a
        int_t = self._integrated_at(t)
        d_counter = rel - rel_a
        d_int = int_t - int_a
        keep: list[tuple[float, float]] = []
        for tp, ip in self._pending:
            if tp >= t:
                keep.append((tp, ip))
                continue
            if tp <= t_a:
                continue
            frac = (ip - int_a) / d_int if d_int > 0 else (tp - t_a) / (t - t_a)
            self._finalise(tp, rel_a + d_counter * min(max(frac, 0.0), 1.0))
        self._pending = keep
        self._finalise(t, rel)
        self._anchor = (t, rel, int_t)
        self.counter_j = rel

    def close(self, t_end: float) -> None:
        """Finalise up to ``t_end`` for a device without a counter (hold the last power)."""
        if self.has_counter:
            return
        if self.last_point is None:
            self._anomaly("no power point was received; its energy is unknown and counted as 0 J")
            self._finalise(t_end, 0.0)
            return
        if t_end > self.last_point[0]:
            self.integrated_j = self._integrated_at(t_end)
            self.last_point = (t_end, self.last_point[1])
        self._finalise(t_end, self.integrated_j)

    def _finalise(self, t: float, raw_e: float) -> None:
        t_prev = self.curve_t[-1]
        if t <= t_prev:
            return
        d_e = max(raw_e - self._raw_final, 0.0) * self.share
        self._raw_final = raw_e
        self.total_j += d_e
        self.curve_t.append(t)
        self.curve_e.append(self.total_j)
        if self.sink is not None and d_e:
            self.sink(self.channel, t_prev, t, d_e)

    def _anomaly(self, text: str) -> None:
        if text not in self.anomalies:
            self.anomalies.append(text)
            log.warning("%s: %s", self.channel, text)

    # ---- queries ---------------------------------------------------------------------
    def energy_at(self, t: float) -> float | None:
        """Cumulative energy (J) at ``t`` by linear interpolation, or None if not final yet."""
        ts = self.curve_t
        if t > ts[-1]:
            return None
        if t == ts[-1]:
            return self.curve_e[-1]
        if t <= ts[0]:
            return self.curve_e[0]
        i = bisect.bisect_right(ts, t)
        t0, t1 = ts[i - 1], ts[i]
        e0, e1 = self.curve_e[i - 1], self.curve_e[i]
        return e0 + (e1 - e0) * (t - t0) / (t1 - t0)

    def power_now(self) -> float:
        return self.last_point[1] * self.share if self.last_point else 0.0

    def energy_now(self, t: float) -> float:
        """Best estimate of the energy so far (J), including the not-yet-finalised part."""
        if self.has_counter and self._anchor is not None:
            t_a, rel_a, int_a = self._anchor
            extra = max(self._integrated_at(t) - int_a, 0.0) if t > t_a else 0.0
            return self.total_j + extra * self.share
        return self.total_j + max(self._integrated_at(t) - self._raw_final, 0.0) * self.share

    def prune(self, before: float) -> None:
        """Drop curve points older than ``before``, keeping one at or before it."""
        i = bisect.bisect_right(self.curve_t, before) - 1
        if i > 0:
            del self.curve_t[:i]
            del self.curve_e[:i]


@dataclass
class _Occurrence:
    name: str
    depth: int
    start_t: float
    end_t: float | None = None
    start_e: dict[str, float] | None = None
    end_e: dict[str, float] | None = None


@dataclass
class PhaseTotals:
    """Running totals of one phase name (J per channel, seconds, occurrences)."""

    energy: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    count: int = 0
    work: dict[str, float] = field(default_factory=dict)


class PhaseBook:
    """Phase occurrences awaiting resolution, and per-name totals once resolved."""

    def __init__(self) -> None:
        self.open: list[_Occurrence] = []
        self.waiting: list[_Occurrence] = []
        self.totals: dict[str, PhaseTotals] = {}
        self.closed_spans: list[tuple[str, float, float, int]] = []
        self.spans_dropped = 0
        self.max_spans = 2000

    def enter(self, name: str, t: float) -> _Occurrence:
        occ = _Occurrence(name=name, depth=len(self.open), start_t=t)
        self.open.append(occ)
        self.totals.setdefault(name, PhaseTotals())
        return occ

    def exit(self, occ: _Occurrence, t: float) -> None:
        occ.end_t = t
        if occ in self.open:
            self.open.remove(occ)
        self.waiting.append(occ)
        totals = self.totals[occ.name]
        totals.duration_s += t - occ.start_t
        totals.count += 1
        if len(self.closed_spans) < self.max_spans:
            self.closed_spans.append((occ.name, occ.start_t, t, occ.depth))
        else:
            self.spans_dropped += 1

    def add_work(self, unit: str, amount: float) -> None:
        for name in {occ.name for occ in self.open}:
            work = self.totals[name].work
            work[unit] = work.get(unit, 0.0) + amount

    def close_all(self, t: float) -> list[str]:
        names = [occ.name for occ in self.open]
        for occ in list(reversed(self.open)):
            self.exit(occ, t)
        return names

    def resolve(self, tracks: list[DeviceTrack]) -> None:
        """Resolve boundaries the tracks have finalised past; prune what no one needs."""
        for occ in self.open + self.waiting:
            if occ.start_e is None:
                occ.start_e = _energies_at(tracks, occ.start_t)
            if occ.end_t is not None and occ.end_e is None and occ.start_e is not None:
                occ.end_e = _energies_at(tracks, occ.end_t)
        still: list[_Occurrence] = []
        for occ in self.waiting:
            if occ.start_e is not None and occ.end_e is not None:
                energy = self.totals[occ.name].energy
                for channel, e_end in occ.end_e.items():
                    energy[channel] = energy.get(channel, 0.0) + max(e_end - occ.start_e.get(channel, 0.0), 0.0)
            else:
                still.append(occ)
        self.waiting = still
        horizon = min(
            [o.start_t for o in self.open + self.waiting if o.start_e is None]
            + [o.end_t for o in self.waiting if o.end_t is not None]
            + [min(t.final_t for t in tracks) if tracks else math.inf]
        )
        for track in tracks:
            track.prune(horizon)


def _energies_at(tracks: list[DeviceTrack], t: float) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for track in tracks:
        e = track.energy_at(t)
        if e is None:
            return None
        out[track.channel] = e
    return out
