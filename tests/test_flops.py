"""FLOPs counted for the user: a measured step, the model's own count, the dense rule (real torch)."""

from __future__ import annotations

import logging
import os

import pytest
from conftest import tiny_gpt2

from ecometer.api import measure
from ecometer.errors import RecordError
from ecometer.record.model import RunRecord
from ecometer.sensors.replay import ReplaySensor
from ecometer.work.estimates import FLOP_METHODS, describe, note_estimate, work_estimate
from ecometer.work.flops import model_flop_per_token

torch = pytest.importorskip("torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def sensors():
    return [ReplaySensor([(0, 100.0)]), ReplaySensor([(0, 10.0)], component="cpu", device="cpu")]


def mlp(width: int = 64, inputs: int = 32, classes: int = 4):
    return torch.nn.Sequential(torch.nn.Linear(inputs, width), torch.nn.ReLU(), torch.nn.Linear(width, classes))


def mlp_train_flop_per_sample(width: int = 64, inputs: int = 32, classes: int = 4) -> int:
    """By hand: forward 2 x weights; weight gradients 2 x weights; input gradients 2 x weights of
    every layer but the first (its input needs no gradient). Biases are not matrix products."""
    w1, w2 = inputs * width, width * classes
    return 2 * (w1 + w2) + 2 * (w1 + w2) + 2 * w2


def test_plain_loop_counts_measured_flops_exactly():
    from ecometer.integrations.torchloop import count_flops

    torch.manual_seed(0)
    model = mlp()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with measure("loop", out=None, sensors=sensors(), interval_s=0.01) as meter:
        with count_flops(meter, model):
            for batch in (16, 16, 8):
                loss = model(torch.randn(batch, 32)).sum()
                loss.backward()
                opt.step()
                opt.zero_grad()
            model.eval()
            with torch.no_grad():
                model(torch.randn(5, 32))
    rec = meter.record
    forward_per_sample = 2 * (32 * 64 + 64 * 4)
    assert rec.work["sample"] == 45
    assert rec.work["flop"] == 40 * mlp_train_flop_per_sample() + 5 * forward_per_sample
    entry = rec.meta["work_estimates"]["flop"]
    assert entry["method"] == "measured"
    assert entry["per_unit"]["train"] == {"per": "sample", "flop": mlp_train_flop_per_sample()}
    est = work_estimate(rec, "flop")
    assert (est.low, est.high) == pytest.approx((0.95 * rec.work["flop"], 1.05 * rec.work["flop"]))
    assert "estimated (measured" in est.basis and describe(rec, "flop").startswith("estimated (measured")
    assert describe(rec, "sample") == "counted" and work_estimate(rec, "sample").is_exact


def test_last_step_is_counted_without_close_only_after_the_first():
    """After the measured first step, each step's FLOPs are added at its forward: nothing waits."""
    from ecometer.integrations.torchloop import count_flops

    model = mlp()
    with measure("loop", out=None, sensors=sensors(), interval_s=0.01) as meter:
        count_flops(meter, model)
        for _ in range(3):
            model(torch.randn(4, 32)).sum().backward()
    assert meter.record.work["flop"] == 12 * mlp_train_flop_per_sample()


def test_rule_and_model_bounds_hold_on_models_not_used_to_set_them():
    """The rule's and the framework count's stated bounds contain the measured FLOPs of other shapes."""
    transformers = pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    from ecometer.work.flops import StepFlops

    rule = FLOP_METHODS["rule"]
    shapes = [  # (layers, width, vocab, seq): held out, none of them the tiny test model
        (2, 64, 500, 32),
        (4, 128, 1000, 64),
        (2, 256, 5000, 128),
        (6, 96, 300, 48),
        (3, 512, 2000, 256),
        (2, 64, 50257, 64),  # GPT-2's vocabulary on a tiny model: the output projection dominates
    ]
    for n_layer, d, vocab, seq in shapes:
        cfg = transformers.GPT2Config(n_layer=n_layer, n_embd=d, n_head=4, vocab_size=vocab, n_positions=seq)
        model = transformers.GPT2LMHeadModel(cfg)
        ids = torch.randint(0, vocab, (2, seq))
        with FlopCounterMode(display=False) as fc:
            model(input_ids=ids, labels=ids).loss.backward()
        measured = fc.get_total_flops() / ids.numel()
        by_rule = 6 * sum(p.numel() for p in model.parameters())
        by_model, own = model_flop_per_token(model), StepFlops(model, "model").work_method  # per-model bounds
        assert by_rule * (1 - rule.rel_low) <= measured <= by_rule * (1 + rule.rel_high), (n_layer, d, vocab, seq)
        assert by_model * (1 - own.rel_low) <= measured <= by_model * (1 + own.rel_high), (n_layer, d, vocab, seq)
    for width, inputs in ((16, 256), (1024, 64), (300, 300)):  # MLPs: the first layer needs no input gradient
        by_rule = 6 * sum(p.numel() for p in mlp(width, inputs).parameters())
        measured = mlp_train_flop_per_sample(width, inputs)
        assert by_rule * (1 - rule.rel_low) <= measured <= by_rule * (1 + rule.rel_high)


def test_rule_on_a_lazy_model_says_so_once_and_counts_what_it_can(caplog):
    from ecometer.integrations.torchloop import count_flops

    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.LazyLinear(4))
    with measure("lazy", out=None, sensors=sensors(), interval_s=0.01) as meter:
        with caplog.at_level(logging.WARNING, logger="ecometer.work"):
            with count_flops(meter, model, method="rule"):
                for _ in range(3):
                    model(torch.randn(2, 8))
    said = [r for r in caplog.records if "cannot be counted" in r.getMessage()]
    assert len(said) == 1 and "1.weight" in said[0].getMessage()
    rec = meter.record
    # the lazy layer materialised at the first forward; the rule was fixed then with what could be counted
    assert rec.work["flop"] == 6 * (8 * 16 + 16) * 6
    assert rec.meta["work_estimates"]["flop"]["method"] == "rule"
    assert "cannot be counted" in rec.meta["work_estimates"]["flop"]["problems"][0]


