"""``ecometer run`` under faults (issue 16): the command never outlives ecometer, every terminating
signal finalises the record, an unwritable output still leaves a record, the work file and the
Prometheus exporter hold up. Real processes, real signals, real process trees.

Each test failed before the change it covers, except the ones marked "regression" (behaviour that
had to be kept while the command moved into its own process group).
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from test_cli_run import ENV, ecometer, wait_for

from ecometer.commands.run import WorkFile, read_work_file
from ecometer.record.model import checkpoint_path, load_record

# a grandchild that says who it is, then runs until stopped
GRANDCHILD = """
import os, sys, time
from pathlib import Path
d = Path(sys.argv[1])
(d / "grandchild.pid").write_text(str(os.getpid()))
(d / "ready").write_text("")
t = time.monotonic()
while time.monotonic() - t < 60:
    time.sleep(0.05)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its parent to reap it has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def gone_within(pid: int, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def leftovers():
    """Pids a test must not leave running, whatever happens."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def tree(tmp_path: Path) -> list[str]:
    """``sh -c 'python grandchild; echo after'``: the command is a shell, the work its child."""
    return ["sh", "-c", f'"{sys.executable}" -c \'{GRANDCHILD}\' "{tmp_path}"; echo after']


# ---- the command never outlives ecometer -----------------------------------------------------------
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])  # SIGINT did not stop the workload either (issue 16)
def test_sigterm_reaches_the_whole_process_tree(tmp_path, leftovers, sig):
    signum = getattr(signal, sig)
    out = tmp_path / "run.json"
    proc = ecometer("run", "--out", str(out), "--", *tree(tmp_path))
    wait_for(tmp_path / "ready")
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    leftovers.append(grandchild)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert gone_within(grandchild, 5), f"the grandchild outlived the {sig} sent to ecometer"
    assert proc.returncode == 128 + signum, err
    rec = load_record(out)
    assert rec.status == "interrupted" and not rec.checkpoint
    assert rec.error == f"killed by {sig}"


def test_sigkill_of_ecometer_stops_the_command_tree(tmp_path, leftovers):
    out = tmp_path / "run.json"
    proc = ecometer("run", "--out", str(out), "--", *tree(tmp_path))
    wait_for(tmp_path / "ready")
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    shell = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    leftovers.extend([grandchild, *shell])
    time.sleep(0.3)
    proc.kill()
    proc.communicate(timeout=30)
    assert gone_within(grandchild, 10), "the workload kept running after ecometer was SIGKILLed"
    assert all(gone_within(pid, 5) for pid in shell)
    rec = load_record(out)  # the checkpoint
    assert rec.checkpoint and rec.status == "interrupted"


DRIVER_WITHOUT_GUARD = """
import sys, time
from ecometer.commands.child import Child
child = Child([sys.executable, "-c", "import time; time.sleep(60)"], {}, None)
print(child.proc.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux only")
def test_the_parent_death_signal_stops_the_command_without_the_guard(leftovers):
    """Even with no guard process (killed with ecometer, or never started), the kernel stops the command."""
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER_WITHOUT_GUARD], env=ENV, stdout=subprocess.PIPE, text=True
    )
    child = int(driver.stdout.readline())
    leftovers.append(child)
    assert running(child)
    driver.kill()
    driver.wait(timeout=10)
    assert gone_within(child, 5), "the command outlived its SIGKILLed parent"


