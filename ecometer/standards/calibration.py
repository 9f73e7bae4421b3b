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

import bisect
import copy
import hashlib
import json
import logging
import math
import re
import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date as _date
from typing import Any

from ecometer._version import __version__
from ecometer.checks.numbers import Bounds, check_number
from ecometer.errors import InputError, StandardError
from ecometer.record.model import RunRecord
from ecometer.standards.assess import quality_reasons, record_problems
from ecometer.standards.loader import load_standard, standard_from_dict
from ecometer.standards.metrics import QUANTITIES, RUN, NotApplicable, cannot_be_negative, measure, plural
from ecometer.standards.reported import is_reported, reported_source
from ecometer.standards.schema import Metric, Standard, match_value
from ecometer.standards.tables import bulk

log = logging.getLogger(__name__)

METHODS = ("quantile", "equal-width", "geometric")
SMALL_CLASSES = ("refuse", "unrated", "merge")
_MIN_DIGITS = 3

#: a number of functional units a metric is per (1000: per 1,000 queries); beyond these, the
#: values over- or underflow a float
SCALE = Bounds(low=1e-9, high=1e12)


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
    if any(map(math.isnan, values)):
        raise ValueError("cannot grade NaN")  # as grade_index says
    ordered = sorted(values)
    for digits in range(_MIN_DIGITS, 16):
        rounded = [float(f"{x:.{digits}g}") for x in edges]
        if _strict(rounded, direction) and not _moved(ordered, edges, rounded, direction):
            return rounded, digits
    return list(edges), None


def _moved(ordered: list[float], edges: list[float], rounded: list[float], direction: str) -> bool:
    """Whether any of the sorted values is in another band with ``rounded`` than with ``edges``
    (both strictly monotonic): one lies between an edge and its rounding, on the side the edge
    moved past (an edge belongs to the better grade), or it is graded the same by both."""
    for e, r in zip(edges, rounded, strict=True):
        lo, hi = min(e, r), max(e, r)
        if direction == "lower":  # v <= edge is the better band: v in (lo, hi] changes
            inside = bisect.bisect_right(ordered, hi) - bisect.bisect_right(ordered, lo)
        else:  # v >= edge is the better band: v in [lo, hi) changes
            inside = bisect.bisect_left(ordered, hi) - bisect.bisect_left(ordered, lo)
        if inside:
            return True
    return False


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
        parts = {id(r.components): r for r, _ in pairs}  # corpus entries of one source share their components
        self.sources.update(s for s in map(reported_source, parts.values()) if s)
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
EMPTY_CLASSES = ("keep", "drop")


@dataclass
class CalibrationOptions:
    """What :func:`calibrate` cuts, and how (the options of ``ecometer calibrate``).

    ``metric`` is a quantity (``gpu_energy_j`` ...) normalised by ``per``/``scale`` in ``unit``
    for a new standard, or with ``base`` (a standard or its name/path) one or more of its
    metrics (names joined by commas). ``class_by``: the ``record.meta`` field(s) a new standard
    classes by. ``min_per_class`` (default: ``bands``) is the fewest records a class is cut
    from; a smaller one is refused, left ``unrated`` or ``merge``-d (``small_classes``).
    ``empty_classes``: with a base, what becomes of a rated class no record falls in (``keep``
    its edges, or ``drop`` it: not rated). ``exact`` keeps edges unrounded. ``name``, ``title``,
    ``version`` and ``date`` name the result (a recalibration is the base's next version by default).
    ``reference_site``: the site preset the records' footprints are at (water metrics), named in the result.
    """

    metric: str
    bands: int = 5
    method: str = "quantile"
    by_class: bool = True
    base: Standard | str | None = None
    per: str | None = None
    scale: float | None = None
    unit: str | None = None
    work: str | None = None
    grades: list[str] | None = None
    class_by: str | list[str] = "task"
    name: str | None = None
    title: str | None = None
    version: str | None = None
    date: str | None = None
    min_per_class: int | None = None
    small_classes: str = "refuse"
    exact: bool = False
    empty_classes: str = "keep"
    #: the site preset the corpus was footprinted at: the result's ``reference_site``
    reference_site: str | None = None

    @property
    def naming(self) -> tuple[str | None, str | None, str | None]:
        return self.name, self.title, self.version


