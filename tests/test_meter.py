"""The meter against scripted sensors: exact energies, phases, work, records, threads."""

from __future__ import annotations

import json
import threading

import pytest
from conftest import FakeClock, manual_meter, run_steps

import ecometer
from ecometer.measuring.meter import Meter
from ecometer.record.model import checkpoint_path, load_record
from ecometer.sensors.replay import ReplaySensor


@pytest.mark.parametrize("method", ["integrated", "counter"])
def test_replay_total_is_exact(method):
    clock = FakeClock()
    # 100 W for 2 s, 300 W for 1 s, then 50 W: over 5 s -> 200 + 300 + 100 = 600 J
    sensor = ReplaySensor([(0, 100), (2, 300), (3, 50)], method=method, clock=clock)
    m = manual_meter(clock, [sensor])
    m.start()
    run_steps(m, clock, 5.0, 0.37)
    clock.t = m.t0 + 5.0
    rec = m.stop()
    assert rec.components["gpu"].energy_j == pytest.approx(600.0, rel=1e-9)
    assert rec.components["gpu"].method == method
    assert rec.duration_s == pytest.approx(5.0)
    assert rec.energy_j == pytest.approx(600.0, rel=1e-9)
    assert rec.status == "ok"


def test_linear_trace_integrates_exactly_with_coarse_polls():
    clock = FakeClock()
    sensor = ReplaySensor([(0, 0), (10, 100)], interpolation="linear", clock=clock)
    m = manual_meter(clock, [sensor])
    m.start()
    run_steps(m, clock, 10.0, 3.3)
    clock.t = m.t0 + 10.0
    rec = m.stop()
    assert rec.energy_j == pytest.approx(500.0, rel=1e-9)


def test_phases_nested_repeated_and_partitioned():
    clock = FakeClock()
    sensor = ReplaySensor([(0, 100), (4, 200)], method="counter", clock=clock)
    m = manual_meter(clock, [sensor], interval_s=0.1)
    m.start()
    for _ in range(3):  # 3 x (forward 1 s inside step 1.5 s)
        with m.phase("step"):
            with m.phase("forward"):
                run_steps(m, clock, 1.0, 0.1)
            run_steps(m, clock, 0.5, 0.1)
    run_steps(m, clock, 0.5, 0.1)
    rec = m.stop()
    step, fwd = rec.phases["step"], rec.phases["forward"]
    assert step.count == 3 and fwd.count == 3
    assert step.duration_s == pytest.approx(4.5)
    assert fwd.duration_s == pytest.approx(3.0)
    # step covers 0..4.5 s: 4 s x 100 W + 0.5 s x 200 W
    assert step.energy_j == pytest.approx(500.0, rel=1e-6)
    # forward covers 0-1, 1.5-2.5, 3-4 s: all at 100 W
    assert fwd.energy_j == pytest.approx(300.0, rel=1e-6)
    assert rec.energy_j == pytest.approx(4 * 100 + 1 * 200, rel=1e-9)
    spans = rec.timeline.spans
    assert [s.name for s in spans].count("forward") == 3
    assert {s.depth for s in spans if s.name == "forward"} == {1}


def test_calibrated_counter_curve_splits_phases_by_power_shape():
    """Counter read only at start and stop; the phase split follows the power points."""
    clock = FakeClock()
    sensor = ReplaySensor([(0, 100), (1, 300)], method="counter", clock=clock)
    m = manual_meter(clock, [sensor], counter_interval_s=1e9)
    m.start()
    with m.phase("low"):
        run_steps(m, clock, 1.0, 0.1)
    with m.phase("high"):
        run_steps(m, clock, 1.0, 0.1)
    rec = m.stop()
    assert rec.energy_j == pytest.approx(400.0, rel=1e-9)
    assert rec.phases["low"].energy_j == pytest.approx(100.0, rel=1e-3)
    assert rec.phases["high"].energy_j == pytest.approx(300.0, rel=1e-3)


def test_timeline_energy_matches_total():
    clock = FakeClock()
    sensor = ReplaySensor([(0, 100), (2, 300), (3, 50)], clock=clock)
    m = manual_meter(clock, [sensor], interval_s=0.1)
    m.start()
    run_steps(m, clock, 6.0, 0.1)
    rec = m.stop()
    tl = rec.timeline
    widths = [tl.bucket_s] * len(tl.t_s)
    widths[-1] = rec.duration_s - tl.bucket_s * (len(tl.t_s) - 1)
    energy = sum(p * w for p, w in zip(tl.power_w["gpu:0"], widths, strict=True))
    assert energy == pytest.approx(rec.energy_j, rel=1e-6)
    assert max(tl.power_w["gpu:0"]) == pytest.approx(300.0, rel=1e-6)