CHILD_DEFAULTS = """
import resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGQUIT would dump a core
Path(sys.argv[1], "ready").write_text("")
t = time.monotonic()
while time.monotonic() - t < 60:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("sig", ["SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"])
def test_every_terminating_signal_is_forwarded_and_finalises_the_record(tmp_path, sig, leftovers):
    signum = getattr(signal, sig)
    out = tmp_path / "run.json"
    proc = ecometer("run", "--out", str(out), "--", sys.executable, "-c", CHILD_DEFAULTS, str(tmp_path))
    wait_for(tmp_path / "ready")
    leftovers.extend(int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split())
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err  # ecometer lived to report the command's end
    rec = load_record(out)
    assert rec.status == "interrupted" and not rec.checkpoint and rec.error == f"killed by {sig}"
    assert all(not running(pid) for pid in leftovers)


CHILD_HANDLES_USR1 = """
import signal, sys, time
from pathlib import Path
signal.signal(signal.SIGUSR1, lambda *a: sys.exit(5))
Path(sys.argv[1], "ready").write_text("")
time.sleep(60)
"""


def test_a_handled_signal_records_the_commands_exit_code(tmp_path):
    out = tmp_path / "run.json"
    proc = ecometer("run", "--out", str(out), "--", sys.executable, "-c", CHILD_HANDLES_USR1, str(tmp_path))
    wait_for(tmp_path / "ready")
    proc.send_signal(signal.SIGUSR1)
    proc.communicate(timeout=30)
    assert proc.returncode == 5
    rec = load_record(out)
    assert rec.status == "interrupted"
    assert rec.error == "interrupted (SIGUSR1); the command exited with code 5"


DRIVER_SIGNAL_IN_STOP = """
import os, signal, sys, time
import ecometer.measuring.meter
real_stop = ecometer.measuring.meter.Meter.stop
def stop(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIG)  # arrives while the record is being finalised
    time.sleep(0.2)
    return real_stop(self, *args, **kwargs)
ecometer.measuring.meter.Meter.stop = stop
from ecometer.commands.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_during_finalisation_keeps_the_record_and_the_exit_code(tmp_path, sig):
    out = tmp_path / "run.json"
    driver = DRIVER_SIGNAL_IN_STOP.replace("signal.SIG)", f"signal.{sig})")
    proc = subprocess.run(
        [sys.executable, "-c", driver, "run", "--out", str(out), "--", "sh", "-c", "exit 3"],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    rec = load_record(out)
    assert rec.status == "failed" and rec.error == "exited with code 3" and not rec.checkpoint
    assert not checkpoint_path(out).exists()
    assert f"{sig} arrived after the command had ended; the record was finished first" in proc.stderr


# ---- on a terminal ---------------------------------------------------------------------------------
CHILD_ON_TTY = """
import os, sys, time
from pathlib import Path
d = Path(sys.argv[1])
(d / "ready").write_text("")
if sys.argv[2] == "read":
    (d / "line").write_text(input())
else:
    t = time.monotonic()
    while time.monotonic() - t < 8:
        time.sleep(0.05)
"""


class Terminal:
    """``ecometer run`` in a new session whose controlling terminal is a pty (as typed in a shell)."""

    def __init__(self, *args: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: session leader, the pty as stdin/stdout/stderr
            try:
                os.execve(sys.executable, [sys.executable, "-m", "ecometer", *args], ENV)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = b""
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.2)
                if ready:
                    data = os.read(self.fd, 4096)
                    if not data:
                        return
                    self.output += data
            except OSError:
                return

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = 30.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._reader.join(2)
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"ecometer did not exit within {timeout} s; terminal: {self.output[-2000:]!r}")


def test_sigint_sent_to_ecometer_alone_on_a_terminal_is_forwarded(tmp_path):
    out = tmp_path / "run.json"
    term = Terminal("run", "--out", str(out), "--", sys.executable, "-c", CHILD_ON_TTY, str(tmp_path), "loop")
    wait_for(tmp_path / "ready")
    time.sleep(0.2)
    os.kill(term.pid, signal.SIGINT)  # kill -INT <ecometer>: not typed, so the command did not get it
    assert term.wait() == 130
    rec = load_record(out)
    assert rec.status == "interrupted" and rec.error == "killed by SIGINT"
    assert rec.duration_s < 6


def test_ctrl_c_typed_on_the_terminal_stops_the_command(tmp_path):  # regression
    out = tmp_path / "run.json"
    term = Terminal("run", "--out", str(out), "--", sys.executable, "-c", CHILD_ON_TTY, str(tmp_path), "loop")
    wait_for(tmp_path / "ready")
    time.sleep(0.2)
    term.type(b"\x03")
    assert term.wait() == 130
    rec = load_record(out)
    assert rec.status == "interrupted" and rec.error == "killed by SIGINT" and rec.duration_s < 6


def test_the_command_can_read_the_terminal(tmp_path):  # regression: its own process group owns the terminal
    out = tmp_path / "run.json"
    term = Terminal("run", "--out", str(out), "--", sys.executable, "-c", CHILD_ON_TTY, str(tmp_path), "read")
    wait_for(tmp_path / "ready")
    time.sleep(0.2)
    term.type(b"typed by hand\n")
    assert term.wait() == 0
    assert (tmp_path / "line").read_text() == "typed by hand"
    assert load_record(out).status == "ok"


