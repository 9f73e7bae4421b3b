"""``ecometer run``: a child metered to its end, exit codes, signals, work units, errors."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_pty

from ecometer.commands.cli import main
from ecometer.commands.run import parse_meta, read_work_file, resolve_command

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def ecometer(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ecometer", *args],
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def wait_for(path: Path, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.05)


# ---- helpers ---------------------------------------------------------------------------------
def test_parse_meta_types_values():
    assert parse_meta(["precision=bf16", "batch_size=64", "lr=0.5", "amp=true", "x=nan", "eq=a=b"]) == {
        "precision": "bf16",
        "batch_size": 64,
        "lr": 0.5,
        "amp": True,
        "x": "nan",
        "eq": "a=b",
    }


def test_read_work_file(tmp_path):
    path = tmp_path / "work.txt"
    path.write_text("5\n3 token\n\nbogus line\n2.5\n")
    counts, problems = read_work_file(path, "sample")
    assert counts == {"sample": 7.5, "token": 3.0}
    assert len(problems) == 1 and "line 4" in problems[0]
    assert read_work_file(tmp_path / "absent.txt", None) == ({}, [])


def test_resolve_command(tmp_path):
    assert resolve_command(["sh"])[1] == 0
    assert resolve_command(["no-such-command-ecometer"]) == (None, 127)
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\n")
    assert resolve_command([str(script)]) == (None, 126)  # not executable
    assert resolve_command([str(tmp_path)]) == (None, 126)  # a directory
    assert resolve_command([str(tmp_path / "missing")]) == (None, 127)


# ---- errors: one line, right exit code, no record ----------------------------------------------
def test_command_not_found_exits_127(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert main(["run", "--out", str(out), "--", "no-such-command-ecometer", "--x"]) == 127
    err = capsys.readouterr().err
    assert err == "ecometer run: error: command not found: no-such-command-ecometer\n"
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run"], "no command given"),
        (["run", "--"], "no command given"),
        (["run", "--meta", "novalue", "--", "true"], "expected KEY=VALUE"),
        (["run", "--work", "-3", "--", "true"], "--work"),
    ],
)
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_unknown_site_is_a_usage_error(capsys):
    assert main(["run", "--site", "atlantis", "--", "true"]) == 2
    err = capsys.readouterr().err
    assert "atlantis" in err and err.count("\n") == 1


# ---- end to end in a fresh process ------------------------------------------------------------
CHILD_FAILS = """
import os, time, sys
with open(os.environ["ECOMETER_WORK_FILE"], "a") as f:
    f.write("5\\n2 token\\n")
t = time.monotonic()
while time.monotonic() - t < 0.5:
    pass
print("child output")
sys.exit(3)
"""


def test_exit_code_status_work_and_footprint(tmp_path):
    out = tmp_path / "run.json"
    proc = ecometer(
        "run", "--name", "fails", "--out", str(out), "--site", "us-average", "--standard", "ecometer-training",
        "--work", "10", "--work-unit", "sample", "--meta", "precision=bf16",
        "--", sys.executable, "-c", CHILD_FAILS,
    )  # fmt: skip
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3
    # our summary goes to stderr: stdout holds the child's output (and nothing of ours)
    assert stdout.endswith("child output\n") and "IT energy" not in stdout and "record:" not in stdout
    assert "\r" not in stderr and "fails: failed" in stderr and f"record: {out}" in stderr
    data = json.loads(out.read_text())
    assert data["status"] == "failed" and data["error"] == "exited with code 3"
    assert data["work"] == {"sample": 15.0, "token": 2.0} and data["work_unit"] == "sample"
    assert data["meta"]["precision"] == "bf16" and "ECOMETER_WORK_FILE" in data["meta"]["command"]
    assert data["duration_s"] >= 0.5
    assert "footprint" in data["attachments"] and "assessment" in data["attachments"]


CHILD_TERM = """
import os, signal, sys, time
from pathlib import Path
d = Path(sys.argv[1])
def on_term(signum, frame):
    (d / "got-term").write_text("yes")
    sys.exit(7)
signal.signal(signal.SIGTERM, on_term)
(d / "ready").write_text("")
while True:
    time.sleep(0.05)
"""

CHILD_SLEEP = """
import sys, time
from pathlib import Path
Path(sys.argv[1], "ready").write_text("")
while True:
    time.sleep(0.05)
"""


def test_sigterm_is_forwarded_and_run_marked_interrupted(tmp_path):
    out = tmp_path / "run.json"
    proc = ecometer("run", "--out", str(out), "--", sys.executable, "-c", CHILD_TERM, str(tmp_path))
    wait_for(tmp_path / "ready")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert (tmp_path / "got-term").read_text() == "yes"
    assert proc.returncode == 7  # the child's own exit code
    data = json.loads(out.read_text())
    assert data["status"] == "interrupted" and "SIGTERM" in data["error"]


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_child_killed_by_forwarded_signal_exits_128_plus_n(tmp_path, sig, code):
    out = tmp_path / "run.json"
    # SIG_DFL for SIGINT too, so the child dies of the signal rather than raising KeyboardInterrupt
    child = "import signal; signal.signal(signal.SIGINT, signal.SIG_DFL)\n" + CHILD_SLEEP
    proc = ecometer("run", "--out", str(out), "--", sys.executable, "-c", child, str(tmp_path))
    wait_for(tmp_path / "ready")
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    assert proc.returncode == code
    data = json.loads(out.read_text())
    assert data["status"] == "interrupted" and data["error"] == f"killed by {signal.Signals(sig).name}"


def test_live_status_line_only_on_a_terminal(tmp_path):
    out = tmp_path / "run.json"
    master, slave = pty.openpty()
    child = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 2.6:\n    pass\n"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecometer",
            "run",
            "--site",
            "us-average",
            "--out",
            str(out),
            "--",
            sys.executable,
            "-c",
            child,
        ],
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    text = read_pty(master)
    proc.wait(timeout=60)
    assert proc.returncode == 0
    assert "\r\x1b[Kecometer: " in text and " now · " in text and "water " in text
    assert "record: " in text


@pytest.mark.parametrize(
    "command, name",
    [
        (["python3", "train.py", "--epochs", "3"], "train"),
        (["/usr/bin/python3.11", "-u", "scripts/fine_tune.py"], "fine_tune"),
        (["python", "-m", "pkg.serve", "--port", "1"], "pkg.serve"),
        (["python", "-mhttp.server"], "http.server"),
        (["torchrun", "--nproc-per-node", "2", "train.py"], "train"),
        (["python3", "-c", "print(1)"], "python3 -c"),
        (["./bench", "--n", "5"], "bench"),
    ],
)
def test_runs_are_named_after_the_script_or_module(command, name):  # issue 26: not "python3"
    from ecometer.commands.run import run_name

    assert run_name(command) == name


def test_a_run_of_a_script_is_named_after_it(tmp_path):
    script = tmp_path / "fine_tune.py"
    script.write_text("print('ok')\n")
    out = tmp_path / "run.json"
    proc = ecometer("run", "--out", str(out), "--", sys.executable, str(script))
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    data = json.loads(out.read_text())
    assert data["name"] == "fine_tune" and data["meta"]["command"].endswith("fine_tune.py")
