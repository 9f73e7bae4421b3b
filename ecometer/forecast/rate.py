"""The rate a job runs at: where its current regime starts, its level and trend, and draws of
what the rest of the job will take.

The job's progress ``x`` is work (units) or time (s). The observed buckets are grouped into
blocks of equal progress; a block's rates are its sums per unit of progress (J per unit of
work or W, and seconds per unit of work). Blocks are treated as independent, with a rate
variance inversely proportional to the block's progress (a common covariance between the
columns, estimated from the residuals), which allows for noise that is correlated within a
block.

- A change of level (warm-up, or a new phase) is a split of the blocks where a step fits
  better than a straight line and the two sides differ by more than :data:`T_CHANGE`
  standard errors; the forecast rests on the blocks after the latest such split.
- Over those blocks, each rate is fitted as ``level + slope * (x - mean x)`` by weighted
  least squares. The rest of the job is drawn from both the level model and the trend model
  (Student-t, a shared variance draw), plus the noise of the rest itself; the interval is
  the hull of the two models' intervals, so a trend the observed part cannot rule out is
  allowed for. The central value is the level, or the trend where the slope is significant
  at :data:`TREND_LEVEL`.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

MIN_BLOCKS = 6  # fewer blocks than this after warm-up: not enough to forecast
FIT_BLOCKS = 16  # blocks the rate is fitted on
DETECT_BLOCKS = 24  # blocks a change of level is looked for in
MIN_RIGHT_BLOCKS = 4  # a regime must span this many detection blocks (1/6 of the observed part)
T_CHANGE = 4.0  # |t| a step must exceed (about the 1 % point of the largest of ~20 split statistics)
MAX_RHO = 0.8  # the largest block-to-block correlation allowed for (a variance factor of 9)
TREND_LEVEL = 0.99  # two-sided level at which a slope is taken as real for the central value


def t_quantile(p: float, dof: float) -> float:
    """Student-t quantile (Cornish-Fisher expansion about the normal; < 1 % off for dof >= 4)."""
    z = NormalDist().inv_cdf(p)
    v = float(dof)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


@dataclass
class Blocks:
    """Consecutive groups of buckets: their progress, mid-point (from the job start) and sums."""

    progress: np.ndarray  # (K,) units of progress in each block
    mid: np.ndarray  # (K,) cumulative progress at each block's middle
    sums: np.ndarray  # (K, m) column sums (J, s)
    first: np.ndarray  # (K,) index of each block's first bucket
    last: np.ndarray  # (K,) index one past each block's last bucket

    @property
    def k(self) -> int:
        return int(self.progress.size)

    @property
    def rates(self) -> np.ndarray:
        return self.sums / self.progress[:, None]

    def part(self, start: int) -> Blocks:
        return Blocks(self.progress[start:], self.mid[start:], self.sums[start:], self.first[start:], self.last[start:])


def make_blocks(dx: np.ndarray, y: np.ndarray, i0: int, i1: int, k: int) -> Blocks:
    """Up to ``k`` blocks of about equal progress over buckets ``[i0, i1)``."""
    before = float(dx[:i0].sum())
    cum = np.cumsum(dx[i0:i1])
    total = float(cum[-1]) if cum.size else 0.0
    if total <= 0:
        return Blocks(*(np.zeros(0) for _ in range(2)), np.zeros((0, y.shape[1])), np.zeros(0, int), np.zeros(0, int))
    cuts = np.searchsorted(cum, total * np.arange(1, k) / k, side="left") + 1
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 1, cum.size), [cum.size]]))
    first, last = bounds[:-1] + i0, bounds[1:] + i0
    progress = np.array([dx[a:b].sum() for a, b in zip(first, last, strict=True)])
    keep = progress > 0
    if not keep.all():  # a block of no progress (trailing idle buckets) joins the block before it
        for j in np.flatnonzero(~keep):
            if j > 0:
                last[j - 1] = last[j]
        first, last = first[keep], last[keep]
        progress = progress[keep]
    sums = np.array([y[a:b].sum(axis=0) for a, b in zip(first, last, strict=True)])
    ends = before + np.cumsum(progress)
    return Blocks(progress, ends - progress / 2.0, sums, first, last)


def _sse_step(r: np.ndarray, w: np.ndarray, j: int) -> tuple[float, float, float, float]:
    """SSE of a step at ``j``, the two weighted means and the pooled t of their difference."""
    wl, wr = w[:j].sum(), w[j:].sum()
    ml, mr = (w[:j] * r[:j]).sum() / wl, (w[j:] * r[j:]).sum() / wr
    sse = float((w[:j] * (r[:j] - ml) ** 2).sum() + (w[j:] * (r[j:] - mr) ** 2).sum())
    s2 = sse / max(r.size - 2, 1)
    diff = mr - ml
    scale = max(abs(ml), abs(mr), 1e-300)
    if s2 <= (1e-12 * scale) ** 2 * w.sum():
        t = np.inf if abs(diff) > 1e-9 * scale else 0.0
    else:
        t = diff / np.sqrt(s2 * (1.0 / wl + 1.0 / wr))
    return sse, float(ml), float(mr), float(t)


def _sse_line(r: np.ndarray, w: np.ndarray, x: np.ndarray) -> float:
    xb = (w * x).sum() / w.sum()
    dx = x - xb
    sxx = (w * dx * dx).sum()
    a = (w * r).sum() / w.sum()
    b = (w * dx * r).sum() / sxx if sxx > 0 else 0.0
    return float((w * (r - a - b * dx) ** 2).sum())


@dataclass
class Change:
    """A change of level found at progress ``at`` (the start of the regime after it)."""

    at: float
    t: float
    before: float  # rate of the detection column before the change
    after: float
    column: int


def find_changes(blocks: Blocks, columns: list[int]) -> tuple[int, list[Change]]:
    """Index of the first block of the latest regime, and the changes that led to it."""
    start = 0
    changes: list[Change] = []
    while blocks.k - start >= MIN_RIGHT_BLOCKS + 1:
        part = blocks.part(start)
        w, x = part.progress, part.mid
        best: tuple[float, int, Change] | None = None
        for c in columns:
            r = part.rates[:, c]
            line = _sse_line(r, w, x)
            for j in range(1, part.k - MIN_RIGHT_BLOCKS + 1):
                sse, ml, mr, t = _sse_step(r, w, j)
                if abs(t) > T_CHANGE and sse < line and (best is None or abs(t) > best[0]):
                    at = float(part.mid[j] - part.progress[j] / 2.0)
                    best = (abs(t), j, Change(at, t, ml, mr, c))
        if best is None:
            break
        start += best[1]
        changes.append(best[2])
    return start, changes


@dataclass
class Fit:
    """Level and slope per column over the fitted blocks, with their residual covariance."""

    level: np.ndarray  # (m,) rate at the mean progress xbar
    slope: np.ndarray  # (m,) change of rate per unit of progress
    cov_trend: np.ndarray  # (m, m) residual covariance per unit weight, trend model
    cov_level: np.ndarray  # (m, m) the same for the level-only model
    xbar: float
    sum_w: float
    sxx: float
    k: int

    def slope_t(self, column: int) -> float:
        var = self.cov_trend[column, column] / self.sxx if self.sxx > 0 else 0.0
        if var <= 0:
            return 0.0 if self.slope[column] == 0 else float(np.inf * np.sign(self.slope[column]))
        return float(self.slope[column] / np.sqrt(var))

    def trend_significant(self, column: int) -> bool:
        return abs(self.slope_t(column)) > t_quantile((1 + TREND_LEVEL) / 2.0, self.k - 2)


def fit(blocks: Blocks, columns: list[int]) -> Fit:
    """Level and slope of every column; ``columns`` are those whose block-to-block memory widens the bounds."""
    w, x, r = blocks.progress, blocks.mid, blocks.rates
    sw = float(w.sum())
    xb = float((w * x).sum() / sw)
    dx = x - xb
    sxx = float((w * dx * dx).sum())
    level = (w[:, None] * r).sum(axis=0) / sw
    slope = (w[:, None] * dx[:, None] * r).sum(axis=0) / sxx if sxx > 0 else np.zeros(r.shape[1])
    e_trend = r - level - dx[:, None] * slope
    e_level = r - level
    k = blocks.k
    cov_trend = (w[:, None] * e_trend).T @ e_trend / max(k - 2, 1) * _memory(e_trend, w, columns)
    cov_level = (w[:, None] * e_level).T @ e_level / max(k - 1, 1) * _memory(e_level, w, columns)
    return Fit(level, slope, cov_trend, cov_level, xb, sw, sxx, k)


def _memory(resid: np.ndarray, w: np.ndarray, columns: list[int]) -> float:
    """Variance factor ``(1 + rho) / (1 - rho)`` for residuals correlated from one block to the next.

    ``rho`` is the largest lag-1 autocorrelation of the weighted residuals over ``columns``,
    taken as 0 when negative and at most :data:`MAX_RHO`: noise with a memory longer than a
    block (slow wander of power or pace) then widens the interval instead of narrowing it.
    """
    z = resid[:, columns] * np.sqrt(w)[:, None]
    num = (z[1:] * z[:-1]).sum(axis=0)
    den = (z * z).sum(axis=0)
    rho = max((float(n / d) for n, d in zip(num, den, strict=True) if d > 0), default=0.0)
    rho = min(max(rho, 0.0), MAX_RHO)
    return (1.0 + rho) / (1.0 - rho)


def _root(cov: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L @ L.T == cov`` for a symmetric positive semi-definite ``cov``."""
    vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
    return vecs * np.sqrt(np.clip(vals, 0.0, None))


