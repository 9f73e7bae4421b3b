"""Comparing runs: grouped bars with uncertainty whiskers and grades, a trade-off chart, a table.

Runs are grouped by a field of their metadata (``--by precision``); without one, each run is
a bar of its own (distinct runs are never merged unless ``--by`` asks). Within a group, runs that differ in some other metadata field become separate bars (a
*series*, e.g. ``batch_size=32``); runs identical in every compared field are repetitions and
are combined into one bar: the mean of their central values, whiskers spanning the lowest low
and the highest high (a span that claims no coverage probability; a single run's interval keeps
the coverage it states).

Figures that are not finite numbers (a record the loader accepted with NaN or infinite values)
are listed in the table as ``n/a`` and left out of the chart, which names them in its note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecometer.errors import InputError
from ecometer.record import quantities
from ecometer.record.model import RunRecord
from ecometer.record.units import number, pick_scale
from ecometer.report import style
from ecometer.report.charts import axis_limits, drawable, plain, whiskers
from ecometer.report.figures import QuantityValue, metric, metric_names, work_unit
from ecometer.report.grades import grade_view
from ecometer.report.text import markdown_table, short_claim

#: metadata fields that tell repetitions apart rather than configurations
REPETITION_FIELDS = {"seed", "repeat", "repetition", "rep", "run", "run_id", "trial", "iteration"}
MAX_SERIES = 8


@dataclass
class Entry:
    """One bar: a configuration (one run or repetitions of it) and its figures."""

    group: str
    series: str
    names: list[str]
    value: QuantityValue
    x: QuantityValue
    y: QuantityValue
    grades: list[str | None] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    @property
    def grade(self) -> str | None:
        """The common grade, ``"B–C"`` when repetitions differ, ``None`` if ungraded."""
        known = [g for g in self.grades if g is not None]
        if not known:
            return None
        uniq = sorted(set(known), key=lambda g: self.labels.index(g) if g in self.labels else 99)
        return uniq[0] if len(uniq) == 1 else f"{uniq[0]}–{uniq[-1]}"


@dataclass
class RunComparison:
    metric: str
    by: str | None
    series_fields: list[str]
    entries: list[Entry]
    groups: list[str]
    series: list[str]
    x_metric: str
    y_metric: str


def _value_text(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _series_fields(records: list[RunRecord], by: str | None) -> list[str]:
    keys: list[str] = []
    for r in records:
        for k, v in r.meta.items():
            if k not in keys and k != by and k not in REPETITION_FIELDS and isinstance(v, (str, int, float, bool)):
                keys.append(k)
    varying = []
    for k in keys:
        values = {_value_text(r.meta.get(k, "")) for r in records}
        if len(values) > 1:
            varying.append(k)
    return varying


def _combine(figs: list[QuantityValue]) -> QuantityValue:
    first = figs[0]
    if len(figs) == 1:
        return first
    central = sum(f.central for f in figs) / len(figs)
    methods = {f.method for f in figs}
    # the span of several runs' intervals is not a coverage interval of anything: no claim
    exact = all(f.exact for f in figs) and len({f.central for f in figs}) == 1
    return QuantityValue(
        first.key,
        first.label,
        first.kind,
        first.unit,
        central,
        min(f.low for f in figs),
        max(f.high for f in figs),
        methods.pop() if len(methods) == 1 else "mixed",
        coverage=1.0 if exact else None,
        distribution="exact" if exact else "envelope",
        problems=[p for f in figs for p in f.problems],
    )


def _sort_key_values(values: list[str]) -> list[str]:
    try:
        return sorted(values, key=float)
    except ValueError:
        return values


def build(records: list[RunRecord], metric_name: str | None = None, by: str | None = None) -> RunComparison:
    """Group ``records`` and compute ``metric_name`` (default: energy per unit if all counted work)."""
    if not records:
        raise InputError("no runs to compare")
    all_work = all(work_unit(r) is not None for r in records)
    name = quantities.canonical(metric_name) if metric_name else ("it_energy_j_per_unit" if all_work else "it_energy_j")
    if name not in metric_names():
        raise InputError(f"unknown metric {name!r}; valid metrics: {', '.join(metric_names())}")
    per_unit = name.endswith("_per_unit")
    if per_unit:
        units = {r.name: (work_unit(r) or ("(none)", 0))[0] for r in records}
        if len(set(units.values())) > 1:
            listing = ", ".join(f"{k}: {v}" for k, v in units.items())
            raise InputError(f"metric {name!r} needs one work unit across runs, found {listing}")
    x_metric = "duration_s_per_unit" if per_unit else "duration_s"
    y_metric = name if not name.startswith("duration_s") else ("it_energy_j_per_unit" if per_unit else "it_energy_j")
    if by is not None:
        missing = [r.name for r in records if by not in r.meta]
        if len(missing) == len(records):
            fields = sorted({k for r in records for k in r.meta})
            raise InputError(f"--by {by!r}: no run has this metadata field; fields present: {fields or 'none'}")
    series_fields = _series_fields(records, by) if by is not None else []
    buckets: dict[tuple[str, str], list[RunRecord]] = {}
    if by is None:  # no grouping asked for: each run is a bar of its own, never merged with another
        for label, r in zip(run_labels(records), records, strict=True):
            buckets[(label, "")] = [r]
    for r in records if by is not None else []:
        group = _value_text(r.meta.get(by, "(none)"))
        series = ", ".join(f"{k}={_value_text(r.meta.get(k, '-'))}" for k in series_fields)
        buckets.setdefault((group, series), []).append(r)
    series_all = list(dict.fromkeys(s for _, s in buckets))
    if len(series_all) > MAX_SERIES:  # too many combinations to read: one bar per run name instead
        series_fields = []
        buckets = {}
        for r in records:
            group = _value_text(r.meta.get(by, "(none)"))
            buckets.setdefault((group, r.name), []).append(r)
        series_all = list(dict.fromkeys(s for _, s in buckets))
    entries = []
    for (group, series), recs in buckets.items():
        views = [grade_view(r) for r in recs]
        labels = next((v.labels for v in views if v is not None and v.labels), [])
        entries.append(
            Entry(
                group=group,
                series=series,
                names=[r.name for r in recs],
                value=_combine([metric(r, name) for r in recs]),
                x=_combine([metric(r, x_metric) for r in recs]),
                y=_combine([metric(r, y_metric) for r in recs]),
                grades=[v.grade if v is not None else None for v in views],
                labels=labels,
            )
        )
    groups = list(dict.fromkeys(e.group for e in entries))
    if by is not None:
        groups = _sort_key_values(groups)
    return RunComparison(name, by, series_fields, entries, groups, series_all, x_metric, y_metric)


def run_labels(records: list[RunRecord]) -> list[str]:
    """One distinct label per record: its name, with its start time (then a number) where names repeat."""
    counts: dict[str, int] = {}
    for r in records:
        counts[r.name] = counts.get(r.name, 0) + 1
    labels = [r.name if counts[r.name] == 1 else f"{r.name} {_start_text(r)}".strip() for r in records]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if labels.count(label) == 1 else f"{label} #{seen[label]}")
    return out


def _start_text(r: RunRecord) -> str:
    """``2026-12-07 09:56:36`` from the record's ISO start time (empty if it has none)."""
    return r.started_at[:19].replace("T", " ")


