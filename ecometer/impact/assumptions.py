"""The assumption entries of a footprint: every input used, where it came from, how uncertain.

A numeric entry holds an :class:`ecometer.record.estimate.Estimate`'s parts (``value`` the central,
``low``, ``high``, ``coverage``, ``distribution``, ``basis``); :attr:`Assumption.estimate`
gives them back as one Estimate and :meth:`Assumption.of` builds an entry from one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecometer.record.estimate import Estimate


@dataclass
class Assumption:
    """One input used to produce a footprint.

    ``source`` is a citation, ``"user"`` (given by the caller) or ``"default"`` (chosen by
    ecometer when nothing was given). ``value`` is any JSON-able value; for a number,
    ``low``/``high`` bound it, ``coverage`` is the probability that range claims (``None``: a
    method range, no probability claimed; ``1.0``: a stated bound), ``distribution`` how the
    uncertainty is distributed for propagation (``ecometer.record.estimate.DISTRIBUTIONS``: ``exact``,
    ``uniform`` / ``triangular`` a stated span, ``normal`` / ``lognormal`` a central value with
    a coverage interval) and ``basis`` what the range was obtained from.
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

    @classmethod
    def of(cls, name: str, est: Estimate, unit: str, source: str, note: str = "") -> Assumption:
        """The entry for a number with bounds: ``est``'s central, bounds, coverage, shape and basis."""
        return cls(
            name,
            est.central,
            unit,
            source,
            low=est.low,
            high=est.high,
            note=note,
            coverage=est.coverage,
            basis=est.basis,
            distribution=est.distribution,
        )

    @property
    def estimate(self) -> Estimate | None:
        """The entry's value as an Estimate (``None`` where the value is not a number)."""
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)):
            return None
        low = self.value if self.low is None else self.low
        high = self.value if self.high is None else self.high
        if self.distribution:
            return Estimate(
                self.value, low, high, coverage=self.coverage, distribution=self.distribution, basis=self.basis
            )
        return Estimate(self.value, low, high, coverage=self.coverage, basis=self.basis)  # schema 1: shape not stated

    @property
    def text(self) -> str:
        """One readable line: ``name = value unit [low .. high, shape coverage] (source)``, then the note."""
        if self.value is None:
            head = f"{self.name}: not computed"
        else:
            value = f"{self.value:.6g}" if isinstance(self.value, float) else str(self.value)
            rng = ""
            if self.low is not None and self.high is not None and self.low != self.high:
                claim = "" if self.coverage is None else f" {self.coverage:.0%}"
                shape = f", {self.distribution}{claim}" if self.distribution else ""
                rng = f" [{self.low:.6g} .. {self.high:.6g}{shape}]"
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
