"""The sensitivity chart: a corpus's distribution of one metric with a standard's band edges.

For standards bodies revising thresholds (``ecometer standard sensitivity --chart``): the
current edges solid, the proposed ones (another standard or thresholds) dashed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ecometer.errors import InputError
from ecometer.record.model import RunRecord
from ecometer.standards.loader import load_standard, with_thresholds
from ecometer.standards.metrics import NotApplicable, measure
from ecometer.standards.revision import label
from ecometer.standards.schema import Standard


def sensitivity_chart(
    records: Iterable[RunRecord],
    standard: Standard | str,
    metric: str,
    path: str | Path,
    *,
    proposed: Standard | str | Sequence[float] | None = None,
    class_name: str | None = None,
) -> Path:
    """Save a PNG of the corpus distribution of ``metric`` with the band edges drawn.

    One panel per class (or only ``class_name``); the current edges are solid lines, the
    proposed ones (another standard or thresholds) dashed. Returns the path written.
    """
    std = load_standard(standard)
    if metric not in std.metrics:
        raise InputError(f"{std.name} has no metric {metric!r}; its metrics are {list(std.metrics)}")
    new: Standard | None = None
    if proposed is not None:
        if isinstance(proposed, (Standard, str, Path)):
            new = load_standard(proposed)
        else:
            new = with_thresholds(std, metric, [float(x) for x in proposed], class_name)
    if new is not None and metric not in new.metrics:
        raise InputError(
            f"the proposed standard {label(new)} has no metric {metric!r} (its metrics: {list(new.metrics)}): "
            "the chart draws one metric's current and proposed edges; name a metric both have"
        )
    m = std.metrics[metric]
    groups: dict[str | None, list[float]] = {}
    for r in records:
        cls, _ = std.classify(r)
        cname = cls.name if cls is not None else None
        if std.classes and (cls is None or not cls.rated):
            continue
        try:
            groups.setdefault(cname, []).append(measure(m.measure, r).central)
        except NotApplicable:
            continue
    panels = [class_name] if class_name is not None else (list(groups) or [None])
    if class_name is not None and std.classes and class_name not in std.classes:
        raise InputError(f"{std.name} has no class {class_name!r}; its classes are {list(std.classes)}")

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ecometer.report.style import Figure  # escapes $ in chart text; writes the file atomically

    fig = Figure(figsize=(9, 2.8 * len(panels) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, cname in zip(axes, panels, strict=True):
        vals = [v for v in groups.get(cname, []) if math.isfinite(v)]
        edges = std.thresholds_for(metric, cname) or []
        new_edges = (new.thresholds_for(metric, cname) or []) if new is not None else []
        _panel(ax, vals, edges, new_edges, std.grades, m.direction)
        where = f"class {cname}" if cname else "all records"
        ax.set_title(f"{std.name} {std.version}: {metric}, {where} (n={len(vals)})", fontsize=10)
        ax.set_xlabel(f"{metric} ({m.measure.label}); {m.direction} is better")
        ax.set_ylabel("records")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def _panel(
    ax: Any, vals: list[float], edges: list[float], new_edges: list[float], grades: list[str], direction: str
) -> None:
    import numpy as np

    every = [*vals, *edges, *new_edges]
    positive = bool(every) and min(every) > 0
    log_x = positive and max(every) / min(every) > 10
    if vals:
        if log_x:
            lo, hi = math.log10(min(every)), math.log10(max(every))
            bins = np.logspace(lo - 0.05, hi + 0.05, 30)
        else:
            bins = 30
        ax.hist(vals, bins=bins, color="#8fb9d8", edgecolor="#4a7fa8")
    else:
        ax.text(0.5, 0.5, "no records", transform=ax.transAxes, ha="center", va="center", color="gray")
    if log_x:
        ax.set_xscale("log")
    for i, e in enumerate(edges):
        ax.axvline(e, color="#1b3b5a", lw=1.6, label="current edges" if i == 0 else None)
    for i, e in enumerate(new_edges):
        ax.axvline(e, color="#d9822b", lw=1.6, ls="--", label="proposed edges" if i == 0 else None)
    if every:
        ax.margins(x=0.05)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the grade labels
    from ecometer.report.chartlabels import axis_fraction, stagger, text_width

    x0, x1 = ax.get_xlim()
    inches = ax.get_window_extent().width / ax.figure.dpi
    if edges:  # label the x axis at the current band edges; crowded tick labels go down a row
        from matplotlib.ticker import NullFormatter

        ticks = sorted(edges)
        texts = [f"{e:g}" for e in ticks]
        rows = stagger([axis_fraction(e, x0, x1, log=log_x) for e in ticks], [text_width(t, inches, 8) for t in texts])
        ax.set_xticks(ticks, ["\n" * r + t for r, t in zip(rows, texts, strict=True)])
        ax.xaxis.set_minor_formatter(NullFormatter())
    # grade labels in the middle of each band (current edges), staggered where bands are narrow
    bounds = [x0, *sorted(edges), x1]
    labels = grades if direction == "lower" else grades[::-1]
    mids = [
        math.sqrt(a * b) if log_x and a > 0 and b > 0 else (a + b) / 2 for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    mids = mids[: len(labels)]
    rows = stagger([axis_fraction(m, x0, x1, log=log_x) for m in mids], [text_width(g, inches) for g in labels])
    for mid, g, row in zip(mids, labels, rows, strict=False):
        ax.text(
            mid, 0.97 - 0.07 * row, g, transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize=9,
            color="#1b3b5a",
        )  # fmt: skip
    if edges or new_edges:
        ax.legend(loc="upper right", fontsize=8, framealpha=0.8, bbox_to_anchor=(1.0, 0.88))
