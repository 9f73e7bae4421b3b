"""Merging ranks' records into one job record: totals, breakdowns, duplicates, timelines."""

from __future__ import annotations

import math

import pytest
from conftest import FakeClock

from ecometer.distributed.merge import AggregateError, merge_files, merge_records
from ecometer.measuring.meter import Meter
from ecometer.record.model import checkpoint_path, load_record
from ecometer.sensors.replay import ReplaySensor


def part(
    rank,
    *,
    node=0,
    local=0,
    gpu_w=100.0,
    seconds=4.0,
    host=False,
    device=None,
    uuid=None,
    start="2025-01-01T00:00:00.000Z",
    world=None,
    scope="machine",
    work=0,
    status=None,
    unc=(0.0, 0.0),
):
    """A rank's record, measured by a meter on a fake clock (exact energies)."""
    clock = FakeClock()
    sensors = [ReplaySensor([(0, gpu_w)], device=device or f"gpu:{local}", clock=clock, uncertainty=unc)]
    if host:
        sensors += [
            ReplaySensor([(0, 20.0)], component="cpu", device="cpu", clock=clock),
            ReplaySensor([(0, 5.0)], component="dram", device="dram", clock=clock),
        ]
    m = Meter(f"r{rank}", sensors=sensors, clock=clock, background=False, out=None, scope=scope, interval_s=0.5)
    m.start()
    for _ in range(int(seconds / 0.5)):
        with m.phase("step"):
            clock.t += 0.5
            m.sample_now()
            if work:
                m.add_work(work, "sample")
    rec = m.stop(status)
    rec.started_at = start
    if uuid:
        for d in rec.devices:
            if d["id"].startswith("gpu"):
                d["uuid"] = uuid
    rec.distributed = {
        "role": "rank",
        "rank": rank,
        "world_size": world,
        "local_rank": local,
        "node_rank": node,
        "hostname": f"host{node}",
        "host_sensors": host,
    }
    return rec


def test_totals_breakdowns_and_work_are_sums():
    parts = [
        part(0, node=0, local=0, gpu_w=100, host=True, work=8, world=4),
        part(1, node=0, local=1, gpu_w=200, work=8, world=4),
        part(2, node=1, local=0, gpu_w=300, host=True, work=8, world=4),
        part(3, node=1, local=1, gpu_w=400, work=8, world=4),
    ]
    job = merge_records(reversed(parts), name="job")
    assert job.name == "job" and job.status == "ok"
    assert job.components["gpu"].energy_j == pytest.approx((100 + 200 + 300 + 400) * 4.0)
    assert job.components["cpu"].energy_j == pytest.approx(2 * 20 * 4.0)
    assert job.components["dram"].energy_j == pytest.approx(2 * 5 * 4.0)
    assert job.energy_j == pytest.approx(sum(p.energy_j for p in parts))
    assert job.work == {"sample": 4 * 8 * 8}
    d = job.distributed
    assert d["complete"] and d["missing_ranks"] == [] and d["world_size"] == 4
    assert list(d["nodes"]) == ["host0", "host1"]  # distinct host names label the nodes
    assert d["nodes"]["host1"]["components"] == pytest.approx({"gpu": 700 * 4.0, "cpu": 80.0, "dram": 20.0})
    assert d["nodes"]["host0"]["host_metered_by"] == 0 and d["nodes"]["host1"]["host_metered_by"] == 2
    assert [r["rank"] for r in d["ranks"]] == [0, 1, 2, 3]
    assert d["ranks"][3]["devices"] == ["gpu:1@host1"]
    assert set(job.components["gpu"].devices) == {"gpu:0@host0", "gpu:1@host0", "gpu:0@host1", "gpu:1@host1"}
    # phases: energy summed over ranks, duration and count of the slowest rank
    step = job.phases["step"]
    assert step.energy_j == pytest.approx(job.energy_j) and step.count == 8 and step.duration_s == pytest.approx(4.0)
    assert step.work == {"sample": 4 * 8 * 8}
    assert job.duration_s == pytest.approx(4.0)


def test_independent_uncertainties_propagate_to_a_95_percent_interval():
    # two ranks' GPUs, each 400 J +/- 20 J (a stated bound: uniform); their sum is triangular on
    # 800 +/- 40 J, whose central 95 % interval is +/- 40 (1 - sqrt(0.05)) = +/- 31.06 J
    parts = [part(r, local=r, gpu_w=100, unc=(0.05, 0.05), world=2) for r in range(2)]
    job = merge_records(parts)
    u = job.components["gpu"].uncertainty
    assert u.central == pytest.approx(800.0)
    assert u.coverage == 0.95
    half = 40.0 * (1 - math.sqrt(0.05))
    assert u.high - u.central == pytest.approx(half, rel=0.03)
    assert u.central - u.low == pytest.approx(half, rel=0.03)


def test_missing_ranks_are_named_and_totals_cover_the_rest():
    job = merge_records([part(0, host=True, world=4), part(2, local=2, world=4)])
    d = job.distributed
    assert d["missing_ranks"] == [1, 3] and not d["complete"]
    assert job.warnings[0].startswith("rank(s) 1, 3 did not report")
    assert job.components["gpu"].energy_j == pytest.approx(800.0)


def test_expected_ranks_of_a_sub_group():
    job = merge_records([part(4, local=0, host=True), part(6, local=2)], expected_ranks=[4, 5, 6])
    assert job.distributed["missing_ranks"] == [5] and job.distributed["expected_ranks"] == [4, 5, 6]
    with pytest.raises(AggregateError, match="not among the expected ranks"):
        merge_records([part(7, local=0)], expected_ranks=[4, 5, 6])


