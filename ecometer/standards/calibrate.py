"""Derive a standard's thresholds from a corpus of run records.

Two ways to cut a metric's range into bands: ``quantile`` (each grade gets about the same
number of records) and ``equal-width`` (the range between the smallest and largest value
is cut into equal sections, as the AI Energy Score does). Either per class of a base
standard, per value of one ``record.meta`` field, or over all records.
"""

from __future__ import annotations

import copy
import logging
import math
import re
import string
from collections.abc import Iterable
from datetime import date as _date
from typing import Any

from ecometer.errors import InputError, StandardError
from ecometer.record import RunRecord
from ecometer.standards.assess import _quality_reasons
from ecometer.standards.loader import load_standard, standard_from_dict
from ecometer.standards.metrics import QUANTITIES, RUN, NotApplicable, measure
from ecometer.standards.schema import Metric, Standard

log = logging.getLogger(__name__)

METHODS = ("quantile", "equal-width")


def band_edges(values: list[float], bands: int, method: str, direction: str) -> list[float]:
    """``bands - 1`` edges, best grade first (increasing for lower-is-better, else decreasing)."""
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
    else:
        import numpy as np

        edges = [float(np.quantile(vals, k / bands)) for k in range(1, bands)]
    if direction == "higher":
        edges = edges[::-1]
    return _round_edges(edges, direction)


def _round_edges(edges: list[float], direction: str) -> list[float]:
    """Round to the fewest significant digits (3 or more) that keep the edges strictly monotonic."""

    def strict(xs: list[float]) -> bool:
        pairs = list(zip(xs, xs[1:], strict=False))
        return all(b > a for a, b in pairs) if direction == "lower" else all(b < a for a, b in pairs)

    for digits in range(3, 16):
        rounded = [float(f"{x:.{digits}g}") for x in edges]
        if strict(rounded):
            return rounded
    if strict(edges):
        return list(edges)
    raise InputError(
        f"the corpus gives band edges that are not distinct ({[f'{x:g}' for x in edges]}): "
        "it has too few distinct values for this many bands; add records or use fewer bands"
    )


def _metric_name(quantity: str, per: str) -> str:
    base = re.sub(r"_(j|l|g|w)$", "", quantity)
    return base if per == RUN else f"{base}_per_{per}"


def _class_name(value: Any, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", str(value)).strip("-") or "class"
    out, i = name, 2
    while out in taken:
        out, i = f"{name}-{i}", i + 1
    return out


def _values(records: list[RunRecord], metric: Metric) -> list[tuple[RunRecord, float]]:
    out = []
    for r in records:
        try:
            out.append((r, measure(metric.measure, r).central))
        except NotApplicable as exc:
            log.info("calibration skips record %r: %s", r.name, exc.reason)
    return out


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
    class_by: str = "task",
    name: str | None = None,
    title: str | None = None,
    version: str | None = None,
    date: str | None = None,
) -> Standard:
    """A standard whose thresholds for ``metric`` are cut from ``records``.

    With ``base`` (a standard or its name/path), ``metric`` names one of its metrics and
    the result is ``base`` with that metric's thresholds recalibrated, per class when
    ``by_class`` (classes with no records keep their thresholds, listed in
    ``calibration.classes_kept``); records that miss the base's quality requirements are
    left out. Without ``base``, ``metric`` is a quantity (``gpu_energy_j`` ...) normalised
    by ``per``/``scale`` in ``unit``; with ``by_class`` one class is made per value of
    ``record.meta[class_by]`` plus an unrated default class for the rest.
    """
    if method not in METHODS:
        raise InputError(f"calibration method {method!r} is not one of {list(METHODS)}")
    if isinstance(bands, bool) or not isinstance(bands, int) or bands < 2:
        raise InputError(f"bands must be an integer of 2 or more, got {bands!r}")
    recs = list(records)
    if not recs:
        raise InputError("calibration needs at least one record")
    stamp = date or _date.today().isoformat()
    if base is not None:
        if any(x is not None for x in (per, scale, unit, work, grades)):
            raise InputError("per, scale, unit, work and grades come from the base standard; leave them out")
        return _recalibrate(recs, load_standard(base), metric, bands, method, by_class, name, title, version, stamp)

    if metric not in QUANTITIES:
        raise InputError(f"unknown quantity {metric!r}; expected one of {list(QUANTITIES)}")
    labels = grades or list(string.ascii_uppercase[:bands])
    if bands > 26 and not grades:
        raise InputError("more than 26 bands need explicit grade labels")
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
    mname = _metric_name(metric, per)
    data: dict[str, Any] = {
        "standard": {
            "name": name or f"calibrated-{mname}",
            "title": title or f"{mname} calibrated from {len(recs)} records ({method})",
            "version": version or "0.1.0",
            "grades": labels,
            "combine": "worst",
            "bands": method,
        },
        "metrics": {mname: table},
    }
    std = standard_from_dict(data, origin="<calibration>")  # validates the measure before any work
    pairs = _values(recs, std.metrics[mname])
    if not pairs:
        raise InputError(f"{mname} applies to none of the {len(recs)} records (see the log for why)")
    groups: dict[Any, list[float]] = {}
    if by_class:
        for r, v in pairs:
            key = (r.meta or {}).get(class_by)
            if key is not None and not isinstance(key, (str, int, bool)):
                key = None
            groups.setdefault(key, []).append(v)
        if set(groups) == {None}:
            log.warning("no record has meta[%r]; calibrating one set of thresholds over all records", class_by)
            groups = {}
    if groups:
        classes: dict[str, Any] = {}
        taken: set[str] = set()
        for key, vals in groups.items():
            if key is None:
                continue
            cname = _class_name(key, taken)
            taken.add(cname)
            try:
                edges = band_edges(vals, bands, method, q.direction)
            except InputError as exc:
                raise InputError(f"class {cname} ({class_by} = {key!r}, {len(vals)} records): {exc}") from None
            classes[cname] = {"match": {class_by: key}, "thresholds": {mname: edges}}
        classes[_class_name("unclassified", taken)] = {
            "default": True,
            "rated": False,
            "description": f"records whose meta.{class_by} was not in the calibration corpus",
        }
        del table["thresholds"]
        data["classes"] = classes
    else:
        table["thresholds"] = band_edges([v for _, v in pairs], bands, method, q.direction)
    data["calibration"] = {"method": method, "metric": mname, "records": len(pairs), "date": stamp}
    return standard_from_dict(data, origin="<calibration>")


