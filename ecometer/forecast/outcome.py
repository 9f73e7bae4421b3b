"""How the forecasts a run made (``record.forecasts``) compared with its outcome.

    for row in compare(ecometer.load_record("run.json")):
        row["made_at_fraction"], row["error"], row["inside"]
    print("\\n".join(lines(record)))

The outcome is the finished record's IT energy (J) and duration (s). A forecast aimed at a
total the run did not reach (a job stopped early, or one that ran on) is compared all the
same and says so (``reached`` False). Reads plain dicts: no numpy.
"""

from __future__ import annotations

from typing import Any

from ecometer.record import units as U
from ecometer.record.model import RunRecord

_ROUNDING = 1e-9  # relative: an exact forecast of an exact outcome differs by rounding only


def _reached(record: RunRecord, target: dict[str, Any]) -> bool:
    if "total_work" in target:
        done = float(record.work.get(target.get("unit") or "", 0.0))
        return abs(done - float(target["total_work"])) <= 1e-9 * max(done, 1.0)
    total_s = float(target.get("total_s") or 0.0)
    return total_s > 0 and abs(record.duration_s - total_s) <= 0.01 * total_s


def compare(record: RunRecord) -> list[dict[str, Any]]:
    """One row per ready forecast kept in ``record``: when it was made, its energy interval, the
    outcome, the relative error of its central value and whether the interval held the outcome."""
    outcome = float(record.energy_j)
    rows = []
    for f in record.forecasts:
        energy = f.get("energy_j")
        if not f.get("ready") or not isinstance(energy, dict):
            continue
        central, low, high = (float(energy.get(k) or 0.0) for k in ("central", "low", "high"))
        rows.append(
            {
                "number": f.get("number"),
                "made_at_s": float(f.get("made_at_s") or 0.0),
                "made_at_fraction": float((f.get("basis") or {}).get("observed_fraction") or 0.0),
                "target": dict(f.get("target") or {}),
                "reached": _reached(record, f.get("target") or {}),
                "coverage": f.get("coverage"),
                "energy_j": {"central": central, "low": low, "high": high},
                "outcome_energy_j": outcome,
                "error": (central - outcome) / outcome if outcome > 0 else None,
                "inside": low - _ROUNDING * outcome <= outcome <= high + _ROUNDING * outcome,
            }
        )
    return rows


def lines(record: RunRecord) -> list[str]:
    """The comparison as readable lines, one per ready forecast (and one saying how many were not)."""
    rows = compare(record)
    not_ready = sum(1 for f in record.forecasts if not f.get("ready"))
    out = []
    for r in rows:
        e = r["energy_j"]
        err = "n/a" if r["error"] is None else f"{r['error']:+.1%}"
        note = "" if r["reached"] else " (the run did not end at the forecast's total)"
        out.append(
            f"forecast at {U.fmt('time', r['made_at_s'])} ({r['made_at_fraction']:.1%} of the job): "
            f"{U.fmt_range('energy', e['central'], e['low'], e['high'])}; outcome {U.fmt('energy', r['outcome_energy_j'])}: "
            f"{err}, {'inside' if r['inside'] else 'outside'} its {r['coverage']:.0%} interval{note}"
        )
    if not_ready:
        out.append(f"{not_ready} forecast(s) not ready (too little of the job seen yet)")
    if not record.forecasts:
        out.append("the record keeps no forecasts (Meter.forecast, a callback or ecometer run --total-work make them)")
    return out


__all__ = ["compare", "lines"]
