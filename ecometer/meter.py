"""The meter: wrap a job, get a :class:`~ecometer.record.RunRecord`.

    with ecometer.measure("finetune", work_unit="sample") as m:
        for batch in loader:
            with m.phase("forward"):
                ...
            m.add_work(len(batch))
    m.record.energy_j

A meter owns one background sampler thread. Hardware counters are read at the run's
boundaries (after synchronising the accelerator) and about once a second in between; power
points are pulled at ``interval_s``. Phases cost two clock reads and a lock each: they are
resolved later from the calibrated energy curve (see :mod:`ecometer.tracks`), so marking a
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
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from ecometer import lifecycle
from ecometer._version import __version__
from ecometer.errors import InputError
from ecometer.record import (
    Component,
    Estimate,
    Phase,
    RunRecord,
    SensorInfo,
    Span,
    checkpoint_path,
    write_atomic,
)
from ecometer.sampler import Sampler
from ecometer.sensors.base import Sensor
from ecometer.timeline import BucketTimeline
from ecometer.tracks import DeviceTrack, PhaseBook

log = logging.getLogger("ecometer.meter")

F = TypeVar("F", bound=Callable[..., Any])

_METHOD_RANK = {"counter": 0, "integrated": 1, "modelled": 2, "constant": 3, "user": 4}
_MAX_WORK_PER_CALL = 1e15


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


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def safe_name(name: str) -> str:
    """A file-name-safe version of a run name (letters, digits, ``._-``; at most 80 chars)."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "run"
    return cleaned[:80]


