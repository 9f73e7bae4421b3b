"""A reader for the stored assessment dictionary (``record.attachments["assessment"]``).

The report layer reads the plain dict written by :mod:`ecometer.standards` so that it works on
any record file without importing the scoring package. The reader accepts the field names of
the stored assessment and tolerates missing parts: whatever exists is shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ecometer.record.model import RunRecord


@dataclass
class MetricGrade:
    """One metric's result: ``value`` in ``unit``, its ``grade`` (``None`` if it does not apply)."""

    name: str
    value: float | None
    unit: str
    grade: str | None
    stable: bool | None = None
    to_next_pct: float | None = None
    next_grade: str | None = None
    reason: str = ""
    low: float | None = None
    high: float | None = None
    label: str = ""
    direction: str = ""
    thresholds: list[float] | None = None
    indicative: str | None = None  # where the value falls when the run is not rated
    probabilities: dict[str, float] | None = None  # grade -> probability (Monte Carlo draws)
    most_likely: str | None = None
    confidence: float | None = None  # the standard's stated confidence for "stable"


@dataclass
class LimitView:
    """One hard limit: its rule, ``status`` (pass, fail, unknown) and the value checked."""

    name: str
    rule: str
    status: str
    value: float | None = None
    unit: str = ""
    reason: str = ""


@dataclass
class GradeView:
    """The overall result of scoring a run against a standard."""

    standard: str
    grade: str | None
    labels: list[str]
    metrics: list[MetricGrade] = field(default_factory=list)
    passed: bool | None = None
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scale: str = "letters"  # "letters" or "stars"
    title: str = ""
    class_name: str | None = None
    rated: bool | None = None
    not_rated: list[str] = field(default_factory=list)
    to_be_rated: list[str] = field(default_factory=list)  # the steps that would make the run gradable
    limits: list[LimitView] = field(default_factory=list)
    indicative: str | None = None  # worst metric's indicative grade when not rated
    probabilities: dict[str, float] | None = None  # overall grade -> probability
    most_likely: str | None = None
    confidence: float | None = None
    stable: bool | None = None

    @property
    def index(self) -> int | None:
        """Position of the grade in ``labels`` (0 is the best), or ``None``."""
        if self.grade is None or self.grade not in self.labels:
            return None
        return self.labels.index(self.grade)

    @property
    def stars(self) -> int | None:
        """For a star scale, the number of stars of the grade (best label = most stars)."""
        idx = self.index
        if self.scale != "stars" or idx is None:
            return None
        return len(self.labels) - idx


