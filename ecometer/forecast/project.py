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
from ecometer.record import Component, Estimate, RunRecord, Timeline

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
    default it is detected. ``site`` (a :class:`~ecometer.footprint.Site` or preset name)
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
    mode, unit, total = _target(record, total_work, total_s, unit)
    target: dict[str, Any] = {"total_work": total, "unit": unit} if mode == "work" else {"total_s": total}
    if not record.components:
        return _not_ready(coverage, target, "the record has no energy components yet: it needs measured energy")
    if mode == "work" and (unit is None or float(record.work.get(unit, 0.0)) <= 0):
        what = f"{unit!r}" if unit else "any unit"
        return _not_ready(
            coverage, target, f"the record has counted no work in {what} yet: it needs work counted (add_work)"
        )
    buckets = read_buckets(record, unit if mode == "work" else None)
    if buckets.n == 0:
        return _not_ready(coverage, target, "the record has no timeline yet: it needs power measured over time")
    return _forecast(record, buckets, mode, unit, total, target, warmup, site, standard, coverage, draws, seed)


def _forecast(
    record: RunRecord,
    b: Buckets,
    mode: str,
    unit: str | None,
    total: float,
    target: dict[str, Any],
    warmup: float | None,
    site: Any,
    standard: Any,
    coverage: float,
    draws: int,
    seed: int,
) -> Forecast:
    names = list(b.energy_j)
    assumptions: list[str] = list(b.notes)
    cols = [b.energy_j[n] for n in names]
    if mode == "work":
        if b.work is None:
            dx = b.width_s * (float(record.work[unit]) / b.width_s.sum())  # type: ignore[index]
            assumptions.append(
                f"the record has no work timeline (timeline.work.{unit}): work is taken as done at one constant "
                "pace over the whole record, so a warm-up in pace cannot be seen"
            )
        else:
            dx = b.work
        cols.append(b.width_s)
    else:
        dx = b.width_s
    y = np.column_stack([*cols, np.sum(cols[: len(names)], axis=0)])
    total_col = y.shape[1] - 1
    time_col = len(names) if mode == "work" else None
    x_now = float(dx.sum()) if mode == "work" else float(record.duration_s or b.width_s.sum())
    progress_unit = unit if mode == "work" else "s"
    i0, i1 = _fit_range(dx, discrete=mode == "work" and b.work is not None)
    before = np.cumsum(dx) - dx  # progress before each bucket
    if warmup is not None:
        if warmup >= x_now and warmup > 0:
            return _not_ready(
                coverage,
                target,
                f"the warm-up given ({warmup:g} {progress_unit}) covers all the record has done so far "
                f"({x_now:g} {progress_unit}): it needs progress beyond the warm-up",
            )
        i0 = max(i0, int(np.searchsorted(before, warmup, side="left")))
    need = 2 * R.MIN_BLOCKS
    have = int(np.count_nonzero(dx[i0:i1] > 0))
    if have < need:
        return _not_ready(
            coverage,
            target,
            f"the record has {have} timeline bucket(s) with progress after warm-up; a forecast needs at least "
            f"{need} (about {(need - have) * float(record.timeline.bucket_s or 0.1):.3g} s more of the job)",
        )
    changes: list[R.Change] = []
    det = R.make_blocks(dx, y, i0, i1, R.DETECT_BLOCKS)
    detect_cols = [total_col] + ([time_col] if time_col is not None else [])
    if warmup is None and det.k >= R.MIN_RIGHT_BLOCKS + 1:
        start, changes = R.find_changes(det, detect_cols)
        i0 = int(det.first[start])
    blocks = R.make_blocks(dx, y, i0, i1, R.FIT_BLOCKS)
    if blocks.k < R.MIN_BLOCKS:
        return _not_ready(
            coverage,
            target,
            f"the job's current regime spans {blocks.k} block(s) of progress; a forecast needs {R.MIN_BLOCKS}: "
            "let it run longer",
        )
    f = R.fit(blocks, detect_cols)
    rng = np.random.default_rng(seed)
    rest = R.draw_rest(f, x_now, total, rng, draws)
    energy_model = "trend" if f.trend_significant(total_col) else "level"
    time_model = "trend" if time_col is not None and f.trend_significant(time_col) else "level"

    comps, energy = _energy_intervals(record, names, rest, energy_model, rng, draws, coverage)
    d_now = float(record.duration_s)
    if time_col is not None:
        t_draws = [d_now + rest[m][:, time_col] for m in ("trend", "level")]
        duration = _interval(d_now + float(rest[f"{time_model}_central"][time_col]), t_draws, coverage)
    else:
        duration = _estimate(total, total, total, coverage)

    basis = _basis(
        record, b, dx, i0, i1, total, x_now, progress_unit, warmup, changes, blocks, f, total_col,
        energy_model, time_model if time_col is not None else None, draws, seed,
    )
    assumptions.extend(_assumptions(mode, unit, progress_unit, basis, warmup, coverage))
    projected = _projected(record, b, names, comps, energy, duration, mode, unit, total, x_now, basis)
    result = Forecast(
        ready=True,
        coverage=coverage,
        target=target,
        basis=basis,
        assumptions=assumptions,
        energy_j=energy,
        components=comps,
        duration_s=duration,
        record=projected,
    )
    if site is not None:
        _footprint(result, projected, site)
    if standard is not None:
        _grade(result, projected, standard)
    return result


