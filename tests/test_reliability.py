"""Faults during a run: failing, lying and hanging sensors; unwritable output; forks; threads.

Every test injects its fault through a scripted sensor (a :class:`ReplaySensor`, whose exact
energy is known, wrapped by :class:`Faulty`) so the expected figures are exact. See
docs/RELIABILITY.md for the table of faults and the test that shows each.
"""

from __future__ import annotations

import errno
import json
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import FakeClock, manual_meter, run_steps

import ecometer
from ecometer.measuring import lifecycle
from ecometer.measuring.meter import Meter
from ecometer.record.model import checkpoint_path, load_record
from ecometer.sensors.base import Sensor
from ecometer.sensors.replay import ReplaySensor

Fault = Callable[[int, float], BaseException | None]  # (call number, clock time) -> exception to raise


class Faulty(Sensor):
    """A sensor wrapping a ReplaySensor whose calls raise, lie or hang on a script."""

    def __init__(
        self,
        inner: ReplaySensor,
        clock: Callable[[], float],
        *,
        poll_fault: Fault | None = None,
        read_fault: Fault | None = None,
        counter_offset: Callable[[float], float] | None = None,
        hang_after_polls: int | None = None,
        max_power_w: float | None = None,
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.name = "faulty"
        self.component = inner.component
        self.method = inner.method
        self.poll_fault = poll_fault
        self.read_fault = read_fault
        self.counter_offset = counter_offset
        self.hang_after_polls = hang_after_polls
        self.release = threading.Event()
        self.hang_started: float | None = None
        self.polls = 0
        self.reads = 0
        self.fail_next_read = 0
        if max_power_w is not None:
            self.max_power_w = max_power_w

    def open(self) -> None:
        self.inner.open()

    def devices(self):
        return self.inner.devices()

    def poll(self, now):
        self.polls += 1
        if self.hang_after_polls is not None and self.polls > self.hang_after_polls:
            self.hang_started = self.hang_started or time.monotonic()
            self.release.wait(30.0)  # a driver call that blocks
        exc = self.poll_fault and self.poll_fault(self.polls, self.clock())
        if exc:
            raise exc
        return self.inner.poll(now)

    def read_counters(self):
        self.reads += 1
        if self.fail_next_read:
            self.fail_next_read -= 1
            raise OSError(errno.EIO, "Input/output error")
        exc = self.read_fault and self.read_fault(self.reads, self.clock())
        if exc:
            raise exc
        values = self.inner.read_counters()
        if values is not None and self.counter_offset is not None:
            t = self.clock() - self.inner._t_open
            values = {k: v + self.counter_offset(t) for k, v in values.items()}
        return values

    def uncertainty(self):
        return self.inner.uncertainty()


def manual(clock: FakeClock, sensors, **kw) -> Meter:
    return manual_meter(clock, sensors, name="fault", **kw)


def after(t_fail: float, exc: BaseException) -> Fault:
    """Raise ``exc`` from the first call at or after ``t_fail`` (clock time)."""
    return lambda n, t: exc if t >= t_fail else None


def timeline_energy(rec, channel: str) -> float:
    tl = rec.timeline
    widths = [tl.bucket_s] * len(tl.t_s)
    widths[-1] = rec.duration_s - tl.bucket_s * (len(tl.t_s) - 1)
    return sum((p or 0.0) * w for p, w in zip(tl.power_w[channel], widths, strict=True))


# ---- a GPU that disappears; a counter that fails ------------------------------------------------
def test_gpu_lost_mid_run_keeps_its_data_and_the_other_sensors():
    clock = FakeClock()
    lost = RuntimeError("NVML_ERROR_GPU_IS_LOST")
    gpu = Faulty(
        ReplaySensor([(0, 100)], method="counter", clock=clock),
        clock,
        poll_fault=after(1002.45, lost),
        read_fault=after(1002.45, lost),
    )
    cpu = ReplaySensor([(0, 50), (3, 70)], component="cpu", method="counter", clock=clock)
    m = manual(clock, [gpu, cpu], counter_interval_s=1.0)
    m.start()
    with m.phase("train"):
        run_steps(m, clock, 5.0)
    rec = m.stop()  # never raises because of a sensor
    assert rec.status == "ok"
    gpu_c, cpu_c = rec.components["gpu"], rec.components["cpu"]
    # what was measured up to the failure: counter to 2.0 s, then power points to 2.4 s
    assert gpu_c.energy_j == pytest.approx(100 * 2.4, rel=1e-9)
    assert gpu_c.method == "integrated"
    assert any("unreadable after 2.000 s" in n for n in gpu_c.notes)
    assert any("no data after 2.400 s" in n for n in gpu_c.notes)
    # the other sensor was sampled to the end, exactly
    assert cpu_c.energy_j == pytest.approx(50 * 3 + 70 * 2, rel=1e-9)
    assert cpu_c.method == "counter"
    # one warning per failing call kind, naming the device and the error
    gpu_warnings = [w for w in rec.warnings if "gpu:0" in w and "NVML_ERROR_GPU_IS_LOST" in w]
    assert len(gpu_warnings) == 2
    assert {"poll()" in w for w in gpu_warnings} == {True, False}
    # and one that says the counter was given up after failing reads in a row
    assert sum("failed in a row" in w for w in rec.warnings if "gpu:0" in w) == 1
    # phases and timeline stay consistent with the totals
    assert rec.phases["train"].energy_j == pytest.approx(rec.energy_j, rel=1e-6)
    assert timeline_energy(rec, "gpu:0") == pytest.approx(gpu_c.energy_j, rel=1e-6)


def test_counter_lost_but_power_alive_falls_back_to_integrated_power():
    clock = FakeClock()
    gpu = Faulty(
        ReplaySensor([(0, 100), (3, 200)], method="counter", clock=clock),
        clock,
        read_fault=after(1002.45, RuntimeError("NVML_ERROR_UNKNOWN")),
    )
    m = manual(clock, [gpu], counter_interval_s=1.0)
    m.start()
    run_steps(m, clock, 5.0)
    rec = m.stop()
    comp = rec.components["gpu"]
    assert comp.energy_j == pytest.approx(100 * 3 + 200 * 2, rel=1e-9)  # power points are exact here
    assert comp.method == "integrated"
    assert rec.devices[0]["counter_j"] == pytest.approx(200.0)  # the last good reading, at 2.0 s
    assert any("the 500 J after that are integrated" in n for n in comp.notes)
    assert sum("NVML_ERROR_UNKNOWN" in w for w in rec.warnings) == 1


def test_counter_unreadable_at_start_is_integrated_with_a_warning():
    clock = FakeClock()
    gpu = Faulty(
        ReplaySensor([(0, 120), (2, 60)], method="counter", clock=clock),
        clock,
        read_fault=lambda n, t: PermissionError(errno.EACCES, "Permission denied"),
    )
    m = manual(clock, [gpu])
    m.start()
    run_steps(m, clock, 4.0)
    rec = m.stop()
    comp = rec.components["gpu"]
    assert comp.method == "integrated"
    assert comp.energy_j == pytest.approx(120 * 2 + 60 * 2, rel=1e-9)
    (warning,) = [w for w in rec.warnings if "gpu:0" in w]
    assert "Permission denied" in warning and "integrated from power points for the whole run" in warning
    assert gpu.reads == 2  # tried twice at start, then not again


def test_garbage_from_a_sensor_is_an_error_of_that_sensor_only():
    clock = FakeClock()

    class Garbage(ReplaySensor):
        def poll(self, now):
            super().poll(now)
            return [("not", "a dict")]

    bad = Garbage([(0, 10)], clock=clock)
    good = ReplaySensor([(0, 30)], component="cpu", clock=clock)
    m = manual(clock, [bad, good])
    m.start()
    run_steps(m, clock, 2.0)
    rec = m.stop()
    assert rec.components["cpu"].energy_j == pytest.approx(60.0)
    assert rec.components["gpu"].energy_j == 0.0
    assert any("gpu:0" in w and "poll() returned list" in w for w in rec.warnings)


# ---- counters that go backwards or jump ---------------------------------------------------------
@pytest.mark.parametrize(
    "offset,anomaly",
    [
        (lambda t: -50.0 * min(t, 2.05) if t >= 2.05 else 0.0, "went backwards"),  # driver reset at 2.05 s
        (lambda t: 1e9 if t >= 2.05 else 0.0, "jumped by 1e+09 J"),  # absurd jump that stays
        (lambda t: 1e9 if 2.05 <= t < 3.05 else 0.0, "jumped by 1e+09 J"),  # one absurd reading
    ],
    ids=["reset", "jump", "spike"],
)
def test_counter_backwards_or_absurd_jump_is_bridged_and_noted(offset, anomaly):
    clock = FakeClock()
    gpu = Faulty(ReplaySensor([(0, 100)], method="counter", clock=clock), clock, counter_offset=offset)
    m = manual(clock, [gpu], counter_interval_s=1.0)
    m.start()
    run_steps(m, clock, 5.0)
    rec = m.stop()
    comp = rec.components["gpu"]
    assert comp.energy_j == pytest.approx(500.0, rel=1e-9)  # the bad interval bridged by power points
    assert comp.method == "counter"  # the counter still gives the rest
    assert any(anomaly in n for n in comp.notes)
    assert any("bridged with integrated power across counter anomalies" in n for n in comp.notes)
    assert rec.to_json()  # nothing non-finite or absurd leaked into the record


def test_sensor_declared_power_bound_is_used():
    clock = FakeClock()
    gpu = Faulty(ReplaySensor([(0, 300)], method="counter", clock=clock), clock, max_power_w=150.0)
    m = manual(clock, [gpu], counter_interval_s=1.0)
    m.start()
    run_steps(m, clock, 3.0)
    rec = m.stop()
    notes = rec.components["gpu"].notes
    assert any("more than 150 W could deliver" in n for n in notes)
    assert rec.energy_j == pytest.approx(900.0, rel=1e-9)


def test_non_finite_counter_and_power_are_ignored():
    clock = FakeClock()

    class Nan(ReplaySensor):
        def poll(self, now):
            out = super().poll(now)
            return {k: v + [(now, math.nan)] for k, v in out.items()}

        reads = 0

        def read_counters(self):
            self.reads += 1
            values = super().read_counters()
            return {k: math.inf for k in values} if self.reads == 3 else values

    m = manual(clock, [Nan([(0, 80)], method="counter", clock=clock)], counter_interval_s=0.5)
    m.start()
    run_steps(m, clock, 3.0)
    rec = m.stop()
    assert rec.energy_j == pytest.approx(240.0, rel=1e-9)
    notes = " ".join(rec.components["gpu"].notes)
    assert "ignored invalid power nan W" in notes and "non-finite energy counter reading inf" in notes
    assert "times in all" in notes  # repeated anomalies are counted, not listed


def test_power_points_on_another_clock_are_rejected():
    clock = FakeClock()

    class WallClockStamps(ReplaySensor):  # a sensor stamping points with time.time() by mistake
        def poll(self, now):
            out = super().poll(now)
            return {k: v + [(now + 1.7e9, 500.0)] for k, v in out.items()}

    m = manual(clock, [WallClockStamps([(0, 40)], clock=clock)])
    m.start()
    run_steps(m, clock, 2.0)
    rec = m.stop()
    assert rec.energy_j == pytest.approx(80.0, rel=1e-9)
    assert any("not on the poll's clock" in n for n in rec.components["gpu"].notes)


# ---- intermittent read failures (RAPL-like) -----------------------------------------------------
def test_intermittent_counter_failures_keep_totals_exact():
    clock = FakeClock()
    cpu = Faulty(
        ReplaySensor([(0, 30), (1.5, 90), (3.3, 45)], component="cpu", method="counter", clock=clock),
        clock,
        read_fault=lambda n, t: OSError(errno.EIO, "Input/output error") if n % 3 == 0 else None,
    )
    m = manual(clock, [cpu], counter_interval_s=0.5)
    m.start()
    run_steps(m, clock, 5.0)
    cpu.fail_next_read = 1  # the first final read fails too: it is retried
    rec = m.stop()
    comp = rec.components["cpu"]
    assert cpu.reads > 12
    assert comp.method == "counter"
    assert comp.energy_j == pytest.approx(30 * 1.5 + 90 * 1.8 + 45 * 1.7, rel=1e-9)
    assert sum("Input/output error" in w for w in rec.warnings) == 1
    assert not any("unreadable" in n for n in comp.notes)


def test_intermittent_poll_failures_lose_no_energy_on_a_counter():
    clock = FakeClock()
    gpu = Faulty(
        ReplaySensor([(0, 100), (2, 250)], method="counter", clock=clock),
        clock,
        poll_fault=lambda n, t: TimeoutError("NVML_ERROR_TIMEOUT") if n % 2 == 0 else None,
    )
    m = manual(clock, [gpu], counter_interval_s=1.0)
    m.start()
    with m.phase("a"):
        run_steps(m, clock, 2.0)
    with m.phase("b"):
        run_steps(m, clock, 2.0)
    rec = m.stop()
    assert rec.energy_j == pytest.approx(700.0, rel=1e-9)
    assert rec.phases["a"].energy_j == pytest.approx(200.0, rel=1e-6)
    assert rec.phases["b"].energy_j == pytest.approx(500.0, rel=1e-6)
    assert sum("NVML_ERROR_TIMEOUT" in w for w in rec.warnings) == 1


# ---- a sensor that hangs ---------------------------------------------------------------------
def test_hung_sensor_slows_neither_the_job_nor_stop():
    gpu = Faulty(ReplaySensor([(0, 100)]), time.monotonic, hang_after_polls=10)
    cpu = ReplaySensor([(0, 40)], component="cpu", method="counter")
    m = Meter("hang", sensors=[gpu, cpu], out=None, interval_s=0.01)
    m.io_timeout_s = 3.0  # a call that waits for the hung sensor takes this long: twice the bounds below
    try:
        m.start()
        deadline = time.monotonic() + 5.0
        while gpu.hang_started is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gpu.hang_started is not None
        t = time.monotonic()
        for _ in range(100):  # the job's own calls do not wait for the sampler
            with m.phase("step"):
                m.add_work(1)
            m.live()
        assert time.monotonic() - t < m.io_timeout_s / 2
        t = time.monotonic()
        with m.phase("exact", exact=True):  # a boundary read waits at most io_timeout_s ...
            pass
        assert time.monotonic() - t < m.io_timeout_s + 1.0
        t = time.monotonic()
        with m.phase("exact", exact=True):  # ... and a sensor known to hang is not waited for again
            pass
        assert time.monotonic() - t < m.io_timeout_s / 2
        t = time.monotonic()
        rec = m.stop("ok")
        assert time.monotonic() - t < m.io_timeout_s + 1.0
    finally:
        gpu.release.set()
    assert rec.status == "ok" and rec.work == {"item": 100}
    assert any("gpu:0: faulty did not answer" in w for w in rec.warnings)
    # the healthy sensor's counter was read at stop (to within the ms a boundary read takes)
    cpu = rec.components["cpu"]
    assert cpu.method == "counter" and not any("unreadable" in n for n in cpu.notes)
    assert cpu.energy_j == pytest.approx(40 * rec.duration_s, abs=40 * 0.02)
    # the hung one keeps what it measured before the hang, and nothing after is made up
    measured = 100 * (gpu.hang_started - m.t0)
    assert measured - 100 * 0.2 <= rec.components["gpu"].energy_j <= measured + 1e-6
    assert any("no data after" in n for n in rec.components["gpu"].notes)
    m.run.sampler._thread.join(5)


def test_sensor_hung_at_start_delays_start_by_at_most_the_timeout():
    release = threading.Event()

    class SlowFirstRead(ReplaySensor):  # a driver call that blocks for a while at start
        def read_counters(self):
            release.wait(30.0)
            return super().read_counters()

    gpu = SlowFirstRead([(0, 100)], method="counter")
    m = Meter("slow-start", sensors=[gpu, ReplaySensor([(0, 10)], component="cpu")], out=None, interval_s=0.01)
    m.io_timeout_s = 0.3
    try:
        t = time.monotonic()
        m.start()  # the read blocks until released (30 s at most): start waits only io_timeout_s for it
        assert time.monotonic() - t < m.io_timeout_s + 5.0
        release.set()
        time.sleep(0.6)  # the call returns; the sensor is polled again
        rec = m.stop()
    finally:
        release.set()
    gpu_c = rec.components["gpu"]
    assert gpu_c.method == "integrated"  # no counter reading at the start: integrated from power points
    assert gpu_c.energy_j == pytest.approx(100 * rec.duration_s, rel=1e-6)
    assert rec.components["cpu"].energy_j == pytest.approx(10 * rec.duration_s, rel=1e-6)
    assert any("gpu:0: replay did not answer within 0.3 s" in w for w in rec.warnings)


def test_failing_accelerator_sync_is_a_warning():
    def sync():
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    with ecometer.measure("sync", sensors=[ReplaySensor([(0, 5)])], out=None, sync=sync, interval_s=0.01) as m:
        with m.phase("p", exact=True):
            pass
    assert m.record.status == "ok"
    assert sum("illegal memory access" in w for w in m.record.warnings) == 1


def test_stop_from_two_threads_returns_one_record():
    m = Meter("twice", sensors=[ReplaySensor([(0, 5)])], out=None, interval_s=0.01).start()
    records, go = [], threading.Barrier(2)

    def stop():
        go.wait(5)
        records.append(m.stop())

    threads = [threading.Thread(target=stop) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(records) == 2 and records[0] is records[1] is m.record


# ---- full disk, unwritable output ----------------------------------------------------------------
def _unwritable(kind: str, tmp_path: Path, monkeypatch) -> Path:
    if kind == "parent-is-a-file":
        (tmp_path / "file").write_text("x")
        return tmp_path / "file" / "run.json"
    if kind == "read-only-dir":
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        try:
            (folder / "probe").touch()
        except OSError:
            return folder / "run.json"
        pytest.skip("running as root: a read-only mode does not stop writes (see the read-only-fs case)")
    if kind == "read-only-fs":
        if not Path("/sys").is_dir():
            pytest.skip("no /sys (read-only sysfs) on this platform")
        return Path("/sys/ecometer-test/run.json")
    if kind == "disk-full":  # every write fails with ENOSPC, like a full disk (/dev/full)
        if not Path("/dev/full").exists():
            pytest.skip("no /dev/full on this platform")
        real = tempfile.mkstemp

        def mkstemp(*args, **kw):
            fd, name = real(*args, **kw)
            os.close(fd)
            os.unlink(name)
            return os.open("/dev/full", os.O_WRONLY), name

        monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
        return tmp_path / "run.json"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["parent-is-a-file", "read-only-dir", "read-only-fs", "out-is-a-folder"])
def test_unwritable_output_is_saved_to_a_stated_fallback(tmp_path, monkeypatch, kind):
    if kind == "out-is-a-folder":
        out = tmp_path / "folder"
        out.mkdir()
    else:
        out = _unwritable(kind, tmp_path, monkeypatch)
    monkeypatch.setenv("ECOMETER_DIR", str(tmp_path / "fallback"))
    with ecometer.measure("disk", sensors=[ReplaySensor([(0, 25)])], out=out, interval_s=0.01) as m:
        m.add_work(3, "sample")
        time.sleep(0.05)
    rec = m.record
    assert rec.status == "ok" and rec.work == {"sample": 3}
    assert rec.energy_j == pytest.approx(25 * rec.duration_s, rel=1e-6)
    assert m.asked_path == out and m.path is not None and m.path.parent == tmp_path / "fallback"
    assert m.save_error and (kind != "parent-is-a-file" or m.save_error == f"{tmp_path / 'file'} is a file, not a folder")
    saved = load_record(m.path)  # the path the meter gives exists and holds the record, which names both
    assert saved.work == {"sample": 3} and not saved.checkpoint
    assert any(str(out) in w and f"saved to {m.path} instead" in w for w in saved.warnings)
    if kind != "out-is-a-folder":  # a folder as out still lets its checkpoint be written beside it
        assert any("cannot write checkpoint" in w for w in rec.warnings)
    assert not out.is_file()


def test_record_written_nowhere_is_kept_in_memory_and_claims_no_path(tmp_path, monkeypatch):
    out = _unwritable("disk-full", tmp_path, monkeypatch)  # every write fails, the fallbacks' too
    monkeypatch.setenv("ECOMETER_DIR", str(tmp_path / "fallback"))
    with ecometer.measure("disk", sensors=[ReplaySensor([(0, 25)])], out=out, interval_s=0.01) as m:
        m.add_work(3, "sample")
    rec = m.record
    assert rec.status == "ok" and rec.work == {"sample": 3}
    assert m.path is None and m.asked_path == out  # never a path that does not exist
    assert m.save_error == "No space left on device"
    assert any(w.startswith(f"cannot write record {out}") and "kept in memory only" in w for w in rec.warnings)
    assert not out.exists() and not list(tmp_path.glob("fallback/*.json"))


def test_meta_that_json_cannot_hold_is_saved_anyway(tmp_path):
    np = pytest.importorskip("numpy")
    out = tmp_path / "run.json"
    meta = {"lr": np.float32(0.5), "shape": np.arange(3), "steps": np.int64(7), "lock": threading.Lock(), 1: (1, 2)}
    with ecometer.measure("meta", sensors=[ReplaySensor([(0, 5)])], out=out, meta=meta, interval_s=0.01):
        pass
    saved = load_record(out).meta
    assert saved["lr"] == 0.5 and saved["shape"] == [0, 1, 2] and saved["steps"] == 7 and saved["1"] == [1, 2]
    assert "lock" in saved["lock"]


# ---- forks, threads, many runs ----------------------------------------------------------------
def _child_uses_meter(m: Meter, conn) -> None:
    try:
        names = [t.name for t in threading.enumerate()]
        m.add_work(5, "sample")
        with m.phase("child"):
            m.sample_now()
        live = m.live()
        conn.send({"threads": names, "live": live.energy_j, "after": [t.name for t in threading.enumerate()]})
    except BaseException as exc:  # report, do not hang the parent
        conn.send({"error": repr(exc)})


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method")
def test_forked_workers_leave_the_parent_record_intact(tmp_path):
    out = tmp_path / "parent.json"
    ctx = multiprocessing.get_context("fork")
    with ecometer.measure("parent", sensors=[ReplaySensor([(0, 10)])], out=out, interval_s=0.01) as m:
        m.add_work(1, "sample")
        # fork while another thread holds the meter's lock (as the sampler briefly does)
        held, release = threading.Event(), threading.Event()

        def hold():
            with m.run.lock:
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait(5)
        pipes, workers = [], []
        for _ in range(2):
            parent_end, child_end = ctx.Pipe()
            with pytest.warns(DeprecationWarning) if _warns_on_fork() else _nothing():
                worker = ctx.Process(target=_child_uses_meter, args=(m, child_end))
                worker.start()
            pipes.append(parent_end)
            workers.append(worker)
        release.set()
        holder.join()
        reports = []
        for conn, worker in zip(pipes, workers, strict=True):
            assert conn.poll(10), "a forked worker hung on the meter"
            reports.append(conn.recv())
            worker.join(10)
            assert worker.exitcode == 0
        time.sleep(0.05)
    for report in reports:
        assert "error" not in report, report
        assert not any(n.startswith("ecometer-") for n in report["threads"] + report["after"])
        assert report["live"] == {}
    rec = m.record
    assert rec.status == "ok" and rec.work == {"sample": 1} and "child" not in rec.phases
    assert load_record(out).to_dict() == rec.to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parent.json"]


def _warns_on_fork() -> bool:
    import sys

    return sys.version_info >= (3, 12)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_eight_meters_in_eight_threads():
    results, errors = {}, []
    start = threading.Barrier(8)

    def job(i: int) -> None:
        try:
            start.wait(5)
            with ecometer.measure(f"t{i}", sensors=[ReplaySensor([(0, 10 * (i + 1))])], out=None, interval_s=0.01) as m:
                for _ in range(5):
                    with m.phase("step"):
                        m.add_work(i + 1)
                        time.sleep(0.02)
            results[i] = m.record
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    for i in range(8):
        rec = results[i]
        assert rec.name == f"t{i}" and rec.work == {"item": 5 * (i + 1)}
        assert rec.average_power_w == pytest.approx(10 * (i + 1), rel=1e-6)
        assert rec.phases["step"].count == 5
    assert lifecycle.running() == []


def test_two_hundred_start_stop_cycles_leak_nothing():
    Meter("warm", sensors=[ReplaySensor([(0, 1)])], out=None).start().stop()  # handlers installed once
    base_threads = threading.active_count()
    ours = sorted(t.name for t in threading.enumerate() if t.name.startswith("ecometer"))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    previous = dict(lifecycle._previous)
    reused = Meter("reused", sensors=[ReplaySensor([(0, 7)])], out=None, interval_s=0.005)
    for i in range(200):
        m = reused if i % 2 else Meter(f"loop{i}", sensors=[ReplaySensor([(0, 3)])], out=None, interval_s=0.005)
        m.start()
        m.add_work(1)
        rec = m.stop()
        assert rec.status == "ok" and rec.work == {"item": 1}
    assert sorted(t.name for t in threading.enumerate() if t.name.startswith("ecometer")) == ours
    assert threading.active_count() <= base_threads, [t.name for t in threading.enumerate()]
    assert {s: signal.getsignal(s) for s in handlers} == handlers
    assert lifecycle._previous == previous
    assert lifecycle.running() == []


# ---- clocks -----------------------------------------------------------------------------------
def test_wall_clock_jumps_do_not_change_durations(monkeypatch):
    import ecometer.measuring.build as meter_module

    real_time, real_datetime = time.time, datetime
    calls = {"n": 0}

    def jumping_time() -> float:  # NTP step of +3 h after the first call
        calls["n"] += 1
        return real_time() + (3 * 3600 if calls["n"] > 1 else 0)

    class JumpingDatetime(datetime):  # the wall clock steps back 5 h after the start
        n = 0

        @classmethod
        def now(cls, tz=None):
            cls.n += 1
            value = real_datetime.now(tz)
            return value - timedelta(hours=5) if cls.n > 1 else value

    monkeypatch.setattr(time, "time", jumping_time)
    monkeypatch.setattr(meter_module, "datetime", JumpingDatetime)
    t = time.monotonic()
    with ecometer.measure("clock", sensors=[ReplaySensor([(0, 60)])], out=None, interval_s=0.01) as m:
        time.sleep(0.3)
    elapsed = time.monotonic() - t
    rec = m.record
    assert 0.3 <= rec.duration_s <= elapsed
    assert rec.energy_j == pytest.approx(60 * rec.duration_s, rel=1e-6)
    started = datetime.fromisoformat(rec.started_at.replace("Z", "+00:00"))
    ended = datetime.fromisoformat(rec.ended_at.replace("Z", "+00:00"))
    assert started.tzinfo == timezone.utc and rec.started_at.endswith("Z")
    assert ended < started  # timestamps follow the wall clock; the duration does not


# ---- a week, bounded --------------------------------------------------------------------------
def test_week_long_run_with_glitches_stays_bounded():
    """7 days at 60 s ticks (1-s ticks over 7 days would take minutes; the per-tick state is the
    same), a phase per tick, work every tick, and a sensor that misbehaves all week."""
    clock = FakeClock()

    class Glitchy(ReplaySensor):
        def poll(self, now):
            out = super().poll(now)
            if self.polls % 7 == 0:  # a varying bad value: each one differs
                out = {k: v + [(now, -float(self.polls))] for k, v in out.items()}
            return out

        def read_counters(self):
            values = super().read_counters()
            hours = int((self._clock() - self._t_open) // 3600)
            reset = self.energy_between(0.0, 3600.0 * hours)  # the counter restarts from 0 every hour
            return {k: v - reset for k, v in values.items()}

    sensor = Glitchy([(0, 300), (3600, 200)], method="counter", clock=clock)
    m = manual(clock, [sensor], interval_s=60.0, timeline_buckets=512)
    tracemalloc.start()
    try:
        m.start()
        for i in range(7 * 24 * 60):
            with m.phase("step"):
                with m.phase(f"day{i // 1440}"):
                    clock.advance(60.0)
                    m.sample_now()
            m.add_work(64, "sample")
            m.add_work(-i)  # a bug in the job: a different bad value every minute
            if i < 1500:
                with m.phase(f"unique-{i}"):
                    pass
        rec = m.stop()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20
    assert rec.duration_s == pytest.approx(7 * 86400)
    assert rec.work["sample"] == 64 * 7 * 24 * 60
    assert len(rec.timeline.t_s) <= 512 and len(rec.timeline.spans) <= 2000
    assert len(rec.warnings) <= 201 and rec.warnings[-1].endswith("further warnings were not kept")
    # 1000 names are kept ("step", "day0", "unique-0".."unique-997"); later names are merged
    assert len(rec.phases) == 1001 and rec.phases["(other phases)"].count == (1500 - 998) + 6 * 1440
    notes = rec.components["gpu"].notes
    assert len(notes) < 10 and any("times in all" in n for n in notes)
    assert len(m.run.tracks["gpu:0"].curve_t) < 50
    assert len(rec.to_json()) < 2_000_000
    # the hourly resets were bridged by the power points; the total stays exact
    assert rec.energy_j == pytest.approx(300 * 3600 + 200 * (7 * 86400 - 3600), rel=1e-9)


# ---- bad work units, hostile names ----------------------------------------------------------------
def test_bad_work_amounts_are_warned_and_ignored():
    clock = FakeClock()
    m = manual(clock, [ReplaySensor([(0, 1)], clock=clock)], work_unit="token")
    m.add_work(5)  # before start: ignored, no crash
    m.start()
    bad = [math.nan, math.inf, -math.inf, -1, 1e16, 10**400, "many", None, object()]
    for amount in bad:
        m.add_work(amount)
    m.add_work(2.5)
    m.add_work(True)  # counts as 1, like int(True)
    run_steps(m, clock, 1.0)
    rec = m.stop()
    m.add_work(9)  # after stop: ignored
    assert rec.work == {"token": 3.5}
    assert sum("add_work" in w for w in rec.warnings) == len(bad)
    assert m.record.work == {"token": 3.5}


HOSTILE_NAMES = [
    "../../etc/x",
    "..",
    ".",
    "",
    "/abs/path",
    "a/b\\c",
    '<script>alert("x")</script>',
    "quote ' and \" here",
    "nul\x00byte",
    "ctrl\n\r\t\x1b[31mred",
    "x" * 500,
    "\u202eevil\u202d.json",
    "ünïcødé 🔥",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
def test_hostile_run_names_never_escape_the_output_folder(tmp_path, monkeypatch, name):
    runs = tmp_path / "runs"
    monkeypatch.setenv("ECOMETER_DIR", str(runs))
    monkeypatch.chdir(tmp_path)
    with ecometer.measure(name, sensors=[ReplaySensor([(0, 2)])], interval_s=0.01) as m:
        pass
    path = m.path
    assert path.parent.resolve() == runs.resolve()
    assert path.exists() and list(runs.iterdir()) == [path]
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in path.name)
    assert len(path.name) < 120 and not path.name.startswith(".")
    assert load_record(path).name == name  # the name itself is kept, as data


def test_report_escapes_hostile_names(tmp_path):
    pytest.importorskip("matplotlib")
    from ecometer.commands.cli import main

    name = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    rec = Meter(name, sensors=[ReplaySensor([(0, 50)])], out=tmp_path / "r.json", interval_s=0.01)
    rec.start()
    with rec.phase("<b>phase</b>"):
        rec.add_work(1, "<i>unit</i>")
    rec.stop()
    assert main(["report", str(tmp_path / "r.json"), "--out", str(tmp_path / "rep")]) == 0
    html = next((tmp_path / "rep").glob("*.html")).read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "<b>phase</b>" not in html and "<i>unit</i>" not in html
    assert "&lt;script&gt;" in html


# ---- no network -------------------------------------------------------------------------------
def test_no_network_during_a_full_auto_detected_run(tmp_path, monkeypatch):
    import socket

    pytest.importorskip("ecometer.sensors.host")
    attempts: list[str] = []

    def refuse(name):
        def call(*args, **kw):
            attempts.append(f"{name}{args[1:2]}")
            raise AssertionError(f"network access: {name}")

        return call

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect_ex"))
    monkeypatch.setattr(socket.socket, "sendto", refuse("sendto"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    kwargs = {}
    try:
        from ecometer.impact import Site
        from ecometer.standards import builtin_names

        Site.preset("us-average")  # needs the grid data (CodeCarbon's tables)
        kwargs = {"site": "us-average", "standard": builtin_names()[0]}
    except Exception:  # noqa: BLE001 - footprint/scoring not built yet: measure without them
        pass
    with ecometer.measure("net", out=tmp_path / "net.json", interval_s=0.05, **kwargs) as m:
        with m.phase("work"):
            sum(i * i for i in range(200_000))
        m.add_work(1, "sample")
    assert attempts == []
    assert m.record.status == "ok" and m.record.components
    if kwargs:
        assert set(m.record.attachments) == {"footprint", "assessment"}
    assert json.loads((tmp_path / "net.json").read_text())["name"] == "net"


def test_prometheus_binds_loopback_by_default():
    prometheus = pytest.importorskip("ecometer.integrations.prometheus")
    m = Meter("prom", sensors=[ReplaySensor([(0, 1)])], out=None)
    exporter = prometheus.serve(m, port=0)
    try:
        assert exporter.host == "127.0.0.1"
        assert exporter.server.socket.getsockname()[0] == "127.0.0.1"
    finally:
        exporter.close()


def test_checkpoint_is_not_rewritten_after_stop(tmp_path):
    out = tmp_path / "run.json"
    with ecometer.measure(
        "ck", sensors=[ReplaySensor([(0, 5)])], out=out, interval_s=0.005, checkpoint_interval_s=0.01
    ):
        time.sleep(0.1)
    time.sleep(0.05)
    assert out.exists() and not checkpoint_path(out).exists()


# ---- a sensor that keeps failing does not make the meter grow or stall phases ----------------
def test_persistently_failing_sensor_is_dropped_and_phases_keep_resolving():
    clock = FakeClock()
    dead = RuntimeError("NVML_ERROR_GPU_IS_LOST")
    gpu = Faulty(
        ReplaySensor([(0, 100)], method="counter", clock=clock),
        clock,
        poll_fault=after(1001.0, dead),
        read_fault=after(1001.0, dead),
    )
    cpu = ReplaySensor([(0, 50)], component="cpu", method="counter", clock=clock)
    m = manual(clock, [gpu, cpu], counter_interval_s=1.0)
    m.start()
    for _ in range(600):  # 60 s of per-step phases after the GPU died at 1 s
        with m.phase("step"):
            clock.advance(0.1)
            m.sample_now()
    # bounded: nothing waits for the dead device
    assert len(m.run.phases.waiting) < 50
    assert all(len(t.curve_t) < 200 and len(t._pending) < 200 for t in m.run.tracks.values())
    rec = m.stop()
    assert rec.components["gpu"].energy_j == pytest.approx(90.0, rel=1e-9)  # to its last point, at 0.9 s
    assert rec.components["cpu"].energy_j == pytest.approx(50 * 60, rel=1e-9)
    assert rec.phases["step"].count == 600
    assert rec.phases["step"].energy_j == pytest.approx(rec.energy_j, rel=1e-6)
    assert any("dropped for the rest of the run" in w for w in rec.warnings)


def test_same_device_id_from_two_sensors_is_refused():
    a = ReplaySensor([(0, 100)], device="gpu:0")
    b = ReplaySensor([(0, 50)], device="gpu:0")
    with pytest.raises(ecometer.errors.InputError, match="gpu:0"):
        Meter("dup", sensors=[a, b], out=None).start()


def test_live_before_start_is_empty():
    assert Meter("idle", out=None).live().total_energy_j == 0.0


class BlockingNotes(ReplaySensor):
    """A sensor whose notes() blocks, once armed, until the test releases it."""

    armed = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.entered, self.release = threading.Event(), threading.Event()

    def notes(self):
        if self.armed:
            self.entered.set()
            self.release.wait(60)
        return super().notes()


def _checkpoint_s(path: Path) -> float:
    """The run time (s) the checkpoint at ``path`` covers (-1: none readable yet)."""
    try:
        return float(json.loads(path.read_text())["duration_s"])
    except (OSError, ValueError, KeyError):
        return -1.0


def test_checkpoints_do_not_call_sensors_under_the_meters_lock(tmp_path):
    sensor = BlockingNotes([(0, 10)])
    out = tmp_path / "r.json"
    m = Meter("slow", sensors=[sensor], out=out, interval_s=0.01, checkpoint_interval_s=0.05)
    m.start()
    sensor.armed = True
    counted = threading.Event()
    try:  # until checkpoints cover 0.3 s of the run (several written), or one asks the sensor for its notes
        deadline = time.monotonic() + 60.0
        while _checkpoint_s(checkpoint_path(out)) < 0.3 and not sensor.entered.is_set():
            assert time.monotonic() < deadline, "no checkpoint covering 0.3 s written in 60 s"
            time.sleep(0.01)
        if sensor.entered.is_set():  # notes() blocks now: add_work (which takes the meter's lock) still returns
            threading.Thread(target=lambda: (m.add_work(1), counted.set()), daemon=True).start()
            assert counted.wait(30.0), "add_work waited for a sensor call made under the meter's lock"
    finally:
        sensor.armed = False
        sensor.release.set()
    assert m.stop().work == ({"sample": 1.0} if counted.is_set() else {})


class _FakeGpu(ReplaySensor):
    """A GPU-like scripted sensor: the meter synchronises the accelerator at its boundaries."""

    name = "fake-gpu"


def test_failing_framework_sync_on_the_default_path_is_a_warning(monkeypatch):
    import types

    def synchronize(index):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        is_initialized=lambda: True,
        current_device=lambda: 0,
        device_count=lambda: 1,
        memory_allocated=lambda index: 0,
        synchronize=synchronize,
    )
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(cuda=cuda))
    with ecometer.measure("sync", sensors=[_FakeGpu([(0, 5)])], out=None, interval_s=0.01) as m:
        pass
    assert m.record.status == "ok"
    assert sum("illegal memory access" in w for w in m.record.warnings) == 1