def test_ctrl_z_stops_ecometer_with_the_command_and_fg_resumes_both(tmp_path):
    out = tmp_path / "run.json"
    term = Terminal("run", "--out", str(out), "--", sys.executable, "-c", CHILD_ON_TTY, str(tmp_path), "read")
    wait_for(tmp_path / "ready")
    time.sleep(0.2)
    term.type(b"\x1a")  # Ctrl-Z
    end = time.monotonic() + 20
    while True:  # what a shell waits for
        pid, status = os.waitpid(term.pid, os.WUNTRACED | os.WNOHANG)
        if pid or time.monotonic() > end:
            break
        time.sleep(0.05)
    if not (pid == term.pid and os.WIFSTOPPED(status)):
        term.wait(timeout=0.1)  # kills it
        pytest.fail("ecometer did not stop with its command")
    os.kill(term.pid, signal.SIGCONT)  # fg (ecometer took the terminal back, so it is in the foreground)
    time.sleep(0.3)
    term.type(b"after fg\n")
    assert term.wait() == 0
    assert (tmp_path / "line").read_text() == "after fg"


# ---- unwritable output -------------------------------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs mounted for the test (root with mount rights only): ``tmpfs(options)`` -> its path."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        where = tmp_path / f"mnt{len(mounted)}"
        where.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def _full_disk(tmpfs) -> Path:
    where = tmpfs("size=64k")
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:  # ENOSPC: the disk is full
        pass
    finally:
        os.close(fd)
    return where / "run.json"


def _unwritable(kind: str, tmp_path: Path, tmpfs) -> Path:
    if kind == "full-disk":
        return _full_disk(tmpfs)
    if kind == "read-only-fs":
        return tmpfs("size=64k,ro") / "run.json"
    if kind == "parent-is-a-file":
        (tmp_path / "afile").write_text("x")
        return tmp_path / "afile" / "run.json"
    if kind == "out-is-a-folder":
        (tmp_path / "folder").mkdir()
        return tmp_path / "folder"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["full-disk", "read-only-fs", "parent-is-a-file", "out-is-a-folder"])
