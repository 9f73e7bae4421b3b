"""The distributions an estimate can declare, and exact arithmetic on them: quantile grids.

Deterministic propagation of independent estimates: no draws, no numpy. This module reads
estimates by their fields (``central``, ``low``, ``high``, ``coverage``, ``distribution``,
``is_exact``) and imports nothing of ecometer, so :mod:`ecometer.record.estimate` can use it for
the sum of two estimates.

An estimate's distribution (as :mod:`ecometer.record.uncertainty` declares it: uniform, triangular,
split normal, split log-normal) is represented by :data:`NODES` equiprobable quantiles, its
inverse distribution function at ``u = (i + 0.5) / NODES``. Two *independent* quantities are
combined by every pair of their nodes (``NODES**2`` equally likely values: the product rule of
a numerical convolution), sorted; the pair set gives the result's quantiles, and its
``NODES`` block means (mean preserved exactly) carry it into the next combination. A monotone
map (scale, shift, a floor) acts on the nodes exactly; quantities that move together
(comonotone, one shared uniform) add node by node, also exactly.

Accuracy: against 400,000-draw Monte Carlo the 95 % interval ends of sums and products of two
inputs (uniform, triangular, normal, log-normal) land within 0.5 % of the interval's width
(``tests/test_distributions.py``), inside the ~1 % seed-to-seed spread of the 4,000-draw Monte Carlo
this replaces; a combination costs about 0.3 ms in pure Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

#: the coverage probability a propagated interval claims unless a caller asks for another
DEFAULT_COVERAGE = 0.95


class Estimate(Protocol):
    """What this module reads of an estimate (:class:`ecometer.record.estimate.Estimate`)."""

    central: float
    low: float
    high: float
    coverage: float | None
    distribution: str

    @property
    def is_exact(self) -> bool: ...

#: quantile nodes per distribution (a combination of two evaluates NODES**2 pairs)
NODES = 64
#: what a figure computed here says it rests on
METHOD = f"numerical convolution on {NODES}-point quantile grids (deterministic, no draws)"

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def normal_quantile(p: float) -> float:
    """The standard normal's quantile at ``p`` (0 < p < 1), to about 1e-15: a rational first
    guess (Abramowitz and Stegun 26.2.23, error < 4.5e-4) refined by Halley steps on
    ``erfc``. Here rather than ``statistics.NormalDist``: importing ``statistics`` (fractions,
    decimal) costs more than a footprint."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"normal_quantile: p={p!r} is not in (0, 1)")
    q = min(p, 1.0 - p)  # solved in the lower tail, where erfc keeps its digits
    t = math.sqrt(-2.0 * math.log(q))
    x = (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t**3) - t
    for _ in range(3):
        d = (0.5 * math.erfc(-x / _SQRT2) - q) * _SQRT2PI * math.exp(0.5 * x * x)
        x -= d / (1.0 + 0.5 * x * d)
    return x if p < 0.5 else -x


def z_value(coverage: float) -> float:
    """Standard-normal quantile that leaves ``(1 - coverage) / 2`` in each tail."""
    return normal_quantile(0.5 + coverage / 2.0)


def has_support(est: Estimate) -> bool:
    """Whether ``est``'s ``low..high`` is its whole support (drawn uniform or triangular)."""
    return (
        est.distribution in ("uniform", "envelope", "triangular") or est.coverage is None or est.coverage >= 1.0
    )


def quantile(est: Estimate, u: float) -> float:
    """``est``'s declared distribution at probability ``u`` (0 < u < 1): the inverse of its CDF,
    as :func:`ecometer.record.uncertainty.draw` draws it (split normal / log-normal about the central)."""
    c, lo, hi = est.central, est.low, est.high
    if est.is_exact or lo == hi:
        return c
    if est.distribution == "triangular":
        f = (c - lo) / (hi - lo)
        if u < f:
            return lo + math.sqrt(u * (hi - lo) * (c - lo))
        return hi - math.sqrt((1.0 - u) * (hi - lo) * (hi - c))
    if has_support(est):
        return lo + u * (hi - lo)
    z = z_value(est.coverage or DEFAULT_COVERAGE)
    g = normal_quantile(u)
    if est.distribution == "lognormal" and lo > 0 and c > 0:
        return c * math.exp(g * math.log(c / lo) / z if g < 0 else g * math.log(hi / c) / z)
    return c + (g * (c - lo) / z if g < 0 else g * (hi - c) / z)


