"""The grade as a label in the style of the EU energy label.

Coloured bars of growing length from the best grade (green) to the worst (red), a black
arrow marking the run's grade, then the metric grades beneath. A star standard (labels such
as ``5``..``1`` or ``★★★``) draws each row as its number of stars.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ecometer.record.units import number
from ecometer.report import style
from ecometer.report.charts import plain
from ecometer.report.grades import GradeView, metric_title, star_count

MAX_METRIC_ROWS = 5


def _bar(ax: Any, x0: float, x1: float, y: float, h: float, colour: str) -> None:
    from matplotlib.patches import Polygon

    tip = h * 0.45
    pts = [(x0, y), (x1, y), (x1 + tip, y + h / 2), (x1, y + h), (x0, y + h)]
    ax.add_patch(Polygon(pts, closed=True, facecolor=colour, edgecolor="none"))


def _marker(ax: Any, x0: float, x1: float, y: float, h: float, colour: str = "#000000") -> None:
    from matplotlib.patches import Polygon

    tip = h * 0.5
    pts = [(x0, y + h / 2), (x0 + tip, y - 0.08), (x1, y - 0.08), (x1, y + h + 0.08), (x0 + tip, y + h + 0.08)]
    ax.add_patch(Polygon(pts, closed=True, facecolor=colour, edgecolor="none"))


def _stars(ax: Any, x: float, y: float, count: int, colour: str, size: float = 9.0, width: float = 2.4) -> None:
    step = min(0.42, width / max(count, 1))
    xs = [x + i * step for i in range(count)]
    ax.plot(xs, [y] * count, linestyle="none", marker="*", markersize=size, color=colour, markeredgewidth=0)


def _wrap(text: str, width: int, lines: int) -> list[str]:
    import textwrap

    out = textwrap.wrap(plain(text, 400), width) or [""]
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1][: width - 1] + "…"
    return out


INDICATIVE_COLOUR = "#8c8c8c"


def short_label(label: str, labels: list[str], scale: str) -> str:
    """A grade for a small badge: ``"4 stars"`` -> ``"4★"``, letters unchanged."""
    if scale == "stars":
        idx = labels.index(label) if label in labels else 0
        return f"{star_count(label, idx, len(labels))}★"
    return plain(label, 6)


ROW_H, ROW_GAP = 0.78, 0.16  # height of a ladder bar and the gap below it (axes units)
BLUE = "#1f4e9a"


def _heights(view: GradeView | None, n: int, reasons: list[str]) -> tuple[float, float]:
    """(ladder height, total height) of the label in axes units."""
    metrics = view.metrics[:MAX_METRIC_ROWS] if view else []
    ladder_h = n * (ROW_H + ROW_GAP)
    lower_h = 0.9 + 0.8 * max(len(metrics), 1) + (0.45 if view and view.failures else 0.0)
    lower_h += 0.45 + 0.36 * len(reasons) if reasons else 0.0
    return ladder_h, 1.55 + ladder_h + lower_h


def _frame(ax: Any, view: GradeView | None, total_h: float, title: str) -> float:
    """The rounded border, the heading, the standard's name and ``title``; returns the top y."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(
        FancyBboxPatch(
            (0.05, 0.05),
            9.9,
            total_h - 0.1,
            boxstyle="round,pad=0,rounding_size=0.25",
            facecolor="white",
            edgecolor=BLUE,
            linewidth=2.0,
        )
    )
    top = total_h - 0.35
    ax.text(0.35, top, "Efficiency grade", fontsize=14, fontweight="bold", va="top", color=BLUE)
    std_name = "no standard applied"
    if view is not None:
        std_name = plain(view.standard + (f" · class {view.class_name}" if view.class_name else ""), 60)
    ax.text(0.35, top - 0.62, std_name, fontsize=9 if len(std_name) <= 44 else 7.5, va="top", color="#303030")
    if title:
        ax.text(9.65, top, plain(title, 28), fontsize=9, va="top", ha="right", color="#303030")
    return top


def _ladder(ax: Any, view: GradeView | None, labels: list[str], y_top: float) -> None:
    """One coloured bar per grade, best first, and the arrow marking the run's grade."""
    n = len(labels)
    stars = view is not None and view.scale == "stars"
    for i, (lab, colour) in enumerate(zip(labels, style.grade_colours(n), strict=True)):
        y = y_top - (i + 1) * (ROW_H + ROW_GAP) + ROW_GAP
        _bar(ax, 0.35, 2.4 + (3.6 * i / max(n - 1, 1)), y, ROW_H, colour)
        ink = style.text_colour_on(colour)
        if stars:
            _stars(ax, 0.75, y + ROW_H / 2, star_count(lab, i, n), ink)
        else:
            ax.text(0.6, y + ROW_H / 2, plain(lab, 6), fontsize=15, fontweight="bold", va="center", color=ink)
        if view is not None and (view.index == i or (view.grade is None and view.indicative == lab)):
            _mark(ax, view, lab, i, n, y, stars)


