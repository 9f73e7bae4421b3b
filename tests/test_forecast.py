"""Forecasts of a job's end from its first part: exact projections of scripted jobs, warm-up and
phase changes left out, trends extrapolated, intervals that widen and cover, bad input, too little
data, the projected record's footprint and grade, and the work timeline a forecast rests on."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ecometer.energy.timeline import BucketTimeline
from ecometer.errors import InputError
from ecometer.forecast import forecast_run
from ecometer.forecast.rate import t_quantile
from ecometer.measuring.meter import Meter
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord, Timeline
from ecometer.sensors.replay import ReplaySensor


def job_record(
    steps: list[tuple[float, float]],
    *,
    cpu_w: float = 0.0,
    rel: tuple[float, float] = (0.0, 0.0),
    name: str = "job",
) -> RunRecord:
    """A record of consecutive steps ``(seconds, GPU watts)``, one unit of work each, kept in a
    BucketTimeline as a meter keeps it; counters exact unless ``rel`` bounds are given."""
    tl = BucketTimeline(0.0, bucket_s=0.1, max_buckets=2048)
    t = 0.0
    gpu = cpu = 0.0
    for d, p in steps:
        tl.add("gpu:0", t, t + d, p * d)
        gpu += p * d
        if cpu_w:
            tl.add("cpu", t, t + d, cpu_w * d)
            cpu += cpu_w * d
        tl.add_work("step", t + d - 0.01, 1.0)  # counted as the step ends (clear of a bucket edge)
        t += d
    comps = {"gpu": Component("gpu", gpu, "counter", Estimate.relative(gpu, *rel))}
    if cpu_w:
        comps["cpu"] = Component("cpu", cpu, "modelled", Estimate.relative(cpu, 0.3, 0.3))
    return RunRecord(
        name=name,
        started_at="2026-06-01T12:00:00Z",
        duration_s=t,
        components=comps,
        work={"step": float(len(steps))},
        work_unit="step",
        timeline=tl.to_record(t),
        checkpoint=True,
    )


def noisy_steps(
    rng: np.random.Generator, n: int, watts: float = 300.0, step_s: float = 0.1
) -> list[tuple[float, float]]:
    return [(step_s * math.exp(rng.normal(0, 0.03)), watts * (1 + rng.normal(0, 0.03))) for _ in range(n)]


# ---- exact projections -----------------------------------------------------------------------
def test_steady_job_projects_exactly_by_work_and_by_time():
    rec = job_record([(0.1, 200.0)] * 300)  # 30 s at 200 W, 10 steps/s
    fc = forecast_run(rec, total_work=3000)
    assert fc.ready and fc.coverage == 0.9
    assert fc.energy_j.central == pytest.approx(200.0 * 300.0, rel=1e-9)
    assert fc.duration_s.central == pytest.approx(300.0, rel=1e-9)
    assert fc.energy_j.low == pytest.approx(fc.energy_j.central, rel=1e-9)  # exact counter, constant rate
    assert fc.basis["observed_fraction"] == pytest.approx(0.1)
    assert fc.basis["warmup_how"] == "none" and fc.basis["model"] == "level"
    by_time = forecast_run(rec, total_s=300.0)
    assert by_time.energy_j.central == pytest.approx(60_000.0, rel=1e-9)
    assert by_time.duration_s.central == 300.0


def test_warmup_is_detected_and_left_out():
    warm = [(0.3, 50.0)] * 20  # 6 s of slow, low-power steps (compilation): 15 J a step, not 30 J
    steady = [(0.1, 300.0)] * 400
    rec = job_record(warm + steady)
    fc = forecast_run(rec, total_work=4200)
    truth = 20 * 0.3 * 50.0 + 4180 * 0.1 * 300.0
    assert fc.basis["warmup_how"] == "detected" and fc.basis["warmup_excluded"] >= 20
    assert fc.energy_j.central == pytest.approx(truth, rel=1e-6)
    assert fc.duration_s.central == pytest.approx(6.0 + 418.0, rel=1e-6)
    # told there is none, the warm-up's cheap slow steps bias the forecast low and its pace long
    naive = forecast_run(rec, total_work=4200, warmup=0)
    assert naive.basis["warmup_how"] == "given" and naive.basis["changes"] == []
    assert naive.energy_j.central < 0.99 * truth
    assert naive.energy_j.low <= truth <= naive.energy_j.high  # the mixed blocks widen the interval
    given = forecast_run(rec, total_work=4200, warmup=20)
    assert given.basis["warmup_how"] == "given" and given.energy_j.central == pytest.approx(truth, rel=1e-6)


def test_change_of_phase_rests_on_the_latest_phase():
    rng = np.random.default_rng(3)
    rec = job_record(noisy_steps(rng, 300, watts=150.0) + noisy_steps(rng, 500, watts=300.0))
    fc = forecast_run(rec, total_work=8000)
    assert len(fc.basis["changes"]) >= 1
    assert fc.basis["warmup_excluded"] == pytest.approx(300, abs=40)
    observed = rec.energy_j
    truth_rest = 7200 * 0.1 * 300.0
    assert fc.energy_j.central == pytest.approx(observed + truth_rest, rel=0.02)


def test_trend_is_detected_and_extrapolated():
    # power rising by 1 W per step, exactly: the trend is certain and the end is its integral
    rec = job_record([(0.1, 100.0 + k) for k in range(200)])
    fc = forecast_run(rec, total_work=1000)
    truth = sum(0.1 * (100.0 + k) for k in range(1000))
    assert fc.basis["model"] == "trend" and fc.basis["trend"]["significant"]
    assert fc.energy_j.central == pytest.approx(truth, rel=0.01)
    assert fc.energy_j.low <= truth <= fc.energy_j.high
    assert fc.basis["trend"]["t"] > 1e6  # an exact line: no residual to speak of
    fc.basis["trend"]["t"] = math.inf  # as it is when the residuals are exactly zero
    assert json.loads(json.dumps(fc.to_dict(), allow_nan=False))["basis"]["trend"]["t"] is None


def test_work_counted_after_the_step_does_not_make_a_trend():
    # each step's unit is counted 50 ms after it ends (after a sync), so at every block edge a
    # whole bucket of the next step's energy is not yet matched by its work; the range fitted
    # must start and end at such edges too, or the first block looks dearer than the rest
    tl = BucketTimeline(0.0, bucket_s=0.1)
    t = 0.0
    for _ in range(400):
        tl.add("gpu:0", t, t + 0.1, 10.0)
        t += 0.1
        tl.add_work("step", t + 0.05, 1.0)
    tl.add("gpu:0", t, t + 0.07, 0.7)  # the checkpoint is taken 70 ms into the next step
    rec = RunRecord(
        name="late-count",
        duration_s=t + 0.07,
        components={"gpu": Component("gpu", 4000.7, "counter", Estimate.exact(4000.7))},
        work={"step": 400.0},
        work_unit="step",
        timeline=tl.to_record(t + 0.07),
    )
    fc = forecast_run(rec, total_work=4000)
    assert fc.basis["trend"]["relative_change_over_job"] == pytest.approx(0.0, abs=1e-9)
    assert fc.energy_j.central == pytest.approx(40_000.7, rel=1e-9)
    assert fc.energy_j.rel_halfwidth < 1e-9


def test_time_mode_from_a_meter_with_a_replay_sensor():
    class Clock:
        t = 1000.0

        def __call__(self) -> float:
            return self.t

    clock = Clock()
    sensor = ReplaySensor([(0, 50.0), (3, 200.0)], method="counter", clock=clock)
    m = Meter("replay", sensors=[sensor], clock=clock, background=False, out=None, interval_s=0.1)
    m.start()
    for _ in range(200):  # 20 s: 3 s idle-ish, then 200 W
        clock.t += 0.1
        m.sample_now()
    rec = m.stop()
    fc = forecast_run(rec, total_s=200.0)
    assert fc.ready and fc.basis["warmup_how"] == "detected"
    assert fc.energy_j.central == pytest.approx(3 * 50.0 + 197 * 200.0, rel=1e-3)


# ---- intervals ------------------------------------------------------------------------------
def test_interval_narrows_as_more_of_the_job_is_seen():
    rng = np.random.default_rng(7)
    steps = noisy_steps(rng, 2000)
    widths = []
    for n in (100, 400, 1600):
        fc = forecast_run(job_record(steps[:n]), total_work=4000)
        widths.append(fc.energy_j.rel_halfwidth)
    assert widths[0] > widths[1] > widths[2] > 0


def test_stated_coverage_holds_on_noisy_steady_jobs():
    rng = np.random.default_rng(11)
    hits = 0
    trials = 40
    for _ in range(trials):
        steps = noisy_steps(rng, 3000)
        truth = sum(d * p for d, p in steps)
        fc = forecast_run(job_record(steps[:300]), total_work=3000)
        hits += fc.energy_j.low <= truth <= fc.energy_j.high
    assert hits / trials >= 0.85


def test_interval_allows_for_a_drift_the_first_tenth_cannot_show():
    # GPU power rising by 15 % over the job: at 10 % the rise is hidden in the noise, yet the
    # intervals must hold the end; a level-only interval (the central value) would miss it
    rng = np.random.default_rng(13)
    hits = level_hits = 0
    trials = 40
    for _ in range(trials):
        steps = [(d, p * (1 + 0.15 * k / 3000)) for k, (d, p) in enumerate(noisy_steps(rng, 3000))]
        truth = sum(d * p for d, p in steps)
        fc = forecast_run(job_record(steps[:300]), total_work=3000)
        hits += fc.energy_j.low <= truth <= fc.energy_j.high
        level_hits += abs(fc.energy_j.central - truth) < 0.01 * truth
    assert hits / trials >= 0.95  # 90 % intervals; these short jobs' are a little wider than needed
    assert level_hits / trials < 0.5  # the drift is real: the central value alone is off


def test_measurement_bounds_come_on_top_and_no_bound_is_below_what_is_spent():
    steps = [(0.1, 300.0)] * 300
    rec = job_record(steps, cpu_w=50.0, rel=(0.05, 0.05))
    fc = forecast_run(rec, total_work=3000)
    gpu, cpu = fc.components["gpu"], fc.components["cpu"]
    assert gpu.central == pytest.approx(300 * 300.0) and cpu.central == pytest.approx(50 * 300.0)
    # a perfectly steady rate: what the record will read is known; no bound below what is already read
    assert gpu.rel_halfwidth < 1e-6 and cpu.rel_halfwidth < 1e-6
    assert fc.energy_j.low >= rec.energy_j
    # the measurement's own bounds on top, as the final record will state them
    bounds = fc.record.components
    assert bounds["gpu"].uncertainty.rel_halfwidth == pytest.approx(0.05 * 0.9, rel=0.05)  # uniform +/-5 %, 90 %
    assert bounds["cpu"].uncertainty.rel_halfwidth == pytest.approx(0.30 * 0.9, rel=0.05)
    total = fc.energy_bounds_j
    assert total.central == pytest.approx(gpu.central + cpu.central)
    assert total.high - total.central < (bounds["gpu"].uncertainty.high - gpu.central) + (
        bounds["cpu"].uncertainty.high - cpu.central
    )  # independent errors
    assert any("the measurement's own bounds apply on top" in a for a in fc.assumptions)


def test_no_bound_below_what_is_spent_even_with_wide_measurement_bounds():  # issue 26
    rng = np.random.default_rng(3)
    rec = job_record(noisy_steps(rng, 200), cpu_w=50.0, rel=(0.4, 0.4))
    for kwargs in ({"total_work": 250}, {"total_work": 20_000}, {"total_s": 3600.0}):
        fc = forecast_run(rec, **kwargs, site="us-average")
        assert fc.energy_j.low >= rec.energy_j * (1 - 1e-9), kwargs
        for name, comp in rec.components.items():
            assert fc.components[name].low >= comp.energy_j * (1 - 1e-9)
        assert fc.duration_s.low >= rec.duration_s
        # the facility's bounds are the IT bounds times the site's PUE: never below IT x PUE
        pue = fc.facility_energy_j.central / fc.energy_j.central
        assert pue > 1
        assert fc.facility_energy_j.low == pytest.approx(fc.energy_j.low * pue)
        assert fc.facility_energy_j.high == pytest.approx(fc.energy_j.high * pue)


def test_coverage_parameter_is_stated_and_used():
    rng = np.random.default_rng(5)
    rec = job_record(noisy_steps(rng, 400))
    narrow = forecast_run(rec, total_work=4000, coverage=0.5)
    wide = forecast_run(rec, total_work=4000, coverage=0.99)
    assert narrow.coverage == 0.5 and wide.coverage == 0.99
    assert narrow.energy_j.rel_halfwidth < wide.energy_j.rel_halfwidth
    assert narrow.to_dict()["coverage"] == 0.5


def test_t_quantile_matches_tables():
    assert t_quantile(0.95, 14) == pytest.approx(1.761, abs=2e-3)
    assert t_quantile(0.995, 14) == pytest.approx(2.977, abs=5e-3)
    assert t_quantile(0.975, 1e9) == pytest.approx(1.960, abs=1e-3)


# ---- bad input and too little data -------------------------------------------------------------
@pytest.fixture
def rec() -> RunRecord:
    return job_record([(0.1, 100.0)] * 200)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"total_work": 100}, "below the 200"),
        ({"total_work": 0}, "finite number > 0"),
        ({"total_work": -5}, "finite number > 0"),
        ({"total_work": math.nan}, "finite number > 0"),
        ({"total_work": math.inf}, "finite number > 0"),
        ({"total_work": True}, "expected a number"),
        ({"total_work": "1000"}, "expected a number"),
        ({"total_s": 5.0}, "below the 20"),
        ({"total_s": math.nan}, "finite number > 0"),
        ({}, "exactly one of"),
        ({"total_work": 1000, "total_s": 100}, "exactly one of"),
        ({"total_work": 1000, "unit": "tokens"}, "unknown unit 'tokens'.*step"),
        ({"total_work": 1000, "warmup": -1}, "warmup"),
        ({"total_work": 1000, "warmup": math.nan}, "warmup"),
        ({"total_work": 1000, "coverage": 1.5}, "coverage"),
        ({"total_work": 1000, "draws": 10}, "draws"),
    ],
)
def test_bad_input_is_a_clear_error(rec, kwargs, match):
    with pytest.raises(InputError, match=match):
        forecast_run(rec, **kwargs)


def test_not_a_record_is_an_input_error():
    with pytest.raises(InputError, match="RunRecord"):
        forecast_run({"name": "x"}, total_work=10)


def test_too_little_data_says_what_is_needed():
    short = job_record([(0.1, 100.0)] * 5)
    fc = forecast_run(short, total_work=1000)
    assert not fc.ready and fc.energy_j is None and fc.components == {}
    assert "a forecast needs 6" in fc.reason and "let the job run about" in fc.reason
    assert "not ready" in fc.line()
    empty = RunRecord(name="new", components={"gpu": Component("gpu", 0.0, "counter", Estimate.exact(0.0))})
    fc = forecast_run(empty, total_work=1000)
    assert not fc.ready and "no work" in fc.reason
    fc = forecast_run(RunRecord(name="nothing"), total_s=100)
    assert not fc.ready and "no energy" in fc.reason
    fc = forecast_run(job_record([(0.1, 100.0)] * 200), total_work=1000, warmup=500)
    assert not fc.ready and "warm-up" in fc.reason


def test_record_without_work_timeline_assumes_a_constant_pace():
    rec = job_record([(0.1, 100.0)] * 200)
    rec.timeline.work = {}
    fc = forecast_run(rec, total_work=2000)
    assert fc.ready and fc.energy_j.central == pytest.approx(100.0 * 200.0, rel=1e-6)
    assert any("no work timeline" in a for a in fc.assumptions)


def test_malformed_timeline_is_an_input_error():
    rec = job_record([(0.1, 100.0)] * 200)
    rec.timeline.work["step"] = rec.timeline.work["step"][:-3]
    with pytest.raises(InputError, match="timeline.work.step has"):
        forecast_run(rec, total_work=2000)


# ---- footprint, grade, projected record --------------------------------------------------------
def test_footprint_and_grade_of_the_projected_job():
    from ecometer.impact import footprint

    rng = np.random.default_rng(2)
    rec = job_record(noisy_steps(rng, 400), cpu_w=40.0)
    fc = forecast_run(rec, total_work=4000, site="us-average", standard="ecometer-training")
    projected = fc.record
    assert projected.energy_j == pytest.approx(fc.energy_j.central)
    assert projected.energy_uncertainty == fc.energy_bounds_j  # the forecast's bounds, not independent sums
    assert projected.work["step"] == 4000 and projected.duration_s == pytest.approx(fc.duration_s.central)
    fp = footprint(projected, site="us-average")
    assert fc.water_onsite_l.central == pytest.approx(fp.water.onsite_l.central)
    assert fc.water_offsite_l.central == pytest.approx(fp.water.offsite_l.central)
    assert fc.carbon_g.central == pytest.approx(fp.carbon_g.central)
    assert fc.facility_energy_j.central == pytest.approx(fp.facility_energy_j.central)
    assert fc.facility_energy_j.central > fc.energy_j.central
    assert fc.standard == "ecometer-training"
    assert fc.grade is not None or fc.not_rated
    assert projected.assessment is not None and projected.footprint is not None
    # ten times the job: ten times the water (the footprint is linear in energy)
    scaled = forecast_run(rec, total_work=40_000, site="us-average")
    rest_ratio = (scaled.energy_j.central - rec.energy_j) / (fc.energy_j.central - rec.energy_j)
    assert rest_ratio == pytest.approx(39_600 / 3_600, rel=1e-6)
    d = fc.to_dict()
    assert d["kind"] == "ecometer.forecast" and d["water_onsite_l"]["central"] == fc.water_onsite_l.central
    assert "facility" in fc.line() and "grade" in fc.line() or "not rated" in fc.line()


def test_work_timeline_round_trips_and_survives_coarsening():
    tl = BucketTimeline(0.0, bucket_s=0.1, max_buckets=8)
    for i in range(40):
        tl.add("gpu:0", i * 0.1, (i + 1) * 0.1, 10.0)
        tl.add_work("step", (i + 1) * 0.1 - 1e-9, 2.0)
    out = tl.to_record(4.0)
    assert tl.bucket_s == pytest.approx(0.8) and len(out.work["step"]) == len(out.t_s) == 5
    assert sum(out.work["step"]) == pytest.approx(80.0)
    assert out.work["step"] == pytest.approx([16.0] * 5)
    rec = RunRecord(name="x", timeline=out)
    back = RunRecord.from_dict(rec.to_dict())
    assert back.timeline.work == out.work
    assert RunRecord.from_dict({**rec.to_dict(), "timeline": {"t_s": [0.05]}}).timeline.work == {}


def test_import_ecometer_stays_light():
    import subprocess
    import sys

    code = "import ecometer, sys; ecometer.RunRecord; print('numpy' in sys.modules, 'ecometer.forecast' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_timeline_widths_follow_the_bucket_layout():
    from ecometer.forecast.buckets import read_buckets

    rec = RunRecord(
        name="x",
        duration_s=0.25,
        components={"gpu": Component("gpu", 25.0, "counter", Estimate.exact(25.0))},
        timeline=Timeline(t_s=[0.05, 0.15, 0.225], power_w={"gpu:0": [100.0, 100.0, 100.0]}, bucket_s=0.1),
    )
    b = read_buckets(rec, None)
    assert b.width_s == pytest.approx([0.1, 0.1, 0.05])
    assert b.energy_j["gpu"].sum() == pytest.approx(25.0)


def test_an_asymmetric_uncertainty_is_written_low_and_high_not_plus_minus():  # issue 26: no "+/-2199 %"
    from ecometer.record.units import relative_text

    assert relative_text(100.0, 95.0, 105.0) == "±5 %"
    assert relative_text(92.9, 73.9, 1460.0) == "-20/+1,500 %"
    assert relative_text(1.0, 1.0, 1.0) == "exact"