@bulk()  # a large corpus: many small acyclic objects
def calibrate(records: Iterable[RunRecord], options: CalibrationOptions | str, /, **changes: Any) -> Standard:
    """A standard whose thresholds are cut from ``records`` (see :class:`CalibrationOptions`).

    ``options`` is a :class:`CalibrationOptions`, or the metric with the other options as
    keywords (``calibrate(records, "gpu_energy_j", per="query", scale=1000)``).

    Without a base, one class is made per combination of the ``class_by`` fields plus an unrated
    default class for the rest; a corpus of reported figures gives a standard that accepts them
    (``quality.accept_reported``), and one whose records all name a task applies to those tasks.
    With a base, the result is the base's next version: its named metrics recalibrated per class
    (classes with no records kept or dropped), the other metrics listed as kept, records that
    miss its quality requirements left out, and a changelog entry saying what changed.
    """
    opts = options if isinstance(options, CalibrationOptions) else CalibrationOptions(metric=options)
    if changes:
        opts = replace(opts, **changes)
    run = _start(opts.method, opts.bands, opts.min_per_class, opts.small_classes, opts.exact)
    opts = replace(opts, bands=run.bands)  # checked: a whole number (2.0 -> 2)
    if opts.empty_classes not in EMPTY_CLASSES:
        raise InputError(f"empty_classes {opts.empty_classes!r} is not one of {list(EMPTY_CLASSES)}")
    from ecometer.standards.columns import EntryColumns  # numpy: published tables only

    columnar = isinstance(records, EntryColumns)
    if columnar and opts.base is None:  # read by column: a RunRecord only for a row the column rule misses
        recs: Any = records
    else:
        recs = list(records.records() if columnar else records)  # type: ignore[attr-defined]
    if not len(recs):
        raise InputError("calibration needs at least one record")
    run.given = len(recs)
    stamp = opts.date or _date.today().isoformat()
    if opts.base is not None:
        if any(x is not None for x in (opts.per, opts.scale, opts.unit, opts.work, opts.grades)):
            raise InputError("per, scale, unit, work and grades come from the base standard; leave them out")
        return _recalibrate(run, recs, load_standard(opts.base), opts, stamp)
    return _calibrate_new(run, recs, opts, stamp)


def _calibrate_new(run: _Run, recs: list[RunRecord], opts: CalibrationOptions, stamp: str) -> Standard:
    metric, fields = opts.metric, _fields(opts.class_by)
    if opts.scale is not None:  # a number of functional units (1000 per 1,000 queries)
        opts = replace(opts, scale=check_number(opts.scale, "scale", SCALE))
    data, mname = _new_standard(metric, opts, recs)
    std = standard_from_dict(data, origin="<calibration>")  # validates the measure before any work
    run.metric = mname
    metric_std = std.metrics[mname]
    if hasattr(recs, "pairs"):  # EntryColumns
        pairs = recs.pairs(metric_std, lambda rs: run.values(rs, metric_std))
    else:
        pairs = run.values(recs, metric_std)
    if not pairs:
        raise InputError(f"{mname} applies to none of the {len(recs)} records ({_why(run)})")
    groups = _groups(pairs, fields) if opts.by_class else {}
    if set(groups) <= {()}:
        if opts.by_class:
            log.warning("no record has meta %s; calibrating one set of thresholds over all records", fields)
        data["metrics"][mname]["thresholds"] = run.edges("(all records)", pairs, QUANTITIES[metric].direction)
        if data["metrics"][mname]["thresholds"] is None:  # too few records and small classes unrated
            raise InputError(f"{len(pairs)} records: fewer than the minimum of {run.min_per_class}")
    else:
        data["classes"] = _new_classes(run, groups, fields, mname, QUANTITIES[metric].direction)
        del data["metrics"][mname]["thresholds"]
    used = [r for r, _ in pairs if id(r) in run.used_ids]
    _accept_reported(data, used)
    tasks = _scope(used, "task")
    if tasks is not None:
        data["standard"]["applies_to"] = {"task": tasks}
    if opts.reference_site:
        data["standard"]["reference_site"] = opts.reference_site
    data["calibration"] = run.metadata(mname, stamp)
    return standard_from_dict(data, origin="<calibration>")


