"""Forecasts of a running meter, made where the job's total is known without asking.

* :class:`LiveForecast`: remade at most every ``every_s`` seconds (each forecast costs
  15-40 ms), for ``ecometer run --total-work N`` (every 5 s) and the Prometheus exporter
  (every 10 s);
* :class:`StepForecasts`: for the training callbacks, which count optimizer steps as work
  (``"step"``) and know the total (HF ``state.max_steps``, Lightning
  ``trainer.estimated_stepping_batches``): one forecast once past warm-up (the later of
  ``after_steps``, or half a short job, and ``after_fraction`` of the job), retried until
  ready, and one at each epoch's end; each ready one logged as one readable line;
* :func:`metrics`: a forecast as flat logger metrics (J, s, L, g CO2e, a fraction).

In a distributed job only the leader (rank 0) counts steps and forecasts: its forecast rests
on what that process measured itself (its devices and its node's host), not the whole job.

Every forecast goes through :meth:`ecometer.measuring.meter.Meter.forecast`, so the record keeps it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from ecometer.checks.numbers import Bounds, check_number
from ecometer.errors import InputError
from ecometer.forecast.project import COVERAGE, check_total
from ecometer.forecast.result import Forecast
from ecometer.record import units as U

log = logging.getLogger("ecometer.forecast")

STEP = "step"  #: the work unit the callbacks count optimizer steps in
_SHOWN_REASON = 90  # characters of a not-ready reason the status line shows


def _inner(meter: Any) -> Any:
    """The meter measuring on this process (a rank of a distributed job holds one)."""
    inner = getattr(meter, "meter", None)
    return inner if inner is not None and hasattr(inner, "forecast") else meter


class LiveForecast:
    """The latest forecast of a running ``meter``, remade when asked and ``every_s`` seconds have passed.

    ``total_work`` (of ``unit``) or ``total_s``: the whole job, checked now (a positive finite
    number, else :class:`~ecometer.errors.InputError`). A forecast that cannot be made (a total
    below the work already done) leaves :attr:`error` saying why; the run goes on. ``work_hint``:
    how the job counts work, said by :meth:`status` while none is counted.
    """

    def __init__(
        self,
        meter: Any,
        *,
        total_work: float | None = None,
        total_s: float | None = None,
        unit: str | None = None,
        every_s: float = 5.0,
        coverage: float = COVERAGE,
        clock: Callable[[], float] = time.monotonic,
        work_hint: str = "",
    ) -> None:
        if (total_work is None) == (total_s is None):
            raise InputError("forecast: give exactly one of total_work=N or total_s=S")
        self.total_work = None if total_work is None else check_total(total_work, "total_work")
        self.total_s = None if total_s is None else check_total(total_s, "total_s")
        self.meter = meter
        self.unit = unit
        self.every_s = check_number(every_s, "forecast every_s", Bounds(above=0, high=1e9, unit="s"))
        self.coverage = check_number(coverage, "forecast: coverage", Bounds(low=0.5, below=1))
        self.clock = clock
        self.work_hint = work_hint  # how this job counts work, said while none is counted
        self.latest: Forecast | None = None
        self.error: str | None = None
        self.made = 0  # forecasts made
        self._next = -math.inf
        self._made_clock = 0.0  # clock time of the latest forecast

    def get(self) -> Forecast | None:
        """The latest forecast, remade first if the meter runs and ``every_s`` have passed since the last."""
        now = self.clock()
        if now >= self._next and getattr(self.meter, "running", False):
            self._next = now + self.every_s
            try:
                self.latest = _inner(self.meter).forecast(
                    self.total_work, total_s=self.total_s, unit=self.unit, coverage=self.coverage
                )
                self.error = None
                self._made_clock = now
            except InputError as exc:  # e.g. the total is below the work done: said, not raised
                self.error = str(exc)
            self.made += 1
        return self.latest

    def status(self) -> str:
        """The latest forecast (not remade) for a live status line: the energy range and the time left,
        or why there is none."""
        fc = self.latest
        if self.error is not None:
            return f"no forecast: {_short(self.error.removeprefix('forecast: '))}"
        if fc is None:
            return "forecast: waiting for the first reading"
        if not fc.ready:
            return f"forecast not ready: {_short(self.not_ready_reason() or '')}"
        assert fc.energy_j is not None and fc.duration_s is not None
        e, d = fc.energy_j, fc.duration_s
        now = float(fc.basis["made_at"]["duration_s"]) + max(self.clock() - self._made_clock, 0.0)  # run's s now
        left = U.fmt_range("time", max(d.central - now, 0.0), max(d.low - now, 0.0), max(d.high - now, 0.0))
        return f"forecast {U.fmt_range('energy', e.central, e.low, e.high)}, ends in {left} ({fc.coverage:.0%})"


    def not_ready_reason(self) -> str | None:
        """Why the latest forecast is not ready, in full (with how the job counts work, where it counts
        none yet), or None when it is ready or none was made."""
        fc = self.latest
        if fc is None or fc.ready or self.error is not None:
            return None
        if self.work_hint and "counted no work" in fc.reason:
            return f"no work counted yet: {self.work_hint}"
        return fc.reason


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN_REASON else text[: _SHOWN_REASON - 1] + "…"


class StepForecasts:
    """When a training callback forecasts (see the module docs); ``total`` optimizer steps per fit.

    Args:
        after_steps, after_fraction: the first forecast comes at the later of ``after_steps``
            steps (or half the job, if that is sooner) and ``after_fraction`` of the job (warm-up
            left behind); one not yet ready is retried every fifth of ``after_steps`` steps.
        coverage: of the intervals.
    """

    def __init__(self, after_steps: int = 50, after_fraction: float = 0.02, coverage: float = COVERAGE) -> None:
        if isinstance(after_steps, bool) or not isinstance(after_steps, int) or after_steps < 1:
            raise InputError(f"forecast_after_steps {after_steps!r}: expected a whole number of steps >= 1")
        if isinstance(after_fraction, bool) or not isinstance(after_fraction, (int, float)):
            raise InputError(f"forecast_after_fraction {after_fraction!r}: expected a fraction from 0 to below 1")
        if not 0.0 <= after_fraction < 1.0:
            raise InputError(f"forecast_after_fraction {after_fraction!r}: expected a fraction from 0 to below 1")
        self.after_steps = after_steps
        self.after_fraction = float(after_fraction)
        self.coverage = coverage
        self.total: float | None = None
        self.steps = 0
        self._next: float = math.inf
        self.made: list[Forecast] = []

    def begin(self, total: Any, name: str = "fit") -> None:
        """A fit starts; ``total``: its optimizer steps (None, non-finite or < 1: no forecasts)."""
        self.steps, self.made = 0, []
        try:
            total = float(total)
        except (TypeError, ValueError):
            total = math.nan
        if not math.isfinite(total) or total < 1:
            self.total, self._next = None, math.inf
            log.info("%s: the total of optimizer steps is not known (%r): no forecast", name, total)
            return
        self.total = total
        # a short job (under twice after_steps) gets its first try half-way instead
        first = min(self.after_steps, math.ceil(total / 2))
        self._next = max(first, math.ceil(self.after_fraction * total))

    def step(self, fit: Any, n: int = 1) -> Forecast | None:
        """Count ``n`` optimizer steps on ``fit``'s meter; a ready forecast when one is due, else None."""
        if n <= 0 or not getattr(fit, "active", False) or not getattr(fit.meter, "is_leader", True):
            return None  # a distributed job's steps are counted (and forecast) once, by its leader
        fit.meter.add_work(n, STEP)
        self.steps += n
        if self.steps < self._next or self.total is None or self.steps >= self.total:
            return None
        fc = self._make(fit)
        self._next = math.inf if fc is not None else self.steps + self.retry_steps
        return fc

    @property
    def retry_steps(self) -> int:
        """Steps between tries while a forecast is not ready: a fifth of ``after_steps`` (at least 1)."""
        return max(1, math.ceil(self.after_steps / 5))

    def epoch_end(self, fit: Any) -> Forecast | None:
        """At an epoch's end (not the last): a ready forecast, else None."""
        if self.total is None or not 0 < self.steps < self.total or not getattr(fit, "active", False):
            return None  # (steps stay 0 on a distributed job's other ranks)
        return self._make(fit)

    def _make(self, fit: Any) -> Forecast | None:
        try:
            fc = _inner(fit.meter).forecast(self.total, unit=STEP, coverage=self.coverage)
        except InputError as exc:
            log.warning("%s: no forecast: %s", fit.name, exc)
            return None
        if not fc.ready:
            log.debug("%s: %s", fit.name, fc.line())
            return None
        self.made.append(fc)
        log.info("%s: %s", fit.name, fc.line())
        return fc


def metrics(fc: Forecast, prefix: str = "ecometer/") -> dict[str, float]:
    """A ready forecast as flat metrics: ``{prefix}forecast_energy_j`` (``_low``, ``_high``), duration (s),
    water on-site and off-site (L) and carbon (g CO2e) where a site was given, observed fraction, coverage."""
    out: dict[str, float] = {}
    figures = {
        "energy_j": fc.energy_j,
        "duration_s": fc.duration_s,
        "water_onsite_l": fc.water_onsite_l,
        "water_offsite_l": fc.water_offsite_l,
        "carbon_g": fc.carbon_g,
    }
    for name, e in figures.items():
        if e is None:
            continue
        out[f"{prefix}forecast_{name}"] = float(e.central)
        out[f"{prefix}forecast_{name}_low"] = float(e.low)
        out[f"{prefix}forecast_{name}_high"] = float(e.high)
    out[f"{prefix}forecast_observed_fraction"] = float(fc.basis.get("observed_fraction", 0.0))
    out[f"{prefix}forecast_coverage"] = float(fc.coverage)
    return out


__all__ = ["STEP", "LiveForecast", "StepForecasts", "metrics"]
