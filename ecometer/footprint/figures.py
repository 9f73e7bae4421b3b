"""Figures with bounds, and the assumption entries that produced them.

A :class:`Figure` is a ``float`` (its central value) that also carries ``low`` and ``high``.
Arithmetic on it gives plain floats, so ``fp.water.total_l * 1000`` is the central value in
millilitres; use :meth:`Figure.scaled` to keep the bounds. On disk a figure is the
:class:`ecometer.record.Estimate` dictionary form ``{"central", "low", "high"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ecometer.errors import InputError


class Figure(float):
    """A float (the central value) with ``.low`` and ``.high`` bounds in the same unit."""

    __slots__ = ("low", "high")
    low: float
    high: float

    def __new__(cls, central: float, low: float | None = None, high: float | None = None) -> Figure:
        obj = super().__new__(cls, central)
        c = float(central)
        lo = c if low is None else float(low)
        hi = c if high is None else float(high)
        if not (lo <= c <= hi) and not any(math.isnan(v) for v in (lo, c, hi)):
            lo, hi = min(lo, c, hi), max(lo, c, hi)
        obj.low = lo
        obj.high = hi
        return obj

    @property
    def central(self) -> float:
        return float(self)

    def scaled(self, factor: float) -> Figure:
        """The figure times a non-negative constant, bounds included."""
        return Figure(self.central * factor, self.low * factor, self.high * factor)

    @property
    def rel_halfwidth(self) -> float:
        """Half the relative width of the interval (0.05 means about +/-5 %)."""
        if self.central == 0:
            return 0.0 if self.high == self.low else math.inf
        return (self.high - self.low) / (2.0 * abs(self.central))

    def to_dict(self) -> dict[str, float]:
        return {"central": self.central, "low": self.low, "high": self.high}

    @classmethod
    def from_dict(cls, data: Any) -> Figure:
        if not isinstance(data, dict) or "central" not in data:
            raise InputError(f"figure: expected {{'central', 'low', 'high'}}, found {data!r}")
        parts = [data["central"], data.get("low", data["central"]), data.get("high", data["central"])]
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in parts):
            raise InputError(f"figure {data!r}: central, low and high must be numbers")
        central, low, high = (float(v) for v in parts)
        if not low <= central <= high:
            raise InputError(f"figure {data!r}: expected low <= central <= high")
        return cls(central, low, high)

    @classmethod
    def coerce(cls, value: Any, *, name: str) -> Figure:
        """A Figure from a number, a Figure/Estimate, or a ``{central, low, high}`` dict."""
        if isinstance(value, Figure):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        if all(hasattr(value, a) for a in ("central", "low", "high")):
            return cls(value.central, value.low, value.high)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InputError(f"{name}: expected a number, found {value!r} ({type(value).__name__})")
        return cls(float(value))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Figure, (self.central, self.low, self.high))

    def __repr__(self) -> str:
        if self.low == self.high == self.central:
            return f"Figure({self.central!r})"
        return f"Figure({self.central!r}, low={self.low!r}, high={self.high!r})"


@dataclass
class Assumption:
    """One input used to produce a footprint.

    ``source`` is a citation, ``"user"`` (given by the caller) or ``"default"`` (chosen by
    ecometer when nothing was given). ``value`` is any JSON-able value; ``low``/``high``
    bound numeric values where a range exists. ``coverage`` is the probability that range
    claims to cover (``None``: a method range or a stated bound, no probability claimed) and
    ``basis`` says what the range was obtained from. ``distribution`` names how the
    uncertainty is distributed for propagation, in the vocabulary of
    ``ecometer.record.DISTRIBUTIONS`` where it is stated (``lognormal``: a central value with a
    coverage interval; ``uniform`` / ``triangular``: ``low``..``high`` is the stated span).
    """

    name: str
    value: Any
    unit: str
    source: str
    low: float | None = None
    high: float | None = None
    note: str = ""
    coverage: float | None = None
    basis: str = ""
    distribution: str = ""

    @property
    def text(self) -> str:
        """One readable line: ``name = value unit [low .. high] (source)``, then the note."""
        if self.value is None:
            head = f"{self.name}: not computed"
        else:
            value = f"{self.value:.6g}" if isinstance(self.value, float) else str(self.value)
            rng = (
                f" [{self.low:.6g} .. {self.high:.6g}]"
                if self.low is not None and self.high is not None and self.low != self.high
                else ""
            )
            head = f"{self.name} = {value}{' ' + self.unit if self.unit else ''}{rng}"
        return f"{head} ({self.source})" + (f"; {self.note}" if self.note else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain fields plus ``text``, a readable line derived from them (ignored on load)."""
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "low": self.low,
            "high": self.high,
            "note": self.note,
            "coverage": self.coverage,
            "basis": self.basis,
            "distribution": self.distribution,
            "text": self.text,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Assumption:
        return cls(
            name=data["name"],
            value=data["value"],
            unit=data.get("unit", ""),
            source=data.get("source", ""),
            low=data.get("low"),
            high=data.get("high"),
            note=data.get("note", ""),
            coverage=data.get("coverage"),
            basis=data.get("basis", ""),
            distribution=data.get("distribution", ""),
        )


@dataclass
class Interval:
    """Internal (low, central, high) arithmetic for non-negative quantities."""

    low: float
    central: float
    high: float
    _tag: str = field(default="", repr=False)

    @classmethod
    def of(cls, value: Any) -> Interval:
        if isinstance(value, Interval):
            return value
        if isinstance(value, Figure):
            return cls(value.low, value.central, value.high)
        v = float(value)
        return cls(v, v, v)

    def __mul__(self, other: Any) -> Interval:
        o = Interval.of(other)
        return Interval(self.low * o.low, self.central * o.central, self.high * o.high)

    __rmul__ = __mul__

    def __add__(self, other: Any) -> Interval:
        o = Interval.of(other)
        return Interval(self.low + o.low, self.central + o.central, self.high + o.high)

    __radd__ = __add__

    def figure(self) -> Figure:
        return Figure(self.central, self.low, self.high)
