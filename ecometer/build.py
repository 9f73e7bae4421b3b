"""From a run's measured state to a :class:`~ecometer.record.RunRecord`.

:func:`build_record` reads a :class:`~ecometer.run.Run` (its sensors' tracks, phases, work,
timeline and warnings) and changes nothing: the run calls it under its lock, for a checkpoint
while running and once more at stop. Energies in J, durations in s.
"""

from __future__ import annotations

import functools
import math
import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ecometer._version import __version__
from ecometer.curves import DeviceTrack
from ecometer.record import Component, Estimate, Phase, RunRecord, SensorInfo, Span, Timeline, worst_method
from ecometer.sensors.base import Uncertainty
from ecometer.supervision import SensorGuard, Supervisor

if TYPE_CHECKING:  # pragma: no cover
    from ecometer.run import Run

_SENSOR_INFO_FIELDS = ("name", "component", "method", "devices", "notes")
_UNKNOWN = Uncertainty(1.0, 1.0, "unknown: the sensor did not state its uncertainty")


def utc_now() -> str:
    """The wall-clock time now, ISO 8601 in UTC with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_record(run: Run, now: float, status: str, final: bool) -> RunRecord:
    """The record of ``run`` as of clock time ``now`` (s); ``final``: the run has ended."""
    components: dict[str, Component] = {}
    sensors: list[SensorInfo] = []
    devices: list[dict[str, Any]] = []
    for guard in run.supervisor.guards:
        part = _component(run, guard, now, final)
        components[part.name] = _merge_component(components.get(part.name), part)
        devices.extend(_devices(guard, part.devices))
        sensors.append(_sensor_info(run.supervisor, guard))
    return RunRecord(
        name=run.name,
        status=status,
        started_at=run.started_at,
        ended_at=utc_now(),
        duration_s=now - run.t0,
        components=components,
        phases=_phases(run),
        work=dict(run.work),
        work_unit=run.work_unit or (next(iter(run.work)) if len(run.work) == 1 else None),
        timeline=_timeline(run, now),
        scope=run.scope,
        host=_host(),
        devices=devices,
        sensors=sensors,
        meta=dict(run.meta),
        warnings=run.warnings.kept(),
        notes=list(run.notes),
        forecasts=list(run.forecasts),  # made by Meter.forecast while the run ran
        ecometer_version=__version__,
        checkpoint=not final,
    )


def _component(run: Run, guard: SensorGuard, now: float, final: bool) -> Component:
    """What one sensor measured: its energy (J) per device, method, uncertainty and notes."""
    sensor, tracks = guard.sensor, guard.tracks
    unc = run.supervisor.describe(guard, "uncertainty") or _UNKNOWN
    per_device = {t.channel: (t.total_j if final else t.energy_now(now)) for t in tracks}
    energy = sum(per_device.values())
    notes = list(run.supervisor.describe(guard, "notes") or [])
    notes.extend(guard.notes)
    for track in tracks:
        notes.extend(f"{track.channel}: {a}" for a in track.anomalies)
        notes.extend(_fault_notes(track, run.t0))
    if unc.basis:
        notes.append(f"uncertainty: {unc.basis}")
    method = sensor.method
    if method == "counter" and not all(t.has_counter and t.counter_lost_at is None for t in tracks):
        method = "integrated"
    return Component(
        name=sensor.component,
        energy_j=energy,
        method=method,
        uncertainty=Estimate.relative(energy, unc.rel_low, unc.rel_high),
        devices=per_device,
        source=sensor.name,
        attribution=run.supervisor.describe(guard, "attribution") if run.scope == "process" else None,
        notes=notes,
    )


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
    """Two sensors of one component (e.g. RAPL packages and a model): one component."""
    if existing is None:
        return part
    return Component(
        name=existing.name,
        energy_j=existing.energy_j + part.energy_j,
        method=worst_method((existing.method, part.method)),
        uncertainty=existing.uncertainty + part.uncertainty,
        devices={**existing.devices, **part.devices},
        source=f"{existing.source}+{part.source}",
        attribution=existing.attribution or part.attribution,
        notes=existing.notes + part.notes,
    )


def _devices(guard: SensorGuard, energy: dict[str, float]) -> list[dict[str, Any]]:
    """Each device of a sensor, with its energy (J) and how it was obtained."""
    out = []
    tracks = {t.channel: t for t in guard.tracks}
    for device in guard.devices:
        info = device.to_dict()
        track = tracks.get(device.id)
        if track is not None:
            info["energy_j"] = energy.get(device.id, 0.0)
            info["integrated_j"] = track.integrated_j
            if track.has_counter or track.counter_lost_at is not None:
                info["counter_j"] = track.counter_j  # the last good reading
            info["power_points"] = track.points_seen
        out.append(info)
    return out


def _sensor_info(supervisor: Supervisor, guard: SensorGuard) -> SensorInfo:
    info = supervisor.describe(guard, "info") or {}
    info = {k: v for k, v in info.items() if k in _SENSOR_INFO_FIELDS}
    info.setdefault("name", guard.sensor.name)
    info.setdefault("component", guard.sensor.component)
    info.setdefault("method", guard.sensor.method)
    return SensorInfo(**info)


def _phases(run: Run) -> dict[str, Phase]:
    component_of: dict[str, str] = {}  # device id -> component
    rel: dict[str, tuple[float, float]] = {}  # component -> relative uncertainty
    for guard in run.supervisor.guards:
        unc = run.supervisor.describe(guard, "uncertainty") or _UNKNOWN
        rel[guard.sensor.component] = (unc.rel_low, unc.rel_high)
        for track in guard.tracks:
            component_of[track.channel] = guard.sensor.component
    return {
        name: _phase_from_totals(name, totals, component_of, rel, run.interval_s)
        for name, totals in run.phases.totals.items()
    }


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


def _timeline(run: Run, now: float) -> Timeline:
    timeline = run.timeline.to_record(now)
    timeline.spans = [
        Span(name, start - run.t0, end - run.t0, depth) for name, start, end, depth in run.phases.closed_spans
    ]
    timeline.spans_dropped = run.phases.spans_dropped
    return timeline


@functools.lru_cache(maxsize=1)
def _host_cached() -> tuple[tuple[str, Any], ...]:
    from ecometer.hostinfo import describe_host

    return tuple(describe_host().items())


def _host() -> dict[str, Any]:
    host = dict(_host_cached())
    host["pid"] = os.getpid()  # not cached: a forked child has its own
    return host
