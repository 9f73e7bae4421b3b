"""``ecometer run``: meter any command as a child process and write its record."""

from __future__ import annotations

import argparse
import errno
import math
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ecometer.checks.numbers import Bounds
from ecometer.commands.options import COUNT, POSITIVE, command_of, number

WORK_FILE_ENV = "ECOMETER_WORK_FILE"
#: Exit code when the command succeeded but its record could not be written where asked
#: (EX_IOERR of sysexits.h); the record was saved to a fallback location, named on stderr.
EXIT_RECORD_NOT_WRITTEN = 74
WORK_POLL_S = 0.5  # how often the work file is read while the command runs
FORECAST_EVERY_S = 5.0  # a forecast costs 15-40 ms: made at most this often
_MAX_WORK_LINE = 4096  # bytes; a longer line is not 'N UNIT'
WORK_READ_CHUNK = 1 << 20  # bytes read from the work file at a time
WORK_READ_BUDGET_S = 0.25  # a poll while the command runs reads for about this long, then goes on next poll
_MAX_WORK_PROBLEMS = 20

EPILOG = f"""examples:
  ecometer run -- python train.py --epochs 3
  ecometer run --name finetune --site us-average --standard ecometer-training \\
      --out runs/finetune.json -- python train.py
  ecometer run --scope process --work 5000 --work-unit sample -- ./bench --n 5000
  ecometer run --meta precision=bf16 --meta batch_size=64 -- python train.py
  ecometer run --prometheus 127.0.0.1:9464 --prometheus-linger 30 -- python train.py

The command runs as a child process (no shell), in its own process group, and is metered
from start to exit. It never outlives ecometer: every terminating signal sent to ecometer
(SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM...) is forwarded to the
command's whole process group and the record is finalised as interrupted; if ecometer is
killed (even by SIGKILL) the command's group is stopped. A command that has not ended
--kill-after seconds (default 10) after a forwarded SIGTERM, SIGINT, SIGHUP or SIGQUIT gets
SIGKILL (said on stderr and in the record); processes it leaves running in its process group
when it ends (background children) are sent SIGTERM, then SIGKILL after the same grace. On a terminal the command gets
the terminal (Ctrl-C, Ctrl-\\ and Ctrl-Z reach it directly, and it can read input).
ecometer then exits with the command's exit code (128+N if a signal N killed it), and the
record's status is ok, failed (non-zero exit) or interrupted (signal); its error field
gives the exit code. A command that is not found exits 127, one that is not executable
126, like a shell, and a script without #! is run by /bin/sh; bad options exit 2.

If the record cannot be written where asked (full disk, read-only or missing folder, --out
a folder), it is saved to $ECOMETER_DIR (default ecometer-runs/) or, failing that, to a
private (0700) ecometer-runs/ in the temporary folder, under a new random name; both paths
are printed, and ecometer exits {EXIT_RECORD_NOT_WRITTEN} if the command itself succeeded. With no
folder at all, the record's JSON is printed on stderr. --out a device or a FIFO
(/dev/stdout, /dev/null) is written into, never replaced.

When stdout and stderr are a terminal, a live status line (power now, energy and water
so far) is shown on stderr, cut to the terminal's width; the command's output then goes
through ecometer (to a terminal of its own, of the same size), so the line is erased before
each piece of it and never mixes with it. Otherwise only warnings and a final summary are
written (on stderr, so the command's own stdout stays clean).

Work units: --work N counts N units; the command may also append lines "N" or
"N UNIT" to the file named by ${WORK_FILE_ENV} while it runs (read every {WORK_POLL_S:g} s,
so live metrics have them, and at exit). A line that is not a finite count >= 0 is
refused with a warning naming it; the other lines count.

Forecast: with --total-work N (or --total-s S) the job's end is forecast about every
{FORECAST_EVERY_S:g} s from the work file's pace: the live line shows the energy range and the
time left (or why there is no forecast yet), the Prometheus exporter serves forecast gauges,
and the record keeps the forecasts made (record.forecasts).
  ecometer run --total-work 60000 --work-unit step -- python train.py   # train.py appends "1" per step
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "run",
        usage="ecometer run [options] -- CMD [ARGS...]",
        help="run a command and meter its energy, water and carbon",
        description="Run a command as a child process, meter it, and write the run record "
        "(with footprint and grade when a site or standard is given).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--name", help="run name (default: the script or module the command runs, else the program's name)"
    )
    parser.add_argument("--site", metavar="S", help="site preset for the footprint (e.g. us-average)")
    parser.add_argument("--standard", metavar="STD", help="standard to grade against (name or TOML file)")
    parser.add_argument(
        "--out", metavar="RUN.json", help="record path (default: $ECOMETER_DIR or ecometer-runs/NAME-TIME-PID-RANDOM.json)"
    )
    parser.add_argument("--scope", choices=("machine", "process"), default="machine", help="what to attribute")
    parser.add_argument("--work-unit", metavar="U", help="functional unit of the work counted (sample, token...)")
    parser.add_argument("--work", metavar="N", type=COUNT, help="units of work the command does (counted at exit)")
    parser.add_argument(
        "--total-work",
        metavar="N",
        type=POSITIVE,
        help="units of work of the whole job (of --work-unit, counted through the work file): the live line "
        "and the Prometheus exporter forecast the job's end",
    )
    parser.add_argument(
        "--total-s", metavar="S", type=POSITIVE, help="seconds the whole job will run (instead of --total-work)"
    )
    parser.add_argument(
        "--meta", metavar="KEY=VALUE", action="append", default=[], help="metadata for the record (repeatable)"
    )
    parser.add_argument(
        "--interval", metavar="S", type=number(Bounds(low=0.001, high=60, unit="s")), default=0.1,
        help="sampling interval in seconds",
    )  # fmt: skip
    parser.add_argument(
        "--prometheus",
        metavar="HOST:PORT",
        help="serve live metrics for Prometheus (e.g. 127.0.0.1:9464); loopback unless a non-loopback address is given",
    )
    parser.add_argument(
        "--prometheus-linger",
        metavar="S",
        type=number(Bounds(low=0, high=3600, unit="s")),
        default=10.0,
        help="after the run, keep serving the final metrics for up to S seconds, until they are scraped "
        "once (default 10; 0 stops at once; any signal ends it)",
    )
    parser.add_argument(
        "--kill-after",
        metavar="S",
        type=number(Bounds(low=0, high=86400, unit="s")),
        default=None,
        help="seconds the command has to end after a SIGTERM, SIGINT, SIGHUP or SIGQUIT ecometer forwarded, "
        "and background processes it left in its process group after a SIGTERM, before SIGKILL (default 10)",
    )
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    parser.set_defaults(func=run)


def parse_meta(items: list[str]) -> dict[str, Any]:
    """``["precision=bf16", "batch_size=64"]`` -> ``{"precision": "bf16", "batch_size": 64}``."""
    from ecometer.errors import UsageError

    meta: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--meta {item!r}: expected KEY=VALUE")
        meta[key.strip()] = _scalar(value)
    return meta


def _scalar(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            value = kind(text)
        except ValueError:
            continue
        if isinstance(value, float) and not math.isfinite(value):
            return text
        return value
    return text


#: programs that run a script or module named in their arguments (the run is named after that)
LAUNCHERS = re.compile(
    r"^(python[0-9.]*|pypy[0-9.]*|torchrun|accelerate|deepspeed|uv|poetry|pipenv|conda|mpirun|mpiexec|srun|"
    r"bash|sh|zsh|node|ruby|perl|Rscript|julia|env|nohup|time|nice|taskset|numactl)$"
)
_SCRIPT = re.compile(r"\.(py|sh|js|rb|pl|R|jl|ipynb)$")


def run_name(command: list[str]) -> str:
    """The name of a run of ``command``: the script or module it runs, else the program.

    ``python3 train.py`` -> ``train``; ``python -m pkg.serve`` -> ``pkg.serve``;
    ``torchrun --nproc-per-node 2 train.py`` -> ``train``; ``python -c CODE`` -> ``python -c``;
    ``./bench --n 5`` -> ``bench``.
    """
    program = Path(command[0]).name
    if not LAUNCHERS.match(program):
        return program
    for i, arg in enumerate(command[1:], start=1):
        if arg in ("-m", "--module") and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith("-m") and len(arg) > 2 and program.startswith(("python", "pypy")):
            return arg[2:]
        if arg == "-c" and program.startswith(("python", "pypy")):
            return f"{program} -c"
        if _SCRIPT.search(arg) and not arg.startswith("-"):
            return Path(arg).stem
    return program


def resolve_command(argv: list[str]) -> tuple[str | None, int]:
    """The executable's path and 0, or ``None`` and the shell's exit code (127 missing, 126 not executable)."""
    prog = argv[0]
    if os.sep in prog or (os.altsep and os.altsep in prog):
        if not os.path.exists(prog):
            return None, 127
        if os.path.isdir(prog) or not os.access(prog, os.X_OK):
            return None, 126
        return prog, 0
    found = shutil.which(prog)
    return (found, 0) if found else (None, 127)


class WorkFile:
    """The units of work a command appends to ``$ECOMETER_WORK_FILE`` (``N`` or ``N UNIT`` per
    line), read as it writes them: each call of :meth:`read_new` returns the complete lines
    added since the last. A line that is not a finite count >= 0 is refused and noted in
    :attr:`problems` (naming its line number); the other lines still count."""

    def __init__(self, path: Path | None, default_unit: str | None) -> None:
        self.path = path  # None: there is no work file (no temporary folder could be made)
        self.default_unit = default_unit or "item"
        self.problems: list[str] = []
        self._offset = 0
        self._partial = b""
        self._lineno = 0
        self._refused = 0
        self._lock = threading.Lock()

    def read_new(self, final: bool = False) -> list[tuple[float, str]]:
        """(amount, unit) of the lines completed since the last call (``final``: the last line too).

        Reads to the end of the file in chunks of :data:`WORK_READ_CHUNK` bytes, so nothing is
        dropped however fast the command writes. A poll while the command runs stops after about
        :data:`WORK_READ_BUDGET_S` seconds and goes on from there at the next poll; the ``final``
        read goes to the size the file has when it begins. Consecutive lines of one unit are
        summed into one item (a million lines are not a million ``add_work`` calls).
        """
        with self._lock:
            out: list[tuple[float, str]] = []
            deadline = time.monotonic() + WORK_READ_BUDGET_S
            end = self._size() if final else None
            while True:
                data = self._read(WORK_READ_CHUNK if end is None else min(WORK_READ_CHUNK, end - self._offset))
                self._take(data, out)
                if len(data) < WORK_READ_CHUNK or (end is None and time.monotonic() > deadline):
                    break
            if final and self._partial:
                self._take(b"\n", out)  # the last line, unterminated
            if final and self._refused > _MAX_WORK_PROBLEMS:
                self.problems.append(f"{WORK_FILE_ENV}: {self._refused - _MAX_WORK_PROBLEMS} more lines refused")
            return out

    def _take(self, data: bytes, out: list[tuple[float, str]]) -> None:
        """Parse the complete lines in the kept partial line + ``data`` into ``out``; keep the rest."""
        from ecometer.measuring.run import MAX_WORK_PER_CALL

        chunks = (self._partial + data).split(b"\n")
        self._partial = chunks.pop()
        if len(self._partial) > _MAX_WORK_LINE:
            self._lineno += 1
            self._problem(f"line {self._lineno} is longer than {_MAX_WORK_LINE} bytes; ignored", line=True)
            self._partial = b""
        for raw in chunks:
            self._lineno += 1
            parsed = self._parse(raw.decode("utf-8", "replace"))
            if parsed is None:
                continue
            if out and out[-1][1] == parsed[1] and out[-1][0] + parsed[0] <= MAX_WORK_PER_CALL:
                out[-1] = (out[-1][0] + parsed[0], parsed[1])
            else:
                out.append(parsed)

    def _size(self) -> int:
        """The work file's size now (bytes; 0 when it cannot be read or there is none)."""
        if self.path is None:
            return 0
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def _read(self, limit: int) -> bytes:
        """Up to ``limit`` bytes from where the last read ended (``b""`` at the end or on a problem)."""
        if limit <= 0 or self.path is None:
            return b""
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except FileNotFoundError:
            return b""
        except OSError as exc:
            self._problem(f"cannot read the work file {self.path}: {exc.strerror or exc}")
            return b""
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                self._problem(f"the work file {self.path} is not a regular file; it is not read")
                return b""
            if info.st_size < self._offset:
                self._problem("the work file was truncated: only appended lines are counted")
                self._offset = info.st_size
            os.lseek(fd, self._offset, os.SEEK_SET)
            data = os.read(fd, limit)
        except OSError as exc:
            self._problem(f"cannot read the work file {self.path}: {exc.strerror or exc}")
            return b""
        finally:
            os.close(fd)
        self._offset += len(data)
        return data

    def _parse(self, line: str) -> tuple[float, str] | None:
        parts = line.split()
        if not parts:
            return None
        shown = line.strip()[:60]
        try:
            amount = float(parts[0])
        except ValueError:
            self._problem(f"line {self._lineno}: {shown!r} is not 'N' or 'N UNIT'; ignored", line=True)
            return None
        if not math.isfinite(amount) or amount < 0:
            self._problem(f"line {self._lineno}: {shown!r}: a count must be a finite number >= 0; refused", line=True)
            return None
        return amount, parts[1] if len(parts) > 1 else self.default_unit

    def _problem(self, text: str, line: bool = False) -> None:
        self._refused += 1
        if self._refused <= _MAX_WORK_PROBLEMS:
            self.problems.append(f"{WORK_FILE_ENV} {text}" if line else text)


