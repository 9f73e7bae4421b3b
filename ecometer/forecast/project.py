"""Project a record of a job's first part (a checkpoint, or a short pilot run) to the job's end.

:func:`forecast_run` finds the job's current regime (warm-up and changes of level left out),
fits its rate (level and trend, see :mod:`ecometer.forecast.rate`), draws the rest of the
job, adds each component's measurement uncertainty, and builds the projected record; the
footprint (facility energy, water, carbon) and the grade come from footprint() and score()
applied to that record. Units: J, s, units of work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from statistics import NormalDist
from typing import Any

import numpy as np

from ecometer.checks.numbers import Bounds, check_number, check_optional
from ecometer.errors import InputError, suggest
from ecometer.forecast import rate as R
from ecometer.forecast.buckets import Buckets, read_buckets
from ecometer.forecast.result import Forecast
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord, Timeline

COVERAGE = 0.9
DRAWS = 4000


@dataclass
class ProjectedRecord(RunRecord):
    """A record projected to the end of a job. Its total energy bounds are the forecast's, which
    allow for the rates of its components moving together (one job's pace drives them all),
    rather than the sum of independent component bounds a measured record uses."""

    total_energy: Estimate | None = None

    @property
    def energy_uncertainty(self) -> Estimate:  # type: ignore[override]
        return self.total_energy if self.total_energy is not None else super().energy_uncertainty


def check_total(value: Any, name: str) -> float:
    """``value`` as a float if it is a finite number > 0 (a job's total), else :class:`InputError`."""
    return check_number(value, f"forecast: {name}", Bounds(above=0))


def _target(record: RunRecord, total_work: Any, total_s: Any, unit: str | None) -> tuple[str, str | None, float]:
    """``(mode, unit, total)``: mode ``"work"`` or ``"time"``; raises InputError for bad input."""
    if (total_work is None) == (total_s is None):
        raise InputError(
            "forecast: give exactly one of total_work=N (units of work of the whole job) or total_s=S (its seconds)"
        )
    if total_s is not None:
        total = check_total(total_s, "total_s")
        if total < record.duration_s:
            raise InputError(
                f"forecast: total_s {total:g} s is below the {record.duration_s:g} s the record already covers"
            )
        return "time", None, total
    total = check_total(total_work, "total_work")
    if unit is not None and not isinstance(unit, str):
        raise InputError(f"forecast: unit {unit!r}: expected the name of a work counter (a string)")
    counted = sorted(record.work)
    chosen = unit or record.work_unit or (counted[0] if len(counted) == 1 else None)
    if chosen is None and len(counted) > 1:
        raise InputError(f"forecast: the record counts several units of work ({', '.join(counted)}): pass unit=")
    if chosen is not None and counted and chosen not in record.work:
        raise InputError(
            f"forecast: unknown unit {chosen!r}: the record counted {', '.join(counted)}{suggest(chosen, counted)}"
        )
    done = float(record.work.get(chosen, 0.0)) if chosen else 0.0
    if total < done:
        raise InputError(f"forecast: total_work {total:g} is below the {done:g} {chosen} the record has already done")
    return "work", chosen, total


def _not_ready(coverage: float, target: dict[str, Any], reason: str) -> Forecast:
    return Forecast(ready=False, coverage=coverage, target=target, reason=reason)


def _measurement_bounds(comp: Component) -> tuple[float, float]:
    """Relative (low, high) measurement bounds of a component (0.3 means 30 %)."""
    e = float(comp.energy_j)
    if e <= 0:
        return 0.0, 0.0
    lo = (e - float(comp.uncertainty.low)) / e
    hi = (float(comp.uncertainty.high) - e) / e
    return (max(lo, 0.0) if math.isfinite(lo) else 1.0), (max(hi, 0.0) if math.isfinite(hi) else 1.0)


def _estimate(central: float, low: float, high: float, coverage: float) -> Estimate:
    """An :class:`Estimate` whose interval claims ``coverage`` (a forecast's, not a stated bound's 1.0)."""
    return Estimate(central, low, high, coverage=coverage, distribution="normal", basis="forecast")


def _interval(central: float, draws: list[np.ndarray], coverage: float) -> Estimate:
    """``central`` with the hull of the models' central ``coverage`` intervals of ``draws``."""
    a = (1.0 - coverage) / 2.0
    lows = [float(np.quantile(d, a)) for d in draws]
    highs = [float(np.quantile(d, 1.0 - a)) for d in draws]
    return _estimate(central, min(min(lows), central), max(max(highs), central), coverage)


def _measurement(comp: Component, rng: np.random.Generator, draws: int) -> np.ndarray:
    """Draws of ``true / measured`` for a component: one systematic error over the whole job.

    A stated bound (uniform, or triangular about the central) is drawn within it; an interval
    with a stated coverage (normal, lognormal) as a normal whose spread gives that coverage,
    split at the central value where the bounds are asymmetric.
    """
    lo, hi = _measurement_bounds(comp)
    kind = getattr(comp.uncertainty, "distribution", "uniform")
    cov = getattr(comp.uncertainty, "coverage", 1.0)
    if kind in ("normal", "lognormal") and cov is not None and 0.0 < cov < 1.0:
        z = NormalDist().inv_cdf((1.0 + cov) / 2.0)
        n = rng.standard_normal(draws)
        return 1.0 + np.where(n < 0, n * lo / z, n * hi / z)
    if kind == "triangular" and lo + hi > 0:
        return 1.0 + rng.triangular(-lo, 0.0, hi, size=draws)
    return 1.0 + rng.uniform(-lo, hi, size=draws)


def forecast_run(
    record: RunRecord,
    *,
    total_work: float | None = None,
    total_s: float | None = None,
    unit: str | None = None,
    warmup: float | None = None,
    site: Any = None,
    standard: Any = None,
    coverage: float = COVERAGE,
    draws: int = DRAWS,
    seed: int = 0,
) -> Forecast:
    """The job's energy (per component and total), time, footprint and grade at its end.

    ``record`` is what has been measured so far: a checkpoint of the running job, or a
    short pilot run of it. The job ends after ``total_work`` units of work (of ``unit``, by
    default the record's work unit) or after ``total_s`` seconds. ``warmup`` is the warm-up
    to leave out, in the unit of the total (units of work, or seconds; 0 for none); by
    default it is detected. ``site`` (a :class:`~ecometer.impact.Site` or preset name)
    adds facility energy, water and carbon; ``standard`` (a standard or its name) the grade.
    Intervals claim ``coverage``; ``draws`` Monte Carlo draws seeded with ``seed``.

    Bad input (a total below what is done, zero, negative or NaN, an unknown unit) raises
    :class:`~ecometer.errors.InputError`. Too little data gives a forecast with
    ``ready=False`` and a ``reason`` saying what is needed, and no figures.
    """
    if not isinstance(record, RunRecord):
        raise InputError(f"forecast: expected an ecometer RunRecord, found {type(record).__name__}")
    coverage = check_number(coverage, "forecast: coverage", Bounds(low=0.5, below=1, unit="a probability, e.g. 0.9"))
    draws = int(check_number(draws, "forecast: draws", Bounds(low=200, high=10**7, integer=True)))
    warmup = check_optional(warmup, "forecast: warmup", Bounds(low=0, unit="in the unit of the total"))
    opts = Options(warmup=warmup, site=site, standard=standard, coverage=coverage, draws=draws, seed=seed)
    mode, unit, total = _target(record, total_work, total_s, unit)
    target = Target(mode, unit, total)
    if not record.components:
        return _not_ready(coverage, target.spec, "the record has no energy components yet: it needs measured energy")
    if mode == "work" and (unit is None or float(record.work.get(unit, 0.0)) <= 0):
        what = f"{unit!r}" if unit else "any unit"
        return _not_ready(
            coverage, target.spec, f"the record has counted no work in {what} yet: it needs work counted (add_work)"
        )
    buckets = read_buckets(record, unit if mode == "work" else None)
    if buckets.n == 0:
        return _not_ready(coverage, target.spec, "the record has no timeline yet: it needs power measured over time")
    return _forecast(record, buckets, target, opts)


@dataclass(frozen=True)
class Options:
    """How a forecast is made: warm-up given (or None: detected), site and standard (or None),
    the coverage its intervals claim, Monte Carlo draws and their seed."""

    warmup: float | None = None
    site: Any = None
    standard: Any = None
    coverage: float = COVERAGE
    draws: int = DRAWS
    seed: int = 0


@dataclass(frozen=True)
class Target:
    """The job's end: ``mode`` ``"work"`` (``total`` units of ``unit``) or ``"time"`` (``total`` s)."""

    mode: str
    unit: str | None
    total: float

    @property
    def spec(self) -> dict[str, Any]:
        return {"total_work": self.total, "unit": self.unit} if self.mode == "work" else {"total_s": self.total}


@dataclass
class Progress:
    """The record as the rate sees it: progress per bucket ``dx`` (work or s) and the columns ``y``
    (J per component, then s when progress is work, then the total J)."""

    dx: np.ndarray
    y: np.ndarray
    names: list[str]
    total_col: int
    time_col: int | None
    x_now: float  # progress so far
    unit: str  # of progress: the work unit, or "s"
    discrete: bool  # work counted in whole units at the end of each (a work timeline)

    @property
    def detect_cols(self) -> list[int]:
        return [self.total_col] + ([self.time_col] if self.time_col is not None else [])


@dataclass
class Window:
    """The buckets ``[i0, i1)`` the rate is fitted on, the changes of level before them, the fit's blocks."""

    i0: int
    i1: int
    changes: list[R.Change]
    blocks: R.Blocks


def _progress(record: RunRecord, b: Buckets, target: Target, assumptions: list[str]) -> Progress:
    """The columns a rate is fitted to (see :class:`Progress`); notes what it assumed in ``assumptions``."""
    names = list(b.energy_j)
    cols = [b.energy_j[n] for n in names]
    unit = target.unit
    if target.mode == "work":
        if b.work is None:
            dx = b.width_s * (float(record.work[unit]) / b.width_s.sum())  # type: ignore[index]
            assumptions.append(
                f"the record has no work timeline (timeline.work.{unit}): work is taken as done at one constant "
                "pace over the whole record, so a warm-up in pace cannot be seen"
            )
        else:
            dx = b.work
        cols.append(b.width_s)
        x_now = float(dx.sum())
    else:
        dx = b.width_s
        x_now = float(record.duration_s or b.width_s.sum())
    y = np.column_stack([*cols, np.sum(cols[: len(names)], axis=0)])
    time_col = len(names) if target.mode == "work" else None
    discrete = target.mode == "work" and b.work is not None
    return Progress(dx, y, names, y.shape[1] - 1, time_col, x_now, unit if target.mode == "work" else "s", discrete)


def _window(record: RunRecord, p: Progress, warmup: float | None) -> Window | str:
    """The fitted window (warm-up and earlier regimes left out), or why there is none yet."""
    i0, i1 = _fit_range(p.dx, discrete=p.discrete)
    before = np.cumsum(p.dx) - p.dx  # progress before each bucket
    if warmup is not None:
        if warmup >= p.x_now and warmup > 0:
            return (
                f"the warm-up given ({warmup:g} {p.unit}) covers all the record has done so far "
                f"({p.x_now:g} {p.unit}): it needs progress beyond the warm-up"
            )
        i0 = max(i0, int(np.searchsorted(before, warmup, side="left")))
    have = int(np.count_nonzero(p.dx[i0:i1] > 0))
    if have < R.MIN_BLOCKS:
        bucket = float(record.timeline.bucket_s or 0.1)
        return (
            f"let the job run about {(R.MIN_BLOCKS - have) * bucket:.3g} s longer: a forecast needs "
            f"{R.MIN_BLOCKS} timeline buckets ({bucket:g} s each) with progress after warm-up, it has {have}"
        )
    changes: list[R.Change] = []
    det = R.make_blocks(p.dx, p.y, i0, i1, R.DETECT_BLOCKS)
    if warmup is None and det.k >= R.MIN_RIGHT_BLOCKS + 1:
        start, changes = R.find_changes(det, p.detect_cols)
        i0 = int(det.first[start])
    blocks = R.make_blocks(p.dx, p.y, i0, i1, R.FIT_BLOCKS)
    if blocks.k < R.MIN_BLOCKS:
        return (
            f"the job's current regime spans {blocks.k} block(s) of progress and a forecast needs {R.MIN_BLOCKS}: "
            "let the job run longer"
        )
    return Window(i0, i1, changes, blocks)


def _forecast(record: RunRecord, b: Buckets, target: Target, opts: Options) -> Forecast:
    assumptions: list[str] = list(b.notes)
    p = _progress(record, b, target, assumptions)
    win = _window(record, p, opts.warmup)
    if isinstance(win, str):
        return _not_ready(opts.coverage, target.spec, win)
    f = R.fit(win.blocks, p.detect_cols)
    rng = np.random.default_rng(opts.seed)
    rest = R.draw_rest(f, p.x_now, target.total, rng, opts.draws)
    models = Models(
        energy="trend" if f.trend_significant(p.total_col) else "level",
        time=None if p.time_col is None else ("trend" if f.trend_significant(p.time_col) else "level"),
    )
    ends = _energy_intervals(record, p.names, rest, models.energy, rng, opts)
    d_now = float(record.duration_s)
    if p.time_col is not None:
        t_draws = [d_now + rest[m][:, p.time_col] for m in ("trend", "level")]
        duration = _interval(d_now + float(rest[f"{models.time}_central"][p.time_col]), t_draws, opts.coverage)
    else:
        duration = _estimate(target.total, target.total, target.total, opts.coverage)
    basis = _basis(record, b, p, win, f, models, opts, target.total)
    assumptions.extend(_assumptions(target.mode, p.unit, basis, opts.warmup, opts.coverage))
    assumptions.append(_measurement_note(ends))
    projected = _projected(record, b, ends, duration, target, p.x_now, basis)
    result = Forecast(
        ready=True,
        coverage=opts.coverage,
        target=target.spec,
        basis=basis,
        assumptions=assumptions,
        energy_j=ends.energy,
        components=ends.components,
        duration_s=duration,
        energy_bounds_j=ends.energy_bounds,
        record=projected,
    )
    if opts.site is not None:
        _footprint(result, projected, opts.site)
    if opts.standard is not None:
        _grade(result, projected, opts.standard)
    return result


@dataclass(frozen=True)
class Models:
    """The model of the central value: ``"level"`` or ``"trend"``, for energy and time (None: not forecast)."""

    energy: str
    time: str | None


@dataclass
class Ends:
    """Energy at the job's end (J). ``components`` and ``energy``: what the record will read (the part
    measured so far as read, the rest's rate uncertain); ``*_bounds``: with the measurement's own bounds
    on top (one systematic error per component), as the final record will state them."""

    components: dict[str, Estimate]
    energy: Estimate
    component_bounds: dict[str, Estimate]
    energy_bounds: Estimate


def _energy_intervals(
    record: RunRecord, names: list[str], rest: dict[str, np.ndarray], energy_model: str, rng: np.random.Generator,
    opts: Options,
) -> Ends:  # fmt: skip
    """Per component and in total (J), see :class:`Ends`."""
    draws, coverage = opts.draws, opts.coverage
    comps: dict[str, Estimate] = {}
    bounds: dict[str, Estimate] = {}
    read_total = {m: np.zeros(draws) for m in ("trend", "level")}
    true_total = {m: np.zeros(draws) for m in ("trend", "level")}
    for j, name in enumerate(names):
        comp = record.components[name]
        u = _measurement(comp, rng, draws)
        read = {m: comp.energy_j + rest[m][:, j] for m in ("trend", "level")}
        central = float(comp.energy_j + rest[f"{energy_model}_central"][j])
        for m in read_total:
            read_total[m] = read_total[m] + read[m]
            true_total[m] = true_total[m] + read[m] * u
        comps[name] = _interval(central, list(read.values()), coverage)
        bounds[name] = _interval(central, [read[m] * u for m in read], coverage)
    central = sum(e.central for e in comps.values())
    return Ends(
        comps, _interval(central, list(read_total.values()), coverage), bounds,
        _interval(central, list(true_total.values()), coverage),
    )  # fmt: skip


def _measurement_note(ends: Ends) -> str:
    e, b = ends.energy, ends.energy_bounds
    from ecometer.record.units import relative_text

    return (
        "the intervals are of what the record will read at the job's end: the part measured so far counts as read "
        "(so no bound is below it) and the rest's rate is uncertain; the measurement's own bounds apply on top, as "
        f"to any record (IT energy {relative_text(b.central, b.low, b.high)} with them, "
        f"{relative_text(e.central, e.low, e.high)} without; the projected record states them)"
    )


def _basis(
    record: RunRecord, b: Buckets, p: Progress, win: Window, f: R.Fit, models: Models, opts: Options, total: float
) -> dict[str, Any]:
    """What a forecast rests on: how much of the job, the window fitted, warm-up, changes, trend."""
    x_start, x_end = float(p.dx[: win.i0].sum()), float(p.dx[: win.i1].sum())
    warm_how = "given" if opts.warmup is not None else ("detected" if win.changes else "none")
    level = f.level[p.total_col]
    return {
        "progress_unit": p.unit,
        "made_at": {"duration_s": float(record.duration_s), "progress": p.x_now},
        "observed_fraction": p.x_now / total if total > 0 else 1.0,
        "window": {
            "from": x_start,
            "to": x_end,
            "fraction_of_job": (x_end - x_start) / total if total > 0 else 0.0,
            "seconds": float(b.width_s[win.i0 : win.i1].sum()),
            "blocks": win.blocks.k,
        },
        "warmup_excluded": x_start,
        "warmup_how": warm_how,
        "changes": [{"at": c.at, "t": c.t, "rate_before": c.before, "rate_after": c.after} for c in win.changes],
        "trend": {
            "relative_change_over_job": float(f.slope[p.total_col] * total / level) if level > 0 else 0.0,
            "t": f.slope_t(p.total_col),
            "significant": models.energy == "trend",
        },
        "model": models.energy,
        "time_model": models.time,
        "draws": opts.draws,
        "seed": opts.seed,
    }


def _fit_range(dx: np.ndarray, discrete: bool) -> tuple[int, int]:
    """Buckets ``[i0, i1)`` the rate is fitted on.

    Work is counted when a unit ends, in whole units per bucket; energy flows all the time.
    Every edge between blocks lies right after a bucket in which work was counted, so the
    energy of the unit in progress at an edge is under one bucket's worth, alike at every
    edge. The range's own ends are put at such edges too (after the first bucket with work,
    and after the last full one), else the first block would carry that part more and the
    last less than the others, a bias that a fitted trend would extrapolate.
    """
    if not discrete:
        return 0, int(dx.size)
    has = np.flatnonzero(dx > 0)
    if has.size < 2:
        return 0, int(dx.size)
    full = has[has < dx.size - 1]  # the last bucket may be partial: it ends where the record does
    end = int(full[-1]) + 1 if full.size and full[-1] > has[0] else int(has[-1]) + 1
    return int(has[0]) + 1, end


def _assumptions(mode: str, pu: str, basis: dict[str, Any], warmup: float | None, coverage: float) -> list[str]:
    w = basis["window"]
    out = [
        f"the rest of the job runs as the window it rests on ({w['from']:g}-{w['to']:g} {pu}, "
        f"{w['fraction_of_job']:.1%} of the job, {w['blocks']} blocks) ran: "
        + ("same energy and time per unit of work" if mode == "work" else "same power"),
        f"intervals claim {coverage:.0%} coverage of the rate's uncertainty (Student-t over the blocks, a linear "
        "trend the window cannot rule out allowed for, the noise of the rest of the job)",
    ]
    if basis["warmup_how"] == "given":
        out.append(
            f"the first {warmup:g} {pu} are warm-up (given) and left out of the rate; changes of level are not "
            "looked for"
        )
    elif basis["warmup_how"] == "detected":
        out.append(
            f"warm-up or an earlier phase detected: the first {basis['warmup_excluded']:g} {pu} are left out of the rate "
            f"({len(basis['changes'])} change(s) of level)"
        )
    else:
        out.append("no warm-up or change of level detected: the rate rests on everything observed")
    if basis["model"] == "trend":
        out.append(
            f"a trend in the rate is significant (t = {basis['trend']['t']:.2f}) and extrapolated linearly to the end"
        )
    out.append(
        "a change of level in the last sixth of the observed part, or one that has not happened yet, is not foreseen"
    )
    return out


def _projected(
    record: RunRecord, b: Buckets, ends: Ends, duration: Estimate, target: Target, x_now: float, basis: dict[str, Any]
) -> ProjectedRecord:
    """The record as it will be at the job's end: central figures, bounds with the measurement's (:class:`Ends`)."""
    components = {}
    for name, est in ends.component_bounds.items():
        comp = record.components[name]
        scale = est.central / comp.energy_j if comp.energy_j > 0 else 0.0
        components[name] = replace(
            comp,
            energy_j=est.central,
            uncertainty=est,
            devices={k: v * scale for k, v in comp.devices.items()},
            notes=[*comp.notes, f"forecast: projected to the job's end ({basis['model']} model)"],
        )
    work_done = {k: float(v) for k, v in record.work.items()}
    if target.mode == "work" and x_now > 0:
        factor = target.total / x_now
    else:
        factor = duration.central / max(float(record.duration_s), 1e-9)
    work = {k: (target.total if k == target.unit else v * factor) for k, v in work_done.items()}
    meta = dict(record.meta)
    meta["forecast"] = {"from_record": record.name, "basis": basis}
    carried = {f.name: getattr(record, f.name) for f in fields(RunRecord)}  # fields added later come along
    carried.update(
        name=f"{record.name} (forecast)",
        status="ok",
        ended_at="",
        duration_s=duration.central,
        components=components,
        phases={},
        work=work,
        work_unit=target.unit or record.work_unit,
        timeline=_projected_timeline(record, b, ends.components, duration),
        meta=meta,
        warnings=[*record.warnings, "projected by a forecast: not a measurement"],
        error=None,
        attachments={},
        checkpoint=False,
    )
    return ProjectedRecord(**carried, total_energy=ends.energy_bounds)


def _projected_timeline(record: RunRecord, b: Buckets, comps: dict[str, Estimate], duration: Estimate) -> Timeline:
    """The record's timeline with one more entry: the rest of the job at its mean power per channel."""
    tl = record.timeline
    t_rest = max(duration.central - float(record.duration_s), 0.0)
    raw = {
        ch: sum(v * w for v, w in zip(series, b.width_s, strict=True) if v is not None)
        for ch, series in tl.power_w.items()
    }
    by_component: dict[str, float] = {}
    for ch, e in raw.items():
        by_component[ch.split(":")[0]] = by_component.get(ch.split(":")[0], 0.0) + e
    power: dict[str, list[float | None]] = {}
    for channel, series in tl.power_w.items():
        name = channel.split(":")[0]
        share = raw[channel] / by_component[name] if by_component[name] > 0 else 0.0
        extra = comps[name].central - record.components[name].energy_j if name in comps else 0.0
        power[channel] = [*series, extra * share / t_rest] if t_rest > 0 else list(series)
    return Timeline(
        t_s=[*tl.t_s, float(record.duration_s)] if t_rest > 0 else list(tl.t_s),
        power_w=power,
        spans=list(tl.spans),
        spans_dropped=tl.spans_dropped,
        bucket_s=0.0,
    )


def _figure(value: Any) -> Estimate | None:
    if value is None or isinstance(value, Estimate):
        return value
    return Estimate(float(value.central), float(value.low), float(value.high))


def _footprint(result: Forecast, projected: ProjectedRecord, site: Any) -> None:
    """Facility energy, water and carbon at the job's end: footprint() of the projected record, each
    figure's interval the IT energy's (the footprint is linear in the IT energy, so a facility bound
    is the IT bound times the site's PUE); the site's own factor bounds apply on top, as to any record."""
    from ecometer.impact import footprint
    from ecometer.impact.detect import named_site

    fp = footprint(projected, site=named_site(site) if isinstance(site, str) else site)
    projected.attach("footprint", fp)
    e = result.energy_j
    assert e is not None

    def scaled(value: Any) -> Estimate | None:
        fig = _figure(value)
        if fig is None or e.central <= 0:
            return fig
        c = fig.central
        return _estimate(c, c * e.low / e.central, c * e.high / e.central, result.coverage)

    result.facility_energy_j = scaled(fp.facility_energy_j)
    result.water_onsite_l = scaled(fp.water.onsite_l)
    result.water_offsite_l = scaled(fp.water.offsite_l)
    result.carbon_g = scaled(fp.carbon_g)
    result.assumptions.append(
        "facility energy, water and carbon: footprint() of the projected record, with the IT energy's interval "
        "(a facility bound is the IT bound times the site's PUE); the site's factor bounds apply on top, as to any "
        "record (the projected record's footprint states them); the site's hourly factors read as if the job "
        f"started when the record did ({projected.started_at or 'no start time'})"
    )


def _grade(result: Forecast, projected: ProjectedRecord, standard: Any) -> None:
    from ecometer.standards import score

    assessment = score(projected, standard)
    projected.attach("assessment", assessment)
    result.standard = assessment.standard
    result.grade = assessment.grade
    result.grade_spans = list(assessment.spans)
    result.grade_stable = assessment.stable
    result.grade_probabilities = dict(getattr(assessment, "probabilities", None) or {})
    result.not_rated = list(assessment.not_rated)
