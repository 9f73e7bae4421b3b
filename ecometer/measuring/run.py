"""One metered run: everything from one ``Meter.start()`` to its ``stop()``.

A :class:`Run` owns all per-run state (sensors and their supervision, device tracks, the
timeline, phases, work, warnings, the sampler thread, the record) so that a meter can start
as many runs as it likes, one after another or (as a decorator) at once, and a late answer
from a hung sensor of an earlier run cannot touch a later one. Users meet it only through
:class:`~ecometer.measuring.meter.Meter`.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecometer.checks.numbers import Bounds, CheckedClock, check_number, shown
from ecometer.checks.text import display_text
from ecometer.energy.curves import OTHER_PHASE, DeviceTrack, PhaseBook, PhaseOccurrence
from ecometer.energy.timeline import BucketTimeline
from ecometer.errors import InputError
from ecometer.files.atomic import stream_kind, write_atomic
from ecometer.measuring import lifecycle
from ecometer.measuring.build import build_record, utc_now
from ecometer.measuring.sampler import Sampler
from ecometer.measuring.supervision import Supervisor, short_error
from ecometer.record.model import MAX_WARNINGS, RunRecord, checkpoint_path
from ecometer.sensors.base import Sensor
from ecometer.sensors.neighbours import HOST_COMPONENTS, Neighbours

if TYPE_CHECKING:  # pragma: no cover
    from ecometer.measuring.meter import Meter

log = logging.getLogger("ecometer.measuring.meter")

_CHECKPOINT_COST_FACTOR = 200.0  # checkpoint interval >= 200 x its cost (<= 0.5 % of a core)
_CHECKPOINT_RETRY_MAX_S = 60.0  # a failing checkpoint is retried after 1, 2, 4... s, at most this far apart
MAX_WORK_PER_CALL = 1e15
WORK_AMOUNT = Bounds(low=0, high=MAX_WORK_PER_CALL)  # what one add_work() may count (True counts as 1)
_CLAIM_TRIES = 8  # fresh random names tried when the one chosen is taken
MAX_FORECASTS = 64  # forecasts a record keeps (thinned evenly over the run beyond that)
_announced: set[tuple[str, ...]] = set()  # what was said about modelled sources, once per process
_announced_lock = threading.Lock()


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


def phase_owner() -> tuple[int, int | None]:
    """Who opens a phase or counts work: this thread, and its running asyncio task if any."""
    task = None
    asyncio = sys.modules.get("asyncio")  # never imported here: only a program that uses it has tasks
    if asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running event loop in this thread
            task = None
    return threading.get_ident(), id(task) if task is not None else None


class Warnings:
    """A run's distinct warnings, at most :data:`~ecometer.record.model.MAX_WARNINGS` kept; each logged once."""

    def __init__(self, name: str, lock: threading.RLock) -> None:  # type: ignore[valid-type]
        self._name = name
        self._lock = lock
        self._kept: list[str] = []
        self._dropped = 0

    def add(self, message: str) -> None:
        with self._lock:  # called from the sampler, helper threads and the job's thread
            if message in self._kept:
                return
            if len(self._kept) >= MAX_WARNINGS:
                self._dropped += 1
                log.debug("%s: %s", self._name, message)
                return
            self._kept.append(message)
        log.warning("%s: %s", display_text(self._name), display_text(message))  # names may hold escapes

    def kept(self) -> list[str]:
        """The warnings for the record, with a count of those not kept."""
        extra = [f"{self._dropped} further warnings were not kept"] if self._dropped else []
        return list(self._kept) + extra


def announce_modelled(sensors: list[Sensor], notes: list[str]) -> None:
    """Say once per process, in one line, which sources are modelled or missing (details: the record's notes)."""
    modelled = tuple(sorted({s.component for s in sensors if s.method == "modelled"}))
    key = modelled + (("+notes",) if notes else ())
    if not key:
        return
    with _announced_lock:
        if key in _announced:
            return
        _announced.add(key)
    what = f"{', '.join(modelled)} energy is modelled, not measured" if modelled else "some sources are missing"
    log.info("%s (why and how: `ecometer info`; the record's notes)", what)