def read_work_file(path: Path, default_unit: str | None) -> tuple[dict[str, float], list[str]]:
    """Units of work written by the child (``N`` or ``N UNIT`` per line), and problems found."""
    work = WorkFile(path, default_unit)
    counts: dict[str, float] = {}
    for amount, unit in work.read_new(final=True):
        counts[unit] = counts.get(unit, 0.0) + amount
    return counts, work.problems


class WorkFollower:
    """Reads the work file every :data:`WORK_POLL_S` seconds while the command runs and counts
    it on the meter (so live metrics have work), remaking the ``forecast`` when due;
    :meth:`finish` reads the rest at exit."""

    def __init__(self, work: WorkFile, meter: Any, forecast: Any = None) -> None:
        self.work = work
        self.meter = meter
        self.forecast = forecast
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecometer-work-file", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(WORK_POLL_S):
            self._count(self.work.read_new())
            if self.forecast is not None:
                self._forecast()

    def _forecast(self) -> None:
        try:
            self.forecast.get()
        except Exception as exc:  # noqa: BLE001 - a forecast must never break the run
            import logging

            logging.getLogger("ecometer.measuring.run").warning("forecast failed: %s", exc)
            self.forecast = None

    def _count(self, items: list[tuple[float, str]]) -> None:
        for amount, unit in items:
            self.meter.add_work(amount, unit)

    def finish(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2.0)
        self._count(self.work.read_new(final=True))


