"""Merge the records of one distributed job's ranks into one job record.

Each rank of a distributed job meters what it owns: its own GPU(s) always, and the host
(CPU, DRAM) only if it is the node's host-metering rank. :func:`merge_records` adds those
parts up into one :class:`~ecometer.record.model.RunRecord` for the whole job:

* components: energies summed over ranks (J); the worst method wins; the bounds come from one
  propagation per job (:func:`_correlation_key`): each rank's component error is a relative
  factor on its energy; measured GPUs of different ranks are independent (each board its own
  gain); the host's CPU and DRAM of one node are one set of sensors, so ranks of one node that
  each metered a share of them (process scope) share one error; a *modelled* component (the
  CPU or DRAM model) applied to the same hardware model on several ranks or nodes is one model
  error for the whole job, not one per rank;
* phases: energy and work summed over ranks; duration and count are the slowest rank's
  (ranks run their phases concurrently, so the job's phase lasts as long as its slowest rank);
  the ranks' phase bounds are taken as fully correlated (the same boundaries on every rank and
  shared model errors), so the job's interval is the sum of the ranks' intervals (exact for
  comonotone figures; conservative where their GPUs are in fact independent);
* work: summed over ranks (each rank counts the work it did);
* duration: from the earliest start to the latest end (start offsets from the parts'
  wall-clock start times; durations themselves are monotonic);
* timeline: every part resampled onto one grid, energy-preserving; one channel per device
  while there are at most ``max_channels`` of them, else one per node and component, else
  one per component;
* ``record.distributed``: world size, ranks that reported and ranks that did not
  (``missing_ranks``), a per-node and a per-rank breakdown, and any device that two ranks of a
  node both metered (counted once, in machine scope).

The part records carry their place in the job in ``record.distributed`` (``rank``,
``world_size``, ``local_rank``, ``node_rank``, ``hostname``, ``host_sensors``), as written by
:mod:`ecometer.distributed.job`. Records without it (plain records of separate
processes) are merged in the order given, rank = position, node = their host name.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ecometer.energy.timeline import BucketTimeline
from ecometer.errors import AggregateError
from ecometer.record.estimate import Estimate
from ecometer.record.model import (
    MAX_WARNINGS,
    Component,
    Phase,
    RunRecord,
    SensorInfo,
    Span,
    Timeline,
    load_record,
    worst_method,
)

log = logging.getLogger("ecometer.distributed")

HOST_COMPONENTS = ("cpu", "dram")
_STATUS_ORDER = {"ok": 0, "running": 1, "interrupted": 1, "failed": 2}
_MAX_NOTES = 50


@dataclass
class _Part:
    record: RunRecord
    rank: int
    local_rank: int | None
    node_rank: int | None
    hostname: str
    host_sensors: bool
    offset_s: float = 0.0
    node: str = ""
    dropped: dict[str, float] = field(default_factory=dict)  # device id -> J not counted (duplicate)
    keys: dict[str, str] = field(default_factory=dict)  # device id -> job-wide device key


def merge_records(
    parts: Iterable[RunRecord],
    *,
    name: str | None = None,
    world_size: int | None = None,
    expected_ranks: Iterable[int] | None = None,
    max_channels: int = 64,
    extra: Mapping[str, Any] | None = None,
) -> RunRecord:
    """One job record from the records of its ranks (see the module docstring).

    Args:
        parts: the ranks' records (any order).
        name: the job's name (default: the lowest rank's run name).
        world_size: ranks expected (default: the largest ``world_size`` the parts state);
            ranks ``0..world_size-1`` that sent no part are listed in ``missing_ranks``.
        expected_ranks: the exact ranks expected instead (e.g. a sub-group's global ranks).
        max_channels: most timeline channels to keep per device before summing per node.
        extra: more facts stored in ``record.distributed`` (launcher, gather timing...).
    """
    items = _parts(list(parts))
    if not items:
        raise AggregateError("nothing to merge: no part record was given")
    expected, present, missing = _expected_ranks(items, world_size, expected_ranks)
    items.sort(key=lambda p: p.rank)
    _label_nodes(items)
    multi_node = len({p.node for p in items}) > 1
    _place_in_time(items)
    scope = items[0].record.scope
    duplicates = _assign_devices(items, multi_node, machine_scope=scope == "machine")
    nodes = _node_table(items)
    duration = max(p.offset_s + p.record.duration_s for p in items)
    timeline, level = _merge_timeline(items, duration, max_channels)
    distributed = _job_summary(items, expected, present, missing, nodes, duplicates, level, extra)
    leader = items[0].record
    errors = [f"rank {p.rank}: {p.record.error}" for p in items if p.record.error]
    return RunRecord(
        name=name or leader.name,
        status=_job_status(items),
        started_at=min((p.record.started_at for p in items if p.record.started_at), default=leader.started_at),
        ended_at=max((p.record.ended_at for p in items if p.record.ended_at), default=leader.ended_at),
        duration_s=duration,
        components=_merge_components(items),
        phases=_merge_phases(items),
        work=_merge_work(items),
        work_unit=next((p.record.work_unit for p in items if p.record.work_unit), None),
        timeline=timeline,
        scope=scope,
        host=dict(leader.host),
        devices=_merge_devices(items),
        sensors=_merge_sensors(items),
        meta=dict(leader.meta),
        warnings=_job_warnings(items, missing, duplicates, nodes, scope),
        notes=_merge_notes(items),
        error="; ".join(errors) if errors else None,
        distributed=distributed,
        attachments={},
        ecometer_version=leader.ecometer_version,
        checkpoint=any(p.record.checkpoint for p in items),
    )


def _job_summary(
    items: list[_Part],
    expected: list[int],
    present: list[int],
    missing: list[int],
    nodes: dict[str, dict[str, Any]],
    duplicates: list[dict[str, Any]],
    level: str,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The job record's ``distributed``: ranks expected, reported and missing, nodes and ranks."""
    distributed: dict[str, Any] = {
        "role": "job",
        "world_size": len(expected),
        "ranks_reported": present,
        "missing_ranks": missing,
        "complete": not missing and not any(p.record.checkpoint for p in items),  # a checkpoint is a part cut short
        "scope": items[0].record.scope,
        "nodes": nodes,
        "ranks": [_rank_entry(p) for p in items],
        "timeline_channels": level,
    }
    if expected != list(range(len(expected))):
        distributed["expected_ranks"] = expected
    if duplicates:
        distributed["duplicate_devices"] = duplicates
    if extra:
        distributed.update(dict(extra))
    return distributed


def _expected_ranks(
    items: list[_Part], world_size: int | None, expected_ranks: Iterable[int] | None
) -> tuple[list[int], list[int], list[int]]:
    """The ranks expected, those that sent a part and those missing."""
    present = sorted(p.rank for p in items)
    if expected_ranks is not None:
        expected = sorted({int(r) for r in expected_ranks})
    else:
        stated = [int((p.record.distributed or {}).get("world_size") or 0) for p in items]
        size = world_size if world_size is not None else max([*stated, present[-1] + 1])
        if size < 1:
            raise AggregateError(f"world_size {size!r}: expected a positive number of ranks")
        expected = list(range(int(size)))
    unexpected = sorted(set(present) - set(expected))
    if unexpected:
        raise AggregateError(f"ranks {unexpected} sent parts but are not among the expected ranks {expected}")
    return expected, present, sorted(set(expected) - set(present))


def _job_status(items: list[_Part]) -> str:
    """The worst status of the parts; a part still running means the job was interrupted."""
    status = max((p.record.status for p in items), key=lambda s: _STATUS_ORDER.get(s, 1))
    return "interrupted" if status == "running" else status


def _merge_work(items: list[_Part]) -> dict[str, float]:
    work: dict[str, float] = {}
    for p in items:
        for unit, amount in p.record.work.items():
            work[unit] = work.get(unit, 0.0) + amount
    return work


def _job_warnings(
    items: list[_Part],
    missing: list[int],
    duplicates: list[dict[str, Any]],
    nodes: dict[str, dict[str, Any]],
    scope: str,
) -> list[str]:
    """The parts' warnings, and what the merge itself found: missing ranks, devices and hosts counted twice."""
    warnings = _merge_warnings(items)
    if missing:
        warnings.insert(
            0,
            f"rank(s) {_ranges(missing)} did not report: their own devices' energy is not included, so the totals "
            "are a lower bound; their work is not counted either, while a host metered by a reporting rank still "
            "includes their load, so per-work figures are an upper bound (too high), over the ranks that reported",
        )
    for dup in duplicates:
        warnings.append(
            f"device {dup['device']} on node {dup['node']} was metered by ranks {dup['ranks']}: counted once (rank "
            f"{dup['ranks'][0]}); phase figures of the other ranks still include it"
        )
    for label, node in nodes.items():
        if node["host_metered_by"] is None:
            warnings.append(
                f"node {label}: no reporting rank metered the host (CPU, DRAM); its host energy is not included"
            )
    hosts: dict[str, list[str]] = {}
    for label, node in nodes.items():
        if node["host_metered_by"] is not None:
            hosts.setdefault(node["hostname"], []).append(label)
    for hostname, labels in hosts.items():
        if len(labels) > 1 and scope == "machine":
            warnings.append(
                f"host {hostname} was metered as {len(labels)} nodes ({', '.join(labels)}): if they are one machine, "
                "its CPU and DRAM energy is counted more than once"
            )
    return warnings


def merge_files(paths: Iterable[str | os.PathLike[str]], **kwargs: Any) -> RunRecord:
    """:func:`merge_records` over record files (a killed rank's checkpoint is read if that is all there is)."""
    records = [load_record(Path(p)) for p in paths]
    return merge_records(records, **kwargs)


# ---- parts ----------------------------------------------------------------------------
def _parts(records: list[RunRecord]) -> list[_Part]:
    items: list[_Part] = []
    seen: dict[int, int] = {}
    for index, record in enumerate(records):
        if not isinstance(record, RunRecord):
            raise AggregateError(f"part {index}: expected a RunRecord, found {type(record).__name__}")
        info = record.distributed or {}
        if info.get("role") == "job":
            raise AggregateError(f"part {index} ({record.name!r}) is already a merged job record, not a rank's part")
        rank = _int_or_none(info.get("rank"), f"part {index}: distributed.rank")
        rank = index if rank is None else rank
        if rank in seen:
            raise AggregateError(f"parts {seen[rank]} and {index} both claim rank {rank}")
        seen[rank] = index
        host_default = any(c in record.components for c in HOST_COMPONENTS)
        items.append(
            _Part(
                record=record,
                rank=rank,
                local_rank=_int_or_none(info.get("local_rank"), f"part {index}: distributed.local_rank"),
                node_rank=_int_or_none(info.get("node_rank"), f"part {index}: distributed.node_rank"),
                hostname=str(info.get("hostname") or record.host.get("hostname") or "unknown"),
                host_sensors=bool(info.get("host_sensors", host_default)),
            )
        )
    return items


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AggregateError(f"{what} = {value!r}: expected a non-negative integer")
    return value


def _label_nodes(items: list[_Part]) -> None:
    """Group ranks into nodes: by the launcher's node rank when every part has one, else by host name."""
    if all(p.node_rank is not None for p in items):
        names: dict[int, set[str]] = {}
        for p in items:
            names.setdefault(p.node_rank, set()).add(p.hostname)  # type: ignore[arg-type]
        hostnames = [next(iter(v)) if len(v) == 1 else None for v in names.values()]
        unique = None not in hostnames and len(set(hostnames)) == len(hostnames)
        for p in items:
            p.node = p.hostname if unique else f"node{p.node_rank}"
    else:
        for p in items:
            p.node = p.hostname


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _place_in_time(items: list[_Part]) -> None:
    starts = [_parse_time(p.record.started_at) for p in items]
    known = [s for s in starts if s is not None]
    if not known:
        return
    origin = min(known)
    for p, s in zip(items, starts, strict=True):
        p.offset_s = max((s - origin).total_seconds(), 0.0) if s is not None else 0.0


# ---- device identities, keys and duplicates --------------------------------------------
def _identities(p: _Part) -> dict[str, str]:
    """Device id -> physical identity (the UUID where the sensor gave one, else the id)."""
    out = {str(d.get("id")): str(d.get("uuid") or d.get("id")) for d in p.record.devices if d.get("id") is not None}
    for comp in p.record.components.values():
        for device in comp.devices:
            out.setdefault(device, device)
    for channel in p.record.timeline.power_w:
        out.setdefault(channel, channel)
    return out


def _assign_devices(items: list[_Part], multi_node: bool, machine_scope: bool) -> list[dict[str, Any]]:
    """Give every part's devices a job-wide key; in machine scope, count a shared device once.

    Keys are the device ids, made unique within a node (``gpu:0/rank3`` where two ranks name
    different GPUs alike, e.g. each with its own ``CUDA_VISIBLE_DEVICES``) and across nodes
    (``gpu:0@node1``). Returns the devices metered by more than one rank of a node.
    """
    duplicates: list[dict[str, Any]] = []
    by_node: dict[str, list[_Part]] = {}
    for p in items:
        by_node.setdefault(p.node, []).append(p)
    for node, parts in by_node.items():
        owners: dict[str, list[tuple[_Part, str]]] = {}  # identity -> [(part, id)]
        for p in parts:
            for device, identity in _identities(p).items():
                owners.setdefault(identity, []).append((p, device))
        ids_used: dict[str, set[str]] = {}
        for identity, members in owners.items():
            ids_used.setdefault(members[0][1], set()).add(identity)
        for members in owners.values():
            first_part, first_id = members[0]
            key = first_id if len(ids_used[first_id]) == 1 else f"{first_id}/rank{first_part.rank}"
            if multi_node:
                key = f"{key}@{node}"
            for p, device in members:
                p.keys[device] = key
            ranks = sorted({p.rank for p, _ in members})
            if machine_scope and len(ranks) > 1:
                for p, device in members[1:]:
                    if p is not first_part:
                        p.dropped[device] = sum(c.devices.get(device, 0.0) for c in p.record.components.values())
                duplicates.append({"node": node, "device": key, "ranks": ranks})
    return duplicates


# ---- components -------------------------------------------------------------------------
def _merge_components(items: list[_Part]) -> dict[str, Component]:
    from ecometer.record.uncertainty import Propagation, shared_factor_sum

    groups: dict[str, list[tuple[_Part, Component]]] = {}
    for p in items:
        for name, comp in p.record.components.items():
            groups.setdefault(name, []).append((p, comp))
    prop = Propagation()  # one for the job: members with one correlation key share one error
    out: dict[str, Component] = {}
    for name, members in groups.items():
        devices: dict[str, float] = {}
        terms: list[tuple[str, Estimate, Estimate]] = []
        energy = 0.0
        sources: list[str] = []
        notes: list[str] = []
        for p, comp in members:
            dropped = sum(j for d, j in p.dropped.items() if d in comp.devices)
            kept = max(comp.energy_j - dropped, 0.0)
            energy += kept
            if comp.energy_j > 0:
                factor = comp.uncertainty.scaled(1.0 / comp.energy_j)  # the rank's relative error
                terms.append((_correlation_key(p, name, comp), factor, Estimate.exact(kept)))
            for device, joules in comp.devices.items():
                if device in p.dropped:
                    continue
                key = p.keys.get(device, device)
                devices[key] = devices.get(key, 0.0) + joules
            for source in comp.source.split("+"):
                if source and source not in sources:
                    sources.append(source)
            for note in comp.notes:
                if note not in notes and len(notes) < _MAX_NOTES:
                    notes.append(note)
        first = members[0][1]
        out[name] = Component(
            name=name,
            energy_j=energy,
            method=worst_method(c.method for _, c in members),
            uncertainty=shared_factor_sum(prop, terms, basis=_COMPONENT_BASIS),
            devices=devices,
            source="+".join(sources),
            attribution=first.attribution,
            notes=notes,
        )
    return out


_COMPONENT_BASIS = (
    "ranks' errors propagated together: measured GPUs of different ranks independent, one node's host "
    "sensors one error, one model on one hardware model one error for the whole job"
)


def _correlation_key(p: _Part, name: str, comp: Component) -> str:
    """Which ranks' component errors are one error (see the module docstring)."""
    if comp.method == "modelled":
        models = sorted({str(d.get("model", "")) for d in p.record.devices if d.get("id") in comp.devices})
        return f"{name}/{comp.source}/model={','.join(models)}"
    if name in HOST_COMPONENTS:
        return f"{name}/{comp.source}@{p.node}"
    return f"{name}/{comp.source}@{p.node}/rank{p.rank}"


# ---- phases -------------------------------------------------------------------------------
def _merge_phases(items: list[_Part]) -> dict[str, Phase]:
    ranks: dict[str, list[Phase]] = {}
    for p in items:
        for name, ph in p.record.phases.items():
            ranks.setdefault(name, []).append(ph)
    out: dict[str, Phase] = {}
    for name, phases in ranks.items():
        components: dict[str, float] = {}
        work: dict[str, float] = {}
        for ph in phases:
            for c, j in ph.components.items():
                components[c] = components.get(c, 0.0) + j
            for unit, amount in ph.work.items():
                work[unit] = work.get(unit, 0.0) + amount
        ranges = [ph.power_range_w for ph in phases]
        out[name] = Phase(
            name=name,
            energy_j=math.fsum(ph.energy_j for ph in phases),
            duration_s=max(ph.duration_s for ph in phases),
            count=max(ph.count for ph in phases),
            components=components,
            uncertainty=_sum_comonotone([ph.uncertainty for ph in phases]),
            resolution_s=max(ph.resolution_s for ph in phases),
            work=work,
            split_by_time_share=any(ph.split_by_time_share for ph in phases),
            power_range_w=[math.fsum(r[0] for r in ranges), math.fsum(r[1] for r in ranges)]
            if all(len(r) == 2 for r in ranges)
            else [],
        )
    return out


def _sum_comonotone(estimates: list[Estimate]) -> Estimate:
    """The sum of fully correlated estimates: quantiles add, so with one stated coverage the sum's
    interval is the sum of the intervals (exact); mixed coverages are propagated."""
    from ecometer.record.uncertainty import propagate

    basis = "ranks' phase figures fully correlated (the same boundaries, shared model errors)"
    uncertain = [e for e in estimates if not e.is_exact]
    if len(uncertain) <= 1 or len({e.coverage for e in uncertain}) == 1:
        total = math.fsum(e.central for e in estimates)
        if not uncertain:
            return Estimate.exact(total)
        shape = {e.distribution for e in uncertain}
        return Estimate(
            total,
            math.fsum(e.low for e in estimates),
            math.fsum(e.high for e in estimates),
            coverage=uncertain[0].coverage,
            distribution=shape.pop() if len(shape) == 1 else "normal",
            basis=basis,
        )
    inputs = {f"rank{i}": e for i, e in enumerate(estimates)}
    return propagate(lambda **v: sum(v.values()), inputs, correlated=[list(inputs)], basis=basis)


# ---- timeline -------------------------------------------------------------------------------
def _merge_timeline(items: list[_Part], duration: float, max_channels: int) -> tuple[Timeline, str]:
    channels = {(p.node, ch) for p in items for ch in p.record.timeline.power_w}
    components = {ch.split(":")[0] for _, ch in channels}
    nodes = {p.node for p in items}
    if len(channels) <= max_channels:
        level = "device"
    elif len(nodes) * len(components) <= max_channels:
        level = "node"
    else:
        level = "component"
    bucket = max((p.record.timeline.bucket_s for p in items if p.record.timeline.bucket_s > 0), default=0.1)
    longest = max((len(p.record.timeline.t_s) for p in items), default=0)
    grid = BucketTimeline(0.0, bucket_s=bucket, max_buckets=max(2 * longest + 4, 16))
    for p in items:
        tl = p.record.timeline
        if not tl.t_s or tl.bucket_s <= 0:
            continue
        for channel, series in tl.power_w.items():
            device = channel
            if device in p.dropped:
                continue
            component = channel.split(":")[0]
            if level == "device":
                target = p.keys.get(channel, channel)
            elif level == "node":
                target = f"{component}:all@{p.node}"
            else:
                target = f"{component}:all"
            for i, (t_mid, watts) in enumerate(zip(tl.t_s, series, strict=False)):
                if watts is None or not math.isfinite(watts):
                    continue
                start = i * tl.bucket_s
                width = max(2.0 * (t_mid - start), 0.0)
                if width <= 0:
                    continue
                a = p.offset_s + start
                grid.add(target, a, a + width, watts * width)
    timeline = grid.to_record(duration)
    leader = items[0]
    timeline.spans = [
        Span(s.name, s.start_s + leader.offset_s, s.end_s + leader.offset_s, s.depth)
        for s in leader.record.timeline.spans
    ]
    timeline.spans_dropped = leader.record.timeline.spans_dropped
    return timeline, level


# ---- devices, sensors, warnings --------------------------------------------------------------
def _merge_devices(items: list[_Part]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for p in items:
        for info in p.record.devices:
            entry = dict(info)
            device = str(entry.get("id", ""))
            entry["id"] = p.keys.get(device, device)
            entry["rank"] = p.rank
            entry["node"] = p.node
            if device in p.dropped:
                entry["counted"] = False
            out.append(entry)
    return out


def _merge_sensors(items: list[_Part]) -> list[SensorInfo]:
    merged: dict[tuple[str, str, str], SensorInfo] = {}
    for p in items:
        for s in p.record.sensors:
            key = (s.name, s.component, s.method)
            cur = merged.get(key)
            devices = [{**d, "rank": p.rank, "node": p.node} for d in s.devices]
            if cur is None:
                merged[key] = SensorInfo(s.name, s.component, s.method, devices, list(s.notes))
            else:
                cur.devices.extend(devices)
                cur.notes.extend(n for n in s.notes if n not in cur.notes)
    return list(merged.values())


def _by_rank(items: list[_Part], texts: Any, what: str) -> list[str]:
    """Distinct lines of the parts (``texts(record)``), prefixed with the ranks that said them unless all did."""
    ranks_of: dict[str, list[int]] = {}
    for p in items:
        for line in texts(p.record):
            ranks_of.setdefault(line, []).append(p.rank)
    everyone = len(items)
    out: list[str] = []
    for line, ranks in ranks_of.items():
        if len(out) >= MAX_WARNINGS:
            out.append(f"{len(ranks_of) - MAX_WARNINGS} more distinct {what} were left out")
            break
        out.append(line if len(ranks) == everyone else f"rank {_ranges(ranks)}: {line}")
    return out


def _merge_warnings(items: list[_Part]) -> list[str]:
    return _by_rank(items, lambda r: r.warnings, "warnings")


def _merge_notes(items: list[_Part]) -> list[str]:
    return _by_rank(items, lambda r: r.notes, "notes")


def _node_table(items: list[_Part]) -> dict[str, dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    for p in items:
        node = nodes.setdefault(
            p.node,
            {
                "hostname": p.hostname,
                "node_rank": p.node_rank,
                "ranks": [],
                "energy_j": 0.0,
                "components": {},
                "host_metered_by": None,
            },
        )
        node["ranks"].append(p.rank)
        for name, comp in p.record.components.items():
            joules = max(comp.energy_j - sum(j for d, j in p.dropped.items() if d in comp.devices), 0.0)
            node["components"][name] = node["components"].get(name, 0.0) + joules
            node["energy_j"] += joules
        if p.host_sensors and node["host_metered_by"] is None:
            node["host_metered_by"] = p.rank
    return nodes


def _rank_entry(p: _Part) -> dict[str, Any]:
    rec = p.record
    return {
        "rank": p.rank,
        "node": p.node,
        "local_rank": p.local_rank,
        "status": rec.status,
        "energy_j": rec.energy_j,
        "components": {name: c.energy_j for name, c in rec.components.items()},
        "duration_s": rec.duration_s,
        "start_offset_s": p.offset_s,
        "work": dict(rec.work),
        "devices": [p.keys.get(d, d) for c in rec.components.values() for d in c.devices],
        "host_sensors": p.host_sensors,
        "error": rec.error,
    }


def _ranges(ranks: Iterable[int]) -> str:
    """``[0, 1, 2, 5, 7, 8]`` -> ``"0-2, 5, 7-8"``."""
    values = sorted(set(ranks))
    out: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        out.append(str(values[i]) if i == j else f"{values[i]}-{values[j]}")
        i = j + 1
    return ", ".join(out)


__all__ = ["AggregateError", "merge_records", "merge_files"]
