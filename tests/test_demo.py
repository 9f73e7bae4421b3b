"""``ecometer demo`` (three stories on fixed work) and the built-in workloads."""

from __future__ import annotations

import contextlib
import json
import time

import pytest

from ecometer.commands import workloads
from ecometer.commands.demo import CONFIG, scaled

DEMO_SCALE = 0.05


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


def test_work_scales_in_whole_multiples():
    assert scaled(600, 1.0, 10) == 600 and scaled(600, 0.05, 10) == 30 and scaled(600, 0.001, 10) == 10
    assert scaled(24_576, 0.05, 256) == 1280


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


def mlp_flops(cfg: dict) -> tuple[int, int]:
    """(training, forward) FLOP per sample of the demo's MLP, by hand: 2 x weights forward, 2 x for the
    weight gradients, 2 x for the input gradients of every layer but the first."""
    w1, w2, w3 = cfg["inputs"] * cfg["width"], cfg["width"] ** 2, cfg["width"] * 10
    return 4 * w1 + 6 * w2 + 6 * w3, 2 * (w1 + w2 + w3)


def test_demo_tells_three_stories_on_fixed_work(tmp_path, capsys):
    pytest.importorskip("torch")
    from ecometer.commands.cli import main

    out = tmp_path / "demo"
    t0 = time.monotonic()
    assert main(["demo", "--scale", str(DEMO_SCALE), "--out", str(out), "--no-gpu"]) == 0
    assert time.monotonic() - t0 < 60
    text = capsys.readouterr().out
    cfg = CONFIG["cpu"]
    # 1. the engineer: exact work (fixed steps, not fixed time), FLOPs by a measured step, phases, a score
    rec = json.loads((out / "engineer" / "record.json").read_text())
    steps = scaled(cfg["steps"], DEMO_SCALE, 10)
    train, forward = mlp_flops(cfg)
    assert rec["work"]["sample"] == steps * cfg["batch"] + 1024  # + one evaluation batch
    assert rec["work"]["flop"] == steps * cfg["batch"] * train + 1024 * forward
    assert rec["meta"]["work_estimates"]["flop"]["method"] == "measured"
    assert rec["scope"] == "process"  # on a CPU: this process's share, steady on a shared machine
    assert {"data", "forward", "backward", "optimizer", "evaluation"} <= set(rec["phases"])
    assert rec["attachments"]["assessment"]["standard"] == "ecometer-training"
    assert (out / "engineer" / "report.html").is_file() and (out / "engineer" / "timeline.png").is_file()
    assert "estimated (measured, -5%/+5%)" in text and "phases: " in text
    if not rec["attachments"]["assessment"]["rated"]:  # a short run says what would rate it
        assert "to be rated: run for at least 60 s" in text
    # 2. the sweep: the same samples for every batch size, compared in a chart and a table
    samples = scaled(cfg["samples"], DEMO_SCALE, max(cfg["sweep"]))
    for batch in cfg["sweep"]:
        swept = json.loads((out / "sweep" / f"batch-{batch}.json").read_text())
        assert swept["work"]["sample"] == samples + 1024 and swept["meta"]["batch_size"] == batch  # + evaluation
    assert (out / "sweep.png").stat().st_size > 1000 and "| batch_size |" in text
    # 3. the standards body: a local demonstration standard, grades with probabilities, a what-if
    std = (out / "local-standard.toml").read_text()
    assert "LOCAL DEMONSTRATION" in std and 'name = "demo-local"' in std
    assert "LOCAL DEMONSTRATION" in text and "grade A" in text and "if every edge were 25 % higher" in text
    assert "how a grade is made" in text and "%)" in text


def test_demo_rejects_bad_scale(capsys):
    from ecometer.commands.cli import main

    assert main(["demo", "--scale", "0"]) == 2
    assert "--scale" in capsys.readouterr().err


def test_demo_without_torch_measures_numpy_and_says_so(tmp_path, capsys, monkeypatch):
    from ecometer.commands.cli import main

    monkeypatch.setattr(workloads, "torch_available", lambda: False)
    out = tmp_path / "demo"
    assert main(["demo", "--scale", str(DEMO_SCALE), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rec = json.loads((out / "engineer" / "record.json").read_text())
    assert rec["work"]["matmul"] > 0 and rec["work_unit"] == "matmul"
    assert "torch is not installed" in text and not (out / "sweep.png").exists()