class Grid:
    """A quantity's distribution as :data:`NODES` equiprobable, sorted quantiles.

    ``fine``: after a combination, the sorted pair values it came from (finer tails for the
    quantiles read off this quantity), read as ``scale * x + offset`` (a later scale or shift
    is kept as those two numbers, not applied to every pair); ``None`` otherwise.
    """

    __slots__ = ("nodes", "fine", "scale", "offset")

    def __init__(self, nodes: list[float], fine: list[float] | None = None, scale: float = 1.0, offset: float = 0.0) -> None:
        self.nodes = nodes
        self.fine = fine
        self.scale = scale
        self.offset = offset

    @classmethod
    def of(cls, est: Estimate | float, n: int = NODES) -> Grid:
        """The grid of an estimate on ``n`` nodes (a plain number: every node at it)."""
        if not hasattr(est, "distribution") or est.is_exact:
            return cls([float(est)] * n)
        return cls([quantile(est, (i + 0.5) / n) for i in range(n)])

    @classmethod
    def constant(cls, value: float) -> Grid:
        return cls([float(value)] * NODES)

    def values(self) -> list[float]:
        """The finest equiprobable values held (the pairs where there are any), sorted."""
        if self.fine is None:
            return self.nodes
        a, b = self.scale, self.offset
        return self.fine if (a, b) == (1.0, 0.0) else [a * x + b for x in self.fine]

    # ---- monotone maps (exact on the nodes) -----------------------------------------------
    def scaled(self, k: float) -> Grid:
        k = float(k)
        if k < 0:  # order reversed: values applied, then sorted
            return self.mapped(lambda x: x * k)
        return Grid([x * k for x in self.nodes], self.fine, self.scale * k, self.offset * k)

    def shifted(self, c: float) -> Grid:
        c = float(c)
        return Grid([x + c for x in self.nodes], self.fine, self.scale, self.offset + c)

    def mapped(self, fn: Callable[[float], float]) -> Grid:
        """``fn`` of each value: exact for a monotone ``fn`` (re-sorted when it is decreasing)."""
        nodes = [fn(x) for x in self.nodes]
        fine = None if self.fine is None else [fn(x) for x in self.values()]
        if any(b < a for a, b in zip(nodes, nodes[1:], strict=False)):
            nodes.sort()
            fine = sorted(nodes) if fine is None else sorted(fine)  # no longer in any uniform's order
        return Grid(nodes, fine)

    def paired(self, other: Grid, fn: Callable[[float, float], float]) -> Grid:
        """``fn`` node by node with a quantity of the same uniform (both nodes in its order):
        exact; kept in that order where the result is non-decreasing, else sorted (``fine`` set
        to the sorted nodes, so it is no longer read as of one uniform)."""
        nodes = [fn(x, y) for x, y in zip(self.nodes, other.nodes, strict=True)]
        if any(b < a for a, b in zip(nodes, nodes[1:], strict=False)):
            return Grid(sorted(nodes), sorted(nodes))
        return Grid(nodes)

    # ---- combinations -------------------------------------------------------------------
    def plus(self, other: Grid) -> Grid:
        """The sum of two independent quantities."""
        return _from_pairs([x + y for x in self.nodes for y in other.nodes], len(self.nodes))

    def times(self, other: Grid) -> Grid:
        """The product of two independent quantities."""
        return _from_pairs([x * y for x in self.nodes for y in other.nodes], len(self.nodes))

    def maximum(self, other: Grid) -> Grid:
        """The larger of two independent quantities."""
        return _from_pairs([x if x > y else y for x in self.nodes for y in other.nodes], len(self.nodes))

    def comonotone_plus(self, other: Grid) -> Grid:
        """The sum of two quantities that move together (one shared uniform): node by node, exact."""
        return Grid([x + y for x, y in zip(self.nodes, other.nodes, strict=True)])

    # ---- reading ------------------------------------------------------------------------
    def quantile(self, p: float) -> float:
        """The ``p`` quantile (linear between the equiprobable values, clamped at the ends)."""
        values = self.fine if self.fine is not None else self.nodes
        n = len(values)
        x = p * n - 0.5
        i = min(max(int(math.floor(x)), 0), n - 2)
        frac = min(max(x - i, 0.0), 1.0)
        q = values[i] + (values[i + 1] - values[i]) * frac
        return q if self.fine is None else self.scale * q + self.offset

    def bounds(self, central: float, coverage: float = DEFAULT_COVERAGE) -> tuple[float, float, str]:
        """``(low, high, distribution)`` of the probabilistically symmetric ``coverage`` interval
        this quantity gives around ``central`` (``exact`` when it has no spread), labelled as
        :func:`ecometer.record.uncertainty.summarise` labels an interval read off draws
        (``lognormal`` when positive, else ``normal``); see ``Estimate.from_grid``."""
        lo = min(self.quantile(0.5 - coverage / 2.0), central)
        hi = max(self.quantile(0.5 + coverage / 2.0), central)
        if lo == hi:
            return central, central, "exact"
        return lo, hi, "lognormal" if lo > 0 else "normal"


