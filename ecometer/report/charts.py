"""Charts of one run: power timeline, energy/water/carbon breakdown, per-unit figures, phases.

Each function draws one PNG and returns its bytes (also writing it to ``path`` when given).
matplotlib is imported inside the functions (through :mod:`ecometer.report.style`) and
drawn on the Agg canvas, so importing this module costs nothing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ecometer.checks.text import display_text
from ecometer.record.model import RunRecord, Span
from ecometer.record.quantities import footprint_data
from ecometer.record.units import count as count_text
from ecometer.record.units import number, pick_scale
from ecometer.report import style
from ecometer.report.figures import (
    COMPONENT_ORDER,
    QuantityValue,
    component_energy,
    footprint_figure,
    it_energy,
    ordered_components,
    work_unit,
)

MAX_TITLE = 70


def plain(text: str, limit: int = MAX_TITLE) -> str:
    """``text`` fit for a chart label: hidden characters escaped (``display_text``), bounded length.

    (``$`` needs no care here: every chart escapes it when drawn, see :mod:`ecometer.report.style`.)
    """
    clean = display_text(" ".join(str(text).split()))  # one line; other hidden characters as escapes
    if len(clean) > limit:
        clean = clean[: limit - 1] + "…"
    return clean


def plural(unit: str, count: float) -> str:
    """``sample`` -> ``samples`` (``query`` -> ``queries``) unless ``count`` is 1."""
    if count == 1 or unit.endswith("s"):
        return unit
    if unit.endswith("y") and len(unit) > 1 and unit[-2] not in "aeiou":
        return unit[:-1] + "ies"
    return unit + "s"


# ---- power timeline ---------------------------------------------------------------------
def timeline_components(record: RunRecord) -> list[str]:
    present = {ch.split(":")[0] for ch in record.timeline.power_w}
    return sorted(present, key=lambda n: (COMPONENT_ORDER.index(n) if n in COMPONENT_ORDER else 99, n))


#: components drawn apart in a chart; beyond these, the smallest are one stack ("N others") or
#: left out of the bars (the IT total holds them): a chart's cost does not grow with the record
MAX_COMPONENTS_DRAWN = 8


def drawn_components(record: RunRecord) -> tuple[list[str], int]:
    """The components a chart draws as bars (in the usual order: the largest
    :data:`MAX_COMPONENTS_DRAWN` by energy) and how many it leaves out."""
    names = ordered_components(record)
    if len(names) <= MAX_COMPONENTS_DRAWN:
        return names, 0
    energy = {n: record.components[n].energy_j for n in names}
    largest = set(sorted(names, key=lambda n: -energy[n] if math.isfinite(energy[n]) else math.inf)[:MAX_COMPONENTS_DRAWN])
    return [n for n in names if n in largest], len(names) - len(largest)


def power_timeline(record: RunRecord, path: str | Path | None = None) -> bytes:
    """Stacked power per component (W) over time, with the run's phases shaded and named."""
    tl = record.timeline
    fig = style.new_figure(9.0, 4.6)
    spans = drawable_spans(record)
    if spans:
        strip, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, 6])
    else:
        strip, ax = None, fig.add_subplot()
    style.style_axes(ax)
    fig.suptitle(f"Power by component — {plain(record.name)}", fontsize=style.FONT_SIZE + 2)
    times, series_of = drawable_timeline(record)
    comps = [c for c in timeline_components(record) if c in series_of]
    other = None
    if len(comps) > MAX_COMPONENTS_DRAWN:  # the largest, the rest stacked as one
        by_energy = sorted(comps, key=lambda c: -math.fsum(series_of[c]))
        rest = by_energy[MAX_COMPONENTS_DRAWN - 1 :]
        comps = [c for c in comps if c not in set(rest)]
        other = f"{len(rest)} others"
        series_of[other] = [math.fsum(vals) for vals in zip(*(series_of[c] for c in rest), strict=True)]
        comps.append(other)
    if not times or not comps:
        ax.text(0.5, 0.5, "No power timeline in this record", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("Time since start (s)")
        ax.set_ylabel("Power (W)")
        return style.save(fig, path)
    duration = record.duration_s if math.isfinite(record.duration_s) else 0.0
    tscale = pick_scale("time", [times[-1], duration])
    t = [tscale(x) for x in times]
    series = [series_of[c] for c in comps]
    totals = [sum(vals) for vals in zip(*series, strict=True)]
    pscale = pick_scale("power", totals)
    labels = []
    for c in comps:
        if c == other:
            labels.append(other)
            continue
        method = record.components[c].method if c in record.components else "?"
        labels.append(f"{c.upper()} ({method})")
    ax.stackplot(
        t,
        *[[pscale(v) for v in s] for s in series],
        colors=[style.component_colour(c) for c in comps],
        labels=labels,
        alpha=0.85,
        linewidth=0.0,
        zorder=2,
    )
    ax.plot(t, [pscale(v) for v in totals], color="#202020", linewidth=0.9, label="Total", zorder=3)
    end = tscale(max(duration, times[-1]))
    ax.set_xlim(0.0, end if end > 0 else None)
    ax.set_ylim(0.0, max(pscale(max(totals)) * 1.12, 1e-9))
    ax.set_xlabel(f"Time since start ({tscale.symbol})")
    ax.set_ylabel(f"Power ({pscale.symbol})")
    if strip is not None:
        _draw_phases(record, spans, ax, strip, tscale)
    ax.legend(loc="upper left", fontsize=style.FONT_SIZE - 1, ncol=min(len(comps) + 1, 4), framealpha=0.9)
    if tl.bucket_s:
        ax.annotate(
            f"each point: mean power over {number(tl.bucket_s, 2)} s",
            xy=(1.0, 1.0),
            xycoords="axes fraction",
            ha="right",
            va="bottom",
            fontsize=style.FONT_SIZE - 2,
            color="#606060",
        )
    return style.save(fig, path)


def drawable_timeline(record: RunRecord) -> tuple[list[float], dict[str, list[float]]]:
    """The timeline's points that can be drawn: ``(times, summed power per component)``.

    Times that are not finite or do not increase are dropped with their values; a series
    longer than the times is cut to them, a shorter one (or a missing point) counts as no
    power there; a power that is not finite or is negative counts as none.
    :func:`ecometer.report.figures.data_problems` names each of these in the report.
    """
    tl = record.timeline
    keep: list[int] = []
    last = -math.inf
    for i, x in enumerate(tl.t_s):
        if math.isfinite(x) and x > last:
            keep.append(i)
            last = x
    times = [tl.t_s[i] for i in keep]
    out: dict[str, list[float]] = {}
    for channel, values in tl.power_w.items():
        comp = channel.split(":")[0]
        total = out.setdefault(comp, [0.0] * len(keep))
        for j, i in enumerate(keep):
            v = values[i] if i < len(values) else None
            if v is not None and math.isfinite(v) and v > 0:
                total[j] += v
    return times, out


#: nesting levels of phases drawn in the strip above the timeline (deeper spans are not drawn)
MAX_SPAN_DEPTH = 6


def drawable_spans(record: RunRecord) -> list[Span]:
    """The timeline's phase spans that can be drawn: finite, in order, at most :data:`MAX_SPAN_DEPTH` deep."""
    return [
        s
        for s in record.timeline.spans
        if math.isfinite(s.start_s) and math.isfinite(s.end_s) and s.end_s >= s.start_s
        and 0 <= s.depth < MAX_SPAN_DEPTH
    ]  # fmt: skip


def _phase_colours(spans: list[Span]) -> dict[str, str]:
    names: list[str] = []
    for span in spans:
        if span.name not in names:
            names.append(span.name)
    return {n: style.PHASE_COLOURS[i % len(style.PHASE_COLOURS)] for i, n in enumerate(names)}


#: spans closer than this share of the time axis are drawn as one bar (a fraction of a pixel)
SPAN_MERGE_SHARE = 1.0 / 4000
#: top-level phase boundaries drawn as dashed lines over the timeline, at most
MAX_EDGE_LINES = 120


def span_bars(spans: list[Span], tscale: Any, end: float) -> dict[tuple[str, int], list[tuple[float, float]]]:
    """The bars that draw ``spans``: per (phase name, depth), ``(start, width)`` in the axis's
    unit, in time order, spans that overlap or nearly touch (within :data:`SPAN_MERGE_SHARE`
    of ``end``) merged into one. At most about ``1 / SPAN_MERGE_SHARE`` bars per group, however
    many spans a record holds: the drawing's cost is bounded by the chart, not by the record."""
    gap = max(end, 0.0) * SPAN_MERGE_SHARE
    groups: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for span in spans:
        groups.setdefault((span.name, span.depth), []).append((tscale(span.start_s), tscale(span.end_s)))
    bars: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for key, ranges in groups.items():
        ranges.sort()
        merged: list[list[float]] = []
        for a, b in ranges:
            if merged and a - merged[-1][1] <= gap:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        bars[key] = [(a, max(b - a, 1e-12)) for a, b in merged]
    return bars


def _draw_phases(record: RunRecord, spans: list[Span], ax: Any, strip: Any, tscale: Any) -> None:
    """The phase strip and the top-level phases shaded behind the timeline: one artist per
    phase name and depth (and one for all boundary lines), however many spans there are."""
    from matplotlib.patches import Patch

    colours = _phase_colours(spans)
    depth = max(s.depth for s in spans) + 1
    lo, hi = ax.get_xlim()
    bars = span_bars(spans, tscale, hi - lo)
    thin = sum(len(b) for b in bars.values()) > 60
    edges: list[float] = []
    for (name, d), ranges in bars.items():
        if d == 0:
            ax.broken_barh(ranges, (0, 1), transform=ax.get_xaxis_transform(), facecolors=colours[name],
                           alpha=0.45, linewidth=0, zorder=0)  # fmt: skip
            edges.extend(x for a, w in ranges for x in (a, a + w))
        strip.broken_barh(ranges, (depth - 1 - d + 0.1, 0.8), facecolors=colours[name], edgecolor="#808080",
                          linewidth=0.0 if thin else 0.4)  # fmt: skip
    edges = sorted(set(edges))
    if 0 < len(edges) <= MAX_EDGE_LINES:  # more would hide the power curve (the shading shows them)
        ax.vlines(edges, 0, 1, transform=ax.get_xaxis_transform(), colors="#505050",
                  linestyles=[(0, (4, 3))], linewidth=0.8, zorder=4)  # fmt: skip
    strip.set_ylim(0, depth)
    strip.set_yticks([depth - 1 - d + 0.5 for d in range(depth)], [f"depth {d}" for d in range(depth)])
    strip.tick_params(labelsize=style.FONT_SIZE - 2, left=False, bottom=False)
    for side in ("top", "right", "left"):
        strip.spines[side].set_visible(False)
    strip.set_title("Phases", fontsize=style.FONT_SIZE - 1, loc="left")
    shown = list(colours.items())[:8]
    handles = [Patch(facecolor=c, edgecolor="#808080", label=plain(n, 24)) for n, c in shown]
    more = len(colours) - len(shown)
    if record.timeline.spans_dropped:
        more_text = f"{record.timeline.spans_dropped} more spans not stored"
        handles.append(Patch(facecolor="white", edgecolor="white", label=more_text))
    if more > 0:
        handles.append(Patch(facecolor="white", edgecolor="white", label=f"+{more} more phases"))
    strip.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=min(len(handles), 5),
        fontsize=style.FONT_SIZE - 2,
        frameon=False,
    )


