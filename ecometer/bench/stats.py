"""Small statistics of repetitions, standard library only (the bench's stopping rule runs
between runs): the exact Student-t quantile for whole degrees of freedom, the interval of a
mean, and the robust test that flags a run far from its siblings.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

#: modified z-score beyond which a run is far from its siblings (Iglewicz and Hoaglin 1993,
#: "How to Detect and Handle Outliers", ASQC Basic References in Quality Control 16, p. 11)
OUTLIER_Z = 3.5
_MAD_TO_SIGMA = 0.6745  # the normal's median absolute deviation in standard deviations


def t_coverage(t: float, dof: int) -> float:
    """``P(|T| <= t)`` for Student's t with ``dof`` whole degrees of freedom (exact, by the
    finite series of Abramowitz and Stegun 26.7.3 and 26.7.4)."""
    if dof < 1:
        raise ValueError(f"degrees of freedom {dof!r}: expected a whole number >= 1")
    theta = math.atan(abs(t) / math.sqrt(dof))
    c2 = math.cos(theta) ** 2
    s = math.sin(theta)
    if dof % 2 == 1:
        if dof == 1:
            return 2.0 * theta / math.pi
        term, total = 1.0, 1.0
        for k in range(1, (dof - 1) // 2):  # 1 + 2/3 c^2 + (2*4)/(3*5) c^4 + ...
            term *= (2 * k) / (2 * k + 1) * c2
            total += term
        return 2.0 / math.pi * (theta + s * math.cos(theta) * total)
    term, total = 1.0, 1.0
    for k in range(1, dof // 2):  # 1 + 1/2 c^2 + (1*3)/(2*4) c^4 + ...
        term *= (2 * k - 1) / (2 * k) * c2
        total += term
    return s * total


def t_quantile(coverage: float, dof: int) -> float:
    """The ``t`` with ``P(|T| <= t) = coverage`` (two-sided) for ``dof`` whole degrees of freedom."""
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage {coverage!r}: expected a probability in (0, 1)")
    lo, hi = 0.0, math.pi / 2  # bisect on the angle atan(t / sqrt(dof)): P rises with it
    for _ in range(100):
        mid = (lo + hi) / 2
        if t_coverage(math.tan(mid) * math.sqrt(dof), dof) < coverage:
            lo = mid
        else:
            hi = mid
    return math.tan((lo + hi) / 2) * math.sqrt(dof)


def mean_halfwidth(values: Sequence[float], coverage: float = 0.95) -> float:
    """Half the width of the ``coverage`` interval of the mean of ``values`` (Student-t);
    ``inf`` for fewer than two values."""
    n = len(values)
    if n < 2:
        return math.inf
    return t_quantile(coverage, n - 1) * statistics.stdev(values) / math.sqrt(n)


def robust_z(values: Sequence[float]) -> list[float]:
    """Each value's modified z-score ``0.6745 (x - median) / MAD`` among ``values``.

    When more than half the values are equal (MAD = 0) the mean absolute deviation stands in
    (times 1.2533, its ratio to the standard deviation of a normal); all zero if that is 0 too.
    """
    if len(values) < 3:
        return [0.0] * len(values)
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values)
    if mad > 0:
        return [_MAD_TO_SIGMA * (v - med) / mad for v in values]
    mean_ad = statistics.fmean(abs(v - med) for v in values)
    if mean_ad == 0:
        return [0.0] * len(values)
    return [(v - med) / (1.2533 * mean_ad) for v in values]
