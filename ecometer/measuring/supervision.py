"""Sensor supervision: each sensor of a run called on its own, bounded, and dropped when lost.

One :class:`SensorGuard` per sensor holds its device tracks, a lock serialising calls to it
and what went wrong with it. :class:`Supervisor` makes every call to the run's sensors:

* a call that raises is retried (``attempts``), reported once per kind of failure, and the
  other sensors are still called;
* calls at a run's boundaries (start, ``exact`` phases, stop) run in helper threads and are
  waited for at most a deadline (:func:`ecometer.measuring.sampler.call_bounded`), so a hung sensor
  cannot hang the job or ``stop()``;
* a sensor that fails or hangs for :data:`LOST_AFTER_S` is given up for the rest of the run;
  after :data:`COUNTER_LOST_AFTER` failed counter reads in a row its devices are integrated.

The supervisor reports through the ``warn`` callable it is given (the run's warnings) and
applies results to the tracks under the run's lock.
"""

from __future__ import annotations

import inspect
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecometer.energy.curves import DeviceTrack
from ecometer.errors import InputError
from ecometer.measuring.sampler import call_bounded
from ecometer.sensors.base import Device, Sensor

#: a sensor whose polls fail (or that hangs) for this long is given up for the rest of the run (s)
LOST_AFTER_S = 5.0
#: after this many failed counter reads in a row, a device's energy is integrated instead
COUNTER_LOST_AFTER = 3
DESCRIPTIONS = ("uncertainty", "notes", "info", "attribution")  # what a sensor says about itself
FAILED = object()  # a sensor call that raised (see Supervisor.call)
_CONSEQUENCE = {
    "poll": "its power points are missing until it answers again; the other sensors are unaffected",
    "read_counters": "counter readings are cumulative, so a later good reading restores the exact total; if none "
    "comes, the energy after the last good reading is integrated from its power points; the other sensors are "
    "unaffected",
    "share": "its last attribution share is kept",
}


class _Busy(RuntimeError):
    """A sensor's lock was not free before the deadline (another call to it hangs)."""


@dataclass(eq=False)
class SensorGuard:
    """One sensor of a run: its tracks, a lock serialising calls to it, and what went wrong."""

    sensor: Sensor
    devices: list[Device]
    tracks: list[DeviceTrack] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counting: bool = False  # some device has a working counter
    closed: bool = False  # the run ended: results arriving late are dropped
    hung: bool = False  # did not answer before a deadline
    poll_failed: bool = False  # its last poll raised
    failing_since: float | None = None  # first of an unbroken run of failed or skipped polls
    counter_failures: int = 0  # consecutive failed counter reads
    lost: bool = False  # given up on for the rest of the run (see LOST_AFTER_S)
    forceable: bool = False  # poll() takes force=True (a fresh pull at a boundary)
    error_kinds: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # last good uncertainty()/notes()/info()

    @property
    def label(self) -> str:
        return ", ".join(d.id for d in self.devices) or self.sensor.name


def short_error(exc: BaseException) -> str:
    """``Type: message``, cut to 300 characters."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 300 else text[:297] + "..."


def _check_points(result: Any) -> dict[str, list[tuple[float, float]]]:
    if not isinstance(result, dict):
        raise TypeError(f"poll() returned {type(result).__name__}, expected a dict of device id -> [(t, W)]")
    return {str(k): [(float(t), float(w)) for t, w in v] for k, v in result.items()}


def _check_counters(result: Any) -> dict[str, float] | None:
    if result is None:
        return None
    if not isinstance(result, dict):
        raise TypeError(f"read_counters() returned {type(result).__name__}, expected a dict of device id -> J")
    return {str(k): float(v) for k, v in result.items()}


def _check_share(result: Any) -> dict[str, float]:
    if not result:
        return {}
    if not isinstance(result, dict):
        raise TypeError(f"share() returned {type(result).__name__}, expected a dict of device id -> fraction")
    return {str(k): float(v) for k, v in result.items() if math.isfinite(float(v))}


def check_unique_devices(guards: list[SensorGuard]) -> None:
    """Two sensors reporting the same device id would overwrite each other's energy."""
    seen: dict[str, str] = {}
    for guard in guards:
        for device in guard.devices:
            if device.id in seen:
                raise InputError(
                    f"device {device.id!r} is reported by two sensors ({seen[device.id]} and {guard.sensor.name}); "
                    "give each device its own id"
                )
            seen[device.id] = guard.sensor.name


