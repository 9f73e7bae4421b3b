"""One look for every chart: colours per component and quantity, grade colours, figure setup.

Colours are defined here once so that the GPU is the same colour in a timeline, a breakdown
and a comparison. Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no global
backend switch), so charts can be made from any thread of a program that uses another backend.
matplotlib is imported inside the functions only.

Every chart is a :data:`Figure` (``style.Figure``, a matplotlib ``Figure`` made here on first
use), the one place text reaches matplotlib's renderer: before it is drawn, every ``$`` in
its text is escaped (:func:`escape_figure_text`), so a run name or grade label such as
``$\\frac{1}{$`` is shown as written instead of being parsed as mathtext; and a file is
written atomically (temporary file and rename, :func:`ecometer.files.atomic.write_atomic`), so a full disk
leaves the previous file or none, never a truncated PNG.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

from ecometer.checks.text import display_text
from ecometer.files.atomic import write_atomic

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


# ---- the one Figure: text escaped, files written atomically ---------------------------------
_UNESCAPED_DOLLAR = re.compile(r"(?<!\\)\$")


def escape_math(text: str) -> str:
    """``text`` with every ``$`` not already escaped written ``\\$`` (shown as ``$``, never mathtext)."""
    return _UNESCAPED_DOLLAR.sub(r"\\$", text)


def escape_figure_text(fig: Any) -> None:
    """Escape ``$`` in every text of ``fig``: titles, labels, annotations, legends, fixed tick labels.

    Tick labels that a numeric formatter writes while drawing (a log axis's ``10^2``) are
    matplotlib's own and keep their mathtext; labels given as strings (``set_xticks(ticks,
    labels)``) live in a ``FixedFormatter`` or a ``FuncFormatter`` until then and are escaped
    there. Hidden characters (names from records) are shown as escapes (``display_text``).
    """
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    for artist in fig.findobj(Text):
        text = artist.get_text()
        safe = display_text(text, multiline=True)  # names from records: no hidden characters drawn
        if "$" in safe or safe != text:
            artist.set_text(escape_math(safe))
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if isinstance(formatter, FixedFormatter):
                    formatter.seq = [escape_math(display_text(x, multiline=True)) for x in formatter.seq]
                elif isinstance(formatter, FuncFormatter) and not getattr(formatter.func, "escaped", False):
                    formatter.func = _escaping(formatter.func)  # set_xticks(ticks, labels) makes one of these


def _escaping(func: Any) -> Any:
    """``func`` (a tick formatter's) with its text escaped as :func:`escape_figure_text` does."""

    def escaped(x: Any, pos: Any = None) -> str:
        return escape_math(display_text(func(x, pos), multiline=True))

    escaped.escaped = True  # type: ignore[attr-defined]
    return escaped


def output_error(path: str | Path, exc: OSError, what: str = "write") -> Exception:
    """A one-line :class:`~ecometer.errors.UsageError` for an output that could not be written."""
    from ecometer.errors import UsageError

    if isinstance(exc, FileExistsError) or (isinstance(exc, NotADirectoryError)):
        reason = f"{exc.filename or path} exists and is not a folder"
    else:
        reason = exc.strerror or str(exc)
    return UsageError(f"cannot {what} {path}: {reason}")


_FIGURE_CLASS: Any = None


def _figure_class() -> Any:
    """The house ``Figure`` class, made on first use (so importing this module loads no matplotlib)."""
    global _FIGURE_CLASS
    if _FIGURE_CLASS is None:
        from matplotlib.figure import Figure as MatplotlibFigure

        class Figure(MatplotlibFigure):
            """A matplotlib ``Figure`` whose text is never mathtext and whose files are written atomically."""

            def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
                escape_figure_text(self)
                if not isinstance(fname, (str, os.PathLike)):
                    return super().savefig(fname, *args, **kwargs)
                target = Path(fname)
                kwargs.setdefault("format", target.suffix.lstrip(".").lower() or "png")
                buf = io.BytesIO()
                super().savefig(buf, *args, **kwargs)
                write_atomic(target, buf.getvalue())
                return None

        _FIGURE_CLASS = Figure
    return _FIGURE_CLASS


def __getattr__(name: str) -> Any:
    if name == "Figure":  # ``from ecometer.report.style import Figure`` (standards' charts use it too)
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_figure(width_in: float, height_in: float) -> Any:
    """A house :data:`Figure` on an Agg canvas, with the house font size."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_class()(figsize=(width_in, height_in), dpi=DPI, layout="constrained")
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
    escape_figure_text(fig)  # also for a plain matplotlib Figure passed in
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def save(fig: Any, path: str | Path | None) -> bytes:
    """PNG bytes of ``fig``, also written (atomically) to ``path`` when given."""
    data = png_bytes(fig)
    if path is not None:
        write_atomic(path, data)
    return data
