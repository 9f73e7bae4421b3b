"""Forecasts wired into the meter and its faces: the work timeline, ``Meter.forecast`` and the
record's ``forecasts``, the training callbacks (a real tiny HF Trainer and Lightning Trainer),
``ecometer run --total-work`` and the Prometheus exporter's forecast gauges."""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import tiny_gpt2

from ecometer.api import measure
from ecometer.commands.cli import main
from ecometer.errors import InputError, UsageError
from ecometer.forecast.live import LiveForecast, StepForecasts, metrics
from ecometer.integrations.fit import FitMeter
from ecometer.integrations.prometheus import forecast_families, render, serve
from ecometer.measuring.run import MAX_FORECASTS
from ecometer.record.model import RunRecord, load_record
from ecometer.sensors.replay import ReplaySensor

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
WATTS = 100.0


class Clock:
    t = 1000.0

    def __call__(self) -> float:
        return self.t


def replay_meter(clock: Clock, **kwargs):
    sensor = ReplaySensor([(0, WATTS)], method="counter", clock=clock)
    kwargs.setdefault("out", None)
    return measure("job", sensors=[sensor], clock=clock, background=False, interval_s=0.1, **kwargs)


def run_steps(meter, clock: Clock, pace: list[tuple[float, int]]) -> None:
    """``pace``: (seconds, steps in them), steps counted mid-bucket (clear of bucket edges)."""
    for seconds, steps in pace:
        ticks = round(seconds / 0.1)
        every = ticks / steps
        due = every
        for i in range(1, ticks + 1):
            clock.t += 0.05
            while i >= due - 1e-9:
                meter.add_work(1, "step")
                due += every
            clock.t += 0.05
            meter.sample_now()


# ---- the meter -------------------------------------------------------------------------------
def test_add_work_fills_the_work_timeline():
    clock = Clock()
    m = replay_meter(clock).start()
    clock.t += 0.05
    m.add_work(1, "step")
    clock.t += 0.2  # 0.25 s: the third bucket
    m.add_work(2, "step")
    clock.t += 0.1
    rec = m.stop()
    assert rec.timeline.work["step"][:3] == [1.0, 0.0, 2.0]
    assert sum(rec.timeline.work["step"]) == rec.work["step"] == 3.0


def test_meter_forecast_sees_the_pace_and_leaves_the_warm_up_out(tmp_path):
    clock = Clock()
    m = replay_meter(clock, out=tmp_path / "job.json").start()
    run_steps(m, clock, [(6.0, 12), (24.0, 240)])  # warm-up: 50 J a step; then 10 steps/s, 10 J a step
    fc = m.forecast(2520, unit="step")
    assert fc.ready and fc.basis["warmup_how"] == "detected"
    # 30 s measured (3000 J) and 2268 steps to go at 10 J each; a constant pace would say 11.9 J
    assert fc.energy_j.central == pytest.approx(3000.0 + 2268 * 10.0, rel=2e-3)
    assert fc.energy_j.coverage == 0.9 and fc.energy_j.distribution == "normal"  # a forecast's, not a bound's 1.0
    assert fc.duration_s.central == pytest.approx(30.0 + 226.8, rel=2e-3)
    m.run.write_checkpoint()
    ckpt = json.loads((tmp_path / "job.json.partial").read_text())
    assert len(ckpt["forecasts"]) == 1
    run_steps(m, clock, [(1.0, 10)])
    m.forecast(total_s=300.0)
    rec = m.stop()
    assert [f["target"] for f in rec.forecasts] == [{"total_work": 2520.0, "unit": "step"}, {"total_s": 300.0}]
    first = rec.forecasts[0]
    assert first["made_at_s"] == pytest.approx(30.0) and first["work_done"] == {"step": 252.0}
    assert first["energy_j"]["central"] == pytest.approx(fc.energy_j.central)
    assert load_record(tmp_path / "job.json").forecasts == rec.forecasts  # saved and read back


