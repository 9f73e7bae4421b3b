"""A record's timeline read as buckets: seconds, joules per component and work per bucket.

The timeline gives the shape over time; each component's joules are scaled so that they sum
to the component's own figure in the record (a counter reading where there is one), so the
rate a forecast extrapolates is in the record's units. Units: s, J, units of work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ecometer.errors import InputError
from ecometer.record.model import RunRecord


@dataclass
class Buckets:
    """The run as ``n`` consecutive buckets (index 0 at the run's start)."""

    width_s: np.ndarray  # (n,) seconds
    energy_j: dict[str, np.ndarray]  # component -> (n,) joules, summing to the record's figure
    work: np.ndarray | None  # (n,) units of work counted in each bucket, or None (no work timeline)
    notes: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.width_s.size)


def _widths(record: RunRecord) -> np.ndarray:
    """Bucket widths (s) from the entries' mid-points ``t_s`` (and ``bucket_s`` where it fits)."""
    tl = record.timeline
    t = np.asarray(tl.t_s, dtype=float)
    if t.size == 0:
        return t
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0) or t[0] < 0:
        raise InputError(f"record {record.name!r}: timeline.t_s is not a finite increasing series of seconds >= 0")
    b = float(tl.bucket_s or 0.0)
    index = np.arange(t.size)
    if b > 0 and np.allclose(t[:-1], (index[:-1] + 0.5) * b, rtol=0, atol=1e-6 * b):
        widths = np.full(t.size, b)
        widths[-1] = min(b, max(2.0 * (t[-1] - (t.size - 1) * b), 1e-9))  # the last bucket may be partial
        return widths
    # another layout (e.g. a merged record): edges half-way between mid-points
    edges = np.empty(t.size + 1)
    edges[1:-1] = 0.5 * (t[1:] + t[:-1])
    edges[0] = max(0.0, t[0] - (edges[1] - t[0]))
    edges[-1] = t[-1] + (t[-1] - edges[-2])
    return np.diff(edges)


def read_buckets(record: RunRecord, unit: str | None) -> Buckets:
    """The record's timeline as :class:`Buckets`; ``unit`` picks the work counter (None: none).

    Raises :class:`InputError` for a timeline that does not fit the record (series of other
    lengths, non-finite figures).
    """
    tl = record.timeline
    widths = _widths(record)
    n = widths.size
    notes: list[str] = []
    by_component: dict[str, np.ndarray] = {}
    for channel, series in tl.power_w.items():
        if len(series) != n:
            raise InputError(
                f"record {record.name!r}: timeline.power_w.{channel} has {len(series)} entries, timeline.t_s has {n}"
            )
        p = np.array([0.0 if v is None else v for v in series], dtype=float)
        if not np.all(np.isfinite(p)):
            raise InputError(f"record {record.name!r}: timeline.power_w.{channel} has non-finite watts")
        component = channel.split(":")[0]
        by_component[component] = by_component.get(component, np.zeros(n)) + np.clip(p, 0.0, None) * widths
    energy: dict[str, np.ndarray] = {}
    for name, comp in record.components.items():
        total = float(comp.energy_j)
        if not math.isfinite(total) or total < 0:
            raise InputError(f"record {record.name!r}: components.{name}.energy_j is {total!r}, expected joules >= 0")
        shape = by_component.get(name)
        if shape is None or shape.sum() <= 0:
            shape = widths.copy()
            if n:
                notes.append(f"{name}: no power in the timeline; its energy is taken as spread evenly over time")
        s = shape.sum()
        energy[name] = shape * (total / s) if s > 0 else np.zeros(n)
    work = None
    if unit is not None and unit in tl.work:
        counts = tl.work[unit]
        if len(counts) != n:
            raise InputError(
                f"record {record.name!r}: timeline.work.{unit} has {len(counts)} entries, timeline.t_s has {n}"
            )
        work = np.asarray(counts, dtype=float)
        if not np.all(np.isfinite(work)) or np.any(work < 0):
            raise InputError(f"record {record.name!r}: timeline.work.{unit} has counts that are not finite and >= 0")
        counted = float(record.work.get(unit, 0.0))
        if work.sum() > 0 and counted > 0 and not math.isclose(work.sum(), counted, rel_tol=1e-6):
            notes.append(
                f"timeline.work.{unit} sums to {work.sum():g} but the record counted {counted:g}: the timeline's "
                "shape is scaled to the record's count"
            )
            work = work * (counted / work.sum())
    return Buckets(width_s=widths, energy_j=energy, work=work, notes=notes)