# ---- table ----------------------------------------------------------------------------------
def table(cmp: RunComparison) -> str:
    """The comparison as a markdown table (one row per bar)."""
    scale = pick_scale(cmp.entries[0].value.kind, [e.value.central for e in cmp.entries])
    tscale = pick_scale(cmp.entries[0].x.kind, [e.x.central for e in cmp.entries])
    unit = _unit_text(cmp.entries[0].value, scale.symbol)
    tunit = _unit_text(cmp.entries[0].x, tscale.symbol)
    header = [cmp.by or "run"]
    if any(e.series for e in cmp.entries):
        header.append("series")
    header += ["runs", f"{cmp.entries[0].value.label} ({unit})", "low – high", "method", "grade", f"time ({tunit})"]
    rows = []
    for e in _ordered(cmp):
        row = [e.group]
        if len(header) == 8:
            row.append(e.series or "-")
        row += [
            str(len(e.names)),
            number(scale(e.value.central)),
            "exact"
            if e.value.low == e.value.high
            else f"{number(scale(e.value.low))} – {number(scale(e.value.high))} ({short_claim(e.value)})",
            e.value.method,
            e.grade or "-",
            number(tscale(e.x.central)),
        ]
        rows.append(row)
    return markdown_table(header, rows)


def _unit_text(fig: QuantityValue, symbol: str) -> str:
    return f"{symbol}/{fig.unit.split('/', 1)[1]}" if "/" in fig.unit else symbol