def _accept_reported(data: dict[str, Any], used: list[RunRecord]) -> None:
    """A standard cut from reported figures accepts reported figures (else it would rate none of its corpus)."""
    kinds = Counter(id(r.components) for r in used)  # corpus entries of one source share their components
    first = {id(r.components): r for r in used}
    n = sum(k for key, k in kinds.items() if is_reported(first[key]))
    if n:
        data.setdefault("quality", {})["accept_reported"] = True
        log.warning(
            "%d of the %d records calibrated from are reported figures: the standard accepts reported "
            "figures (quality.accept_reported = true); remove it to rate measured runs only",
            n,
            len(used),
        )


def _scope(used: list[RunRecord], field_name: str) -> list[Any] | None:
    """The values of ``field_name`` among the records (None unless every record has one)."""
    values = [(r.meta or {}).get(field_name) for r in used]
    if not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
        return None
    return sorted(set(values), key=str)


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
    return f"{base}_per_{amount}_{plural(per)}"


def _new_standard(metric: str, opts: CalibrationOptions, recs: list[RunRecord]) -> tuple[dict[str, Any], str]:
    """The TOML-shaped dictionary of a new one-metric standard (provisional thresholds)."""
    bands, grades, per, scale = opts.bands, opts.grades, opts.per, opts.scale
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
    if opts.work is not None:
        table["work"] = opts.work
    table["unit"] = opts.unit or q.default_unit
    table["direction"] = q.direction
    provisional = [float(k) for k in range(1, bands)]
    table["thresholds"] = provisional if q.direction == "lower" else provisional[::-1]
    mname = metric_name(metric, per, scale or 1.0)
    name, title, version = opts.naming
    head = {
        "name": name or f"calibrated-{mname}",
        "title": title or f"{mname} calibrated from {len(recs)} records ({opts.method})",
        "version": version or "0.1.0",
        "grades": labels,
        "combine": "worst",
        "bands": opts.method,
    }
    return {"standard": head, "metrics": {mname: table}}, mname


