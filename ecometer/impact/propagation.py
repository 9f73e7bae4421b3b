"""How a footprint's input uncertainties become its figures' intervals.

``bounds="interval"`` (the default): where every figure combines inputs that are independent of
each other (no input used twice in one figure, none rank-correlated with another), a numerical
convolution on quantile grids (:mod:`ecometer.record.distributions`: deterministic, no draws, no numpy;
within 0.5 % of the interval's width of a long Monte Carlo). Otherwise Monte Carlo (JCGM
101:2008, GUM Supplement 1) with one seeded :class:`~ecometer.record.uncertainty.Propagation` per footprint. Each input is drawn once from
the distribution its :class:`~ecometer.record.estimate.Estimate` declares; inputs with different keys
are independent, and the same key is the same draw wherever it is used (one annual factor
over every hour of a run). A figure that rests on several uncertain inputs gets the 95 %
interval of its draws. One that rests on a single uncertain input is mapped exactly (every
footprint figure is non-decreasing in each input, so the input's quantiles map onto the
figure's): the input's own 95 % quantiles for a normal or log-normal input, its whole support
(coverage 1, or not stated where the input states none) for a stated bound.

A 95 % interval is not always inside the envelope: where an input states a 90 % range (the
derived grid factors), its 95 % quantiles lie beyond that range.

``bounds="envelope"``: every input at its low together and at its high together, the
conservative worst-case range of earlier versions (no coverage claimed).

A quantity is a :class:`Value`: a numpy array whose element 0 is the point estimate (every
input at its central value), elements 1 and 2 the envelope's corners (every input at its low /
its high), 3 and 4 every input at its 2.5 % / 97.5 % quantile (read only for a figure with one
uncertain input), then the Monte Carlo draws (none for the envelope), with the keys of the
uncertain inputs it depends on. On the grid path a quantity is a :class:`GridValue` instead:
the same five readings in a list, and the quantity's :class:`~ecometer.record.distributions.Grid`.
numpy is imported only when a footprint needs the Monte Carlo path.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import TYPE_CHECKING

from ecometer.errors import FootprintError
from ecometer.record.distributions import METHOD as GRID_METHOD
from ecometer.record.distributions import Grid, z_value
from ecometer.record.estimate import DEFAULT_COVERAGE, Estimate
from ecometer.record.uncertainty import N_DRAWS, SEED, Propagation, summarise

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

BOUNDS = ("interval", "envelope")
_CORNERS = 5  # central, all lows, all highs, all 2.5 % quantiles, all 97.5 % quantiles
_SHAPED = ("normal", "lognormal")  # a central value with a coverage interval (the others state a support)


class Value:
    """A quantity in the propagation: readings (see the module docstring) and the inputs behind them."""

    __slots__ = ("a", "keys")

    def __init__(self, a: np.ndarray, keys: frozenset[str]) -> None:
        self.a = a
        self.keys = keys

    @property
    def central(self) -> float:
        return float(self.a[0])

    @property
    def draws(self) -> np.ndarray:
        """The Monte Carlo draws (empty for the envelope)."""
        return self.a[_CORNERS:]

    def __mul__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return Value(self.a * other.a, self.keys | other.keys)
        return Value(self.a * float(other), self.keys)

    __rmul__ = __mul__

    def __add__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return Value(self.a + other.a, self.keys | other.keys)
        return Value(self.a + float(other), self.keys)

    __radd__ = __add__

    def __truediv__(self, other: float) -> Value:
        return Value(self.a / float(other), self.keys)

    def at_least(self, floor: Value) -> Value:
        """This quantity, raised to ``floor`` reading by reading (in every draw)."""
        import numpy as np

        return Value(np.maximum(self.a, floor.a), self.keys | floor.keys)


class NeedsDraws(Exception):
    """A figure combines inputs that are not independent: the grid path cannot give it (Monte Carlo can)."""


class GridValue:
    """A quantity on the grid path: the five readings of :class:`Value` (a list) and its grid
    (``None`` for the envelope, which needs none).

    ``u``: where the quantity is a non-decreasing function of one uniform (an input, or inputs
    rank-correlated with it), that uniform's key: its nodes are in the uniform's order, so two
    such quantities of the same uniform combine node by node, exactly. Otherwise ``None``, and
    combining two quantities that share an input raises :class:`NeedsDraws`.
    """

    __slots__ = ("a", "grid", "keys", "u")

    def __init__(self, a: list[float], grid: Grid | None, keys: frozenset[str], u: str | None = None) -> None:
        self.a = a
        self.grid = grid
        self.keys = keys
        self.u = u

    @property
    def central(self) -> float:
        return self.a[0]

    def _combined(self, other: GridValue, fn: Callable[[float, float], float], op: str) -> GridValue:
        a = [fn(x, y) for x, y in zip(self.a, other.a, strict=True)]
        keys = self.keys | other.keys
        if not other.keys or not self.keys:  # one side a constant: a monotone map of the other
            const, var = (other, self) if not other.keys else (self, other)
            c = const.a[0]
            g = None
            if var.grid is not None and op == "plus":
                g = var.grid.shifted(c)
            elif var.grid is not None and op == "times":
                g = var.grid.scaled(c)
            elif var.grid is not None:
                g = var.grid.mapped(lambda x: fn(x, c))
            return GridValue(a, g, keys, var.u if g is None or g.fine is None else None)
        if self.u is not None and self.u == other.u:  # one uniform: node by node
            g = None if self.grid is None or other.grid is None else self.grid.paired(other.grid, fn)
            return GridValue(a, g, keys, self.u if g is None or g.fine is None else None)
        if self.keys & other.keys:
            raise NeedsDraws(f"inputs {sorted(self.keys & other.keys)} enter one figure twice")
        g = None if self.grid is None or other.grid is None else getattr(self.grid, op)(other.grid)
        return GridValue(a, g, keys)

    def __mul__(self, other: GridValue | float) -> GridValue:
        if not isinstance(other, GridValue):
            other = GridValue([float(other)] * _CORNERS, None, frozenset())
        return self._combined(other, operator.mul, "times")

    __rmul__ = __mul__

    def __add__(self, other: GridValue | float) -> GridValue:
        if not isinstance(other, GridValue):
            other = GridValue([float(other)] * _CORNERS, None, frozenset())
        return self._combined(other, operator.add, "plus")

    __radd__ = __add__

    def __truediv__(self, other: float) -> GridValue:
        k = float(other)
        g = None if self.grid is None else self.grid.scaled(1.0 / k)
        return GridValue([x / k for x in self.a], g, self.keys, self.u if k > 0 else None)

    def at_least(self, floor: GridValue) -> GridValue:
        """This quantity, raised to ``floor``: exact when either is a constant or both are of one
        uniform; the larger of independent pairs otherwise."""
        return self._combined(floor, max, "maximum")

    def share_below(self, floor: GridValue) -> float:
        """The probability that this quantity is below ``floor`` (0 for the envelope)."""
        if self.grid is None or floor.grid is None:
            return 0.0
        xs, ys = self.grid.nodes, floor.grid.nodes
        if not floor.keys or not self.keys or (self.u is not None and self.u == floor.u):
            if not floor.keys or not self.keys:
                ys = [floor.a[0]] * len(xs) if not floor.keys else ys
                xs = [self.a[0]] * len(ys) if not self.keys else xs
            return sum(1 for x, y in zip(xs, ys, strict=True) if y > x) / len(xs)
        if self.keys & floor.keys:
            raise NeedsDraws(f"inputs {sorted(self.keys & floor.keys)} enter one figure twice")
        return sum(1 for x in xs for y in ys if y > x) / (len(xs) * len(ys))


class Draws:
    """The inputs of one footprint, drawn once each, and the estimates read off its quantities.

    ``grid``: quantities are :class:`GridValue` (no draws; :class:`NeedsDraws` where a figure's
    inputs are not independent); otherwise :class:`Value` with Monte Carlo draws.
    """

    def __init__(self, bounds: str = "interval", *, n: int = N_DRAWS, seed: int = SEED, grid: bool = False) -> None:
        if bounds not in BOUNDS:
            raise FootprintError(
                f"footprint(): bounds {bounds!r}: expected 'interval' (Monte Carlo, 95 % coverage) or 'envelope' "
                "(every input at its low / high together, no coverage claimed)"
            )
        self.bounds = bounds
        self.grid = grid
        self.n = 0 if grid or bounds != "interval" else n
        self.seed = seed
        self._prop: Propagation | None = None
        self._mc: dict[str, np.ndarray] = {}
        self.inputs: dict[str, tuple[str, Estimate]] = {}  # key -> (label, estimate), in order of use
        self.coupled: dict[str, str] = {}  # key -> the key it is rank-correlated with

    @property
    def prop(self) -> Propagation:
        if self._prop is None:
            self._prop = Propagation(self.n, self.seed)
        return self._prop

    def constant(self, value: float) -> Value | GridValue:
        if self.grid:
            v = float(value)
            return GridValue([v] * _CORNERS, Grid.constant(v) if self.bounds == "interval" else None, frozenset())
        import numpy as np

        return Value(np.full(_CORNERS + self.n, float(value)), frozenset())

    def input(self, key: str, est: Estimate, label: str, *, like: str | None = None) -> Value | GridValue:
        """``est`` as an uncertain input called ``key`` (the same key: the same draws).

        ``like``: the key of an input this one moves with (full rank correlation: its draws are
        reordered to the ranks of that input's draws).
        """
        if est.is_exact:
            return self.constant(est.central)
        if self.grid:
            return self._grid_input(key, est, label, like)
        import numpy as np

        if key in self._mc:
            mc = self._mc[key]
        else:
            mc = self.prop.value(est, key) if self.n else np.empty(0)
            if like is not None and like in self._mc and self.n:
                mc = _same_ranks(self._mc[like], mc)
                self.coupled[key] = like
            self._mc[key] = mc
            self.inputs[key] = (label, est)
        corners = [est.central, est.low, est.high, *_quantiles95(est)]
        return Value(np.concatenate((corners, mc)), frozenset({key}))

    def _grid_input(self, key: str, est: Estimate, label: str, like: str | None) -> GridValue:
        """``est`` on the grid (its nodes in the order of its uniform: ``like``'s where given)."""
        if key not in self.inputs:
            self.inputs[key] = (label, est)
            if like is not None and like in self.inputs:
                self.coupled[key] = like
        u = self.coupled.get(key, key)
        corners = [est.central, est.low, est.high, *_quantiles95(est)]
        return GridValue(corners, Grid.of(est) if self.bounds == "interval" else None, frozenset({key}), u)

    def estimate(self, v: Value | GridValue, what: str) -> Estimate:
        """The Estimate of quantity ``v``; ``what`` names the figure in its basis (``"IT energy x PUE"``)."""
        central = v.central
        if not v.keys:
            return Estimate.exact(central, basis=f"{what}; every input exact")
        lo, hi = float(min(v.a[:3])), float(max(v.a[:3]))
        if self.bounds == "envelope":
            basis = f"{what}; envelope: every input at its low together and at its high together (not a coverage interval)"
            return Estimate(central, lo, hi, coverage=None, distribution="envelope", basis=basis)
        if len(v.keys) == 1:  # exact rule: a non-decreasing function of one input maps its quantiles
            (key,) = v.keys
            label, src = self.inputs[key]
            basis = f"{what}; one uncertain input, {label}: its interval mapped exactly"
            if _shaped(src):
                lo, hi = float(min(v.a[0], v.a[3], v.a[4])), float(max(v.a[0], v.a[3], v.a[4]))
                return Estimate(central, lo, hi, coverage=DEFAULT_COVERAGE, distribution=src.distribution, basis=basis)
            return Estimate(central, lo, hi, coverage=src.coverage, distribution=src.distribution, basis=basis)
        basis = f"{what}; {self.describe(v.keys)}"
        if isinstance(v, GridValue) and v.grid is not None:
            return Estimate.from_grid(v.grid, central, coverage=DEFAULT_COVERAGE, basis=basis)
        return summarise(v.draws, central, coverage=DEFAULT_COVERAGE, basis=basis)

    def describe(self, keys: frozenset[str] | None = None) -> str:
        """What a Monte Carlo estimate rests on: the draws, its inputs and their correlations."""
        chosen = [k for k in self.inputs if keys is None or k in keys]
        parts = []
        for k in chosen:
            label, est = self.inputs[k]
            claim = "" if est.coverage is None or est.distribution in ("uniform", "triangular") else f" {est.coverage:.0%}"
            parts.append(f"{label} ({est.distribution}{claim})")
        coupled = [f"{self.inputs[k][0]} with {self.inputs[o][0]}" for k, o in self.coupled.items() if k in chosen]
        how = GRID_METHOD if self.grid else f"Monte Carlo, {self.n} draws seeded {self.seed} (JCGM 101)"
        return (
            f"{how}: "
            + ", ".join(parts)
            + "; independent"
            + (f" except {'; '.join(coupled)} (rank-correlated: same generation mix)" if coupled else "")
        )


def _shaped(est: Estimate) -> bool:
    """Whether ``est`` is a central value with a coverage interval (drawn normal / log-normal)."""
    return est.distribution in _SHAPED and est.coverage is not None and est.coverage < 1.0


def _quantiles95(est: Estimate) -> tuple[float, float]:
    """The 2.5 % and 97.5 % quantiles of the distribution ``est`` declares (as
    :func:`ecometer.record.uncertainty.draw` draws it); its bounds where it states a support."""
    c, lo, hi = est.central, est.low, est.high
    if not _shaped(est) or est.coverage is None:
        return lo, hi
    k = z_value(DEFAULT_COVERAGE) / z_value(est.coverage)
    if est.distribution == "lognormal" and lo > 0 and c > 0:
        return c * math.exp(-k * math.log(c / lo)), c * math.exp(k * math.log(hi / c))
    return c - k * (c - lo), c + k * (hi - c)


def _same_ranks(reference: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``draws`` reordered so that their ranks are ``reference``'s (comonotone: full rank correlation)."""
    import numpy as np

    out = np.empty_like(draws)
    out[np.argsort(reference, kind="stable")] = np.sort(draws)
    return out