def test_forecast_between_counter_readings_sees_every_joule():
    clock = Clock()
    m = replay_meter(clock).start()  # counters read every 2 s: a counter's joules reach the timeline late
    run_steps(m, clock, [(20.0, 200)])  # the sampled timeline lags the counter read every 2 s
    fc = m.forecast(2000, unit="step")
    assert fc.basis["model"] == "level" and fc.energy_j.central == pytest.approx(20_000.0, rel=1e-9)
    assert fc.energy_j.low == pytest.approx(20_000.0, rel=1e-9)  # no spurious trend from a lagging timeline
    m.stop()


def test_meter_forecast_uses_the_faces_site_and_standard():
    clock = Clock()
    m = replay_meter(clock, site="us-average", standard="ecometer-training", work_unit="step").start()
    run_steps(m, clock, [(20.0, 200)])
    fc = m.forecast(2000)
    assert fc.ready and fc.water_onsite_l is not None and fc.carbon_g is not None
    assert fc.standard == "ecometer-training"
    m.stop()


def test_forecast_needs_a_running_meter_and_a_good_total():
    clock = Clock()
    m = replay_meter(clock)
    with pytest.raises(UsageError, match="not running"):
        m.forecast(100)
    m.start()
    run_steps(m, clock, [(0.5, 5)])
    with pytest.raises(InputError, match="below the 5"):
        m.forecast(3, unit="step")
    for bad in (0, -5, math.nan):
        with pytest.raises(InputError, match="total_work"):
            m.forecast(bad, unit="step")
    early = m.forecast(100, unit="step")
    assert not early.ready and "needs" in early.reason  # too little data: says what is needed, no number
    m.stop()
    with pytest.raises(UsageError, match="not running"):
        m.forecast(100)


def test_a_long_run_keeps_its_forecasts_thinned():
    clock = Clock()
    m = replay_meter(clock).start()
    for i in range(5 * MAX_FORECASTS):
        m.run.keep_forecast({"n": i})
    rec = m.stop()
    kept = [f["n"] for f in rec.forecasts]
    assert [f["number"] for f in rec.forecasts] == kept
    assert len(kept) <= MAX_FORECASTS and kept[0] == 0 and kept[-1] == 5 * MAX_FORECASTS - 1
    gaps = {b - a for a, b in zip(kept[:-2], kept[1:-1], strict=True)}
    assert gaps == {8}  # evenly spread: every 8th of 320 (40 kept), and the latest


def test_record_reader_checks_forecasts():
    assert RunRecord.from_dict({"name": "x", "schema_version": 2}).forecasts == []
    with pytest.raises(InputError, match="forecasts"):
        RunRecord.from_dict({"name": "x", "schema_version": 2, "forecasts": {"a": 1}})


# ---- callbacks' schedule -----------------------------------------------------------------------
def fit_meter(clock: Clock) -> FitMeter:
    sensors = [ReplaySensor([(0, WATTS)], method="counter", clock=clock)]
    kwargs = {"sensors": sensors, "clock": clock, "background": False, "interval_s": 0.1}
    fit = FitMeter("fit", out=None, meter_kwargs=kwargs)
    fit.start(out_dir=None, world_size=1, is_main=True)
    return fit


def test_step_forecasts_come_after_warm_up_retry_until_ready_and_at_epoch_ends(caplog):
    clock = Clock()
    fit = fit_meter(clock)
    sf = StepForecasts(after_steps=5, after_fraction=0.02)
    sf.begin(1000)  # the later of 5 steps and 2 % of 1000 steps: step 20
    made = []
    with caplog.at_level(logging.INFO, logger="ecometer.forecast"):
        for step in range(1, 401):
            clock.t += 0.05
            fc = sf.step(fit)
            clock.t += 0.05
            fit.meter.sample_now()
            if fc is not None:
                made.append((step, fc))
    assert len(made) == 1  # once past warm-up; later ones only at epoch ends
    step, fc = made[0]
    assert step >= 20 and fc.ready  # retried every step (a fifth of 5) until ready
    assert fc.target == {"total_work": 1000.0, "unit": "step"}
    assert fc.energy_j.central == pytest.approx(1000 * 0.1 * WATTS, rel=1e-3)
    assert any("forecast for 1,000 step" in r.getMessage() for r in caplog.records)
    assert sf.epoch_end(fit) is not None
    rec = fit.stop()
    assert rec.work == {"step": 400.0}
    assert sum(f["ready"] for f in rec.forecasts) == 2 and len(rec.forecasts) == (step - 20) + 2
    m = metrics(fc)
    assert m["ecometer/forecast_energy_j_low"] <= m["ecometer/forecast_energy_j"] <= m["ecometer/forecast_energy_j_high"]
    assert m["ecometer/forecast_observed_fraction"] == pytest.approx(step / 1000)


