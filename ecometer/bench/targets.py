"""What a bench runs once per repetition: a command (through ``ecometer run``'s machinery) or a
Python callable (in this process), each under its own meter, plus the CPU load of the machine
while it ran (to flag a machine busy with other work).

A target's :meth:`execute` starts the meter, runs the configuration once, stops the meter
(the record is written by the meter itself) and returns an :class:`Execution`; it raises
:class:`BenchInterrupted` after saving the record when a terminating signal reached the bench.
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import subprocess
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecometer.bench.grid import Config, command_for
from ecometer.errors import SensorUnavailable

#: lines of a failed run's stderr kept in the verdict
TAIL_LINES = 8
_TAIL_BYTES = 4096


class BenchInterrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt, not an error
    """A terminating signal reached the bench: it stops after saving what it measured (a
    BaseException, so that a callable's own `except Exception` does not take it for a failure)."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum


@dataclass
class Execution:
    """How one run went: status, error text, exit code and the CPU time it took (s)."""

    status: str
    error: str | None
    exit_code: int
    stderr_tail: str = ""
    load: dict[str, float] | None = None


class LoadWindow:
    """CPU seconds of the machine, of this process and of its waited-for children over one run.

    :meth:`finish` gives the run's wall time, its own user and system CPU time (the command's,
    or this process's for a callable) and ``other_cores``: the machine's busy CPU time that
    neither the bench nor the run accounts for, over the wall time: other work on the machine,
    in cores (NaN where ``/proc/stat`` cannot be read).
    """

    def __init__(self) -> None:
        from ecometer.sensors.usage import ProcStat

        self._stat = ProcStat()
        self._start = self._read()

    def _read(self) -> tuple[float, float, float, float, float, float]:
        try:
            busy = self._stat.read().busy_s
        except (OSError, SensorUnavailable, ImportError):
            busy = math.nan
        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.monotonic(), busy, me.ru_utime, me.ru_stime, kids.ru_utime, kids.ru_stime

    def finish(self, in_process: bool) -> dict[str, float]:
        end = self._read()
        self._stat.close()
        t, busy, me_u, me_s, kid_u, kid_s = (b - a for a, b in zip(self._start, end, strict=True))
        wall = max(t, 1e-9)
        other = max(busy - (me_u + me_s + kid_u + kid_s), 0.0) if math.isfinite(busy) else math.nan
        user, system = (me_u, me_s) if in_process else (kid_u, kid_s)
        return {"wall_s": wall, "user_s": user, "system_s": system, "other_cores": other / wall}


def stderr_tail(path: Path) -> str:
    """The last :data:`TAIL_LINES` lines of a log file (empty if it is missing or empty)."""
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(size - _TAIL_BYTES, 0))
            data = fh.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").rstrip().splitlines()
    return "\n".join(lines[-TAIL_LINES:])


def _log_paths(stem: Path) -> tuple[Path, Path]:
    """``STEM.out`` and ``STEM.err`` (appended: a stem such as ``c01-t-0.8-002`` has dots of its own)."""
    return stem.parent / f"{stem.name}.out", stem.parent / f"{stem.name}.err"


