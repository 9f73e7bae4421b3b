"""A standard in memory: plain dataclasses mirroring the TOML file one to one.

Build one with :func:`ecometer.standards.load_standard` (which validates everything) rather
than by hand. :meth:`Standard.to_dict` gives back the TOML-shaped dictionary that
:func:`ecometer.standards.writer.to_toml` writes and the loader accepts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any

from ecometer.record.model import RunRecord
from ecometer.standards.metrics import RUN, Measure

COMBINE = ("worst", "weighted")
DIRECTIONS = ("lower", "higher")
BANDS = ("equal-width", "quantile", "geometric", "manual")
STATUSES = ("draft", "published", "withdrawn")
#: the probability the most likely grade needs for a grade to be called stable (``confidence``)
DEFAULT_CONFIDENCE = 0.9
#: work units a metric may be normalised by (``per``) without declaring them in
#: ``standard.work_units``; a misspelt unit is an error at ``standard check``
KNOWN_WORK_UNITS = (
    "token",
    "query",
    "request",
    "prompt",
    "sample",
    "image",
    "frame",
    "step",
    "batch",
    "epoch",
    "flop",
)


@dataclass
class Metric:
    """One graded metric. ``thresholds`` are the band edges in ``unit``, best grade first:
    ``len(grades) - 1`` values, increasing when lower is better, decreasing when higher is."""

    name: str
    quantity: str
    unit: str
    direction: str
    per: str = RUN
    scale: float = 1.0
    work: str | None = None
    thresholds: list[float] | None = None
    weight: float | None = None
    required: bool = False
    description: str = ""
    #: the operating point the metric is graded at: ``record.meta`` match rules (as a class's)
    reference: dict[str, Any] = field(default_factory=dict)
    #: normalisation by hardware: ``{"field": "gpu_model", "factors": {"H100": 1.0, ...}}``;
    #: the value is divided by the factor of the record's ``meta[field]``
    normalise: dict[str, Any] | None = None

    @property
    def measure(self) -> Measure:
        return Measure(self.quantity, self.per, self.scale, self.unit, self.work)


@dataclass
class StdClass:
    """A class of records with its own thresholds.

    ``match`` maps a ``record.meta`` field to a value, a list of values, or a range
    ``{"min": a, "max": b}`` (``a <= value < b``; either end may be left out). The class with
    ``default = True`` takes records that match no other; ``rated = False`` means records
    of this class are not rated.
    """

    name: str
    match: dict[str, Any] = field(default_factory=dict)
    default: bool = False
    rated: bool = True
    thresholds: dict[str, list[float]] = field(default_factory=dict)
    description: str = ""


@dataclass
class Quality:
    """Requirements on measurement quality; a record that misses one is not rated."""

    min_duration_s: float | None = None
    min_repetitions: int | None = None
    require_counter_gpu: bool = False
    max_relative_uncertainty: float | None = None
    #: accept figures reported by a publisher (method ``reported``); their measurement quality
    #: (duration, repetitions, counter) is the publisher's protocol and is not checked here
    accept_reported: bool = False
    #: relative half-width assumed for a reported mean that states no spread (0.05 = +/-5 %)
    reported_spread: float | None = None


@dataclass
class Limit:
    """A hard limit: a run whose value is above ``max`` or below ``min`` fails outright.

    The value is a measure (``quantity``), or a number in ``record.meta[field]`` (``unit`` is
    then only a label, e.g. ``"ms"`` for ``p90_itl_ms``). When the value cannot be computed for
    a record, a ``required`` limit makes the record not rated; otherwise the limit is reported
    as not checked.
    """

    name: str
    quantity: str | None
    unit: str
    per: str = RUN
    scale: float = 1.0
    work: str | None = None
    max: float | None = None
    min: float | None = None
    required: bool = False
    description: str = ""
    field: str | None = None

    @property
    def measure(self) -> Measure:
        return Measure(self.quantity or "", self.per, self.scale, self.unit, self.work)

    @property
    def rule(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        label = self.unit if self.field is not None else self.measure.label
        return f"{self.name} {' and '.join(parts)} {label}".rstrip()


@dataclass
class Standard:
    """An efficiency standard: metrics, grades, classes, quality requirements, hard limits."""

    name: str
    title: str
    version: str
    grades: list[str]
    metrics: dict[str, Metric]
    description: str = ""
    combine: str = "worst"
    bands: str | None = None
    sources: list[str] = field(default_factory=list)
    classes: dict[str, StdClass] = field(default_factory=dict)
    quality: Quality = field(default_factory=Quality)
    limits: list[Limit] = field(default_factory=list)
    calibration: dict[str, Any] | None = None
    effective: str | None = None
    status: str | None = None
    supersedes: str | None = None
    licence: str | None = None
    changelog: list[dict[str, str]] = field(default_factory=list)
    #: work units beyond the known ones (``per`` must be one of either)
    work_units: list[str] = field(default_factory=list)
    #: the probability a grade needs to be stable (most likely grade's probability >= this)
    confidence: float = DEFAULT_CONFIDENCE
    #: what the standard covers: ``record.meta`` match rules (as a class's); a record whose meta
    #: has such a field with another value is out of scope ("does not apply"); one without it is taken
    applies_to: dict[str, Any] = field(default_factory=dict)
    #: a site preset its footprint metrics (water ...) can be graded at instead of the run's own
    #: site, to compare hardware independently of where it runs (``score --reference-site``)
    reference_site: str | None = None
    #: where it was read from (a path or ``builtin:NAME``); not part of the standard itself
    source: str = field(default="<memory>", compare=False)
    #: the file's leading comment block (its rationale), kept when it is recalibrated
    comments: str = field(default="", compare=False)

    # ---- lookups -------------------------------------------------------------------------
    def thresholds_for(self, metric: str, class_name: str | None = None) -> list[float] | None:
        """Band edges of ``metric`` for records of ``class_name`` (the class's own, else the metric's)."""
        if class_name is not None and class_name in self.classes:
            own = self.classes[class_name].thresholds.get(metric)
            if own is not None:
                return own
        return self.metrics[metric].thresholds

    def classify(self, record: RunRecord) -> tuple[StdClass | None, str | None]:
        """The class ``record`` falls in, or ``(None, reason)`` when it falls in none.

        Returns ``(None, None)`` for a standard without classes.
        """
        if not self.classes:
            return None, None
        meta = record.meta or {}
        hits = [c for c in self.classes.values() if not c.default and match_class(c, meta)]
        if len(hits) == 1:
            return hits[0], None
        if len(hits) > 1:  # the loader rejects overlapping classes; a list-valued field could still do it
            names = ", ".join(c.name for c in hits)
            return None, f"record matches several classes ({names}) of {self.name}"
        default = next((c for c in self.classes.values() if c.default), None)
        if default is not None:
            return default, None
        fields_used = sorted({f for c in self.classes.values() for f in c.match})
        shown = ", ".join(f"{f}={meta[f]!r}" if f in meta else f"{f} missing" for f in fields_used)
        return None, f"record matches no class of {self.name} (record.meta: {shown})"

    def out_of_scope(self, record: RunRecord) -> str | None:
        """Why ``record`` is outside what this standard covers (``applies_to``), or None."""
        meta = record.meta or {}
        for f, rule in self.applies_to.items():
            if f in meta and not match_value(rule, meta[f]):
                covered = rule if isinstance(rule, list) else [rule]
                return f"{self.name} covers {f} {covered}; record.meta[{f!r}] is {meta[f]!r}"
        return None

    def replace(self, **changes: Any) -> Standard:
        return replace(self, **changes)

    # ---- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped dictionary of this standard (defaults left out)."""
        head: dict[str, Any] = {"name": self.name, "title": self.title, "version": self.version}
        if self.description:
            head["description"] = self.description
        head["grades"] = list(self.grades)
        head["combine"] = self.combine
        if self.bands is not None:
            head["bands"] = self.bands
        if self.sources:
            head["sources"] = list(self.sources)
        for key in ("effective", "status", "supersedes", "licence", "reference_site"):
            if getattr(self, key) is not None:
                head[key] = getattr(self, key)
        if self.work_units:
            head["work_units"] = list(self.work_units)
        if self.confidence != DEFAULT_CONFIDENCE:
            head["confidence"] = self.confidence
        if self.applies_to:
            head["applies_to"] = _plain_rules(self.applies_to)
        out: dict[str, Any] = {"standard": head}
        q = {k: v for k, v in vars(self.quality).items() if v is not None and v is not False}
        if q:
            out["quality"] = q
        out["metrics"] = {name: _metric_dict(m) for name, m in self.metrics.items()}
        if self.classes:
            out["classes"] = {name: _class_dict(c) for name, c in self.classes.items()}
        if self.limits:
            out["limits"] = [_limit_dict(lim) for lim in self.limits]
        if self.calibration:
            out["calibration"] = copy.deepcopy(self.calibration)
        if self.changelog:
            out["changelog"] = [dict(c) for c in self.changelog]
        return out

    def to_toml(self) -> str:
        from ecometer.standards.writer import to_toml

        return to_toml(self.to_dict(), header=self.comments or None)