def test_a_short_framework_run_gets_a_first_forecast():  # issue 26: 60 HF steps of 20 ms, default settings
    clock = Clock()
    fit = fit_meter(clock)
    sf = StepForecasts()
    sf.begin(60)
    made = []
    for step in range(1, 61):
        clock.t += 0.02
        if step % 5 == 0:
            fit.meter.sample_now()
        fc = sf.step(fit)
        if fc is not None:
            made.append((step, fc))
    assert made, [f["reason"] for f in fit.stop().forecasts]
    step, fc = made[0]
    assert step < 60 and fc.energy_j.central == pytest.approx(60 * 0.02 * WATTS, rel=0.05)


def test_a_forecast_waiting_for_work_says_how_the_job_counts_it():  # issue 26: an actionable reason
    clock = Clock()
    m = replay_meter(clock).start()
    hint = "the command appends lines 'N' to $ECOMETER_WORK_FILE as it works"
    live = LiveForecast(m, total_work=3000, unit="step", every_s=5.0, clock=clock, work_hint=hint)
    clock.t += 1.0
    m.sample_now()
    live.get()
    assert live.status() == f"forecast not ready: no work counted yet: {hint}"
    m.stop()


def test_step_forecasts_without_a_total_or_with_bad_settings():
    sf = StepForecasts()
    sf.begin(float("inf"))
    assert sf.total is None
    sf.begin(None)
    assert sf.total is None
    sf.begin(2000)
    assert sf._next == 50  # the later of step 50 and 2 % of 2000 (40)
    sf.begin(10_000)
    assert sf._next == 200
    for bad in ({"after_steps": 0}, {"after_fraction": 1.0}, {"after_fraction": "x"}):
        with pytest.raises(InputError, match="forecast_after"):
            StepForecasts(**bad)


# ---- real training loops ------------------------------------------------------------------------
def test_hf_trainer_logs_a_forecast(tmp_path, caplog):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from ecometer.integrations.hf import EcometerCallback

    torch.manual_seed(0)
    model, data = tiny_gpt2(400)

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=2,
        max_steps=200,  # one epoch of 400 samples
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )
    cb = EcometerCallback(
        name="tiny",
        site="us-average",
        sensors=[ReplaySensor([(0, WATTS)], method="counter")],
        interval_s=0.01,
        forecast_after_steps=10,
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[cb])
    with caplog.at_level(logging.INFO, logger="ecometer.forecast"):
        trainer.train()
    rec = cb.record
    assert rec.work["step"] == 200
    logged = [e for e in trainer.state.log_history if "ecometer/forecast_energy_j" in e]
    assert logged, [f["reason"] for f in rec.forecasts]
    e = logged[0]
    assert e["ecometer/forecast_energy_j_low"] <= e["ecometer/forecast_energy_j"] <= e["ecometer/forecast_energy_j_high"]
    assert e["ecometer/forecast_water_onsite_l"] > 0 and "ecometer/forecast_carbon_g" in e
    assert 0 < e["ecometer/forecast_observed_fraction"] < 1 and e["step"] >= 10 and e["step"] % 2 == 0
    assert [f["target"]["total_work"] for f in rec.forecasts if f["ready"]] == [200.0]  # once; the epoch ends at 200
    assert any("tiny: forecast for 200 step" in r.getMessage() for r in caplog.records)