def test_work_and_per_work():
    clock = FakeClock()
    m = manual_meter(clock, [ReplaySensor([(0, 50)], clock=clock)], work_unit="sample")
    m.start()
    for _ in range(10):
        m.add_work(64)
        run_steps(m, clock, 0.2, 0.1)
    m.add_work(1000, unit="token")
    m.add_work(float("nan"))
    m.add_work(-3)
    rec = m.stop()
    assert rec.work == {"sample": 640, "token": 1000}
    assert rec.per_work("energy_j") == pytest.approx(100.0 / 640)
    assert rec.per_work("energy_j", "token") == pytest.approx(0.1)
    assert sum("add_work" in w for w in rec.warnings) == 2
    with pytest.raises(KeyError):
        rec.per_work("energy_j", "query")


def test_exception_in_body_records_failed_and_reraises(tmp_path):
    out = tmp_path / "run.json"
    with pytest.raises(ZeroDivisionError):
        with ecometer.measure("boom", sensors=[ReplaySensor([(0, 10)])], out=out, interval_s=0.01) as m:
            1 / 0  # noqa: B018
    assert m.record.status == "failed"
    assert "ZeroDivisionError" in m.record.error
    assert load_record(out).status == "failed"
    assert not checkpoint_path(out).exists()


def test_keyboard_interrupt_is_interrupted(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with ecometer.measure("ki", sensors=[ReplaySensor([(0, 10)])], out=tmp_path / "r.json") as m:
            raise KeyboardInterrupt
    assert m.record.status == "interrupted"


def test_decorator_restartable(tmp_path):
    meter = ecometer.measure("deco", sensors=[ReplaySensor([(0, 10)])], out=None, interval_s=0.01)

    @meter
    def work(x):
        return x * 2

    assert work(3) == 6
    first = meter.record
    assert work(4) == 8
    assert meter.record is not first and meter.record.status == "ok"


def test_save_load_round_trip(tmp_path):
    clock = FakeClock()
    m = manual_meter(clock, [ReplaySensor([(0, 120)], clock=clock, uncertainty=(0.05, 0.05))], work_unit="token")
    m.start()
    with m.phase("prefill"):
        run_steps(m, clock, 1.0, 0.1)
    m.add_work(500)
    rec = m.stop()
    path = rec.save(tmp_path / "r.json")
    back = load_record(path)
    assert back.to_dict() == rec.to_dict()
    assert back.components["gpu"].uncertainty.low == pytest.approx(120 * 0.95)
    assert back.phases["prefill"].energy_j == pytest.approx(120.0)
    data = json.loads(path.read_text())
    assert data["schema_version"] == 2 and data["ecometer_version"] == ecometer.__version__


def test_checkpoint_written_while_running_and_readable(tmp_path):
    clock = FakeClock()
    out = tmp_path / "long.json"
    m = manual_meter(clock, [ReplaySensor([(0, 100)], clock=clock)], out=out, checkpoint_interval_s=5.0)
    m.start()
    run_steps(m, clock, 12.0, 0.5)
    ckpt = checkpoint_path(out)
    assert ckpt.exists() and not out.exists()
    partial = load_record(out)  # falls back to the checkpoint, as after SIGKILL
    assert partial.checkpoint and partial.status == "interrupted"
    assert 900 <= partial.energy_j <= 1200
    m.stop()
    assert out.exists() and not ckpt.exists()


def test_two_meters_in_two_threads(tmp_path):
    results = {}

    def job(name, watts):
        with ecometer.measure(name, sensors=[ReplaySensor([(0, watts)])], out=None, interval_s=0.01) as m:
            with m.phase("p"):
                threading.Event().wait(0.3)
        results[name] = m.record

    threads = [threading.Thread(target=job, args=(f"t{i}", 100 * (i + 1))) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(2):
        rec = results[f"t{i}"]
        assert rec.average_power_w == pytest.approx(100 * (i + 1), rel=1e-6)
        assert rec.phases["p"].count == 1


def test_background_sampler_collects_points():
    sensor = ReplaySensor([(0, 42)])
    with ecometer.measure("bg", sensors=[sensor], out=None, interval_s=0.01) as m:
        threading.Event().wait(0.25)
        live = m.live()
    assert sensor.polls >= 5
    assert live.power_w["gpu"] == pytest.approx(42.0)
    assert m.record.energy_j == pytest.approx(42.0 * m.record.duration_s, rel=1e-6)


def test_start_twice_is_an_error_and_stop_twice_returns_same():
    m = Meter("x", sensors=[ReplaySensor([(0, 1)])], out=None)
    m.start()
    with pytest.raises(RuntimeError):
        m.start()
    rec = m.stop()
    assert m.stop() is rec


def test_bad_arguments_are_clear():
    with pytest.raises(ecometer.errors.InputError, match="scope"):
        Meter("x", scope="galaxy")
    with pytest.raises(ecometer.errors.InputError, match="interval_s"):
        Meter("x", interval_s=0)


def test_bounded_memory_over_simulated_week():
    clock = FakeClock()
    sensor = ReplaySensor([(0, 300), (3600, 200)], method="counter", clock=clock)
    m = manual_meter(clock, [sensor], interval_s=10.0, timeline_buckets=512)
    m.start()
    for _ in range(7 * 24 * 360):  # 7 days at 10 s
        with m.phase("step"):
            clock.advance(10.0)
            m.sample_now()
    rec = m.stop()
    assert rec.duration_s == pytest.approx(7 * 86400)
    assert rec.energy_j == pytest.approx(300 * 3600 + 200 * (7 * 86400 - 3600), rel=1e-9)
    assert len(rec.timeline.t_s) <= 512
    assert len(rec.timeline.spans) <= 2000 and rec.timeline.spans_dropped > 0
    track = m.run.tracks["gpu:0"]
    assert len(track.curve_t) < 50
    assert len(rec.to_json()) < 2_000_000


def test_top_level_spans_survive_many_nested_steps():
    clock = FakeClock()
    m = manual_meter(clock, [ReplaySensor([(0, 10)], clock=clock)], interval_s=1.0)
    m.start()
    for epoch in range(3):
        with m.phase(f"epoch-{epoch}"):
            for _ in range(1500):
                with m.phase("step"):
                    clock.advance(0.01)
            m.sample_now()
    rec = m.stop()
    names = {s.name for s in rec.timeline.spans}
    assert {"epoch-0", "epoch-1", "epoch-2"} <= names
    assert len(rec.timeline.spans) <= 2000 and rec.timeline.spans_dropped > 0


class SharedReplay(ReplaySensor):
    """A replay counter sensor whose process share follows a script (process scope)."""

    def __init__(self, shares, **kw):
        super().__init__(**kw)
        self.shares = shares  # (t_after_open, share) steps

    def share(self, now):
        t = now - self._t_open
        value = [s for start, s in self.shares if start <= t][-1]
        return {self._device.id: value}


def test_process_share_applies_per_tick_between_counter_reads():
    clock = FakeClock()
    sensor = SharedReplay([(0, 1.0), (0.5, 0.25)], trace=[(0, 100)], method="counter", clock=clock)
    m = manual_meter(clock, [sensor], scope="process", counter_interval_s=1e9, interval_s=0.1)
    m.start()
    run_steps(m, clock, 1.0, 0.1)
    rec = m.stop()
    # 0.5 s at share 1 and 0.5 s at share 0.25 of 100 W (one point of boundary slack)
    assert rec.energy_j == pytest.approx(50 + 12.5, abs=100 * 0.1 * 0.75 + 1e-9)
    assert rec.energy_j < 70


# ---- one run per call (issue 12, defect A) ------------------------------------------------------
def test_decorated_function_called_from_two_threads_gets_a_run_each(tmp_path, monkeypatch):
    monkeypatch.setenv("ECOMETER_DIR", str(tmp_path))
    meter = ecometer.measure("deco", sensors=[ReplaySensor([(0, 10)])], interval_s=0.01)
    together = threading.Barrier(2)

    @meter
    def work(x):
        together.wait(5)  # both calls are inside their runs at once
        meter.add_work(x + 1)  # counted in this call's own run
        return x

    results, errors = [], []

    def call(i):
        try:
            results.append(work(i))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert sorted(results) == [0, 1]
    records = [load_record(p) for p in sorted(tmp_path.glob("deco-*.json"))]
    assert [r.status for r in records] == ["ok", "ok"]
    assert sorted(r.work["item"] for r in records) == [1, 2]
    assert meter.record is not None and not meter.running


class _SlowOpen(ReplaySensor):
    """A sensor whose open() takes a while: a second start() arrives while the first opens."""

    def open(self) -> None:
        import time

        time.sleep(0.2)
        super().open()


def test_start_from_two_threads_starts_once():
    m = Meter("once", sensors=[_SlowOpen([(0, 5)])], out=None, interval_s=0.01)
    outcomes, go = [], threading.Barrier(2)

    def start():
        go.wait(5)
        try:
            m.start()
            outcomes.append("started")
        except RuntimeError:
            outcomes.append("refused")

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(outcomes) == ["refused", "started"]
    assert m.stop().status == "ok"


# ---- quiet by default (issue 12) -------------------------------------------------------------------
def test_what_is_modelled_is_said_once_and_kept_as_notes(monkeypatch, caplog):
    import logging

    import ecometer.measuring.run as run_module
    import ecometer.sensors.discover as discover_module

    why = "RAPL: /sys/class/powercap not present; CPU power is modelled from utilisation " + "x" * 500

    def fake_discover(gpus, scope):
        return [ReplaySensor([(0, 20.0)], component="cpu", device="cpu", method="modelled")], [why]

    monkeypatch.setattr(discover_module, "discover", fake_discover)
    monkeypatch.setattr(run_module, "_announced", set())
    with caplog.at_level(logging.INFO, logger="ecometer"):
        records = []
        for _ in range(3):
            with ecometer.measure("vm", out=None, interval_s=0.01) as m:
                pass
            records.append(m.record)
    for rec in records:
        assert rec.warnings == []  # nothing to act on
        assert rec.notes == [why]  # the full text, kept in the record
        assert rec.components["cpu"].method == "modelled"
    said = [r for r in caplog.records if r.name.startswith("ecometer.measuring.meter")]
    assert len(said) == 1 and len(said[0].getMessage()) < 160
    assert "ecometer info" in said[0].getMessage()