class CommandTarget:
    """A command line with ``{name}`` placeholders, run through ``ecometer run``'s machinery."""

    def __init__(self, template: Sequence[str], work: float | None = None, show_output: bool = False) -> None:
        self.template = list(template)
        self.work = work
        self.show_output = show_output

    def describe(self, config: Config) -> str:
        return " ".join(command_for(self.template, config))

    def identity(self) -> dict[str, Any]:
        return {"command": self.template, "work": self.work}

    def execute(self, config: Config, meter: Any, logs: Path | None) -> Execution:
        from ecometer.commands.run import MeteredCommand

        command = command_for(self.template, config)  # one that cannot start is a failed run (127 or 126)
        out_path, err_path = (None, None) if logs is None or self.show_output else _log_paths(logs)
        files = [] if out_path is None else [open(out_path, "wb"), open(err_path, "wb")]  # noqa: SIM115
        stdio = None if not files else (subprocess.DEVNULL, files[0], files[1])
        metered = MeteredCommand(command, meter, meter.work_unit, stdio=stdio)
        try:
            window = LoadWindow()
            metered.run()
            load = window.finish(in_process=False)
            for f in files:
                f.close()
            ex = self._finish(metered, meter, load, err_path)
        finally:
            for f in files:
                f.close()
                with contextlib.suppress(OSError):  # an empty log says nothing: not kept
                    if os.path.getsize(f.name) == 0:
                        os.unlink(f.name)
            metered.close()
        signals = metered.relay.received or metered.relay.late  # late: after the command ended, record kept
        if signals:
            raise BenchInterrupted(signals[0])
        return ex

    def _finish(self, metered: Any, meter: Any, load: dict[str, float], err_path: Path | None) -> Execution:
        assert metered.work is not None
        problems = list(metered.work.problems)
        if self.work is not None:
            meter.add_work(self.work, meter.work_unit)
        status, error, exit_code = metered.outcome()
        tail = stderr_tail(err_path) if err_path is not None and status != "ok" else ""
        for problem in problems:
            meter.run.warn(problem)
        if metered.command_s is not None:
            load["command_s"] = metered.command_s
        note_run(meter, load, exit_code, tail)
        meter.stop(status, error=error)
        return Execution(status, error, exit_code, tail, load)


class CallableTarget:
    """A Python callable per configuration, run in this process under the meter.

    The callable returns the work it did: a number (units of the bench's work unit), a mapping
    ``{unit: amount}`` (a quality figure among them, e.g. ``{"sample": 512, "accuracy": 0.91}``),
    or None (it counted its work itself, or there is none).
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | Callable[..., Any]) -> None:
        self.functions = functions

    def function(self, config: Config) -> tuple[Callable[..., Any], dict[str, Any]]:
        if callable(self.functions):
            return self.functions, dict(config.values)
        return self.functions[config.values["config"]], {}

    def describe(self, config: Config) -> str:
        fn, kwargs = self.function(config)
        name = getattr(fn, "__qualname__", repr(fn))
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"

    def identity(self) -> dict[str, Any]:
        if callable(self.functions):
            return {"callable": getattr(self.functions, "__qualname__", repr(self.functions))}
        return {"callables": {k: getattr(f, "__qualname__", repr(f)) for k, f in self.functions.items()}}

    def execute(self, config: Config, meter: Any, logs: Path | None) -> Execution:
        fn, kwargs = self.function(config)
        window = LoadWindow()
        meter.start()
        started = time.monotonic()
        try:
            result = fn(**kwargs)
        except Exception as exc:  # noqa: BLE001 - a failing configuration is reported, the bench goes on
            load = window.finish(in_process=True)
            tail = "\n".join("".join(traceback.format_exception(exc)).rstrip().splitlines()[-TAIL_LINES:])
            note_run(meter, load, 1, tail)
            meter.stop("failed", error=f"{type(exc).__name__}: {exc}")
            return Execution("failed", f"{type(exc).__name__}: {exc}", 1, tail, load)
        except BaseException:
            meter.stop("interrupted", error="interrupted")
            raise
        load = window.finish(in_process=True)
        load["command_s"] = time.monotonic() - started
        add_work(meter, result)
        note_run(meter, load, 0, "")
        meter.stop("ok")
        return Execution("ok", None, 0, "", load)


def note_run(meter: Any, load: dict[str, float], exit_code: int, tail: str) -> None:
    """Keep the run's CPU load, exit code and stderr tail in its record's ``meta["bench"]``."""
    notes = meter.run.meta.setdefault("bench", {})
    notes.update(load=load, exit_code=exit_code)
    if tail:
        notes["stderr_tail"] = tail


def add_work(meter: Any, result: Any) -> None:
    """Count what a callable returned: a number, a ``{unit: amount}`` mapping, or None."""
    if result is None:
        return
    if isinstance(result, Mapping):
        for unit, amount in result.items():
            meter.add_work(float(amount), str(unit))
    elif isinstance(result, (int, float)) and not isinstance(result, bool):
        meter.add_work(float(result), meter.work_unit)
    else:
        raise TypeError(f"a bench callable returns a number, a {{unit: amount}} mapping or None, not {result!r}")
