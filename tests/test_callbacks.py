"""Training-framework callbacks on tiny random-weight models on CPU (no downloads)."""

from __future__ import annotations

import json
import os
import time

import pytest
from conftest import tiny_gpt2

from ecometer.errors import InputError
from ecometer.integrations.fit import FitMeter, batch_size_and_tokens
from ecometer.record.model import load_record
from ecometer.sensors.replay import ReplaySensor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

GPU_W, CPU_W = 120.0, 15.0


def replay_sensors():
    return [ReplaySensor([(0, GPU_W)]), ReplaySensor([(0, CPU_W)], component="cpu", device="cpu")]


def test_batch_counting_reads_shapes_only():
    torch = pytest.importorskip("torch")
    ids = torch.zeros((4, 16), dtype=torch.long)
    assert batch_size_and_tokens({"input_ids": ids, "labels": ids}) == (4, 64)
    assert batch_size_and_tokens({"pixel_values": torch.zeros((8, 3, 2, 2))}) == (8, None)
    assert batch_size_and_tokens((torch.zeros((5, 3)), torch.zeros(5))) == (5, None)
    assert batch_size_and_tokens([{"input_ids": ids}]) == (4, 64)
    assert batch_size_and_tokens(torch.zeros(7)) == (7, None)
    assert batch_size_and_tokens("text") == (None, None)


def test_fit_meter_rejects_bad_arguments():
    with pytest.raises(InputError, match="work_unit"):
        FitMeter("x", work_unit="epoch")
    with pytest.raises(InputError, match="distributed"):
        FitMeter("x", distributed="maybe")


def test_non_main_process_without_distribution_meters_nothing():
    fit = FitMeter("x", meter_kwargs={"sensors": replay_sensors()}, distributed=False)
    fit.start(out_dir=None, world_size=4, is_main=False)
    fit.enter("step")
    fit.add_work(3, None)
    assert fit.meter is None and fit.stop() is None and fit.summary() == {}


def test_main_process_alone_scales_work_by_world_size(tmp_path):
    fit = FitMeter("x", out=None, meter_kwargs={"sensors": replay_sensors(), "interval_s": 0.02}, distributed=False)
    fit.start(out_dir=str(tmp_path), world_size=4, is_main=True)
    fit.enter("step")
    fit.add_work(3, 30)
    fit.exit("step")
    rec = fit.stop()
    assert rec.work == {"sample": 12, "token": 120}
    assert rec.meta["work_scaled_by_world_size"] == 4


