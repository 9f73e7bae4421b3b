"""Revisions of a standard, for standards bodies: regrading, sensitivity, diffs, charts.

* :func:`regrade` scores a corpus against two standards and lists the grade changes.
* :func:`sensitivity` does that for a proposed change of one metric's thresholds.
* :func:`diff` lists the fields two versions of a standard differ in, and (given a corpus)
  the grade changes they cause.
* :func:`ecometer.report.sensitivity.sensitivity_chart` draws the corpus distribution of a
  metric with band edges (in the report package: drawing is not the standards' job).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ecometer.errors import InputError
from ecometer.record.model import RunRecord
from ecometer.standards.assess import Assessment, score
from ecometer.standards.loader import load_standard, with_thresholds
from ecometer.standards.schema import Standard

NOT_RATED = "not rated"


@dataclass
class GradeChange:
    """One record whose grade (overall, or of ``metric``) differs between two standards."""

    record: str
    before: str
    after: str
    change: str  # "better", "worse", "now rated", "no longer rated", "relabelled"
    metric: str | None = None
    class_before: str | None = None
    class_after: str | None = None
    #: why the record is rated under one standard and not the other, or which metrics moved it
    why: str | None = None


@dataclass
class Regrading:
    """How a corpus grades under two standards."""

    old: str
    new: str
    records: int
    changes: list[GradeChange] = field(default_factory=list)
    metric_changes: list[GradeChange] = field(default_factory=list)
    pass_changes: list[str] = field(default_factory=list)
    before: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Records by kind of overall change, plus ``unchanged`` and ``total``."""
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.change] = out.get(c.change, 0) + 1
        out["unchanged"] = self.records - len(self.changes)
        out["total"] = self.records
        return out

    @property
    def changed_records(self) -> list[str]:
        return [c.record for c in self.changes]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["counts"] = self.counts
        return data

    def __str__(self) -> str:
        lines = [f"{len(self.changes)} of {self.records} records change overall grade ({self.old} -> {self.new})"]
        for c in self.changes:
            because = f": {c.why}" if c.why else ""
            lines.append(f"  {c.record}: {c.before} -> {c.after} ({c.change}{because})")
        overall = {(c.record, c.before, c.after) for c in self.changes}
        extra = [c for c in self.metric_changes if (c.record, c.before, c.after) not in overall]
        if extra:  # metric changes the overall grades above do not already show
            lines.append(f"other metric grade changes ({len(extra)}):")
            for c in extra:
                lines.append(f"  {c.record} {c.metric}: {c.before} -> {c.after} ({c.change})")
        for name in self.pass_changes:
            lines.append(f"  {name}: hard-limit result changes")
        if self.before:
            lines.append("grade counts before: " + ", ".join(f"{k} {v}" for k, v in self.before.items()))
            lines.append("grade counts after:  " + ", ".join(f"{k} {v}" for k, v in self.after.items()))
        return "\n".join(lines)


def label(std: Standard) -> str:
    return f"{std.name} {std.version}"


def _kind(before: str | None, after: str | None, old: Standard, new: Standard) -> str:
    if before is None:
        return "now rated"
    if after is None:
        return "no longer rated"
    if before in old.grades and after in new.grades and old.grades == new.grades:
        return "better" if new.grades.index(after) < old.grades.index(before) else "worse"
    return "relabelled"


def _unrated_why(a: Assessment, std: Standard) -> str:
    what = "does not apply" if not a.applies else "not rated"
    return f"{what} under {label(std)}: {'; '.join(a.not_rated) or 'no reason given'}"


def _why(a: Assessment, b: Assessment, a_std: Standard, b_std: Standard) -> str:
    """Why a record's overall grade differs: the reasons it is not rated on one side, else the
    metrics whose grades moved (and a class change)."""
    if b.grade is None:
        return _unrated_why(b, b_std)
    if a.grade is None:
        return f"was {_unrated_why(a, a_std)}"
    moved = [
        f"{n} {a.metrics[n].grade or NOT_RATED} -> {b.metrics[n].grade or NOT_RATED}"
        for n in a.metrics
        if n in b.metrics and a.metrics[n].grade != b.metrics[n].grade
    ]
    if a.class_name != b.class_name:
        moved.append(f"class {a.class_name} -> {b.class_name}")
    return "; ".join(moved) or "the metrics combine differently"


