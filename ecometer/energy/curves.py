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

Faults (see docs/RELIABILITY.md): invalid power points (non-finite, negative, or timed in
the future) are ignored; a counter reading that goes backwards, or jumps by more than
``max_power_w`` could deliver, is not trusted: that interval is bridged with the
integrated power points and the counter is re-based (``bridged_j``; the rule lives in
:mod:`ecometer.energy.counters`). If the counter stops
answering, :meth:`DeviceTrack.close` completes the energy after the last good reading
from the power points (``fallback_j``, ``counter_lost_at``). Each kind of anomaly is kept
once, with a count, so a week of glitches cannot grow memory.
"""

from __future__ import annotations

import bisect
import heapq
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecometer.energy.counters import BACKWARDS, MAX_DEVICE_POWER_W, BridgedCounter

log = logging.getLogger("ecometer.energy.curves")

Sink = Callable[[str, float, float, float], None]

#: Power points timed more than this (s) after the poll time are on another clock.
FUTURE_TOLERANCE_S = 1.0
#: Curve segments shorter than this (s) do not count towards the power range (their mean power
#: is the difference of two large cumulative energies over a tiny time: rounding noise).
_MIN_SEGMENT_S = 1e-6


class DeviceTrack:
    """Energy of one device (channel ``gpu:0``, ``cpu``...) since ``t0`` (monotonic s)."""

    def __init__(
        self,
        channel: str,
        t0: float,
        has_counter: bool,
        sink: Sink | None = None,
        max_power_w: float | None = None,
    ) -> None:
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
        self._pending: list[tuple[float, float, float]] = []  # (t, integrated_j, share) awaiting an anchor
        self._counter: BridgedCounter | None = None  # plausibility and bridging of the readings
        self._anchor: tuple[float, float, float] | None = None  # (t, counter_j rel, integrated_j)
        self.counter_j = 0.0
        self.max_power_w = float(max_power_w) if max_power_w else MAX_DEVICE_POWER_W
        self.bridged_j = 0.0  # energy (J) taken from power points across counter anomalies
        self.fallback_j = 0.0  # energy (J) from power points after the counter was lost
        self.counter_lost_at: float | None = None  # time of the last good reading, if lost
        self.data_until: float | None = None  # set when the source was lost: nothing counted after
        self.frozen = False  # the source is gone for good: the curve stays flat from its end on
        self._raw_offset = 0.0  # raw-energy offset of the power integral once a counter was lost
        self._anomalies: dict[str, list] = {}  # kind -> [first text, count]
        self._seen_low_w = math.inf  # lowest power seen (W, attributed share): points and curve segments
        self._seen_high_w = -math.inf  # highest power seen (W), likewise (see power_range_w)
        self._segments = 0  # curve segments with energy, and the time they cover (s): the resolution
        self._segment_s = 0.0

    @property
    def power_range_w(self) -> tuple[float, float] | None:
        """The lowest and highest power (W) this device drew as far as its data show: its power
        points and the mean power of its finalised curve segments (counter-calibrated), both
        times the attribution share; ``None`` before any data."""
        if self._seen_low_w > self._seen_high_w:
            return None
        return self._seen_low_w, self._seen_high_w

    @property
    def resolution_s(self) -> float | None:
        """Mean length (s) of the finalised curve's segments: the time resolution at which its
        energy is split between phases; ``None`` before any segment."""
        return self._segment_s / self._segments if self._segments else None

    def _see_power(self, watts: float) -> None:
        self._seen_low_w = min(self._seen_low_w, watts)
        self._seen_high_w = max(self._seen_high_w, watts)

    @property
    def anomalies(self) -> list[str]:
        """What went wrong with this device's data, one line per kind (with a count)."""
        return [text if n == 1 else f"{text} [{n} times in all]" for text, n in self._anomalies.values()]

    # ---- inputs ----------------------------------------------------------------------
    @property
    def final_t(self) -> float:
        """Time up to which the curve is final (infinite once frozen: it stays flat)."""
        return math.inf if self.frozen else self.curve_t[-1]

    def add_points(self, points: list[tuple[float, float]], now: float | None = None) -> None:
        """Power points ``(t, watts)``; points not newer than the last one are ignored.

        Non-finite or negative watts, non-finite times, and (given the poll time ``now``)
        times more than :data:`FUTURE_TOLERANCE_S` ahead of it are ignored as anomalies.
        """
        for t, w in points:
            if not math.isfinite(w) or w < 0:
                self._anomaly("power", f"ignored invalid power {w!r} W")
                continue
            if not math.isfinite(t) or (now is not None and t > now + FUTURE_TOLERANCE_S):
                self._anomaly("time", f"ignored a power point timed {t!r}, not on the poll's clock ({now!r})")
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
            self._see_power(w * self.share)
            if self.has_counter:
                self._pending.append((t, self.integrated_j, self.share))
            else:
                self._finalise(t, self.integrated_j + self._raw_offset)

    def _integrated_at(self, t: float) -> float:
        """Raw integral up to ``t``, holding the last power value past the last point."""
        if self.last_point is None or t <= self.last_point[0]:
            return self.integrated_j
        return self.integrated_j + self.last_point[1] * (t - max(self.last_point[0], self.t0))

    def anchor(self, t: float, counter_j: float) -> None:
        """A counter reading (cumulative J of the sensor) taken at ``t``."""
        if not self.has_counter:
            raise RuntimeError(f"{self.channel}: anchor() on a device without a counter")
        if not math.isfinite(counter_j):
            self._anomaly("nonfinite", f"ignored a non-finite energy counter reading {counter_j!r}")
            return
        if self._counter is None:
            int_t = self._integrated_at(t)
            t = max(t, self.t0)
            self._counter = BridgedCounter(counter_j, t, int_t, self.max_power_w)
            self._anchor = (t, 0.0, int_t)
            return
        assert self._anchor is not None
        t_a, rel_a, int_a = self._anchor
        if t <= t_a:
            return
        int_t = self._integrated_at(t)
        d_int = int_t - int_a
        step = self._counter.update(counter_j, t, int_t)
        d_counter = step.delta_j
        rel = rel_a + d_counter
        if step.bridged:
            then = (
                "that interval was bridged with the integrated power and the counter re-based"
                if step.anomaly == BACKWARDS
                else "the reading was rejected, that interval bridged with the integrated power and the counter re-based"
            )
            self._anomaly(step.anomaly or "", f"{step.describe()}; {then}")
            self.bridged_j += d_counter * self.share
        keep: list[tuple[float, float, float]] = []
        for tp, ip, sp in self._pending:
            if tp >= t:
                keep.append((tp, ip, sp))
                continue
            if tp <= t_a:
                continue
            frac = (ip - int_a) / d_int if d_int > 0 else (tp - t_a) / (t - t_a)
            self._finalise(tp, rel_a + d_counter * min(max(frac, 0.0), 1.0), share=sp)
        self._pending = keep
        self._finalise(t, rel)
        self._anchor = (t, rel, int_t)
        self.counter_j = rel

    def close(self, t_end: float, hold: bool = True) -> None:
        """Finalise the curve up to ``t_end`` (the run's end).

        Without a counter, the power points are integrated, holding the last power to
        ``t_end``. With a counter whose last good reading is before ``t_end`` (the final read
        failed), the energy after that reading comes from the power points instead
        (``fallback_j``; ``counter_lost_at`` is the last good reading's time).
        ``hold=False`` means the source was lost (its last poll failed or hung): nothing is
        counted after its last power point, and ``data_until`` says when that was.
        """
        end = t_end
        if not hold:
            last_t = self.last_point[0] if self.last_point is not None else self.t0
            if self.has_counter and self._anchor is not None:
                last_t = max(last_t, self._anchor[0])
            end = min(t_end, max(last_t, self.t0))
            if end < t_end:
                self.data_until = end
                self._anomaly(
                    "lost",
                    f"no data after {end - self.t0:.3f} s: its energy over the last {t_end - end:.3f} s "
                    "is unknown and not counted",
                )
        if self.has_counter:
            if self._anchor is not None and self._anchor[0] < end:
                self._fallback_after_anchor(end)
        elif self.last_point is None:
            self._anomaly("nopoints", "no power point was received; its energy is unknown and counted as 0 J")
        else:
            if end > self.last_point[0]:
                self.integrated_j = self._integrated_at(end)
                self.last_point = (end, self.last_point[1])
            self._finalise(end, self.integrated_j + self._raw_offset)
        self._finalise(t_end, self._raw_final, observed=False)  # flat to the end, so every boundary resolves

    def lose_counter(self, t: float) -> None:
        """The counter stopped answering: from its last good reading on, energy comes from the
        power points (``counter_lost_at``, ``fallback_j``), and no more readings are expected."""
        if not self.has_counter or self._anchor is None:
            return
        # up to the last power point only: the points that come later continue from there
        last = self.last_point[0] if self.last_point is not None else self._anchor[0]
        end = max(min(t, last), self._anchor[0])
        self._fallback_after_anchor(end)
        self._raw_offset = self._raw_final - self._integrated_at(end)
        self.has_counter = False

    def freeze(self, t: float) -> None:
        """The source is gone for good: nothing is counted after its last data, and the curve
        stays flat from ``t`` on, so phases and pruning do not wait for it."""
        if not self.frozen:
            self.close(t, hold=False)
            self.frozen = True

    def _fallback_after_anchor(self, end: float) -> None:
        assert self._anchor is not None
        t_a, rel_a, int_a = self._anchor
        self.counter_lost_at = t_a
        for tp, ip, sp in self._pending:
            if t_a < tp <= end:
                self._finalise(tp, rel_a + max(ip - int_a, 0.0), share=sp)
        self._pending = []
        self._finalise(end, rel_a + max(self._integrated_at(end) - int_a, 0.0))

    def _finalise(self, t: float, raw_e: float, share: float | None = None, observed: bool = True) -> None:
        """Extend the curve to ``t``; the increment is weighted by ``share`` (the attribution
        share in force when that energy was drawn; default: the current one). ``observed``:
        the segment is data (not the flat closing stretch), so its mean power is seen."""
        t_prev = self.curve_t[-1]
        if t <= t_prev:
            return
        d_e = max(raw_e - self._raw_final, 0.0) * (self.share if share is None else share)
        self._raw_final = raw_e
        self.total_j += d_e
        if self.counter_lost_at is not None:
            self.fallback_j += d_e
        self.curve_t.append(t)
        self.curve_e.append(self.total_j)
        if observed and not self.frozen and t - t_prev >= _MIN_SEGMENT_S:
            self._segments += 1
            self._segment_s += t - t_prev
            self._see_power(d_e / (t - t_prev))
        if self.sink is not None and d_e:
            self.sink(self.channel, t_prev, t, d_e)

    def _anomaly(self, kind: str, text: str) -> None:
        entry = self._anomalies.get(kind)
        if entry is None:
            self._anomalies[kind] = [text, 1]
            log.warning("%s: %s", self.channel, text)
        else:
            entry[1] += 1

    # ---- queries ---------------------------------------------------------------------
    def energy_at(self, t: float) -> float | None:
        """Cumulative energy (J) at ``t`` by linear interpolation, or None if not final yet."""
        ts = self.curve_t
        if t > ts[-1]:
            return self.curve_e[-1] if self.frozen else None
        if t == ts[-1]:
            return self.curve_e[-1]
        if t <= ts[0]:
            return self.curve_e[0]
        i = bisect.bisect_right(ts, t)
        t0, t1 = ts[i - 1], ts[i]
        e0, e1 = self.curve_e[i - 1], self.curve_e[i]
        return e0 + (e1 - e0) * (t - t0) / (t1 - t0)

    def energy_sum(self, times: list[float]) -> float | None:
        """The sum of :meth:`energy_at` over ``times`` (sorted ascending), by curve segment: the
        count and the sum of the times in each segment (C-level), not one call per time.
        ``None`` if a time is past the final curve."""
        if not times:
            return 0.0
        ts, es = self.curve_t, self.curve_e
        if times[-1] > ts[-1] and not self.frozen:
            return None
        n = len(times)
        i = bisect.bisect_right(times, ts[0])
        total = i * es[0]  # at or before the curve's first point
        last = len(ts) - 1
        while i < n:
            k = bisect.bisect_left(ts, times[i])  # ts[k - 1] < times[i] <= ts[k]
            if k > last:  # past a frozen curve's end: flat
                return total + (n - i) * es[-1]
            t0, t1, e0, e1 = ts[k - 1], ts[k], es[k - 1], es[k]
            j = bisect.bisect_right(times, t1, i)
            count = j - i
            total += count * e0 + (e1 - e0) / (t1 - t0) * (math.fsum(times[i:j]) - count * t0)
            i = j
        return total

    def power_now(self) -> float:
        return self.last_point[1] * self.share if self.last_point else 0.0

    def energy_now(self, t: float) -> float:
        """Best estimate of the energy so far (J), including the not-yet-finalised part."""
        if self.has_counter and self._anchor is not None:
            t_a, rel_a, int_a = self._anchor
            extra = max(self._integrated_at(t) - int_a, 0.0) if t > t_a else 0.0
            return self.total_j + extra * self.share
        if self.frozen:
            return self.total_j
        return self.total_j + max(self._integrated_at(t) + self._raw_offset - self._raw_final, 0.0) * self.share

    def prune(self, before: float) -> None:
        """Drop curve points older than ``before``, keeping one at or before it."""
        i = bisect.bisect_right(self.curve_t, before) - 1
        if i > 0:
            del self.curve_t[:i]
            del self.curve_e[:i]


