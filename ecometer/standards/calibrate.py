"""Derive a standard's thresholds from a corpus of run records and published entries.

Three ways to cut a metric's range into bands: ``quantile`` (each grade gets about the same
number of records), ``equal-width`` (the range between the smallest and largest value is
cut into equal sections, as the AI Energy Score does) and ``geometric`` (equal ratios: each
grade allows the same factor more than the one above, so a given factor between two runs
spans the same number of grades anywhere in the range). Either per class of a base
standard, per combination of values of ``record.meta`` fields (``class_by``), or over all
records.

Edges are exact unless rounding them changes no grade of the corpus: they are rounded to
the fewest significant digits (3 or more) that keep every corpus record in its band, and
the ``[calibration]`` table says which. Classes need a minimum number of records
(``min_per_class``, by default one per band); duplicates (one name twice in a class) are
flagged. ``[calibration]`` records what was used: records given and used, why others were
skipped, records per class, the corpus's SHA-256, method, date and tool version.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import re
import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date as _date
from typing import Any

from ecometer._version import __version__
from ecometer.checks.numbers import Bounds, check_number, check_optional
from ecometer.errors import InputError, StandardError
from ecometer.record import RunRecord
from ecometer.standards.assess import grade_index, quality_reasons, record_problems
from ecometer.standards.loader import load_standard, standard_from_dict
from ecometer.standards.metrics import QUANTITIES, RUN, NotApplicable, _plural, cannot_be_negative, measure
from ecometer.standards.schema import Metric, Standard
from ecometer.standards.tables import bulk, reported_source

log = logging.getLogger(__name__)

METHODS = ("quantile", "equal-width", "geometric")
SMALL_CLASSES = ("refuse", "unrated", "merge")
_MIN_DIGITS = 3


# ---- band edges ------------------------------------------------------------------------------
#: why a record with an impossible energy is left out of a calibration (see assess.record_problems)
BAD_ENERGY = "a component energy is negative or not a finite number"


def exact_edges(values: list[float], bands: int, method: str, direction: str) -> list[float]:
    """``bands - 1`` unrounded edges, best grade first (increasing for lower-is-better)."""
    if method not in METHODS:
        raise InputError(f"calibration method {method!r} is not one of {list(METHODS)}")
    if bands < 2:
        raise InputError(f"bands must be 2 or more, got {bands}")
    vals = sorted(v for v in values if math.isfinite(v))
    if len(vals) < 2:
        raise InputError(f"{len(vals)} finite value(s): at least 2 are needed to place band edges")
    if method == "equal-width":
        lo, hi = vals[0], vals[-1]
        edges = [lo + k * (hi - lo) / bands for k in range(1, bands)]
    elif method == "geometric":  # equal ratios: equal-width bands of the logarithm
        lo, hi = vals[0], vals[-1]
        if lo <= 0:
            raise InputError(f"geometric bands need positive values; the smallest is {lo:g}")
        edges = [lo * (hi / lo) ** (k / bands) for k in range(1, bands)]
    else:
        import numpy as np

        edges = [float(np.quantile(vals, k / bands)) for k in range(1, bands)]
    if direction == "higher":
        edges = edges[::-1]
    if not _strict(edges, direction):
        raise InputError(
            f"the corpus gives band edges that are not distinct ({[f'{x:g}' for x in edges]}): "
            "it has too few distinct values for this many bands; add records or use fewer bands"
        )
    return edges


def _strict(xs: list[float], direction: str) -> bool:
    pairs = list(zip(xs, xs[1:], strict=False))
    return all(b > a for a, b in pairs) if direction == "lower" else all(b < a for a, b in pairs)


def round_edges(edges: list[float], values: list[float], direction: str) -> tuple[list[float], int | None]:
    """The edges rounded to the fewest significant digits (3 or more) that keep them strictly
    monotonic and leave every one of ``values`` in the band the exact edges put it in.

    Returns ``(edges, digits)``; ``digits`` is None when no rounding is safe (edges kept exact).
    """
    wanted = [grade_index(v, edges, direction) for v in values]
    for digits in range(_MIN_DIGITS, 16):
        rounded = [float(f"{x:.{digits}g}") for x in edges]
        if _strict(rounded, direction) and all(
            grade_index(v, rounded, direction) == g for v, g in zip(values, wanted, strict=True)
        ):
            return rounded, digits
    return list(edges), None


def band_edges(values: list[float], bands: int, method: str, direction: str) -> list[float]:
    """``bands - 1`` edges, rounded wherever rounding moves none of ``values`` to another band."""
    return round_edges(exact_edges(values, bands, method, direction), values, direction)[0]


# ---- what a calibration keeps track of ---------------------------------------------------------
@dataclass
class _Run:
    """One calibration: its options, and what it found (for ``[calibration]``)."""

    bands: int
    method: str
    min_per_class: int
    small_classes: str
    exact: bool
    given: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    per_class: dict[str, int] = field(default_factory=dict)
    unrated_small: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    digits: set[int | None] = field(default_factory=set)
    used: list[tuple[str, str, float]] = field(default_factory=list)
    metric: str = ""
    used_ids: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    def edges(self, label: str, pairs: list[tuple[RunRecord, float]], direction: str) -> list[float] | None:
        """Edges for one class (None when it is too small and small classes stay unrated)."""
        if len(pairs) < self.min_per_class:
            msg = (
                f"class {label} has {len(pairs)} record(s); at least {self.min_per_class} are needed "
                f"for {self.bands} bands"
            )
            if self.small_classes == "refuse":
                raise InputError(
                    f"{msg}: add records, lower the minimum (min_per_class / --min-per-class), or leave "
                    "such classes unrated or pool them (small_classes / --small-classes unrated or merge)"
                )
            log.warning("%s: the class is left unrated", msg)
            self.unrated_small.append(label)
            return None
        names = Counter(r.name for r, _ in pairs)
        twice = sorted(n for n, k in names.items() if k > 1)
        if twice:
            log.warning("class %s lists %s more than once: each counts as a record", label, ", ".join(twice))
            self.duplicates.extend(twice)
        values = [v for _, v in pairs]
        try:
            exact = exact_edges(values, self.bands, self.method, direction)
        except InputError as exc:
            raise InputError(f"class {label} ({len(pairs)} records): {exc}") from None
        self.used.extend((self.metric, r.name, v) for r, v in pairs)
        self.used_ids.update(id(r) for r, _ in pairs)
        self.sources.update(s for s in (reported_source(r) for r, _ in pairs) if s)
        if self.exact:
            self.digits.add(None)
            return exact
        rounded, digits = round_edges(exact, values, direction)
        self.digits.add(digits)
        return rounded

    def values(self, records: list[RunRecord], metric: Metric) -> list[tuple[RunRecord, float]]:
        out = []
        for r in records:
            problems = record_problems(r)
            if problems:  # counted under one reason; the log names the record and the value
                log.info("calibration skips record %r: %s", r.name, problems[0])
                self.skipped[BAD_ENERGY] += 1
                continue
            try:
                v = measure(metric.measure, r).central
            except NotApplicable as exc:
                self._skip(r, f"{metric.name} does not apply: {exc.reason}")
                continue
            if not math.isfinite(v):
                self._skip(r, f"{metric.name} is not a finite number")
            elif v < 0 and cannot_be_negative(metric.quantity):
                self._skip(r, f"{metric.name} is negative ({metric.quantity} cannot be)")
            else:
                out.append((r, v))
        return out

    def _skip(self, record: RunRecord, why: str) -> None:
        log.info("calibration skips record %r: %s", record.name, why)
        self.skipped[why] += 1

    def usable(self, records: list[RunRecord], std: Standard) -> list[RunRecord]:
        out = []
        for r in records:
            why = quality_reasons(std, r)
            if why:
                self._skip(r, "; ".join(why))
            else:
                out.append(r)
        return out

    def rounding(self) -> str:
        if self.digits == {None} or not self.digits:
            return "exact"
        if None in self.digits:
            return "exact where rounding would change a corpus grade, else rounded with no corpus grade changed"
        return f"{max(self.digits)} significant digits or fewer; no corpus grade changes"

    def metadata(self, metric: str, stamp: str) -> dict[str, Any]:
        used = sorted(self.used)
        digest = hashlib.sha256(json.dumps(used, allow_nan=False).encode()).hexdigest()
        cal: dict[str, Any] = {
            "method": self.method,
            "metric": metric,
            "records": len(self.used_ids),
            "records_given": self.given,
            "date": stamp,
            "tool": f"ecometer {__version__}",
            "corpus_sha256": digest,
            "rounding": self.rounding(),
            "min_per_class": self.min_per_class,
        }
        if self.per_class:
            cal["class_records"] = dict(self.per_class)
        if self.unrated_small:
            cal["classes_unrated"] = list(self.unrated_small)
        if self.duplicates:
            cal["duplicates"] = sorted(set(self.duplicates))
        if self.skipped:
            cal["skipped"] = [f"{n} x {why}" for why, n in self.skipped.most_common()]
        if self.sources:
            cal["corpus_sources"] = sorted(self.sources)
        return cal


# ---- entry point -------------------------------------------------------------------------------
@bulk()  # a large corpus: many small acyclic objects
def calibrate(
    records: Iterable[RunRecord],
    metric: str,
    bands: int = 5,
    method: str = "quantile",
    by_class: bool = True,
    *,
    base: Standard | str | None = None,
    per: str | None = None,
    scale: float | None = None,
    unit: str | None = None,
    work: str | None = None,
    grades: list[str] | None = None,
    class_by: str | list[str] = "task",
    name: str | None = None,
    title: str | None = None,
    version: str | None = None,
    date: str | None = None,
    min_per_class: int | None = None,
    small_classes: str = "refuse",
    exact: bool = False,
) -> Standard:
    """A standard whose thresholds for ``metric`` are cut from ``records``.

    With ``base`` (a standard or its name/path), ``metric`` names one of its metrics and
    the result is ``base`` with that metric's thresholds recalibrated, per class when
    ``by_class`` (classes with no records keep their thresholds, listed in
    ``calibration.classes_kept``); records that miss the base's quality requirements are
    left out. Without ``base``, ``metric`` is a quantity (``gpu_energy_j`` ...) normalised
    by ``per``/``scale`` in ``unit``; with ``by_class`` one class is made per combination of
    the ``record.meta`` fields ``class_by`` (a name, a list, or names joined by commas) plus an
    unrated default class for the rest.

    ``min_per_class`` (default: ``bands``) is the fewest records a class may be calibrated
    from; a smaller class is refused (``small_classes = "refuse"``), left unrated
    (``"unrated"``), or pooled with the other small classes into one (``"merge"``; with a
    base standard, whose classes are fixed, a small class keeps its edges). ``exact`` keeps
    edges unrounded.
    """
    run = _start(method, bands, min_per_class, small_classes, exact)
    recs = list(records)
    if not recs:
        raise InputError("calibration needs at least one record")
    run.given = len(recs)
    stamp = date or _date.today().isoformat()
    if base is not None:
        if any(x is not None for x in (per, scale, unit, work, grades)):
            raise InputError("per, scale, unit, work and grades come from the base standard; leave them out")
        return _recalibrate(run, recs, load_standard(base), metric, by_class, (name, title, version), stamp)
    fields = _fields(class_by)
    scale = check_optional(scale, "scale", Bounds(above=0))  # a number of functional units (1000 per 1,000 queries)
    data, mname = _new_standard(metric, bands, method, per, scale, unit, work, grades, (name, title, version), recs)
    std = standard_from_dict(data, origin="<calibration>")  # validates the measure before any work
    run.metric = mname
    pairs = run.values(recs, std.metrics[mname])
    if not pairs:
        raise InputError(f"{mname} applies to none of the {len(recs)} records ({_why(run)})")
    groups = _groups(pairs, fields) if by_class else {}
    if set(groups) <= {()}:
        if by_class:
            log.warning("no record has meta %s; calibrating one set of thresholds over all records", fields)
        data["metrics"][mname]["thresholds"] = run.edges("(all records)", pairs, QUANTITIES[metric].direction)
        if data["metrics"][mname]["thresholds"] is None:  # too few records and small classes unrated
            raise InputError(f"{len(pairs)} records: fewer than the minimum of {run.min_per_class}")
    else:
        data["classes"] = _new_classes(run, groups, fields, mname, QUANTITIES[metric].direction)
        del data["metrics"][mname]["thresholds"]
    data["calibration"] = run.metadata(mname, stamp)
    return standard_from_dict(data, origin="<calibration>")


def _start(method: str, bands: int, min_per_class: int | None, small_classes: str, exact: bool) -> _Run:
    if method not in METHODS:
        raise InputError(f"calibration method {method!r} is not one of {list(METHODS)}")
    bands = int(check_number(bands, "bands", Bounds(low=2, high=100, integer=True)))
    minimum = bands if min_per_class is None else min_per_class
    minimum = int(check_number(minimum, "min_per_class", Bounds(low=2, high=1e9, integer=True)))
    if small_classes not in SMALL_CLASSES:
        raise InputError(f"small_classes {small_classes!r} is not one of {list(SMALL_CLASSES)}")
    return _Run(bands, method, minimum, small_classes, exact)


def _why(run: _Run) -> str:
    return "; ".join(f"{n} x {why}" for why, n in run.skipped.most_common(3)) or "no reason recorded"


def _fields(class_by: str | list[str]) -> list[str]:
    fields = [f.strip() for f in class_by.split(",")] if isinstance(class_by, str) else list(class_by)
    if not fields or not all(fields):
        raise InputError(f"class_by {class_by!r}: expected record.meta field names")
    return fields


def metric_name(quantity: str, per: str, scale: float = 1.0) -> str:
    """A metric name that says its functional unit: ``gpu_energy_per_1k_queries``."""
    base = re.sub(r"_(j|l|g|w)$", "", quantity)
    if per == RUN:
        return base
    if scale == 1:
        return f"{base}_per_{per}"
    amount = {1e3: "1k", 1e6: "1m", 1e9: "1g"}.get(scale, f"{scale:g}".replace(".", "_").replace("+", ""))
    return f"{base}_per_{amount}_{_plural(per)}"


def _new_standard(
    metric: str,
    bands: int,
    method: str,
    per: str | None,
    scale: float | None,
    unit: str | None,
    work: str | None,
    grades: list[str] | None,
    naming: tuple[str | None, str | None, str | None],
    recs: list[RunRecord],
) -> tuple[dict[str, Any], str]:
    """The TOML-shaped dictionary of a new one-metric standard (provisional thresholds)."""
    if metric not in QUANTITIES:
        raise InputError(f"unknown quantity {metric!r}; expected one of {list(QUANTITIES)}")
    if bands > 26 and not grades:
        raise InputError("more than 26 bands need explicit grade labels")
    labels = grades or list(string.ascii_uppercase[:bands])
    if len(labels) != bands:
        raise InputError(f"{len(labels)} grade labels {labels} for {bands} bands; give one label per band")
    q = QUANTITIES[metric]
    per = per or RUN
    table: dict[str, Any] = {"quantity": metric}
    if per != RUN:
        table["per"] = per
    if scale is not None and scale != 1:
        table["scale"] = scale
    if work is not None:
        table["work"] = work
    table["unit"] = unit or q.default_unit
    table["direction"] = q.direction
    provisional = [float(k) for k in range(1, bands)]
    table["thresholds"] = provisional if q.direction == "lower" else provisional[::-1]
    mname = metric_name(metric, per, scale or 1.0)
    name, title, version = naming
    head = {
        "name": name or f"calibrated-{mname}",
        "title": title or f"{mname} calibrated from {len(recs)} records ({method})",
        "version": version or "0.1.0",
        "grades": labels,
        "combine": "worst",
        "bands": method,
    }
    return {"standard": head, "metrics": {mname: table}}, mname


def _groups(pairs: list[tuple[RunRecord, float]], fields: list[str]) -> dict[tuple, list[tuple[RunRecord, float]]]:
    """Records by their values of ``fields`` (only the fields a record has; () for none)."""
    groups: dict[tuple, list[tuple[RunRecord, float]]] = {}
    for r, v in pairs:
        meta = r.meta or {}
        key = tuple((f, meta[f]) for f in fields if isinstance(meta.get(f), (str, int, bool)))
        groups.setdefault(key, []).append((r, v))
    keys = [k for k in groups if k]
    for a in keys:
        for b in keys:
            if a != b and set(a) < set(b):
                raise InputError(
                    f"records with {_rule(a)} both have and lack {', '.join(f for f, _ in b if (f, _) not in a)}: "
                    "class by fields every record of a group has"
                )
    return groups


def _rule(key: tuple) -> str:
    return ", ".join(f"{f} = {v!r}" for f, v in key)


def _class_name(value: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-") or "class"
    out, i = name, 2
    while out in taken:
        out, i = f"{name}-{i}", i + 1
    return out


def _merge_small(run: _Run, groups: dict[tuple, list]) -> dict[Any, list]:
    """``groups`` with the classes below the minimum pooled into one (``small_classes = "merge"``).

    The merged class matches any of the small classes' values on each field; a merge that
    would also take records of a class that is kept, or that is still too small, is refused.
    """
    small = [k for k, v in groups.items() if k and len(v) < run.min_per_class]
    if run.small_classes != "merge" or len(small) < 1:
        return dict(groups)
    fields = {tuple(f for f, _ in k) for k in small}
    pooled = [p for k in small for p in groups[k]]
    names = "; ".join(_rule(k) for k in small)
    if len(fields) != 1 or len(pooled) < run.min_per_class:
        why = "they class by different fields" if len(fields) != 1 else f"together they have {len(pooled)} records"
        raise InputError(
            f"cannot merge the small classes ({names}): {why}; at least {run.min_per_class} are needed "
            "(lower --min-per-class, or --small-classes unrated)"
        )
    rule = {f: sorted({v for k in small for g, v in k if g == f}, key=str) for f in next(iter(fields))}
    for k in groups:
        if k and k not in small and all(f in rule and v in rule[f] for f, v in k):
            raise InputError(
                f"cannot merge the small classes ({names}): the merged rule would also take the records of "
                f"{_rule(k)}; use --small-classes unrated"
            )
    out = {k: v for k, v in groups.items() if k not in small}
    out[("merged", tuple((f, tuple(vs)) for f, vs in rule.items()))] = pooled
    log.warning("classes %s have fewer than %d records each: merged into one class", names, run.min_per_class)
    return out


def _new_classes(run: _Run, groups: dict[tuple, list], fields: list[str], mname: str, direction: str) -> dict:
    classes: dict[str, Any] = {}
    taken: set[str] = set()
    for key, pairs in _merge_small(run, groups).items():
        if not key:
            continue
        if key[0] == "merged":
            match = {f: list(vs) for f, vs in key[1]}
            cname = _class_name("merged-" + "-".join(str(v) for vs in match.values() for v in vs), taken)
            label = f"{cname} ({', '.join(f'{f} in {vs}' for f, vs in match.items())})"
        else:
            match = dict(key)
            cname = _class_name("-".join(str(v) for _, v in key), taken)
            label = f"{cname} ({_rule(key)})"
        taken.add(cname)
        run.per_class[cname] = len(pairs)
        edges = run.edges(label, pairs, direction)
        cls: dict[str, Any] = {"match": match}
        if edges is None:
            cls.update(rated=False, description=f"{len(pairs)} records: fewer than {run.min_per_class}, not rated")
        else:
            cls["thresholds"] = {mname: edges}
        classes[cname] = cls
    classes[_class_name("unclassified", taken)] = {
        "default": True,
        "rated": False,
        "description": f"records whose meta {', '.join(fields)} matched no class of the calibration corpus",
    }
    return classes


# ---- recalibrating a standard ------------------------------------------------------------------
def _recalibrate(
    run: _Run,
    recs: list[RunRecord],
    base: Standard,
    metric: str,
    by_class: bool,
    naming: tuple[str | None, str | None, str | None],
    stamp: str,
) -> Standard:
    metrics = _fields(metric)
    for name in metrics:
        if name not in base.metrics:
            raise StandardError(base.source, f"metrics.{name}", repr(name), f"one of the metrics {list(base.metrics)}")
    if run.bands != len(base.grades):
        raise InputError(f"{base.name} has {len(base.grades)} grades {base.grades}; bands must be {len(base.grades)}")
    usable = run.usable(recs, base)
    data = copy.deepcopy(base.to_dict())
    kept: list[str] = []
    for name in metrics:
        run.metric = name
        _recalibrate_metric(run, base, data, name, usable, by_class, kept)
    label = ", ".join(metrics)
    _refresh_head(data["standard"], run, naming, label, stamp)
    cal = run.metadata(label, stamp)
    if kept:
        cal["classes_kept"] = sorted(set(kept), key=kept.index)
    data["calibration"] = cal
    out = standard_from_dict(data, origin="<calibration>")
    out.comments = base.comments
    return out


def _recalibrate_metric(
    run: _Run,
    base: Standard,
    data: dict[str, Any],
    metric: str,
    usable: list[RunRecord],
    by_class: bool,
    kept: list[str],
) -> None:
    m = base.metrics[metric]
    pairs = run.values(usable, m)
    if not pairs:
        raise InputError(
            f"{metric} applies to none of the {run.given} records that meet {base.name}'s quality requirements "
            f"({_why(run)})"
        )
    if by_class and base.classes:
        kept.extend(_recalibrate_classes(run, base, data, metric, pairs))
        return
    edges = run.edges("(all records)", pairs, m.direction)
    if edges is None:
        raise InputError(f"{len(pairs)} records: fewer than the minimum of {run.min_per_class}")
    data["metrics"][metric]["thresholds"] = edges
    for c in data.get("classes", {}).values():
        c.get("thresholds", {}).pop(metric, None)
        if "thresholds" in c and not c["thresholds"]:
            del c["thresholds"]


def _recalibrate_classes(
    run: _Run, base: Standard, data: dict[str, Any], metric: str, pairs: list[tuple[RunRecord, float]]
) -> list[str]:
    """New edges per rated class of ``base`` in ``data``; returns the classes whose edges were kept."""
    groups: dict[str, list[tuple[RunRecord, float]]] = {}
    for r, v in pairs:
        cls, _ = base.classify(r)
        if cls is not None and cls.rated:
            groups.setdefault(cls.name, []).append((r, v))
    kept: list[str] = []
    for cname, cls in base.classes.items():
        if not cls.rated:
            continue
        members = groups.get(cname, [])
        run.per_class.setdefault(cname, len(members))
        edges = run.edges(cname, members, base.metrics[metric].direction) if members else None
        if edges is None:
            log.warning("class %s: too few records, its %s thresholds are kept as they were", cname, metric)
            kept.append(cname)
            run.unrated_small = [c for c in run.unrated_small if c != cname]
            edges = base.thresholds_for(metric, cname)
            if edges is None:
                continue
        data["classes"][cname].setdefault("thresholds", {})[metric] = list(edges)
    return kept


_STALE = re.compile(r"\s*(Initial values to be calibrated|Snapshot thresholds to be recalibrated)\.?", re.IGNORECASE)


def _refresh_head(
    head: dict[str, Any], run: _Run, naming: tuple[str | None, str | None, str | None], metric: str, stamp: str
) -> None:
    """Name, title, version as asked; a description that says how the thresholds were set."""
    head["bands"] = run.method
    name, title, version = naming
    for key, value in (("name", name), ("title", title), ("version", version)):
        if value:
            head[key] = value
    desc = _STALE.sub("", head.get("description", "")).strip()
    desc = re.sub(r"\s*Thresholds of \S+ calibrated .*$", "", desc)
    n = len(run.used)
    note = f"Thresholds of {metric} calibrated ({run.method}) from {n} records on {stamp}."
    head["description"] = f"{desc} {note}".strip()