class StatusLine:
    """A one-line live display, refreshed about once a second, on a :class:`~ecometer.report.terminal.LiveLine`
    (terminals only: the command's output goes through it, so the line owns its row)."""

    def __init__(self, meter: Any, water_l_per_j: float | None, forecast: Any = None) -> None:
        from ecometer.report.terminal import LiveLine

        self.meter = meter
        self.water_l_per_j = water_l_per_j
        self.forecast = forecast
        self.line = LiveLine(sys.stderr.fileno())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecometer-status", daemon=True)

    def start(self) -> None:
        sys.stderr.flush()
        self._thread.start()

    def _loop(self) -> None:
        import logging


        logged = False
        said: str | None = None
        while not self._stop.wait(1.0):
            try:
                live = self.meter.live()
            except Exception as exc:  # noqa: BLE001 - a display must never break the run
                if not logged:
                    logging.getLogger("ecometer.measuring.run").debug("status line: no live reading (%s); retrying", exc)
                    logged = True
                continue
            why = self.forecast.not_ready_reason() if self.forecast is not None else None
            if why is not None and why != said:  # said in full once, on a line of its own
                self.line.say(f"ecometer: forecast not ready: {why}")
            said = why
            self.line.show(self.text(live))

    def text(self, live: Any) -> str:
        """The status for the ``live`` reading: time, power now, energy (water, forecast) so far."""
        from ecometer.record.units import fmt

        energy = sum(live.energy_j.values())
        parts = [
            f"ecometer: {fmt('time', live.elapsed_s)}",
            f"{fmt('power', sum(live.power_w.values()))} now",
            f"{fmt('energy', energy)}",
        ]
        if self.water_l_per_j is not None:
            parts.append(f"water {fmt('water', energy * self.water_l_per_j)}")
        if self.forecast is not None:
            ready = self.forecast.not_ready_reason() is None
            parts.append(self.forecast.status() if ready else "forecast not ready (why: above)")
        return " · ".join(parts)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.line.close()


