"""``ecometer demo`` and the built-in workloads."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecometer.commands import workloads
from ecometer.commands.demo import plan

ROOT = Path(__file__).resolve().parents[1]


class CountingMeter:
    """Records phases and work like a meter would, without measuring anything."""

    def __init__(self) -> None:
        self.phases: list[str] = []
        self.work: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str):
        self.phases.append(name)
        yield

    def add_work(self, amount: float = 1, unit: str | None = None) -> None:
        self.work[unit or "item"] = self.work.get(unit or "item", 0.0) + amount


def test_plan_splits_the_time_budget():
    assert plan(10, False, False) == [("numpy", 10)]
    cpu = plan(10, True, False)
    assert [n for n, _ in cpu] == ["numpy", "torch-cpu"] and sum(s for _, s in cpu) == pytest.approx(10)
    gpu = plan(10, True, True)
    assert [n for n, _ in gpu] == ["numpy", "torch-cpu", "torch-cuda"] and sum(s for _, s in gpu) == pytest.approx(10)


def test_numpy_workload_counts_its_flops():
    meter = CountingMeter()
    t0 = time.perf_counter()
    result = workloads.numpy_matmul(meter, 0.2, size=128)
    assert 0.2 <= time.perf_counter() - t0 < 2.0
    assert meter.phases == ["numpy-matmul"] and result.work["matmul"] > 0
    assert meter.work["matmul"] == result.work["matmul"]
    assert meter.work["flop"] == pytest.approx(2 * 128**3 * result.work["matmul"])


def test_torch_workload_counts_samples_flops_and_phases():
    pytest.importorskip("torch")
    meter = CountingMeter()
    result = workloads.torch_train(meter, 0.3, device="cpu", batch_size=16, width=64)
    assert meter.phases[:2] == ["torch-setup-cpu", "torch-train-cpu"]
    assert {"forward", "backward", "optimizer"} <= set(meter.phases)
    steps = result.facts["steps"]
    assert steps > 0 and meter.work["sample"] == 16 * steps == result.work["sample"]
    assert result.facts["params"] == workloads.mlp_param_count(width=64)
    assert meter.work["flop"] == pytest.approx(6 * result.facts["params"] * 16 * steps)


def test_demo_end_to_end(tmp_path):
    out = tmp_path / "demo"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "ecometer", "demo", "--seconds", "2", "--out", str(out)],
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - t0 < 60
    for name in ("record.json", "report.html", "timeline.png", "breakdown.png", "per_unit.png", "grade.png"):
        assert (out / name).is_file(), name
    record = json.loads((out / "record.json").read_text())
    assert record["status"] == "ok" and record["name"] == "ecometer-demo"
    assert record["work"]["matmul"] > 0 and record["work"]["flop"] > 0
    assert "numpy-matmul" in record["phases"]
    if workloads.torch_available():
        assert record["work_unit"] == "sample" and record["work"]["sample"] > 0
        assert "torch-train-cpu" in record["phases"] and "forward" in record["phases"]
    assert record["attachments"]["footprint"]["water"]["total_l"]["central"] > 0
    assert record["attachments"]["assessment"]["standard"] == "ecometer-training"
    assert f"report: {out / 'report.html'}" in proc.stdout and "IT energy" in proc.stdout
    assert "water" in proc.stdout and "grade" in proc.stdout


def test_demo_rejects_bad_seconds(capsys):
    from ecometer.commands.cli import main

    assert main(["demo", "--seconds", "0"]) == 2
    assert "--seconds" in capsys.readouterr().err
