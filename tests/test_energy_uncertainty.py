"""Energy uncertainty: sensors' declared factors, components, phases within the power drawn, job merges.

Replay sensors with known power give the exact energies; a simulation of many runs with known
input errors checks that the stated 95 % intervals contain the truth about 95 % of the time.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import FakeClock, manual_meter, run_steps

from ecometer.distributed.merge import merge_records
from ecometer.energy.curves import DeviceTrack
from ecometer.errors import InputError
from ecometer.files import datafiles
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord
from ecometer.sensors.base import declared_factor, relative_factor
from ecometer.sensors.replay import ReplaySensor


def _phase_run(sensors, clock, steps, per_step, occurrence_s, step_s=0.1, name="batch"):
    """A run on ``clock`` marking ``per_step`` occurrences of ``occurrence_s`` in every ``step_s`` sample."""
    m = manual_meter(clock, sensors, interval_s=step_s)
    m.start()
    spans = []
    for _ in range(steps):
        used = 0.0
        for _ in range(per_step):
            t0 = clock.t
            with m.phase(name):
                clock.advance(occurrence_s)
            spans.append((t0, clock.t))
            used += occurrence_s
        clock.advance(step_s - used)
        m.sample_now()
    return m.stop(), spans


# ---- sensors declare a distribution ----------------------------------------------------------
def test_every_sensor_data_file_names_the_distribution_of_its_bound() -> None:
    entries = {
        "cpu_power.json uncertainty.model": datafiles.load("cpu_power.json")["uncertainty"]["model"],
        "memory_power.json uncertainty": datafiles.load("memory_power.json")["uncertainty"],
        **{f"nvml.json {k}": v for k, v in datafiles.load("nvml.json")["uncertainty"].items()},
        **{f"rapl.json {k}": v for k, v in datafiles.load("rapl.json")["uncertainty"].items()},
    }
    for where, entry in entries.items():
        assert entry["distribution"] in ("uniform", "triangular"), where  # all are stated bounds
        assert entry["coverage"] == 1.0 and len(entry["distribution_basis"]) > 40, where


def test_an_entry_without_a_distribution_is_refused_by_name() -> None:
    with pytest.raises(InputError, match=r"nvml.json uncertainty.counter: no 'distribution'"):
        declared_factor({"rel_low": 0.05, "rel_high": 0.05}, "x", "nvml.json uncertainty.counter")


def test_relative_factor_is_a_stated_bound_around_one() -> None:
    f = relative_factor(0.05, 0.15, "board gain", distribution="triangular")
    assert (f.central, f.low, f.high, f.coverage, f.distribution) == (1.0, 0.95, 1.15, 1.0, "triangular")
    assert relative_factor(0.0, 0.0, "exact").is_exact


# ---- components -----------------------------------------------------------------------------
def test_replay_sensor_with_known_power_gives_the_exact_energy_and_an_interval_around_it() -> None:
    clock = FakeClock()
    gpu = ReplaySensor([(0, 100.0), (1.0, 300.0)], method="counter", clock=clock, uncertainty=(0.05, 0.05))
    m = manual_meter(clock, [gpu], interval_s=0.1)
    m.start()
    run_steps(m, clock, 0.5)
    with m.phase("middle"):
        run_steps(m, clock, 1.0)
    run_steps(m, clock, 0.5)
    rec = m.stop()
    comp = rec.components["gpu"]
    assert comp.energy_j == pytest.approx(400.0, rel=1e-9)  # 100 W x 1 s + 300 W x 1 s
    unc = comp.uncertainty
    assert (unc.low, unc.high) == pytest.approx((380.0, 420.0), rel=1e-9)
    assert (unc.coverage, unc.distribution) == (1.0, "uniform") and unc.contains(400.0)
    phase = rec.phases["middle"]
    assert phase.energy_j == pytest.approx(200.0, rel=1e-6)  # 100 W x 0.5 s + 300 W x 0.5 s
    assert phase.uncertainty.contains(200.0)
    assert phase.uncertainty.low >= 0.95 * phase.duration_s * 100.0 - 1e-9
    assert phase.uncertainty.high <= 1.05 * phase.duration_s * 300.0 + 1e-9
    assert phase.power_range_w == pytest.approx([100.0, 300.0]) and not phase.split_by_time_share


def test_two_sensors_of_one_component_are_summed_once_as_independent() -> None:
    clock = FakeClock()
    a = ReplaySensor([(0, 10.0)], component="cpu", device="cpu:a", clock=clock, uncertainty=(0.3, 0.3))
    b = ReplaySensor([(0, 10.0)], component="cpu", device="cpu:b", clock=clock, uncertainty=(0.3, 0.3))
    m = manual_meter(clock, [a, b])
    m.start()
    run_steps(m, clock, 1.0)
    unc = m.stop().components["cpu"].uncertainty
    assert unc.central == pytest.approx(20.0)
    # two independent +/-30 % uniforms: the sum's 95 % interval is narrower than +/-30 % (about +/-23 %)
    assert unc.coverage == 0.95 and 0.15 < unc.rel_halfwidth < 0.27


# ---- phases: physical bounds, shared model error ------------------------------------------------
def test_per_batch_phase_of_many_tiny_occurrences_stays_within_duration_times_power() -> None:
    """The demo's case: a phase marked per batch, thousands of sub-millisecond occurrences."""
    clock = FakeClock()
    trace = [(0.0, 50.0), (0.5, 250.0), (1.0, 50.0), (1.5, 250.0)]
    gpu = ReplaySensor(trace, clock=clock)
    rec, spans = _phase_run([gpu], clock, steps=20, per_step=100, occurrence_s=0.0006)
    phase = rec.phases["batch"]
    assert phase.count == 2000 and phase.split_by_time_share
    truth = sum(gpu.energy_between(a - gpu._t_open, b - gpu._t_open) for a, b in spans)
    d = phase.duration_s
    unc = phase.uncertainty
    assert phase.power_range_w == pytest.approx([50.0, 250.0])
    assert unc.low >= d * 50.0 - 1e-9  # never below duration x the lowest power drawn
    assert unc.high <= d * 250.0 + 1e-9  # never above duration x the peak
    assert unc.low > 0 and unc.contains(truth)
    assert unc.coverage == 1.0  # a stated bound (exact sensor: the timing bound is the only uncertainty)