# ---- Hugging Face transformers ----------------------------------------------------------------
def test_hf_trainer_callback_meters_a_tiny_gpt2(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from ecometer.integrations.hf import EcometerCallback

    torch.manual_seed(0)
    model, data = tiny_gpt2(24)

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=2,
        num_train_epochs=2,
        learning_rate=1e-3,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    cb = EcometerCallback(
        name="tiny-gpt2",
        work_unit="token",
        site="us-average",
        standard="ecometer-training",
        sensors=replay_sensors(),
        interval_s=0.01,
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[cb])
    t0 = time.monotonic()
    trainer.train()
    wall = time.monotonic() - t0
    rec = cb.record
    assert rec is not None and rec.status == "ok"
    # 24 samples of 16 tokens, 2 epochs; 6 micro-batches of 4 per epoch = 3 optimizer steps
    # optimizer steps counted too; FLOPs (estimated) are checked in tests/test_flops.py
    assert {k: v for k, v in rec.work.items() if k != "flop"} == {"sample": 48, "token": 48 * 16, "step": 6}
    assert rec.work_unit == "token"
    assert rec.phases["epoch"].count == 2 and rec.phases["step"].count == 6
    assert rec.phases["step"].work == {"sample": 48, "token": 768, "flop": rec.work["flop"]}
    assert 0 < rec.duration_s <= wall
    assert rec.components["gpu"].energy_j == pytest.approx(GPU_W * rec.duration_s, rel=1e-9)
    assert rec.phases["step"].energy_j <= rec.phases["epoch"].energy_j <= rec.energy_j * (1 + 1e-9)
    # footprint and assessment attached; record saved with the trainer's outputs
    assert rec.footprint is not None and rec.assessment is not None
    assert cb.path == str(tmp_path / "out" / "ecometer-tiny-gpt2.json")
    assert load_record(cb.path).to_dict() == rec.to_dict()
    # the summary is in the trainer's log history
    last = trainer.state.log_history[-1]
    assert last["ecometer_energy_j"] == pytest.approx(rec.energy_j)
    assert last["ecometer_energy_per_token_j"] == pytest.approx(rec.energy_j / 768)
    assert last["ecometer_record"] == cb.path and "ecometer_grade" in last
    assert json.dumps(last)  # plain JSON, as trainer_state.json needs
    assert cb._hook is None  # the forward hook is removed after training


# ---- PyTorch Lightning ------------------------------------------------------------------------
def test_lightning_callback_meters_a_tiny_fit(tmp_path):
    torch = pytest.importorskip("torch")
    pl = pytest.importorskip("lightning.pytorch")
    from ecometer.integrations.lightning import EcometerCallback

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(8, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            return torch.nn.functional.mse_loss(self.layer(x), y)

        def validation_step(self, batch, batch_idx):
            x, y = batch
            self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(40, 8), torch.randn(40, 1))
    train = torch.utils.data.DataLoader(data, batch_size=16)  # 16 + 16 + 8 per epoch
    val = torch.utils.data.DataLoader(data, batch_size=20)

    class Recorder(pl.loggers.logger.Logger):
        name, version = "recorder", "0"
        metrics: list = []

        def log_metrics(self, metrics, step=None):
            self.metrics.append(dict(metrics))

        def log_hyperparams(self, *args, **kwargs):
            pass

    logger = Recorder()
    cb = EcometerCallback(name="tiny-fit", sensors=replay_sensors(), interval_s=0.01)
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        devices=1,
        callbacks=[cb],
        logger=logger,
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(Tiny(), train, val)
    rec = cb.record
    assert rec is not None and rec.status == "ok"
    assert {k: v for k, v in rec.work.items() if k != "flop"} == {"sample": 3 * 40, "step": 9}
    assert rec.phases["epoch"].count == 3 and rec.phases["step"].count == 9
    assert rec.phases["validation"].count >= 3  # each epoch, plus the sanity check
    assert rec.components["cpu"].energy_j == pytest.approx(CPU_W * rec.duration_s, rel=1e-9)
    assert cb.path == str(tmp_path / "ecometer-tiny-fit.json") and load_record(cb.path).name == "tiny-fit"
    logged = [m for m in logger.metrics if "ecometer/energy_j" in m]
    assert logged and logged[-1]["ecometer/energy_j"] == pytest.approx(rec.energy_j)
    assert logged[-1]["ecometer/energy_per_sample_j"] == pytest.approx(rec.energy_j / 120)


def test_lightning_exception_stops_the_meter_as_failed(tmp_path):
    torch = pytest.importorskip("torch")
    pl = pytest.importorskip("lightning.pytorch")
    from ecometer.integrations.lightning import EcometerCallback

    class Boom(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def training_step(self, batch, batch_idx):
            raise RuntimeError("diverged")

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(4, 2)), batch_size=2)
    cb = EcometerCallback(name="boom", out=None, sensors=replay_sensors(), interval_s=0.01)
    trainer = pl.Trainer(
        max_epochs=1,
        accelerator="cpu",
        devices=1,
        callbacks=[cb],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
        default_root_dir=str(tmp_path),
    )
    with pytest.raises(RuntimeError, match="diverged"):
        trainer.fit(Boom(), data)
    assert cb.record.status == "failed" and "diverged" in cb.record.error
    assert not cb.fit.active


def test_hf_each_train_gets_its_own_record_file(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from ecometer.integrations.hf import EcometerCallback

    torch.manual_seed(0)

    def trainer(n, cb):
        args = transformers.TrainingArguments(
            output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_train_epochs=1, report_to="none",
            save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
        )
        model, data = tiny_gpt2(n, seq_len=8, vocab=50, n_embd=16, n_positions=16)
        return transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[cb])

    cb = EcometerCallback(name="again", sensors=replay_sensors(), interval_s=0.01)
    first = trainer(8, cb)
    first.train()
    first.train()  # the same trainer again: a second run, its own file
    other = EcometerCallback(name="again", sensors=replay_sensors(), interval_s=0.01)
    trainer(12, other).train()  # another trainer (another script) into the same output_dir
    out = tmp_path / "out"
    paths = [out / "ecometer-again.json", out / "ecometer-again.2.json", out / "ecometer-again.3.json"]
    assert sorted(out.glob("ecometer-again*.json")) == sorted(paths)
    assert [load_record(p).work["sample"] for p in paths] == [8, 8, 12]  # none overwritten
    assert cb.path == str(paths[1]) and other.path == str(paths[2])