def _water_per_joule(site: Any) -> float | None:
    """Litres of water consumed per joule of IT energy at ``site`` (central), for the status line."""
    if site is None:
        return None
    try:
        from ecometer.impact import footprint
        from ecometer.record.units import J_PER_KWH

        fp = footprint(energy_kwh=1.0, site=site)
        total = fp.water.total_l
        return float(getattr(total, "central", total)) / J_PER_KWH
    except Exception as exc:  # noqa: BLE001 - the live display can do without water
        import logging

        logging.getLogger("ecometer.measuring.run").debug("no water in the status line: %s", exc)
        return None


def run(args: argparse.Namespace) -> int:
    command = command_of(args, "ecometer run [options] -- CMD ARGS...")
    _check_totals(args)
    meta = parse_meta(args.meta)
    address = None
    if args.prometheus is not None:  # an empty address is refused, not taken as "no exporter"
        from ecometer.integrations.prometheus import parse_address

        address = parse_address(args.prometheus)
    executable, code = resolve_command(command)
    if executable is None:
        what = "command not found" if code == 127 else "command is not executable"
        sys.stderr.write(f"ecometer run: error: {what}: {command[0]}\n")
        return code

    import logging

    from ecometer.api import measure

    logging.getLogger("ecometer.notice").setLevel(logging.WARNING)  # the summary below says where the record went
    meta.setdefault("command", " ".join(command)[:500])
    meter = measure(
        args.name or run_name(command),
        scope=args.scope,
        work_unit=args.work_unit,
        out=args.out or "auto",
        site=args.site,
        standard=args.standard,
        meta=meta,
        interval_s=args.interval,
    )
    exporter = None
    if address is not None:  # bound before the meter starts: a port in use leaves no record behind
        from ecometer.integrations.prometheus import serve

        exporter = serve(meter, *address, **_totals(args))
        sys.stderr.write(f"ecometer run: Prometheus metrics at {exporter.url}\n")
    try:
        return _run_metered(args, command, meter, exporter, executable)
    finally:
        if exporter is not None:
            exporter.close()