def test_a_long_phase_has_a_narrow_timing_bound() -> None:
    clock = FakeClock()
    gpu = ReplaySensor([(0.0, 50.0), (0.55, 250.0)], clock=clock)
    m = manual_meter(clock, [gpu], interval_s=0.1)
    m.start()
    with m.phase("long"):
        run_steps(m, clock, 1.0)
    ph = m.stop().phases["long"]
    # edges: (250 - 50) W x one occurrence x half a sample = 10 J each side at most, not the 160 J range
    assert ph.uncertainty.high - ph.energy_j <= 200.0 * 0.05 + 1e-6
    assert not ph.split_by_time_share


def test_model_error_of_a_thousand_occurrence_phase_is_the_sensors_shared_error() -> None:
    clock = FakeClock()
    cpu = ReplaySensor([(0, 20.0)], component="cpu", method="modelled", clock=clock, uncertainty=(0.3, 0.3))
    rec, _ = _phase_run([cpu], clock, steps=10, per_step=100, occurrence_s=0.0005)
    ph = rec.phases["batch"]
    assert ph.count == 1000
    # constant power: no timing error; the model's +/-30 % stays +/-30 % (not +/-30 %/sqrt(1000))
    assert ph.uncertainty.low / ph.energy_j == pytest.approx(0.7, rel=1e-9)
    assert ph.uncertainty.high / ph.energy_j == pytest.approx(1.3, rel=1e-9)


