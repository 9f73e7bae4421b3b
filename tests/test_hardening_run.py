"""Issue 27: ``ecometer run`` with closed or missing resources, commands that will not end,
children left behind, commands started safely with threads. Real processes and real signals.
Each test failed before the change it covers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_cli_run import ENV
from test_run_faults import gone_within, running

from ecometer.record.model import load_record


def test_closed_stderr_still_runs_the_command(tmp_path):
    marker, out = tmp_path / "ran", tmp_path / "r.json"
    script = f"exec {sys.executable} -m ecometer run --out {out} -- sh -c 'echo hi && touch {marker}' 2>&-"
    done = subprocess.run(["sh", "-c", script], env=ENV, capture_output=True, text=True, timeout=60)
    assert marker.exists() and done.returncode == 0  # before: exit 1, the command not run
    assert done.stdout == "hi\n" and load_record(out).status == "ok"


def test_closed_stdout_gives_the_command_a_usable_stdout(tmp_path):
    out = tmp_path / "r.json"
    script = f"exec {sys.executable} -m ecometer run --out {out} -- sh -c 'echo hi' >&-"
    done = subprocess.run(["sh", "-c", script], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "I/O error" not in done.stderr and "Bad file" not in done.stderr
    assert load_record(out).status == "ok"


def test_closed_stdin_still_runs_the_command(tmp_path):
    out = tmp_path / "r.json"
    script = f"exec {sys.executable} -m ecometer run --out {out} -- sh -c 'echo hi; cat' <&-"
    done = subprocess.run(["sh", "-c", script], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "hi\n", done.stderr  # cat reads the null device: at once
    assert load_record(out).status == "ok"


NO_TEMP = """
import sys, tempfile
tempfile.tempdir = sys.argv[1]  # a path under a file: no temporary folder can be made
from ecometer.commands.cli import main
sys.exit(main(["run", "--out", sys.argv[2], "--", "sh", "-c", "echo ran; test -z \\"$ECOMETER_WORK_FILE\\""]))
"""


def test_no_writable_temp_folder_runs_the_command_and_prints_the_record(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = dict(ENV, ECOMETER_DIR=str(blocker / "runs"))
    done = subprocess.run(
        [sys.executable, "-c", NO_TEMP, str(blocker / "tmp"), str(blocker / "r.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout == "ran\n", done.stderr  # before: a traceback, the command not run
    assert done.returncode == 74 and "no temporary folder for the work file" in done.stderr
    start = done.stderr.index("{\n")
    record, _ = json.JSONDecoder().raw_decode(done.stderr[start:])
    assert record["status"] == "ok" and record["name"] == "sh"


# ---- commands that will not end, and what they leave behind -----------------------------------------
STUBBORN = """
import signal, sys, time
from pathlib import Path
for s in (signal.SIGTERM, signal.SIGINT):
    signal.signal(s, signal.SIG_IGN)
Path(sys.argv[1]).write_text("")
while True:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_command_ignoring_the_signal_is_killed_after_the_grace_period(tmp_path, sig):
    ready, out = tmp_path / "ready", tmp_path / "r.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecometer", "run", "--kill-after", "1", "--out", str(out), "--",
         sys.executable, "-c", STUBBORN, str(ready)],
        env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    from test_cli_run import wait_for

    wait_for(ready)
    t0 = time.monotonic()
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=30)  # before: waited until the command ended by itself
    assert time.monotonic() - t0 < 8
    assert proc.returncode == 128 + signal.SIGKILL
    assert f"did not end within 1 s of {sig}: SIGKILL sent to its process group" in err
    rec = load_record(out)
    assert rec.status == "interrupted" and "SIGKILL sent" in (rec.error or "")


def test_a_background_child_does_not_outlive_ecometer(tmp_path):
    pid_file, out = tmp_path / "bg.pid", tmp_path / "r.json"
    done = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(out), "--", "sh", "-c", f"sleep 30 & echo $! > {pid_file}"],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pid = int(pid_file.read_text())
    try:
        assert gone_within(pid, 3)  # before: the sleep ran on for 30 s
    finally:
        if running(pid):
            os.kill(pid, signal.SIGKILL)
    assert "left processes running in its process group" in done.stderr
    assert any("background children" in w for w in load_record(out).warnings)


def test_a_script_without_a_shebang_runs_as_a_shell_would(tmp_path):
    script = tmp_path / "job"
    script.write_text(f"echo from-sh \"$1\" > {tmp_path / 'said'}\n")
    script.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(tmp_path / "r.json"), "--", str(script), "arg"],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr  # before: exit 127, "Exec format error"
    assert (tmp_path / "said").read_text() == "from-sh arg\n"


# ---- starting the command while threads run ----------------------------------------------------------
NO_PYTHON_AFTER_FORK = """
import os, sys
from ecometer.commands.child import Child
hits = sys.argv[1]
os.register_at_fork(after_in_child=lambda: os.close(os.open(hits, os.O_CREAT | os.O_WRONLY)))
child = Child(["true"], dict(os.environ), None)
print(child.wait())
"""


def test_no_python_code_runs_between_fork_and_exec(tmp_path):
    """A fork hook runs in the child only when Python code runs there (a ``preexec_fn``): with threads
    running, such code can hang on a lock another thread held at the fork."""
    hits = tmp_path / "python-ran-in-the-forked-child"
    done = subprocess.run(
        [sys.executable, "-c", NO_PYTHON_AFTER_FORK, str(hits)], env=ENV, capture_output=True, text=True, timeout=60
    )
    assert done.stdout == "0\n", done.stderr
    assert not hits.exists()  # before: preexec_fn ran Python in the forked child


def test_the_command_gets_exactly_ecometers_environment(tmp_path):
    """Regression: the interpreter that starts the command adds nothing to its environment."""
    env = {k: v for k, v in ENV.items() if not k.startswith("LC_")}
    env.update(LANG="C", LC_CTYPE="C.UTF-8", MY_VAR="x y")
    done = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(tmp_path / "r.json"), "--", "env", "-0"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    got = dict(item.split("=", 1) for item in done.stdout.split("\0") if item)
    got.pop("ECOMETER_WORK_FILE")
    assert got == env



def test_a_binary_for_another_machine_is_not_run_as_a_script(tmp_path):
    program = tmp_path / "prog"
    program.write_bytes(b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"echo ran-as-script > x\n")  # no valid header
    program.chmod(0o755)
    done = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(tmp_path / "r.json"), "--", str(program)],
        env=ENV, capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 126 and "Exec format error" in done.stderr
    assert not (tmp_path / "x").exists()