def test_rule_refuses_convolutions():
    from ecometer.integrations.torchloop import count_flops

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    with measure("conv", out=None, sensors=sensors(), interval_s=0.01) as meter:
        with count_flops(meter, model, method="rule"):
            model(torch.randn(2, 3, 8, 8)).sum().backward()
    assert "flop" not in meter.record.work and meter.record.work["sample"] == 2
    assert "convolutions" in meter.record.meta["work_estimates"]["flop"]["problems"][0]


def test_one_unit_one_method():
    meta: dict = {}
    note_estimate(meta, "flop", FLOP_METHODS["rule"])
    note_estimate(meta, "flop", FLOP_METHODS["rule"], per_unit={})
    with pytest.raises(RecordError, match="already counted by method 'rule'"):
        note_estimate(meta, "flop", FLOP_METHODS["measured"])
    rec = RunRecord("r", work={"flop": 10.0}, meta={"work_estimates": {"flop": {"method": "x", "rel_low": 2}}})
    with pytest.raises(RecordError, match="meta.work_estimates.flop"):
        work_estimate(rec, "flop")


def test_estimated_flops_widen_the_graded_interval():
    """A FLOP estimate is graded with its bounds: never as a measurement."""
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component
    from ecometer.standards import load_standard
    from ecometer.standards.metrics import measure as metric_value

    std = load_standard("ecometer-training")
    m = std.metrics["flop_per_joule"]
    comp = Component("gpu", energy_j=1000.0, method="counter", uncertainty=Estimate.exact(1000.0))
    counted = RunRecord("c", duration_s=100.0, components={"gpu": comp}, work={"flop": 1e14})
    estimated = RunRecord("e", duration_s=100.0, components={"gpu": comp}, work={"flop": 1e14})
    note_estimate(estimated.meta, "flop", FLOP_METHODS["rule"])
    a, b = metric_value(m, counted), metric_value(m, estimated)
    assert a.central == b.central == pytest.approx(100.0)  # GFLOP/J
    assert a.low == a.high == 100.0
    # the rule's uniform support 65..150 GFLOP/J, read as a 95 % interval: 2.5 % cut off each end
    assert b.low == pytest.approx(65.0 + 0.025 * 85, rel=0.01) and b.high == pytest.approx(150.0 - 0.025 * 85, rel=0.01)
    assert b.coverage == 0.95
    assert "estimated (rule)" in b.basis