def test_phase_with_two_modelled_sensors_keeps_the_runs_relative_range() -> None:
    clock = FakeClock()
    cpu = ReplaySensor([(0, 20.0)], component="cpu", method="modelled", clock=clock, uncertainty=(0.3, 0.3))
    dram = ReplaySensor(
        [(0, 10.0)],
        component="dram",
        method="modelled",
        clock=clock,
        uncertainty=(0.72, 0.76),
        distribution="triangular",
    )
    rec, _ = _phase_run([cpu, dram], clock, steps=10, per_step=100, occurrence_s=0.0005)
    ph, total = rec.phases["batch"], rec.energy_uncertainty
    assert ph.uncertainty.coverage == 0.95
    for a, b in (
        (ph.uncertainty.low / ph.energy_j, total.low / rec.energy_j),
        (ph.uncertainty.high / ph.energy_j, total.high / rec.energy_j),
    ):
        assert a == pytest.approx(b, abs=0.02)


# ---- coverage is honest: many simulated runs with known input errors ----------------------------
def _trial(factor_gpu: float, factor_cpu: float) -> RunRecord:
    """One run whose true power is 200 W (GPU) and 30 W (CPU); the sensors read the truth divided by
    a factor drawn from their declared distributions, so ``truth = factor x reading``."""
    clock = FakeClock()
    gpu = ReplaySensor(
        [(0, 200.0 / factor_gpu)],
        clock=clock,
        uncertainty=Estimate(1.0, 0.9, 1.1, coverage=0.95, distribution="normal"),
    )
    cpu = ReplaySensor(
        [(0, 30.0 / factor_cpu)], component="cpu", method="modelled", clock=clock, uncertainty=(0.3, 0.3)
    )
    m = manual_meter(clock, [gpu, cpu], interval_s=0.25)
    m.start()
    run_steps(m, clock, 1.0, step=0.25)
    return m.stop()


def test_95_percent_intervals_contain_the_truth_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    n = 300
    sd = 0.1 / 1.959964  # the GPU factor: normal, 95 % within +/-10 %
    hits = {"gpu": 0, "cpu": 0, "total": 0}
    for _ in range(n):
        f_gpu, f_cpu = 1.0 + sd * rng.standard_normal(), rng.uniform(0.7, 1.3)
        rec = _trial(f_gpu, f_cpu)
        hits["gpu"] += rec.components["gpu"].uncertainty.contains(200.0)
        hits["cpu"] += rec.components["cpu"].uncertainty.contains(30.0)
        hits["total"] += rec.energy_uncertainty.contains(230.0)
    tol = 3.5 * math.sqrt(0.95 * 0.05 / n)  # sampling error of a proportion, 3.5 sigma
    assert abs(hits["gpu"] / n - 0.95) < tol
    assert abs(hits["total"] / n - 0.95) < tol
    assert hits["cpu"] == n  # a stated bound (coverage 1) always holds


# ---- the power range the curves see ----------------------------------------------------------
def test_device_track_power_range_includes_counter_calibration() -> None:
    track = DeviceTrack("gpu:0", 0.0, has_counter=True)
    track.add_points([(0.5, 100.0), (1.0, 100.0)])
    track.anchor(0.0, 0.0)
    track.anchor(1.0, 120.0)  # the counter says 120 J: the curve's mean power is 120 W
    low, high = track.power_range_w
    assert low == pytest.approx(100.0) and high == pytest.approx(120.0)
    assert DeviceTrack("cpu", 0.0, has_counter=False).power_range_w is None