#: set to 1 to keep the one line a process says about its first record (see :func:`say_saved`)
QUIET_ENV = "ECOMETER_QUIET"
notice_log = logging.getLogger("ecometer.notice")
_said: list[bool] = []


def say_saved(record: RunRecord, path: Path | None) -> None:
    """Say once per process, in one short line on stderr, where the first record went and which of its
    figures are modelled. Quiet with ``ECOMETER_QUIET=1`` or by raising the ``ecometer.notice`` logger's
    level (``logging.getLogger("ecometer.notice").setLevel(logging.WARNING)``)."""
    with _announced_lock:
        if _said or os.environ.get(QUIET_ENV, "").strip() not in ("", "0"):
            return
        _said.append(True)
    modelled = [name.upper() for name, c in record.components.items() if c.method == "modelled"]
    where = f"record {path}" if path is not None else "record kept in memory only (out=None)"
    what = f"; {', '.join(modelled)} energy modelled, not measured (see `ecometer info`)" if modelled else ""
    if not notice_log.handlers:  # said on stderr even where logging is not configured
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        notice_log.addHandler(handler)
        notice_log.propagate = False
        if notice_log.level == logging.NOTSET:
            notice_log.setLevel(logging.INFO)
    notice_log.info("ecometer: %s: %s%s", record.name, where, what)