def _groups(pairs: list[tuple[RunRecord, float]], fields: list[str]) -> dict[tuple, list[tuple[RunRecord, float]]]:
    """Records by their values of ``fields`` (only the fields a record has; () for none)."""
    groups: dict[tuple, list[tuple[RunRecord, float]]] = {}
    keys_of: dict[int, tuple] = {}  # a meta dictionary many corpus entries share is read once
    empty: dict[str, Any] = {}
    for pair in pairs:
        meta = pair[0].meta or empty
        key = keys_of.get(id(meta))
        if key is None:
            key = keys_of[id(meta)] = tuple((f, meta[f]) for f in fields if isinstance(meta.get(f), (str, int, bool)))
        groups.setdefault(key, []).append(pair)
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

    The merged class matches any of the small classes' values on each field. When the small
    classes together are still too few (a lone small class), they join their nearest class of
    the same fields (the one whose median value is closest, as a ratio). A merge that would
    also take records of a class that is kept is refused.
    """
    small = [k for k, v in groups.items() if k and len(v) < run.min_per_class]
    if run.small_classes != "merge" or len(small) < 1:
        return dict(groups)
    fields = {tuple(f for f, _ in k) for k in small}
    pooled = [p for k in small for p in groups[k]]
    names = "; ".join(_rule(k) for k in small)
    if len(fields) != 1:
        raise InputError(
            f"cannot merge the small classes ({names}): they class by different fields "
            "(lower --min-per-class, or --small-classes unrated)"
        )
    joined = list(small)
    if len(pooled) < run.min_per_class:
        near = _nearest(run, groups, small)
        if near is None:
            raise InputError(
                f"cannot merge the small classes ({names}): together they have {len(pooled)} records and no class "
                f"of the same fields can take them; at least {run.min_per_class} are needed "
                "(lower --min-per-class, or --small-classes unrated)"
            )
        log.warning("classes %s: %d record(s), pooled with their nearest class (%s)", names, len(pooled), _rule(near))
        joined.append(near)
    rule = _merged_rule(joined)
    taken = _taken(groups, joined, rule)
    if taken is not None:
        raise InputError(
            f"cannot merge the small classes ({names}): the merged rule would also take the records of "
            f"{_rule(taken)}; use --small-classes unrated"
        )
    out = {k: v for k, v in groups.items() if k not in joined}
    out[("merged", tuple((f, tuple(vs)) for f, vs in rule.items()))] = [p for k in joined for p in groups[k]]
    log.warning("classes %s have fewer than %d records each: merged into one class", names, run.min_per_class)
    return out


def _merged_rule(keys: list[tuple]) -> dict[str, list[Any]]:
    fields = [f for f, _ in keys[0]]
    return {f: sorted({v for k in keys for g, v in k if g == f}, key=str) for f in fields}


def _taken(groups: dict[tuple, list], joined: list[tuple], rule: dict[str, list[Any]]) -> tuple | None:
    """A class outside ``joined`` whose records the merged ``rule`` would also take (None if none)."""
    for k in groups:
        if k and k not in joined and all(f in rule and v in rule[f] for f, v in k):
            return k
    return None


def _nearest(run: _Run, groups: dict[tuple, list], small: list[tuple]) -> tuple | None:
    """The class of the same fields nearest the small ones (median value, as a ratio) that
    can be merged with them without taking a third class's records."""
    fields = [f for f, _ in small[0]]

    def median(pairs: list[tuple[RunRecord, float]]) -> float:
        vals = sorted(v for _, v in pairs)
        return vals[len(vals) // 2]

    here = median([p for k in small for p in groups[k]])
    best: tuple[float, tuple] | None = None
    for k, pairs in groups.items():
        if not k or k in small or [f for f, _ in k] != fields or len(pairs) < run.min_per_class:
            continue
        if _taken(groups, [*small, k], _merged_rule([*small, k])) is not None:
            continue
        there = median(pairs)
        far = abs(math.log(there / here)) if here > 0 and there > 0 else abs(there - here)
        if best is None or far < best[0]:
            best = (far, k)
    return None if best is None else best[1]


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


# ---- recalibrating a standard: its next version ------------------------------------------------
@dataclass
class _Outcome:
    """What a recalibration did to the base's classes (for ``[calibration]`` and the changelog)."""

    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    recalibrated: dict[str, int] = field(default_factory=dict)


def _recalibrate(run: _Run, recs: list[RunRecord], base: Standard, opts: CalibrationOptions, stamp: str) -> Standard:
    metrics = _fields(opts.metric)
    for name in metrics:
        if name not in base.metrics:
            raise StandardError(base.source, f"metrics.{name}", repr(name), f"one of the metrics {list(base.metrics)}")
    if run.bands != len(base.grades):
        raise InputError(f"{base.name} has {len(base.grades)} grades {base.grades}; bands must be {len(base.grades)}")
    version = next_version(base, opts)
    usable = run.usable(recs, base)
    data = copy.deepcopy(base.to_dict())
    outcome = _Outcome()
    for name in metrics:
        run.metric = name
        _recalibrate_metric(run, base, data, name, usable, opts, outcome)
    label = ", ".join(metrics)
    others = [m for m in base.metrics if m not in metrics]
    if others:
        log.warning("%s: thresholds kept from %s %s, not recalibrated", ", ".join(others), base.name, base.version)
    scope = _rescope(data["standard"], base, [r for r in usable if id(r) in run.used_ids])
    if opts.reference_site and opts.reference_site != base.reference_site:
        data["standard"]["reference_site"] = opts.reference_site
        scope.append(f"reference site {opts.reference_site} (was {base.reference_site or 'none'})")
    _refresh_head(data["standard"], run, opts, label, stamp)
    data["standard"]["version"] = version
    if (opts.name or base.name) == base.name:
        data["standard"]["supersedes"] = f"{base.name} {base.version}"
    cal = run.metadata(label, stamp)
    for key, names in (("classes_kept", outcome.kept), ("classes_dropped", outcome.dropped), ("metrics_kept", others)):
        if names:
            cal[key] = sorted(set(names), key=names.index)
    data["calibration"] = cal
    entry = {"version": version, "date": stamp, "changes": _changes(base, run, outcome, cal, scope)}
    data["changelog"] = [*data.get("changelog", []), entry]
    out = standard_from_dict(data, origin="<calibration>")
    out.comments = base.comments
    return out


def next_version(base: Standard, opts: CalibrationOptions) -> str:
    """The version a recalibration of ``base`` gets: the one asked for, else the next minor version
    (``0.2.0`` -> ``0.3.0``). The same name and version as the base is refused: thresholds changed."""
    if opts.version:
        if opts.version == base.version and (opts.name or base.name) == base.name:
            raise InputError(
                f"{base.name} {base.version} is the version being recalibrated: a recalibration is a new version "
                "(give another --version, or leave it out for the next one)"
            )
        return opts.version
    core = re.split(r"[-+]", base.version, maxsplit=1)[0]
    nums = [int(x) for x in core.split(".")]
    if len(nums) == 1:
        return str(nums[0] + 1)
    return ".".join([str(nums[0]), str(nums[1] + 1), *["0"] * (len(nums) - 2)])


def _rescope(head: dict[str, Any], base: Standard, used: list[RunRecord]) -> list[str]:
    """``applies_to`` rewritten for the corpus: a field every used record names covers the
    values they name, unless the base already covers them all. Returns what changed, in words."""
    changes = []
    for f, rule in base.applies_to.items():
        values = _scope(used, f)
        if values is not None and not all(match_value(rule, v) for v in values):
            head["applies_to"][f] = values
            changes.append(f"applies to {f} {values} (was {rule})")
    return changes


def _changes(base: Standard, run: _Run, outcome: _Outcome, cal: dict[str, Any], scope: list[str]) -> str:
    """The changelog text of a recalibration: corpus, counts, and what changed."""
    sources = "; ".join(cal.get("corpus_sources", [])) or "measured run records"
    parts = [
        f"{cal['metric']} recalibrated ({run.method}, {run.bands} bands) from {cal['records']} of "
        f"{cal['records_given']} records of {sources} (corpus SHA-256 {cal['corpus_sha256'][:12]})"
    ]
    if outcome.recalibrated:
        parts.append("classes recalibrated: " + ", ".join(f"{c} ({n})" for c, n in outcome.recalibrated.items()))
    if outcome.kept:
        kept = ", ".join(dict.fromkeys(outcome.kept))
        parts.append(f"classes kept from {base.version} (no or too few records): {kept}")
    if outcome.dropped:
        parts.append(f"classes dropped (no records; not rated): {', '.join(dict.fromkeys(outcome.dropped))}")
    if cal.get("metrics_kept"):
        parts.append(f"metrics kept from {base.version}, not recalibrated: {', '.join(cal['metrics_kept'])}")
    return "; ".join(parts + scope)


def _recalibrate_metric(
    run: _Run,
    base: Standard,
    data: dict[str, Any],
    metric: str,
    usable: list[RunRecord],
    opts: CalibrationOptions,
    outcome: _Outcome,
) -> None:
    m = base.metrics[metric]
    pairs = run.values(usable, m)
    if not pairs:
        raise InputError(
            f"{metric} applies to none of the {run.given} records that meet {base.name}'s quality requirements "
            f"({_why(run)})"
        )
    if opts.by_class and base.classes:
        _recalibrate_classes(run, base, data, metric, pairs, opts, outcome)
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
    run: _Run,
    base: Standard,
    data: dict[str, Any],
    metric: str,
    pairs: list[tuple[RunRecord, float]],
    opts: CalibrationOptions,
    outcome: _Outcome,
) -> None:
    """New edges per rated class of ``base`` in ``data``; a class with no records is kept or
    dropped (``opts.empty_classes``), one with too few keeps its edges."""
    groups: dict[str, list[tuple[RunRecord, float]]] = {}
    for r, v in pairs:
        cls, _ = base.classify(r)
        if cls is not None and cls.rated:
            groups.setdefault(cls.name, []).append((r, v))
    for cname, cls in base.classes.items():
        if not cls.rated:
            continue
        members = groups.get(cname, [])
        run.per_class.setdefault(cname, len(members))
        if not members and opts.empty_classes == "drop":
            _drop_class(data["classes"][cname], base, cname)
            outcome.dropped.append(cname)
            continue
        edges = run.edges(cname, members, base.metrics[metric].direction) if members else None
        if edges is None:
            log.warning("class %s: %d record(s), its %s thresholds are kept as they were", cname, len(members), metric)
            outcome.kept.append(cname)
            run.unrated_small = [c for c in run.unrated_small if c != cname]
            edges = base.thresholds_for(metric, cname)
            if edges is None:
                continue
        else:
            outcome.recalibrated[cname] = len(members)
        data["classes"][cname].setdefault("thresholds", {})[metric] = list(edges)