def test_lightning_trainer_logs_forecasts(tmp_path):
    torch = pytest.importorskip("torch")
    pl = pytest.importorskip("lightning.pytorch")
    from ecometer.integrations.lightning import EcometerCallback

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(64, 64)

        def on_train_start(self):
            clock.t += 0.025  # batches end mid-bucket (clear of the timeline's 0.1 s bucket edges)

        def training_step(self, batch, batch_idx):
            (x,) = batch
            y = x
            for _ in range(20):
                y = torch.tanh(self.layer(y) @ torch.ones(64, 64))
            clock.t += 0.05  # a batch takes 50 ms of the scripted clock, however loaded the machine is
            cb.fit.meter.sample_now()
            return y.pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.001)

    class Recorder(pl.loggers.logger.Logger):
        name, version = "recorder", "0"

        def __init__(self):
            super().__init__()
            self.metrics = []

        def log_metrics(self, metrics, step=None):
            self.metrics.append((step, dict(metrics)))

        def log_hyperparams(self, *args, **kwargs):
            pass

    torch.manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.randn(480, 64))
    logger = Recorder()
    clock = Clock()  # the meter runs on a scripted clock, sampled by the model's steps
    sensor = ReplaySensor([(0, WATTS)], method="counter", clock=clock)
    cb = EcometerCallback(
        name="fit", sensors=[sensor], clock=clock, background=False, interval_s=0.1, forecast_after_steps=10
    )
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        devices=1,
        callbacks=[cb],
        logger=logger,
        accumulate_grad_batches=2,  # 240 batches a run, 120 optimizer steps
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    trainer.fit(Tiny(), torch.utils.data.DataLoader(data, batch_size=6))
    rec = cb.record
    assert rec.work["step"] == 120 and rec.work["sample"] == 1440  # optimizer steps, not batches
    forecasts = [(s, m) for s, m in logger.metrics if "ecometer/forecast_energy_j" in m]
    assert forecasts, [f["reason"] for f in rec.forecasts]
    assert all(m["ecometer/forecast_energy_j_low"] <= m["ecometer/forecast_energy_j_high"] for _, m in forecasts)
    assert {f["target"]["total_work"] for f in rec.forecasts} == {120.0}
    steps = [s for s, _ in forecasts]
    assert rec.duration_s == pytest.approx(240 * 0.05 + 0.025)
    # past warm-up (from step 10, retried every 2 steps until ready), then at the epoch ends
    assert steps[0] >= 10 and steps[0] % 2 == 0 and steps[1:] == [s for s in (40, 80) if s > steps[0]], steps
    for _, m in forecasts:  # 120 steps of two 50 ms batches at 100 W after the 25 ms start: 1.2 kJ over 12 s
        assert m["ecometer/forecast_energy_j"] == pytest.approx(rec.duration_s * WATTS, rel=1e-3)
        assert m["ecometer/forecast_duration_s"] == pytest.approx(rec.duration_s, rel=1e-3)