def _from_pairs(pairs: list[float], n: int) -> Grid:
    """The grid of ``pairs`` (equally likely values): ``n`` block means, the sorted pairs kept."""
    pairs.sort()
    k = len(pairs) // n
    nodes = [math.fsum(pairs[i * k : (i + 1) * k]) / k for i in range(n)]
    return Grid(nodes, pairs)


#: terms convolved one by one in a sum; beyond these, the smallest are added by their moments
MAX_CONVOLVED = 16


def sum_grid(items: Iterable[Estimate]) -> Grid:
    """The grid of the sum of independent estimates.

    At most :data:`MAX_CONVOLVED` terms are convolved on grids (their cost grows with each
    term): beyond them, the terms of smallest variance are summed by their moments (means and
    variances add) into one normal term, where the central limit theorem holds for that part
    (many independent terms, none of them among the dominant ones), which is then convolved
    with the rest. A record of thousands of components costs as much as one of seventeen.
    """
    grids = [Grid.of(est) for est in items]
    if not grids:
        return Grid.constant(0.0)
    if len(grids) > MAX_CONVOLVED:
        grids.sort(key=_variance, reverse=True)
        small = grids[MAX_CONVOLVED - 1 :]
        mean = math.fsum(math.fsum(g.nodes) / len(g.nodes) for g in small)
        sd = math.sqrt(math.fsum(_variance(g) for g in small))
        grids = [*grids[: MAX_CONVOLVED - 1], Grid([mean + sd * normal_quantile((i + 0.5) / NODES) for i in range(NODES)])]
    grid = grids[0]
    for g in grids[1:]:
        grid = grid.plus(g)
    return grid


def _variance(g: Grid) -> float:
    n = len(g.nodes)
    mean = math.fsum(g.nodes) / n
    return math.fsum((x - mean) ** 2 for x in g.nodes) / n


#: nodes per input where a phase's sum conditions on its boundary timing (``NODES_SHARED**2``
#: pairs per timing node and sensor: a run's phases at stop stay within milliseconds)
NODES_SHARED = 32


def shared_factor_grid(terms: Sequence[tuple[str, Estimate, Estimate]]) -> Grid:
    """The grid of ``sum factor x value`` over ``terms`` ``(key, factor, value)``, as
    :func:`ecometer.record.uncertainty.shared_factor_sum` defines it: the factors of different keys
    independent (one factor per key), the values moving together (one shared uniform).

    Given the shared uniform at each of its nodes, the sum is a sum of independent scaled
    factors (combined on grids); the result is the equally weighted mixture over those nodes.
    """
    factors: dict[str, Estimate] = {}
    for key, f, _ in terms:
        factors.setdefault(key, f)
    timed = any(not v.is_exact for _, _, v in terms)
    uncertain = any(not f.is_exact and f.central for f in factors.values())
    n_u = (NODES_SHARED if uncertain else NODES) if timed else 1
    n_f = NODES_SHARED if timed else NODES
    weights: dict[str, list[float]] = {}  # key -> value of its terms at each timing node
    for key, f, v in terms:
        row = [f.central * (quantile(v, (j + 0.5) / n_u) if timed else v.central) for j in range(n_u)]
        weights[key] = [a + b for a, b in zip(weights.get(key, [0.0] * n_u), row, strict=True)]
    relative = {k: Grid.of(f, n_f).scaled(1.0 / f.central) for k, f in factors.items() if not f.is_exact and f.central}
    values: list[float] = []
    for j in range(n_u):
        const = math.fsum(w[j] for k, w in weights.items() if k not in relative)
        g: Grid | None = None
        for k, rel in relative.items():
            part = rel.scaled(weights[k][j])
            g = part if g is None else g.plus(part)
        values.extend([const] if g is None else [x + const for x in g.values()])
    values.sort()
    if len(values) < NODES:
        return Grid(values)
    return _from_pairs(values, NODES)