# ---- bars with whiskers -------------------------------------------------------------------
#: the largest magnitude put on an axis (matplotlib cannot lay out an axis to 1e308)
AXIS_LIMIT = 1e300


def drawable(fig: QuantityValue) -> bool:
    """Whether ``fig`` can be drawn: its central value and bounds are finite numbers."""
    return all(math.isfinite(v) and abs(v) <= AXIS_LIMIT for v in (fig.central, fig.low, fig.high))


def whiskers(fig: QuantityValue, scale: Any) -> tuple[float, float]:
    """Lengths below and above the central value (never negative, even for a central outside its bounds)."""
    return max(scale(fig.central) - scale(fig.low), 0.0), max(scale(fig.high) - scale(fig.central), 0.0)


def axis_limits(values: list[float], margin: float = 0.18) -> tuple[float, float]:
    """Finite axis limits from 0 (or the lowest negative value) to the highest value, plus a margin."""
    vals = [v for v in values if math.isfinite(v)]
    lo, hi = min([0.0, *vals]), max([0.0, *vals])
    if hi == lo:
        hi = lo + 1.0
    span = hi - lo
    lo = lo - span * margin if lo < 0 else 0.0
    return max(lo, -AXIS_LIMIT), min(hi + span * margin, AXIS_LIMIT)


