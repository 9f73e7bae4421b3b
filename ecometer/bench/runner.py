"""The bench loop: warm-ups, repetitions in the chosen order, power limits, one folder, resumable.

The folder (``out``) holds::

    bench.json        the plan (command, parameters, settings) and the GPUs' original power limits
    runs/*.json       one ordinary record per successful run: a corpus for calibrate and score
    failed/*.json     the records of failed runs (with their stderr in logs/)
    interrupted/      runs cut short when the bench was stopped (not counted)
    logs/*.out|.err   each run's stdout and stderr (unless shown; empty ones are not kept)

Each record carries its parameters as top-level meta (``batch_size=8``) and the bench's own
notes under ``meta["bench"]`` (bench id, configuration, attempt, CPU load while it ran).
Running the same bench on the same folder again continues it: the runs already in ``runs/``
and ``failed/`` count, runs cut short are moved to ``interrupted/`` and redone, and the
warm-ups are redone for the configurations that still have runs to do.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import shutil
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecometer.bench.grid import POWER_LIMIT, Config, Param, check_order, configurations, round_order
from ecometer.bench.power import PowerLimits
from ecometer.bench.stats import mean_halfwidth
from ecometer.bench.targets import BenchInterrupted, Execution
from ecometer.errors import UsageError
from ecometer.files.atomic import write_atomic
from ecometer.record.model import RunRecord, load_record

log = logging.getLogger("ecometer.bench")

PLAN_FILE = "bench.json"
RUNS, FAILED, INTERRUPTED, LOGS = "runs", "failed", "interrupted", "logs"
#: a configuration is given up after this many failed runs without a success
GIVE_UP_AFTER = 2


@dataclass
class BenchOptions:
    """How to bench: repetitions, order, what to measure and where.

    ``runs``: repetitions per configuration; with ``target`` (a relative half-width, 0.05 for
    +/-5 %) runs go on, from ``min_runs`` to ``max_runs``, until the 95 % interval of the mean
    per-unit energy from the repetitions is that narrow. ``order``: ``fixed`` (each
    configuration's runs together), ``interleaved`` (one run of each in turn) or ``random``
    (a fresh permutation every round, from ``seed``). ``quality``: a work-file unit that is a
    quality figure (``accuracy``), better when higher unless ``quality_higher`` is False.
    """

    name: str = "bench"
    runs: int = 5
    warmup: int = 0
    target: float | None = None
    min_runs: int = 3
    max_runs: int = 30
    order: str = "random"
    seed: int = 0
    site: Any = None
    standard: Any = None
    scope: str = "machine"
    work_unit: str | None = None
    quality: str | None = None
    quality_higher: bool = True
    interval_s: float = 0.1
    power_gpus: Sequence[int] | None = None
    nvml: Any = None  # an ecometer.sensors.nvml_device.Nvml (a stand-in in tests); default the real one

    def check(self) -> None:
        check_order(self.order)
        for name in ("runs", "min_runs", "max_runs"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} {getattr(self, name)!r}: expected a whole number >= 1")
        if self.warmup < 0:
            raise UsageError(f"warmup {self.warmup!r}: expected a whole number >= 0")
        if self.target is not None and not (math.isfinite(self.target) and 0 < self.target < 1):
            raise UsageError(f"target {self.target!r}: expected a relative half-width between 0 and 1 (0.05 for 5 %)")
        if self.min_runs > self.max_runs:
            raise UsageError(f"min_runs {self.min_runs} is above max_runs {self.max_runs}")


@dataclass
class Failure:
    """A failed run of a configuration."""

    attempt: int
    exit_code: int
    error: str | None
    stderr_tail: str
    path: Path | None


@dataclass
class ConfigRuns:
    """What a configuration has so far: its successful records, its failures, its attempts."""

    config: Config
    records: list[RunRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    attempts: int = 0

    @property
    def given_up(self) -> bool:
        return not self.records and len(self.failures) >= GIVE_UP_AFTER


def stopping_value(record: RunRecord) -> float:
    """The figure the stopping rule watches: IT energy per unit of work (per run without work).
    The central value only: no propagation (and no numpy) between runs."""
    from ecometer.report.figures import work_unit

    energy = record.energy_j
    wu = work_unit(record)
    return energy / wu[1] if wu is not None else energy


class Bench:
    """One bench: a target (command or callables), its parameters, options and folder."""

    def __init__(self, target: Any, params: Sequence[Param], options: BenchOptions, folder: str | Path) -> None:
        options.check()
        self.target = target
        self.params = list(params)
        self.options = options
        self.folder = Path(folder)
        self.configs = configurations(self.params)
        self.state = {c.key: ConfigRuns(c) for c in self.configs}
        self.identity = {
            **target.identity(),
            "params": {p.name: list(p.texts) for p in self.params},
            "name": options.name,
            "scope": options.scope,
            "work_unit": options.work_unit,
            "quality": options.quality,
            "site": _text(options.site),
            "standard": _text(options.standard),
        }
        blob = json.dumps(self.identity, sort_keys=True, default=str).encode()
        self.id = hashlib.sha256(blob).hexdigest()[:12]
        self.power: PowerLimits | None = None
        self._power_now: float | None = None
        self._old_limits: dict[str, Any] = {}  # the original limits an earlier session of this bench found

    # ---- the folder ---------------------------------------------------------------------
    def prepare(self) -> None:
        """Check the folder (a new one, or this same bench to continue) and count the runs it holds."""
        plan_path = self.folder / PLAN_FILE
        if plan_path.exists():
            try:
                old = json.loads(plan_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"{plan_path}: cannot read the bench plan ({exc})") from None
            self._old_limits = old.get("power_limits") or {}
            if old.get("id") != self.id:
                differ = sorted(k for k in self.identity if old.get("identity", {}).get(k) != _plain(self.identity[k]))
                raise UsageError(
                    f"{self.folder} holds another bench (it differs in: {', '.join(differ) or 'its id'}); "
                    "give a new folder, or the same command and parameters to continue that one"
                )
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise UsageError(f"{self.folder} is not empty and holds no {PLAN_FILE}: give a new or empty folder")
        for sub in (RUNS, FAILED, LOGS):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        self._resume()

    def write_plan(self) -> None:
        plan = {
            "kind": "ecometer.bench",
            "id": self.id,
            "identity": _plain(self.identity),
            "configurations": [{"key": c.key, "label": c.label, "params": c.values} for c in self.configs],
            "options": {k: _text(v) for k, v in vars(self.options).items() if k != "nvml"},
            "power_limits": self.power.describe() if self.power is not None else None,
        }
        write_atomic(self.folder / PLAN_FILE, json.dumps(plan, indent=1, default=str) + "\n")

    def _resume(self) -> None:
        """Count the runs a previous session of this bench left; move its cut-short runs aside."""
        runs = self.folder / RUNS
        for stray in sorted(runs.glob("*.partial")):
            self._set_aside(stray, "its run was cut short (the bench was killed)")
        for sub in (RUNS, FAILED):
            for path in sorted((self.folder / sub).glob("*.json")):
                record = load_record(path)
                notes = record.meta.get("bench") if isinstance(record.meta.get("bench"), dict) else {}
                state = self.state.get(notes.get("config_key", ""))
                if notes.get("id") != self.id or state is None:
                    raise UsageError(f"{path}: not a run of this bench (bench id {notes.get('id')!r})")
                if record.status == "interrupted":
                    self._set_aside(path, "its run was interrupted")
                    continue
                state.attempts = max(state.attempts, int(notes.get("attempt", 0)))
                if sub == RUNS and record.status == "ok":
                    state.records.append(record)
                else:
                    tail = notes.get("stderr_tail", "")
                    state.failures.append(Failure(notes.get("attempt", 0), notes.get("exit_code", 1), record.error,
                                                  tail, path))  # fmt: skip
        done = sum(len(s.records) + len(s.failures) for s in self.state.values())
        if done:
            log.warning("continuing the bench in %s: %d run(s) already done", self.folder, done)

    def _set_aside(self, path: Path, why: str) -> None:
        target = self.folder / INTERRUPTED / path.name
        target.parent.mkdir(exist_ok=True)
        shutil.move(str(path), str(target))
        log.warning("%s: %s; moved to %s (it is run again when the bench continues)", path.name, why, target)

    # ---- power limits --------------------------------------------------------------------
    def open_power(self) -> None:
        """Read and check the GPUs' power limits before anything runs (when a limit is a parameter)."""
        limits = [c.values[POWER_LIMIT] for c in self.configs if POWER_LIMIT in c.values]
        if not limits:
            return
        self.power = PowerLimits(self.options.power_gpus, self.options.nvml)
        for index, info in self._old_limits.items():  # a killed session may have left a limit set
            first = round(float(info.get("original_w", 0)) * 1000)
            now = self.power.original_mw.get(int(index))
            if now is not None and first and now != first:
                log.warning("GPU %s: power limit is %g W; this bench found %g W when it began and restores that",
                            index, now / 1000, first / 1000)  # fmt: skip
                self.power.original_mw[int(index)] = first
        try:
            self.power.check(limits)
        except BaseException:
            self.power.close()
            self.power = None
            raise

    def restore_power(self) -> list[str]:
        if self.power is None:
            return []
        problems = self.power.restore()
        self.power.close()
        self.power = None
        return problems

    def _apply_power(self, config: Config) -> dict[str, Any]:
        if self.power is None or POWER_LIMIT not in config.values:
            return {}
        watts = float(config.values[POWER_LIMIT])
        if watts != self._power_now:
            self._enforced = self.power.set(watts)
            self._power_now = watts
        return {"power_limit_enforced_w": {str(k): v for k, v in self._enforced.items()}}

    # ---- running -------------------------------------------------------------------------
    def done(self, state: ConfigRuns) -> bool:
        """Whether a configuration needs no more runs (enough, narrow enough, or given up)."""
        o = self.options
        if state.given_up:
            return True
        n = len(state.records)
        if o.target is None:
            return n >= o.runs
        if state.attempts >= o.max_runs:
            return True
        if n < max(o.min_runs, 2):
            return False
        values = [stopping_value(r) for r in state.records]
        mean = sum(values) / n
        return mean > 0 and mean_halfwidth(values) / mean <= o.target

    def schedule(self) -> Iterator[Config]:
        """The measured runs, in the bench's order, decided one at a time (the stopping rule
        looks at the runs done so far)."""
        o = self.options
        if o.order == "fixed":
            for config in self.configs:
                while not self.done(self.state[config.key]):
                    yield config
            return
        round_no = 0
        while True:
            round_no += 1
            todo = [c for c in round_order(self.configs, o.order, o.seed, round_no) if not self.done(self.state[c.key])]
            if not todo:
                return
            yield from (c for c in todo if not self.done(self.state[c.key]))

    def run_all(self, measure_one: Any) -> None:
        """Warm-ups, then every measured run of the schedule, through ``measure_one(config, attempt)``."""
        o = self.options
        pending = [c for c in self.configs if not self.done(self.state[c.key])]
        warmed: set[str] = set()
        if o.order != "fixed":
            for config in pending:
                self.warm_up(config, measure_one)
            warmed = {c.key for c in pending}
        for config in self.schedule():
            if config.key not in warmed:
                self.warm_up(config, measure_one)
                warmed.add(config.key)
            state = self.state[config.key]
            state.attempts += 1
            measure_one(config, state.attempts, self._apply_power(config))

    def warm_up(self, config: Config, measure_one: Any) -> None:
        for i in range(self.options.warmup):
            measure_one(config, -(i + 1), self._apply_power(config))

    def measure_one(self, config: Config, attempt: int, extra: dict[str, Any]) -> None:
        """One run of ``config`` under a fresh meter (``attempt`` < 0: a warm-up, not recorded)."""
        from ecometer.api import measure

        o = self.options
        warm = attempt < 0
        meta = {
            **config.values,
            "bench": {"id": self.id, "config": config.label, "config_key": config.key, "attempt": attempt,
                      "command": self.target.describe(config), **extra},
        }  # fmt: skip
        stem = f"{config.key}-warmup{-attempt}" if warm else f"{config.key}-{attempt:03d}"
        out = None if warm else self.folder / RUNS / f"{stem}.json"
        meter = measure(o.name, site=o.site, standard=o.standard, scope=o.scope, work_unit=o.work_unit, out=out,
                        meta=meta, interval_s=o.interval_s)  # fmt: skip
        try:
            ex = self.target.execute(config, meter, self.folder / LOGS / stem)
        except (BenchInterrupted, KeyboardInterrupt):
            finished = meter.record is not None and meter.record.status == "ok"  # the signal came after it
            if not warm and not finished and meter.path is not None and meter.path.exists():
                self._set_aside(meter.path, "the bench was stopped during its run")
            raise
        if warm:
            if ex.status != "ok":
                log.warning("%s: warm-up %d failed (exit %s): %s", config.label, -attempt, ex.exit_code, ex.error)
            return
        path = meter.path
        if ex.status != "ok" and path is not None and path.exists():
            moved = self.folder / FAILED / path.name
            shutil.move(str(path), str(moved))
            path = moved
        self.note(config, attempt, meter.record, path, ex)

    def note(self, config: Config, attempt: int, record: RunRecord | None, path: Path | None, ex: Execution) -> None:
        """Count a finished measured run (``path``: where its record is now)."""
        state = self.state[config.key]
        if ex.status == "ok" and record is not None:
            state.records.append(record)
            return
        state.failures.append(Failure(attempt, ex.exit_code, ex.error, ex.stderr_tail, path))
        log.warning(
            "%s, run %d failed (exit %s): %s%s",
            config.label,
            attempt,
            ex.exit_code,
            ex.error,
            f"\n{ex.stderr_tail}" if ex.stderr_tail else "",
        )


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """While the bench runs, a terminating signal between runs raises :class:`BenchInterrupted`
    (so power limits are restored and the records kept); during a run the command's relay
    takes the signals and hands them back after (main thread only). SIGINT keeps Python's own
    handler: Ctrl-C is a KeyboardInterrupt, as a notebook expects."""
    from ecometer.commands.child import TERMINATING, on_main_thread

    if not on_main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise BenchInterrupted(signum)

    previous = {}
    for signum in TERMINATING:
        if signum == signal.SIGINT:
            continue
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, handler)
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Note terminating signals (Ctrl-C too) instead of acting on them, and stop the bench with
    the first once the block is done: restoring power limits is not cut short (main thread only;
    a signal mask would not do, as Python runs its handlers in the main thread whichever thread
    the kernel delivered to)."""
    from ecometer.commands.child import TERMINATING, on_main_thread

    if not on_main_thread():
        yield
        return
    caught: list[int] = []
    previous = {}
    for signum in TERMINATING:
        with contextlib.suppress(ValueError, OSError):
            previous[signum] = signal.signal(signum, lambda n, frame: caught.append(n))
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
    if caught:
        raise BenchInterrupted(caught[0])


def _text(value: Any) -> Any:
    """Plain values as they are; a standard as ``name version``, a site as its fields."""
    if value is None or isinstance(value, (str, int, float, bool, list, tuple, dict)):
        return value
    if hasattr(value, "grades"):  # a standard
        return f"{getattr(value, 'name', '')} {getattr(value, 'version', '')}".strip()
    to_dict = getattr(value, "to_dict", None)
    return to_dict() if callable(to_dict) else getattr(value, "name", repr(value))


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