def _ordered(cmp: RunComparison) -> list[Entry]:
    order_g = {g: i for i, g in enumerate(cmp.groups)}
    order_s = {s: i for i, s in enumerate(cmp.series)}
    return sorted(cmp.entries, key=lambda e: (order_g[e.group], order_s[e.series]))


# ---- chart ----------------------------------------------------------------------------------
def chart(cmp: RunComparison, path: str | Path | None = None) -> bytes:
    """Grouped bars (left) and the trade-off scatter (right) in one PNG."""
    fig = style.new_figure(13.0, 5.4)
    ax_bar, ax_sc = fig.subplots(1, 2, width_ratios=[3, 2])
    _bars(cmp, ax_bar)
    _tradeoff(cmp, ax_sc)
    title = f"{cmp.entries[0].value.label}" + (f" by {plain(cmp.by, 30)}" if cmp.by else " per run")
    fig.suptitle(title, fontsize=style.FONT_SIZE + 3)
    note = "whiskers: low–high interval (and the spread of repeated runs)"
    if any(e.grade for e in cmp.entries):  # the badges are drawn only for graded runs
        note += "; grade of each run in the badge"
    skipped = [e for e in cmp.entries if not _drawable(e)]
    if skipped:
        names = ", ".join(plain(f"{e.group} {e.series}".strip(), 30) for e in skipped[:4])
        more = f" and {len(skipped) - 4} more" if len(skipped) > 4 else ""
        note += f"\nnot drawn, not a finite number: {names}{more}"
    fig.supxlabel(note, fontsize=style.FONT_SIZE - 2, color="#606060")
    return style.save(fig, path)


def _colour(cmp: RunComparison, series: str) -> str:
    if len(cmp.series) == 1:
        comp = cmp.metric.split("_")[0]
        if comp in style.COMPONENT_COLOURS:
            return style.COMPONENT_COLOURS[comp]
    return style.SERIES_COLOURS[cmp.series.index(series) % len(style.SERIES_COLOURS)]


def _drawable(e: Entry) -> bool:
    return drawable(e.value) and drawable(e.x) and drawable(e.y)