#: a whisker may reach this many times the tallest bar before it is cut at the top of the axis
WHISKER_CAP = 1.5


def _bar_panel(ax: Any, title: str, kind: str, unit_suffix: str, bars: list[tuple[str, QuantityValue, str]]) -> None:
    """Bars (label, figure, colour) with low-high whiskers and the central value written above."""
    style.style_axes(ax)
    scale = pick_scale(kind, [f.central for _, f, _ in bars])  # the unit the report's tables use
    xs = list(range(len(bars)))
    heights = [scale(f.central) for _, f, _ in bars]
    errs = [whiskers(f, scale) for _, f, _ in bars]
    ax.bar(xs, heights, color=[c for _, _, c in bars], width=0.65, edgecolor="#303030", linewidth=0.5)
    if bars:
        yerr = [[e[0] for e in errs], [e[1] for e in errs]]
        ax.errorbar(xs, heights, yerr=yerr, fmt="none", ecolor="#000000", elinewidth=1.1, capsize=5)
    # the axis fits the bars; a whisker reaching far beyond them is cut at the top, its end written there
    cap = WHISKER_CAP * max([h for h in heights if math.isfinite(h)] or [0.0])
    ends = [min(scale(v), cap) if cap > 0 else scale(v) for _, f, _ in bars for v in (f.low, f.high)]
    bottom, top = axis_limits(ends)
    for x, (_, f, _) in zip(xs, bars, strict=True):
        high = scale(f.high)
        if high > top:
            ax.annotate(f"↑ {number(high)}", (x, top), xytext=(5, -2), textcoords="offset points",
                        ha="left", va="top", fontsize=7.5, color="#404040")  # fmt: skip
            high = scale(f.central)
        y = max(high, 0.0) + (top - bottom) * 0.025
        ax.text(x, min(y, top * 0.93), number(scale(f.central)), ha="center", va="bottom", fontsize=8.5)
    ax.set_ylim(bottom, top)
    ax.set_xticks(xs, [f"{label}\n({f.method.split(' ')[0]})" for label, f, _ in bars], fontsize=8.5)
    ax.set_ylabel(f"{title} ({scale.symbol}{unit_suffix})")
    ax.set_title(title, fontsize=style.FONT_SIZE + 1)


