"""What would make a record gradable: the steps a user can take, named from what is missing.

:func:`to_be_rated` turns the standard's requirements and the record's gaps into actions
("run for at least 60 s: this run took 4.0 s, so about 15 times its work", "measure the CPU
with a counter ..."). It names only what is actually missing: a requirement the record meets is
never listed, and an empty list means nothing but the grade itself stands in the way.
"""

from __future__ import annotations

import math
from typing import Any

from ecometer.record.model import RunRecord
from ecometer.record.units import relative_text
from ecometer.standards.reported import is_reported
from ecometer.standards.schema import Standard

#: what a modelled (not counted) component can be measured with instead
COUNTERS = {
    "cpu": "RAPL (Linux powercap, readable by the user running the job)",
    "dram": "RAPL's DRAM domain",
    "gpu": "the GPU's energy counter (NVML)",
}


def _quality_steps(std: Standard, record: RunRecord) -> list[str]:
    q = std.quality
    steps: list[str] = []
    d = record.duration_s
    if q.min_duration_s is not None and not d >= q.min_duration_s:
        more = f", about {math.ceil(q.min_duration_s / d)} times its work" if d > 0 and math.isfinite(d) else ""
        steps.append(f"run for at least {q.min_duration_s:g} s of work (this run: {d:.3g} s{more})")
    if q.require_counter_gpu:
        gpu = record.components.get("gpu")
        if gpu is None or gpu.method != "counter":
            steps.append(f"run on a GPU with an energy counter ({std.name} grades GPU energy read from one)")
    if q.max_relative_uncertainty is not None and record.components:
        total = record.energy_uncertainty
        if total.rel_halfwidth > q.max_relative_uncertainty:
            modelled = [n for n, c in record.components.items() if c.method != "counter"]
            how = "; ".join(f"{n}: {COUNTERS.get(n, 'a hardware counter')}" for n in modelled)
            steps.append(
                f"measure IT energy within ±{q.max_relative_uncertainty * 100:g} % "
                f"(this run {relative_text(total.central, total.low, total.high)}"
                + (f", from modelled {', '.join(modelled)}): measure with counters ({how})" if modelled else ")")
            )
    return steps


def _metric_steps(std: Standard, record: RunRecord, metrics: dict[str, Any]) -> list[str]:
    if any(r.grade is not None or r.value is not None for r in metrics.values()):
        return []  # some metric has a value: the record needs no more for a metric to apply
    steps = []
    for name, m in std.metrics.items():
        counter = m.work if m.quantity == "work_per_joule" else (m.per if m.per not in ("run", "gpu_hour") else None)
        if m.quantity == "gpu_energy_j" and "gpu" not in record.components:
            steps.append(f"run on a GPU and measure its energy ({std.name} grades GPU energy; this run used none)")
        elif counter and counter not in record.work:
            how = (
                " (the framework callbacks and count_flops count it; or add_work(n, 'flop'))"
                if counter == "flop"
                else ""
            )
            steps.append(f"count the work {std.name} grades: {counter!r}{how}")
        elif m.quantity in ("water_total_l", "water_onsite_l", "carbon_g", "facility_energy_j", "site_pue"):
            if record.footprint is None:
                steps.append(f"give a site (--site, site=) for {name}")
    return list(dict.fromkeys(steps))


def to_be_rated(std: Standard, record: RunRecord, metrics: dict[str, Any], class_gap: str | None = None) -> list[str]:
    """The steps that would make ``record`` gradable by ``std`` (empty when none is missing).

    ``metrics``: the record's :class:`~ecometer.standards.assess.MetricResult` per metric;
    ``class_gap``: why the record fell into an unrated class, if it did.
    """
    if is_reported(record):
        return []  # a publisher's figures: nothing the reader of the record can change
    steps = _quality_steps(std, record)
    if class_gap:
        steps.append(f"describe the run so that a rated class applies: {class_gap}")
    return steps + _metric_steps(std, record, metrics)


__all__ = ["COUNTERS", "to_be_rated"]