def _check_totals(args: argparse.Namespace) -> None:
    """--total-work / --total-s: at most one (their values are checked by their option types)."""
    from ecometer.errors import UsageError

    if args.total_work is not None and args.total_s is not None:
        raise UsageError("give --total-work N or --total-s S, not both")


def _totals(args: argparse.Namespace) -> dict[str, Any]:
    """The job's total for a forecast (``total_work``/``unit`` or ``total_s``), or {} for none."""
    if args.total_work is not None:
        return {"total_work": args.total_work, "unit": args.work_unit}
    return {"total_s": args.total_s} if args.total_s is not None else {}


def _live_forecast(args: argparse.Namespace, meter: Any) -> Any:
    if not _totals(args):
        return None
    from ecometer.forecast.live import LiveForecast

    hint = f"the command appends lines 'N' to ${WORK_FILE_ENV} as it works" if args.total_work is not None else ""
    return LiveForecast(meter, every_s=FORECAST_EVERY_S, work_hint=hint, **_totals(args))


LEFTOVERS_NOTE = (
    "the command left processes running in its process group (background children): they were sent SIGTERM "
    "(SIGKILL after {:g} s, --kill-after)"
)


class MeteredCommand:
    """``command`` run under ``meter`` the way ``ecometer run`` runs it (see the module doc of
    :mod:`ecometer.commands.child`): the meter is started, the work file followed, signals
    relayed to the command's group (escalated to SIGKILL after ``grace_s``), processes it leaves
    in its group stopped, and the guard holds it until it ends. :meth:`run` leaves the meter
    running for the caller to stop (after :meth:`outcome`); :meth:`close` puts the signal
    handlers back once the record is saved (signals meanwhile are only noted).

    ``executable``: the command's resolved path; ``env``: extra environment variables for the
    command; ``stdio``: ``(stdin, stdout, stderr)`` for it (None: inherited, through the live
    line's relay when ``status_line`` is shown).
    """

    def __init__(
        self,
        command: list[str],
        meter: Any,
        work_unit: str | None,
        *,
        executable: str | None = None,
        terminal: int | None = None,
        forecast: Any = None,
        status_line: StatusLine | None = None,
        env: dict[str, str] | None = None,
        stdio: tuple[Any, Any, Any] | None = None,
        grace_s: float | None = None,
    ) -> None:
        from ecometer.commands.child import STOP_GRACE_S, SignalRelay

        self.command = command
        self.meter = meter
        self.work_unit = work_unit
        self.executable = executable
        self.terminal = terminal
        self.forecast = forecast
        self.status_line = status_line
        self.env = env or {}
        self.stdio = stdio
        self.grace_s = STOP_GRACE_S if grace_s is None else grace_s
        self.relay = SignalRelay(self.grace_s)
        self.work: WorkFile | None = None
        self.child: Any = None
        self.returncode: int | None = None
        self.start_error: OSError | None = None
        self.leftovers = False  # the command left processes in its group (stopped)
        self.command_s: float | None = None  # the command's own wall time, from its start to its exit (s)

    def run(self) -> None:
        """Start the meter, run the command to its end; the meter is left running."""
        from ecometer.commands.child import Guard
        from ecometer.report import terminal as liveline

        relay, status_line = self.relay, self.status_line
        guard = Guard()  # before the meter starts: its own start-up is not metered
        workdir = _work_folder()
        work = self.work = WorkFile(Path(workdir) / "work.txt" if workdir else None, self.work_unit)
        relayed: liveline.OutputRelay | None = None
        try:
            with relay.blocked():  # helper threads started here never take the signals
                self.meter.start()
                follower = WorkFollower(work, self.meter, self.forecast)
                follower.start()
                if status_line is not None:
                    status_line.start()
            try:
                if not relay.received:  # a signal before the command started: it is not started
                    if status_line is not None and self.stdio is None:
                        relayed = liveline.OutputRelay(status_line.line)
                    started = time.monotonic()
                    self.child, self.start_error = _spawn(self, _command_env(work, self.env), relayed)
                    if self.child is not None:
                        guard.watch(self.child.pgid)
                        relay.attach(self.child)
                        self.returncode = self.child.wait()
                        self.command_s = time.monotonic() - started
                        self.leftovers = self.child.stop_leftovers(self.grace_s)
            finally:
                relay.command_ended()
                follower.finish()
                if relayed is not None:
                    relayed.close()
                if status_line is not None:
                    status_line.stop()
                guard.release(done=self.child is None or self.child.returncode is not None)
        except BaseException:  # ecometer itself failed: the command must not run on without it
            running = self.child is not None and self.child.returncode is None
            if running:
                self.child.kill_group()
            guard.release(done=not running)
            relay.restore()
            raise
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)

    def outcome(self) -> tuple[str, str | None, int]:
        """(status, error, exit code) of the run (see :func:`_outcome`), with a SIGKILL escalation
        and stopped leftovers said."""
        status, error, exit_code = _outcome(self.command, self.returncode, self.start_error, self.relay.received)
        error = _note_endings(self.meter, error, self.relay.escalated, self.grace_s if self.leftovers else None)
        return status, error, exit_code

    def close(self) -> None:
        """Put back the signal handlers the run replaced."""
        self.relay.restore()


