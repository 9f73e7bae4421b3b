"""Issue 27 (part B): work counted whatever its volume, warnings that do not flood, numbers a user
gives checked at every public entry with a clear error."""

from __future__ import annotations

import logging
import subprocess
import sys

from conftest import FakeClock, manual_meter, run_steps
from test_cli_run import ENV

from ecometer.commands.run import WORK_READ_CHUNK, WorkFile
from ecometer.record import load_record
from ecometer.sensors.replay import ReplaySensor


# ---- add_work after stop -------------------------------------------------------------------------------
def test_add_work_after_stop_warns_once_not_once_per_call(caplog):
    clock = FakeClock()
    m = manual_meter(clock, [ReplaySensor([(0, 1)], clock=clock)], name="loop")
    with caplog.at_level(logging.WARNING, logger="ecometer"):
        for _ in range(1000):
            m.add_work(1)  # before start
        m.start()
        m.add_work(2)
        run_steps(m, clock, 0.5)
        rec = m.stop()
        for _ in range(10_000):
            m.add_work(1)  # a loop that goes on after stop
    said = [r for r in caplog.records if "not running" in r.getMessage()]
    assert len(said) == 1
    assert rec.work == {"item": 2.0} and m.record.work == {"item": 2.0}


# ---- the work file ----------------------------------------------------------------------------------
def test_a_work_file_of_several_chunks_is_read_to_the_end(tmp_path):
    path = tmp_path / "work.txt"
    lines = 3 * WORK_READ_CHUNK // 2 + 7  # 2-byte lines: three chunks, the last one short
    path.write_bytes(b"1\n" * lines + b"5 tok")  # and a last line without newline
    assert WorkFile(path, "sample").read_new(final=True) == [(float(lines), "sample"), (5.0, "tok")]
    polled = WorkFile(path, "sample")  # while the command runs: each poll reads for a bounded time
    counted = 0.0
    for _ in range(20):
        counted += sum(n for n, _ in polled.read_new())
    assert counted == lines  # nothing dropped: the next poll goes on where the last stopped
    assert polled.read_new(final=True) == [(5.0, "tok")]
    assert polled.problems == []


def test_a_line_split_across_chunks_is_kept_whole(tmp_path):
    path = tmp_path / "work.txt"
    head = b"1\n" * ((WORK_READ_CHUNK - 2) // 2)  # the next line starts 2 bytes before the chunk's end
    path.write_bytes(head + b"1234 token\n")
    assert WorkFile(path, "sample").read_new(final=True) == [(len(head) / 2, "sample"), (1234.0, "token")]


def test_a_million_lines_written_at_once_are_all_counted(tmp_path):
    out = tmp_path / "r.json"
    child = "import os; open(os.environ['ECOMETER_WORK_FILE'], 'a').write('1 sample\\n' * 1_000_000)"
    proc = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(out), "--", sys.executable, "-c", child],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert load_record(out).work == {"sample": 1_000_000.0}  # was 116,508 (1 MiB read at exit)