def _measure_fields(obj: Metric | Limit, out: dict[str, Any]) -> None:
    out["quantity"] = obj.quantity or ""
    if obj.per != RUN:
        out["per"] = obj.per
    if obj.scale != 1:
        out["scale"] = obj.scale
    if obj.work is not None:
        out["work"] = obj.work
    out["unit"] = obj.unit


def _metric_dict(m: Metric) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if m.description:
        out["description"] = m.description
    _measure_fields(m, out)
    out["direction"] = m.direction
    if m.weight is not None:
        out["weight"] = m.weight
    if m.required:
        out["required"] = True
    if m.reference:
        out["reference"] = _plain_rules(m.reference)
    if m.normalise is not None:
        out["normalise"] = copy.deepcopy(m.normalise)
    if m.thresholds is not None:
        out["thresholds"] = list(m.thresholds)
    return out


def _plain_rules(rules: dict[str, Any]) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v) for k, v in rules.items()}


def _class_dict(c: StdClass) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if c.description:
        out["description"] = c.description
    if c.default:
        out["default"] = True
    if not c.rated:
        out["rated"] = False
    if c.match:
        out["match"] = _plain_rules(c.match)
    if c.thresholds:
        out["thresholds"] = {k: list(v) for k, v in c.thresholds.items()}
    return out


def _limit_dict(lim: Limit) -> dict[str, Any]:
    out: dict[str, Any] = {"name": lim.name}
    if lim.description:
        out["description"] = lim.description
    if lim.field is not None:
        out["field"] = lim.field
        out["unit"] = lim.unit
    else:
        _measure_fields(lim, out)
    if lim.min is not None:
        out["min"] = lim.min
    if lim.max is not None:
        out["max"] = lim.max
    if lim.required:
        out["required"] = True
    return out


def match_value(rule: Any, value: Any) -> bool:
    """Whether a ``record.meta`` value satisfies one match rule."""
    if isinstance(rule, dict):
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        lo = rule.get("min")
        hi = rule.get("max")
        return (lo is None or value >= lo) and (hi is None or value < hi)
    if isinstance(rule, list):
        return any(match_value(r, value) for r in rule)
    if isinstance(rule, bool) or isinstance(value, bool):
        return rule is value
    return rule == value


def match_class(c: StdClass, meta: dict[str, Any]) -> bool:
    return all(f in meta and match_value(rule, meta[f]) for f, rule in c.match.items())