def _run_metered(args: argparse.Namespace, command: list[str], meter: Any, exporter: Any, executable: str) -> int:
    from ecometer.commands.child import foreground_terminal, signal_name
    from ecometer.report import terminal as liveline

    terminal = foreground_terminal()
    forecast = _live_forecast(args, meter)
    status_line = StatusLine(meter, _water_per_joule(meter.site), forecast) if liveline.wanted() else None
    metered = MeteredCommand(
        command,
        meter,
        args.work_unit,
        executable=executable,
        terminal=terminal,
        forecast=forecast,
        status_line=status_line,
        grace_s=args.kill_after,
    )
    metered.run()
    relay, work, start_error = metered.relay, metered.work, metered.start_error
    assert work is not None
    try:
        for problem in work.problems:
            sys.stderr.write(f"ecometer run: warning: {problem}\n")
        if args.work is not None:
            meter.add_work(args.work, args.work_unit)
        status, error, exit_code = metered.outcome()
        record = meter.stop(status, error=error)
        saved, problem = _where_saved(meter, record)
        from ecometer.report.text import summary

        sys.stderr.write(summary(record) + "\n")
        if start_error is not None:
            sys.stderr.write(f"ecometer run: error: {error}\n")
        if saved is not None and saved.is_file():
            sys.stderr.write(f"record: {saved}\n")
        if problem is not None:
            sys.stderr.write(f"ecometer run: error: {problem}\n")
            if exit_code == 0:
                exit_code = EXIT_RECORD_NOT_WRITTEN
        if relay.late:
            names = ", ".join(sorted({signal_name(s) for s in relay.late}))
            sys.stderr.write(
                f"ecometer run: {names} arrived after the command had ended; the record was finished first\n"
            )
        _linger(exporter, args.prometheus_linger, relay)
        return exit_code
    finally:
        metered.close()