#: Phase name under which occurrences of names beyond ``PhaseBook.max_names`` are counted.
OTHER_PHASE = "(other phases)"


class PhaseOccurrence:
    """One occurrence of a phase: its name, nesting depth, times (s) and, once the curves are
    final there, the cumulative energy (J) per channel at its start and end."""

    __slots__ = ("name", "depth", "start_t", "end_t", "start_e", "end_e")

    def __init__(self, name: str, depth: int, start_t: float) -> None:
        self.name = name
        self.depth = depth
        self.start_t = start_t
        self.end_t: float | None = None
        self.start_e: dict[str, float] | None = None
        self.end_e: dict[str, float] | None = None


@dataclass
class PhaseTotals:
    """Running totals of one phase name (J per channel, seconds, occurrences)."""

    energy: dict[str, float] = field(default_factory=dict)
    duration_s: float = 0.0
    count: int = 0
    work: dict[str, float] = field(default_factory=dict)


class PhaseBook:
    """Phase occurrences awaiting resolution, and per-name totals once resolved.

    A name open several times at once (from several threads or asyncio tasks, or nested in
    itself) is one span from the first entry to the last exit: its energy and duration are
    those of the time it was open at all (the union), never the sum of overlapping
    occurrences, so no phase exceeds the run. :attr:`overlaps` counts, per name, the entries
    that found it already open (the record says so). Work counted by :meth:`add_work` goes
    to the phases its caller (``owner``: thread and task) has open.

    The caller's side (:meth:`enter`, :meth:`exit`) only appends. The sampler's side
    (:meth:`resolve`) keeps closed occurrences in order of their end and, at each tick, settles
    those the curves have become final for, summed per phase name and curve segment (see
    :meth:`DeviceTrack.energy_sum`): its cost per phase is a few list operations, and phases
    still waiting are not looked at again. The earliest time still needed (for pruning) comes
    from the open phases and one heap entry per batch of arrivals.
    """

    def __init__(self) -> None:
        self.open: list[PhaseOccurrence] = []
        self._arrivals: list[PhaseOccurrence] = []  # closed since the sampler last looked
        self._queue: list[PhaseOccurrence] = []  # closed, awaiting energies, by end time (from _head)
        self._ends: list[float] = []  # their end times
        self._head = 0
        self._settled_to = -math.inf  # every occurrence that ended by then is settled
        self._batches: list[tuple[float, int, float]] = []  # heap: (earliest start, seq, latest end)
        self._seq = 0
        self.totals: dict[str, PhaseTotals] = {}
        self.closed_spans: list[tuple[str, float, float, int]] = []
        self.spans_dropped = 0
        self.max_spans = 2000
        self.top_level_reserve = 500
        self.max_names = 1000  # distinct phase names kept; more are merged into OTHER_PHASE
        self.names_merged = 0
        self.overlaps: dict[str, int] = {}  # entries into a name already open
        self._holders: dict[str, dict[Any, int]] = {}  # open name -> owner -> entries not yet exited
        self._open_by_name: dict[str, PhaseOccurrence] = {}  # open name -> its occurrence
        self.entered_open = False  # the last enter() found its name already open

    @property
    def waiting(self) -> list[PhaseOccurrence]:
        """Closed occurrences whose energies are not resolved yet."""
        return [*self._queue[self._head :], *self._arrivals]

    def enter(self, name: str, t: float, owner: Any = None) -> PhaseOccurrence:
        """Open phase ``name`` at ``t`` for ``owner`` (thread and task); returns its occurrence,
        the one already open when the name is open (the span goes on), counted under
        :data:`OTHER_PHASE` past :attr:`max_names` names."""
        totals = self.totals
        if name not in totals:
            if len(totals) >= self.max_names:
                name = OTHER_PHASE
                self.names_merged += 1
            if name not in totals:
                totals[name] = PhaseTotals()
        holders = self._holders.get(name)
        self.entered_open = bool(holders)
        if holders:  # already open: the span it has goes on
            self.overlaps[name] = self.overlaps.get(name, 0) + 1
            holders[owner] = holders.get(owner, 0) + 1
            return self._open_by_name[name]
        occ = PhaseOccurrence(name, len(self.open), t)
        self.open.append(occ)
        self._holders[name] = {owner: 1}
        self._open_by_name[name] = occ
        return occ

    def exit(self, occ: PhaseOccurrence, t: float, owner: Any = None) -> None:
        """Close one entry of ``occ`` (``owner``'s, else any); the span ends with the last one."""
        holders = self._holders.get(occ.name)
        if not holders or self._open_by_name.get(occ.name) is not occ:
            return  # already closed (close_all at stop)
        if owner not in holders:
            owner = next(iter(holders))
        left = holders[owner] - 1
        if left:
            holders[owner] = left
        else:
            del holders[owner]
        totals = self.totals[occ.name]
        totals.count += 1
        if holders:
            return
        del self._holders[occ.name], self._open_by_name[occ.name]
        occ.end_t = t
        if self.open and self.open[-1] is occ:
            self.open.pop()
        elif occ in self.open:
            self.open.remove(occ)
        self._arrivals.append(occ)
        totals.duration_s += t - occ.start_t
        # nested spans (per-step phases) may fill the list only up to a reserve kept for
        # top-level spans, so a long run's later top-level phases are still drawn
        limit = self.max_spans if occ.depth == 0 else self.max_spans - self.top_level_reserve
        if len(self.closed_spans) < limit:
            self.closed_spans.append((occ.name, occ.start_t, t, occ.depth))
        else:
            self.spans_dropped += 1

    def add_work(self, unit: str, amount: float, owner: Any = None) -> None:
        """Credit work to the phases ``owner`` has open (if it has none and one owner alone has
        phases open, to those: work counted by a helper thread for a single-threaded job)."""
        mine = [name for name, holders in self._holders.items() if owner in holders]
        if not mine:
            owners = {o for holders in self._holders.values() for o in holders}
            mine = list(self._holders) if len(owners) == 1 else []
        for name in mine:
            work = self.totals[name].work
            work[unit] = work.get(unit, 0.0) + amount

    def close_all(self, t: float) -> list[str]:
        names = [occ.name for occ in self.open]
        for occ in list(reversed(self.open)):
            for owner, n in list(self._holders.get(occ.name, {}).items()):
                for _ in range(n):
                    self.exit(occ, t, owner)
        return names

    def resolve(self, tracks: list[DeviceTrack]) -> None:
        """Resolve boundaries the tracks have finalised past; prune what no one needs."""
        final = min((t.final_t for t in tracks), default=math.inf)
        for occ in self.open:
            if occ.start_e is None and occ.start_t <= final:
                occ.start_e = _energies_at(tracks, occ.start_t)
        self._take_arrivals()
        k = bisect.bisect_right(self._ends, final, self._head)
        if k > self._head and self._settle(self._queue[self._head : k], tracks):
            self._head, self._settled_to = k, max(self._settled_to, self._ends[k - 1])
            if self._head > 1024 and self._head * 2 > len(self._queue):
                del self._queue[: self._head], self._ends[: self._head]
                self._head = 0
        batches = self._batches
        while batches and batches[0][2] <= self._settled_to:
            heapq.heappop(batches)
        horizon = min(
            [o.start_t for o in self.open if o.start_e is None]
            + ([batches[0][0]] if batches else [])
            + [final if tracks else math.inf]
        )
        for track in tracks:
            track.prune(horizon)

    def _take_arrivals(self) -> None:
        """Queue the occurrences closed since the last tick, in order of their end, as one batch."""
        arrivals, self._arrivals = self._arrivals, []
        if not arrivals:
            return
        ends = [o.end_t for o in arrivals]
        if ends != sorted(ends) or (len(self._ends) > self._head and ends[0] < self._ends[-1]):  # type: ignore[type-var]
            # closed on several threads, appended out of order: sort what waits
            rest = sorted(self._queue[self._head :] + arrivals, key=lambda o: o.end_t)  # type: ignore[arg-type,return-value]
            self._queue, self._head = rest, 0
            self._ends = [o.end_t for o in rest]  # type: ignore[misc]
        else:
            self._queue.extend(arrivals)
            self._ends.extend(ends)  # type: ignore[arg-type]
        self._seq += 1
        heapq.heappush(self._batches, (min(o.start_t for o in arrivals), self._seq, max(ends)))  # type: ignore[type-var]

    def _settle(self, ready: list[PhaseOccurrence], tracks: list[DeviceTrack]) -> bool:
        """Add the energies of ``ready`` (ended where every curve is final) to their phases'
        totals: per name, the sum of cumulative energies at the ends minus that at the starts.
        False (nothing added) if a curve cannot answer yet."""
        groups: dict[str, tuple[list[float], list[float], list[dict[str, float]]]] = {}
        for occ in ready:
            g = groups.get(occ.name)
            if g is None:
                g = groups[occ.name] = ([], [], [])
            g[0].append(occ.end_t)  # type: ignore[arg-type]
            if occ.start_e is None:
                g[1].append(occ.start_t)
            else:
                g[2].append(occ.start_e)
        sums: list[tuple[str, str, float]] = []
        for name, (ends, starts, known) in groups.items():
            starts.sort()
            for track in tracks:
                at_end, at_start = track.energy_sum(ends), track.energy_sum(starts)
                if at_end is None or at_start is None:
                    return False
                before = math.fsum(k.get(track.channel, 0.0) for k in known)
                sums.append((name, track.channel, max(at_end - at_start - before, 0.0)))
        for name, channel, joules in sums:
            energy = self.totals[name].energy
            energy[channel] = energy.get(channel, 0.0) + joules
        return True


def _energies_at(tracks: list[DeviceTrack], t: float) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for track in tracks:
        e = track.energy_at(t)
        if e is None:
            return None
        out[track.channel] = e
    return out