def test_hf_callback_counts_flops_and_keeps_the_trainers_own_count(tmp_path):
    transformers = pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    from ecometer.integrations.hf import EcometerCallback

    torch.manual_seed(0)
    model, data = tiny_gpt2(16)
    batch = {"input_ids": torch.stack([data[i]["input_ids"] for i in range(4)])}
    batch["labels"] = batch["input_ids"]
    with FlopCounterMode(display=False) as fc:  # one step of 4 x 16 tokens, measured here independently
        model(**batch).loss.backward()
    model.zero_grad()
    per_token = fc.get_total_flops() / 64
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        num_train_epochs=1,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    cb = EcometerCallback(name="flops", work_unit="token", sensors=sensors(), interval_s=0.01, out=None)
    transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[cb]).train()
    rec = cb.record
    assert rec.work["token"] == 256 and rec.work["flop"] == pytest.approx(per_token * 256, rel=1e-9)
    entry = rec.meta["work_estimates"]["flop"]
    assert entry["method"] == "measured" and entry["per_unit"]["train"]["per"] == "token"
    from ecometer.work.flops import StepFlops

    own = rec.meta["trainer_total_flos"]  # transformers' formula, within the bounds stated for it
    assert own <= rec.work["flop"] <= own * (1 + StepFlops(model, "model").work_method.rel_high)


def test_inference_flops_of_generation_are_counted_per_token():
    """Generation: the prompt's pass and the first one-token pass are measured, later passes scaled;
    the total agrees with torch's FLOP counter around the whole generation."""
    pytest.importorskip("transformers")
    from torch.utils.flop_counter import FlopCounterMode

    from ecometer.integrations.torchloop import count_flops

    torch.manual_seed(0)
    model, _ = tiny_gpt2(4)
    model.eval()
    ids = torch.randint(0, 100, (2, 8))
    with FlopCounterMode(display=False) as fc:  # the whole generation, counted by torch
        model.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=0)
    with measure("generate", out=None, sensors=sensors(), interval_s=0.01) as meter:
        with count_flops(meter, model):
            out = model.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=0)
    rec = meter.record
    assert out.shape == (2, 13)
    assert rec.work["token"] == 16 + 4 * 2  # the prompt, then one new token per sequence per pass (cached)
    per_unit = rec.meta["work_estimates"]["flop"]["per_unit"]
    assert set(per_unit) == {"forward", "decode"}
    assert rec.work["flop"] == pytest.approx(per_unit["forward"]["flop"] * 16 + per_unit["decode"]["flop"] * 8)
    assert rec.work["flop"] == pytest.approx(fc.get_total_flops(), rel=0.05)  # within the measured method's bounds


def test_lightning_callback_counts_training_flops_exactly(tmp_path):
    pl = pytest.importorskip("lightning.pytorch")
    from ecometer.integrations.lightning import EcometerCallback

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(8, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    data = torch.utils.data.TensorDataset(torch.randn(40, 8), torch.randn(40, 1))
    cb = EcometerCallback(name="flops", sensors=sensors(), interval_s=0.01, out=None)
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        callbacks=[cb],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=str(tmp_path),
    )
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=16))
    rec = cb.record
    # by hand, per sample: forward 2 x 8 and weight gradient 2 x 8 (the input needs no gradient)
    assert rec.work["sample"] == 80 and rec.work["flop"] == 80 * 32
    assert rec.meta["work_estimates"]["flop"]["method"] == "measured"


def test_a_flop_estimate_never_reads_as_counted_in_the_summary():
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component
    from ecometer.report.text import summary

    cpu = Component("cpu", 100.0, "counter", Estimate.exact(100.0))
    rec = RunRecord("r", duration_s=10.0, components={"cpu": cpu}, work={"flop": 1e12}, work_unit="flop")
    assert "counted)" in summary(rec)
    note_estimate(rec.meta, "flop", FLOP_METHODS["rule"])
    assert "estimated (rule, -35%/+50%))" in summary(rec) and "counted)" not in summary(rec)
