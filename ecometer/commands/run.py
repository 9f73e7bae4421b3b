"""``ecometer run``: meter any command as a child process and write its record."""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

WORK_FILE_ENV = "ECOMETER_WORK_FILE"

EPILOG = f"""examples:
  ecometer run -- python train.py --epochs 3
  ecometer run --name finetune --site us-average --standard ecometer-training \\
      --out runs/finetune.json -- python train.py
  ecometer run --scope process --work 5000 --work-unit sample -- ./bench --n 5000
  ecometer run --meta precision=bf16 --meta batch_size=64 -- python train.py

The command runs as a child process (no shell) and is metered from start to exit.
SIGTERM sent to ecometer is forwarded to it; so is SIGINT, except when typed at the
terminal (the command receives that one directly). ecometer then exits with the
command's exit code (128+N if a signal N killed it), and the record's status is ok,
failed (non-zero exit) or interrupted (signal). A command that is not found exits 127,
one that is not executable 126, like a shell; bad options exit 2.

On a terminal a live status line (power now, energy and water so far) is shown on
stderr; otherwise only warnings and a final summary (on stderr, so the command's own
stdout stays clean).

Work units: --work N counts N units; the command may also append lines "N" or
"N UNIT" to the file named by ${WORK_FILE_ENV} while it runs (read at exit).
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
    parser.add_argument("--name", help="run name (default: the command's name)")
    parser.add_argument("--site", metavar="S", help="site preset for the footprint (e.g. us-average)")
    parser.add_argument("--standard", metavar="STD", help="standard to grade against (name or TOML file)")
    parser.add_argument(
        "--out", metavar="RUN.json", help="record path (default: $ECOMETER_DIR or ecometer-runs/NAME-TIME.json)"
    )
    parser.add_argument("--scope", choices=("machine", "process"), default="machine", help="what to attribute")
    parser.add_argument("--work-unit", metavar="U", help="functional unit of the work counted (sample, token...)")
    parser.add_argument("--work", metavar="N", type=float, help="units of work the command does (counted at exit)")
    parser.add_argument(
        "--meta", metavar="KEY=VALUE", action="append", default=[], help="metadata for the record (repeatable)"
    )
    parser.add_argument("--interval", metavar="S", type=float, default=0.1, help="sampling interval in seconds")
    parser.add_argument(
        "--prometheus",
        metavar="HOST:PORT",
        help="serve live metrics for Prometheus (e.g. 127.0.0.1:9464); loopback unless a non-loopback address is given",
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


def read_work_file(path: Path, default_unit: str | None) -> tuple[dict[str, float], list[str]]:
    """Units of work written by the child (``N`` or ``N UNIT`` per line), and problems found."""
    counts: dict[str, float] = {}
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return counts, problems
    except OSError as exc:
        return counts, [f"cannot read the work file {path}: {exc}"]
    for lineno, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        try:
            amount = float(parts[0])
        except ValueError:
            problems.append(f"{WORK_FILE_ENV} line {lineno}: {line[:60]!r} is not 'N' or 'N UNIT'")
            continue
        unit = parts[1] if len(parts) > 1 else (default_unit or "item")
        counts[unit] = counts.get(unit, 0.0) + amount
    return counts, problems


def _terminal_sends_sigint() -> bool:
    """Whether a SIGINT most likely came from the terminal, which also delivers it to the child."""
    try:
        fd = sys.stdin.fileno()
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except (OSError, ValueError, AttributeError):
        return False


class StatusLine:
    """A one-line live display on stderr, refreshed about once a second (terminals only)."""

    def __init__(self, meter: Any, water_l_per_j: float | None) -> None:
        self.meter = meter
        self.water_l_per_j = water_l_per_j
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecometer-status", daemon=True)
        self._shown = False

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        import logging

        from ecometer.units import fmt

        logged = False
        while not self._stop.wait(1.0):
            try:
                live = self.meter.live()
            except Exception as exc:  # noqa: BLE001 - a display must never break the run
                if not logged:
                    logging.getLogger("ecometer.run").debug("status line: no live reading (%s); retrying", exc)
                    logged = True
                continue
            energy = sum(live.energy_j.values())
            parts = [
                f"ecometer: {fmt('time', live.elapsed_s)}",
                f"{fmt('power', sum(live.power_w.values()))} now",
                f"{fmt('energy', energy)}",
            ]
            if self.water_l_per_j is not None:
                parts.append(f"water {fmt('water', energy * self.water_l_per_j)}")
            sys.stderr.write("\r\033[K" + " · ".join(parts))
            sys.stderr.flush()
            self._shown = True

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _water_per_joule(site: Any) -> float | None:
    """Litres of water consumed per joule of IT energy at ``site`` (central), for the status line."""
    if site is None:
        return None
    try:
        from ecometer.footprint import footprint
        from ecometer.units import J_PER_KWH

        fp = footprint(energy_kwh=1.0, site=site)
        total = fp.water.total_l
        return float(getattr(total, "central", total)) / J_PER_KWH
    except Exception as exc:  # noqa: BLE001 - the live display can do without water
        import logging

        logging.getLogger("ecometer.run").debug("no water in the status line: %s", exc)
        return None


def _wait(proc: subprocess.Popen[bytes], received: list[int], status_line: StatusLine | None) -> int:
    """Wait for the child, forwarding SIGINT/SIGTERM to it; returns its return code."""
    from_terminal = _terminal_sends_sigint()

    def forward(signum: int, frame: Any) -> None:
        received.append(signum)
        if signum == signal.SIGINT and from_terminal:
            return  # the terminal delivered it to the whole foreground group, the child included
        try:
            proc.send_signal(signum)
        except ProcessLookupError:
            pass

    previous: dict[int, Any] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[signum] = signal.signal(signum, forward)
            except ValueError:  # not the main thread: signals keep their handlers
                break
        if status_line is not None:
            status_line.start()
        return proc.wait()
    finally:
        if status_line is not None:
            status_line.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError

    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("no command given; usage: ecometer run [options] -- CMD ARGS...")
    if args.work is not None and (not math.isfinite(args.work) or args.work < 0):
        raise UsageError(f"--work {args.work!r}: expected a finite count >= 0")
    meta = parse_meta(args.meta)
    address = None
    if args.prometheus:
        from ecometer.integrations.prometheus import parse_address

        address = parse_address(args.prometheus)
    executable, code = resolve_command(command)
    if executable is None:
        what = "command not found" if code == 127 else "command is not executable"
        sys.stderr.write(f"ecometer run: error: {what}: {command[0]}\n")
        return code

    from ecometer.api import measure
    from ecometer.report.text import summary

    meta.setdefault("command", " ".join(command)[:500])
    meter = measure(
        args.name or Path(command[0]).name,
        scope=args.scope,
        work_unit=args.work_unit,
        out=args.out or "auto",
        site=args.site,
        standard=args.standard,
        meta=meta,
        interval_s=args.interval,
    )
    status_line = StatusLine(meter, _water_per_joule(meter.site)) if sys.stderr.isatty() else None
    received: list[int] = []
    meter.start()
    exporter = None
    if address is not None:
        from ecometer.integrations.prometheus import serve

        exporter = serve(meter, *address)
        sys.stderr.write(f"ecometer run: Prometheus metrics at {exporter.url}\n")
    workdir = tempfile.mkdtemp(prefix="ecometer-run-")
    try:
        work_file = Path(workdir) / "work.txt"
        env = dict(os.environ, **{WORK_FILE_ENV: str(work_file)})
        try:
            proc = subprocess.Popen(command, env=env)  # noqa: S603 - running the user's command is the point
        except OSError as exc:
            meter.stop("failed", error=f"cannot start {command[0]}: {exc}")
            sys.stderr.write(f"ecometer run: error: cannot start {command[0]}: {exc.strerror or exc}\n")
            return 126 if isinstance(exc, PermissionError) else 127
        returncode = _wait(proc, received, status_line)
        counts, problems = read_work_file(work_file, args.work_unit)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for problem in problems:
        sys.stderr.write(f"ecometer run: warning: {problem}\n")
    for unit, amount in counts.items():
        meter.add_work(amount, unit)
    if args.work is not None:
        meter.add_work(args.work, args.work_unit)
    if returncode < 0:
        signame = signal.Signals(-returncode).name if -returncode in signal.valid_signals() else str(-returncode)
        interrupted = received or -returncode in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        status, error, exit_code = (
            ("interrupted" if interrupted else "failed"),
            f"killed by {signame}",
            128 - returncode,
        )
    elif received:
        status, error, exit_code = "interrupted", f"interrupted ({signal.Signals(received[0]).name})", returncode
    elif returncode != 0:
        status, error, exit_code = "failed", f"exited with code {returncode}", returncode
    else:
        status, error, exit_code = "ok", None, 0
    try:
        record = meter.stop(status, error=error)
    finally:
        if exporter is not None:
            exporter.close()
    sys.stderr.write(summary(record) + "\n")
    if meter.path is not None:
        sys.stderr.write(f"record: {meter.path}\n")
    return exit_code