def test_an_unwritable_output_saves_to_a_stated_fallback_and_exits_non_zero(tmp_path, tmpfs, kind):
    asked = _unwritable(kind, tmp_path, tmpfs)
    fallback_dir = tmp_path / "ecometer-runs"  # the default $ECOMETER_DIR, in the folder it runs in
    proc = ecometer("run", "--out", str(asked), "--", "true", cwd=str(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 74, err
    saved = list(fallback_dir.glob("true-*.json"))
    assert len(saved) == 1, err
    assert f"ecometer run: error: cannot write the record to {asked} (" in err
    assert f"saved it to {saved[0]} instead" in err
    assert f"record: {saved[0]}\n" in err and f"record: {asked}\n" not in err
    rec = load_record(saved[0])
    assert rec.status == "ok" and not rec.checkpoint
    assert any(w.startswith(f"the record could not be written to {asked}") for w in rec.warnings)
    assert not any("meter.record" in w for w in rec.warnings)  # that memory died with the process
    assert not asked.is_file()


def test_an_unwritable_output_keeps_the_commands_own_failure_code(tmp_path, tmpfs):
    asked = _full_disk(tmpfs)
    proc = ecometer("run", "--out", str(asked), "--", "sh", "-c", "exit 3", cwd=str(tmp_path))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 3
    (saved,) = (tmp_path / "ecometer-runs").glob("sh-*.json")
    assert load_record(saved).error == "exited with code 3" and f"record: {saved}" in err


# ---- the work file -----------------------------------------------------------------------------------
def test_bad_work_lines_are_refused_one_by_one(tmp_path):
    path = tmp_path / "work.txt"
    path.write_text("5\nnan sample\n-5\n3 sample\ninf token\n2 token\n")
    counts, problems = read_work_file(path, "sample")
    assert counts == {"sample": 8.0, "token": 2.0}  # one bad line does not wipe the count
    assert [p.split(":")[0] for p in problems] == [f"ECOMETER_WORK_FILE line {n}" for n in (2, 3, 5)]
    assert all("a count must be a finite number >= 0; refused" in p for p in problems)


def test_the_work_file_is_read_as_it_grows(tmp_path):
    path = tmp_path / "work.txt"
    work = WorkFile(path, "sample")
    assert work.read_new() == []  # not created yet
    path.write_text("2\n3 tok")
    assert work.read_new() == [(2.0, "sample")]  # the half-written line waits
    with path.open("a") as fh:
        fh.write("en\n4")
    assert work.read_new() == [(3.0, "token")]
    assert work.read_new(final=True) == [(4.0, "sample")]  # at exit, the last line without newline counts
    assert work.problems == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> str:
    return urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()


CHILD_SCRAPES_ITS_WORK = """
import os, sys, time, urllib.request
with open(os.environ["ECOMETER_WORK_FILE"], "a") as f:
    f.write("4 sample\\n")
time.sleep(1.5)
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
"""


def test_live_metrics_count_the_work_file_while_the_command_runs(tmp_path):
    port = free_port()
    proc = ecometer(
        "run", "--out", str(tmp_path / "r.json"), "--prometheus", f"127.0.0.1:{port}", "--prometheus-linger", "0",
        "--", sys.executable, "-c", CHILD_SCRAPES_ITS_WORK, str(port),
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "ecometer_up 1" in out and 'ecometer_work_total{unit="sample"} 4.0' in out
    assert load_record(tmp_path / "r.json").work == {"sample": 4.0}


# ---- the Prometheus exporter -------------------------------------------------------------------------
def test_a_port_in_use_is_refused_before_anything_is_metered(tmp_path):
    out = tmp_path / "r.json"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = ecometer("run", "--out", str(out), "--prometheus", f"127.0.0.1:{port}", "--", "touch", str(tmp_path / "ran"))
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and f"cannot serve metrics on 127.0.0.1:{port}" in err and "Traceback" not in err
    assert not out.exists() and not checkpoint_path(out).exists()  # no stale "interrupted" record
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("address", ["", "  "])
def test_an_empty_prometheus_address_is_refused(tmp_path, address):
    out = tmp_path / "r.json"
    proc = ecometer("run", "--out", str(out), "--prometheus", address, "--", "true")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "--prometheus" in err and "expected HOST:PORT" in err
    assert not out.exists()


def test_the_final_metrics_are_served_after_the_run(tmp_path):
    port = free_port()
    proc = ecometer(
        "run", "--out", str(tmp_path / "r.json"), "--prometheus", f"127.0.0.1:{port}", "--prometheus-linger", "30",
        "--", "sh", "-c", 'echo "3 sample" >> "$ECOMETER_WORK_FILE"; sleep 0.3',
    )  # fmt: skip
    final = None
    end = time.monotonic() + 30
    while final is None and time.monotonic() < end:
        try:
            text = scrape(port)
        except OSError:
            text = ""
        if "ecometer_up 0" in text and "\necometer_elapsed_seconds " in text:  # stopped, not yet started
            final = text
        time.sleep(0.05)
    _, err = proc.communicate(timeout=30)
    assert final is not None, f"the final metrics were never served: {err}"
    assert 'ecometer_work_total{unit="sample"} 3.0' in final
    assert proc.returncode == 0 and "serving the final metrics" in err
    rec = load_record(tmp_path / "r.json")
    assert f"ecometer_elapsed_seconds {float(rec.duration_s)!r}" in final


def test_a_signal_ends_the_linger(tmp_path):
    port = free_port()
    proc = ecometer(
        "run", "--out", str(tmp_path / "r.json"), "--prometheus", f"127.0.0.1:{port}", "--prometheus-linger", "60",
        "--", "true",
    )  # fmt: skip
    for line in proc.stderr:  # until the run is over and the exporter lingers
        if "serving the final metrics" in line:
            break
    t = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert time.monotonic() - t < 5
    assert proc.returncode == 0 and load_record(tmp_path / "r.json").status == "ok"


def test_record_json_round_trip_of_the_run_record(tmp_path):  # regression: the CLI still writes a loadable record
    out = tmp_path / "r.json"
    proc = ecometer("run", "--out", str(out), "--work", "2", "--", "true")
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert json.loads(out.read_text())["work"] == {"item": 2.0}