class Meter:
    """Measures the energy of whatever runs between :meth:`start` and :meth:`stop`.

    Args:
        name: run name (free text; sanitised before use in file names).
        gpus: ``"auto"`` (every visible NVIDIA GPU), a list of CUDA indices/UUIDs, or None.
        interval_s: sampler period in seconds (power points; counters about every second).
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
    """

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
        counter_interval_s: float = 1.0,
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
        self.site = _resolve_site(site)
        self.standard = _resolve_standard(standard)
        self.sync = sync
        self.meta = dict(meta or {})
        self.counter_interval_s = counter_interval_s
        self.checkpoint_interval_s = checkpoint_interval_s
        self.timeline_buckets = timeline_buckets
        self.clock = clock
        self.background = background
        self._given_sensors = sensors
        self._lock = threading.RLock()  # guards measured state; held only briefly
        self._tick_lock = threading.Lock()  # serialises sensor I/O (sampler vs. boundaries)
        self._running = False
        self._forked = False
        self.record: RunRecord | None = None
        self._sampler: Sampler | None = None

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> Meter:
        """Open the sensors, read the counters and start sampling. Returns ``self``."""
        if self._running:
            raise RuntimeError(f"meter {self.name!r} is already running")
        self.record = None
        self._warnings: list[str] = []
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
        self.started_at = _utc_now()
        self.t0 = self.clock()
        self._timeline = BucketTimeline(self.t0, bucket_s=self.interval_s, max_buckets=self.timeline_buckets)
        self._tracks: dict[str, DeviceTrack] = {}
        self._sensor_tracks: list[tuple[Sensor, list[DeviceTrack]]] = []
        for sensor in self._sensors:
            counters = sensor.read_counters()
            tracks = []
            for device in sensor.devices():
                has_counter = counters is not None and device.id in counters
                track = DeviceTrack(device.id, self.t0, has_counter, sink=self._timeline.add)
                if has_counter:
                    track.anchor(self.t0, counters[device.id])
                self._tracks[device.id] = track
                tracks.append(track)
            self._sensor_tracks.append((sensor, tracks))
        self._running = True
        self._pid = os.getpid()
        self._tick(self.t0, counters=False)
        self._next_counter = self.t0 + self.counter_interval_s
        self._next_checkpoint = self.t0 + self.checkpoint_interval_s
        self._write_checkpoint()
        lifecycle.register(self)
        if self.background:
            self._sampler = Sampler(self._tick, self.interval_s, name=f"ecometer-sampler[{safe_name(self.name)}]")
            self._sampler.start()
        return self

    def stop(self, status: str | None = None, error: str | None = None) -> RunRecord:
        """Finish the run: final counter reads, record built, saved, returned.

        Calling stop() again returns the same record. ``status`` defaults to ``"ok"``.
        """
        if self._forked:
            raise RuntimeError("this meter was started in the parent process; a forked child cannot stop it")
        with self._lock:
            if not self._running:
                if self.record is None:
                    raise RuntimeError(f"meter {self.name!r} was never started")
                return self.record
            self._running = False
        lifecycle.unregister(self)
        if self._sampler is not None:
            if not self._sampler.stop(timeout_s=max(2.0, 5 * self.interval_s)):
                self._warn("the sampler thread did not stop in time (a sensor call hung); its last data is used")
            for err in self._sampler.errors:
                self._warn(f"sampling error: {err}")
        self._sync_now()
        t_end = self.clock()
        self._tick(t_end, counters=True, final=True)
        record = self._build_record(t_end, status or "ok", final=True)
        record.error = error
        self._attach_results(record)
        self.record = record
        for sensor in self._sensors:
            try:
                sensor.close()
            except Exception as exc:  # noqa: BLE001 - closing must not lose the record
                log.debug("closing %s failed: %s", sensor.name, exc)
        self._save(record)
        return record

    def _finalise_on(self, status: str, reason: str) -> RunRecord | None:
        """Called on SIGTERM or interpreter exit: stop with ``status`` and say why."""
        if self._forked or not self._running:
            return self.record
        self._warn(f"run ended early: {reason}")
        return self.stop(status=status, error=reason)

    def __enter__(self) -> Meter:
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
        """Use the meter as a decorator: each call of ``fn`` is one metered run."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        wrapper.meter = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

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
            self._sync_now()
            t = self.clock()
            self._tick(t, counters=True)
        else:
            t = self.clock()
        with self._lock:
            occ = self._phases.enter(str(name), t)
        try:
            yield
        finally:
            if exact:
                self._sync_now()
            t_end = self.clock()
            if exact:
                self._tick(t_end, counters=True)
            with self._lock:
                if self._running:
                    self._phases.exit(occ, t_end)

    def add_work(self, amount: float = 1, unit: str | None = None) -> None:
        """Count ``amount`` units of work (samples, tokens, queries...) done so far.

        Invalid amounts (NaN, infinite, negative, absurdly large) are ignored with a warning
        rather than raising inside the job.
        """
        unit = unit or self.work_unit or "item"
        try:
            value = float(amount)
        except (TypeError, ValueError):
            self._warn(f"add_work: {amount!r} is not a number; ignored")
            return
        if not math.isfinite(value) or value < 0 or value > _MAX_WORK_PER_CALL:
            self._warn(f"add_work: {amount!r} {unit} is not a finite count between 0 and {_MAX_WORK_PER_CALL:g}; ignored")
            return
        with self._lock:
            self._work[unit] = self._work.get(unit, 0.0) + value
            self._phases.add_work(unit, value)

    def live(self) -> LiveStatus:
        """Power now (W) and energy so far (J) per component."""
        with self._lock:
            now = self.clock()
            power: dict[str, float] = {}
            energy: dict[str, float] = {}
            for sensor, tracks in self._sensor_tracks:
                c = sensor.component
                power[c] = power.get(c, 0.0) + sum(t.power_now() for t in tracks)
                energy[c] = energy.get(c, 0.0) + sum(t.energy_now(now) for t in tracks)
            return LiveStatus(now - self.t0, power, energy)

    def sample_now(self) -> None:
        """Take one sample at the current clock time (for meters run without a thread)."""
        if self._running:
            self._tick(self.clock())

    @property
    def running(self) -> bool:
        return self._running

    # ---- sampling ---------------------------------------------------------------------
    def _tick(self, now: float, counters: bool | None = None, final: bool = False) -> None:
        if self._forked or os.getpid() != self._pid:
            return
        if not self._tick_lock.acquire(timeout=5.0 if final else -1):
            self._warn("a sensor call is hanging; the final reading was skipped")
            with self._lock:
                for track in self._tracks.values():
                    track.close(now)
                self._phases.close_all(now)
                self._phases.resolve(list(self._tracks.values()))
            return
        try:
            self._tick_locked(now, counters, final)
        finally:
            self._tick_lock.release()

    def _tick_locked(self, now: float, counters: bool | None, final: bool) -> None:
        polled: list[tuple[list[DeviceTrack], dict[str, list[tuple[float, float]]]]] = []
        for sensor, tracks in self._sensor_tracks:
            if counters and id(sensor) in self._forceable:  # a boundary: pull the freshest points
                polled.append((tracks, sensor.poll(now, force=True)))  # type: ignore[call-arg]
            else:
                polled.append((tracks, sensor.poll(now)))
        read = counters if counters is not None else now >= self._next_counter
        readings: list[tuple[list[DeviceTrack], dict[str, float] | None, float]] = []
        if read:
            for sensor, tracks in self._sensor_tracks:
                values = sensor.read_counters()
                readings.append((tracks, values, self.clock()))
            self._next_counter = now + self.counter_interval_s
        shares: list[tuple[list[DeviceTrack], dict[str, float]]] = []
        if self.scope == "process":
            for sensor, tracks in self._sensor_tracks:
                share_fn = getattr(sensor, "share", None)
                if share_fn is not None:
                    shares.append((tracks, share_fn(now) or {}))
        with self._lock:
            for tracks, share in shares:
                for track in tracks:
                    if track.channel in share:
                        track.share = min(max(float(share[track.channel]), 0.0), 1.0)
            for tracks, points in polled:
                for track in tracks:
                    if track.channel in points:
                        track.add_points(points[track.channel])
            for tracks, values, t_read in readings:
                if values is None:
                    continue
                for track in tracks:
                    if track.has_counter and track.channel in values:
                        track.anchor(t_read, values[track.channel])
            if final:
                for track in self._tracks.values():
                    track.close(now)
                for name in self._phases.close_all(now):
                    self._warn(f"phase {name!r} was still open at stop; closed there")
            self._phases.resolve(list(self._tracks.values()))
        if not final and now >= self._next_checkpoint:
            self._next_checkpoint = now + self.checkpoint_interval_s
            self._write_checkpoint()

    def _sync_now(self) -> None:
        if not getattr(self, "_has_gpu", False) and self.sync is None:
            return
        if self.sync is not None:
            self.sync()
        else:
            from ecometer.sync import auto_sync

            auto_sync()

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
        with self._lock:
            components: dict[str, Component] = {}
            phase_parts: dict[str, dict[str, float]] = {}
            sensor_infos: list[SensorInfo] = []
            devices: list[dict[str, Any]] = []
            rel_by_component: dict[str, tuple[float, float]] = {}
            for sensor, tracks in self._sensor_tracks:
                unc = sensor.uncertainty()
                per_device = {t.channel: (t.total_j if final else t.energy_now(now)) for t in tracks}
                energy = sum(per_device.values())
                notes = list(sensor.notes())
                for track in tracks:
                    notes.extend(f"{track.channel}: {a}" for a in track.anomalies)
                if unc.basis:
                    notes.append(f"uncertainty: {unc.basis}")
                method = sensor.method
                if method == "counter" and not all(t.has_counter for t in tracks):
                    method = "integrated"
                part = Component(
                    name=sensor.component,
                    energy_j=energy,
                    method=method,
                    uncertainty=Estimate.relative(energy, unc.rel_low, unc.rel_high),
                    devices=per_device,
                    source=sensor.name,
                    attribution=sensor.attribution() if self.scope == "process" else None,
                    notes=notes,
                )
                rel_by_component[sensor.component] = (unc.rel_low, unc.rel_high)
                components[sensor.component] = _merge_component(components.get(sensor.component), part)
                for device in sensor.devices():
                    track = self._tracks.get(device.id)
                    info = device.to_dict()
                    if track is not None:
                        info["energy_j"] = per_device.get(device.id, 0.0)
                        info["integrated_j"] = track.integrated_j
                        if track.has_counter:
                            info["counter_j"] = track.counter_j
                        info["power_points"] = track.points_seen
                    devices.append(info)
                sensor_infos.append(SensorInfo(**sensor.info()))
                for track in tracks:
                    phase_parts[track.channel] = {"component": sensor.component}  # type: ignore[dict-item]
            component_of = {ch: str(v["component"]) for ch, v in phase_parts.items()}
            phases = {
                name: _phase_from_totals(name, totals, component_of, rel_by_component, self.interval_s)
                for name, totals in self._phases.totals.items()
            }
            timeline = self._timeline.to_record(now)
            timeline.spans = [
                Span(name, start - self.t0, end - self.t0, depth) for name, start, end, depth in self._phases.closed_spans
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
                warnings=list(self._warnings) + [e for e in self._explanations if e not in self._warnings],
                ecometer_version=__version__,
                checkpoint=not final,
            )
            return record

    def _attach_results(self, record: RunRecord) -> None:
        if self.site is not None:
            try:
                from ecometer.impact import footprint

                record.attach("footprint", footprint(record, site=self.site))
            except Exception as exc:  # noqa: BLE001 - never lose the measured record
                self._warn(f"footprint not computed: {exc}")
                record.warnings.append(f"footprint not computed: {exc}")
        if self.standard is not None:
            try:
                from ecometer.scoring import score

                record.attach("assessment", score(record, self.standard))
            except Exception as exc:  # noqa: BLE001 - never lose the measured record
                self._warn(f"assessment not computed: {exc}")
                record.warnings.append(f"assessment not computed: {exc}")

    def _resolve_out(self) -> Path | None:
        if self.out is None or self.out is False:
            return None
        if self.out == "auto":
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            base = Path(os.environ.get("ECOMETER_DIR", "ecometer-runs"))
            return base / f"{safe_name(self.name)}-{stamp}-{os.getpid()}.json"
        return Path(self.out)

    def _write_checkpoint(self) -> None:
        if self._path is None or self._checkpoint_failed:
            return
        try:
            record = self._build_record(self.clock(), "running", final=False)
            write_atomic(checkpoint_path(self._path), record.to_json(indent=None))
        except OSError as exc:
            self._checkpoint_failed = True
            self._warn(f"cannot write checkpoint next to {self._path} ({exc}); the record is kept in memory")

    def _save(self, record: RunRecord) -> None:
        if self._path is None:
            return
        try:
            record.save(self._path)
        except OSError as exc:
            message = f"cannot write record {self._path} ({exc}); it is kept in memory (meter.record)"
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
        if message not in self._warnings:
            self._warnings.append(message)
            log.warning("%s: %s", self.name, message)


def measure(name: str = "run", **kwargs: Any) -> Meter:
    """A :class:`Meter` for use as a context manager or decorator (same arguments)."""
    return Meter(name, **kwargs)


def _merge_component(existing: Component | None, part: Component) -> Component:
    if existing is None:
        return part
    worse = max(existing.method, part.method, key=lambda m: _METHOD_RANK[m])
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
    return dict(_host_cached())


def _resolve_site(site: Any) -> Any:
    if site is None or not isinstance(site, str):
        return site
    from ecometer.impact import Site

    return Site.preset(site)


def _resolve_standard(standard: Any) -> Any:
    if standard is None or not isinstance(standard, (str, os.PathLike)):
        return standard
    from ecometer.scoring import load_standard

    return load_standard(standard)