def _recalibrate(
    recs: list[RunRecord],
    base: Standard,
    metric: str,
    bands: int,
    method: str,
    by_class: bool,
    name: str | None,
    title: str | None,
    version: str | None,
    stamp: str,
) -> Standard:
    if metric not in base.metrics:
        raise StandardError(base.source, f"metrics.{metric}", repr(metric), f"one of the metrics {list(base.metrics)}")
    if bands != len(base.grades):
        raise InputError(f"{base.name} has {len(base.grades)} grades {base.grades}; bands must be {len(base.grades)}")
    m = base.metrics[metric]
    usable = []
    for r in recs:
        why = _quality_reasons(base, r)
        if why:
            log.info("calibration skips record %r: %s", r.name, "; ".join(why))
        else:
            usable.append(r)
    pairs = _values(usable, m)
    if not pairs:
        raise InputError(
            f"{metric} applies to none of the {len(recs)} records that meet {base.name}'s quality requirements"
        )
    data = copy.deepcopy(base.to_dict())
    kept: list[str] = []
    if by_class and base.classes:
        groups: dict[str, list[float]] = {}
        for r, v in pairs:
            cls, _ = base.classify(r)
            if cls is not None and cls.rated:
                groups.setdefault(cls.name, []).append(v)
        for cname, cls in base.classes.items():
            if not cls.rated:
                continue
            vals = groups.get(cname, [])
            if not vals:
                log.warning("no record of class %s: its %s thresholds are kept as they were", cname, metric)
                kept.append(cname)
                if base.thresholds_for(metric, cname) is not None:
                    data["classes"][cname].setdefault("thresholds", {})[metric] = list(
                        base.thresholds_for(metric, cname)
                    )
                continue
            try:
                edges = band_edges(vals, bands, method, m.direction)
            except InputError as exc:
                raise InputError(f"class {cname} ({len(vals)} records): {exc}") from None
            data["classes"][cname].setdefault("thresholds", {})[metric] = edges
    else:
        data["metrics"][metric]["thresholds"] = band_edges([v for _, v in pairs], bands, method, m.direction)
        for c in data.get("classes", {}).values():
            c.get("thresholds", {}).pop(metric, None)
            if "thresholds" in c and not c["thresholds"]:
                del c["thresholds"]
    head = data["standard"]
    head["bands"] = method
    if name:
        head["name"] = name
    if title:
        head["title"] = title
    if version:
        head["version"] = version
    cal: dict[str, Any] = {"method": method, "metric": metric, "records": len(pairs), "date": stamp}
    if kept:
        cal["classes_kept"] = kept
    data["calibration"] = cal
    return standard_from_dict(data, origin="<calibration>")