def draw_rest(f: Fit, x_now: float, x_total: float, rng: np.random.Generator, draws: int) -> dict[str, np.ndarray]:
    """Draws of the column sums over the rest of the job, ``(draws, m)``, under each model.

    Keys: ``"trend"`` and ``"level"`` (draws), ``"trend_central"`` and ``"level_central"``
    (the point values, ``(m,)``). Rates are not allowed below zero.
    """
    m = f.level.size
    rest = max(x_total - x_now, 0.0)
    out: dict[str, np.ndarray] = {}
    xf = 0.5 * (x_now + x_total) - f.xbar  # the rest's mean progress, from xbar
    for name, cov, dof, slope in (
        ("trend", f.cov_trend, f.k - 2, f.slope),
        ("level", f.cov_level, f.k - 1, np.zeros(m)),
    ):
        root = _root(cov)
        g = np.sqrt(rng.chisquare(max(dof, 1), size=(draws, 1)) / max(dof, 1))
        z = rng.standard_normal((3, draws, m)) @ root.T
        spread = z[0] / np.sqrt(f.sum_w) + (z[2] / np.sqrt(rest) if rest > 0 else 0.0)
        if name == "trend" and f.sxx > 0:
            spread = spread + z[1] * (xf / np.sqrt(f.sxx))
        centre = f.level + slope * xf
        out[name] = rest * np.clip(centre + spread / g, 0.0, None)
        out[f"{name}_central"] = rest * np.clip(centre, 0.0, None)
    return out
