"""The meter: wrap a job, get a :class:`~ecometer.record.RunRecord`.

    with ecometer.measure("finetune", work_unit="sample") as m:
        for batch in loader:
            with m.phase("forward"):
                ...
            m.add_work(len(batch))
    m.record.energy_j

A meter owns one background sampler thread. Hardware counters are read at the run's
boundaries (after synchronising the accelerator) and every ``counter_interval_s`` (2 s) in between; power
points are pulled at ``interval_s``. Phases cost two clock reads and a lock each: they are
resolved later from the calibrated energy curve (see :mod:`ecometer.curves`), so marking a
phase per batch does not slow the job. ``phase(name, exact=True)`` instead synchronises and
reads the counters at its boundaries, for long windows that must match the counter exactly.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ecometer import lifecycle
from ecometer._version import __version__
from ecometer.curves import OTHER_PHASE, DeviceTrack, PhaseBook
from ecometer.errors import InputError
from ecometer.record import (
    Component,
    Estimate,
    Phase,
    RunRecord,
    SensorInfo,
    Span,
    checkpoint_path,
    worst_method,
    write_atomic,
)
from ecometer.sampler import Sampler, call_bounded
from ecometer.sensors.base import Device, Sensor, Uncertainty
from ecometer.timeline import BucketTimeline

log = logging.getLogger("ecometer.meter")

F = TypeVar("F", bound=Callable[..., Any])

_CHECKPOINT_COST_FACTOR = 200.0  # checkpoint interval >= 200 x its cost (<= 0.5 % of a core)
#: a sensor whose polls fail (or that hangs) for this long is given up for the rest of the run
LOST_AFTER_S = 5.0
_DESCRIPTIONS = ("uncertainty", "notes", "info", "attribution")  # what a sensor says about itself
#: after this many failed counter reads in a row, a device's energy is integrated instead
COUNTER_LOST_AFTER = 3
_MAX_WORK_PER_CALL = 1e15
_MAX_WARNINGS = 200  # distinct warnings kept in a record; more are counted
_FAILED = object()  # a sensor call that raised (see Meter._sensor_call)
_CONSEQUENCE = {
    "poll": "its power points are missing until it answers again; the other sensors are unaffected",
    "read_counters": "counter readings are cumulative, so a later good reading restores the exact total; if none "
    "comes, the energy after the last good reading is integrated from its power points; the other sensors are "
    "unaffected",
    "share": "its last attribution share is kept",
}
_SENSOR_INFO_FIELDS = ("name", "component", "method", "devices", "notes")


@dataclass
class LiveStatus:
    """A snapshot of a running meter: seconds elapsed, watts now and joules so far."""

    elapsed_s: float
    power_w: dict[str, float]
    energy_j: dict[str, float]

    @property
    def total_energy_j(self) -> float:
        return sum(self.energy_j.values())

    @property
    def total_power_w(self) -> float:
        return sum(self.power_w.values())


class _Busy(RuntimeError):
    """A sensor's lock was not free before the deadline (another call to it hangs)."""


@dataclass(eq=False)
class _SensorGuard:
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
    error_kinds: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # last good uncertainty()/notes()/info()

    @property
    def label(self) -> str:
        return ", ".join(d.id for d in self.devices) or self.sensor.name


def _short(exc: BaseException) -> str:
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


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def safe_name(name: str) -> str:
    """A file-name-safe version of a run name (letters, digits, ``._-``; at most 80 chars)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
    return cleaned[:80]


class _RunContext:
    """``with`` and decorator use for anything with ``start()`` and ``stop(status, error=)``.

    Leaving the block normally stops with ``"ok"``; KeyboardInterrupt with ``"interrupted"``;
    any other exception with ``"failed"`` (the exception propagates). In a forked child the
    parent's meter is left alone.
    """

    _forked = False

    def start(self) -> Any:  # pragma: no cover - provided by the subclass
        raise NotImplementedError

    def stop(self, status: str | None = None, error: str | None = None) -> Any:  # pragma: no cover
        raise NotImplementedError

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._forked:
            return
        if exc_type is None:
            self.stop("ok")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.stop("interrupted", error="KeyboardInterrupt")
        else:
            self.stop("failed", error=f"{exc_type.__name__}: {exc}")

    def __call__(self, fn: F) -> F:
        """Use as a decorator: each call of ``fn`` is one metered run."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        wrapper.meter = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]