# ---- job aggregates ----------------------------------------------------------------------------
def _rank(rank: int, node: str, *, gpu_unc=(0.05, 0.05), cpu_method="modelled") -> RunRecord:
    clock = FakeClock()
    sensors = [
        ReplaySensor([(0, 100.0)], device="gpu:0", clock=clock, method="counter", uncertainty=gpu_unc),
        ReplaySensor(
            [(0, 20.0)], component="cpu", device="cpu", clock=clock, method=cpu_method, uncertainty=(0.3, 0.3)
        ),
    ]
    m = manual_meter(clock, sensors, name=f"r{rank}", interval_s=0.5)
    m.start()
    with m.phase("step"):
        run_steps(m, clock, 2.0, step=0.5)
    rec = m.stop()
    rec.distributed = {
        "role": "rank",
        "rank": rank,
        "world_size": 2,
        "local_rank": 0,
        "node_rank": rank,
        "hostname": node,
        "host_sensors": True,
    }
    return rec


def test_merge_ranks_gpus_independent_and_one_cpu_model_one_error() -> None:
    job = merge_records([_rank(0, "a"), _rank(1, "b")])
    gpu, cpu = job.components["gpu"].uncertainty, job.components["cpu"].uncertainty
    assert gpu.central == pytest.approx(400.0) and cpu.central == pytest.approx(80.0)
    assert 0.02 < gpu.rel_halfwidth < 0.045  # two independent +/-5 % boards: narrower than +/-5 %
    # the same CPU model on both nodes is one model error: the job keeps +/-30 %
    assert (cpu.low / 80.0, cpu.high / 80.0) == pytest.approx((0.7, 1.3), rel=1e-9)
    measured = merge_records([_rank(0, "a", cpu_method="counter"), _rank(1, "b", cpu_method="counter")])
    assert measured.components["cpu"].uncertainty.rel_halfwidth < 0.27  # two nodes' own counters: independent
    step = job.phases["step"]
    assert step.uncertainty.low == pytest.approx(
        sum(r.phases["step"].uncertainty.low for r in (_rank(0, "a"), _rank(1, "b")))
    )
    assert json.loads(job.to_json())["phases"]["step"]["power_range_w"] == pytest.approx([240.0, 240.0])


def test_per_work_figures_keep_the_bounds_coverage_and_shape() -> None:
    from ecometer.record.quantities import QUANTITIES

    clock = FakeClock()
    cpu = ReplaySensor([(0, 30.0)], component="cpu", method="modelled", clock=clock, uncertainty=(0.3, 0.3))
    gpu = ReplaySensor([(0, 200.0)], clock=clock, uncertainty=(0.05, 0.05))
    m = manual_meter(clock, [cpu, gpu])
    m.start()
    run_steps(m, clock, 1.0)
    m.add_work(4, "sample")
    rec = m.stop()
    total, cpu_e = QUANTITIES["it_energy_j"].read(rec), QUANTITIES["cpu_energy_j"].read(rec)
    assert (total.coverage, total.distribution) == (0.95, rec.energy_uncertainty.distribution)
    assert (cpu_e.coverage, cpu_e.low) == (1.0, pytest.approx(21.0))
    per = total.scaled(1.0 / rec.work["sample"])  # exact work count: the same relative bounds
    assert per.coverage == 0.95 and per.low == pytest.approx(rec.energy_uncertainty.low / 4)


def test_phase_fields_round_trip_and_bad_values_name_the_field() -> None:
    from ecometer.errors import RecordError

    clock = FakeClock()
    rec, _ = _phase_run(
        [ReplaySensor([(0, 50.0), (0.5, 80.0)], clock=clock)], clock, steps=10, per_step=5, occurrence_s=0.001
    )
    data = json.loads(rec.to_json())
    again = RunRecord.from_dict(data)
    assert again.phases["batch"].split_by_time_share is True
    assert again.phases["batch"].power_range_w == pytest.approx([50.0, 80.0])
    data["phases"]["batch"]["split_by_time_share"] = "yes"
    with pytest.raises(RecordError, match=r"phases\.batch\.split_by_time_share"):
        RunRecord.from_dict(data)
    del data["phases"]["batch"]["split_by_time_share"], data["phases"]["batch"]["power_range_w"]
    old = RunRecord.from_dict(data)  # records written before these fields still load
    assert old.phases["batch"].split_by_time_share is False and old.phases["batch"].power_range_w == []
