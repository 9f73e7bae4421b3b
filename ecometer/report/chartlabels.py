"""Placing text labels on a chart axis so that neighbours do not overlap (no matplotlib here)."""

from __future__ import annotations

import math


def axis_fraction(x: float, lo: float, hi: float, *, log: bool) -> float:
    """Where ``x`` sits between the axis limits ``lo`` and ``hi``, as a fraction (0 .. 1)."""
    if log and x > 0 and lo > 0 and hi > 0:
        x, lo, hi = math.log10(x), math.log10(lo), math.log10(hi)
    return (x - lo) / (hi - lo) if hi != lo else 0.5


def stagger(positions: list[float], widths: list[float]) -> list[int]:
    """A row for each label (0 = top row) so that labels in one row do not overlap.

    ``positions`` are label centres and ``widths`` their widths, both as fractions of the
    axis; each label takes the first row where it clears the last label placed there.
    """
    order = sorted(range(len(positions)), key=positions.__getitem__)
    row_end: list[float] = []  # right end of the last label in each row
    rows = [0] * len(positions)
    for i in order:
        left = positions[i] - widths[i] / 2
        row = next((r for r, end in enumerate(row_end) if left >= end), len(row_end))
        if row == len(row_end):
            row_end.append(-math.inf)
        row_end[row] = positions[i] + widths[i] / 2
        rows[i] = row
    return rows


def text_width(text: str, axis_inches: float, fontsize: float = 9.0) -> float:
    """An estimate of a label's width as a fraction of an axis ``axis_inches`` long
    (0.6 em per character, a generous average for sans-serif text, plus a small gap)."""
    em = fontsize / 72.0  # inches
    return (0.6 * em * len(text) + 0.5 * em) / axis_inches