class Meter(_RunContext):
    """Measures the energy of whatever runs between :meth:`start` and :meth:`stop`.

    Args:
        name: run name (free text; sanitised before use in file names).
        gpus: ``"auto"`` (every visible NVIDIA GPU), a list of CUDA indices/UUIDs, or None.
        interval_s: sampler period in seconds (power points; counters every ``counter_interval_s``).
        scope: ``"machine"`` (whole devices) or ``"process"`` (this process tree's share,
            an attribution, not a measurement).
        work_unit: the default unit of :meth:`add_work` (``"sample"``, ``"token"``...).
        out: record path; ``"auto"`` writes ``$ECOMETER_DIR`` (default ``ecometer-runs``)
            ``/<name>-<UTC time>.json``; None writes nothing. A checkpoint
            ``<out>.partial`` is kept up to date while running.
        site: a :class:`ecometer.Site` or preset name; attaches a footprint at stop.
        standard: a standard name, file or object; attaches an assessment at stop.
        sync: callable that waits for queued accelerator work; default synchronises torch,
            cupy or jax if the process already imported them.
        sensors: sensors to use instead of auto-detection (e.g. a ReplaySensor).
        meta: free metadata stored in the record (task, model size, hardware...).
        clock: monotonic clock in seconds (tests inject a fake one).
        background: run the sampler thread (False: call :meth:`sample_now` yourself).

    Faults (docs/RELIABILITY.md): each sensor is called on its own, so one that raises or
    hangs does not stop the others; calls at the run's boundaries (start, ``exact`` phases,
    stop) run in helper threads and are waited for at most :attr:`io_timeout_s` seconds, so
    a hung sensor cannot hang the job or :meth:`stop`; a record that cannot be written is
    kept in memory with a warning.
    """

    #: Longest wait (s) for the sensors at a boundary; :meth:`stop` takes at most about this.
    io_timeout_s: float = 5.0

    def __init__(
        self,
        name: str = "run",
        *,
        gpus: str | list[int | str] | None = "auto",
        interval_s: float = 0.1,
        scope: str = "machine",
        work_unit: str | None = None,
        out: str | os.PathLike[str] | None = "auto",
        site: Any = None,
        standard: Any = None,
        sync: Callable[[], Any] | None = None,
        sensors: list[Sensor] | None = None,
        meta: dict[str, Any] | None = None,
        counter_interval_s: float = 2.0,
        checkpoint_interval_s: float = 5.0,
        timeline_buckets: int = 2048,
        clock: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        if scope not in ("machine", "process"):
            raise InputError(f"scope {scope!r}: expected 'machine' or 'process'")
        if not (isinstance(interval_s, (int, float)) and math.isfinite(interval_s) and 0.001 <= interval_s <= 60):
            raise InputError(f"interval_s {interval_s!r}: expected seconds between 0.001 and 60")
        self.name = str(name)
        self.gpus = gpus
        self.interval_s = float(interval_s)
        self.scope = scope
        self.work_unit = work_unit
        self.out = out
        self.site = resolve_site(site)
        self.standard = resolve_standard(standard)
        self.sync = sync
        self.meta = dict(meta or {})
        self.counter_interval_s = counter_interval_s
        self.checkpoint_interval_s = checkpoint_interval_s
        self.timeline_buckets = timeline_buckets
        self.clock = clock
        self.background = background
        self._given_sensors = sensors
        self._lock = threading.RLock()  # guards measured state; held only briefly
        self._running = False
        self._forked = False
        self.record: RunRecord | None = None
        self._sampler: Sampler | None = None
        self._warnings: list[str] = []
        self._warnings_dropped = 0
        self._stopping = False
        self._stopped = threading.Event()
        self._run_id: object | None = None
        self._guards: list[_SensorGuard] = []

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> Meter:
        """Open the sensors, read the counters and start sampling. Returns ``self``."""
        if self._running:
            raise RuntimeError(f"meter {self.name!r} is already running")
        self.record = None
        self._warnings = []
        self._warnings_dropped = 0
        self._stopped.clear()
        self._explanations: list[str] = []
        self._sensors = self._open_sensors()
        self._forceable = {id(s) for s in self._sensors if "force" in inspect.signature(s.poll).parameters}
        self._has_gpu = any(s.component == "gpu" and s.name != "replay" for s in self._sensors)
        self._work: dict[str, float] = {}
        self._phases = PhaseBook()
        self._path = self._resolve_out()
        self._next_counter = 0.0
        self._next_checkpoint = 0.0
        self._checkpoint_failed = False
        self._sync_now()
        self._run_id = run_id = object()
        self._guards = [_SensorGuard(sensor, list(sensor.devices())) for sensor in self._sensors]
        try:
            _check_unique_devices(self._guards)
        except InputError:
            for sensor in self._sensors:
                sensor.close()
            raise
        first = self._bounded(self._first_read, self.io_timeout_s)  # in helper threads: the run starts after
        self.started_at = _utc_now()
        self.t0 = self.clock()
        self._timeline = BucketTimeline(self.t0, bucket_s=self.interval_s, max_buckets=self.timeline_buckets)
        self._tracks: dict[str, DeviceTrack] = {}
        for i, guard in enumerate(self._guards):
            sensor = guard.sensor
            status, counters = first[i]
            if status != "ok" or not isinstance(counters, dict):
                counters = None
            for device in guard.devices:
                value = counters.get(device.id) if counters is not None else None
                has_counter = value is not None and math.isfinite(value)
                track = DeviceTrack(
                    device.id,
                    self.t0,
                    has_counter,
                    sink=self._timeline.add,
                    max_power_w=getattr(sensor, "max_power_w", None),
                )
                if has_counter:
                    track.anchor(self.t0, value)
                self._tracks[device.id] = track
                guard.tracks.append(track)
            guard.counting = any(t.has_counter for t in guard.tracks)
        self._running = True
        self._pid = os.getpid()
        self._tick(self.t0, counters=False, bounded=True)
        self._next_counter = self.t0 + self.counter_interval_s
        self._next_checkpoint = self.t0 + self.checkpoint_interval_s
        self._write_checkpoint()
        lifecycle.register(self)
        if self.background:
            self._sampler = Sampler(
                lambda now: self._tick(now, run=run_id),
                self.interval_s,
                name=f"ecometer-sampler[{safe_name(self.name)}]",
            )
            self._sampler.start()
        return self

    def stop(self, status: str | None = None, error: str | None = None) -> RunRecord:
        """Finish the run: final counter reads, record built, saved, returned.

        Calling stop() again returns the same record. ``status`` defaults to ``"ok"``.
        """
        if self._forked:
            raise RuntimeError("this meter was started in the parent process; a forked child cannot stop it")
        with self._lock:
            stopping_elsewhere = not self._running and self.record is None and self._stopping
            if not self._running and not stopping_elsewhere:
                if self.record is None:
                    raise RuntimeError(f"meter {self.name!r} was never started")
                return self.record
            if self._running:
                self._running = False
                self._stopping = True
                stopping_elsewhere = False
        if stopping_elsewhere:  # another thread is finishing this run: wait for its record
            self._stopped.wait(2 * self.io_timeout_s + 1.0)
            if self.record is None:
                raise RuntimeError(f"meter {self.name!r} is still being stopped by another thread")
            return self.record
        try:
            return self._finish(status, error)
        finally:
            self._stopping = False
            self._stopped.set()

    def _finish(self, status: str | None, error: str | None) -> RunRecord:
        lifecycle.unregister(self)
        deadline = time.monotonic() + self.io_timeout_s
        if self._sampler is not None:
            if not self._sampler.stop(timeout_s=min(1.0, self.io_timeout_s / 2)):
                self._warn("the sampler thread did not stop in time (a sensor call hung); its last data is used")
            for err in self._sampler.errors:
                self._warn(f"sampling error: {err}")
        self._sync_now()
        t_end = self.clock()
        self._tick(t_end, counters=True, final=True, timeout_s=max(deadline - time.monotonic(), 0.5))
        record = self._build_record(t_end, status or "ok", final=True)
        record.error = error
        self._attach_results(record)
        self.record = record
        closing = [g for g in self._guards if not g.hung]
        for i, (state, value) in self._bounded(
            lambda g: g.sensor.close(), max(deadline - time.monotonic(), 0.5), closing, mark_hung=False
        ).items():
            if state != "ok":  # closing must not lose the record
                log.debug("closing %s failed: %s", closing[i].sensor.name, value)
        self._save(record)
        return record

    def _finalise_on(self, status: str, reason: str) -> RunRecord | None:
        """Called on SIGTERM or interpreter exit: stop with ``status`` and say why."""
        if self._forked or not self._running:
            return self.record
        self._warn(f"run ended early: {reason}")
        return self.stop(status=status, error=reason)

    # ---- inside the run ----------------------------------------------------------------
    @contextmanager
    def phase(self, name: str, exact: bool = False) -> Iterator[None]:
        """Attribute what runs inside to phase ``name`` (phases nest and may repeat).

        ``exact=True`` synchronises the accelerator and reads the counters at both
        boundaries (about 4 ms per GPU on an H100): use it for windows of a second or more.
        """
        if not self._running or self._forked:
            yield
            return
        if exact:
            # the boundary is placed just after the counter reading, so the phase's energy is
            # the difference of two counter readings (not an interpolation around them)
            self._sync_now()
            self._tick(self.clock(), counters=True, bounded=True)
        t = self.clock()
        with self._lock:
            occ = self._phases.enter(str(name), t)
        if occ.name != str(name):
            self._warn(
                f"more than {self._phases.max_names} distinct phase names: further names are counted together "
                f"as {OTHER_PHASE!r}"
            )
        try:
            yield
        finally:
            if exact:
                self._sync_now()
                self._tick(self.clock(), counters=True, bounded=True)
            t_end = self.clock()
            with self._lock:
                if self._running:
                    self._phases.exit(occ, t_end)

    def add_work(self, amount: float = 1, unit: str | None = None) -> None:
        """Count ``amount`` units of work (samples, tokens, queries...) done so far.

        Invalid amounts (NaN, infinite, negative, absurdly large) are ignored with a warning
        rather than raising inside the job.
        """
        if self._forked:
            return
        if not self._running:
            log.warning("%s: add_work() called while the meter is not running; ignored", self.name)
            return
        unit = str(unit or self.work_unit or "item")
        try:
            value = float(amount)
        except (TypeError, ValueError, OverflowError):  # not a number, or an int too large for a float
            value = math.nan
        if not math.isfinite(value) or value < 0 or value > _MAX_WORK_PER_CALL:
            shown = repr(amount) if len(repr(amount)) <= 40 else repr(amount)[:37] + "..."
            self._warn(
                f"add_work: {shown} {unit[:40]} is not a finite count between 0 and {_MAX_WORK_PER_CALL:g}; ignored"
            )
            return
        with self._lock:
            self._work[unit] = self._work.get(unit, 0.0) + value
            self._phases.add_work(unit, value)

    def live(self) -> LiveStatus:
        """Power now (W) and energy so far (J) per component."""
        if self._forked or not hasattr(self, "t0"):  # forked child, or never started: nothing yet
            return LiveStatus(0.0, {}, {})
        with self._lock:
            now = self.clock()
            power: dict[str, float] = {}
            energy: dict[str, float] = {}
            for guard in self._guards:
                c, tracks = guard.sensor.component, guard.tracks
                power[c] = power.get(c, 0.0) + sum(t.power_now() for t in tracks)
                energy[c] = energy.get(c, 0.0) + sum(t.energy_now(now) for t in tracks)
            return LiveStatus(now - self.t0, power, energy)

    def live_devices(self) -> dict[str, dict[str, Any]]:
        """Per device id: ``component``, ``power_w`` now (W) and ``energy_j`` so far (J)."""
        if self._forked or not hasattr(self, "t0"):
            return {}
        with self._lock:
            now = self.clock()
            return {
                t.channel: {"component": g.sensor.component, "power_w": t.power_now(), "energy_j": t.energy_now(now)}
                for g in self._guards
                for t in g.tracks
            }

    def live_work(self) -> dict[str, float]:
        """Work counted so far, per unit."""
        if self._forked or not hasattr(self, "_work"):
            return {}
        with self._lock:
            return dict(self._work)

    def sample_now(self) -> None:
        """Take one sample at the current clock time (for meters run without a thread)."""
        if self._running:
            self._tick(self.clock())

    @property
    def running(self) -> bool:
        return self._running

    # ---- sampling ---------------------------------------------------------------------
    def _tick(
        self,
        now: float,
        counters: bool | None = None,
        final: bool = False,
        bounded: bool = False,
        timeout_s: float | None = None,
        run: object | None = None,
    ) -> None:
        """One sample at ``now``: poll every sensor, read counters when due, resolve phases.

        Each sensor is called on its own under its lock: one that raises is reported once and
        the others are still sampled. The sampler calls the sensors directly (skipping one
        that is busy); ``bounded`` ticks (start, exact phases) and the ``final`` tick call them
        in helper threads and wait at most ``timeout_s`` (default :attr:`io_timeout_s`).
        """
        if self._forked or os.getpid() != self._pid:
            return
        if run is not None and run is not self._run_id:
            return  # a sampler of an earlier run, back late from a hung call
        if not final and not self._running:
            return
        read = counters if counters is not None else now >= self._next_counter
        if read:
            self._next_counter = now + self.counter_interval_s
        if final or bounded:
            attempts = 3 if final else 1  # retries at stop ride out intermittent failures

            def work(guard: _SensorGuard) -> None:
                if not guard.lost:
                    self._sample_sensor(guard, now, read, attempts, boundary=True)

            self._bounded(work, self.io_timeout_s if timeout_s is None else timeout_s)
        else:
            for guard in self._guards:
                if guard.lost:
                    continue
                if guard.lock.acquire(blocking=False):  # busy: a boundary read or a hung call
                    try:
                        self._sample_sensor(guard, now, read)
                    finally:
                        guard.lock.release()
                elif guard.hung and guard.failing_since is None:
                    guard.failing_since = now
        with self._lock:
            if not final:
                for guard in self._guards:
                    if not guard.lost and guard.failing_since is not None and now - guard.failing_since >= LOST_AFTER_S:
                        self._lose(guard, now)
            if final:
                for guard in self._guards:
                    guard.closed = True
                    if guard.lost:
                        continue
                    for track in guard.tracks:
                        track.close(now, hold=not (guard.hung or guard.poll_failed))
                for name in self._phases.close_all(now):
                    self._warn(f"phase {name!r} was still open at stop; closed there")
            self._phases.resolve(list(self._tracks.values()))
        if not final and now >= self._next_checkpoint:
            cost = time.perf_counter()
            self._write_checkpoint()
            cost = time.perf_counter() - cost
            # a checkpoint of a large record costs more: space them so that writing them
            # never takes more than 0.5 % of the sampler's time
            self._next_checkpoint = now + max(self.checkpoint_interval_s, cost * _CHECKPOINT_COST_FACTOR)

    def _sample_sensor(
        self, guard: _SensorGuard, now: float, read: bool, attempts: int = 1, boundary: bool = False
    ) -> None:
        """Poll one sensor (and read its counters if ``read``) and apply; call under its lock.

        At a ``boundary`` (start, exact phase, stop) a sensor that batches its points (NVML's
        sample buffer) is asked for the freshest ones.
        """
        sensor = guard.sensor
        if boundary and id(sensor) in self._forceable:
            poll = lambda: _check_points(sensor.poll(now, force=True))  # type: ignore[call-arg]  # noqa: E731
        else:
            poll = lambda: _check_points(sensor.poll(now))  # noqa: E731
        points = self._sensor_call(guard, "poll", poll, attempts)
        guard.poll_failed = points is _FAILED
        guard.hung = False  # it answered
        if guard.poll_failed:
            guard.failing_since = now if guard.failing_since is None else guard.failing_since
        else:
            guard.failing_since = None
        values: Any = None
        t_read = now
        if read and guard.counting:
            values = self._sensor_call(
                guard, "read_counters", lambda: _check_counters(sensor.read_counters()), attempts
            )
            t_read = self.clock()
            guard.counter_failures = guard.counter_failures + 1 if values is _FAILED else 0
        share: Any = None
        share_fn = getattr(sensor, "share", None) if self.scope == "process" else None
        if share_fn is not None:
            share = self._sensor_call(guard, "share", lambda: _check_share(share_fn(now)))
        with self._lock:
            if guard.closed:
                return
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

    def _first_read(self, guard: _SensorGuard) -> Any:
        """At start: the counters (one retry) and what the sensor says about itself."""
        sensor = guard.sensor
        for what in _DESCRIPTIONS:
            self._describe(guard, what, getattr(sensor, what))
        return self._sensor_call(
            guard,
            "read_counters",
            lambda: _check_counters(sensor.read_counters()),
            attempts=2,
            consequence="its energy is integrated from power points for the whole run (method 'integrated')"
            if sensor.method == "counter"
            else None,
        )

    def _sensor_call(
        self,
        guard: _SensorGuard,
        what: str,
        fn: Callable[[], Any],
        attempts: int = 1,
        consequence: str | None = None,
    ) -> Any:
        """``fn()``, retried up to ``attempts`` times; ``_FAILED`` (warned once per kind) if it raises."""
        for _ in range(max(attempts, 1)):
            try:
                return fn()
            except Exception as exc:  # noqa: BLE001 - one failing sensor must not stop the others
                kind = (what, type(exc).__name__)
                if kind not in guard.error_kinds:
                    guard.error_kinds.add(kind)
                    self._warn(
                        f"{guard.label}: {guard.sensor.name} {what}() failed ({_short(exc)}); "
                        f"{consequence or _CONSEQUENCE.get(what, 'it is skipped')}"
                    )
        return _FAILED

    def _describe(self, guard: _SensorGuard, what: str, fn: Callable[[], Any] | None = None) -> Any:
        """A sensor's ``uncertainty()``/``notes()``/``info()``: fresh if it answers, else the last good one."""
        if fn is not None and not guard.hung:
            value = self._sensor_call(guard, what, fn, consequence="its answer from the start of the run is used")
            if value is not _FAILED:
                guard.cache[what] = value
        return guard.cache.get(what)

    def _bounded(
        self,
        work: Callable[[_SensorGuard], Any],
        timeout_s: float,
        guards: list[_SensorGuard] | None = None,
        mark_hung: bool = True,
    ) -> dict[int, tuple[str, Any]]:
        """``work(guard)`` for each sensor in helper threads, under its lock; wait at most ``timeout_s``."""
        guards = self._guards if guards is None else guards
        deadline = time.monotonic() + timeout_s

        def job(guard: _SensorGuard) -> Callable[[], Any]:
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

        results = call_bounded(
            {i: job(g) for i, g in enumerate(guards)}, timeout_s, name=f"ecometer-io[{safe_name(self.name)}]"
        )
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
                self._warn(f"{guard.label}: sampling {guard.sensor.name} failed ({_short(value)})")
            elif mark_hung:
                guard.hung = False
        return results  # type: ignore[return-value]

    def _sync_now(self) -> None:
        if not getattr(self, "_has_gpu", False) and self.sync is None:
            return
        try:
            if self.sync is not None:
                self.sync()
            else:
                from ecometer.sync import auto_sync

                auto_sync()
        except Exception as exc:  # noqa: BLE001 - a failed sync must not take the job or the record down
            self._warn(f"synchronising the accelerator failed ({_short(exc)}); this boundary may miss queued work")

    # ---- sensors ----------------------------------------------------------------------
    def _open_sensors(self) -> list[Sensor]:
        if self._given_sensors is not None:
            sensors = list(self._given_sensors)
            for sensor in sensors:
                sensor.open()
            return sensors
        from ecometer.sensors.discover import discover

        sensors, explanations = discover(gpus=self.gpus, scope=self.scope)
        self._explanations = explanations
        return sensors

    # ---- records ----------------------------------------------------------------------
    def _build_record(self, now: float, status: str, final: bool) -> RunRecord:
        if final:  # fresh descriptions at the end, asked outside the lock; checkpoints use the cache
            for guard in self._guards:
                for what in _DESCRIPTIONS:
                    self._describe(guard, what, getattr(guard.sensor, what))
        with self._lock:
            components: dict[str, Component] = {}
            sensor_infos: list[SensorInfo] = []
            devices: list[dict[str, Any]] = []
            rel_by_component: dict[str, tuple[float, float]] = {}
            component_of: dict[str, str] = {}  # device id -> component
            for guard in self._guards:
                sensor, tracks = guard.sensor, guard.tracks
                unc = self._describe(guard, "uncertainty") or Uncertainty(
                    1.0, 1.0, "unknown: the sensor did not state its uncertainty"
                )
                per_device = {t.channel: (t.total_j if final else t.energy_now(now)) for t in tracks}
                energy = sum(per_device.values())
                notes = list(self._describe(guard, "notes") or [])
                notes.extend(guard.notes)
                for track in tracks:
                    notes.extend(f"{track.channel}: {a}" for a in track.anomalies)
                    notes.extend(_fault_notes(track, self.t0))
                if unc.basis:
                    notes.append(f"uncertainty: {unc.basis}")
                method = sensor.method
                if method == "counter" and not all(t.has_counter and t.counter_lost_at is None for t in tracks):
                    method = "integrated"
                part = Component(
                    name=sensor.component,
                    energy_j=energy,
                    method=method,
                    uncertainty=Estimate.relative(energy, unc.rel_low, unc.rel_high),
                    devices=per_device,
                    source=sensor.name,
                    attribution=self._describe(guard, "attribution") if self.scope == "process" else None,
                    notes=notes,
                )
                rel_by_component[sensor.component] = (unc.rel_low, unc.rel_high)
                components[sensor.component] = _merge_component(components.get(sensor.component), part)
                for device in guard.devices:
                    track = self._tracks.get(device.id)
                    info = device.to_dict()
                    if track is not None:
                        info["energy_j"] = per_device.get(device.id, 0.0)
                        info["integrated_j"] = track.integrated_j
                        if track.has_counter or track.counter_lost_at is not None:
                            info["counter_j"] = track.counter_j  # the last good reading
                        info["power_points"] = track.points_seen
                    devices.append(info)
                info = self._describe(guard, "info") or {}
                info = {k: v for k, v in info.items() if k in _SENSOR_INFO_FIELDS}
                info.setdefault("name", sensor.name)
                info.setdefault("component", sensor.component)
                info.setdefault("method", sensor.method)
                sensor_infos.append(SensorInfo(**info))
                for track in tracks:
                    component_of[track.channel] = sensor.component
            phases = {
                name: _phase_from_totals(name, totals, component_of, rel_by_component, self.interval_s)
                for name, totals in self._phases.totals.items()
            }
            timeline = self._timeline.to_record(now)
            timeline.spans = [
                Span(name, start - self.t0, end - self.t0, depth)
                for name, start, end, depth in self._phases.closed_spans
            ]
            timeline.spans_dropped = self._phases.spans_dropped
            record = RunRecord(
                name=self.name,
                status=status,
                started_at=self.started_at,
                ended_at=_utc_now(),
                duration_s=now - self.t0,
                components=components,
                phases=phases,
                work=dict(self._work),
                work_unit=self.work_unit or (next(iter(self._work)) if len(self._work) == 1 else None),
                timeline=timeline,
                scope=self.scope,
                host=_host(),
                devices=devices,
                sensors=sensor_infos,
                meta=dict(self.meta),
                warnings=list(self._warnings)
                + [e for e in self._explanations if e not in self._warnings]
                + ([f"{self._warnings_dropped} further warnings were not kept"] if self._warnings_dropped else []),
                ecometer_version=__version__,
                checkpoint=not final,
            )
            return record

    def _attach_results(self, record: RunRecord) -> None:
        for problem in attach_results(record, self.site, self.standard):
            self._warn(problem)

    def _resolve_out(self) -> Path | None:
        return record_path(self.out, self.name, suffix=str(os.getpid()))

    def _write_checkpoint(self) -> None:
        if self._path is None or self._checkpoint_failed or not self._running:
            return
        try:
            record = self._build_record(self.clock(), "running", final=False)
            write_atomic(checkpoint_path(self._path), record.to_json(indent=None))
        except Exception as exc:  # noqa: BLE001 - a full disk or odd path must not crash the job
            self._checkpoint_failed = True
            self._warn(f"cannot write checkpoint next to {self._path} ({_short(exc)}); the record is kept in memory")

    def _save(self, record: RunRecord) -> None:
        if self._path is None:
            return
        try:
            record.save(self._path)
        except Exception as exc:  # noqa: BLE001 - a full disk or odd path must not crash the job
            message = f"cannot write record {self._path} ({_short(exc)}); it is kept in memory (meter.record)"
            self._warn(message)
            record.warnings.append(message)
            return
        try:
            checkpoint_path(self._path).unlink(missing_ok=True)
        except OSError:
            pass

    @property
    def path(self) -> Path | None:
        """Where the record is (or will be) written."""
        return getattr(self, "_path", None)

    def _warn(self, message: str) -> None:
        with self._lock:  # called from the sampler, helper threads and the job's thread
            if message in self._warnings:
                return
            if len(self._warnings) >= _MAX_WARNINGS:
                self._warnings_dropped += 1
                log.debug("%s: %s", self.name, message)
                return
            self._warnings.append(message)
        log.warning("%s: %s", self.name, message)

    def _lose(self, guard: _SensorGuard, now: float) -> None:
        """Give up on a sensor that failed or hung for :data:`LOST_AFTER_S`; call under the lock.

        Its devices keep what was measured up to their last data; nothing is counted after
        it, and phases and memory no longer wait for it.
        """
        guard.lost = True
        guard.closed = True
        for track in guard.tracks:
            track.freeze(now)
        since = (guard.failing_since or now) - self.t0
        self._warn(
            f"{guard.label}: {guard.sensor.name} failed or hung from {since:.1f} s on; it is dropped for the "
            "rest of the run and its energy after its last data is not counted"
        )


def attach_results(record: RunRecord, site: Any, standard: Any) -> list[str]:
    """Attach a footprint (``site``) and an assessment (``standard``) to ``record``.

    Never raises: a failure is written into the record's warnings and returned, so the
    measured record is never lost to a problem in a later layer.
    """
    problems: list[str] = []
    if site is not None:
        try:
            from ecometer.footprint import footprint

            record.attach("footprint", footprint(record, site=site))
        except Exception as exc:  # noqa: BLE001 - never lose the measured record
            problems.append(f"footprint not computed: {exc}")
    if standard is not None:
        try:
            from ecometer.standards import score

            record.attach("assessment", score(record, standard))
        except Exception as exc:  # noqa: BLE001 - never lose the measured record
            problems.append(f"assessment not computed: {exc}")
    record.warnings.extend(problems)
    return problems


def record_path(out: Any, name: str, suffix: str) -> Path | None:
    """Where a record goes: ``out`` as given, None for no file, or for ``"auto"``
    ``$ECOMETER_DIR/<safe name>-<UTC time>-<suffix>.json`` (default dir ``ecometer-runs``)."""
    if out is None or out is False:
        return None
    if out == "auto":
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        base = Path(os.environ.get("ECOMETER_DIR", "ecometer-runs"))
        return base / f"{safe_name(name)}-{stamp}-{suffix}.json"
    return Path(out)


def resolve_site(site: Any) -> Any:
    """A site object from a preset name (validated now), or the object as given."""
    if site is None or not isinstance(site, str):
        return site
    from ecometer.footprint import Site

    return Site.preset(site)


def resolve_standard(standard: Any) -> Any:
    """A standard object from a built-in name or a file (validated now), or as given."""
    if standard is None or not isinstance(standard, (str, os.PathLike)):
        return standard
    from ecometer.standards import load_standard

    return load_standard(standard)


def measure(name: str = "run", **kwargs: Any) -> Meter:
    """A :class:`Meter` for use as a context manager or decorator (same arguments)."""
    return Meter(name, **kwargs)


def _fault_notes(track: DeviceTrack, t0: float) -> list[str]:
    """What a device's energy figure owes to power points instead of its counter."""
    notes = []
    if track.counter_lost_at is not None:
        notes.append(
            f"{track.channel}: energy counter unreadable after {track.counter_lost_at - t0:.3f} s; the "
            f"{track.fallback_j:.6g} J after that are integrated from power points (method 'integrated')"
        )
    if track.bridged_j:
        notes.append(f"{track.channel}: {track.bridged_j:.6g} J bridged with integrated power across counter anomalies")
    return notes


def _merge_component(existing: Component | None, part: Component) -> Component:
    if existing is None:
        return part
    worse = worst_method((existing.method, part.method))
    return Component(
        name=existing.name,
        energy_j=existing.energy_j + part.energy_j,
        method=worse,
        uncertainty=existing.uncertainty + part.uncertainty,
        devices={**existing.devices, **part.devices},
        source=f"{existing.source}+{part.source}",
        attribution=existing.attribution or part.attribution,
        notes=existing.notes + part.notes,
    )


def _phase_from_totals(
    name: str,
    totals: Any,
    component_of: dict[str, str],
    rel: dict[str, tuple[float, float]],
    resolution_s: float,
) -> Phase:
    by_component: dict[str, float] = {}
    for channel, joules in totals.energy.items():
        c = component_of.get(channel, channel.split(":")[0])
        by_component[c] = by_component.get(c, 0.0) + joules
    energy = sum(by_component.values())
    unc = Estimate.exact(0.0)
    for c, joules in by_component.items():
        lo, hi = rel.get(c, (0.0, 0.0))
        unc = unc + Estimate.relative(joules, lo, hi)
    # boundary timing: each boundary is placed within about one sampling interval
    if totals.duration_s > 0 and totals.count:
        power = energy / totals.duration_s
        edge = power * resolution_s * math.sqrt(2 * totals.count)
        unc = Estimate(unc.central, max(unc.low - edge, 0.0), unc.high + edge)
    return Phase(
        name=name,
        energy_j=energy,
        duration_s=totals.duration_s,
        count=totals.count,
        components=by_component,
        uncertainty=unc,
        resolution_s=resolution_s,
        work=dict(totals.work),
    )


@functools.lru_cache(maxsize=1)
def _host_cached() -> tuple[tuple[str, Any], ...]:
    from ecometer.hostinfo import describe_host

    return tuple(describe_host().items())


def _host() -> dict[str, Any]:
    host = dict(_host_cached())
    host["pid"] = os.getpid()  # not cached: a forked child has its own
    return host


def _check_unique_devices(guards: list[_SensorGuard]) -> None:
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
