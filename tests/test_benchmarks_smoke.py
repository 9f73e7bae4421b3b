"""Smoke test of the benchmark harness: a tiny CPU-only side-by-side run (no GPU, no Zeus;
CodeCarbon only where installed), plus the workloads' work accounting."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed

from benchmarks import _common as C  # noqa: E402
from benchmarks import side_by_side  # noqa: E402
from benchmarks import workloads as W  # noqa: E402


def test_workload_counts_work_units() -> None:
    done = W.cpu_matmul(steps=5, n=32)
    assert (done.units, done.unit, done.steps) == (5.0, "matmul", 5)
    job = W.build("cpu_matmul", "cpu", n=16)
    timed = job.run(seconds=0.05)
    assert timed.steps >= 1 and timed.seconds >= 0.05 and timed.units == timed.steps
    with pytest.raises(ValueError, match="exactly one"):
        job.run()
    with pytest.raises(ValueError, match="expected one of"):
        W.build("no_such_workload")


@pytest.mark.skipif(not C.have("torch"), reason="torch not installed")
def test_torch_workload_units_follow_batch_and_sequence() -> None:
    params = dict(W.WORKLOADS["transformer_train"].smoke_params, batch_size=2, seq_len=8)
    done = W.transformer_train(steps=2, device="cpu", **params)
    assert (done.unit, done.units) == ("token", 2 * 2 * 8)
    q = W.inference(steps=3, device="cpu", **dict(W.WORKLOADS["inference"].smoke_params, batch_size=5))
    assert (q.unit, q.units) == ("query", 15)


def test_side_by_side_smoke(tmp_path) -> None:
    out = tmp_path / "cpu"
    assert side_by_side.main(["--smoke", "--quiet", "--out", str(out), "--reps", "2"]) == 0
    result = json.loads((out / "results.json").read_text())
    env = json.loads((out / "environment.json").read_text())
    assert env["versions"]["python"] and "cpu_model" in env
    plan = result["plan"]
    assert plan["device"] == "cpu" and not plan["gpu"] and not plan["short"]
    expected = {"none", "ecometer"} | ({"codecarbon"} if C.have("codecarbon") else set())
    assert set(plan["tools"]) == expected
    if not C.have("zeus"):
        assert "zeus" in plan["skipped"]  # says what is missing instead of failing
    runs = result["runs"]
    assert not [r for r in runs if "error" in r], [r.get("error") for r in runs]
    assert {r["tool"] for r in runs} == expected and len(runs) == 2 * len(expected)
    # alternating order: the second repetition does not start with the same tool
    first = [r["tool"] for r in runs[: len(expected)]]
    second = [r["tool"] for r in runs[len(expected) :]]
    assert first != second and sorted(first) == sorted(second)
    eco = result["summary"]["ecometer"]
    assert eco["runs"] == 2 and all(s > 0 for s in eco["start_s"])
    assert eco["methods"]["cpu"] in ("counter", "modelled")
    assert all(j is not None and j > 0 for j in eco["cpu_j"])
    none = result["summary"]["none"]
    assert all(r["units"] == plan["steps"] for r in runs)  # same work under every tool
    assert max(none["meter_cpu_s"]) < min(eco["meter_cpu_s"])  # a meter costs more CPU than no meter
    md = (out / "results.md").read_text()
    assert "| ecometer |" in md and "Where ecometer is not ahead" in md
    assert (out / "side_by_side.png").stat().st_size > 1000


def test_uncertainty_benchmark_smoke(tmp_path) -> None:
    from benchmarks import uncertainty

    assert uncertainty.main(["--smoke", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "widths-after.json").read_text())
    assert result["timing"]["median_ms"] > 0
    rows = {(r["kind"], r["name"]): r for r in result["widths"]}
    assert rows[("energy", "it_energy_j")]["coverage"] == 0.95
    assert ("water", "total_l") in rows and ("phase", "step") in rows
