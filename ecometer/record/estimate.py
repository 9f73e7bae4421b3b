"""A figure with its uncertainty: :class:`Estimate`, the one type every layer of ecometer uses.

An estimate is a float (the central value, in the unit of the field that holds it) with ``low``
and ``high`` bounds, the ``coverage`` they claim, the ``distribution`` they follow and the
``basis`` they rest on. The sum of independent estimates (``a + b``, :func:`sum_independent`)
is exact arithmetic on quantile grids (:mod:`ecometer.record.distributions`); other propagation
(Monte Carlo, declared correlations) is :mod:`ecometer.record.uncertainty`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

from ecometer.checks.numbers import shown
from ecometer.errors import RecordError
from ecometer.record import distributions
from ecometer.record.distributions import DEFAULT_COVERAGE

#: how an estimate's uncertainty is distributed, for propagation (see :mod:`ecometer.record.uncertainty`):
#: ``exact`` no uncertainty; ``uniform`` / ``triangular`` a stated bound (``low``..``high`` is the
#: whole support, mode ``central``); ``normal`` / ``lognormal`` a central value with a coverage
#: interval (split at ``central`` when asymmetric); ``envelope`` all lows / all highs together
#: (a worst-case range, not a coverage interval).
DISTRIBUTIONS = ("exact", "uniform", "triangular", "normal", "lognormal", "envelope")
_SUPPORT = ("exact", "uniform", "triangular")


class Estimate(float):
    """A figure with bounds: a ``float`` (its central value) with ``low`` and ``high``.

    ``coverage`` is the probability the interval ``[low, high]`` claims to contain the true
    value (1.0 for a stated bound, ``0.95`` for a propagated interval, ``None`` where it is not
    stated, as in schema-1 records or an envelope). ``distribution`` says how the uncertainty
    is distributed (one of :data:`DISTRIBUTIONS`) and ``basis`` what it rests on.

    Arithmetic gives plain floats of the central value (``fp.water.total_l * 1000`` is the
    central in millilitres); :meth:`scaled` keeps the bounds, and :mod:`ecometer.record.uncertainty`
    propagates estimates into new ones. All three values share the figure's unit.
    """

    __slots__ = ("low", "high", "coverage", "distribution", "basis")
    low: float
    high: float
    coverage: float | None
    distribution: str
    basis: str

    def __new__(
        cls,
        central: float,
        low: float | None = None,
        high: float | None = None,
        *,
        coverage: float | None = -1.0,
        distribution: str | None = None,
        basis: str = "",
    ) -> Estimate:
        try:
            obj = super().__new__(cls, central)
            c = float(central)
            lo = c if low is None else float(low)
            hi = c if high is None else float(high)
        except (OverflowError, TypeError, ValueError):  # 10**400, "x", None: a clear error, not a raw one
            raise RecordError(
                f"estimate: central {shown(central)}, low {shown(low)}, high {shown(high)}: expected numbers "
                "(within a float's range)"
            ) from None
        if lo > hi:
            lo, hi = hi, lo
        if not lo <= c <= hi and not any(math.isnan(v) for v in (lo, c, hi)):
            lo, hi = min(lo, c), max(hi, c)
        if distribution is None:
            distribution = "exact" if lo == hi else "uniform"
        if distribution not in DISTRIBUTIONS:
            raise RecordError(f"estimate: distribution {distribution!r} is not one of {DISTRIBUTIONS}")
        if coverage == -1.0:  # not given: a support is certain, an interval claims the default
            coverage = 1.0 if distribution in _SUPPORT else None if distribution == "envelope" else DEFAULT_COVERAGE
        if coverage is not None and not 0.0 < coverage <= 1.0:
            raise RecordError(f"estimate: coverage {coverage!r} is not a probability in (0, 1]")
        obj.low, obj.high = lo, hi
        obj.coverage = coverage
        obj.distribution = distribution
        obj.basis = basis
        return obj

    # ---- construction ------------------------------------------------------------------
    @classmethod
    def from_grid(
        cls, grid: distributions.Grid, central: float, *, coverage: float = DEFAULT_COVERAGE, basis: str = ""
    ) -> Estimate:
        """The estimate a quantile grid describes around ``central``, with its ``coverage`` interval."""
        low, high, shape = grid.bounds(central, coverage)
        if shape == "exact":
            return cls.exact(central, basis=basis)
        return cls(central, low, high, coverage=coverage, distribution=shape, basis=basis)

    @classmethod
    def exact(cls, value: float, basis: str = "") -> Estimate:
        """A value with no uncertainty (a counter reading, a count)."""
        return cls(value, value, value, distribution="exact", basis=basis)

    @classmethod
    def relative(
        cls, value: float, rel_low: float, rel_high: float, *, distribution: str = "uniform", **kw: Any
    ) -> Estimate:
        """``value`` with bounds ``value*(1-rel_low)`` and ``value*(1+rel_high)``."""
        return cls(value, value * (1.0 - rel_low), value * (1.0 + rel_high), distribution=distribution, **kw)

    @classmethod
    def coerce(cls, value: Any, *, name: str) -> Estimate:
        """An Estimate from a number, an object with ``central/low/high``, or their dict form."""
        if isinstance(value, Estimate):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value, where=name)
        if all(hasattr(value, a) for a in ("central", "low", "high")):
            return cls(value.central, value.low, value.high)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RecordError(f"{name}: expected a number, found {shown(value)} ({type(value).__name__})")
        try:
            return cls.exact(float(value))
        except OverflowError:  # an int beyond a float's range (10**400)
            raise RecordError(f"{name} {shown(value)}: expected a finite number") from None

    def replace(self, **changes: Any) -> Estimate:
        """A copy with some of ``central, low, high, coverage, distribution, basis`` changed."""
        fields_ = {k: getattr(self, k) for k in ("central", "low", "high", "coverage", "distribution", "basis")}
        fields_.update(changes)
        return Estimate(
            fields_["central"],
            fields_["low"],
            fields_["high"],
            coverage=fields_["coverage"],
            distribution=fields_["distribution"],
            basis=fields_["basis"],
        )

    # ---- reading -----------------------------------------------------------------------
    @property
    def central(self) -> float:
        return float(self)

    @property
    def is_exact(self) -> bool:
        return self.low == self.high

    @property
    def rel_halfwidth(self) -> float:
        """Half the relative width of the interval (0.05 means about +/-5 %)."""
        if self.central == 0:
            return 0.0 if self.high == self.low else math.inf
        return (self.high - self.low) / (2.0 * abs(self.central))

    def scaled(self, factor: float) -> Estimate:
        """The estimate times a constant (a unit change, a share): bounds, coverage and shape kept."""
        return self.replace(central=self.central * factor, low=self.low * factor, high=self.high * factor)

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def describe(self) -> str:
        """``"[low, high] 95 % coverage, lognormal"``-style summary of what the interval claims."""
        if self.is_exact:
            return "exact"
        cov = "coverage not stated" if self.coverage is None else f"{self.coverage:.0%} coverage"
        return f"[{self.low:.6g}, {self.high:.6g}] {cov}, {self.distribution}"

    # ---- plain data --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """``{central, low, high, coverage, distribution, basis}`` (schema 2; ``basis`` only if set)."""
        out: dict[str, Any] = {
            "central": self.central,
            "low": self.low,
            "high": self.high,
            "coverage": self.coverage,
            "distribution": self.distribution,
        }
        if self.basis:
            out["basis"] = self.basis
        return out

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "estimate") -> Estimate:
        """Read :meth:`to_dict`'s form, or schema 1's ``{central, low, high}`` (coverage not stated)."""
        if not isinstance(data, dict) or "central" not in data:
            raise RecordError(f"{where}: expected {{'central', 'low', 'high'}}, found {data!r}")
        parts = [data["central"], data.get("low", data["central"]), data.get("high", data["central"])]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in parts):
            raise RecordError(f"{where}: central, low and high must be numbers, found {parts!r}")
        central, low, high = (float(v) for v in parts)
        if not low <= central <= high:
            raise RecordError(f"{where}: expected low <= central <= high, found {low!r}, {central!r}, {high!r}")
        distribution = data.get("distribution")
        if "coverage" in data:
            coverage = data["coverage"]
            if coverage is not None and (isinstance(coverage, bool) or not isinstance(coverage, (int, float))):
                raise RecordError(f"{where}.coverage: expected a probability or null, found {coverage!r}")
        else:  # schema 1: bounds without a stated coverage
            coverage = 1.0 if low == high else None
            distribution = distribution or ("exact" if low == high else "uniform")
        basis = data.get("basis", "")
        if not isinstance(basis, str):
            raise RecordError(f"{where}.basis: expected text, found {basis!r}")
        return cls(central, low, high, coverage=coverage, distribution=distribution, basis=basis)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_estimate, (self.to_dict(),))

    def __repr__(self) -> str:
        if self.is_exact:
            return f"Estimate({self.central!r})"
        cov = "None" if self.coverage is None else f"{self.coverage:g}"
        return (
            f"Estimate({self.central!r}, low={self.low!r}, high={self.high!r}, "
            f"coverage={cov}, distribution={self.distribution!r})"
        )

    def __add__(self, other: Any) -> Any:
        """Estimate + Estimate: the sum of two *independent* figures (:func:`sum_estimates`);
        with a plain number, the plain sum of the central value."""
        if isinstance(other, Estimate):
            return sum_estimates([self, other])
        return float.__add__(self, other)

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, Estimate):
            return sum_estimates([other, self])
        return float.__radd__(self, other)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Estimate):
            return (self.central, self.low, self.high) == (other.central, other.low, other.high)
        return float.__eq__(self, other)

    __hash__ = float.__hash__


def _rebuild_estimate(data: dict[str, Any]) -> Estimate:
    return Estimate.from_dict(data)


def sum_estimates(items: list[Estimate]) -> Estimate:
    """Sum of independent estimates (different sensors): :func:`sum_independent`."""
    return sum_independent(items)


def sum_independent(items: Iterable[Estimate], *, coverage: float = DEFAULT_COVERAGE, basis: str = "") -> Estimate:
    """The sum of independent estimates (different sensors, different devices).

    Exact rule where one holds: with at most one uncertain term, the sum's interval is that
    term's, shifted by the others. Otherwise a numerical convolution of the terms' declared
    distributions on quantile grids (:mod:`ecometer.record.distributions`: deterministic, no
    draws, no numpy).
    """
    terms = [t if isinstance(t, Estimate) else Estimate.exact(float(t)) for t in items]
    uncertain = [t for t in terms if not t.is_exact]
    total = math.fsum(t.central for t in terms)
    if not uncertain:
        return Estimate.exact(total, basis=basis)
    if len(uncertain) == 1:
        shift = total - uncertain[0].central
        return uncertain[0].replace(
            central=total, low=uncertain[0].low + shift, high=uncertain[0].high + shift, basis=basis
        )
    key = tuple((t.central, t.low, t.high, t.coverage, t.distribution) for t in uncertain)
    return _sum_on_grid(key, total, coverage, basis or f"independent terms, {distributions.METHOD}")


@functools.lru_cache(maxsize=256)
def _sum_on_grid(
    terms: tuple[tuple[float, float, float, float | None, str], ...], total: float, coverage: float, basis: str
) -> Estimate:
    """The convolution of :func:`sum_independent`, kept for the same terms (a record's total is
    read by the footprint, the standards and the report: it is computed once, not each time)."""
    uncertain = [Estimate(c, lo, hi, coverage=cov, distribution=dist) for c, lo, hi, cov, dist in terms]
    summed = distributions.sum_grid(uncertain).shifted(total - math.fsum(t.central for t in uncertain))
    return Estimate.from_grid(summed, total, coverage=coverage, basis=basis)