class Run:
    """The state and the work of one run of ``meter`` (see the module docs).

    ``session``: the distributed job's side of this run (see :mod:`ecometer.distributed`),
    or None for a run of one process.
    """

    def __init__(self, meter: Meter, session: Any = None) -> None:
        self.meter = meter
        self.session = session
        self.name = meter.name
        self.scope = meter.scope
        self.work_unit = meter.work_unit
        self.meta = dict(meter.meta)
        self.interval_s = meter.interval_s
        self.clock = CheckedClock(meter.clock, lambda message: self.warn(message))  # InputError if it reads no time
        self.io_timeout_s = check_number(meter.io_timeout_s, "Meter.io_timeout_s", Bounds(above=0, high=3600, unit="s"))
        self.lock = threading.RLock()  # guards measured state; held only briefly
        self.warnings = Warnings(self.name, self.lock)
        self.notes: list[str] = []
        self.work: dict[str, float] = {}
        self.phases = PhaseBook()
        self.state = "starting"  # -> running -> stopping -> stopped
        self.forked = False  # set by ecometer.measuring.lifecycle in a forked child: the run goes inert
        self.record: RunRecord | None = None
        self.forecasts: list[dict[str, Any]] = []  # forecasts made on this run (Meter.forecast), thinned
        self._forecasts_made, self._forecast_stride = 0, 1
        self.part: RunRecord | None = None  # this process's own record (the job's differs when gathered)
        self.path: Path | None = None
        self.sampler: Sampler | None = None
        self._stopped = threading.Event()
        self.asked_path: Path | None = None  # where the record was asked to go (``path``: where it is)
        self.save_error: str | None = None  # why it could not be written there, if it could not
        self._checkpoint_failures = 0  # failed writes in a row (0: checkpoints are being written)
        self._fallbacks: dict[Path, list[Path]] = {}
        self._fallback_checkpoint: Path | None = None  # written while the asked place fails
        self.checkpoint_file: Path | None = None  # where checkpoints go (next to ``path``, unless it is a stream)
        self._claimed = False  # the checkpoint's name was created exclusively (names ecometer chose)
        self._sync: Callable[[], Any] | None = meter.sync
        self.has_gpu = False  # a GPU sensor (not a replay): boundaries synchronise the accelerator
        self.neighbours: Neighbours | None = None  # machine scope: how much of the machine others used
        self.pid = os.getpid()
        self._next_counter = self._next_checkpoint = math.inf
        # set by start(): supervisor, started_at, t0 (clock s), timeline, tracks (device id -> track)

    # ---- start -----------------------------------------------------------------------------
    def start(self) -> None:
        """Open the sensors, read the counters and start sampling."""
        meter = self.meter
        if self.session is not None:
            sensors, self.notes = self.session.open_sensors()
            self._sync = self._sync or self.session.sync
            self.path = self.session.part_path()
        else:
            sensors, self.notes = meter.open_sensors()
            self.path = meter.resolve_out()
        self.asked_path = self.path
        self.checkpoint_file = self._checkpoint_target()
        self.has_gpu = any(s.component == "gpu" and s.name != "replay" for s in sensors)
        announce_modelled(sensors, self.notes)
        self.neighbours = self._watch_neighbours(sensors)
        self.sync_now()
        try:
            self.supervisor = Supervisor(
                sensors, warn=self.warn, lock=self.lock, clock=self.clock, scope=self.scope, name=meter.safe_name
            )
        except InputError:
            for sensor in sensors:
                sensor.close()
            raise
        first = self.supervisor.bounded(self.supervisor.first_read, self.io_timeout_s)  # the run starts after
        self.started_at = utc_now()
        self.t0 = self.clock()
        self.timeline = BucketTimeline(self.t0, bucket_s=self.interval_s, max_buckets=meter.timeline_buckets)
        self.tracks = self._make_tracks(first)
        self.state = "running"
        self._next_counter = self.t0 + meter.counter_interval_s
        self._next_checkpoint = self.t0 + meter.checkpoint_interval_s
        self.tick(self.t0, counters=False, bounded=True)
        self.write_checkpoint()
        if not lifecycle.register(self):
            self.warn(lifecycle.UNPROTECTED)
        if meter.background:
            self.sampler = Sampler(self.tick, self.interval_s, name=f"ecometer-sampler[{meter.safe_name}]")
            self.sampler.start()

    def _make_tracks(self, first: dict[int, tuple[str, Any]]) -> dict[str, DeviceTrack]:
        """One energy track per device, anchored at the counters read at the start."""
        tracks: dict[str, DeviceTrack] = {}
        for i, guard in enumerate(self.supervisor.guards):
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
                    sink=self.timeline.add,
                    max_power_w=getattr(guard.sensor, "max_power_w", None),
                )
                if has_counter:
                    track.anchor(self.t0, value)
                tracks[device.id] = track
                guard.tracks.append(track)
            guard.counting = any(t.has_counter for t in guard.tracks)
        return tracks

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def active(self) -> bool:
        """Started and not yet stopped (a second start of its meter is refused)."""
        return self.state in ("starting", "running", "stopping")

    # ---- stop ------------------------------------------------------------------------------
    def stop(self, status: str | None = None, error: str | None = None) -> RunRecord:
        """Finish the run: final counter reads, record built, saved, returned (once; again: the same)."""
        if self.forked:
            raise RuntimeError("this meter was started in the parent process; a forked child cannot stop it")
        with self.lock:
            state = self.state
            if state == "running":
                self.state = "stopping"
                lifecycle.hold(self)  # from now until the record is saved, signals wait for it
        if state == "stopping":  # another thread is finishing this run: wait for its record
            self._stopped.wait(2 * self.io_timeout_s + 1.0)
            if self.record is None:
                raise RuntimeError(f"meter {self.name!r} is still being stopped by another thread")
            return self.record
        if state != "running":
            assert self.record is not None
            return self.record
        try:
            return self._finish(status, error)
        finally:  # a signal held back during the save may end the wait here (SIGINT): the record stays
            if self.record is not None:
                self.meter.run_finished(self)
            self.state = "stopped"
            self._stopped.set()

    def _finish(self, status: str | None, error: str | None) -> RunRecord:
        """Final reads, the record built and saved; only then are the sensors closed.

        Signals that arrive until the record is saved wait for it (:func:`ecometer.measuring.lifecycle.hold`);
        a kill during the slower rest (closing sensors) still leaves the final record.
        """
        deadline = time.monotonic() + self.io_timeout_s
        try:
            self._save_final(status, error, deadline)
        finally:  # also when a signal held back during the save ends the process's wait here (SIGINT)
            try:
                for name, exc in self.supervisor.close(max(deadline - time.monotonic(), 0.5)):
                    log.debug("closing %s failed: %s", name, exc)  # closing must not lose the record
            finally:
                lifecycle.unregister(self)
        assert self.record is not None
        return self.record

    def _save_final(self, status: str | None, error: str | None, deadline: float) -> None:
        """Final reads; the record built, finished and saved; then the signals held back since stop() began."""
        try:
            if self.sampler is not None:
                if not self.sampler.stop(timeout_s=min(1.0, self.io_timeout_s / 2)):
                    self.warn("the sampler thread did not stop in time (a sensor call hung); its last data is used")
                for err in self.sampler.errors:
                    self.warn(f"sampling error: {err}")
            self.sync_now()
            t_end = self.clock()
            self.tick(t_end, counters=True, final=True, timeout_s=max(deadline - time.monotonic(), 0.5))
            self.supervisor.describe_all()  # fresh descriptions at the end; checkpoints use the cache
            with self.lock:
                part = build_record(self, t_end, status or "ok", final=True)
            part.error = error
            self._neighbours_warning(part)
            self.part = part
            if self.session is None:
                self.record = self._finalise(part, self.path)
            else:
                self.record = self.session.finish(self, part, status)
        finally:
            lifecycle.release(self)

    def _watch_neighbours(self, sensors: list[Sensor]) -> Neighbours | None:
        """Machine scope with a host sensor: count the job's own share of the machine's CPU time."""
        if self.scope != "machine" or not any(s.component in HOST_COMPONENTS and s.name != "replay" for s in sensors):
            return None
        watch = Neighbours()
        watch.open()
        return watch

    def _neighbours_warning(self, part: RunRecord) -> None:
        """Warn, with the figures, when other processes used a large part of the machine (machine scope)."""
        watch, self.neighbours = self.neighbours, None
        if watch is None:
            return
        host_j = sum(c.energy_j for name, c in part.components.items() if name in HOST_COMPONENTS)
        message = watch.warning(host_j)
        watch.close()
        if message is not None:
            self.warn(message)
            part.warnings.append(message)

    def _finalise(self, record: RunRecord, path: Path | None) -> RunRecord:
        """The meter's ``finish`` hook (footprint, assessment: the face's), then saved to ``path``."""
        record.forecasts = list(self.forecasts)
        if self.meter.finish is not None:
            for problem in self.meter.finish(record):
                self.warn(problem)
                record.warnings.append(problem)
        self.path = self.save(record, path)
        say_saved(record, self.path)
        return record

    def hurry(self) -> None:
        """A signal came while this run is finishing: cut any wait short (the distributed gather)."""
        if self.session is not None:
            self.session.hurry()

    def finalise_on(self, status: str, reason: str) -> RunRecord | None:
        """Called on SIGTERM or interpreter exit: stop with ``status`` and say why."""
        if self.forked or not self.running:
            return self.record
        self.warn(f"run ended early: {reason}")
        return self.stop(status=status, error=reason)

    # ---- inside the run ----------------------------------------------------------------------
    def phase(self, name: str, exact: bool = False) -> PhaseWindow:
        """See :meth:`ecometer.measuring.meter.Meter.phase`."""
        return PhaseWindow(self, name, exact)

    def add_work(self, amount: float, unit: str | None) -> None:
        """See :meth:`ecometer.measuring.meter.Meter.add_work`."""
        if self.forked:
            return
        if not self.running:
            self.not_running(self.name, self.meter)
            return
        unit = str(unit or self.work_unit or "item")
        try:
            value = check_number(int(amount) if isinstance(amount, bool) else amount, "add_work", WORK_AMOUNT)
        except InputError:  # never raised inside the job: warned (once per distinct value) and ignored
            self.warn(
                f"add_work: {shown(amount)} {unit[:40]} is not a finite count between 0 and {MAX_WORK_PER_CALL:g}; ignored"
            )
            return
        with self.lock:
            self.work[unit] = self.work.get(unit, 0.0) + value
            self.phases.add_work(unit, value, phase_owner())
            self.timeline.add_work(unit, self.clock(), value)  # the pace over time, for forecasts

    def checkpoint_record(self, fresh: bool = False) -> RunRecord:
        """The record of the run so far (as a checkpoint has it), built under the run's lock.

        ``fresh``: read the counters first, so that the timeline holds every joule up to now
        (between counter readings a counter's energy reaches the timeline late).
        """
        if fresh:
            self.tick(self.clock(), counters=True, bounded=True)
        with self.lock:
            return build_record(self, self.clock(), "running", final=False)

    def keep_forecast(self, entry: dict[str, Any]) -> None:
        """Keep a forecast for the record (numbered in ``entry["number"]``, from 0). Beyond
        :data:`MAX_FORECASTS` only every ``2**k``-th is kept, and the latest, so a long job keeps
        forecasts spread evenly over its course."""
        with self.lock:
            n = self._forecasts_made
            self._forecasts_made += 1
            if self.forecasts and self.forecasts[-1]["number"] % self._forecast_stride:
                self.forecasts.pop()  # the previous latest, off the stride
            self.forecasts.append({"number": n, **entry})
            if len(self.forecasts) > MAX_FORECASTS:
                self._forecast_stride *= 2
                self.forecasts = [f for f in self.forecasts if f["number"] % self._forecast_stride == 0 or f["number"] == n]

    @staticmethod
    def not_running(name: str, meter: Any = None) -> None:
        """Say that ``add_work`` came while not running: once per meter (``meter``), not once per call."""
        if meter is not None:
            if meter.warned_idle_work:
                log.debug("%s: add_work() called while the meter is not running; ignored", name)
                return
            meter.warned_idle_work = True
        log.warning("%s: add_work() called while the meter is not running; ignored (said once)", display_text(name))

    def live(self) -> LiveStatus:
        with self.lock:
            now = self.clock()
            power: dict[str, float] = {}
            energy: dict[str, float] = {}
            for guard in self.supervisor.guards:
                c, tracks = guard.sensor.component, guard.tracks
                power[c] = power.get(c, 0.0) + sum(t.power_now() for t in tracks)
                energy[c] = energy.get(c, 0.0) + sum(t.energy_now(now) for t in tracks)
            return LiveStatus(now - self.t0, power, energy)

    def live_devices(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            now = self.clock()
            return {
                t.channel: {
                    "component": g.sensor.component,
                    "power_w": t.power_now(),
                    "energy_j": t.energy_now(now),
                    # the sensor's relative uncertainty as it stated it (asked at start, never here)
                    "uncertainty": g.cache.get("uncertainty"),
                }
                for g in self.supervisor.guards
                for t in g.tracks
            }

    def live_work(self) -> dict[str, float]:
        with self.lock:
            return dict(self.work)

    # ---- sampling ----------------------------------------------------------------------------
    def tick(
        self,
        now: float,
        counters: bool | None = None,
        final: bool = False,
        bounded: bool = False,
        timeout_s: float | None = None,
    ) -> None:
        """One sample at ``now``: poll every sensor, read counters when due, resolve phases.

        The sampler calls the sensors directly (skipping one that is busy); ``bounded`` ticks
        (start, exact phases) and the ``final`` tick call them in helper threads and wait at
        most ``timeout_s`` (default :attr:`io_timeout_s`).
        """
        if self.forked or os.getpid() != self.pid:
            return
        if not final and not self.running:
            return  # a sampler back late from a hung call, after the run ended
        read = counters if counters is not None else now >= self._next_counter
        if read:
            self._next_counter = now + self.meter.counter_interval_s
        if final or bounded:
            self.supervisor.sample_bounded(now, read, self.io_timeout_s if timeout_s is None else timeout_s, final)
        else:
            self.supervisor.sample_all(now, read)
        with self.lock:
            if final:
                self.supervisor.close_tracks(now)
                for name in self.phases.close_all(now):
                    self.warn(f"phase {name!r} was still open at stop; closed there")
            else:
                self.supervisor.drop_lost(now, self.t0)
            self.phases.resolve(list(self.tracks.values()))
        if not final and now >= self._next_checkpoint:
            cost = time.perf_counter()
            written = self.write_checkpoint()
            cost = time.perf_counter() - cost
            # a checkpoint of a large record costs more: space them so that writing them
            # never takes more than 0.5 % of the sampler's time; a failed one is retried with backoff
            interval = self.meter.checkpoint_interval_s if written else self.checkpoint_retry_s()
            self._next_checkpoint = now + max(interval, cost * _CHECKPOINT_COST_FACTOR)

    def sync_now(self) -> None:
        """Wait for queued accelerator work (a boundary); a failure is a warning, never an exception."""
        if not self.has_gpu and self._sync is None:
            return
        try:
            if self._sync is not None:
                self._sync()
            else:
                from ecometer.measuring.sync import auto_sync

                auto_sync()
        except Exception as exc:  # noqa: BLE001 - a failed sync must not take the job or the record down
            self.warn(f"synchronising the accelerator failed ({short_error(exc)}); this boundary may miss queued work")

    # ---- records -------------------------------------------------------------------------------
    def write_checkpoint(self) -> bool:
        """Write the running checkpoint next to the record's path; False if that failed.

        A failure never stops checkpointing: the tick retries after :meth:`checkpoint_retry_s`
        (1, 2, 4... s), and meanwhile each try also writes the checkpoint to the first
        fallback place that takes it (:meth:`fallbacks`), so a kill still leaves one. The
        first failure of a streak is a warning, and so is the first checkpoint written again.
        The first checkpoint of a record whose name ecometer chose claims that name (an
        exclusive create; a name taken by another process is chosen again).
        """
        if self.checkpoint_file is None or not self.running:
            return True
        target, text = self.checkpoint_file, None
        try:
            with self.lock:
                record = build_record(self, self.clock(), "running", final=False)
            if self.session is not None:
                self.session.label(record)  # a killed rank's checkpoint still says which rank it was
            text = record.to_json(indent=None)
            target = self._write_checkpoint_text(text)
        except Exception as exc:  # noqa: BLE001 - a full disk or odd path must not crash the job
            self._checkpoint_failures += 1
            elsewhere = self._checkpoint_elsewhere(text)
            if self._checkpoint_failures == 1:
                where = f"meanwhile they go to {elsewhere}" if elsewhere else "a kill now would leave none newer"
                self.warn(
                    f"cannot write checkpoint {target} at {self.clock() - self.t0:.1f} s ({short_error(exc)}); "
                    f"retrying with backoff ({where})"
                )
            return False
        if self._checkpoint_failures:
            self.warn(
                f"checkpoint {target} written again at {self.clock() - self.t0:.1f} s "
                f"after {self._checkpoint_failures} failed attempt(s)"
            )
            self._checkpoint_failures = 0
            self._drop_fallback_checkpoint()
        return True

    def _write_checkpoint_text(self, text: str) -> Path:
        """Write ``text`` to :attr:`checkpoint_file`, claiming a chosen name first; where it went."""
        from ecometer.measuring.paths import renamed

        chosen = self.path is not None and self.is_chosen(self.path)
        for _ in range(_CLAIM_TRIES):
            assert self.checkpoint_file is not None
            try:
                opts = {"exclusive": not self._claimed, "follow_symlinks": False} if chosen else {}
                write_atomic(self.checkpoint_file, text, **opts)
            except FileExistsError:
                if not chosen or self._claimed or self.path is None:
                    raise
                self.path = self.asked_path = renamed(self.path)  # another process has this name
                self.checkpoint_file = self._checkpoint_target()
                continue
            self._claimed = True
            return self.checkpoint_file
        raise FileExistsError(f"{_CLAIM_TRIES} record names in a row were taken")

    def is_chosen(self, path: Path) -> bool:
        """Whether ecometer chose ``path``'s name (``out="auto"``; a job's record, not a rank's part):
        such a record never replaces a file, it is created exclusively."""
        chosen = self.meter.out == "auto" or self.meter.claim_out
        return chosen and not (self.session is not None and path == self.asked_path)

    def _checkpoint_target(self) -> Path | None:
        """Where checkpoints go: next to :attr:`path`, or next to the first fallback place when
        :attr:`path` is a stream (``/dev/stdout``, a FIFO), which is written only once, at the end."""
        if self.path is None:
            return None
        try:
            stream = stream_kind(self.path) is not None
        except OSError:  # a block device or a socket: the record will go to a fallback place
            stream = True
        if not stream:
            return checkpoint_path(self.path)
        places = self.fallbacks(self.path)
        return checkpoint_path(places[0]) if places else None

    def fallbacks(self, path: Path) -> list[Path]:
        """The fallback places for a record bound for ``path`` (chosen once per path, so the
        checkpoints written there and the final record share one name)."""
        from ecometer.measuring.paths import fallback_paths

        if path not in self._fallbacks:
            self._fallbacks[path] = fallback_paths(self.name, path)
        return self._fallbacks[path]

    def _checkpoint_elsewhere(self, text: str | None) -> Path | None:
        """Write checkpoint ``text`` to the first fallback place that takes it; where, or None."""
        if text is None or self.path is None:
            return None
        for candidate in self.fallbacks(self.path):
            if checkpoint_path(candidate) == self.checkpoint_file:
                continue
            try:
                write_atomic(checkpoint_path(candidate), text, follow_symlinks=False)
            except Exception:  # noqa: BLE001 - try the next place
                continue
            self._fallback_checkpoint = checkpoint_path(candidate)
            return self._fallback_checkpoint
        return None

    def _drop_fallback_checkpoint(self) -> None:
        if self._fallback_checkpoint is not None:
            try:
                self._fallback_checkpoint.unlink(missing_ok=True)
            except OSError:
                pass
            self._fallback_checkpoint = None

    def checkpoint_retry_s(self) -> float:
        """Seconds until the next try after the failed checkpoint writes in a row so far."""
        base = min(self.meter.checkpoint_interval_s, 1.0)
        return min(base * 2.0 ** max(self._checkpoint_failures - 1, 0), _CHECKPOINT_RETRY_MAX_S)

    def save(self, record: RunRecord, path: Path | None) -> Path | None:
        """Write ``record`` to ``path``, else to a fallback place; returns where it is (None: nowhere).

        If ``path`` cannot be written (full disk, read-only, a file in the way, a directory),
        the record is saved to :func:`~ecometer.measuring.meter.fallback_paths` with a warning in it
        naming both paths; the checkpoint is removed once the record is safe. A name ecometer
        chose (:meth:`is_chosen`, and every fallback place) is created exclusively: if another
        process took it, a fresh name is chosen, so no record ever replaces another.
        """
        if path is None:
            return None
        from ecometer.measuring.paths import unwritable_reason

        saved: Path | None = path
        try:
            saved = self._save_claimed(record, path, self.is_chosen(path))
        except Exception as exc:  # noqa: BLE001 - a full disk or odd path must not crash the job
            reason, saved, tried = unwritable_reason(exc, path), None, []
            self.save_error = reason
            for candidate in self.fallbacks(path):
                note = f"the record could not be written to {path} ({reason}); it was saved to {candidate} instead"
                record.warnings.append(note)
                try:
                    candidate = self._save_claimed(record, candidate, True)
                except Exception as again:  # noqa: BLE001 - try the next place
                    record.warnings.pop()
                    tried.append(f"{candidate} ({unwritable_reason(again, candidate)})")
                    continue
                log.warning("%s: %s", display_text(self.name), display_text(record.warnings[-1]))
                saved = candidate
                break
            if saved is None:
                message = (
                    f"cannot write record {path} ({reason}) nor to {'; '.join(tried)}; "
                    "it is kept in memory only (meter.record)"
                )
                self.warn(message)
                record.warnings.append(message)
                return None  # the checkpoints, if any, are all there is on disk: they stay
        for ckpt in (self.checkpoint_file, checkpoint_path(path)):
            try:
                if ckpt is not None and (ckpt.is_symlink() or ckpt.is_file()):
                    ckpt.unlink()
            except OSError:
                pass
        self._drop_fallback_checkpoint()
        return saved

    def _save_claimed(self, record: RunRecord, path: Path, exclusive: bool) -> Path:
        """``record.save(path)``; ``exclusive``: under a fresh name if ``path`` is taken. Where it went."""
        from ecometer.measuring.paths import renamed

        for _ in range(_CLAIM_TRIES):
            try:
                record.save(path, exclusive=exclusive)
                return path
            except FileExistsError:
                if not exclusive:
                    raise
                fresh = renamed(path)
                note = f"the record name {path.name} was taken by another record; saved as {fresh.name}"
                log.warning("%s: %s", self.name, note)
                path = fresh
        raise FileExistsError(f"{_CLAIM_TRIES} record names in a row were taken")

    def warn(self, message: str) -> None:
        self.warnings.add(message)


class PhaseWindow:
    """``with meter.phase(name):``: a plain context manager (not a generator), so that a phase
    costs its caller a clock reading and two appends under the run's lock (about 1-2 us).

    ``run`` None, stopped or forked: the window does nothing. ``exact``: the accelerator is
    synchronised and the counters read at both boundaries (see :meth:`ecometer.measuring.meter.Meter.phase`).
    """

    __slots__ = ("run", "name", "exact", "occ", "owner")

    def __init__(self, run: Run | None, name: str, exact: bool = False) -> None:
        self.run = run
        self.name = name if type(name) is str else str(name)
        self.exact = exact
        self.occ: PhaseOccurrence | None = None
        self.owner: Any = None

    def __enter__(self) -> None:
        run = self.run
        if run is None or not run.running or run.forked:
            self.occ = None
            return
        if self.exact:
            # the boundary is placed just after the counter reading, so the phase's energy is
            # the difference of two counter readings (not an interpolation around them)
            run.sync_now()
            run.tick(run.clock(), counters=True, bounded=True)
        t = run.clock()
        owner = self.owner = phase_owner()
        with run.lock:
            occ = self.occ = run.phases.enter(self.name, t, owner)
            overlapping = run.phases.entered_open and run.phases.overlaps.get(occ.name) == 1
        if overlapping:
            run.warn(
                f"phase {occ.name!r} was entered while already open (several threads or asyncio tasks, or nested "
                "in itself): its energy and duration are those of the time it was open at all, not a sum over "
                "the overlapping entries"
            )
        if occ.name != self.name:
            run.warn(
                f"more than {run.phases.max_names} distinct phase names: further names are counted together "
                f"as {OTHER_PHASE!r}"
            )

    def __exit__(self, *exc: object) -> None:
        occ, run = self.occ, self.run
        if occ is None or run is None:
            return
        self.occ = None
        if self.exact:
            run.sync_now()
            run.tick(run.clock(), counters=True, bounded=True)
        t_end = run.clock()
        with run.lock:
            if run.running:
                run.phases.exit(occ, t_end, self.owner)