def _bars(cmp: RunComparison, ax: Any) -> None:
    style.style_axes(ax)
    first = cmp.entries[0].value
    entries = [e for e in _ordered(cmp) if drawable(e.value)]
    scale = pick_scale(first.kind, [e.value.high for e in entries])
    n_s = len(cmp.series)
    width = 0.8 / n_s
    bottom, top = axis_limits([scale(v) for e in entries for v in (e.value.low, e.value.high)], margin=0.2)
    drawn: set[str] = set()
    for e in entries:
        gi = cmp.groups.index(e.group)
        si = cmp.series.index(e.series)
        x = gi - 0.4 + width * (si + 0.5)
        h = scale(e.value.central)
        label = plain(e.series, 40) if e.series and e.series not in drawn else None
        drawn.add(e.series)
        ax.bar(
            [x], [h], width=width * 0.92, color=_colour(cmp, e.series), edgecolor="#303030", linewidth=0.5, label=label
        )
        ax.errorbar(
            [x],
            [h],
            yerr=[[v] for v in whiskers(e.value, scale)],
            fmt="none",
            ecolor="#000000",
            elinewidth=1.1,
            capsize=max(2.0, 10 * width),
        )
        grade = e.grade
        if grade is not None:
            colour = style.grade_colour(grade.split("–")[0], e.labels)
            ax.text(
                x,
                max(scale(e.value.high), 0.0) + (top - bottom) * 0.025,
                plain(grade, 7),
                ha="center",
                va="bottom",
                fontsize=9 if n_s <= 4 else 7.5,
                fontweight="bold",
                color=style.text_colour_on(colour),
                bbox={"boxstyle": "round,pad=0.2", "facecolor": colour, "edgecolor": "none"},
            )
    ax.set_ylim(bottom, top)
    ticks = [plain(g, 18) for g in cmp.groups]
    rotate = len(cmp.groups) > 6 or max(len(t) for t in ticks) > 10
    ax.set_xticks(range(len(cmp.groups)), ticks, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlim(-0.6, len(cmp.groups) - 0.4)
    ax.set_xlabel(plain(cmp.by, 40) if cmp.by else "run")
    ax.set_ylabel(f"{first.label} ({_unit_text(first, scale.symbol)})")
    ax.set_title(f"{first.label}, lower is better", fontsize=style.FONT_SIZE + 1)
    if any(e.series for e in cmp.entries) and n_s > 1:
        ax.legend(
            title=", ".join(cmp.series_fields) or None, fontsize=style.FONT_SIZE - 1, title_fontsize=style.FONT_SIZE - 1
        )


def _pareto(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten on both axes (lower x and lower y are better), by increasing x."""
    front: list[tuple[float, float]] = []
    best_y = math.inf
    for x, y in sorted(points):
        if y < best_y:
            front.append((x, y))
            best_y = y
    return front


def _tradeoff(cmp: RunComparison, ax: Any) -> None:
    style.style_axes(ax)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    entries = [e for e in cmp.entries if _drawable(e)]
    first_x, first_y = cmp.entries[0].x, cmp.entries[0].y
    xs_fig = [e.x for e in entries]
    ys_fig = [e.y for e in entries]
    xscale = pick_scale(first_x.kind, [f.high for f in xs_fig])
    yscale = pick_scale(first_y.kind, [f.high for f in ys_fig])
    for e in entries:
        x, y = xscale(e.x.central), yscale(e.y.central)
        colour = _colour(cmp, e.series)
        ax.errorbar(
            [x],
            [y],
            xerr=[[v] for v in whiskers(e.x, xscale)],
            yerr=[[v] for v in whiskers(e.y, yscale)],
            fmt="o",
            color=colour,
            ecolor=colour,
            markersize=7,
            markeredgecolor="#202020",
            elinewidth=1.0,
            capsize=3,
        )
    for x, y, text, dy in _label_offsets(
        [
            (xscale(e.x.central), yscale(e.y.central), plain(e.group, 16) + (f" {e.grade}" if e.grade else ""))
            for e in entries
        ]
    ):
        ax.annotate(text, (x, y), xytext=(5, dy), textcoords="offset points", fontsize=8.5)
    front = _pareto([(xscale(e.x.central), yscale(e.y.central)) for e in entries])
    if len(front) > 1:
        ax.plot([p[0] for p in front], [p[1] for p in front], linestyle="--", color="#808080", linewidth=1, zorder=0)
    ax.set_xlim(*axis_limits([xscale(v) for f in xs_fig for v in (f.low, f.high)], margin=0.2))
    ax.set_ylim(*axis_limits([yscale(v) for f in ys_fig for v in (f.low, f.high)], margin=0.2))
    ax.set_xlabel(f"{first_x.label} ({_unit_text(first_x, xscale.symbol)})")
    ax.set_ylabel(f"{first_y.label} ({_unit_text(first_y, yscale.symbol)})")
    drawn = "; dashed: Pareto front" if len(front) > 1 else ""  # promised only where it is drawn
    ax.set_title(f"Trade-off (lower left is better{drawn})", fontsize=style.FONT_SIZE + 1)


def _label_offsets(points: list[tuple[float, float, str]]) -> list[tuple[float, float, str, float]]:
    """Vertical label offsets (points) so that labels of nearby markers do not overprint.

    Markers whose positions are within 4 % of the axis span of each other form a cluster; the
    labels in a cluster are stacked 11 points apart, lowest marker lowest.
    """
    if not points:
        return []
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    span_x = 1.2 * max(abs(v) for v in xs) or 1.0  # the axes run from 0 to 1.2 x the largest value
    span_y = 1.2 * max(abs(v) for v in ys) or 1.0
    order = sorted(range(len(points)), key=lambda i: (points[i][1], points[i][0]))
    placed: list[tuple[float, float, float]] = []  # (x, y, offset) of labels so far
    out: list[tuple[float, float, str, float]] = [None] * len(points)  # type: ignore[list-item]
    for i in order:
        x, y, text = points[i]
        near = [off for px, py, off in placed if abs(px - x) < 0.04 * span_x and abs(py - y) < 0.04 * span_y]
        dy = 5.0 + (max(near) - 5.0 + 11.0 if near else 0.0)
        placed.append((x, y, dy))
        out[i] = (x, y, text, dy)
    return out
