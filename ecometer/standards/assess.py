"""Scoring a run record against a standard: grades, their probabilities, margins, hard limits.

Band edges belong to the better grade: with lower-is-better thresholds ``[1, 2]`` and
grades ``A, B, C``, a value of exactly 1 is an A and 1.0001 is a B.

``grade`` is the grade of the central value. Grade probabilities are joint over the record's
metrics and hard limits: computed without draws (and without numpy) where every uncertain one
is one uncertain energy times exact numbers and a site factor (:mod:`ecometer.standards.gradegrid`),
else read from joint Monte Carlo draws of the record's inputs (:mod:`ecometer.standards.draws`,
one propagation per record). Each metric gets the probability of each of its grades, the
overall grade is combined jointly, and a grade is *stable* when its probability is at least
the standard's ``confidence`` (default 0.9). Hard limits get the probability of passing.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from ecometer.checks.text import display_text
from ecometer.errors import StandardError
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord
from ecometer.record.quantities import QUANTITIES as QUANTITY_REGISTRY
from ecometer.record.quantities import footprint_data
from ecometer.record.uncertainty import band_indices, grade_odds, most_likely, percent
from ecometer.standards.draws import RecordDraws
from ecometer.standards.gradable import to_be_rated
from ecometer.standards.gradegrid import Item, Structure, classifier, factorise, joint
from ecometer.standards.metrics import NotApplicable, cannot_be_negative, measure
from ecometer.standards.reported import is_reported, reported_publisher
from ecometer.standards.schema import Metric, Standard, match_value
from ecometer.work.estimates import describe as describe_work

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

#: the grade index of a metric whose value is uncertain, before :func:`_probabilities`
UNCERTAIN = "uncertain"
#: how close to .5 a weighted mean of grade indices counts as a tie (rounded toward the worse grade)
_TIE = 1e-9


def grade_index(value: float, thresholds: list[float], direction: str) -> int:
    """0 for the best grade; ``len(thresholds)`` for the worst. Edges belong to the better grade."""
    if math.isnan(value):
        raise ValueError("cannot grade NaN")
    if direction == "lower":
        return bisect.bisect_left(thresholds, value)
    return bisect.bisect_left([-t for t in thresholds], -value)


def margin_to_worse(value: float, thresholds: list[float], direction: str, index: int) -> float | None:
    """Percent by which ``value`` may rise (lower) or fall (higher) before it drops to grade ``index + 1``."""
    if index >= len(thresholds) or value == 0 or not math.isfinite(value):
        return None
    edge = thresholds[index]
    return (edge - value) / value * 100.0 if direction == "lower" else (value - edge) / value * 100.0


def improvement_needed(value: float, thresholds: list[float], direction: str, index: int) -> float | None:
    """Percent by which ``value`` must fall (lower) or rise (higher) to reach grade ``index - 1``."""
    if index == 0 or value == 0 or not math.isfinite(value):
        return None
    target = thresholds[index - 1]
    if direction == "lower":
        return (value - target) / value * 100.0
    return (target - value) / value * 100.0


@dataclass
class MetricResult:
    """One metric of one record: value in the standard's unit, grade, margin, stability."""

    name: str
    quantity: str
    unit: str
    label: str
    direction: str
    applies: bool
    reason: str | None = None
    value: float | None = None
    low: float | None = None
    high: float | None = None
    grade: str | None = None
    next_grade: str | None = None
    improvement_pct: float | None = None
    #: whether the most likely grade's probability is at least ``confidence``
    stable: bool | None = None
    #: the grades the interval [low, high] touches
    spans: list[str] = field(default_factory=list)
    #: grade -> probability from the record's joint draws (grades with none left out)
    probabilities: dict[str, float] = field(default_factory=dict)
    most_likely: str | None = None
    #: the standard's confidence: the probability a grade needs to be stable
    confidence: float | None = None
    thresholds: list[float] | None = None
    weight: float | None = None
    #: percent the value may worsen before it drops a grade (None for the worst grade)
    margin_pct: float | None = None
    worse_grade: str | None = None
    #: relative half-width assumed for a reported mean that states none (quality.reported_spread)
    assumed_spread: float | None = None
    #: the hardware normalisation applied: the meta value and its factor
    normalised_by: str | None = None
    #: what the probabilities assume beyond the record's own estimates
    notes: list[str] = field(default_factory=list)


