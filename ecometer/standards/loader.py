"""Read a standard from TOML, strictly: every problem is an error that names the field.

Unknown keys are errors (typos are caught), thresholds must run in the metric's
direction, grade labels must be unique, classes must not overlap and must cover every
record (or declare a default). Nothing is partially applied: a standard is returned only
when the whole file is valid.
"""

from __future__ import annotations

import copy
import difflib
import functools
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from ecometer.checks.numbers import check_number, shown
from ecometer.checks.text import hidden_characters, label_key, scripts
from ecometer.errors import InputError, StandardError
from ecometer.files import datafiles
from ecometer.files.textfile import read_text_file
from ecometer.record import units as U
from ecometer.standards.metrics import GPU_HOUR, QUANTITIES, RUN, cannot_be_negative
from ecometer.standards.schema import (
    BANDS,
    COMBINE,
    DIRECTIONS,
    KNOWN_WORK_UNITS,
    STATUSES,
    Limit,
    Metric,
    Quality,
    Standard,
    StdClass,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BUILTIN_PACKAGE = "ecometer.standards"
#: the largest standard file read: a standard is a few kB (its calibration notes a few more)
MAX_STANDARD_BYTES = 4 * 2**20
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_STD_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

#: a version that sorts: MAJOR[.MINOR[.PATCH]], optionally -PRERELEASE or +BUILD (see version_key)
VERSION = re.compile(r"^\d+(\.\d+){0,2}([-+][0-9A-Za-z.-]+)?$")


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """A sort key for a standard's version: numbers compare as numbers; a pre-release
    (``1.0.0-rc1``) sorts before its release; build metadata (``+x``) is ignored."""
    core = re.split(r"[-+]", version, maxsplit=1)[0]
    nums = [int(x) for x in core.split(".")] + [0, 0]
    pre = version[len(core) + 1 :] if version[len(core) : len(core) + 1] == "-" else ""
    return nums[0], nums[1], nums[2], 0 if pre else 1, pre


_TOP_KEYS = ("standard", "quality", "metrics", "classes", "limits", "calibration", "changelog")
_STANDARD_KEYS = (
    "name",
    "title",
    "version",
    "description",
    "grades",
    "combine",
    "bands",
    "sources",
    "effective",
    "status",
    "supersedes",
    "licence",
    "work_units",
    "confidence",
    "applies_to",
    "reference_site",
)
_QUALITY_KEYS = (
    "min_duration_s",
    "min_repetitions",
    "require_counter_gpu",
    "max_relative_uncertainty",
    "accept_reported",
    "reported_spread",
)
_MEASURE_KEYS = ("quantity", "per", "scale", "unit", "work")
_METRIC_KEYS = (
    *_MEASURE_KEYS,
    "direction",
    "thresholds",
    "weight",
    "required",
    "description",
    "reference",
    "normalise",
)
_LIMIT_KEYS = ("name", *_MEASURE_KEYS, "field", "max", "min", "required", "description")
_CLASS_KEYS = ("match", "default", "rated", "thresholds", "description")
_CHANGELOG_KEYS = ("version", "date", "changes")
#: [calibration] keys and the type of each value
_CALIBRATION_TYPES: dict[str, type | tuple[type, ...]] = {
    "method": str,
    "metric": str,
    "records": int,
    "records_given": int,
    "date": str,
    "tool": str,
    "corpus_sha256": str,
    "rounding": str,
    "min_per_class": int,
    "class_records": dict,
    "classes_kept": list,
    "classes_unrated": list,
    "classes_dropped": list,
    "metrics_kept": list,
    "duplicates": list,
    "skipped": list,
    "corpus_sources": list,
    "note": str,
}


class _Ctx:
    """Where errors point: the file and its text (to find lines)."""

    def __init__(self, origin: str, text: str | None) -> None:
        self.origin = origin
        self.text = text

    def error(self, path: str, found: str, expected: str) -> StandardError:
        return StandardError(self.origin, path, found, expected, text=self.text)


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return f"{shown(value)} ({type(value).__name__})"


def _hint(found: str, valid: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(found, list(valid), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(ctx: _Ctx, table: Any, allowed: tuple[str, ...], path: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ctx.error(path, _show(table), "a table")
    for key in table:
        if key not in allowed:
            where = f"{path}.{key}" if path else key
            raise ctx.error(where, f"unknown key {key!r}", f"one of {list(allowed)}{_hint(key, allowed)}")
    return table


def _string(ctx: _Ctx, value: Any, path: str, *, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(path, _show(value), "a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise ctx.error(path, repr(value), what or f"a name matching {pattern.pattern}")
    return value


def _number(ctx: _Ctx, value: Any, path: str, *, positive: bool = False, nonneg: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ctx.error(path, _show(value), "a finite number")
    try:
        value = check_number(value, path)  # an int beyond a float's range is not finite either
    except InputError:
        raise ctx.error(path, _show(value), "a finite number") from None
    if positive and value <= 0:
        raise ctx.error(path, repr(value), "a number above 0")
    if nonneg and value < 0:
        raise ctx.error(path, repr(value), "a number of 0 or more")
    return float(value)


def _bool(ctx: _Ctx, value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ctx.error(path, _show(value), "true or false")
    return value


def _choice(ctx: _Ctx, value: Any, path: str, choices: tuple[str, ...] | list[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        hint = _hint(value, choices) if isinstance(value, str) else ""
        raise ctx.error(path, _show(value), f"one of {list(choices)}{hint}")
    return value


# ---- sections ------------------------------------------------------------------------------
def _work_unit(ctx: _Ctx, value: Any, path: str, work_units: list[str], *, special: bool = True) -> str:
    """A work unit: a known one (or ``run``/``gpu_hour``) or one the standard declares."""
    valid = [*((RUN, GPU_HOUR) if special else ()), *KNOWN_WORK_UNITS, *work_units]
    unit = _string(ctx, value, path, pattern=_NAME, what="'run', 'gpu_hour' or the name of a work counter")
    if unit not in valid:
        raise ctx.error(
            path,
            repr(unit),
            f"one of {valid}{_hint(unit, valid)}, or a unit declared in standard.work_units",
        )
    return unit


def _measure(ctx: _Ctx, table: dict[str, Any], path: str, work_units: list[str]) -> dict[str, Any]:
    if "quantity" not in table:
        raise ctx.error(f"{path}.quantity", "nothing", f"one of {list(QUANTITIES)}")
    quantity = _choice(ctx, table["quantity"], f"{path}.quantity", list(QUANTITIES))
    q = QUANTITIES[quantity]
    per = _work_unit(ctx, table.get("per", RUN), f"{path}.per", work_units)
    if not q.extensive and per != RUN:
        raise ctx.error(
            f"{path}.per",
            repr(per),
            f"no 'per' key: {quantity} is a rate or ratio and cannot be normalised per a functional unit",
        )
    scale = _number(ctx, table.get("scale", 1), f"{path}.scale", positive=True)
    work = table.get("work")
    if quantity == "work_per_joule":
        if work is not None:
            work = _work_unit(ctx, work, f"{path}.work", work_units, special=False)
    else:
        if work is not None:
            raise ctx.error(f"{path}.work", repr(work), "no 'work' key: only work_per_joule takes one")
        if scale != 1 and per == RUN:
            raise ctx.error(f"{path}.scale", repr(table["scale"]), "no 'scale' without a 'per' work unit or 'gpu_hour'")
    unit = table.get("unit", q.default_unit)
    valid = U.units_of(q.dimension)
    if not isinstance(unit, str) or unit not in U.UNITS:
        raise ctx.error(f"{path}.unit", _show(unit), f"a unit of {q.dimension} for {quantity}: one of {valid}")
    if U.UNITS[unit].dimension != q.dimension:
        raise ctx.error(
            f"{path}.unit",
            f"{unit!r} (a unit of {U.UNITS[unit].dimension})",
            f"a unit of {q.dimension} for {quantity}: one of {valid}",
        )
    return {"quantity": quantity, "per": per, "scale": scale, "unit": unit, "work": work}


def _thresholds(ctx: _Ctx, value: Any, path: str, metric: Metric | dict[str, Any], grades: list[str]) -> list[float]:
    """Band edges of ``metric`` (its direction and quantity): ordered, finite, and not below 0
    for a quantity that cannot be negative."""
    direction, quantity = (
        (metric.direction, metric.quantity) if isinstance(metric, Metric) else (metric["direction"], metric["quantity"])
    )
    n = len(grades) - 1
    if not isinstance(value, list):
        raise ctx.error(path, _show(value), f"a list of {n} numbers")
    if len(value) != n:
        raise ctx.error(
            path,
            f"{len(value)} values",
            f"{n} values: one band edge between each pair of the {len(grades)} grades {grades}",
        )
    out: list[float] = []
    for i, v in enumerate(value):
        x = _number(ctx, v, f"{path}[{i}]")
        if x < 0 and cannot_be_negative(quantity):
            raise ctx.error(f"{path}[{i}]", repr(v), f"a value of 0 or more: {quantity} cannot be negative")
        if out:
            prev = out[-1]
            if direction == "lower" and not x > prev:
                raise ctx.error(
                    f"{path}[{i}]",
                    repr(v),
                    f"a value above {prev:g} (lower is better, so edges increase from the best grade to the worst)",
                )
            if direction == "higher" and not x < prev:
                raise ctx.error(
                    f"{path}[{i}]",
                    repr(v),
                    f"a value below {prev:g} (higher is better, so edges decrease from the best grade to the worst)",
                )
        out.append(x)
    return out


def _metric(ctx: _Ctx, name: str, table: Any, grades: list[str], combine: str, work_units: list[str]) -> Metric:
    path = f"metrics.{name}"
    _string(ctx, name, path, pattern=_NAME, what="a metric name of letters, digits, '_' or '-'")
    table = _check_keys(ctx, table, _METRIC_KEYS, path)
    m = _measure(ctx, table, path, work_units)
    natural = QUANTITIES[m["quantity"]].direction
    direction = _choice(ctx, table.get("direction", natural), f"{path}.direction", DIRECTIONS)
    if direction != natural:
        raise ctx.error(f"{path}.direction", repr(direction), f"{natural!r}: for {m['quantity']} {natural} is better")
    thresholds = None
    if "thresholds" in table:
        thresholds = _thresholds(
            ctx, table["thresholds"], f"{path}.thresholds", {"direction": direction, "quantity": m["quantity"]}, grades
        )
    weight = None
    if "weight" in table:
        weight = _number(ctx, table["weight"], f"{path}.weight", positive=True)
        if combine != "weighted":
            raise ctx.error(f"{path}.weight", repr(table["weight"]), "no weight, or combine = 'weighted' in [standard]")
    required = _bool(ctx, table.get("required", False), f"{path}.required")
    desc = table.get("description", "")
    if desc:
        _string(ctx, desc, f"{path}.description")
    reference: dict[str, Any] = {}
    if "reference" in table:
        raw = table["reference"]
        if not isinstance(raw, dict) or not raw:
            raise ctx.error(f"{path}.reference", _show(raw), "a table of record.meta fields (the operating point)")
        reference = {f: _match_rule(ctx, v, f"{path}.reference.{f}") for f, v in raw.items()}
    normalise = _normalise(ctx, table["normalise"], f"{path}.normalise") if "normalise" in table else None
    return Metric(
        name=name,
        direction=direction,
        thresholds=thresholds,
        weight=weight,
        required=required,
        description=desc,
        reference=reference,
        normalise=normalise,
        **m,
    )


def _normalise(ctx: _Ctx, table: Any, path: str) -> dict[str, Any]:
    table = _check_keys(ctx, table, ("field", "factors", "source"), path)
    for key in ("field", "factors", "source"):
        if key not in table:
            raise ctx.error(
                f"{path}.{key}",
                "nothing",
                f"{path}.{key} (required: the meta field, its factors, and where they come from)",
            )
    field_name = _string(ctx, table["field"], f"{path}.field", pattern=_NAME)
    factors = table["factors"]
    if not isinstance(factors, dict) or not factors:
        raise ctx.error(f"{path}.factors", _show(factors), "a table of meta value = factor (e.g. { H100 = 1.0 })")
    return {
        "field": field_name,
        "factors": {k: _number(ctx, v, f"{path}.factors.{k}", positive=True) for k, v in factors.items()},
        "source": _string(ctx, table["source"], f"{path}.source"),
    }


def _match_rule(ctx: _Ctx, value: Any, path: str) -> Any:
    scalar = (str, int, float, bool)
    if isinstance(value, dict):
        _check_keys(ctx, value, ("min", "max"), path)
        if not value:
            raise ctx.error(path, "an empty table", "a range with 'min', 'max' or both")
        lo = _number(ctx, value["min"], f"{path}.min") if "min" in value else None
        hi = _number(ctx, value["max"], f"{path}.max") if "max" in value else None
        if lo is not None and hi is not None and not lo < hi:
            raise ctx.error(f"{path}.max", repr(value["max"]), f"a value above min = {lo:g}")
        return {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
    if isinstance(value, list):
        if not value or not all(isinstance(v, scalar) for v in value):
            raise ctx.error(path, _show(value), "a non-empty list of strings or numbers")
        for i, v in enumerate(value):
            _matchable(ctx, v, f"{path}[{i}]")
        return list(value)
    if isinstance(value, scalar):
        return _matchable(ctx, value, path)
    raise ctx.error(path, _show(value), "a value, a list of values, or a range {min = .., max = ..}")


def _matchable(ctx: _Ctx, value: Any, path: str) -> Any:
    """A value a meta field can equal: not NaN (equal to nothing) nor infinite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ctx.error(path, _show(value), "a string or a finite number (nan and inf match no record)")
    return value


def _class(ctx: _Ctx, name: str, table: Any, metrics: dict[str, Metric], grades: list[str]) -> StdClass:
    path = f"classes.{name}"
    _string(ctx, name, path, pattern=_NAME, what="a class name of letters, digits, '_' or '-'")
    table = _check_keys(ctx, table, _CLASS_KEYS, path)
    default = _bool(ctx, table.get("default", False), f"{path}.default")
    rated = _bool(ctx, table.get("rated", True), f"{path}.rated")
    match: dict[str, Any] = {}
    if default:
        if "match" in table:
            raise ctx.error(
                f"{path}.match", "a match rule", "no match rule in the default class (it takes every other record)"
            )
    else:
        if "match" not in table:
            raise ctx.error(f"{path}.match", "nothing", "a table of record.meta fields to match, or default = true")
        raw = table["match"]
        if not isinstance(raw, dict) or not raw:
            raise ctx.error(f"{path}.match", _show(raw), "a non-empty table of record.meta fields")
        match = {f: _match_rule(ctx, v, f"{path}.match.{f}") for f, v in raw.items()}
    thresholds: dict[str, list[float]] = {}
    if "thresholds" in table:
        if not rated:
            raise ctx.error(f"{path}.thresholds", "thresholds", "no thresholds in a class with rated = false")
        raw = table["thresholds"]
        if not isinstance(raw, dict):
            raise ctx.error(f"{path}.thresholds", _show(raw), "a table of metric name = [thresholds]")
        for metric, value in raw.items():
            if metric not in metrics:
                raise ctx.error(
                    f"{path}.thresholds.{metric}",
                    f"unknown metric {metric!r}",
                    f"one of the metrics {list(metrics)}{_hint(metric, list(metrics))}",
                )
            thresholds[metric] = _thresholds(ctx, value, f"{path}.thresholds.{metric}", metrics[metric], grades)
    desc = table.get("description", "")
    if desc:
        _string(ctx, desc, f"{path}.description")
    return StdClass(name=name, match=match, default=default, rated=rated, thresholds=thresholds, description=desc)


def _rules_intersect(a: Any, b: Any) -> bool:
    """Whether some single value satisfies both match rules."""
    if isinstance(a, list):
        return any(_rules_intersect(x, b) for x in a)
    if isinstance(b, list):
        return any(_rules_intersect(a, y) for y in b)
    if isinstance(a, dict) and isinstance(b, dict):
        lo = max(a.get("min", -math.inf), b.get("min", -math.inf))
        hi = min(a.get("max", math.inf), b.get("max", math.inf))
        return lo < hi
    if isinstance(a, dict) or isinstance(b, dict):
        rng, val = (a, b) if isinstance(a, dict) else (b, a)
        from ecometer.standards.schema import match_value

        return match_value(rng, val)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _check_classes(ctx: _Ctx, classes: dict[str, StdClass], metrics: dict[str, Metric]) -> None:
    defaults = [c.name for c in classes.values() if c.default]
    if len(defaults) > 1:
        raise ctx.error(f"classes.{defaults[1]}.default", f"a second default class ({defaults})", "at most one")
    ruled = [c for c in classes.values() if not c.default]
    for i, a in enumerate(ruled):
        for b in ruled[i + 1 :]:
            shared = set(a.match) & set(b.match)
            if all(_rules_intersect(a.match[f], b.match[f]) for f in shared):
                example = ", ".join(sorted(set(a.match) | set(b.match)))
                raise ctx.error(
                    f"classes.{b.name}.match",
                    f"a rule that overlaps classes.{a.name} (a record can match both on {example})",
                    "classes whose rules exclude each other on at least one shared field",
                )
    if not defaults and not _covers(ruled):
        raise ctx.error(
            "classes",
            f"classes {[c.name for c in ruled]} that leave some records in no class",
            "a class with default = true (it may set rated = false), or ranges on one field that cover every value",
        )
    for c in classes.values():
        if not c.rated:
            continue
        for name, m in metrics.items():
            if c.thresholds.get(name) is None and m.thresholds is None:
                raise ctx.error(
                    f"classes.{c.name}.thresholds.{name}",
                    "no thresholds",
                    f"thresholds for {name} in this class or in metrics.{name}",
                )


def _covers(ruled: list[StdClass]) -> bool:
    """Whether range rules on a single shared field cover every number."""
    if not ruled or any(len(c.match) != 1 for c in ruled):
        return False
    fields = {next(iter(c.match)) for c in ruled}
    if len(fields) != 1:
        return False
    ranges = [next(iter(c.match.values())) for c in ruled]
    if not all(isinstance(r, dict) for r in ranges):
        return False
    edge = -math.inf
    for r in sorted(ranges, key=lambda r: r.get("min", -math.inf)):
        if r.get("min", -math.inf) > edge:
            return False
        edge = max(edge, r.get("max", math.inf))
    return edge == math.inf


def _limit(ctx: _Ctx, i: int, table: Any, work_units: list[str]) -> Limit:
    path = f"limits[{i}]"
    table = _check_keys(ctx, table, _LIMIT_KEYS, path)
    if "field" in table:
        extra = sorted(k for k in ("quantity", "per", "scale", "work") if k in table)
        if extra:
            raise ctx.error(f"{path}.{extra[0]}", repr(table[extra[0]]), "no measure keys in a limit on a meta field")
        if "name" not in table:
            raise ctx.error(f"{path}.name", "nothing", "a name for the limit")
        field_name = _string(ctx, table["field"], f"{path}.field", pattern=_NAME, what="a record.meta field name")
        unit = table.get("unit", "")
        if not isinstance(unit, str):
            raise ctx.error(f"{path}.unit", _show(unit), "a label for the field's unit (e.g. 'ms')")
        m: dict[str, Any] = {"quantity": None, "unit": unit, "field": field_name}
    else:
        m = _measure(ctx, table, path, work_units)
    name = table.get("name", m["quantity"])
    _string(ctx, name, f"{path}.name", pattern=_NAME, what="a name of letters, digits, '_' or '-'")
    lo = _number(ctx, table["min"], f"{path}.min") if "min" in table else None
    hi = _number(ctx, table["max"], f"{path}.max") if "max" in table else None
    if m["quantity"] is not None and cannot_be_negative(m["quantity"]):
        for key, x in (("min", lo), ("max", hi)):
            if x is not None and x < 0:
                raise ctx.error(f"{path}.{key}", repr(table[key]), f"a value of 0 or more: {m['quantity']} cannot be negative")
    if lo is None and hi is None:
        raise ctx.error(f"{path}.max", "neither min nor max", "max = .., min = .., or both")
    if lo is not None and hi is not None and lo > hi:
        raise ctx.error(f"{path}.max", repr(hi), f"a value of at least min = {lo:g}")
    required = _bool(ctx, table.get("required", False), f"{path}.required")
    desc = table.get("description", "")
    if desc:
        _string(ctx, desc, f"{path}.description")
    return Limit(name=name, max=hi, min=lo, required=required, description=desc, **m)


def _calibration(ctx: _Ctx, table: Any) -> dict[str, Any]:
    table = _check_keys(ctx, table, tuple(_CALIBRATION_TYPES), "calibration")
    for key, value in table.items():
        kind = _CALIBRATION_TYPES[key]
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if ok and kind is list:
            ok = all(isinstance(v, str) for v in value)
        if ok and kind is dict:
            ok = all(isinstance(v, int) and not isinstance(v, bool) for v in value.values())
        if not ok:
            what = {str: "a string", int: "an integer", list: "a list of strings", dict: "a table of counts"}[kind]
            raise ctx.error(f"calibration.{key}", _show(value), what)
    return copy.deepcopy(dict(table))


# ---- entry points ----------------------------------------------------------------------------
def _head(ctx: _Ctx, data: dict[str, Any]) -> dict[str, Any]:
    """The validated fields of ``[standard]``, as :class:`Standard` keyword arguments."""
    if "standard" not in data:
        raise ctx.error("standard", "no [standard] table", "a [standard] table with name, title, version and grades")
    head = _check_keys(ctx, data["standard"], _STANDARD_KEYS, "standard")
    for key in ("name", "title", "version", "grades"):
        if key not in head:
            raise ctx.error(f"standard.{key}", "nothing", f"standard.{key} (required)")
    out: dict[str, Any] = {
        "name": _string(
            ctx, head["name"], "standard.name", pattern=_STD_NAME, what="a name of letters, digits, '.', '_' or '-'"
        ),
        "title": _string(ctx, head["title"], "standard.title"),
        "version": _string(
            ctx,
            head["version"],
            "standard.version",
            pattern=VERSION,
            what="a version that sorts: MAJOR[.MINOR[.PATCH]][-PRERELEASE]",
        ),
    }
    grades = head["grades"]
    if not isinstance(grades, list) or len(grades) < 2:
        raise ctx.error("standard.grades", _show(grades), "a list of at least 2 grade labels, best first")
    for i, g in enumerate(grades):
        _grade_label(ctx, _string(ctx, g, f"standard.grades[{i}]"), grades[:i], f"standard.grades[{i}]")
    out["grades"] = list(grades)
    out["combine"] = _choice(ctx, head.get("combine", "worst"), "standard.combine", COMBINE)
    if head.get("bands") is not None:
        out["bands"] = _choice(ctx, head["bands"], "standard.bands", BANDS)
    out["sources"] = _strings(ctx, head.get("sources", []), "standard.sources")
    out["work_units"] = _strings(ctx, head.get("work_units", []), "standard.work_units", pattern=_NAME)
    if head.get("description"):
        out["description"] = _string(ctx, head["description"], "standard.description")
    if "effective" in head:
        out["effective"] = _date(ctx, head["effective"], "standard.effective")
    if "status" in head:
        out["status"] = _choice(ctx, head["status"], "standard.status", STATUSES)
    for key in ("supersedes", "licence", "reference_site"):
        if key in head:
            out[key] = _string(ctx, head[key], f"standard.{key}")
    if "applies_to" in head:
        raw = head["applies_to"]
        if not isinstance(raw, dict) or not raw:
            raise ctx.error("standard.applies_to", _show(raw), "a table of record.meta fields and the values covered")
        out["applies_to"] = {f: _match_rule(ctx, v, f"standard.applies_to.{f}") for f, v in raw.items()}
    if "confidence" in head:
        conf = _number(ctx, head["confidence"], "standard.confidence")
        if not 0 < conf < 1:
            raise ctx.error(
                "standard.confidence", repr(head["confidence"]), "a probability between 0 and 1 (0.9 = 90 %)"
            )
        out["confidence"] = conf
    return out


def _grade_label(ctx: _Ctx, label: str, earlier: list[str], path: str) -> None:
    """Refuse a grade label that could be mistaken for another: one with hidden characters
    (controls, ANSI escapes, zero-width, bidi), one equal to an earlier label once NFKC-normalised
    and stripped (fullwidth ``Ａ``, ``"A "``), or letters of another script than the other labels'
    (Cyrillic ``А`` beside Latin ``A``)."""
    hidden = hidden_characters(label)
    if hidden:
        raise ctx.error(
            path,
            f"{label!r}, which holds {', '.join(hidden)}",
            "a grade label of visible characters (no control, format, bidi or zero-width characters)",
        )
    same = [h for h in earlier if label_key(h) == label_key(label)]
    if same:
        if same[0] == label:
            shown = f"{label!r} a second time"
        elif same[0].strip() == label.strip():
            shown = f"{label!r}, the same label as {same[0]!r} but for spaces"
        else:
            shown = f"{label!r}, the same label as {same[0]!r} once normalised (NFKC: {label_key(label)!r})"
        raise ctx.error(path, shown, "unique grade labels (surrounding spaces and character forms do not count)")
    own = scripts(label)
    if len(own) > 1:
        raise ctx.error(path, f"{label!r}, which mixes scripts {sorted(own)}", "a grade label written in one script")
    other = next((h for h in earlier if own and scripts(h) and scripts(h) != own), None)
    if other is not None:
        raise ctx.error(
            path,
            f"{label!r} ({', '.join(sorted(own))}) beside {other!r} ({', '.join(sorted(scripts(other)))})",
            "grade labels written in one script (look-alike letters such as Latin 'A' and Cyrillic 'А' are refused)",
        )


def _strings(ctx: _Ctx, value: Any, path: str, *, pattern: re.Pattern[str] | None = None) -> list[str]:
    if not isinstance(value, list):
        raise ctx.error(path, _show(value), "a list of strings")
    return [_string(ctx, s, f"{path}[{i}]", pattern=pattern) for i, s in enumerate(value)]


def _date(ctx: _Ctx, value: Any, path: str) -> str:
    import datetime as dt

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise ctx.error(path, _show(value), "a date YYYY-MM-DD")


def _quality(ctx: _Ctx, table: Any) -> Quality:
    qt = _check_keys(ctx, table, _QUALITY_KEYS, "quality")
    quality = Quality()
    if "min_duration_s" in qt:
        quality.min_duration_s = _number(ctx, qt["min_duration_s"], "quality.min_duration_s", nonneg=True)
    if "min_repetitions" in qt:
        reps = qt["min_repetitions"]
        if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
            raise ctx.error("quality.min_repetitions", _show(reps), "an integer of 1 or more")
        quality.min_repetitions = reps
    for key in ("require_counter_gpu", "accept_reported"):
        if key in qt:
            setattr(quality, key, _bool(ctx, qt[key], f"quality.{key}"))
    if "max_relative_uncertainty" in qt:
        quality.max_relative_uncertainty = _number(
            ctx, qt["max_relative_uncertainty"], "quality.max_relative_uncertainty", positive=True
        )
    if "reported_spread" in qt:
        spread = _number(ctx, qt["reported_spread"], "quality.reported_spread", nonneg=True)
        if spread >= 1:
            raise ctx.error("quality.reported_spread", repr(spread), "a relative half-width below 1 (0.05 = +/-5 %)")
        quality.reported_spread = spread
    return quality


def _metrics(ctx: _Ctx, data: dict[str, Any], head: dict[str, Any]) -> dict[str, Metric]:
    raw = data.get("metrics")
    if not isinstance(raw, dict) or not raw:
        raise ctx.error(
            "metrics", _show(raw) if raw is not None else "no [metrics]", "at least one [metrics.NAME] table"
        )
    return {n: _metric(ctx, n, t, head["grades"], head["combine"], head["work_units"]) for n, t in raw.items()}


def _classes(ctx: _Ctx, data: dict[str, Any], metrics: dict[str, Metric], grades: list[str]) -> dict[str, StdClass]:
    if "classes" not in data:
        for n, m in metrics.items():
            if m.thresholds is None:
                raise ctx.error(f"metrics.{n}.thresholds", "nothing", f"a list of {len(grades) - 1} band edges")
        return {}
    raw = data["classes"]
    if not isinstance(raw, dict) or not raw:
        raise ctx.error("classes", _show(raw), "one or more [classes.NAME] tables")
    classes = {n: _class(ctx, n, t, metrics, grades) for n, t in raw.items()}
    _check_classes(ctx, classes, metrics)
    return classes


def _limits(ctx: _Ctx, data: dict[str, Any], work_units: list[str]) -> list[Limit]:
    if "limits" not in data:
        return []
    raw = data["limits"]
    if not isinstance(raw, list):
        raise ctx.error("limits", _show(raw), "an array of [[limits]] tables")
    limits = [_limit(ctx, i, t, work_units) for i, t in enumerate(raw)]
    names = [lim.name for lim in limits]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise ctx.error(f"limits[{i}].name", f"{n!r} a second time", "unique limit names (set name = ..)")
    return limits


def _changelog(ctx: _Ctx, raw: Any) -> list[dict[str, str]]:
    if not isinstance(raw, list):
        raise ctx.error("changelog", _show(raw), "an array of [[changelog]] tables")
    out = []
    for i, t in enumerate(raw):
        t = _check_keys(ctx, t, _CHANGELOG_KEYS, f"changelog[{i}]")
        for key in ("version", "changes"):
            if key not in t:
                raise ctx.error(f"changelog[{i}].{key}", "nothing", f"changelog[{i}].{key} (required)")
        entry = {"version": _string(ctx, t["version"], f"changelog[{i}].version", pattern=VERSION)}
        if "date" in t:
            entry["date"] = _date(ctx, t["date"], f"changelog[{i}].date")
        entry["changes"] = _string(ctx, t["changes"], f"changelog[{i}].changes")
        out.append(entry)
    return out


def standard_from_dict(data: Any, *, origin: str = "<dict>", text: str | None = None) -> Standard:
    """Validate a TOML-shaped dictionary into a :class:`Standard` (raises :class:`StandardError`)."""
    ctx = _Ctx(origin, text)
    data = _check_keys(ctx, data, _TOP_KEYS, "")
    head = _head(ctx, data)
    quality = _quality(ctx, data["quality"]) if "quality" in data else Quality()
    metrics = _metrics(ctx, data, head)
    classes = _classes(ctx, data, metrics, head["grades"])
    limits = _limits(ctx, data, head["work_units"])
    calibration = _calibration(ctx, data["calibration"]) if "calibration" in data else None
    changelog = _changelog(ctx, data["changelog"]) if "changelog" in data else []
    return Standard(
        **head,
        metrics=metrics,
        classes=classes,
        quality=quality,
        limits=limits,
        calibration=calibration,
        changelog=changelog,
        source=origin,
    )


def leading_comments(text: str) -> str:
    """The comment block a TOML file opens with (``#`` and one space removed from each line)."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines).strip("\n")


def parse_standard(text: str, *, origin: str = "<text>") -> Standard:
    """Parse and validate TOML ``text``."""
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise StandardError(
            origin,
            "",
            "arrays or tables nested too deeply to parse",
            "a standard file (its tables and arrays nest a few levels deep)",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise StandardError(
            origin, "", f"malformed TOML ({exc})", "a valid TOML file", line=int(m.group(1)) if m else None
        ) from None
    std = standard_from_dict(data, origin=origin, text=text)
    std.comments = leading_comments(text)
    return std


def builtin_names() -> list[str]:
    """Names of the standards shipped with ecometer."""
    return sorted(n[: -len(".toml")] for n in datafiles.package_names("standards/builtin") if n.endswith(".toml"))


def builtin_text(name: str) -> str:
    return datafiles.package_text(f"standards/builtin/{name}.toml")


def load_standard(name_or_path: str | Path | Standard) -> Standard:
    """A standard from a TOML file path or a built-in name (see :func:`builtin_names`)."""
    if isinstance(name_or_path, Standard):
        return name_or_path
    spec = str(name_or_path)
    path = Path(spec)
    if isinstance(name_or_path, Path) or spec.endswith(".toml") or path.exists() or "/" in spec:
        if not os.path.lexists(spec):
            raise StandardError(
                spec, "", "no such file", f"a standard file, or a built-in name: one of {builtin_names()}"
            )
        text = read_text_file(
            spec,
            MAX_STANDARD_BYTES,
            what="standard",
            error=lambda msg: StandardError(spec, "", msg.removeprefix(f"{spec}: "), "a UTF-8 TOML file"),
        )
        return parse_standard(text, origin=spec)
    names = builtin_names()
    if spec not in names:
        raise StandardError(
            spec, "", "no built-in standard or file of that name", f"a file path or one of {names}{_hint(spec, names)}"
        )
    return copy.deepcopy(_parse_builtin(spec))  # Standard is mutable: each caller gets its own


@functools.cache
def _parse_builtin(name: str) -> Standard:
    """The built-in standard ``name``, read and validated once per process (never handed out)."""
    return parse_standard(builtin_text(name), origin=f"builtin:{name}")


__all__ = ["BUILTIN_PACKAGE", "GPU_HOUR", "builtin_names", "load_standard", "parse_standard", "standard_from_dict"]


def with_thresholds(std: Standard, metric: str, thresholds: list[float], class_name: str | None = None) -> Standard:
    """A validated copy of ``std`` with ``metric``'s thresholds replaced (for ``class_name`` if given)."""
    data = std.to_dict()
    if metric not in data["metrics"]:
        raise StandardError(std.source, f"metrics.{metric}", repr(metric), f"one of {sorted(data['metrics'])}")
    if class_name is None:
        data["metrics"][metric]["thresholds"] = list(thresholds)
    else:
        classes = data.get("classes", {})
        if class_name not in classes:
            raise StandardError(std.source, f"classes.{class_name}", repr(class_name), f"one of {sorted(classes)}")
        classes[class_name].setdefault("thresholds", {})[metric] = list(thresholds)
    return standard_from_dict(data, origin=std.source)
