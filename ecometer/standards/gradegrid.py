"""Grade probabilities without draws (and without numpy) where the record's structure allows.

The common case of a scored record: every uncertain metric is one uncertain energy ``E`` (the
IT energy, a sum of independent components, or one component) times exact numbers (work
counts, a duration, a scale), raised to the power 1 or -1 (work per joule), and times at most
one site factor ``I_k`` (a footprint's intensity: water or carbon per joule, the PUE). The
factors of different keys are independent of each other and of the energy, as
:class:`~ecometer.standards.draws.RecordDraws` declares them.

Then every metric's grade (and every hard limit's pass or fail) is a step function of
``(E, I_1, I_2, ...)``, and the joint grade probabilities are computed by conditioning on
``E``: at :data:`ENERGY_POINTS` equiprobable quantiles of ``E`` (read off the exact quantile
function of one component, or the quantile-grid convolution of several,
:func:`ecometer.record.distributions.sum_grid`), each site factor's range splits at the
thresholds into segments whose probabilities are read off its quantile table
(:data:`FACTOR_POINTS` quantiles of its declared distribution); the segments of different
factors combine as independent. Resolution: 1/``ENERGY_POINTS`` in probability (Monte Carlo
with 4,000 draws: a standard error of up to 0.008).

Anything else (two different uncertain energies, an estimated work count, a footprint
figure without an intensity, a reported figure) is not handled here: :func:`factorise`
returns ``None`` and the caller draws (:mod:`ecometer.standards.draws`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from itertools import product
from typing import Any

from ecometer.errors import NotApplicable
from ecometer.record import units as U
from ecometer.record.distributions import quantile, sum_grid
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord
from ecometer.record.quantities import QUANTITIES, footprint_data
from ecometer.standards.draws import INTENSITY_QUANTITIES, SITE_INTENSITY, stored_estimate
from ecometer.standards.metrics import RUN, Measure, functional_units
from ecometer.standards.reported import REPORTED
from ecometer.work.estimates import work_estimate

#: equiprobable quantiles of the energy conditioned on
ENERGY_POINTS = 1000
#: quantiles of a site factor's distribution its segment probabilities are read from
FACTOR_POINTS = 2000
METHOD = f"exact conditioning on {ENERGY_POINTS} energy quantiles (no draws)"


class Factored:
    """A value ``const * E**power * I`` (``energy``: the components summed into ``E``, empty
    when no uncertain energy enters; ``factor``: the site factor's key, or ``None``).
    A plain class, not a dataclass: created once per scored metric, and cheap to import."""

    __slots__ = ("const", "energy", "power", "factor")

    def __init__(self, const: float, energy: frozenset[str] = frozenset(), power: int = 0, factor: str | None = None) -> None:
        self.const, self.energy, self.power, self.factor = const, energy, power, factor

    def times(self, k: float) -> Factored:
        return Factored(self.const * k, self.energy, self.power, self.factor)

    def at(self, e: float) -> float:
        """The value's coefficient of ``I`` given ``E = e`` (``inf`` for ``e <= 0`` to the power -1)."""
        if self.power == 0:
            return self.const
        if self.power == 1:
            return self.const * e
        return self.const / e if e > 0 else math.inf


class Structure:
    """Factored forms of one record's quantities: ``None`` where the form does not hold."""

    def __init__(self, record: RunRecord, *, reported_spread: float | None = None) -> None:
        self.record = record
        self.spread = reported_spread
        fp = footprint_data(record)
        raw = fp.get("intensity") if fp is not None else None
        self.intensity = raw if isinstance(raw, dict) else {}
        self.factors: dict[str, Estimate] = {}

    def component(self, name: str) -> Estimate:
        comp = self.record.components.get(name)
        if comp is None:
            raise NotApplicable(f"record has no {name.upper()} energy (no {name!r} component)")
        est = comp.uncertainty.replace(central=comp.energy_j)
        if est.is_exact and comp.method == REPORTED and self.spread:
            raise LookupError("a reported energy")  # its assumed spread is drawn
        return est

    def energy(self, names: frozenset[str]) -> Factored:
        ests = [self.component(n) for n in sorted(names)]
        if all(e.is_exact for e in ests):
            return Factored(math.fsum(e.central for e in ests))
        return Factored(1.0, names, 1)

    def quantity(self, name: str) -> Factored:
        """Raises :class:`NotApplicable` as the draws do, :class:`LookupError` where not factored."""
        rec = self.record
        if name == "it_energy_j":
            if not rec.components:
                raise NotApplicable("record has no measured energy (no components)")
            return self.energy(frozenset(rec.components))
        if name in ("gpu_energy_j", "cpu_energy_j", "dram_energy_j"):
            return self.energy(frozenset({name.split("_")[0]}))
        if name == "duration_s":
            return Factored(float(rec.duration_s))
        if name == "average_power_w":
            if not rec.duration_s > 0:
                raise NotApplicable(f"record duration is {rec.duration_s} s; average power needs a positive duration")
            return self.quantity("it_energy_j").times(1.0 / rec.duration_s)
        if name in INTENSITY_QUANTITIES:
            return self._with_factor(self.quantity("it_energy_j"), name)
        if name in SITE_INTENSITY:
            return self._with_factor(Factored(1.0), SITE_INTENSITY[name])
        raise LookupError(name)

    def _with_factor(self, base: Factored, key: str) -> Factored:
        est = stored_estimate(self.intensity.get(key))
        if est is None:
            raise LookupError(f"no intensity for {key}")
        if est.is_exact:
            return base.times(est.central)
        self.factors[key] = est
        return Factored(base.const, base.energy, base.power, key)

    def measure(self, m: Measure) -> Factored:
        """Measure ``m`` in ``m.unit`` (as :meth:`RecordDraws.measure`)."""
        if m.quantity == "work_per_joule":
            unit, _ = self.record.work_count(m.work)
            count = work_estimate(self.record, unit)
            if not count.is_exact:
                raise LookupError("an estimated work count")
            e = self.quantity("it_energy_j")
            if not e.energy:  # an exact energy
                value = (count.central / m.scale) / e.const if e.const > 0 else math.inf
                return Factored(value / U.UNITS[m.unit].factor)
            si = Factored(count.central / m.scale, e.energy, -1)
        else:
            si = self.quantity(m.quantity)
            if QUANTITIES[m.quantity].extensive and m.per != RUN:
                si = si.times(m.scale / functional_units(self.record, m.per))
        return si.times(1.0 / U.UNITS[m.unit].factor)


def factorise(structure: Structure, m: Measure, normalise: float = 1.0) -> Factored | None:
    """``m``'s factored form divided by ``normalise``, or ``None`` where it has none."""
    try:
        return structure.measure(m).times(1.0 / normalise)
    except (LookupError, NotApplicable):
        return None


class Item:
    """One thing to classify: a factored value and its rule (value -> class index)."""

    __slots__ = ("form", "classify")

    def __init__(self, form: Factored, classify: Callable[[float], int]) -> None:
        self.form, self.classify = form, classify


class _Table:
    """Sorted equiprobable quantiles of a factor: its CDF by interpolation, its quantile."""

    def __init__(self, est: Estimate, n: int = FACTOR_POINTS) -> None:
        self.q = [quantile(est, (i + 0.5) / n) for i in range(n)]
        self.n = n

    def cdf(self, x: float) -> float:
        q, n = self.q, self.n
        if x < q[0]:
            return 0.0
        if x >= q[-1]:
            return 1.0
        i = bisect.bisect_right(q, x) - 1
        span = q[i + 1] - q[i]
        return (i + 0.5 + ((x - q[i]) / span if span > 0 else 0.0)) / n

    def at(self, p: float) -> float:
        x = p * self.n - 0.5
        i = min(max(int(math.floor(x)), 0), self.n - 2)
        frac = min(max(x - i, 0.0), 1.0)
        return self.q[i] + (self.q[i + 1] - self.q[i]) * frac


def _energy_points(structure: Structure, names: frozenset[str]) -> list[float]:
    ests = [structure.component(n) for n in sorted(names)]
    if len(ests) == 1:
        return [quantile(ests[0], (j + 0.5) / ENERGY_POINTS) for j in range(ENERGY_POINTS)]
    grid = sum_grid(ests)
    return [grid.quantile((j + 0.5) / ENERGY_POINTS) for j in range(ENERGY_POINTS)]


def _segments(items: list[tuple[int, Item]], table: _Table, e: float) -> list[tuple[float, dict[int, int]]]:
    """Given ``E = e``, the factor's segments: (probability, class of each item) for ``items`` that read it."""
    cuts = {0.0, 1.0}
    for _, it in items:
        a = it.form.at(e)
        if a not in (0.0, math.inf, -math.inf):
            cuts.update(table.cdf(t / a) for t in getattr(it.classify, "edges", ()))
    ps = sorted(cuts)
    out = []
    for lo, hi in zip(ps, ps[1:], strict=False):
        if hi > lo:
            x = table.at((lo + hi) / 2)
            out.append((hi - lo, {i: it.classify(it.form.at(e) * x) for i, it in items}))
    return out


def joint(
    structure: Structure, items: list[Item], combine: Callable[[list[int]], int] | None = None
) -> tuple[list[dict[int, float]], dict[int, float]] | None:
    """Each item's class probabilities and (with ``combine``) the combined class's, or ``None``
    when the items do not share one uncertain energy (the caller then draws)."""
    energies = {it.form.energy for it in items if it.form.energy}
    if len(energies) > 1:
        return None
    points = _energy_points(structure, next(iter(energies))) if energies else [1.0]
    tables = {k: _Table(est) for k, est in structure.factors.items()}
    by_factor: dict[str | None, list[tuple[int, Item]]] = {}
    for i, it in enumerate(items):
        by_factor.setdefault(it.form.factor if it.form.factor in tables else None, []).append((i, it))
    per_item: list[dict[int, float]] = [{} for _ in items]
    overall: dict[int, float] = {}
    w = 1.0 / len(points)
    for e in points:
        fixed = {i: it.classify(it.form.at(e)) for i, it in by_factor.get(None, [])}
        parts = [_segments(its, tables[k], e) for k, its in by_factor.items() if k is not None]
        for combo in product(*parts):
            p, classes = w, dict(fixed)
            for prob, cls in combo:
                p *= prob
                classes.update(cls)
            for i, c in classes.items():
                per_item[i][c] = per_item[i].get(c, 0.0) + p
            if combine is not None:
                k = combine([classes[i] for i in range(len(items))])
                overall[k] = overall.get(k, 0.0) + p
    return [_normalised(d) for d in per_item], _normalised(overall)


def _normalised(shares: dict[int, float]) -> dict[int, float]:
    """Shares summing to 1 (rounding errors of the sums removed)."""
    total = math.fsum(shares.values())
    return {k: v / total for k, v in shares.items()} if total > 0 else shares


def classifier(fn: Callable[[float], int], edges: Sequence[float]) -> Any:
    """``fn`` with the values where its class changes attached (``edges``), for :func:`joint`."""

    def classify(value: float) -> int:
        return fn(value)

    classify.edges = tuple(edges)  # type: ignore[attr-defined]
    return classify