def _spawn(metered: MeteredCommand, env: dict[str, str], relayed: Any) -> tuple[Any, OSError | None]:
    """The command started (its output through ``relayed`` when the live line is shown), or why not."""
    from ecometer.commands.child import Child

    output = None if relayed is None else relayed.slave
    try:
        child = Child(metered.command, env, metered.terminal, metered.executable, output=output, stdio=metered.stdio)
    except OSError as exc:
        return None, exc
    if relayed is not None:
        relayed.started()
    return child, None


def _command_env(work: WorkFile, extra: dict[str, str] | None = None) -> dict[str, str]:
    """ecometer's environment for the command (with ``extra``), with ``$ECOMETER_WORK_FILE`` when
    there is a work file."""
    env = {k: v for k, v in os.environ.items() if k != WORK_FILE_ENV}
    env.update(extra or {})
    if work.path is not None:
        env[WORK_FILE_ENV] = str(work.path)
    return env


def _note_endings(meter: Any, error: str | None, escalated: str | None, leftovers_grace_s: float | None) -> str | None:
    """The record's error with the SIGKILL escalation, if any; stopped leftovers said on stderr and in a warning."""
    if escalated:
        error = f"{error}; {escalated}"
    if leftovers_grace_s is not None:
        note = LEFTOVERS_NOTE.format(leftovers_grace_s)
        meter.run.warn(note)
        sys.stderr.write(f"ecometer run: {note}\n")
    return error