class Supervisor:
    """Every call to one run's sensors (see the module docs).

    ``warn``: reports a problem (once per message); ``lock``: the run's lock, held while
    results are applied to the tracks; ``clock``: the run's monotonic clock (s);
    ``scope``: ``"process"`` asks sensors for their share; ``name``: for thread names.
    """

    def __init__(
        self,
        sensors: list[Sensor],
        *,
        warn: Callable[[str], None],
        lock: threading.RLock,  # type: ignore[valid-type]
        clock: Callable[[], float],
        scope: str,
        name: str,
    ) -> None:
        self.guards = [
            SensorGuard(s, list(s.devices()), forceable="force" in inspect.signature(s.poll).parameters)
            for s in sensors
        ]
        check_unique_devices(self.guards)
        self._warn = warn
        self._lock = lock
        self._clock = clock
        self._scope = scope
        self._name = name

    # ---- single calls -------------------------------------------------------------------
    def call(
        self, guard: SensorGuard, what: str, fn: Callable[[], Any], attempts: int = 1, consequence: str | None = None
    ) -> Any:
        """``fn()``, retried up to ``attempts`` times; :data:`FAILED` (warned once per kind) if it raises."""
        for _ in range(max(attempts, 1)):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - one failing sensor must not stop the others
                kind = (what, type(exc).__name__)
                if kind not in guard.error_kinds:
                    guard.error_kinds.add(kind)
                    self._warn(
                        f"{guard.label}: {guard.sensor.name} {what}() failed ({short_error(exc)}); "
                        f"{consequence or _CONSEQUENCE.get(what, 'it is skipped')}"
                    )
        return FAILED

    def describe(self, guard: SensorGuard, what: str, fresh: bool = False) -> Any:
        """A sensor's ``uncertainty()``/``notes()``/``info()``/``attribution()``.

        ``fresh``: ask the sensor now (unless it hangs); else, and if it fails, the last good answer.
        """
        fn = getattr(guard.sensor, what, None) if fresh else None
        if fn is not None and not guard.hung:
            value = self.call(guard, what, fn, consequence="its answer from the start of the run is used")
            if value is not FAILED:
                guard.cache[what] = value
        return guard.cache.get(what)

    def describe_all(self) -> None:
        """Fresh descriptions from every sensor (at the start and the end of a run)."""
        for guard in self.guards:
            for what in DESCRIPTIONS:
                self.describe(guard, what, fresh=True)

    def first_read(self, guard: SensorGuard) -> Any:
        """At start: what the sensor says about itself, and its counters (one retry)."""
        sensor = guard.sensor
        for what in DESCRIPTIONS:
            self.describe(guard, what, fresh=True)
        return self.call(
            guard,
            "read_counters",
            lambda: _check_counters(sensor.read_counters()),
            attempts=2,
            consequence="its energy is integrated from power points for the whole run (method 'integrated')"
            if sensor.method == "counter"
            else None,
        )

    # ---- sampling -------------------------------------------------------------------------
    def sample(self, guard: SensorGuard, now: float, read: bool, attempts: int = 1, boundary: bool = False) -> None:
        """Poll one sensor (and read its counters if ``read``) and apply; call under its lock.

        At a ``boundary`` (start, exact phase, stop) a sensor that batches its points (NVML's
        sample buffer) is asked for the freshest ones.
        """
        sensor = guard.sensor
        if boundary and guard.forceable:
            poll = lambda: _check_points(sensor.poll(now, force=True))  # type: ignore[call-arg]  # noqa: E731
        else:
            poll = lambda: _check_points(sensor.poll(now))  # noqa: E731
        points = self.call(guard, "poll", poll, attempts)
        guard.poll_failed = points is FAILED
        guard.hung = False  # it answered
        if guard.poll_failed:
            guard.failing_since = now if guard.failing_since is None else guard.failing_since
        else:
            guard.failing_since = None
        values: Any = None
        t_read = now
        if read and guard.counting:
            values = self.call(guard, "read_counters", lambda: _check_counters(sensor.read_counters()), attempts)
            t_read = self._clock()
            guard.counter_failures = guard.counter_failures + 1 if values is FAILED else 0
        share: Any = None
        share_fn = getattr(sensor, "share", None) if self._scope == "process" else None
        if share_fn is not None:
            share = self.call(guard, "share", lambda: _check_share(share_fn(now)))
        with self._lock:
            if not guard.closed:
                self._apply(guard, now, points, values, t_read, share)

    def _apply(self, guard: SensorGuard, now: float, points: Any, values: Any, t_read: float, share: Any) -> None:
        if isinstance(share, dict):
            for track in guard.tracks:
                if track.channel in share:
                    track.share = min(max(share[track.channel], 0.0), 1.0)
        if isinstance(points, dict):
            for track in guard.tracks:
                if points.get(track.channel):
                    track.add_points(points[track.channel], now=now)
        if isinstance(values, dict):
            for track in guard.tracks:
                if track.has_counter and track.channel in values:
                    track.anchor(t_read, values[track.channel])
        if guard.counter_failures >= COUNTER_LOST_AFTER:
            # cumulative counters make a later good reading exact again, but pending points
            # must not pile up for ever: after several failures in a row, integrate instead
            guard.counting = False
            for track in guard.tracks:
                track.lose_counter(now)
            self._warn(
                f"{guard.label}: {COUNTER_LOST_AFTER} energy-counter reads failed in a row; from its last good "
                "reading on, its energy is integrated from power points (method 'integrated')"
            )

    def sample_all(self, now: float, read: bool) -> None:
        """The sampler's tick: each sensor called directly, skipping one that is busy (hung)."""
        for guard in self.guards:
            if guard.lost:
                continue
            if guard.lock.acquire(blocking=False):  # busy: a boundary read or a hung call
                try:
                    self.sample(guard, now, read)
                finally:
                    guard.lock.release()
            elif guard.hung and guard.failing_since is None:
                guard.failing_since = now

    def sample_bounded(self, now: float, read: bool, timeout_s: float, final: bool = False) -> None:
        """A boundary tick: every sensor in a helper thread, waited for at most ``timeout_s``."""
        attempts = 3 if final else 1  # retries at stop ride out intermittent failures

        def work(guard: SensorGuard) -> None:
            if not guard.lost:
                self.sample(guard, now, read, attempts, boundary=True)

        self.bounded(work, timeout_s)

    def drop_lost(self, now: float, t0: float) -> None:
        """Give up on every sensor failing or hung for :data:`LOST_AFTER_S`; call under the run's lock.

        Its devices keep what was measured up to their last data; nothing is counted after
        it, and phases and memory no longer wait for it.
        """
        for guard in self.guards:
            if guard.lost or guard.failing_since is None or now - guard.failing_since < LOST_AFTER_S:
                continue
            guard.lost = True
            guard.closed = True
            for track in guard.tracks:
                track.freeze(now)
            since = (guard.failing_since or now) - t0
            self._warn(
                f"{guard.label}: {guard.sensor.name} failed or hung from {since:.1f} s on; it is dropped for the "
                "rest of the run and its energy after its last data is not counted"
            )

    def close_tracks(self, now: float) -> None:
        """The run ends at ``now``: late results are dropped from here on; call under the run's lock."""
        for guard in self.guards:
            guard.closed = True
            if guard.lost:
                continue
            for track in guard.tracks:
                track.close(now, hold=not (guard.hung or guard.poll_failed))

    # ---- bounded calls ----------------------------------------------------------------------
    def bounded(
        self,
        work: Callable[[SensorGuard], Any],
        timeout_s: float,
        guards: list[SensorGuard] | None = None,
        mark_hung: bool = True,
    ) -> dict[int, tuple[str, Any]]:
        """``work(guard)`` for each sensor in helper threads, under its lock; wait at most ``timeout_s``."""
        guards = self.guards if guards is None else guards
        deadline = time.monotonic() + timeout_s

        def job(guard: SensorGuard) -> Callable[[], Any]:
            def run() -> Any:
                # a sensor already known to hang is not waited for again
                wait = 0.0 if guard.hung else max(deadline - time.monotonic(), 0.0)
                if not guard.lock.acquire(timeout=wait):
                    raise _Busy(f"{guard.sensor.name} is busy")
                try:
                    return work(guard)
                finally:
                    guard.lock.release()

            return run

        results = call_bounded({i: job(g) for i, g in enumerate(guards)}, timeout_s, name=f"ecometer-io[{self._name}]")
        for i, (state, value) in results.items():
            guard = guards[i]
            if state == "timeout" or isinstance(value, _Busy):
                if mark_hung and not guard.hung:
                    guard.hung = True
                    self._warn(
                        f"{guard.label}: {guard.sensor.name} did not answer within {timeout_s:.1f} s (hung?); "
                        "the job goes on, and its data up to its last answer is kept"
                    )
            elif state == "error":
                self._warn(f"{guard.label}: sampling {guard.sensor.name} failed ({short_error(value)})")
            elif mark_hung:
                guard.hung = False
        return results  # type: ignore[return-value]

    def close(self, timeout_s: float) -> list[tuple[str, Any]]:
        """Close every sensor that does not hang, waiting at most ``timeout_s``; the failures."""
        closing = [g for g in self.guards if not g.hung]
        results = self.bounded(lambda g: g.sensor.close(), timeout_s, closing, mark_hung=False)
        return [(closing[i].sensor.name, value) for i, (state, value) in results.items() if state != "ok"]
