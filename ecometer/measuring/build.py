"""From a run's measured state to a :class:`~ecometer.record.model.RunRecord`.

:func:`build_record` reads a :class:`~ecometer.measuring.run.Run` (its sensors' tracks, phases, work,
timeline and warnings) and changes nothing: the run calls it under its lock, for a checkpoint
while running and once more at stop. Energies in J, durations in s.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ecometer._version import __version__
from ecometer.energy.curves import DeviceTrack, PhaseTotals
from ecometer.measuring.supervision import SensorGuard, Supervisor
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, Phase, RunRecord, SensorInfo, Span, Timeline, worst_method
from ecometer.sensors.base import relative_factor

if TYPE_CHECKING:  # pragma: no cover
    from ecometer.measuring.run import Run

_SENSOR_INFO_FIELDS = ("name", "component", "method", "devices", "notes")
_UNKNOWN = relative_factor(1.0, 1.0, "unknown: the sensor did not state its uncertainty as an Estimate")


def utc_now() -> str:
    """The wall-clock time now, ISO 8601 in UTC with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_record(run: Run, now: float, status: str, final: bool) -> RunRecord:
    """The record of ``run`` as of clock time ``now`` (s); ``final``: the run has ended."""
    parts: dict[str, list[Component]] = {}
    sensors: list[SensorInfo] = []
    devices: list[dict[str, Any]] = []
    for guard in run.supervisor.guards:
        part = _component(run, guard, now, final)
        parts.setdefault(part.name, []).append(part)
        devices.extend(_devices(guard, part.devices))
        sensors.append(_sensor_info(run.supervisor, guard))
    components = {name: _merge_components(group) for name, group in parts.items()}
    return RunRecord(
        name=run.name,
        status=status,
        started_at=run.started_at,
        ended_at=utc_now(),
        duration_s=now - run.t0,
        components=components,
        phases=_phases(run, final),
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
    unc = _factor(run.supervisor, guard)
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
        uncertainty=unc.scaled(energy),  # one error over the whole run: the sensor's factor times its energy
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


def _factor(supervisor: Supervisor, guard: SensorGuard) -> Estimate:
    """The relative factor (central 1.0) a sensor declares for its energy, or :data:`_UNKNOWN`."""
    unc = supervisor.describe(guard, "uncertainty")
    if not isinstance(unc, Estimate) or unc.central != 1.0:
        return _UNKNOWN
    return unc


def _merge_components(parts: list[Component]) -> Component:
    """The sensors of one component (e.g. RAPL packages and a model): one component, their
    errors independent (different sensors), summed in one propagation."""
    if len(parts) == 1:
        return parts[0]
    from ecometer.record.estimate import sum_independent

    first = parts[0]
    return Component(
        name=first.name,
        energy_j=math.fsum(p.energy_j for p in parts),
        method=worst_method(p.method for p in parts),
        uncertainty=sum_independent([p.uncertainty for p in parts], basis="independent sensors"),
        devices={k: v for p in parts for k, v in p.devices.items()},
        source="+".join(p.source for p in parts),
        attribution=next((p.attribution for p in parts if p.attribution), None),
        notes=[n for p in parts for n in p.notes],
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


@dataclass
class _Source:
    """What the phases need of one sensor: its factor, its channels, their power range and resolution."""

    key: str
    factor: Estimate
    channels: list[str]
    power_w: tuple[float, float] | None  # lowest, highest power seen, summed over its devices (W)
    resolution_s: float  # its curves' time resolution (s)


def _sources(run: Run) -> list[_Source]:
    out = []
    for i, guard in enumerate(run.supervisor.guards):
        ranges = [t.power_range_w for t in guard.tracks]
        power = None
        if ranges and all(r is not None for r in ranges):
            power = (math.fsum(r[0] for r in ranges), math.fsum(r[1] for r in ranges))  # type: ignore[index]
        resolutions = [t.resolution_s for t in guard.tracks if t.resolution_s is not None]
        out.append(
            _Source(
                key=f"sensor:{i}:{guard.sensor.name}",
                factor=_factor(run.supervisor, guard),
                channels=[t.channel for t in guard.tracks],
                power_w=power,
                resolution_s=max(resolutions, default=run.interval_s),
            )
        )
    return out


def _phases(run: Run, final: bool = True) -> dict[str, Phase]:
    """The run's phases; ``final`` False (a checkpoint): bounds by the envelope, not propagated."""
    if not run.phases.totals:
        return {}

    sources = _sources(run)
    component_of = {ch: g.sensor.component for g in run.supervisor.guards for ch in (t.channel for t in g.tracks)}
    return {
        name: _phase_from_totals(name, totals, component_of, sources, final, run.interval_s)
        for name, totals in run.phases.totals.items()
    }


def _envelope_sum(terms: list[tuple[str, Estimate, Estimate]], basis: str) -> Estimate:
    """A checkpoint's phase bounds: every factor and timing at its low together and at its high
    together (a worst-case range, no coverage claimed): no propagation while the run runs."""
    central = math.fsum(f.central * v.central for _, f, v in terms)
    if all(f.is_exact and v.is_exact for _, f, v in terms):
        return Estimate.exact(central, basis=basis)
    lo = math.fsum(min(f.low * v.low, f.central * v.central) for _, f, v in terms)
    hi = math.fsum(max(f.high * v.high, f.central * v.central) for _, f, v in terms)
    note = "; checkpoint: envelope (every input at its low / high together), 95 % bounds at stop"
    return Estimate(central, lo, hi, distribution="envelope", coverage=None, basis=basis + note)


def _phase_from_totals(
    name: str, totals: PhaseTotals, component_of: dict[str, str], sources: list[_Source], final: bool, interval_s: float
) -> Phase:
    """A phase's energy (J) per component, with bounds propagated from the sensors' shared factors
    and the boundary timing, limited by the power the devices drew (see :func:`_timing`)."""
    from ecometer.record.uncertainty import shared_factor_sum

    by_component: dict[str, float] = {}
    for channel, joules in totals.energy.items():
        c = component_of.get(channel, channel.split(":")[0])
        by_component[c] = by_component.get(c, 0.0) + joules
    used = [s for s in sources if any(totals.energy.get(ch, 0.0) for ch in s.channels)]
    resolution = max((s.resolution_s for s in used), default=interval_s)
    per_occurrence = totals.duration_s / totals.count if totals.count else 0.0
    split = totals.count > 0 and per_occurrence < resolution
    terms = [(s.key, s.factor, _timing(s, totals)) for s in used]
    low_w = math.fsum(s.power_w[0] for s in used if s.power_w)
    high_w = math.fsum(s.power_w[1] for s in used if s.power_w)
    basis = (
        "sensors' model errors shared with the whole run (one error per sensor, sensors independent) x "
        "boundary timing within the power the devices drew"
        + ("; shorter than the curves' resolution: split by time share" if split else "")
    )
    return Phase(
        name=name,
        energy_j=math.fsum(by_component.values()),
        duration_s=totals.duration_s,
        count=totals.count,
        components=by_component,
        uncertainty=shared_factor_sum(None, terms, basis=basis) if final else _envelope_sum(terms, basis),
        resolution_s=resolution,
        work=dict(totals.work),
        split_by_time_share=split,
        power_range_w=[low_w, high_w] if used else [],
    )


def _timing(source: _Source, totals: PhaseTotals) -> Estimate:
    """One sensor's energy in a phase (J) with its boundary-timing bound (coverage 1).

    Each occurrence's two boundaries fall within a curve segment whose energy is split by
    time share: an error of at most (highest - lowest power) x a quarter segment each, and
    never more than the occurrence's own duration x that power spread. Boundaries of a
    repeated phase fall at the same point of a repeating load, so the errors of its
    occurrences are taken as one (added, not in quadrature). The result never leaves
    duration x [lowest, highest] power. Triangular, its mode at the measured split.
    """
    energy = math.fsum(totals.energy.get(ch, 0.0) for ch in source.channels)
    if source.power_w is None or totals.duration_s <= 0 or not totals.count:
        return Estimate.exact(energy)
    low_w, high_w = source.power_w
    half = (high_w - low_w) * min(totals.duration_s, totals.count * source.resolution_s / 2.0)
    low = min(max(energy - half, totals.duration_s * low_w), energy)
    high = max(min(energy + half, totals.duration_s * high_w), energy)
    if low == high:
        return Estimate.exact(energy)
    return Estimate(energy, low, high, distribution="triangular", basis="boundary timing")


def _timeline(run: Run, now: float) -> Timeline:
    timeline = run.timeline.to_record(now)
    timeline.spans = [
        Span(name, start - run.t0, end - run.t0, depth) for name, start, end, depth in run.phases.closed_spans
    ]
    timeline.spans_dropped = run.phases.spans_dropped
    return timeline


@functools.lru_cache(maxsize=1)
def _host_cached() -> tuple[tuple[str, Any], ...]:
    from ecometer.measuring.hostinfo import describe_host

    return tuple(describe_host().items())


def _host() -> dict[str, Any]:
    host = dict(_host_cached())
    host["pid"] = os.getpid()  # not cached: a forked child has its own
    return host
