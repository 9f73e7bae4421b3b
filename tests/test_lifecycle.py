"""Signals, kills and forks: the record survives (real subprocesses, real signals)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ecometer.record.model import checkpoint_path, load_record

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import ecometer
    from ecometer.sensors.replay import ReplaySensor
    out = sys.argv[1]
    explicit = sys.argv[2] == "explicit"
    m = ecometer.Meter("child", sensors=[ReplaySensor([(0, 100)])], out=out,
                       interval_s=0.02, checkpoint_interval_s=0.2)
    if explicit:
        m.start()
        print("ready", flush=True)
        time.sleep(60)
    else:
        with m:
            m.add_work(5, "sample")
            print("ready", flush=True)
            time.sleep(60)
    """
)


def start_child(tmp_path, mode: str) -> tuple[subprocess.Popen, str]:
    out = str(tmp_path / "run.json")
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, out, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.6)
    return proc, out


@pytest.mark.parametrize("mode", ["with", "explicit"])
def test_sigterm_finalises_as_interrupted(tmp_path, mode):
    proc, out = start_child(tmp_path, mode)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    assert proc.returncode == -signal.SIGTERM  # the process still ends the way it would have
    rec = load_record(out)
    assert rec.status == "interrupted" and not rec.checkpoint
    assert "SIGTERM" in (rec.error or "")
    assert rec.energy_j == pytest.approx(100.0 * rec.duration_s, rel=1e-6)
    assert not checkpoint_path(out).exists()


@pytest.mark.parametrize("mode", ["with", "explicit"])
def test_sigint_finalises_as_interrupted(tmp_path, mode):
    proc, out = start_child(tmp_path, mode)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert proc.returncode != 0
    rec = load_record(out)
    assert rec.status == "interrupted"
    assert rec.duration_s > 0.5


def test_sigkill_leaves_a_readable_checkpoint(tmp_path):
    proc, out = start_child(tmp_path, "with")
    # checkpoints are spaced by their own cost, so on a loaded machine the first ones come
    # late: wait (up to 20 s) until one covers 0.4 s of the run, then kill without warning
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if load_record(checkpoint_path(out)).duration_s >= 0.4:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=20)
    rec = load_record(out)  # the final file is missing: the checkpoint is read
    assert rec.checkpoint and rec.status == "interrupted"
    assert rec.work == {"sample": 5.0}
    assert rec.duration_s >= 0.4
    assert rec.energy_j == pytest.approx(100.0 * rec.duration_s, rel=0.05)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_is_inert(tmp_path):
    import ecometer
    from ecometer.sensors.replay import ReplaySensor

    out = tmp_path / "parent.json"
    with ecometer.measure("parent", sensors=[ReplaySensor([(0, 10)])], out=out, interval_s=0.01) as m:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: phases, work and stop must not touch the parent's record
            try:
                with m.phase("child"):
                    m.add_work(1)
                os.write(w, b"ok")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(r, 2) == b"ok"
        time.sleep(0.05)
    rec = m.record
    assert rec.status == "ok" and "child" not in rec.phases
    assert load_record(out).name == "parent"
