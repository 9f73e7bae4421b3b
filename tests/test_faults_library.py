"""Issue 16, the library side: checkpoints that fail for a while, signals while a run finishes.

Checkpoint faults are injected through a fake writer on a fake clock (exact times), and once
on a real 64 KiB tmpfs filled to the last byte (where ``mount`` is allowed). Signals are real
signals sent to real subprocesses, as in tests/test_lifecycle.py.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import FakeClock, manual_meter, run_steps

import ecometer
from ecometer.measuring import run as run_module
from ecometer.record.model import checkpoint_path, load_record
from ecometer.sensors.replay import ReplaySensor


# ---- a checkpoint write that fails for a while -------------------------------------------------
class FlakyWriter:
    """``write_atomic`` that raises ENOSPC for files in ``disk`` while the fake clock is inside
    ``[start, end)`` (that disk is full; others are not)."""

    def __init__(self, disk: Path, clock: FakeClock, start: float, end: float) -> None:
        self.disk, self.clock, self.start, self.end = disk, clock, start, end
        self.failed = self.written = 0
        self.real = run_module.write_atomic

    def __call__(self, target: Path, text: str, **options: bool) -> None:
        if target.parent == self.disk and self.start <= self.clock() < self.end:
            self.failed += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        self.written += 1
        self.real(target, text, **options)


def _full_for_a_while(tmp_path: Path, monkeypatch, clock: FakeClock, start: float, end: float):
    """A record path on a disk that is full from ``start`` to ``end`` (s into the run); the
    fallback folder ($ECOMETER_DIR) is on another."""
    disk = tmp_path / "disk"
    disk.mkdir()
    monkeypatch.setenv("ECOMETER_DIR", str(tmp_path / "other"))
    writer = FlakyWriter(disk, clock, clock() + start, clock() + end)
    monkeypatch.setattr(run_module, "write_atomic", writer)
    return disk / "run.json", writer


def test_checkpoints_resume_after_the_disk_was_full_for_two_seconds(tmp_path, monkeypatch, fake_clock):
    out, writer = _full_for_a_while(tmp_path, monkeypatch, fake_clock, 4.95, 6.95)  # full for 2 s
    m = manual_meter(fake_clock, [ReplaySensor([(0, 10.0)])], out=out, checkpoint_interval_s=5.0)
    m.start()
    m.add_work(4, "sample")
    run_steps(m, fake_clock, 17.0)  # the job goes on; then it is killed (SIGKILL: no stop())
    assert writer.failed == 2  # at 5 s and at the retry 1 s later; then 2 s later the disk is free
    ck = load_record(checkpoint_path(out))  # what a SIGKILL now leaves
    assert ck.checkpoint and ck.status == "interrupted" and ck.work == {"sample": 4.0}
    assert ck.duration_s == pytest.approx(13.0, abs=0.25)  # written again at 8 s, then every 5 s: 13 s
    assert ck.energy_j == pytest.approx(10.0 * ck.duration_s)
    failing = [w for w in ck.warnings if w.startswith("cannot write checkpoint")]
    resumed = [w for w in ck.warnings if "written again" in w]
    assert len(failing) == 1 and "No space left" in failing[0]
    assert len(resumed) == 1 and "after 2 failed attempt(s)" in resumed[0]
    assert "meanwhile they go to" in failing[0]  # while it failed, the checkpoints went to the other disk...
    assert not list((tmp_path / "other").glob("*.partial"))  # ...and that one is removed once they resume
    m.stop()


def test_checkpoint_retries_back_off_while_the_disk_stays_full(tmp_path, monkeypatch, fake_clock):
    out, writer = _full_for_a_while(tmp_path, monkeypatch, fake_clock, 1.0, float("inf"))
    m = manual_meter(fake_clock, [ReplaySensor([(0, 10.0)])], out=out, checkpoint_interval_s=5.0)
    m.start()
    run_steps(m, fake_clock, 5.0 + 1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 - 0.05)
    assert writer.failed == 8  # at 5, 6, 8, 12, 20, 36, 68 and 128 s: 1, 2, 4... s apart, at most 60 s
    rec = m.stop()
    assert sum(w.startswith("cannot write checkpoint") for w in rec.warnings) == 1  # said once


def _fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` to its last byte; returns the filler file."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def test_checkpoints_resume_on_a_real_full_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        out = mnt / "run.json"
        m = ecometer.Meter("tmpfs", sensors=[ReplaySensor([(0, 10.0)])], out=out, interval_s=0.02,
                           checkpoint_interval_s=0.2)
        m.start()
        checkpoint_path(out).unlink()
        filler = _fill(mnt)
        time.sleep(0.5)  # checkpoints fail: ENOSPC
        assert not checkpoint_path(out).exists()
        filler.unlink()
        deadline = time.monotonic() + 10
        ck = None
        while time.monotonic() < deadline:  # the checkpoint after the first one written again says so
            if checkpoint_path(out).exists():
                ck = load_record(checkpoint_path(out))  # a SIGKILL now would leave this
                if any("written again" in w for w in ck.warnings):
                    break
            time.sleep(0.05)
        assert ck is not None
        assert ck.checkpoint and ck.duration_s > 0.5
        assert any(w.startswith("cannot write checkpoint") and "No space left" in w for w in ck.warnings)
        assert any("written again" in w for w in ck.warnings)
        rec = m.stop()
        assert m.path == out and load_record(out).status == "ok" and rec.status == "ok"
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


# ---- signals while the run finishes -------------------------------------------------------------
CHILD = textwrap.dedent(
    """
    import sys, time
    import ecometer
    from ecometer.sensors.replay import ReplaySensor

    class SlowClose(ReplaySensor):
        def close(self):
            print("closing", flush=True)
            time.sleep(4)

    def slow_finish(record):
        print("finishing", flush=True)
        time.sleep(float(sys.argv[3]))
        return []

    out, mode = sys.argv[1], sys.argv[2]
    m = ecometer.Meter("child", sensors=[SlowClose([(0, 100)])], out=out, interval_s=0.02,
                       checkpoint_interval_s=0.2, finish=slow_finish)
    if mode == "stop":
        m.start()
        m.add_work(5, "sample")
        print("ready", flush=True)
        time.sleep(0.5)
        m.stop()
        print("stopped", flush=True)
    else:
        with m:
            m.add_work(5, "sample")
            print("ready", flush=True)
            time.sleep(60)
    """
)


def _child(tmp_path: Path, mode: str, finish_s: float = 0.0) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "run.json"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), mode, str(finish_s)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc, out


def _wait_for(proc: subprocess.Popen, line: str) -> None:
    got = proc.stdout.readline().strip()
    assert got == line, (got, proc.stderr.read() if proc.poll() is not None else "")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_signal_while_sensors_close_leaves_the_final_record(tmp_path, sig):
    proc, out = _child(tmp_path, "stop")
    _wait_for(proc, "finishing")
    _wait_for(proc, "closing")  # stop() is inside the 4 s close
    proc.send_signal(sig)
    proc.wait(timeout=20)
    assert proc.returncode != 0
    rec = load_record(out)
    assert not rec.checkpoint and rec.status == "ok"  # the finished record, not the last checkpoint
    assert rec.work == {"sample": 5.0} and rec.duration_s >= 0.5
    assert rec.energy_j == pytest.approx(100.0 * rec.duration_s, rel=1e-6)
    assert not checkpoint_path(out).exists()


@pytest.mark.parametrize(
    "first,second",
    [(signal.SIGTERM, signal.SIGTERM), (signal.SIGTERM, signal.SIGINT), (signal.SIGINT, signal.SIGINT)],
    ids=lambda s: s.name,
)
def test_a_second_signal_while_the_record_is_saved_does_not_abort_the_save(tmp_path, first, second):
    proc, out = _child(tmp_path, "with", finish_s=2.0)
    time.sleep(0.4)
    proc.send_signal(first)  # finalises the run (SIGINT: through KeyboardInterrupt): the finish hook takes 2 s
    _wait_for(proc, "finishing")
    time.sleep(0.3)
    proc.send_signal(second)  # waits until the record is saved, then takes effect
    proc.wait(timeout=20)
    assert proc.returncode != 0
    rec = load_record(out)
    assert not rec.checkpoint and rec.status == "interrupted"
    assert rec.error == ("received SIGTERM" if first == signal.SIGTERM else "KeyboardInterrupt")
    assert rec.work == {"sample": 5.0}
    assert not checkpoint_path(out).exists()


def test_signal_during_stop_from_the_main_thread_still_ends_the_process(tmp_path):
    proc, out = _child(tmp_path, "stop", finish_s=1.5)
    _wait_for(proc, "finishing")
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGTERM  # delivered again once saved: the process ends as it would have
    assert time.monotonic() - t < 4  # the signal took effect right after the save, not after the 4 s close
    rec = load_record(out)
    assert not rec.checkpoint and rec.status == "ok"



def test_checkpoints_go_to_the_fallback_while_the_asked_place_fails(tmp_path, monkeypatch, fake_clock):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "run.json"  # its folder is a file: nothing can be written there
    monkeypatch.setenv("ECOMETER_DIR", str(tmp_path / "fallback"))
    m = manual_meter(fake_clock, [ReplaySensor([(0, 10.0)])], out=out, checkpoint_interval_s=5.0)
    m.start()
    m.add_work(2, "sample")
    run_steps(m, fake_clock, 9.0)
    (partial,) = (tmp_path / "fallback").glob("*.json.partial")  # what a SIGKILL now would leave
    ck = load_record(partial)
    assert ck.checkpoint and ck.work == {"sample": 2.0} and ck.duration_s >= 6.9  # tries at 0, 5 and 7 s
    assert any(f"meanwhile they go to {partial}" in w for w in ck.warnings)
    rec = m.stop()
    assert m.path == partial.with_name(partial.name[: -len(".partial")])  # the final record, same name
    assert load_record(m.path).to_dict() == rec.to_dict() and not partial.exists()
