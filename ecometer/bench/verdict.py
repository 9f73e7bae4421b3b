"""The verdict of a bench: per configuration the per-unit energy, water and carbon with 95 %
intervals, for each pair the probability that one is more efficient, the Pareto fronts, and
the runs that look wrong.

How the intervals are made (stated in :attr:`Verdict.basis` too): a configuration's figure is
the mean of its runs. Its uncertainty has two parts, drawn :data:`~ecometer.record.uncertainty.N_DRAWS`
times with a fixed seed (so the same records give the same verdict):

- the repetitions: the mean's sampling error, Student-t with n - 1 degrees of freedom scaled
  by s / sqrt(n) (nothing for a single run, which says so in its notes);
- the sensors: each run's own interval, as a relative factor (the mean of the runs' relative
  bounds, with the distribution the record states). Runs measured the same way (same
  components, methods and sources) share one draw of that factor: a sensor's scale error is
  the same on every configuration of one bench on one machine, so it widens each
  configuration's interval but cancels when two are compared. Configurations measured in
  different ways get independent draws.

``P(A more efficient than B)`` is the share of draws in which A's per-unit energy is below
B's (a tie counts half), for configurations of two runs or more (a single run shows no spread:
it is left out of the comparisons, and no configuration is called likeliest best). Water and carbon at one site are the IT energy times the same site
factors for every configuration, so they order the configurations as the energy does; they
are given with their own intervals, not compared separately.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ecometer.bench.runner import ConfigRuns, Failure
from ecometer.bench.stats import OUTLIER_Z, robust_z
from ecometer.errors import FigureMissing
from ecometer.record.model import RunRecord
from ecometer.record.units import fmt

COVERAGE = 0.95
#: other work on the machine, in cores, above which a run is flagged: this many cores, or a
#: tenth of the machine's CPUs when that is more
BUSY_CORES = 0.5
BUSY_SHARE = 0.1


@dataclass
class Figure:
    """A configuration's figure: the mean of its runs (``central``), a ``coverage`` interval
    ``low``..``high``, and the runs' own central values (SI ``unit``)."""

    kind: str
    unit: str
    central: float
    low: float
    high: float
    values: list[float]
    coverage: float = COVERAGE

    @property
    def stddev(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else math.nan

    def text(self) -> str:
        if self.low == self.high:
            return fmt(self.kind, self.central)
        return f"{fmt(self.kind, self.central)} ({fmt(self.kind, self.low)} – {fmt(self.kind, self.high)})"


@dataclass
class ConfigVerdict:
    """One configuration's results (figures are None where it has no successful run)."""

    key: str
    label: str
    params: dict[str, Any]
    command: str
    runs: int
    failures: list[Failure]
    energy: Figure | None = None
    water: Figure | None = None
    carbon: Figure | None = None
    time: Figure | None = None
    duration_s: list[float] = field(default_factory=list)
    user_s: list[float] = field(default_factory=list)
    system_s: list[float] = field(default_factory=list)
    quality: Figure | None = None
    p_best: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def all_failed(self) -> bool:
        return self.runs == 0


@dataclass
class Outlier:
    """A run that looks wrong, and the figure that shows it."""

    config: str
    attempt: int
    kind: str  # "spread": far from its siblings; "busy": the machine had other work
    text: str


@dataclass
class Verdict:
    """What a bench found (see the module doc for how)."""

    per: str  # the work unit the figures are per, or "run"
    configs: list[ConfigVerdict]
    probabilities: dict[tuple[str, str], float]  # (a, b) -> P(a uses less energy per unit than b)
    pareto_time: list[str]
    pareto_quality: list[str] | None
    outliers: list[Outlier]
    quality: str | None
    quality_higher: bool
    basis: str

    def config(self, key: str) -> ConfigVerdict:
        return next(c for c in self.configs if c.key == key)

    @property
    def measured(self) -> list[ConfigVerdict]:
        return [c for c in self.configs if c.energy is not None]


BASIS = (
    "mean of the runs per configuration; 95 % intervals combine the repetitions (Student-t on the mean) and the "
    "sensors' own uncertainty (a scale factor shared by configurations measured the same way, so it cancels in "
    "the comparisons); P(A better than B): share of Monte Carlo draws in which A uses less energy per unit than B"
)


def _metric_names(records: Sequence[RunRecord]) -> tuple[str, str]:
    """(suffix, per): per unit of work when every run counted it, else per run."""
    from ecometer.report.figures import work_unit

    units = {wu[0] if (wu := work_unit(r)) is not None else None for r in records}
    if records and None not in units and len(units) == 1:
        return "_per_unit", units.pop()
    return "", "run"


def _signature(record: RunRecord) -> tuple[Any, ...]:
    return tuple(sorted((n, c.method, getattr(c, "source", "")) for n, c in record.components.items()))


class _Draws:
    """Seeded Monte Carlo draws of each configuration's mean (see the module doc)."""

    def __init__(self) -> None:
        import numpy as np

        from ecometer.record.uncertainty import N_DRAWS, SEED

        self.np = np
        self.n = N_DRAWS
        self.rng = np.random.default_rng(SEED)
        self._shared: dict[Any, Any] = {}

    def figure(self, figs: list[Any], signature: Any, kind: str) -> tuple[Figure, Any]:
        """The configuration's :class:`Figure` and its draws, from the runs' QuantityValues."""
        from ecometer.record.estimate import Estimate
        from ecometer.record.uncertainty import quantile_draws

        np = self.np
        values = [f.central for f in figs]
        n, mean = len(values), statistics.fmean(values)
        rel = [(f.low / f.central, f.high / f.central) for f in figs if f.central > 0]
        draws = np.full(self.n, mean)
        if n > 1:
            draws = draws + statistics.stdev(values) / math.sqrt(n) * self.rng.standard_t(n - 1, self.n)
        if rel and any(lo != hi for lo, hi in rel):
            lo, hi = statistics.fmean(r[0] for r in rel), statistics.fmean(r[1] for r in rel)
            first = figs[0]
            factor = Estimate(1.0, min(lo, 1.0), max(hi, 1.0), coverage=first.coverage,
                              distribution=first.distribution if first.distribution != "exact" else "uniform")  # fmt: skip
            if signature not in self._shared:
                self._shared[signature] = self.rng.random(self.n)
            draws = draws * quantile_draws(factor, self._shared[signature])
        if kind in ("energy", "water", "carbon", "time"):  # never below zero (a quality figure may be)
            draws = np.maximum(draws, 0.0)
        q_lo, q_hi = np.quantile(draws, [(1 - COVERAGE) / 2, (1 + COVERAGE) / 2])
        fig = Figure(kind, figs[0].unit, mean, min(float(q_lo), mean), max(float(q_hi), mean), values)
        return fig, draws

    def repetitions(self, values: list[float], kind: str, unit: str) -> Figure:
        """A figure from the repetitions alone (time, a quality figure)."""
        from types import SimpleNamespace

        figs = [SimpleNamespace(central=v, low=v, high=v, unit=unit, coverage=1.0, distribution="exact") for v in values]
        return self.figure(figs, None, kind)[0]


def _figures(records: list[RunRecord], name: str) -> list[Any] | None:
    from ecometer.report.figures import metric

    try:
        return [metric(r, name) for r in records]
    except FigureMissing:
        return None


def _config_verdict(state: ConfigRuns, command: str, suffix: str, draws: _Draws, quality: str | None) -> tuple[
    ConfigVerdict, Any
]:
    from ecometer.report.figures import work_unit

    records = state.records
    cv = ConfigVerdict(state.config.key, state.config.label, dict(state.config.values), command, len(records),
                       list(state.failures))  # fmt: skip
    if not records:
        return cv, None
    sig = _signature(records[0])
    cv.energy, energy_draws = draws.figure(_figures(records, "it_energy_j" + suffix) or [], sig, "energy")
    for attr, name, kind in (("water", "water_total_l", "water"), ("carbon", "carbon_g", "carbon")):
        figs = _figures(records, name + suffix)
        if figs is not None:
            setattr(cv, attr, draws.figure(figs, (sig, name), kind)[0])
    loads = [(r.meta.get("bench") or {}).get("load") or {} for r in records]
    cv.duration_s = [command_seconds(r, load) for r, load in zip(records, loads, strict=True)]
    counts = [wu[1] if suffix and (wu := work_unit(r)) is not None else 1.0 for r in records]
    unit = f"s/{work_unit(records[0])[0]}" if suffix else "s"  # type: ignore[index]
    cv.time = draws.repetitions([d / n for d, n in zip(cv.duration_s, counts, strict=True)], "time", unit)
    cv.user_s = [float(x.get("user_s", math.nan)) for x in loads]
    cv.system_s = [float(x.get("system_s", math.nan)) for x in loads]
    if quality is not None:
        found = [float(r.work[quality]) for r in records if isinstance(r.work.get(quality), (int, float))]
        if found:
            cv.quality = draws.repetitions(found, quality, quality)
    if len(records) == 1:
        cv.notes.append("one run: its interval is the sensors' alone, and it is in no comparison (no repetitions "
                        "to show the spread; give 2 runs or more)")  # fmt: skip
    return cv, energy_draws


def command_seconds(record: RunRecord, load: dict[str, Any]) -> float:
    """A run's own wall time (s): the command's, from its start to its exit, as the bench timed it
    (the record's duration, which spans the meter's start and stop too, when it did not)."""
    value = load.get("command_s")
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else record.duration_s


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``a`` is at least as good as ``b`` on both axes and better on one (lower is better)."""
    return a[0] <= b[0] and a[1] <= b[1] and a != b


def pareto(points: dict[str, tuple[float, float]]) -> list[str]:
    """The keys no other point dominates (lower is better on both axes), in the given order."""
    return [k for k, p in points.items() if not any(dominates(q, p) for j, q in points.items() if j != k)]


def _probabilities(keys: list[str], all_draws: dict[str, Any]) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    import numpy as np

    pairs: dict[tuple[str, str], float] = {}
    best: dict[str, float] = {}
    if keys:
        stack = np.vstack([all_draws[k] for k in keys])
        for i, a in enumerate(keys):
            below = np.mean(stack[i][None, :] < stack, axis=1) + 0.5 * np.mean(stack[i][None, :] == stack, axis=1)
            pairs.update({(a, b): float(below[j]) for j, b in enumerate(keys) if j != i})
        winners = np.argmin(stack, axis=0)
        best = {k: float(np.mean(winners == i)) for i, k in enumerate(keys)}
    return pairs, best


def _spread_outliers(cv: ConfigVerdict, attempts: list[int], fig: Figure | None, what: str) -> list[Outlier]:
    if fig is None or len(fig.values) < 3:
        return []
    med = statistics.median(fig.values)
    out = []
    for attempt, value, z in zip(attempts, fig.values, robust_z(fig.values), strict=True):
        if abs(z) > OUTLIER_Z:
            out.append(Outlier(cv.key, attempt, "spread", (
                f"{cv.label}, run {attempt}: {what} {fmt(fig.kind, value)} is {abs(z):.1f} robust z-scores "
                f"{'above' if z > 0 else 'below'} the median {fmt(fig.kind, med)} of its {len(fig.values)} runs "
                f"(flagged beyond {OUTLIER_Z:g})")))  # fmt: skip
    return out


def _busy_outliers(state: ConfigRuns) -> list[Outlier]:
    limit = max(BUSY_CORES, BUSY_SHARE * (os.cpu_count() or 1))
    out = []
    for r in state.records:
        notes = r.meta.get("bench") or {}
        load = notes.get("load") or {}
        other = load.get("other_cores")
        if isinstance(other, (int, float)) and math.isfinite(other) and other > limit:
            own = (load.get("user_s", 0.0) + load.get("system_s", 0.0)) / max(load.get("wall_s", 1.0), 1e-9)
            out.append(Outlier(state.config.key, int(notes.get("attempt", 0)), "busy", (
                f"{state.config.label}, run {notes.get('attempt')}: the machine was busy with other work, "
                f"{other:.2f} CPU cores on average while it ran (flagged above {limit:.2f}; the run itself used "
                f"{own:.2f})")))  # fmt: skip
    return out


def build_verdict(
    states: Sequence[ConfigRuns],
    describe: Callable[[Any], str],
    quality: str | None = None,
    quality_higher: bool = True,
) -> Verdict:
    """The verdict over the configurations' runs (``describe``: a configuration's command)."""
    all_records = [r for s in states for r in s.records]
    suffix, per = _metric_names(all_records)
    draws = _Draws()
    configs, energy_draws, outliers = [], {}, []
    for state in states:
        cv, d = _config_verdict(state, describe(state.config), suffix, draws, quality)
        configs.append(cv)
        if d is not None:
            energy_draws[cv.key] = d
        attempts = [int((r.meta.get("bench") or {}).get("attempt", i + 1)) for i, r in enumerate(state.records)]
        outliers += _spread_outliers(cv, attempts, cv.energy, "energy")
        outliers += _spread_outliers(cv, attempts, cv.time, "time")
        outliers += _busy_outliers(state)
    keys = [c.key for c in configs if c.runs >= 2 and c.key in energy_draws]  # one run shows no spread
    pairs, best = _probabilities(keys, energy_draws)
    if len(keys) < len(energy_draws) or len(keys) < 2:
        best = {}  # unknown while a configuration's spread is; and with one configuration, nothing to say
    for cv in configs:
        cv.p_best = best.get(cv.key)
    measured = [c for c in configs if c.energy is not None and c.time is not None]
    front_t = pareto({c.key: (c.time.central, c.energy.central) for c in measured})  # type: ignore[union-attr]
    front_q = None
    with_q = [c for c in measured if c.quality is not None]
    if quality is not None and with_q:
        sign = -1.0 if quality_higher else 1.0
        front_q = pareto({c.key: (sign * c.quality.central, c.energy.central) for c in with_q})  # type: ignore[union-attr]
    return Verdict(per, configs, pairs, front_t, front_q, outliers, quality, quality_higher, BASIS)