def test_same_gpu_metered_by_two_ranks_counts_once_in_machine_scope():
    a = part(0, local=0, device="gpu:0", uuid="GPU-aaa", host=True)
    b = part(1, local=1, device="gpu:0", uuid="GPU-aaa")
    job = merge_records([a, b])
    assert job.components["gpu"].energy_j == pytest.approx(400.0)
    assert job.distributed["duplicate_devices"] == [{"node": "host0", "device": "gpu:0", "ranks": [0, 1]}]
    assert any("metered by ranks [0, 1]" in w for w in job.warnings)
    assert job.distributed["nodes"]["host0"]["energy_j"] == pytest.approx(job.energy_j)
    tl = job.timeline
    assert list(tl.power_w) == ["gpu:0", "cpu", "dram"]


def test_process_scope_shares_of_one_gpu_add_up():
    a = part(0, local=0, device="gpu:0", uuid="GPU-aaa", scope="process", gpu_w=60)
    b = part(1, local=1, device="gpu:0", uuid="GPU-aaa", scope="process", gpu_w=40)
    job = merge_records([a, b])
    assert job.components["gpu"].energy_j == pytest.approx(400.0)
    assert job.components["gpu"].devices == pytest.approx({"gpu:0": 400.0})
    assert "duplicate_devices" not in job.distributed


def test_alike_ids_of_different_gpus_are_kept_apart():
    """Each rank with its own CUDA_VISIBLE_DEVICES calls its GPU gpu:0; the UUIDs differ."""
    a = part(0, device="gpu:0", uuid="GPU-aaa")
    b = part(1, device="gpu:0", uuid="GPU-bbb")
    job = merge_records([a, b])
    assert job.components["gpu"].devices == pytest.approx({"gpu:0/rank0": 400.0, "gpu:0/rank1": 400.0})
    assert "duplicate_devices" not in job.distributed


def test_timeline_is_aligned_and_keeps_the_energy():
    a = part(0, gpu_w=100, seconds=4.0, start="2025-01-01T00:00:00.000Z")
    b = part(1, local=1, gpu_w=300, seconds=4.0, start="2025-01-01T00:00:02.000Z")
    job = merge_records([a, b])
    assert job.duration_s == pytest.approx(6.0)  # b started 2 s later
    assert job.distributed["ranks"][1]["start_offset_s"] == pytest.approx(2.0)
    tl = job.timeline
    width = [tl.bucket_s] * len(tl.t_s)
    width[-1] = job.duration_s - tl.bucket_s * (len(tl.t_s) - 1)
    for channel, expected in (("gpu:0", 400.0), ("gpu:1", 1200.0)):
        energy = sum((p or 0.0) * w for p, w in zip(tl.power_w[channel], width, strict=True))
        assert energy == pytest.approx(expected, rel=1e-9)
    first = tl.power_w["gpu:1"][0]
    assert first == 0.0  # rank 1 had not started yet
    assert max(tl.component_power("gpu")) == pytest.approx(400.0)


def test_many_channels_are_summed_per_node_then_per_component():
    parts = [part(r, node=r // 2, local=r % 2, world=8) for r in range(8)]
    by_node = merge_records(parts, max_channels=4)
    assert by_node.distributed["timeline_channels"] == "node"
    assert set(by_node.timeline.power_w) == {f"gpu:all@host{n}" for n in range(4)}
    by_comp = merge_records(parts, max_channels=2)
    assert by_comp.distributed["timeline_channels"] == "component"
    assert list(by_comp.timeline.power_w) == ["gpu:all"]
    assert max(by_comp.timeline.component_power("gpu")) == pytest.approx(800.0)


def test_worst_status_and_errors_are_kept():
    bad = part(1, local=1)
    bad.status, bad.error = "failed", "CUDA OOM"
    job = merge_records([part(0), bad])
    assert job.status == "failed" and job.error == "rank 1: CUDA OOM"
    assert job.distributed["ranks"][1]["status"] == "failed"


def test_warnings_say_which_ranks():
    a, b = part(0), part(1, local=1)
    a.warnings, b.warnings = ["shared", "only a"], ["shared"]
    job = merge_records([a, b])
    assert "shared" in job.warnings and "rank 0: only a" in job.warnings


def test_bad_parts_are_clear_errors():
    with pytest.raises(AggregateError, match="both claim rank 0"):
        merge_records([part(0), part(0)])
    with pytest.raises(AggregateError, match="nothing to merge"):
        merge_records([])
    job = merge_records([part(0)])
    with pytest.raises(AggregateError, match="already a merged job record"):
        merge_records([job])
    with pytest.raises(AggregateError, match="expected a RunRecord"):
        merge_records([{"name": "x"}])  # type: ignore[list-item]


def test_plain_records_merge_by_position_and_host_name():
    a, b = part(0), part(1, local=1)
    a.distributed = b.distributed = None
    a.host = {"hostname": "alpha"}
    b.host = {"hostname": "beta"}
    job = merge_records([a, b])
    assert job.distributed["ranks_reported"] == [0, 1]
    assert set(job.distributed["nodes"]) == {"alpha", "beta"}


def test_files_round_trip_including_a_killed_ranks_checkpoint(tmp_path):
    a, b = part(0, host=True, world=2), part(1, local=1, world=2)
    pa = a.save(tmp_path / "a.json")
    b.status = "running"
    b.save(checkpoint_path(tmp_path / "b.json"))  # rank 1 was killed: only its checkpoint exists
    job = merge_files([pa, tmp_path / "b.json"])
    assert job.status == "interrupted" and job.checkpoint
    assert job.components["gpu"].energy_j == pytest.approx(800.0)
    back = load_record(job.save(tmp_path / "job.json"))
    assert back.to_dict() == job.to_dict()