def _first(d: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return None


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if isinstance(v, dict):
            return _num(v.get("central"))
        return None
    return float(v) if math.isfinite(v) else None


def _str(v: Any) -> str | None:
    if v is None:
        return None
    return v if isinstance(v, str) else str(v)


def _probabilities(v: Any) -> dict[str, float] | None:
    """A stored ``{grade: probability}`` mapping, best kept as written; ``None`` if unusable."""
    if not isinstance(v, dict) or not v:
        return None
    out: dict[str, float] = {}
    for grade, p in v.items():
        q = _num(p)
        if not isinstance(grade, str) or q is None or not 0.0 <= q <= 1.0:
            return None
        out[grade] = q
    return out


def _confidence(v: Any) -> float | None:
    q = _num(v)
    return q if q is not None and 0.0 < q <= 1.0 else None


def probability_text(probabilities: dict[str, float] | None, labels: list[str] | None = None, limit: int = 3) -> str:
    """``"B 83 %, C 17 %"``: the ``limit`` likeliest grades (ties to the better), best grade first.

    Grades under 0.5 % read ``<1 %``; an empty string when there are no probabilities.
    """
    from ecometer.record.uncertainty import grade_odds

    return grade_odds(probabilities or {}, labels or (), limit)


def _standard_name(d: dict[str, Any]) -> str:
    std = _first(d, "standard", "standard_name")
    if isinstance(std, dict):
        name = _str(_first(std, "title", "name", "id")) or "standard"
        version = _first(std, "version")
        return f"{name} v{version}" if version is not None else name
    name = _str(std) or "standard"
    version = _first(d, "standard_version", "version")
    return f"{name} v{version}" if version is not None and f"v{version}" not in name else name


def looks_like_stars(labels: list[str]) -> bool:
    return bool(labels) and all(("★" in lab) or ("star" in lab.lower()) or lab.strip().isdigit() for lab in labels)


#: words of metric ids written as people write them
_WORDS = {
    "flop": "FLOP", "pflop": "PFLOP", "tflop": "TFLOP", "gflop": "GFLOP", "flops": "FLOP", "j": "J", "kwh": "kWh",
    "wh": "Wh", "gpu": "GPU", "cpu": "CPU", "dram": "DRAM", "it": "IT", "pue": "PUE", "wue": "WUE", "co2": "CO2",
    "co2e": "CO2e", "l": "L", "ml": "mL", "g": "g", "kg": "kg", "s": "s", "ms": "ms", "p90": "p90", "itl": "ITL",
}  # fmt: skip


def metric_title(name: str) -> str:
    """A metric id as a heading for people: ``flop_per_joule`` -> ``FLOP per joule``,
    ``water_per_pflop`` -> ``Water per PFLOP``, ``p90_itl_ms`` -> ``p90 ITL ms``."""
    words = [_WORDS.get(w.lower(), w) for w in name.replace("-", "_").split("_") if w]
    if not words:
        return name
    first = words[0]
    words[0] = first[:1].upper() + first[1:] if first.islower() else first
    return " ".join(words)


def star_count(label: str, index: int, n: int) -> int:
    """Stars in a label: ``"4 stars"`` / ``"4"`` -> 4, ``"★★"`` -> 2, else by position (best = ``n``)."""
    digits = ""
    for ch in label.strip():
        if not ch.isdigit():
            break
        digits += ch
    if digits:
        return int(digits)
    if "★" in label:
        return label.count("★")
    return n - index


def indicative_grade(value: float | None, thresholds: Any, direction: str, labels: list[str]) -> str | None:
    """The grade ``value`` would get from ``thresholds`` (edges belong to the better grade)."""
    if value is None or not isinstance(thresholds, list) or len(thresholds) != len(labels) - 1:
        return None
    if direction not in ("lower", "higher") or not all(isinstance(t, (int, float)) for t in thresholds):
        return None
    from ecometer.standards.assess import grade_index

    return labels[grade_index(value, [float(t) for t in thresholds], direction)]


def _metric(name: str | None, m: dict[str, Any], labels: list[str]) -> MetricGrade:
    value = _first(m, "value", "central")
    low = _num(_first(m, "low", "value_low"))
    high = _num(_first(m, "high", "value_high"))
    if isinstance(value, dict):
        low = low if low is not None else _num(value.get("low"))
        high = high if high is not None else _num(value.get("high"))
    stable = _first(m, "stable", "grade_stable")
    thresholds = m.get("thresholds") if isinstance(m.get("thresholds"), list) else None
    direction = _str(m.get("direction")) or ""
    grade = _str(_first(m, "grade"))
    indicative = _str(m.get("indicative_grade"))
    if grade is None and indicative is None and m.get("applies", True) is not False:
        indicative = indicative_grade(_num(value), thresholds, direction, labels)
    return MetricGrade(
        name=_str(_first(m, "name", "metric", "id")) or name or "metric",
        value=_num(value),
        unit=_str(_first(m, "unit")) or "",
        grade=grade,
        stable=stable if isinstance(stable, bool) else None,
        to_next_pct=_num(_first(m, "to_next_grade_pct", "next_grade_pct", "improvement_pct", "to_next_pct")),
        next_grade=_str(_first(m, "next_grade")),
        reason=_str(_first(m, "reason", "not_applicable", "why")) or "",
        low=low,
        high=high,
        label=_str(m.get("label")) or "",
        direction=direction,
        thresholds=thresholds,
        indicative=indicative,
        probabilities=_probabilities(m.get("probabilities")),
        most_likely=_str(m.get("most_likely")),
        confidence=_confidence(m.get("confidence")),
    )


def read_assessment(data: dict[str, Any] | None) -> GradeView | None:
    """A :class:`GradeView` from a stored assessment dict, or ``None`` when there is none."""
    if not isinstance(data, dict):
        return None
    labels_raw = _first(data, "labels", "grade_labels", "grades", "scale_labels")
    std = data.get("standard")
    if labels_raw is None and isinstance(std, dict):
        labels_raw = _first(std, "labels", "grades")
    labels = [str(x) for x in labels_raw] if isinstance(labels_raw, list) else []
    overall = _first(data, "grade", "overall_grade", "overall")
    if isinstance(overall, dict):
        overall = _first(overall, "grade", "label")
    grade = _str(overall)
    if grade is not None and not labels:
        labels = list("ABCDEFG") if len(grade) == 1 and grade in "ABCDEFG" else [grade]
    elif grade is not None and grade not in labels:
        labels = labels + [grade]
    metrics_raw = _first(data, "metrics", "results")
    metrics: list[MetricGrade] = []
    if isinstance(metrics_raw, dict):
        metrics = [_metric(k, v, labels) for k, v in metrics_raw.items() if isinstance(v, dict)]
    elif isinstance(metrics_raw, list):
        metrics = [_metric(None, v, labels) for v in metrics_raw if isinstance(v, dict)]
    limits = [
        LimitView(
            name=_str(lim.get("name")) or "limit",
            rule=_str(lim.get("rule")) or "",
            status=_str(lim.get("status")) or "unknown",
            value=_num(lim.get("value")),
            unit=_str(lim.get("unit")) or "",
            reason=_str(lim.get("reason")) or "",
        )
        for lim in (data.get("limits") or [])
        if isinstance(lim, dict)
    ]
    failures_raw = _first(data, "failures", "hard_limit_failures", "failed_limits")
    failures = [str(x.get("message", x)) if isinstance(x, dict) else str(x) for x in failures_raw or []]
    failures += [
        lim.rule or lim.name for lim in limits if lim.status == "fail" and (lim.rule or lim.name) not in failures
    ]
    passed = _first(data, "passed", "ok")
    notes_raw = _first(data, "notes", "warnings") or []
    scale = _str(_first(data, "scale")) or ("stars" if looks_like_stars(labels) else "letters")
    rated = data.get("rated") if isinstance(data.get("rated"), bool) else None
    not_rated = [str(x) for x in data.get("not_rated") or []] if isinstance(data.get("not_rated"), list) else []
    indicative = None
    if grade is None:
        marks = [m.indicative for m in metrics if m.indicative in labels]
        if marks:
            indicative = max(marks, key=labels.index)  # the worst metric, as "worst-of" combines
    return GradeView(
        standard=_standard_name(data),
        grade=grade,
        labels=labels,
        metrics=metrics,
        passed=passed if isinstance(passed, bool) else (not failures if failures_raw is not None else None),
        failures=failures,
        notes=[str(n) for n in notes_raw] if isinstance(notes_raw, list) else [str(notes_raw)],
        scale="stars" if scale.lower().startswith("star") else "letters",
        title=_str(data.get("title")) or "",
        class_name=_str(data.get("class_name")),
        rated=rated,
        not_rated=not_rated,
        to_be_rated=[str(x) for x in data.get("to_be_rated") or []] if isinstance(data.get("to_be_rated"), list) else [],
        limits=limits,
        indicative=indicative,
        probabilities=_probabilities(data.get("probabilities")),
        most_likely=_str(data.get("most_likely")),
        confidence=_confidence(data.get("confidence")),
        stable=data.get("stable") if isinstance(data.get("stable"), bool) else None,
    )


def grade_view(record: RunRecord) -> GradeView | None:
    return read_assessment(record.attachments.get("assessment"))