@dataclass
class LimitResult:
    """One hard limit of one record: ``status`` is ``pass``, ``fail`` or ``unknown``."""

    name: str
    rule: str
    status: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    min: float | None = None
    max: float | None = None
    required: bool = False
    within_uncertainty: bool = False
    #: probability of passing, from the record's joint draws
    pass_probability: float | None = None
    reason: str | None = None


@dataclass
class Assessment:
    """The result of scoring one record against one standard.

    ``grade`` is the overall grade (``None`` when not rated; ``not_rated`` says why);
    ``passed`` is ``False`` when a hard limit failed. ``probabilities`` gives the
    probability of each overall grade (combined draw by draw), ``most_likely`` the likeliest,
    and ``stable`` whether its probability is at least ``confidence``; ``spans`` lists the
    grades the metrics' intervals reach.
    """

    standard: str
    version: str
    title: str
    record: str
    grades: list[str]
    combine: str
    grade: str | None = None
    rated: bool = True
    #: False when the record is outside what the standard covers (``standard.applies_to``)
    applies: bool = True
    passed: bool = True
    not_rated: list[str] = field(default_factory=list)
    class_name: str | None = None
    class_rule: str | None = None
    stable: bool | None = None
    spans: list[str] = field(default_factory=list)
    probabilities: dict[str, float] = field(default_factory=dict)
    most_likely: str | None = None
    confidence: float | None = None
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    limits: list[LimitResult] = field(default_factory=list)
    source: str = ""
    #: when not rated: the steps that would make the record gradable (only what is missing)
    to_be_rated: list[str] = field(default_factory=list)

    # ---- serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = "ecometer.assessment"
        return _finite(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Assessment:
        if not isinstance(data, dict):
            raise TypeError(f"an assessment must be a dict, found {type(data).__name__}")
        kwargs = _known(cls, data)
        kwargs["metrics"] = {k: MetricResult(**_known(MetricResult, v)) for k, v in (data.get("metrics") or {}).items()}
        kwargs["limits"] = [LimitResult(**_known(LimitResult, v)) for v in (data.get("limits") or [])]
        return cls(**kwargs)

    # ---- text ----------------------------------------------------------------------------
    @property
    def failed_limits(self) -> list[LimitResult]:
        return [lim for lim in self.limits if lim.status == "fail"]

    def __str__(self) -> str:
        lines = [f"{self.title} ({self.standard} {self.version}): record '{display_text(self.record)}'"]
        if self.class_name:
            lines[0] += f", class {self.class_name}"
            if self.class_rule:
                lines[0] += f" ({self.class_rule})"
        if self.grade is not None:
            how = probability_text(self.probabilities, self.most_likely, self.stable, self.confidence)
            lines.append(f"  overall grade: {self.grade} ({self.combine}; {how})")
        elif not self.applies:
            lines.append("  does not apply: " + "; ".join(self.not_rated))
        else:
            lines.append("  not rated: " + "; ".join(self.not_rated))
            lines += [f"  to be rated: {step}" for step in self.to_be_rated]
        if not self.passed:
            lines.append(
                "  FAILED hard limit: "
                + "; ".join(f"{lim.rule} (value {_fmt(lim.value)})" for lim in self.failed_limits)
            )
        width = max((len(n) for n in self.metrics), default=0)
        for name, m in self.metrics.items():
            lines.extend(self._metric_lines(name, m, width))
        for lim in self.limits:
            if lim.status == "unknown":
                lines.append(f"  limit {lim.rule}: not checked ({lim.reason})")
            else:
                note = " (within uncertainty of the limit)" if lim.within_uncertainty else ""
                if lim.pass_probability is not None:
                    note += f"; P(pass) {percent(lim.pass_probability)}"
                lines.append(f"  limit {lim.rule}: {lim.status} at {_fmt(lim.value)}{note}")
        return "\n".join(lines)

    def _metric_lines(self, name: str, m: MetricResult, width: int) -> list[str]:
        """One metric: value, interval, grade, margins both ways; its bands and notes below."""
        text = f"  {name:<{width}}  {_fmt(m.value)} {m.label} [{_fmt(m.low)} .. {_fmt(m.high)}]"
        if not m.applies:
            return [f"  {name:<{width}}  does not apply: {m.reason}"]
        if m.grade is None:
            return [f"{text}  {m.reason or 'not graded'}"]
        text += f"  grade {m.grade}"
        better, worse = ("less", "more") if m.direction == "lower" else ("more", "less")
        if m.next_grade is not None and m.improvement_pct is not None:
            text += f"; {m.improvement_pct:.1f} % {better} for {m.next_grade}"
        if m.worse_grade is not None and m.margin_pct is not None:
            text += f"; {m.margin_pct:.1f} % {worse} drops to {m.worse_grade}"
        if m.probabilities:
            how = probability_text(m.probabilities, m.most_likely, m.stable, m.confidence)
            text += f"; {how}" if m.stable else f"; near a band edge: {how}"
        lines = [text]
        pad = f"  {'':<{width}}  "
        if m.thresholds:
            sign = "<=" if m.direction == "lower" else ">="
            edges = ", ".join(f"{g} {sign} {_fmt(t)}" for g, t in zip(self.grades, m.thresholds, strict=False))
            lines.append(f"{pad}bands: {edges}; else {self.grades[-1]}")
        notes = []
        if m.assumed_spread:
            notes.append(f"reported mean with an assumed spread of ±{m.assumed_spread * 100:g} %")
        if m.normalised_by:
            notes.append(f"normalised by hardware: {m.normalised_by}")
        notes.extend(m.notes)
        if notes:
            lines.append(f"{pad}({'; '.join(notes)})")
        return lines


def probability_text(
    probabilities: dict[str, float], grade: str | None, stable: bool | None, confidence: float | None
) -> str:
    """``"B 83 %, C 17 %; not stable (needs 90 %)"``: each grade's probability (in the order
    given: best grade first) and whether the likeliest reaches the standard's confidence."""
    shown = grade_odds(probabilities)
    if grade is None or confidence is None:
        return shown
    return f"{shown}; {'stable' if stable else 'not stable'} (needs {percent(confidence)})"


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    if 1e3 <= abs(x) < 1e9:
        return f"{x:,.0f}"
    if x == 0 or 1e-3 <= abs(x) < 1e3:
        return f"{x:.4g}"
    return f"{x:.3e}"


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


# ---- scoring ---------------------------------------------------------------------------------
def quality_reasons(std: Standard, record: RunRecord) -> list[str]:
    """Why ``record`` misses ``std``'s quality requirements (empty when it meets them).

    A record of reported figures (a corpus entry) is accepted only by a standard with
    ``quality.accept_reported``; its duration, repetitions and counter are the publisher's
    protocol, which the standard's sources name, and are not checked here.
    """
    q = std.quality
    if is_reported(record):
        if q.accept_reported:
            return []
        return [
            f"its figures are reported by {reported_publisher(record)}, not measured; "
            f"{std.name} does not accept reported figures (quality.accept_reported)"
        ]
    reasons: list[str] = []
    if q.min_duration_s is not None and not record.duration_s >= q.min_duration_s:
        shown = "unknown" if math.isnan(record.duration_s) else f"{record.duration_s:.3g} s"
        reasons.append(f"duration {shown} is below the required {q.min_duration_s:g} s")
    if q.min_repetitions is not None:
        reps = (record.meta or {}).get("repetitions")
        if reps is None:
            if q.min_repetitions > 1:
                reasons.append(
                    f"record.meta has no 'repetitions' (counted as 1); {q.min_repetitions} repetitions are required"
                )
        elif isinstance(reps, bool) or not isinstance(reps, (int, float)):
            reasons.append(f"record.meta['repetitions'] is {reps!r}, not a number")
        elif reps < q.min_repetitions:
            reasons.append(f"{reps:g} repetitions; {q.min_repetitions} are required")
    if q.require_counter_gpu:
        gpu = record.components.get("gpu")
        if gpu is None:
            reasons.append("GPU energy from a hardware counter is required; the record has no GPU energy")
        elif gpu.method != "counter":
            reasons.append(f"GPU energy from a hardware counter is required; the record's is {gpu.method!r}")
    if q.max_relative_uncertainty is not None and record.components:
        est = record.energy_uncertainty
        rel = est.rel_halfwidth
        if rel > q.max_relative_uncertainty:
            from ecometer.record.units import relative_text

            reasons.append(
                f"IT energy uncertainty {relative_text(est.central, est.low, est.high)} exceeds the allowed "
                f"±{q.max_relative_uncertainty * 100:g} %"
            )
    return reasons


def record_problems(record: RunRecord) -> list[str]:
    """Why ``record``'s energies cannot be graded: a component energy (or a bound of it) that
    is not a finite number, or is negative. Empty when there is nothing wrong."""
    out = []
    for name, comp in record.components.items():
        unc = comp.uncertainty
        for what, x in (("energy", comp.energy_j), ("lower bound", unc.low), ("upper bound", unc.high)):
            if not math.isfinite(x) or x < 0:
                kind = "not a finite number" if not math.isfinite(x) else "negative"
                out.append(f"component {name!r} {what} is {x:g} J, {kind}: an energy is a finite number of 0 J or more")
                break
    return out


def value_problem(est: Estimate, quantity: str) -> str | None:
    """Why a metric's value cannot be graded (not a number, infinite, negative), or ``None``."""
    if math.isnan(est.central):
        return "value is not a number"
    if not math.isfinite(est.central):
        return f"value is {est.central:g}, not a finite number"
    if cannot_be_negative(quantity) and (est.central < 0 or est.low < 0):
        return f"value {est.central:g} (low {est.low:g}) is negative; {quantity} cannot be negative"
    return None


def _grade_metric(
    std: Standard, metric: Metric, record: RunRecord, class_name: str | None
) -> tuple[MetricResult, int | str | None]:
    """One metric's result, and its grade index (an int for an exact value, :data:`UNCERTAIN`
    for one whose probabilities are still to be computed; ``None`` when it is not graded)."""
    res = MetricResult(
        name=metric.name,
        quantity=metric.quantity,
        unit=metric.unit,
        label=metric.measure.label,
        direction=metric.direction,
        applies=True,
        weight=metric.weight,
        confidence=std.confidence,
    )
    try:
        est = _metric_value(std, metric, record, res)
    except NotApplicable as exc:
        if metric.required:
            raise StandardError(
                std.source,
                f"metrics.{metric.name}",
                f"record {record.name!r} to which this required metric does not apply ({exc.reason})",
                "a record that has what the metric needs",
            ) from None
        res.applies = False
        res.reason = exc.reason
        return res, None
    res.value, res.low, res.high = est.central, est.low, est.high
    if (
        metric.quantity == "work_per_joule"
        and metric.work in record.work
        and describe_work(record, metric.work) != "counted"
    ):
        res.notes.append(f"work {metric.work!r} {describe_work(record, metric.work)}: graded with its bounds")
    thresholds = std.thresholds_for(metric.name, class_name)
    res.thresholds = list(thresholds) if thresholds is not None else None
    if thresholds is None:  # only possible in a class with rated = false
        res.reason = "no thresholds for this record's class"
        return res, None
    problem = value_problem(est, metric.quantity)
    if problem:
        res.reason = problem
        return res, None
    idx = grade_index(est.central, thresholds, metric.direction)
    res.grade = std.grades[idx]
    if idx > 0:
        res.next_grade = std.grades[idx - 1]
        res.improvement_pct = improvement_needed(est.central, thresholds, metric.direction, idx)
    if idx < len(thresholds):
        res.worse_grade = std.grades[idx + 1]
        res.margin_pct = margin_to_worse(est.central, thresholds, metric.direction, idx)
    lo_i = grade_index(est.low, thresholds, metric.direction)
    hi_i = grade_index(est.high, thresholds, metric.direction)
    a, b = sorted((lo_i, hi_i))
    res.spans = std.grades[a : b + 1]
    if est.is_exact:  # the exact rule: a value with no uncertainty has its grade for certain
        _set_probabilities(res, {res.grade: 1.0}, std.confidence)
        return res, idx
    return res, UNCERTAIN  # its probabilities: :func:`_probabilities`, jointly with the others


def _probabilities(std: Standard, record: RunRecord, out: Assessment, indices: dict[str, Any]) -> dict[str, float] | None:
    """Fill in the probabilities of the uncertain metrics and limits of ``out``, jointly, and
    return the overall grade's (``None`` when every graded value is exact): without draws where
    :mod:`ecometer.standards.gradegrid` covers the record, else from the record's joint draws."""
    pending = [n for n, i in indices.items() if i == UNCERTAIN]
    limits = [(r, lim) for r, lim in zip(out.limits, std.limits, strict=True) if r.status != "unknown" and r.pass_probability is None]
    if not pending and not limits:
        return None
    exact = _exact_probabilities(std, record, out, indices, pending, limits)
    if exact is not None:
        per_item, overall = exact
    else:
        per_item, overall = _drawn_probabilities(std, record, out, indices, pending, limits)
    for n, probs in zip(pending, per_item, strict=False):
        _set_probabilities(out.metrics[n], {std.grades[k]: p for k, p in sorted(probs.items()) if p > 0}, std.confidence)
    for (r, _), probs in zip(limits, per_item[len(pending) :], strict=True):
        r.pass_probability = min(1.0, probs.get(0, 0.0))
    if not pending:
        return None
    return {std.grades[k]: p for k, p in sorted(overall.items()) if p > 0}


def _rule(std: Standard, metric: Metric, thresholds: list[float]) -> Any:
    return classifier(lambda v: grade_index(v, thresholds, metric.direction), thresholds)


def _limit_rule(lim: Any) -> Any:
    def passes(v: float) -> int:  # 0: pass, 1: fail
        return int(not ((lim.max is None or v <= lim.max) and (lim.min is None or v >= lim.min)))

    return classifier(passes, [x for x in (lim.min, lim.max) if x is not None])


def _exact_probabilities(
    std: Standard, record: RunRecord, out: Assessment, indices: dict[str, Any], pending: list[str], limits: list[Any]
) -> tuple[list[dict[int, float]], dict[int, float]] | None:
    structure = Structure(record, reported_spread=std.quality.reported_spread)
    items = []
    for n in pending:
        metric = std.metrics[n]
        norm = metric.normalise["factors"][(record.meta or {})[metric.normalise["field"]]] if metric.normalise else 1.0
        form = factorise(structure, metric.measure, norm)
        if form is None:
            return None
        items.append(Item(form, _rule(std, metric, out.metrics[n].thresholds or [])))
    for _, lim in limits:
        form = factorise(structure, lim.measure)
        if form is None:
            return None
        items.append(Item(form, _limit_rule(lim)))
    names = list(indices)
    weights = [std.metrics[n].weight if std.metrics[n].weight is not None else 1.0 for n in names]
    where = {n: pending.index(n) for n in pending}

    def combine(classes: list[int]) -> int:
        return combined_index(std, [classes[where[n]] if n in where else indices[n] for n in names], weights)

    return joint(structure, items, combine if pending else None)


def _drawn_probabilities(
    std: Standard, record: RunRecord, out: Assessment, indices: dict[str, Any], pending: list[str], limits: list[Any]
) -> tuple[list[dict[int, float]], dict[int, float]]:
    """As :func:`_exact_probabilities`, from the record's joint Monte Carlo draws (numpy)."""
    import numpy as np

    draws = RecordDraws(record, reported_spread=std.quality.reported_spread)
    per_item: list[dict[int, float]] = []
    rows = dict(indices)
    for n in pending:
        metric = std.metrics[n]
        x = _metric_draws(metric, record, draws, out.metrics[n])
        rows[n] = band_indices(x, out.metrics[n].thresholds or [], metric.direction)
        per_item.append(_shares(rows[n]))
    for _, lim in limits:
        x = draws.measure(lim.measure)
        ok = (x <= lim.max) if lim.max is not None else x == x
        if lim.min is not None:
            ok = ok & (x >= lim.min)
        per_item.append({0: float(ok.mean())})
    if not pending:
        return per_item, {}
    names = list(indices)
    weights = [std.metrics[n].weight if std.metrics[n].weight is not None else 1.0 for n in names]
    overall = combined_index(std, np.broadcast_arrays(*[rows[n] for n in names]), weights)
    return per_item, _shares(overall)


def _shares(index: Any) -> dict[int, float]:
    import numpy as np

    counts = np.bincount(np.asarray(index, dtype=int))
    return {i: float(c) / len(index) for i, c in enumerate(counts) if c}


def _metric_draws(metric: Metric, record: RunRecord, draws: RecordDraws, res: MetricResult) -> np.ndarray:
    """The metric's value in each of the record's joint draws (normalised as its central value)."""
    x = draws.measure(metric.measure)
    if metric.normalise is not None:
        x = x / metric.normalise["factors"][(record.meta or {})[metric.normalise["field"]]]
    if metric.quantity in draws.notes:
        res.notes = [draws.notes[metric.quantity]]
    return x


def _set_probabilities(res: Any, probabilities: dict[str, float], confidence: float) -> None:
    res.probabilities = probabilities
    res.most_likely, p = most_likely(probabilities)
    res.confidence = confidence
    res.stable = p >= confidence


def _metric_value(std: Standard, metric: Metric, record: RunRecord, res: MetricResult) -> Estimate:
    """The metric's value for ``record``: at its reference operating point, normalised by
    hardware where the metric asks, widened by the assumed spread of a reported mean."""
    from ecometer.standards.schema import match_value

    meta = record.meta or {}
    for name, rule in metric.reference.items():
        if name not in meta or not match_value(rule, meta[name]):
            found = f"{meta[name]!r}" if name in meta else "missing"
            raise NotApplicable(
                f"graded at the reference operating point {name} = {_rule_text(rule)}; this record's is {found}"
            )
    est = measure(metric.measure, record)
    if metric.normalise is not None:
        name, factors = metric.normalise["field"], metric.normalise["factors"]
        key = meta.get(name)
        if key not in factors:
            raise NotApplicable(
                f"normalised by {name}, whose factors are given for {sorted(factors)}; this record's is {key!r}"
                if key is not None
                else f"normalised by {name}, which record.meta does not give"
            )
        est = est.scaled(1.0 / factors[key])
        res.normalised_by = f"{name} = {key} (factor {factors[key]:g})"
    spread = std.quality.reported_spread
    if spread and is_reported(record) and est.low == est.high:
        est = Estimate(est.central, est.central * (1 - spread), est.central * (1 + spread))
        res.assumed_spread = spread
    return est


def _rule_text(rule: Any) -> str:
    if isinstance(rule, dict):
        parts = ([f">= {rule['min']:g}"] if "min" in rule else []) + ([f"< {rule['max']:g}"] if "max" in rule else [])
        return " and ".join(parts)
    if isinstance(rule, list):
        return " or ".join(repr(r) for r in rule)
    return repr(rule)


def class_rule(cls: Any) -> str:
    """A class's match rule in words: ``task = 'asr', model_params < 2e+10``."""
    if cls.default:
        return "records that match no other class"
    parts = []
    for name, rule in cls.match.items():
        text = _rule_text(rule)
        parts.append(f"{name} {text}" if isinstance(rule, dict) else f"{name} = {text}")
    return ", ".join(parts)


def default_class_gap(std: Standard, record: RunRecord) -> str:
    """Why a record fell into the default class, naming only what is actually missing or outside:
    ``record.meta has no 'gpu_model' (rated classes take 'H100' or 'B200'); model_params = 7e+09 is set``."""
    meta = record.meta or {}
    rated = [c for c in std.classes.values() if not c.default and c.rated]
    fields = sorted({f for c in rated for f in c.match})
    gaps, fine = [], []
    for f in fields:
        takes = " or ".join(dict.fromkeys(_rule_text(c.match[f]) for c in rated if f in c.match))
        if f not in meta:
            gaps.append(f"record.meta has no {f!r} (rated classes take {takes})")
        elif not any(f in c.match and match_value(c.match[f], meta[f]) for c in rated):
            gaps.append(f"{f} = {meta[f]!r} is in no rated class (they take {takes})")
        else:
            fine.append(f"{f} = {meta[f]!r} is set")
    if not gaps:
        gaps.append("no rated class takes this combination of " + ", ".join(f"{f} = {meta[f]!r}" for f in fields))
    return "; ".join(gaps + fine)


def _meta_number(record: RunRecord, name: str) -> Estimate:
    """A number in ``record.meta[name]`` (a reported figure, e.g. p90 inter-token latency)."""
    value = (record.meta or {}).get(name)
    if value is None:
        raise NotApplicable(f"record.meta has no {name!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NotApplicable(f"record.meta[{name!r}] is {value!r}, not a finite number")
    return Estimate.exact(float(value))


def _check_limit(std: Standard, lim: Any, record: RunRecord) -> LimitResult:
    res = LimitResult(
        name=lim.name, rule=lim.rule, status="unknown", unit=lim.unit, min=lim.min, max=lim.max, required=lim.required
    )
    try:
        est: Estimate = _meta_number(record, lim.field) if lim.field is not None else measure(lim.measure, record)
    except NotApplicable as exc:
        res.reason = exc.reason
        return res
    if lim.field is None:
        problem = value_problem(est, lim.measure.quantity)
        if problem:
            res.reason = problem
            return res
    res.value, res.low, res.high = est.central, est.low, est.high
    fail = (lim.max is not None and est.central > lim.max) or (lim.min is not None and est.central < lim.min)
    res.status = "fail" if fail else "pass"
    crosses_max = lim.max is not None and est.low <= lim.max < est.high
    crosses_min = lim.min is not None and est.low < lim.min <= est.high
    res.within_uncertainty = bool(crosses_max or crosses_min)
    if lim.field is None and not est.is_exact:
        res.pass_probability = None  # :func:`_probabilities`, jointly with the metrics
    else:  # an exact value (a reported number in record.meta, a counter reading)
        res.pass_probability = 0.0 if fail else 1.0
    return res


def combined_index(std: Standard, indices: Any, weights: list[float]) -> Any:
    """The overall grade index from per-metric grade indices (one row per metric: ints, or
    arrays of draws combined draw by draw): the worst, or the weighted mean rounded half
    toward the worse grade."""
    if all(isinstance(i, int) for i in indices):  # one value per metric: no numpy
        if std.combine == "worst":
            return max(indices)
        mean = math.fsum(w * i for w, i in zip(weights, indices, strict=True)) / math.fsum(weights)
        return min(len(std.grades) - 1, math.floor(mean + 0.5 + _TIE))
    import numpy as np

    idx = np.asarray(indices)
    if std.combine == "worst":
        return idx.max(axis=0)
    w = np.asarray(weights, dtype=float).reshape((-1,) + (1,) * (idx.ndim - 1))
    mean = (w * idx).sum(axis=0) / w.sum()
    return np.minimum(len(std.grades) - 1, np.floor(mean + 0.5 + _TIE)).astype(int)


def _combine(std: Standard, results: list[MetricResult], pick: str) -> int:
    """Overall grade index from per-metric indices (``pick``: central, best or worst case)."""
    idx = []
    for r in results:
        central = std.grades.index(r.grade)  # type: ignore[arg-type]
        if pick == "central":
            idx.append(central)
        else:
            ends = (std.grades.index(r.spans[0]), std.grades.index(r.spans[-1]))
            idx.append(min(ends) if pick == "best" else max(ends))
    return int(combined_index(std, idx, _weights(results)))


def site_name(record: RunRecord) -> str | None:
    """The site a record's footprint was computed at (a preset's name, or its factors), or None."""
    site = (footprint_data(record) or {}).get("site")
    if not isinstance(site, dict):
        return None
    if site.get("name"):
        return str(site["name"])
    parts = [f"{k.upper()} {site[k]['central']:g}" for k in ("pue", "wue", "ewif") if isinstance(site.get(k), dict)]
    return ", ".join(parts) or None


def _weights(results: list[MetricResult]) -> list[float]:
    return [r.weight if r.weight is not None else 1.0 for r in results]


def score(record: RunRecord, standard: Standard | str) -> Assessment:
    """Grade ``record`` against ``standard`` (a :class:`Standard`, a file path or a built-in name)."""
    from ecometer.standards.loader import load_standard

    std = load_standard(standard)
    out = Assessment(
        standard=std.name,
        version=std.version,
        title=std.title,
        record=record.name,
        grades=list(std.grades),
        combine=std.combine,
        source=std.source,
        confidence=std.confidence,
    )
    scope = std.out_of_scope(record)
    if scope is not None:  # no grade from thresholds calibrated on other work
        out.applies = False
        out.not_rated.append(scope)
    cls, why = std.classify(record)
    gap = None
    if why:
        out.not_rated.append(why)
    elif cls is not None:
        out.class_name = cls.name
        out.class_rule = class_rule(cls)
        if not cls.rated:
            about = gap = default_class_gap(std, record) if cls.default else cls.description
            out.not_rated.append(f"class {cls.name!r} is not rated by {std.name}" + (f": {about}" if about else ""))
    out.not_rated.extend(record_problems(record))
    out.not_rated.extend(quality_reasons(std, record))

    class_name = cls.name if cls is not None else None
    indices: dict[str, Any] = {}
    site = site_name(record)
    for name, metric in std.metrics.items():
        out.metrics[name], idx = _grade_metric(std, metric, record, class_name)
        if idx is not None:
            indices[name] = idx
        if site and out.metrics[name].value is not None and QUANTITY_REGISTRY[metric.quantity].footprint:
            out.metrics[name].notes.append(f"at site {site}")

    out.limits = [_check_limit(std, lim, record) for lim in std.limits]
    overall = _probabilities(std, record, out, indices)
    out.passed = not any(lim.status == "fail" for lim in out.limits)
    for lim in out.limits:
        if lim.status == "unknown" and lim.required:
            out.not_rated.append(f"required limit {lim.name} cannot be checked: {lim.reason}")

    graded = [r for r in out.metrics.values() if r.grade is not None]
    if not out.not_rated and not graded:
        reasons = "; ".join(f"{r.name}: {r.reason}" for r in out.metrics.values())
        out.not_rated.append(f"no metric of {std.name} applies to this record ({reasons})")
    if out.not_rated:
        out.rated = False
        out.to_be_rated = to_be_rated(std, record, out.metrics, gap if cls is not None and cls.default else None)
        for r in out.metrics.values():  # values stay; grades of an unrated record would mislead
            if r.value is not None:
                r.grade = r.next_grade = r.improvement_pct = r.most_likely = None
                r.stable, r.spans, r.probabilities, r.reason = None, [], {}, r.reason or "record not rated"
        return out
    out.grade = std.grades[_combine(std, graded, "central")]
    best, worst = _combine(std, graded, "best"), _combine(std, graded, "worst")
    out.spans = std.grades[best : worst + 1]
    if overall is None:  # every value exact: the overall grade is certain
        _set_probabilities(out, {out.grade: 1.0}, std.confidence)
        return out
    _set_probabilities(out, overall, std.confidence)
    return out