# ---- ecometer run --total-work ------------------------------------------------------------------
def test_live_forecast_is_remade_at_most_every_interval_and_says_why_not():
    clock = Clock()
    m = replay_meter(clock).start()
    live = LiveForecast(m, total_work=3000, unit="step", every_s=5.0, clock=clock)
    assert live.status() == "forecast: waiting for the first reading"
    run_steps(m, clock, [(0.5, 5)])
    live.get()
    assert live.made == 1 and live.status().startswith("forecast not ready: let the job run about")
    for _ in range(48):  # 4.8 s more: no new forecast
        run_steps(m, clock, [(0.1, 1)])
        live.get()
    assert live.made == 1
    run_steps(m, clock, [(0.3, 3)])
    fc = live.get()
    assert live.made == 2 and fc.ready
    assert live.status().startswith("forecast 30.0 kJ")
    assert "ends in 4.91 min" in live.status()  # 300 s at 10 steps/s, 5.6 s done
    run_steps(m, clock, [(1.0, 10)])
    assert "ends in 4.89 min" in live.status()  # the time left counts down between forecasts
    too_small = LiveForecast(m, total_work=10, unit="step", clock=clock)
    too_small.get()
    assert too_small.status().startswith("no forecast: total_work 10 is below")
    m.stop()
    assert len(m.record.forecasts) == 2  # a refused total makes no forecast
    for bad in ({"total_work": 0}, {"total_work": -1}, {"total_s": math.nan}, {}):
        with pytest.raises(InputError):
            LiveForecast(m, **bad)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--total-work", "0"], "--total-work '0': expected a finite number > 0"),
        (["--total-work", "-3"], "--total-work '-3'"),
        (["--total-work", "nan"], "--total-work 'nan'"),
        (["--total-s", "inf"], "--total-s 'inf'"),
        (["--total-work", "5", "--total-s", "5"], "not both"),
    ],
)
def test_run_bad_totals_exit_2_in_one_line(argv, message, capsys):
    assert main(["run", *argv, "--", "true"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


CHILD_STEPS = """
import os, sys, time
stop, t0 = sys.argv[1], time.monotonic()
with open(os.environ["ECOMETER_WORK_FILE"], "a") as f:
    while not os.path.exists(stop) and time.monotonic() - t0 < 120.0:  # runs until the test has seen enough
        t = time.monotonic()
        while time.monotonic() - t < 0.02:
            pass
        f.write("1\\n")
        f.flush()
"""
LIVE_ELAPSED = re.compile(r"ecometer: (\d+(?:\.\d+)?) (ms|s) · ")


def follow_pty(master: int, stop: Path, after_ready_s: float, timeout_s: float = 120.0) -> str:
    """What the pseudo-terminal ``master`` shows until it closes; ``stop`` is created once the live
    line has shown a ready forecast and then ``after_ready_s`` more seconds of the run (the command's
    own clock, not this test's: however loaded the machine, the command runs until then)."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1.0)[0]:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
            if not stop.exists() and _age_since_ready(b"".join(chunks).decode("utf-8", "replace")) >= after_ready_s:
                stop.touch()
    finally:
        os.close(master)
        stop.touch()
    return b"".join(chunks).decode("utf-8", "replace")


def _age_since_ready(shown: str) -> float:
    """Seconds of the run the live line has shown since it first showed a ready forecast (-inf: none yet)."""
    first = shown.find(", ends in ")
    ages = [(m.start(), float(m[1]) / (1000.0 if m[2] == "ms" else 1.0)) for m in LIVE_ELAPSED.finditer(shown)]
    if first < 0 or not ages:
        return -math.inf
    at_ready = max((age for pos, age in ages if pos < first), default=0.0)
    return max(age for _, age in ages) - at_ready


def test_run_total_work_shows_the_forecast_live_and_keeps_it(tmp_path):
    out, stop = tmp_path / "run.json", tmp_path / "stop"
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 200, 0, 0))  # 200 columns: the line is not cut
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecometer", "run", "--out", str(out), "--work-unit", "step",
         "--total-work", "3000", "--", sys.executable, "-c", CHILD_STEPS, str(stop)],
        env=ENV, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    shown = follow_pty(master, stop, after_ready_s=7.5)  # the forecast after the first ready one is due <= 5.5 s later
    assert proc.wait(timeout=60) == 0
    assert "forecast not ready: " in shown  # the first, at 0.5 s, says what it needs
    assert "forecast " in shown and "ends in" in shown, shown[-2000:]
    rec = load_record(out)
    # the work file is read every 0.5 s, so the forecast needs 6 readings after warm-up: not ready at
    # 0.5 s; ready once the pace is seen, and remade while the job runs, not more often than every 5 s
    ready = [f["ready"] for f in rec.forecasts]
    why = [f.get("reason") for f in rec.forecasts]
    first = ready.index(True) if True in ready else len(ready)
    assert ready[0] is False and 0 < first < len(ready) - 1 and all(ready[first:]), (ready, why)
    made = [f["made_at_s"] for f in rec.forecasts]
    assert made[0] < 5.0 and all(b - a > 4.5 for a, b in zip(made, made[1:], strict=False)), made
    assert rec.forecasts[-1]["target"] == {"total_work": 3000.0, "unit": "step"}


# ---- Prometheus ---------------------------------------------------------------------------------
def test_exporter_serves_forecast_gauges_when_given_a_total():
    clock = Clock()
    m = replay_meter(clock, site="us-average", work_unit="step").start()
    run_steps(m, clock, [(20.0, 200)])
    with serve(m, port=0, total_work=2000) as exporter:
        text = urllib.request.urlopen(exporter.url, timeout=10).read().decode()
        assert exporter.forecast.made == 1
        urllib.request.urlopen(exporter.url, timeout=10).read()
        assert exporter.forecast.made == 1  # cached: remade at most every 10 s
    assert "ecometer_forecast_ready 1.0" in text
    central = float(text.split("\necometer_forecast_energy_joules ")[1].split()[0])
    assert central == pytest.approx(20_000.0, rel=1e-9)  # 200 of 2000 steps done at 10 J each
    # one gauge per bound, named and labelled like the live ones (issue 26): a sum() never mixes bounds
    assert "bound=\"" not in text and "scope=\"onsite" not in text
    low = float(text.split("\necometer_forecast_energy_low_joules ")[1].split()[0])
    high = float(text.split("\necometer_forecast_energy_high_joules ")[1].split()[0])
    assert low <= central <= high and "\necometer_forecast_energy_coverage_ratio 0.9" in text
    assert "\necometer_forecast_duration_high_seconds " in text
    assert 'ecometer_forecast_water_low_litres{kind="onsite"}' in text
    assert 'ecometer_forecast_water_litres{kind="offsite"}' in text
    assert 'ecometer_water_litres_total{kind="offsite"}' in text  # the live gauge: the same label
    assert "\necometer_forecast_carbon_grams " in text
    assert "ecometer_forecast_observed_ratio 0.1" in text and "ecometer_forecast_coverage_ratio 0.9" in text
    assert "ecometer_forecast" not in render(m)  # no total: no forecast gauges
    m.stop()
    assert [f.name for f in forecast_families(None)] == ["ecometer_forecast_ready"]


# ---- forecasts against the outcome ------------------------------------------------------------
def test_kept_forecasts_are_compared_with_the_outcome(tmp_path, capsys):
    clock = Clock()
    m = replay_meter(clock, out=tmp_path / "job.json").start()
    run_steps(m, clock, [(6.0, 12), (24.0, 240)])  # the warm-up of the test above
    m.forecast(500, unit="step")  # the run will end at 500 steps
    m.forecast(400, unit="step")  # a total the run will not end at
    run_steps(m, clock, [(24.8, 248)])
    rec = m.stop()
    assert rec.work["step"] == 500
    from ecometer.forecast.outcome import compare

    rows = compare(rec)
    assert [r["reached"] for r in rows] == [True, False]
    assert rows[0]["inside"] and rows[0]["error"] == pytest.approx(0.0, abs=2e-3)
    assert rows[0]["made_at_fraction"] == pytest.approx(252 / 500)
    assert rows[1]["error"] < -0.1 and not rows[1]["inside"]
    assert main(["forecast", str(tmp_path / "job.json"), "--kept"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("forecast at 30.0 s (50.4% of the job): 5.48 kJ") and "inside its 90% interval" in out[0]
    assert "the run did not end at the forecast's total" in out[1]
    assert main(["forecast", str(tmp_path / "job.json"), "--kept", "--total-work", "5"]) == 2


def test_run_prometheus_with_a_total_serves_the_forecast_gauges(tmp_path):
    from tests.test_cli_run_prometheus import CHILD, free_port

    port = free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(tmp_path / "run.json"), "--prometheus",
         f"127.0.0.1:{port}", "--prometheus-linger", "0", "--total-work", "1000", "--",
         sys.executable, "-c", CHILD, str(port)],
        capture_output=True, text=True, timeout=60, env=ENV,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "# TYPE ecometer_forecast_ready gauge\necometer_forecast_ready 0.0" in proc.stdout  # no work yet
    assert load_record(tmp_path / "run.json").forecasts[0]["target"] == {"total_work": 1000.0, "unit": None}