def _panels(
    record: RunRecord, divide: tuple[str, float] | None
) -> list[tuple[str, str, list[tuple[str, QuantityValue, str]]]]:
    """(title, kind, bars) per panel: energy, water, carbon, from what the record has."""

    def d(f: QuantityValue) -> QuantityValue:
        return f.per(divide[1], divide[0]) if divide else f

    energy = [(c.upper(), d(component_energy(record, c)), style.component_colour(c)) for c in drawn_components(record)[0]]
    energy.append(("IT total", d(it_energy(record)), style.QUANTITY_COLOURS["it_energy"]))
    fac = footprint_figure(record, "facility_energy_j")
    if fac is not None:
        energy.append(("Facility\n(PUE)", d(fac), style.QUANTITY_COLOURS["facility_energy"]))
    panels = [("Energy", "energy", energy)]
    water = []
    for key, label, colour in (
        ("water_onsite_l", "On-site", "onsite_water"),
        ("water_offsite_l", "Off-site", "offsite_water"),
        ("water_total_l", "Consumed", "water"),
        ("water_withdrawal_l", "Withdrawn", "withdrawal_water"),
    ):
        f = footprint_figure(record, key)
        if f is not None:
            water.append((label, d(f), style.QUANTITY_COLOURS[colour]))
    if water:
        panels.append(("Water", "water", water))
    carbon = footprint_figure(record, "carbon_g")
    if carbon is not None:
        panels.append(("Carbon", "carbon", [("Location-\nbased", d(carbon), style.QUANTITY_COLOURS["carbon"])]))
    return panels


def _panels_figure(record: RunRecord, title: str, divide: tuple[str, float] | None, path: str | Path | None) -> bytes:
    panels = _panels(record, divide)
    widths = [max(len(bars), 1.6) for _, _, bars in panels]
    fig = style.new_figure(min(2.2 + 1.15 * sum(widths), 12.0), 4.4)
    axes = fig.subplots(1, len(panels), width_ratios=widths, squeeze=False)[0]
    suffix = f"/{divide[0]}" if divide else ""
    skipped = []
    for ax, (ptitle, kind, bars) in zip(axes, panels, strict=True):
        skipped += [label.replace("\n", " ") for label, f, _ in bars if not drawable(f)]
        _bar_panel(ax, ptitle, kind, suffix, [b for b in bars if drawable(b[1])])
    note = "whiskers: low–high interval (coverage in the report's tables); (method) under each bar"
    if skipped:
        note += f"\nnot drawn, not a finite number: {', '.join(skipped)}"
    hidden = drawn_components(record)[1]
    if hidden:
        note += f"\n{hidden} smaller components not drawn (their energy is in the IT total)"
    if footprint_data(record) is None:
        note += "\nno footprint attached: measure with a site (--site) for water and carbon"
    fig.suptitle(title, fontsize=style.FONT_SIZE + 2)
    fig.supxlabel(note, fontsize=style.FONT_SIZE - 2, color="#606060")
    return style.save(fig, path)


