"""The bench's charts: bars with 95 % intervals per configuration (energy, water, carbon per
unit), and the Pareto chart of energy against time (and against the quality figure).

Drawn with the house style and helpers of :mod:`ecometer.report` (matplotlib, imported here
only: never on the measuring path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecometer.bench.verdict import ConfigVerdict, Figure, Verdict
from ecometer.record.units import pick_scale
from ecometer.report import style
from ecometer.report.charts import axis_limits, drawable, plain, whiskers

_PANELS = (("energy", "IT energy"), ("water", "Water consumed"), ("carbon", "Carbon"))


def _bar_panel(ax: Any, configs: list[ConfigVerdict], attr: str, title: str, per: str) -> None:
    style.style_axes(ax)
    figs: list[Figure] = [getattr(c, attr) for c in configs]
    shown = [(i, f) for i, f in enumerate(figs) if f is not None and drawable(f)]
    scale = pick_scale(shown[0][1].kind, [f.high for _, f in shown])
    for i, f in shown:
        colour = style.SERIES_COLOURS[i % len(style.SERIES_COLOURS)]
        ax.bar([i], [scale(f.central)], width=0.7, color=colour, edgecolor="#303030", linewidth=0.5)
        ax.errorbar([i], [scale(f.central)], yerr=[[v] for v in whiskers(f, scale)], fmt="none", ecolor="#000000",
                    elinewidth=1.1, capsize=4)  # fmt: skip
    ax.set_ylim(*axis_limits([scale(v) for _, f in shown for v in (f.low, f.high)], margin=0.15))
    ticks = [plain(c.label, 28) for c in configs]
    ax.set_xticks(range(len(configs)), ticks, rotation=30 if len(configs) > 3 else 0,
                  ha="right" if len(configs) > 3 else "center")  # fmt: skip
    ax.set_ylabel(f"{scale.symbol} per {plain(per, 20)}")
    ax.set_title(f"{title}, lower is better", fontsize=style.FONT_SIZE + 1)


def bars(v: Verdict, path: str | Path | None = None) -> bytes:
    """One panel per figure the runs have (energy; water and carbon with a site), 95 % whiskers."""
    configs = v.measured
    panels = [(a, t) for a, t in _PANELS if any(getattr(c, a) is not None for c in configs)]
    fig = style.new_figure(4.2 * len(panels) + 1.0, 4.8)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (attr, title) in zip(axes, panels, strict=True):
        _bar_panel(ax, configs, attr, title, v.per)
    fig.suptitle(f"Per {plain(v.per, 20)}, by configuration", fontsize=style.FONT_SIZE + 3)
    fig.supxlabel("bars: mean of the runs; whiskers: 95 % interval (repetitions and sensors)",
                  fontsize=style.FONT_SIZE - 2, color="#606060")  # fmt: skip
    return style.save(fig, path)


def _scatter(ax: Any, configs: list[ConfigVerdict], x_of: Any, front: list[str], xlabel: str, v: Verdict) -> None:
    style.style_axes(ax)
    ax.grid(axis="x", color="#e6e6e6", linewidth=0.8)
    xs: list[Figure] = [x_of(c) for c in configs]
    ys: list[Figure] = [c.energy for c in configs]  # type: ignore[misc]
    xscale = pick_scale(xs[0].kind, [f.high for f in xs])
    yscale = pick_scale("energy", [f.high for f in ys])
    for i, (c, fx, fy) in enumerate(zip(configs, xs, ys, strict=True)):
        colour = style.SERIES_COLOURS[i % len(style.SERIES_COLOURS)]
        on_front = c.key in front
        ax.errorbar([xscale(fx.central)], [yscale(fy.central)], xerr=[[w] for w in whiskers(fx, xscale)],
                    yerr=[[w] for w in whiskers(fy, yscale)], fmt="o" if on_front else "s", color=colour,
                    ecolor=colour, markersize=8 if on_front else 6, markeredgecolor="#202020", capsize=3)  # fmt: skip
        ax.annotate(plain(c.label, 30), (xscale(fx.central), yscale(fy.central)), xytext=(6, 5),
                    textcoords="offset points", fontsize=8)  # fmt: skip
    pts = sorted((xscale(x_of(v.config(k)).central), yscale(v.config(k).energy.central)) for k in front)  # type: ignore[union-attr]
    if len(pts) > 1:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], linestyle="--", color="#808080", linewidth=1, zorder=0)
    ax.set_xlim(*axis_limits([xscale(w) for f in xs for w in (f.low, f.high)], margin=0.2))
    ax.set_ylim(*axis_limits([yscale(w) for f in ys for w in (f.low, f.high)], margin=0.2))
    ax.set_xlabel(xlabel.replace("{unit}", xscale.symbol))
    ax.set_ylabel(f"IT energy ({yscale.symbol} per {plain(v.per, 20)})")


def pareto_chart(v: Verdict, path: str | Path | None = None) -> bytes:
    """Energy against time per unit (and against the quality figure): the front dashed, its
    configurations drawn as circles, the others as squares."""
    configs = [c for c in v.measured if c.time is not None]
    with_q = [c for c in configs if c.quality is not None] if v.pareto_quality is not None else []
    fig = style.new_figure(6.5 * (2 if with_q else 1) + 0.5, 5.2)
    axes = fig.subplots(1, 2 if with_q else 1, squeeze=False)[0]
    _scatter(axes[0], configs, lambda c: c.time, v.pareto_time, f"time ({{unit}} per {plain(v.per, 20)})", v)
    axes[0].set_title("Energy against time (lower left is better)", fontsize=style.FONT_SIZE + 1)
    if with_q:
        better = "higher" if v.quality_higher else "lower"
        _scatter(axes[1], with_q, lambda c: c.quality, v.pareto_quality or [], f"{plain(v.quality or '', 30)}", v)
        axes[1].set_title(f"Energy against {plain(v.quality or '', 30)} ({better} is better)",
                          fontsize=style.FONT_SIZE + 1)  # fmt: skip
    fig.suptitle("Pareto front (dashed; circles are on it)", fontsize=style.FONT_SIZE + 3)
    return style.save(fig, path)
