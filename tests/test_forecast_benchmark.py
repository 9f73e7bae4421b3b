"""Smoke run of the forecast benchmark (benchmarks/forecast.py): a few seeded synthetic jobs
per scenario, results written, warm-up and phase changes found where the jobs have them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed

from benchmarks import forecast as bench  # noqa: E402


def test_forecast_benchmark_smoke(tmp_path) -> None:
    assert bench.main(["--smoke", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "results.json").read_text())
    assert "cpu" not in result  # the smoke leaves the 60 s training loop out
    by_name = {r["scenario"]: r for r in result["synthetic"]["scenarios"]}
    assert set(by_name) == set(bench.SCENARIOS)
    for r in by_name.values():
        assert r["ready"] == r["trials"] == 8
        assert 0.0 <= r["energy_j"]["coverage"] <= 1.0 and r["energy_j"]["median_rel_halfwidth"] > 0
        assert r["coverage_stated"] == 0.9
    assert by_name["warmup"]["warmup_detected"] == 8 and by_name["two_phases"]["warmup_detected"] == 8
    assert by_name["steady"]["energy_j"]["median_abs_rel_error"] < 0.02
    widths = [w["median_rel_halfwidth"] for w in result["synthetic"]["by_fraction"]]
    assert widths == sorted(widths, reverse=True)  # the interval narrows as more of the job is seen
    md = (tmp_path / "results.md").read_text()
    assert "| steady | energy_j |" in md and "coverage" in md


def test_synthetic_job_truth_is_the_sum_of_its_steps() -> None:
    import numpy as np

    record, truth = bench.synthetic_job("steady", np.random.default_rng(0), steps=1000, at=0.2)
    assert record.work["step"] == 200 and sum(record.timeline.work["step"]) == 200
    assert truth["energy_j"] == truth["gpu"] + truth["cpu"]
    assert 0.15 < record.energy_j / truth["energy_j"] < 0.25
    assert record.duration_s < truth["duration_s"]