def breakdown(record: RunRecord, path: str | Path | None = None) -> bytes:
    """Energy per component and in total, water (on-site, off-site, total) and carbon, with whiskers."""
    return _panels_figure(record, f"Energy, water and carbon — {plain(record.name)}", None, path)


def per_unit(record: RunRecord, path: str | Path | None = None) -> bytes | None:
    """The breakdown per unit of work (``None`` when the run counted no work)."""
    wu = work_unit(record)
    if wu is None:
        return None
    unit, count = wu
    title = f"Per {plain(unit, 30)} ({count_text(count)} {plain(plural(unit, count), 30)} counted) — {plain(record.name, 40)}"
    return _panels_figure(record, title, (unit, count), path)


# ---- phases ---------------------------------------------------------------------------------
def _phase_drawable(p: Any) -> bool:
    values = [p.energy_j, p.duration_s, p.uncertainty.low, p.uncertainty.high, *p.components.values()]
    return all(math.isfinite(v) and abs(v) <= AXIS_LIMIT for v in values)


def phase_energy(record: RunRecord, path: str | Path | None = None, limit: int = 12) -> bytes | None:
    """Energy per phase name, stacked by component (``None`` without phases).

    Phases whose figures are not finite numbers are not drawn (the chart says how many).
    """
    if not record.phases:
        return None
    drawn = [p for p in record.phases.values() if _phase_drawable(p)]
    skipped = len(record.phases) - len(drawn)
    phases = sorted(drawn, key=lambda p: p.energy_j, reverse=True)[:limit]
    phases.reverse()  # largest at the top of a horizontal bar chart
    comps = sorted(
        {c for p in phases for c in p.components} or {"total"},
        key=lambda n: (COMPONENT_ORDER.index(n) if n in COMPONENT_ORDER else 99, n),
    )
    scale = pick_scale("energy", [p.energy_j for p in phases])
    fig = style.new_figure(9.0, 1.6 + 0.42 * max(len(phases), 1))
    ax = fig.add_subplot()
    style.style_axes(ax)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    ax.grid(axis="y", visible=False)
    ys = list(range(len(phases)))
    left = [0.0] * len(phases)
    for c in comps:
        widths = [scale(p.components.get(c, p.energy_j if c == "total" else 0.0)) for p in phases]
        ax.barh(ys, widths, left=left, color=style.component_colour(c), label=c.upper(), height=0.6)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    errs_lo = [scale(max(p.energy_j - p.uncertainty.low, 0.0)) if p.uncertainty.high else 0.0 for p in phases]
    errs_hi = [scale(max(p.uncertainty.high - p.energy_j, 0.0)) if p.uncertainty.high else 0.0 for p in phases]
    centres = [scale(p.energy_j) for p in phases]
    if any(errs_lo) or any(errs_hi):
        ax.errorbar(centres, ys, xerr=[errs_lo, errs_hi], fmt="none", ecolor="#000000", elinewidth=1.0, capsize=4)
    labels = [f"{plain(p.name, 28)}  ×{p.count}, {number(p.duration_s)} s" for p in phases]
    ax.set_yticks(ys, labels, fontsize=style.FONT_SIZE - 1)
    ends = [*left, *(c + e for c, e in zip(centres, errs_hi, strict=True)), *(scale(p.energy_j) for p in phases)]
    ax.set_xlim(*axis_limits(ends, margin=0.05))
    ax.set_xlabel(f"Energy ({scale.symbol})")
    ax.set_title(f"Energy per phase — {plain(record.name)}", fontsize=style.FONT_SIZE + 2)
    if skipped:
        ax.annotate(
            f"{skipped} phase(s) not drawn: not finite numbers",
            xy=(1.0, 1.0), xycoords="axes fraction", ha="right", va="bottom", fontsize=style.FONT_SIZE - 2,
            color="#b00000",
        )  # fmt: skip
    if phases:
        ax.legend(loc="lower right", fontsize=style.FONT_SIZE - 1)
    return style.save(fig, path)