def _work_folder() -> str | None:
    """A private temporary folder for the work file, or None (with a warning) when no temporary
    folder can be written: the command still runs and is metered, without ``$ECOMETER_WORK_FILE``."""
    try:
        return tempfile.mkdtemp(prefix="ecometer-run-")
    except OSError as exc:
        sys.stderr.write(
            f"ecometer run: warning: no temporary folder for the work file ({exc.strerror or exc}); "
            f"the command runs without ${WORK_FILE_ENV}\n"
        )
        return None


def _outcome(
    command: list[str], returncode: int | None, start_error: OSError | None, received: list[int]
) -> tuple[str, str | None, int]:
    """(status, error, exit code) of the run, from the command's return code and the signals ecometer got."""
    import signal

    from ecometer.commands.child import signal_name as name

    if start_error is not None:
        code = 126 if isinstance(start_error, PermissionError) or start_error.errno == errno.ENOEXEC else 127
        return "failed", f"cannot start {command[0]}: {start_error.strerror or start_error}", code
    if returncode is None:  # a signal came before the command was started
        return "interrupted", f"received {name(received[0])} before the command started", 128 + received[0]
    if returncode < 0:
        stopped = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
        status = "interrupted" if received or -returncode in stopped else "failed"
        return status, f"killed by {name(-returncode)}", 128 - returncode
    if received:
        names = ", ".join(dict.fromkeys(name(s) for s in received))
        return "interrupted", f"interrupted ({names}); the command exited with code {returncode}", returncode
    if returncode != 0:
        return "failed", f"exited with code {returncode}", returncode
    return "ok", None, 0


def _where_saved(meter: Any, record: Any) -> tuple[Path | None, str | None]:
    """Where the record is, and the problem when that is not where it was asked to be.

    The meter saves it itself and, when the asked path cannot be written (full disk,
    read-only, a file in the way, a folder), to a fallback place (:meth:`ecometer.measuring.run.Run.save`);
    if it could be written nowhere, its JSON is printed on stderr.
    """
    asked, saved = meter.asked_path, meter.path
    if asked is None or meter.save_error is None:
        return saved, None
    if saved is not None:
        return saved, f"cannot write the record to {asked} ({meter.save_error}); saved it to {saved} instead"
    record.warnings[:] = [w for w in record.warnings if not w.startswith(f"cannot write record {asked}")]
    sys.stderr.write(record.to_json() + "\n")
    return None, (
        f"cannot write the record to {asked} ({meter.save_error}) nor to a fallback folder; "
        "its JSON is printed above on stderr"
    )


def _linger(exporter: Any, seconds: float, relay: Any) -> None:
    """Keep serving the final metrics until they are scraped once, ``seconds`` pass or a signal comes
    (one that came while the record was finished counts: the user wants ecometer to end)."""
    if exporter is None or seconds <= 0 or relay.late:
        return
    sys.stderr.write(
        f"ecometer run: serving the final metrics at {exporter.url} until scraped, for at most {seconds:g} s "
        "(--prometheus-linger)\n"
    )
    end = time.monotonic() + seconds
    while time.monotonic() < end and not exporter.final_scrapes and not relay.late:
        time.sleep(0.05)