def _energy_intervals(
    record: RunRecord,
    names: list[str],
    rest: dict[str, np.ndarray],
    energy_model: str,
    rng: np.random.Generator,
    draws: int,
    coverage: float,
) -> tuple[dict[str, Estimate], Estimate]:
    """Per component and in total (J): what was measured plus the projected rest, with one
    systematic measurement error per component over the whole job (drawn within its bounds)."""
    comps: dict[str, Estimate] = {}
    per_model: dict[str, np.ndarray] = {"trend": np.zeros(draws), "level": np.zeros(draws)}
    for j, name in enumerate(names):
        comp = record.components[name]
        u = _measurement(comp, rng, draws)
        drawn = {m: (comp.energy_j + rest[m][:, j]) * u for m in ("trend", "level")}
        for m in per_model:
            per_model[m] = per_model[m] + drawn[m]
        central = float(comp.energy_j + rest[f"{energy_model}_central"][j])
        comps[name] = _interval(central, list(drawn.values()), coverage)
    energy_central = sum(e.central for e in comps.values())
    return comps, _interval(energy_central, list(per_model.values()), coverage)


def _basis(
    record: RunRecord,
    b: Buckets,
    dx: np.ndarray,
    i0: int,
    i1: int,
    total: float,
    x_now: float,
    progress_unit: str,
    warmup: float | None,
    changes: list[Any],
    blocks: Any,
    f: Any,
    total_col: int,
    energy_model: str,
    time_model: str | None,
    draws: int,
    seed: int,
) -> dict[str, Any]:
    """What a forecast rests on: how much of the job, the window fitted, warm-up, changes, trend."""
    d_now = float(record.duration_s)
    x_start, x_end = float(dx[:i0].sum()), float(dx[:i1].sum())
    warm_how = "given" if warmup is not None else ("detected" if changes else "none")
    basis: dict[str, Any] = {
        "progress_unit": progress_unit,
        "made_at": {"duration_s": d_now, "progress": x_now},
        "observed_fraction": x_now / total if total > 0 else 1.0,
        "window": {
            "from": x_start,
            "to": x_end,
            "fraction_of_job": (x_end - x_start) / total if total > 0 else 0.0,
            "seconds": float(b.width_s[i0:i1].sum()),
            "blocks": blocks.k,
        },
        "warmup_excluded": x_start,
        "warmup_how": warm_how,
        "changes": [{"at": c.at, "t": c.t, "rate_before": c.before, "rate_after": c.after} for c in changes],
        "trend": {
            "relative_change_over_job": float(f.slope[total_col] * total / f.level[total_col])
            if f.level[total_col] > 0
            else 0.0,
            "t": f.slope_t(total_col),
            "significant": energy_model == "trend",
        },
        "model": energy_model,
        "time_model": time_model,
        "draws": draws,
        "seed": seed,
    }
    return basis


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


def _assumptions(
    mode: str, unit: str | None, pu: str, basis: dict[str, Any], warmup: float | None, coverage: float
) -> list[str]:
    w = basis["window"]
    out = [
        f"the rest of the job runs as the window it rests on ({w['from']:g}-{w['to']:g} {pu}, "
        f"{w['fraction_of_job']:.1%} of the job, {w['blocks']} blocks) ran: "
        + ("same energy and time per unit of work" if mode == "work" else "same power"),
        f"intervals claim {coverage:.0%} coverage: they combine the uncertainty of the rate (Student-t over the "
        "blocks, a linear trend the window cannot rule out allowed for, the noise of the rest of the job) with each "
        "component's measurement bounds (one systematic error per component over the whole job, uniform within its "
        "bounds, components independent)",
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
    record: RunRecord,
    b: Buckets,
    names: list[str],
    comps: dict[str, Estimate],
    energy: Estimate,
    duration: Estimate,
    mode: str,
    unit: str | None,
    total: float,
    x_now: float,
    basis: dict[str, Any],
) -> ProjectedRecord:
    """The record as it will be at the job's end: central figures, the forecast's bounds."""
    components = {}
    for name in names:
        comp = record.components[name]
        est = comps[name]
        scale = est.central / comp.energy_j if comp.energy_j > 0 else 0.0
        components[name] = replace(
            comp,
            energy_j=est.central,
            uncertainty=est,
            devices={k: v * scale for k, v in comp.devices.items()},
            notes=[*comp.notes, f"forecast: projected to the job's end ({basis['model']} model)"],
        )
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
    work_done = {k: float(v) for k, v in record.work.items()}
    factor = total / x_now if mode == "work" and x_now > 0 else duration.central / max(float(record.duration_s), 1e-9)
    work = {k: (total if k == unit else v * factor) for k, v in work_done.items()}
    timeline = Timeline(
        t_s=[*tl.t_s, float(record.duration_s)] if t_rest > 0 else list(tl.t_s),
        power_w=power,
        spans=list(tl.spans),
        spans_dropped=tl.spans_dropped,
        bucket_s=0.0,
    )
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
        work_unit=unit or record.work_unit,
        timeline=timeline,
        meta=meta,
        warnings=[*record.warnings, "projected by a forecast: not a measurement"],
        error=None,
        attachments={},
        checkpoint=False,
    )
    return ProjectedRecord(**carried, total_energy=energy)


def _figure(value: Any) -> Estimate | None:
    if value is None or isinstance(value, Estimate):
        return value
    return Estimate(float(value.central), float(value.low), float(value.high))


def _footprint(result: Forecast, projected: ProjectedRecord, site: Any) -> None:
    from ecometer.footprint import Site, footprint

    fp = footprint(projected, site=Site.preset(site) if isinstance(site, str) else site)
    projected.attach("footprint", fp)
    result.facility_energy_j = _figure(fp.facility_energy_j)
    result.water_onsite_l = _figure(fp.water.onsite_l)
    result.water_offsite_l = _figure(fp.water.offsite_l)
    result.carbon_g = _figure(fp.carbon_g)
    result.assumptions.append(
        "facility energy, water and carbon: footprint() of the projected record (its bounds combine the forecast's "
        "energy interval with the site's factors as footprint() does), the site's hourly factors read as if the job "
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