def _mark(ax: Any, view: GradeView, lab: str, i: int, n: int, y: float, stars: bool) -> None:
    """The arrow on row ``i`` (grey and captioned when the grade is only indicative)."""
    indicative = view.grade is None
    _marker(ax, 7.25, 9.65, y, ROW_H, INDICATIVE_COLOUR if indicative else "#000000")
    if stars:
        k = star_count(lab, i, n)
        _stars(ax, 7.95, y + ROW_H / 2, k, "#ffd400", size=10.0 if k <= 4 else 8.5, width=1.55)
    else:
        ax.text(8.45, y + ROW_H / 2, plain(lab, 6), fontsize=20, fontweight="bold", va="center", color="white")
    if indicative:
        ax.text(8.45, y - 0.12, "indicative", fontsize=8, va="top", ha="center", color="#505050")


def _not_rated(ax: Any, view: GradeView, reasons: list[str], y: float) -> float:
    """Why the run has no overall grade (when it has none); returns the next y."""
    if view.grade is not None:
        return y
    if reasons:
        ax.text(0.35, y - 0.15, "Not rated:", fontsize=9, va="top", fontweight="bold", color="#b00000")
        for line in reasons:
            y -= 0.36
            ax.text(0.35, y - 0.15, line, fontsize=8, va="top", color="#303030")
        y -= 0.45
    elif not view.indicative:
        ax.text(0.35, y - 0.15, "No overall grade (no metric applied)", fontsize=9, va="top")
    return y


def _metric_row(ax: Any, m: Any, labels: list[str], scale: str, y: float) -> None:
    """One metric: its name, value, grade badge and stability (or why it was not applied)."""
    unit = m.label or m.unit
    value = f"{number(m.value)} {plain(unit, 24)}" if m.value is not None else "n/a"
    ax.text(0.35, y + 0.2, plain(metric_title(m.name), 48), fontsize=8.5, va="center", color="#303030")
    if m.value is not None:
        ax.text(6.35, y - 0.15, value, fontsize=9, va="center", ha="right", fontweight="bold")
    shown = m.grade if m.grade is not None else m.indicative
    if shown is None:
        reason = f"not applied{': ' + m.reason if m.reason else ''}"
        # left of the value, never over it (about 0.18 units per bold 9 pt character, 0.145 per 8 pt one)
        room = max(int((6.0 - 0.18 * len(value) - 0.35) / 0.145), 8) if m.value is not None else 60
        ax.text(0.35, y - 0.15, plain(reason, room), fontsize=8, va="center", color="#606060")
        return
    colour = style.grade_colour(shown, labels) if m.grade is not None else INDICATIVE_COLOUR
    ax.text(
        6.85,
        y - 0.15,
        short_label(shown, labels, scale),
        fontsize=9,
        fontweight="bold",
        va="center",
        ha="center",
        color=style.text_colour_on(colour),
        bbox={"boxstyle": "round,pad=0.25", "facecolor": colour, "edgecolor": "none"},
    )
    stable = {True: "stable", False: "near edge", None: ""}[m.stable] if m.grade else "indicative"
    chance = (m.probabilities or {}).get(m.grade) if m.grade else None
    if chance is not None:  # how likely the grade is, from the assessment's Monte Carlo draws
        stable = f"{100 * chance:.0f} %" + (f", {stable}" if stable else "")
    ax.text(7.35, y - 0.15, stable, fontsize=8, va="center", color="#b00000" if m.stable is False else "#606060")


def grade_label(view: GradeView | None, path: str | Path | None = None, *, title: str = "") -> bytes:
    """Draw the label for ``view`` (``None`` draws an empty ladder saying the run is not graded)."""
    labels = view.labels if view and view.labels else list("ABCDEFG")
    reasons = [line for r in (view.not_rated if view else [])[:3] for line in _wrap(r, 62, 3)]
    ladder_h, total_h = _heights(view, len(labels), reasons)
    fig = style.new_figure(4.6, 0.62 * total_h + 0.3)
    fig.set_layout_engine(None)
    ax = fig.add_axes((0.03, 0.02, 0.94, 0.96))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, total_h)
    ax.axis("off")
    y_top = _frame(ax, view, total_h, title) - 1.2
    _ladder(ax, view, labels, y_top)
    y = y_top - ladder_h - 0.35
    ax.plot([0.35, 9.65], [y + 0.15, y + 0.15], color=BLUE, linewidth=1.0)
    if view is None:
        ax.text(0.35, y - 0.15, "Not graded: score the run with a standard", fontsize=9, va="top")
        ax.text(0.35, y - 0.6, "(e.g. --standard ecometer-training)", fontsize=8.5, va="top", color="#606060")
        return style.save(fig, path)
    y = _not_rated(ax, view, reasons, y)
    for m in view.metrics[:MAX_METRIC_ROWS]:
        y -= 0.8
        _metric_row(ax, m, labels, view.scale, y)
    if view.failures:
        y -= 0.5
        ax.text(0.35, y, plain("FAILED: " + "; ".join(view.failures), 60), fontsize=8.5, va="center", color="#b00000")
    return style.save(fig, path)
