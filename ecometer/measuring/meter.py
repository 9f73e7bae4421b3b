"""The meter: wrap a job, get a :class:`~ecometer.record.model.RunRecord`.

    with ecometer.measure("finetune", work_unit="sample") as m:
        for batch in loader:
            with m.phase("forward"):
                ...
            m.add_work(len(batch))
    m.record.energy_j

A :class:`Meter` holds the configuration and the public API; each :meth:`Meter.start` (and
each call of a function it decorates) begins a fresh :class:`~ecometer.measuring.run.Run` that owns the
run's state and its one background sampler thread. Hardware counters are read at the run's
boundaries (after synchronising the accelerator) and every ``counter_interval_s`` (2 s) in
between; power points are pulled at ``interval_s``. Phases cost two clock reads and a lock
each: they are resolved later from the calibrated energy curve (see :mod:`ecometer.energy.curves`),
so marking a phase per batch does not slow the job. ``phase(name, exact=True)`` instead
synchronises and reads the counters at its boundaries, for long windows that must match the
counter exactly.

The meter measures; it does not judge: a footprint or an assessment is applied to the
finished record by :func:`ecometer.measure` (its ``site=``/``standard=``), the training
callbacks and the CLI, through the meter's ``finish`` hook.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ecometer.errors import UsageError
from ecometer.measuring import lifecycle
from ecometer.measuring.options import MeterOptions
from ecometer.measuring.paths import next_record_path, safe_name
from ecometer.measuring.run import LiveStatus, PhaseWindow, Run
from ecometer.record.model import RunRecord
from ecometer.sensors.base import Sensor

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("ecometer.measuring.meter")
_CO_GENERATOR = 0x20  # inspect.CO_GENERATOR, without importing inspect



class Meter:
    """Measures the energy of whatever runs between :meth:`start` and :meth:`stop`.

    Args:
        name: run name (free text; sanitised before use in file names).
        options: a :class:`~ecometer.measuring.options.MeterOptions` (sampling period, scope,
            output path, sensors...); keyword ``settings`` are its fields and override it, so
            ``Meter("train", interval_s=0.05, out=None)`` needs no options object.

    Faults (docs/RELIABILITY.md): each sensor is called on its own, so one that raises or
    hangs does not stop the others; calls at the run's boundaries (start, ``exact`` phases,
    stop) run in helper threads and are waited for at most :attr:`io_timeout_s` seconds, so
    a hung sensor cannot hang the job or :meth:`stop`; a failed checkpoint is retried with
    backoff; a record that cannot be written where asked is saved to a fallback place
    (:attr:`path`, named in its warnings); signals during :meth:`stop` wait for the save.
    """

    #: Longest wait (s) for the sensors at a boundary; :meth:`stop` takes at most about this.
    io_timeout_s: float = 5.0
    #: the site the face footprints the record for (read by the Prometheus exporter), if any
    site: Any = None

    def __init__(self, name: str = "run", options: MeterOptions | None = None, **settings: Any) -> None:
        opts = self.options = MeterOptions.build(options, settings)
        self.name = str(name)
        self.safe_name = safe_name(self.name)
        self.gpus = opts.gpus
        self.interval_s = opts.interval_s
        self.scope = opts.scope
        self.work_unit = opts.work_unit
        self.out = opts.out
        self.sync = opts.sync
        self.meta = dict(opts.meta)
        self.counter_interval_s = opts.counter_interval_s
        self.checkpoint_interval_s = opts.checkpoint_interval_s
        self.timeline_buckets = opts.timeline_buckets
        self.clock = opts.clock
        self.background = opts.background
        self.finish = opts.finish
        self.job = opts.job
        self.given_sensors = opts.sensors
        self._start_lock = threading.Lock()
        self._run: Run | None = None  # the run started last
        self._calls = threading.local()  # the run of the decorated call running in this thread
        self.record: RunRecord | None = None
        self.warned_idle_work = False  # add_work() while not running was said (once per meter, not once per call)
        #: ``out`` is a name ecometer chose (a callback's unused path): created exclusively, like ``"auto"``
        self.claim_out = False
        lifecycle.install_handlers()  # on the main thread: a run started later in a worker thread is covered too

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> Meter:
        """Open the sensors, read the counters and start sampling. Returns ``self``."""
        self._begin(exclusive=True)
        return self

    def _begin(self, exclusive: bool) -> Run:
        """A fresh run, started; ``exclusive``: refused while this meter's current run is active."""
        with self._start_lock:  # check and set together: two threads cannot both start
            if exclusive and self._run is not None and self._run.active:
                raise RuntimeError(f"meter {self.name!r} is already running")
            session = self.job.session(self) if self.job is not None else None
            run = self._run = Run(self, session)
            self.record = None
        try:
            run.start()
        except BaseException:
            run.state = "failed"
            raise
        return run

    def stop(self, status: str | None = None, error: str | None = None) -> RunRecord:
        """Finish the run: final counter reads, record built, saved, returned.

        Calling stop() again returns the same record. ``status`` defaults to ``"ok"``.
        """
        run = self._run
        if run is None or run.state in ("starting", "failed"):
            raise RuntimeError(f"meter {self.name!r} was never started")
        return run.stop(status, error)

    def run_finished(self, run: Run) -> None:
        """A run of this meter ended (stopped, or finalised on a signal): its record is the meter's."""
        self.record = run.record

    def __enter__(self) -> Meter:
        return self.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._run is not None:
            _end(self._run, exc_type, exc)

    def __call__(self, fn: F) -> F:
        """Use as a decorator: each call of ``fn`` is one metered run of its own.

        Calls may overlap (threads): each gets its own run, sensors (auto-detected; sensors
        given as ``sensors=`` are shared) and record file; inside a call, :meth:`phase` and
        :meth:`add_work` go to that call's run; :attr:`record` is the last one finished.
        """

        if getattr(getattr(fn, "__code__", None), "co_flags", 0) & _CO_GENERATOR:
            return self._wrap_generator(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = self._begin(exclusive=False)
            outer, self._calls.run = getattr(self._calls, "run", None), run
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                _end(run, type(exc), exc)
                raise
            finally:
                self._calls.run = outer
            _end(run, None, None)
            return result

        wrapper.meter = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def _wrap_generator(self, fn: F) -> F:
        """A decorated generator function: each generator is one run, from its first ``next()`` until it
        is exhausted, raises or is closed (closed early by its consumer: ``ok``, with a warning)."""

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            run = self._begin(exclusive=False)
            try:
                result = yield from fn(*args, **kwargs)
            except BaseException as exc:
                _end(run, type(exc), exc)
                raise
            _end(run, None, None)
            return result

        wrapper.meter = self  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    # ---- inside the run ----------------------------------------------------------------
    def phase(self, name: str, exact: bool = False) -> PhaseWindow:
        """Attribute what runs inside ``with meter.phase(name):`` to phase ``name`` (phases
        nest and may repeat). Costs the caller about 1-2 us (the energy is split later, in the
        sampler thread).

        ``exact=True`` synchronises the accelerator and reads the counters at both
        boundaries (about 4 ms per GPU on an H100): use it for windows of a second or more.
        """
        return PhaseWindow(self._current(), name, exact)

    def add_work(self, amount: float = 1, unit: str | None = None) -> None:
        """Count ``amount`` units of work (samples, tokens, queries...) done so far.

        Invalid amounts (NaN, infinite, negative, absurdly large) are ignored with a warning
        rather than raising inside the job.
        """
        run = self._current()
        if run is None or (not run.running and not run.forked):
            Run.not_running(self.name, self)
            return
        run.add_work(amount, unit)

    def forecast(
        self,
        total_work: float | None = None,
        *,
        total_s: float | None = None,
        unit: str | None = None,
        warmup: float | None = None,
        coverage: float = 0.9,
    ) -> Any:
        """The running job's figures at its end: a :class:`~ecometer.forecast.Forecast`.

        The job ends after ``total_work`` units of work (of ``unit``, default the run's work
        unit) or ``total_s`` seconds; ``warmup``, ``coverage``: as for
        :func:`~ecometer.forecast.forecast_run`, applied to the run's record so far, with the
        site and standard the face gave (``measure(site=, standard=)``). Every forecast is kept
        in the record (``record.forecasts``). Costs about 15-40 ms. Raises
        :class:`~ecometer.errors.UsageError` when the meter is not running, and
        :class:`~ecometer.errors.InputError` for a bad total.
        """
        run = self._current()
        if run is None or not run.running or run.forked:
            raise UsageError(f"meter {self.name!r} is not running: forecast() needs a started meter")
        from ecometer.forecast import forecast_run  # a face-level module: imported only when asked

        record = run.checkpoint_record(fresh=True)
        fc = forecast_run(
            record,
            total_work=total_work,
            total_s=total_s,
            unit=unit,
            warmup=warmup,
            site=getattr(self.finish, "site", None),
            standard=getattr(self.finish, "standard", None),
            coverage=coverage,
        )
        run.keep_forecast({"made_at_s": record.duration_s, "work_done": dict(record.work), **fc.to_dict()})
        return fc

    def _current(self) -> Run | None:
        """The run of the decorated call in this thread, else the run started last."""
        return getattr(self._calls, "run", None) or self._run

    def live(self) -> LiveStatus:
        """Power now (W) and energy so far (J) per component."""
        run = self._live_run()
        return run.live() if run is not None else LiveStatus(0.0, {}, {})

    def live_devices(self) -> dict[str, dict[str, Any]]:
        """Per device id: ``component``, ``power_w`` now (W), ``energy_j`` so far (J) and
        ``uncertainty`` (the sensor's stated relative uncertainty, an Estimate around 1, or None)."""
        run = self._live_run()
        return run.live_devices() if run is not None else {}

    def live_work(self) -> dict[str, float]:
        """Work counted so far, per unit."""
        run = self._live_run()
        return run.live_work() if run is not None else {}

    def _live_run(self) -> Run | None:
        run = self._run  # never started, starting, or a forked child: nothing yet
        return run if run is not None and not run.forked and run.state in ("running", "stopping", "stopped") else None

    def sample_now(self) -> None:
        """Take one sample at the current clock time (for meters run without a thread)."""
        run = self._run
        if run is not None and run.running:
            run.tick(run.clock())  # the checked clock (a bad reading is not a time)

    @property
    def running(self) -> bool:
        return self._run is not None and self._run.running

    @property
    def run(self) -> Run | None:
        """The current (or last) run: its sensors, tracks, phases and sampler."""
        return self._run

    @property
    def path(self) -> Path | None:
        """Where the record is (after stop) or will be written (while running).

        After stop this is the file that exists: a fallback place if the asked one could not
        be written (see :attr:`asked_path`; the record's warnings name both), None if the
        record could be written nowhere (it is in :attr:`record` only).
        """
        return self._run.path if self._run is not None else None

    @property
    def asked_path(self) -> Path | None:
        """Where the record was asked to go (``out``); differs from :attr:`path` after a fallback."""
        return self._run.asked_path if self._run is not None else None

    @property
    def save_error(self) -> str | None:
        """Why the record could not be written to :attr:`asked_path` (None: it was, or not yet tried)."""
        return self._run.save_error if self._run is not None else None

    @property
    def t0(self) -> float:
        """The clock time (s) the current run started at."""
        run = self._live_run()
        if run is None:
            raise RuntimeError(f"meter {self.name!r} was never started")
        return run.t0

    # ---- what a run asks of its meter ----------------------------------------------------------
    def open_sensors(self) -> tuple[list[Sensor], list[str]]:
        """Opened sensors for a run, and what could not be metered (notes for the record)."""
        if self.given_sensors is not None:
            sensors = list(self.given_sensors)
            for sensor in sensors:
                sensor.open()
            return sensors, []
        from ecometer.sensors.discover import discover

        return discover(gpus=self.gpus, scope=self.scope)

    def resolve_out(self) -> Path | None:
        """Where the record of a run starting now goes (None: nowhere); each run gets its own file."""
        return next_record_path(self.out, self.name)


def _end(run: Run, exc_type: Any, exc: Any) -> None:
    """Stop ``run`` as the block it wrapped ended: ok, interrupted (KeyboardInterrupt) or failed."""
    if run.forked:
        return  # in a forked child the parent's run is left alone
    if exc_type is None:
        run.stop("ok")
    elif issubclass(exc_type, GeneratorExit):  # the consumer closed the generator early: its choice, no failure
        run.warn("the generator was closed by its consumer before it was exhausted (GeneratorExit)")
        run.stop("ok")
    elif issubclass(exc_type, KeyboardInterrupt):
        run.stop("interrupted", error="KeyboardInterrupt")
    else:
        run.stop("failed", error=f"{exc_type.__name__}: {exc}")


__all__ = ["LiveStatus", "Meter", "MeterOptions"]