def _drop_class(cls: dict[str, Any], base: Standard, cname: str) -> None:
    log.warning("class %s: no record of the corpus falls in it; dropped (not rated)", cname)
    cls.pop("thresholds", None)
    cls["rated"] = False
    was = f" {cls['description']}" if cls.get("description") else ""
    cls["description"] = f"not rated since the recalibration of {base.name} {base.version}: no records.{was}"


_STALE = re.compile(r"\s*(Initial values to be calibrated|Snapshot thresholds to be recalibrated)\.?", re.IGNORECASE)
#: a clause that says what corpus the thresholds came from ("...; seven bands calibrated on X (..).")
_CORPUS_CLAUSE = re.compile(r"[;,]?\s*[^;.]*\bcalibrated (?:on|from)\b.*?\.(?=\s|$)")


def _refresh_head(head: dict[str, Any], run: _Run, opts: CalibrationOptions, metric: str, stamp: str) -> None:
    """Name, title, version as asked; a description that says how the thresholds were set and
    from what (the base's own words on its old corpus taken out)."""
    head["bands"] = run.method
    for key, value in zip(("name", "title", "version"), opts.naming, strict=True):
        if value:
            head[key] = value
    desc = _STALE.sub("", head.get("description", "")).strip()
    desc = re.sub(r"\s*Thresholds of .* calibrated .*$", "", desc)
    desc = _CORPUS_CLAUSE.sub(".", desc).strip()
    desc = re.sub(r"\.\.$", ".", desc)
    sources = sorted(run.sources)
    what = f" of {'; '.join(sources)}" if sources else ""
    note = f"Thresholds of {metric} calibrated ({run.method}) from {len(run.used_ids)} records{what} on {stamp}."
    head["description"] = f"{desc} {note}".strip()
