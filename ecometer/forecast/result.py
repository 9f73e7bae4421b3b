"""What a forecast says: the figures at the end of the job, what they rest on, what they assume.

Units: J, s, L, g CO2e. Every figure is a :class:`~ecometer.record.estimate.Estimate` whose interval
claims ``coverage`` (0.9: the value the record will read at the job's end lies inside in 9 of
10 jobs like this one); what was measured so far counts as read, so no bound is below it. The
measurement's own bounds apply on top, as to any record: ``energy_bounds_j`` and the projected
``record`` state them.
A forecast that is not ``ready`` has no figures, only a ``reason`` saying what is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ecometer.record import units as U
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord, to_plain

KIND = "ecometer.forecast"


def _est(e: Estimate | None) -> dict[str, Any] | None:
    return None if e is None else e.to_dict()


@dataclass
class Forecast:
    """A job's figures at its end, projected from a record of its first part.

    ``target`` is what the job will do (``{"total_work": N, "unit": u}`` or ``{"total_s": T}``);
    ``basis`` how much of the job the forecast rests on (fraction observed, the window the
    rate was taken from, warm-up left out, changes and trend found); ``assumptions`` what it
    assumed, in sentences. ``record`` is the projected record (footprint and assessment
    attached when a site and a standard were given).
    """

    ready: bool
    coverage: float
    target: dict[str, Any]
    reason: str = ""
    basis: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    energy_j: Estimate | None = None
    components: dict[str, Estimate] = field(default_factory=dict)
    duration_s: Estimate | None = None
    #: the end-of-job IT energy with the measurement's own bounds on top (as the final record will state them)
    energy_bounds_j: Estimate | None = None
    facility_energy_j: Estimate | None = None
    water_onsite_l: Estimate | None = None
    water_offsite_l: Estimate | None = None
    carbon_g: Estimate | None = None
    grade: str | None = None
    grade_spans: list[str] = field(default_factory=list)
    grade_stable: bool | None = None
    grade_probabilities: dict[str, float] = field(default_factory=dict)
    standard: str | None = None
    not_rated: list[str] = field(default_factory=list)
    record: RunRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data (the projected record left out; non-finite numbers become None)."""
        return to_plain(
            {
                "kind": KIND,
                "ready": self.ready,
                "reason": self.reason,
                "coverage": self.coverage,
                "target": dict(self.target),
                "basis": dict(self.basis),
                "assumptions": list(self.assumptions),
                "energy_j": _est(self.energy_j),
                "components": {k: _est(v) for k, v in self.components.items()},
                "duration_s": _est(self.duration_s),
                "energy_bounds_j": _est(self.energy_bounds_j),
                "facility_energy_j": _est(self.facility_energy_j),
                "water_onsite_l": _est(self.water_onsite_l),
                "water_offsite_l": _est(self.water_offsite_l),
                "carbon_g": _est(self.carbon_g),
                "grade": self.grade,
                "grade_spans": list(self.grade_spans),
                "grade_stable": self.grade_stable,
                "grade_probabilities": dict(self.grade_probabilities),
                "standard": self.standard,
                "not_rated": list(self.not_rated),
            }
        )

    def line(self) -> str:
        """One readable line: the end-of-job energy (and water, carbon, grade) and its basis."""
        target = _target_text(self.target)
        if not self.ready:
            return f"forecast for {target}: not ready: {self.reason}"
        pct = f"{self.coverage:.0%}"
        parts = [f"energy {_range('energy', self.energy_j)}"]
        if self.duration_s is not None and self.duration_s.high > self.duration_s.low:
            parts.append(f"time {_range('time', self.duration_s)}")
        if self.facility_energy_j is not None:
            parts.append(f"facility {_range('energy', self.facility_energy_j)}")
        if self.water_onsite_l is not None and self.water_offsite_l is not None:
            parts.append(
                f"water on-site {_range('water', self.water_onsite_l)}, off-site {_range('water', self.water_offsite_l)}"
            )
        if self.carbon_g is not None:
            parts.append(f"carbon {_range('carbon', self.carbon_g)}")
        if self.standard is not None:
            if self.grade is None:
                parts.append(f"{self.standard}: not rated")
            else:
                spans = "" if len(self.grade_spans) <= 1 else f" (could be {'-'.join(self.grade_spans)})"
                parts.append(f"{self.standard} grade {self.grade}{spans}")
        b = self.basis
        rests = f"rests on {b.get('observed_fraction', 0.0):.1%} of the job"
        if b.get("warmup_excluded") and b.get("warmup_how") in ("given", "detected"):
            rests += f", {b['warmup_how']} warm-up left out"
        if b.get("changes"):
            rests += f", {len(b['changes'])} change(s) of level found"
        if b.get("model") == "trend":
            rests += ", trend extrapolated"
        return f"forecast for {target} ({pct} intervals): " + "; ".join(parts) + f" [{rests}]"

    def __str__(self) -> str:
        return self.line()


def _range(kind: str, e: Estimate | None) -> str:
    return "n/a" if e is None else U.fmt_range(kind, e.central, e.low, e.high)


def _target_text(target: dict[str, Any]) -> str:
    if "total_work" in target:
        return f"{U.count(target['total_work'])} {target.get('unit') or 'units'}"
    return U.fmt("time", target.get("total_s"))
