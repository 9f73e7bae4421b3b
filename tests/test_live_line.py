"""The live status line of ``ecometer run`` owns its row: erased before the command writes, cut to the
terminal's width, and not shown when stdout is not a terminal (issue 26)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from conftest import read_pty

from ecometer.report.terminal import LiveLine, fit

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))

# prints a numbered line every 0.4 s for 2.8 s, then a partial line (no newline) at the end
CHILD_PRINTS = """
import sys, time
t0 = time.monotonic()
n = 0
while time.monotonic() - t0 < 2.8:
    t = time.monotonic()
    while time.monotonic() - t < 0.4:
        pass
    n += 1
    print(f"job line {n}", flush=True)
    print(f"job error {n}", file=sys.stderr, flush=True)
sys.stdout.write("job done")
sys.stdout.flush()
"""


def screen(text: str) -> list[str]:
    """The lines a terminal shows for ``text`` (\\r, \\n and erase-to-end-of-line understood)."""
    lines: list[str] = []
    row: list[str] = []
    col = 0
    for token in re.findall(r"\x1b\[K|\r|\n|[^\r\n\x1b]+|\x1b", text):
        if token == "\n":
            lines.append("".join(row))
            row, col = [], 0
        elif token == "\r":
            col = 0
        elif token == "\x1b[K":
            del row[col:]
        else:
            for ch in token:
                if col < len(row):
                    row[col] = ch
                else:
                    row.append(ch)
                col += 1
    lines.append("".join(row))
    return lines


def run_on_pty(tmp_path: Path, *args: str, cols: int = 200, stdout_tty: bool = True) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecometer", "run", "--out", str(tmp_path / "run.json"), *args],
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=slave if stdout_tty else subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    text = read_pty(master)
    assert proc.wait(timeout=60) == 0, text[-2000:]
    return text


def test_the_commands_lines_are_never_smeared_with_the_status(tmp_path):
    text = run_on_pty(tmp_path, "--site", "us-average", "--", sys.executable, "-c", CHILD_PRINTS)
    assert "\r\x1b[Kecometer: " in text  # the status was shown
    lines = screen(text)
    job = [line for line in lines if "job " in line]
    expected = [f"job line {n}" for n in range(1, 8)] + [f"job error {n}" for n in range(1, 8)] + ["job done"]
    assert sorted(job) == sorted(expected), job  # each of the job's lines alone on its row
    assert not any("ecometer: " in line and " now · " in line for line in lines), lines  # erased at the end
    assert any(line.startswith("record: ") for line in lines)


def test_the_status_is_cut_to_the_terminals_width(tmp_path):
    child = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 2.4:\n    pass\n"
    text = run_on_pty(tmp_path, "--site", "us-average", "--total-s", "3600", "--", sys.executable, "-c", child, cols=50)
    draws = re.findall(r"\r\x1b\[K(ecometer: \d[^\r\n\x1b]*)", text)  # the status starts with the time
    assert draws, text
    assert all(len(d) <= 49 for d in draws), draws
    assert any(d.endswith("…") for d in draws)


def test_no_status_when_stdout_is_not_a_terminal(tmp_path):
    child = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 2.4:\n    pass\n"
    text = run_on_pty(tmp_path, "--site", "us-average", "--", sys.executable, "-c", child, stdout_tty=False)
    assert not re.search(r"ecometer: \d", text) and "\x1b[K" not in text
    assert "record: " in text


def test_fit_cuts_with_an_ellipsis():
    assert fit("abcdef", 80) == "abcdef"
    assert fit("abcdefghij", 6) == "abcd…"
    assert len(fit("x" * 300, 80)) == 79


def test_passthrough_erases_before_and_redraws_only_at_a_line_start():
    read, write = os.pipe()
    line = LiveLine(write)
    line.show("status 1")
    line.passthrough(b"50%|###")  # a partial line: the status is not drawn after it
    line.show("status 2")
    line.passthrough(b"\r100%|######\n")
    line.close()
    os.close(write)
    with os.fdopen(read, "rb") as f:
        out = f.read().decode()
    assert out == "\r\x1b[Kstatus 1\r\x1b[K50%|###\r100%|######\n"


def test_why_a_forecast_is_not_ready_is_said_in_full_on_a_line_of_its_own(tmp_path):
    child = "import time\nt = time.monotonic()\nwhile time.monotonic() - t < 2.6:\n    pass\n"  # counts no work
    text = run_on_pty(tmp_path, "--total-work", "1000", "--", sys.executable, "-c", child, cols=60)
    lines = screen(text)
    why = [line for line in lines if line.startswith("ecometer: forecast not ready: ")]
    assert len(why) == 1, lines  # once, not at every refresh
    assert "no work counted yet" in why[0] and "$ECOMETER_WORK_FILE" in why[0]
    draws = re.findall(r"\r\x1b\[K(ecometer: \d[^\r\n\x1b]*)", text)
    assert draws and all(len(d) <= 59 for d in draws)


def test_the_command_still_sees_a_terminal_of_the_real_ones_size(tmp_path):
    child = "import os, time\nprint('tty', os.isatty(1), os.isatty(2), os.get_terminal_size(1).columns, flush=True)\ntime.sleep(1.5)\n"
    text = run_on_pty(tmp_path, "--", sys.executable, "-c", child, cols=77)
    assert "tty True True 77" in screen(text)