def _counts(std: Standard, assessments: list[Assessment]) -> dict[str, int]:
    out = {g: 0 for g in std.grades}
    out[NOT_RATED] = 0
    for a in assessments:
        out[a.grade if a.grade is not None else NOT_RATED] += 1
    return out


def regrade(records: Iterable[RunRecord], old: Standard | str, new: Standard | str) -> Regrading:
    """Score every record against ``old`` and ``new`` and list what changes."""
    a_std, b_std = load_standard(old), load_standard(new)
    recs = list(records)
    before = [score(r, a_std) for r in recs]
    after = [score(r, b_std) for r in recs]
    out = Regrading(
        label(a_std), label(b_std), len(recs), before=_counts(a_std, before), after=_counts(b_std, after)
    )
    for r, a, b in zip(recs, before, after, strict=True):
        if a.grade != b.grade:
            out.changes.append(
                GradeChange(
                    r.name,
                    a.grade or NOT_RATED,
                    b.grade or NOT_RATED,
                    _kind(a.grade, b.grade, a_std, b_std),
                    class_before=a.class_name,
                    class_after=b.class_name,
                    why=_why(a, b, a_std, b_std),
                )
            )
        for name in sorted(set(a.metrics) | set(b.metrics)):
            ga = a.metrics[name].grade if name in a.metrics else None
            gb = b.metrics[name].grade if name in b.metrics else None
            if ga != gb:
                out.metric_changes.append(
                    GradeChange(r.name, ga or NOT_RATED, gb or NOT_RATED, _kind(ga, gb, a_std, b_std), metric=name)
                )
        if a.passed != b.passed:
            out.pass_changes.append(r.name)
    return out


def sensitivity(
    records: Iterable[RunRecord],
    standard: Standard | str,
    proposed: Standard | str | Sequence[float],
    *,
    metric: str | None = None,
    class_name: str | None = None,
) -> Regrading:
    """Grade changes on ``records`` if ``standard`` adopted ``proposed``.

    ``proposed`` is another standard, or new thresholds for ``metric`` (for ``class_name``
    when given, else the metric's own thresholds).
    """
    std = load_standard(standard)
    if isinstance(proposed, (Standard, str, Path)):
        new = load_standard(proposed)
    else:
        if metric is None:
            raise InputError("proposed thresholds need the metric they are for")
        if metric not in std.metrics:
            raise InputError(f"{std.name} has no metric {metric!r}; its metrics are {list(std.metrics)}")
        if class_name is None and std.classes:
            own = [c for c in std.classes.values() if metric in c.thresholds]
            if own:
                raise InputError(
                    f"{metric} has thresholds per class in {std.name} ({', '.join(c.name for c in own)}); name the class"
                )
        new = with_thresholds(std, metric, [float(x) for x in proposed], class_name)
        new = new.replace(version=f"{std.version} (proposed)")
    return regrade(records, std, new)


# ---- diff -----------------------------------------------------------------------------------
@dataclass
class FieldChange:
    path: str
    old: Any
    new: Any


@dataclass
class StandardDiff:
    """Fields two standards differ in, and the grade changes they cause on a corpus."""

    old: str
    new: str
    fields: list[FieldChange]
    grades: Regrading | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "fields": [asdict(f) for f in self.fields],
            "grades": self.grades.to_dict() if self.grades is not None else None,
        }

    def __str__(self) -> str:
        lines = [f"{self.old} -> {self.new}: {len(self.fields)} changed field(s)"]
        for f in self.fields:
            if f.old is None:
                lines.append(f"  + {f.path} = {f.new!r}")
            elif f.new is None:
                lines.append(f"  - {f.path} (was {f.old!r})")
            else:
                lines.append(f"  ~ {f.path}: {f.old!r} -> {f.new!r}")
        if self.grades is not None:
            lines.append(str(self.grades))
        return "\n".join(lines)


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, list) and data and all(isinstance(x, dict) for x in data):
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def diff(old: Standard | str, new: Standard | str, records: Iterable[RunRecord] = ()) -> StandardDiff:
    """Changed fields between two standards (paths like ``metrics.m.thresholds``) and, given
    ``records``, the grade changes they cause."""
    a, b = load_standard(old), load_standard(new)
    fa, fb = _flatten(a.to_dict()), _flatten(b.to_dict())
    changes = [FieldChange(p, fa.get(p), fb.get(p)) for p in sorted(set(fa) | set(fb)) if fa.get(p) != fb.get(p)]
    recs = list(records)
    return StandardDiff(label(a), label(b), changes, regrade(recs, a, b) if recs else None)
