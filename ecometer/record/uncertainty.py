"""Propagating uncertainty: distributions for inputs, Monte Carlo for outputs (GUM Supplement 1).

Every figure with bounds is an :class:`~ecometer.record.estimate.Estimate`. To combine estimates, each
input is given the distribution its estimate declares (see :data:`ecometer.record.estimate.DISTRIBUTIONS`):

- ``uniform`` / ``triangular``: a stated bound, ``low``..``high`` is the whole support;
- ``normal``: ``central`` with a coverage interval, a split normal when asymmetric (its
  quantiles at ``(1 -/+ coverage)/2`` are exactly ``low`` and ``high``);
- ``lognormal``: the same on a log scale (for positive factors published with a range);
- ``exact``: no uncertainty.

Outputs are propagated by drawing every input :data:`N_DRAWS` times with a seeded generator
(JCGM 101:2008, "Propagation of distributions using a Monte Carlo method") and reading the
coverage interval off the output's draws; the central value stays the point estimate computed
from the inputs' central values. Correlations are declared by key: :meth:`Propagation.factor`
returns the *same* draws for the same key, so one CPU model's error over a whole run is one
error shared by every phase, while different sensors (different keys) are independent.

The all-lows-together envelope (every low combined with every low) is available only
explicitly, through :func:`envelope`; it is a worst-case range, not a coverage interval.

numpy is imported when an estimate is actually propagated, never by ``import ecometer``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecometer.record import distributions as grid
from ecometer.record.estimate import DEFAULT_COVERAGE, Estimate, sum_independent  # noqa: F401 - sum_independent: its old place

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: draws per propagation: the 95 % interval's end points then move by about 1 % of its width
#: between seeds (JCGM 101:2008 7.2 suggests 10^4 for 95 %; a few thousand suffice for two digits)
N_DRAWS = 4000
#: the generator's seed: the same inputs always give the same interval
SEED = 20_250_726


def _z(coverage: float) -> float:
    """Standard-normal quantile that leaves ``(1 - coverage) / 2`` in each tail."""
    return grid.z_value(coverage)


def draw(estimate: Estimate, rng: np.random.Generator, n: int = N_DRAWS) -> np.ndarray:
    """``n`` draws of the value ``estimate`` stands for, from the distribution it declares."""
    import numpy as np

    c, lo, hi = estimate.central, estimate.low, estimate.high
    shape = estimate.distribution
    if shape == "exact" or lo == hi:
        return np.full(n, c, dtype=float)
    if shape == "triangular":
        return rng.triangular(lo, c, hi, n)
    if shape in ("uniform", "envelope") or estimate.coverage is None or estimate.coverage >= 1.0:
        return rng.uniform(lo, hi, n)
    z = _z(estimate.coverage)
    u = rng.standard_normal(n)
    if shape == "lognormal" and lo > 0 and c > 0:
        s_lo, s_hi = math.log(c / lo) / z, math.log(hi / c) / z
        return c * np.exp(np.where(u < 0, u * s_lo, u * s_hi))
    # normal (and a lognormal that reaches zero): split normal
    return c + np.where(u < 0, u * (c - lo) / z, u * (hi - c) / z)


def summarise(
    draws: np.ndarray,
    central: float | None = None,
    *,
    coverage: float = DEFAULT_COVERAGE,
    basis: str = "",
) -> Estimate:
    """The estimate ``draws`` describe: ``central`` (default: their median) and the
    probabilistically symmetric ``coverage`` interval read off the draws.

    The result is labelled ``lognormal`` when every draw is positive (so a later propagation
    reproduces its skew), else ``normal``.
    """
    import numpy as np

    draws = np.asarray(draws, dtype=float)
    lo, hi = np.quantile(draws, [0.5 - coverage / 2.0, 0.5 + coverage / 2.0])
    mid = float(np.median(draws)) if central is None else float(central)
    lo, hi = min(float(lo), mid), max(float(hi), mid)
    if lo == hi:
        return Estimate.exact(mid, basis=basis)
    shape = "lognormal" if lo > 0 else "normal"
    return Estimate(mid, lo, hi, coverage=coverage, distribution=shape, basis=basis)


class Propagation:
    """One Monte Carlo propagation: seeded draws of inputs, with correlations declared by key.

    >>> p = Propagation()
    >>> cpu = p.factor("sensor:cpu-model", record.components["cpu"].uncertainty)
    >>> phase_cpu = cpu * phase.components["cpu"]   # the same model error in every phase
    >>> p.summarise(phase_cpu, central=phase.components["cpu"])
    """

    def __init__(self, n: int = N_DRAWS, seed: int = SEED) -> None:
        import numpy as np

        self.n = n
        self.rng = np.random.default_rng(seed)
        self._factors: dict[str, np.ndarray] = {}
        self._values: dict[str, np.ndarray] = {}

    def value(self, estimate: Estimate | float, key: str | None = None) -> np.ndarray:
        """Draws of ``estimate`` itself; the same ``key`` gives the same draws (fully correlated)."""
        est = estimate if isinstance(estimate, Estimate) else Estimate.exact(float(estimate))
        if key is None:
            return draw(est, self.rng, self.n)
        if key not in self._values:
            self._values[key] = draw(est, self.rng, self.n)
        return self._values[key]

    def factor(self, key: str, estimate: Estimate) -> np.ndarray:
        """Draws of the *relative* error ``value / central`` of ``estimate``, shared by ``key``.

        Multiply a quantity measured by the same source (a phase's CPU energy, say) by it to
        give that quantity the same error as the whole-run figure.
        """
        if key not in self._factors:
            if estimate.central == 0:
                import numpy as np

                self._factors[key] = np.ones(self.n)
            else:
                self._factors[key] = draw(estimate, self.rng, self.n) / estimate.central
        return self._factors[key]

    def uniform(self) -> np.ndarray:
        """A fresh standard-uniform draw, to be shared by inputs that move together
        (see :func:`quantile_draws`)."""
        return self.rng.random(self.n)

    @staticmethod
    def summarise(
        draws: np.ndarray, central: float | None = None, *, coverage: float = DEFAULT_COVERAGE, basis: str = ""
    ) -> Estimate:
        return summarise(draws, central, coverage=coverage, basis=basis)


def shared_factor_sum(
    p: Propagation | None,
    terms: Sequence[tuple[str, Estimate, Estimate]],
    *,
    coverage: float = DEFAULT_COVERAGE,
    basis: str = "",
) -> Estimate:
    """The sum of terms ``factor x value``, each ``(key, factor, value)``.

    ``factor`` is a source's relative error (central 1.0) shared by ``key`` through ``p``: the
    same key gives the same error wherever it appears. ``value`` is the term's own
    uncertainty (say a phase's boundary timing); the values of one call move together (one
    shared uniform draw), since they are errors of the same boundaries.

    Exact rule where one holds: with a single uncertain input, that input's interval scaled
    (coverage and shape kept); otherwise Monte Carlo over ``p``'s draws, or with ``p`` None the
    same sum on quantile grids (:func:`ecometer.record.distributions.shared_factor_grid`, no draws, no numpy).
    """
    total = math.fsum(f.central * v.central for _, f, v in terms)
    uncertain = [(k, f, v) for k, f, v in terms if not f.is_exact or not v.is_exact]
    if not uncertain:
        return Estimate.exact(total, basis=basis)
    keys = {k for k, f, _ in uncertain if not f.is_exact}
    timed = [v for _, _, v in uncertain if not v.is_exact]
    if len(keys) + len(timed) == 1:  # one uncertain input: its own interval, scaled and shifted
        if timed:
            key, f, v = next(t for t in uncertain if not t[2].is_exact)
            term, part = v.scaled(f.central), f.central * v.central
        else:
            key, f, _ = next(t for t in uncertain if t[0] in keys)
            part = math.fsum(ff.central * vv.central for k, ff, vv in uncertain if k == key)
            term = f.scaled(part / f.central)
        rest = total - part
        return term.replace(central=total, low=term.low + rest, high=term.high + rest, basis=basis)
    if p is None:
        summed = grid.shared_factor_grid(uncertain).shifted(
            total - math.fsum(f.central * v.central for _, f, v in uncertain)
        )
        return Estimate.from_grid(summed, total, coverage=coverage, basis=basis)
    u = p.uniform()
    draws = total - math.fsum(f.central * v.central for _, f, v in uncertain)
    for key, f, v in uncertain:
        draws = draws + p.factor(key, f) * f.central * quantile_draws(v, u)
    return summarise(draws, total, coverage=coverage, basis=basis)


def uniform_product(
    x: Estimate, y: Estimate, *, coverage: float = DEFAULT_COVERAGE, basis: str = ""
) -> Estimate:
    """The product of two independent, positive stated bounds drawn uniform: the exact rule.

    With X ~ U(x1, x2) and Y ~ U(y1, y2), P(XY <= z) has a closed form (below); its
    ``(1 -/+ coverage)/2`` quantiles are found by bisection, so the result is what a Monte
    Carlo of the product converges to, without drawing (and without numpy). The central value
    is the product of the centrals; labelled ``lognormal`` as :func:`summarise` labels a
    positive propagated interval.
    """
    x1, x2, y1, y2 = x.low, x.high, y.low, y.high
    if not (0 < x1 < x2 and 0 < y1 < y2):
        raise ValueError("uniform_product needs two positive, non-degenerate bounds")
    area = (x2 - x1) * (y2 - y1)

    def cdf(z: float) -> float:
        lo = min(x2, max(x1, z / y2))  # below lo every x gives xy <= z for all y
        hi = min(x2, max(x1, z / y1))  # above hi no y does
        inner = z * math.log(hi / lo) - y1 * (hi - lo) if hi > lo else 0.0
        return ((y2 - y1) * (lo - x1) + inner) / area

    def quantile(p: float) -> float:
        a, b = x1 * y1, x2 * y2
        for _ in range(80):
            mid = 0.5 * (a + b)
            a, b = (mid, b) if cdf(mid) < p else (a, mid)
        return 0.5 * (a + b)

    central = x.central * y.central
    low, high = quantile(0.5 - coverage / 2.0), quantile(0.5 + coverage / 2.0)
    return Estimate(
        central, min(low, central), max(high, central), coverage=coverage, distribution="lognormal", basis=basis
    )


def propagate(
    fn: Callable[..., Any],
    inputs: Mapping[str, Estimate | float],
    *,
    correlated: Sequence[Sequence[str]] = (),
    coverage: float = DEFAULT_COVERAGE,
    basis: str = "",
) -> Estimate:
    """``fn(**inputs)`` with its coverage interval, by Monte Carlo.

    ``fn`` must accept numpy arrays (plain arithmetic does). Inputs are independent unless
    named together in one group of ``correlated``, whose members then share one draw of the
    standard uniform (full rank correlation: all high together within the group).
    """
    import numpy as np

    p = Propagation()
    group_of = {name: i for i, group in enumerate(correlated) for name in group}
    shared = {i: p.rng.random(p.n) for i in range(len(correlated))}
    args: dict[str, Any] = {}
    for name, value in inputs.items():
        est = value if isinstance(value, Estimate) else Estimate.exact(float(value))
        if name in group_of:
            args[name] = quantile_draws(est, shared[group_of[name]])
        else:
            args[name] = p.value(est)
    central = fn(**{k: (v.central if isinstance(v, Estimate) else float(v)) for k, v in inputs.items()})
    return summarise(np.asarray(fn(**args), dtype=float), float(central), coverage=coverage, basis=basis)


def quantile_draws(estimate: Estimate, u: np.ndarray) -> np.ndarray:
    """``estimate``'s distribution evaluated at the uniform draws ``u`` (inverse transform)."""
    import numpy as np

    c, lo, hi = estimate.central, estimate.low, estimate.high
    if estimate.is_exact:
        return np.full(len(u), c)
    if estimate.distribution == "triangular":
        f = (c - lo) / (hi - lo)
        return np.where(
            u < f, lo + np.sqrt(u * (hi - lo) * (c - lo)), hi - np.sqrt((1 - u) * (hi - lo) * (hi - c))
        )
    if estimate.distribution in ("uniform", "envelope") or estimate.coverage is None or estimate.coverage >= 1.0:
        return lo + u * (hi - lo)
    from statistics import NormalDist as _N

    z = _z(estimate.coverage)
    g = np.array([_N().inv_cdf(min(max(x, 1e-12), 1 - 1e-12)) for x in u])
    if estimate.distribution == "lognormal" and lo > 0 and c > 0:
        return c * np.exp(np.where(g < 0, g * math.log(c / lo) / z, g * math.log(hi / c) / z))
    return c + np.where(g < 0, g * (c - lo) / z, g * (hi - c) / z)


_quantile_draws = quantile_draws  # the former private name, kept for callers written against it


def envelope(fn: Callable[..., float], inputs: Mapping[str, Estimate | float], *, basis: str = "") -> Estimate:
    """The explicit worst-case option: ``fn`` at every input's low together and every high
    together. Labelled ``envelope`` with no coverage: it is not a confidence interval."""
    ests = {k: (v if isinstance(v, Estimate) else Estimate.exact(float(v))) for k, v in inputs.items()}
    central = fn(**{k: e.central for k, e in ests.items()})
    a = fn(**{k: e.low for k, e in ests.items()})
    b = fn(**{k: e.high for k, e in ests.items()})
    return Estimate(central, min(a, b, central), max(a, b, central), distribution="envelope", coverage=None, basis=basis)


def band_indices(
    draws: np.ndarray, thresholds: Sequence[float], direction: str = "lower"
) -> np.ndarray:
    """The grade index (0 = best) of each of ``draws``, by the standards' rule that a value on
    an edge belongs to the better grade (see :func:`ecometer.standards.assess.grade_index`).

    ``thresholds`` and ``direction`` as a standard states them (best grade first; for
    ``"lower"`` ascending edges, for ``"higher"`` descending ones).
    """
    import numpy as np

    values = np.asarray(draws, dtype=float)
    edges = np.asarray(thresholds, dtype=float)
    if direction == "lower":
        return np.searchsorted(edges, values, side="left")
    if direction == "higher":
        return np.searchsorted(-edges, -values, side="left")
    raise ValueError(f"direction {direction!r}: expected 'lower' or 'higher'")


def index_probabilities(index: np.ndarray, grades: Sequence[str]) -> dict[str, float]:
    """The share of draws in each grade, from their grade indices; grades with none left out."""
    import numpy as np

    counts = np.bincount(np.asarray(index, dtype=int), minlength=len(grades))
    return {grades[i]: float(counts[i]) / len(index) for i in range(len(grades)) if counts[i]}


def band_probabilities(
    draws: np.ndarray, thresholds: Sequence[float], grades: Sequence[str], direction: str = "lower"
) -> dict[str, float]:
    """Probability of each grade for a value whose draws are ``draws`` (see :func:`band_indices`).
    Grades with no draws are left out."""
    if len(thresholds) != len(grades) - 1:
        raise ValueError(f"{len(grades)} grades need {len(grades) - 1} thresholds, found {len(thresholds)}")
    return index_probabilities(band_indices(draws, thresholds, direction), grades)


def most_likely(probabilities: Mapping[str, float]) -> tuple[str, float]:
    """The most probable grade and its probability (ties go to the first listed)."""
    grade = max(probabilities, key=lambda g: probabilities[g])
    return grade, probabilities[grade]



def percent(p: float) -> str:
    """A probability for people: ``0.8327`` -> ``"83 %"``; above 0 but rounding to 0 reads
    ``"<1 %"``, below 1 but rounding to 100 reads ``">99 %"`` (never a false certainty)."""
    if 0 < p < 0.005:
        return "<1 %"
    if 0.995 <= p < 1:
        return ">99 %"
    return f"{p * 100:.0f} %"


def grade_odds(probabilities: Mapping[str, float], order: Sequence[str] = (), limit: int | None = None) -> str:
    """``"B 83 %, C 17 %"``: grades with their probabilities, best grade first (by ``order``;
    grades not in it keep their given order after it). With ``limit``, only the ``limit``
    likeliest are shown (ties to the better grade) and the rest counted ("2 more")."""
    if not probabilities:
        return ""
    grades = list(probabilities)

    def rank(grade: str) -> tuple[int, int]:
        return (list(order).index(grade) if grade in order else len(order), grades.index(grade))

    shown = grades if limit is None else sorted(grades, key=lambda g: (-probabilities[g], rank(g)))[:limit]
    parts = [f"{g} {percent(probabilities[g])}" for g in sorted(shown, key=rank)]
    if limit is not None and len(grades) > limit:
        parts.append(f"{len(grades) - limit} more")
    return ", ".join(parts)
