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
from pathlib import Path

import pytest
from test_cli_run import ENV
from test_run_faults import gone_within, running

from ecometer.record import load_record


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


NO_TEMP = """
import sys, tempfile
tempfile.tempdir = sys.argv[1]  # a path under a file: no temporary folder can be made
from ecometer.cli import main
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
