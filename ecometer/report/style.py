"""One look for every chart: colours per component and quantity, grade colours, figure setup.

Colours are defined here once so that the GPU is the same colour in a timeline, a breakdown
and a comparison. Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global
backend switch), so charts can be made from any thread of a program that uses another backend.
matplotlib is imported inside the functions only.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

#: component -> colour, identical on every chart
COMPONENT_COLOURS = {"gpu": "#7b3294", "cpu": "#e66101", "dram": "#b8860b"}
OTHER_COLOUR = "#7f7f7f"

#: quantity -> colour for breakdowns
QUANTITY_COLOURS = {
    "it_energy": "#404040",
    "facility_energy": "#a6a6a6",
    "onsite_water": "#6baed6",
    "offsite_water": "#2171b5",
    "water": "#08519c",
    "withdrawal_water": "#c6dbef",
    "carbon": "#525252",
}

#: the EU energy label's seven colours, best (A, dark green) to worst (G, red)
EU_LABEL_COLOURS = ["#00a651", "#50b848", "#bed630", "#fff200", "#fdb913", "#f37021", "#ed1c24"]

#: colours for series in comparisons (qualitative, colour-blind friendly order)
SERIES_COLOURS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]

#: phase shading colours (light)
PHASE_COLOURS = ["#fdd49e", "#c7e9c0", "#bcbddc", "#fcbba1", "#c6dbef", "#d9d9d9", "#fee391", "#f2d7ee"]

DPI = 100
FONT_SIZE = 10


def component_colour(name: str) -> str:
    return COMPONENT_COLOURS.get(name.split(":")[0], OTHER_COLOUR)


def grade_colours(n: int) -> list[str]:
    """``n`` colours from green (best) to red (worst), the EU label's own for n = 7."""
    if n <= 0:
        return []
    if n == len(EU_LABEL_COLOURS):
        return list(EU_LABEL_COLOURS)
    if n == 1:
        return [EU_LABEL_COLOURS[0]]
    out = []
    for i in range(n):
        pos = i * (len(EU_LABEL_COLOURS) - 1) / (n - 1)
        lo = int(pos)
        hi = min(lo + 1, len(EU_LABEL_COLOURS) - 1)
        out.append(_mix(EU_LABEL_COLOURS[lo], EU_LABEL_COLOURS[hi], pos - lo))
    return out


def grade_colour(grade: str | None, labels: list[str]) -> str:
    if grade is None or grade not in labels:
        return OTHER_COLOUR
    return grade_colours(len(labels))[labels.index(grade)]


def text_colour_on(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (``#rrggbb``)."""
    r, g, b = (int(background[i : i + 2], 16) for i in (1, 3, 5))
    luminance = 0.299 * r + 0.587 * g + 0.114 * b
    return "#000000" if luminance > 150 else "#ffffff"


def _mix(a: str, b: str, t: float) -> str:
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


def new_figure(width_in: float, height_in: float) -> Any:
    """A matplotlib Figure on an Agg canvas, with the house font size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def style_axes(ax: Any) -> None:
    ax.tick_params(labelsize=FONT_SIZE - 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.grid(axis="y", color="#e6e6e6", linewidth=0.8)
    ax.set_axisbelow(True)


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes (no software/version metadata, so output is reproducible)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def save(fig: Any, path: str | Path | None) -> bytes:
    """PNG bytes of ``fig``, also written to ``path`` when given."""
    data = png_bytes(fig)
    if path is not None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return data
