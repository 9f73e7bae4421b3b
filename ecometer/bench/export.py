"""The verdict as JSON, CSV and markdown, in the conventions of hyperfine's exports.

hyperfine (``--export-json/-csv/-markdown``) writes, per command: ``command``, ``mean``,
``stddev``, ``median``, ``user``, ``system``, ``min``, ``max`` (seconds), ``times`` and
``exit_codes`` per run, and ``parameters`` (name -> value as text); the CSV has those
summary columns then one ``parameter_<name>`` column each; the markdown table has
``Command | Mean [unit] | Min [unit] | Max [unit] | Relative`` with ``mean ± stddev``. Those
fields keep their meaning here (time of the runs, in seconds), so scripts written for hyperfine
read these files; the energy, water and carbon per unit follow as extra fields and columns.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from typing import Any

from ecometer.bench.verdict import ConfigVerdict, Figure, Verdict
from ecometer.record.units import number, pick_scale
from ecometer.report.text import markdown_table


def _stats(values: list[float]) -> dict[str, float | None]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return {k: None for k in ("mean", "stddev", "median", "min", "max")}
    return {
        "mean": statistics.fmean(finite),
        "stddev": statistics.stdev(finite) if len(finite) > 1 else None,
        "median": statistics.median(finite),
        "min": min(finite),
        "max": max(finite),
    }


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.fmean(finite) if finite else None


def _figure(fig: Figure | None) -> dict[str, Any] | None:
    if fig is None:
        return None
    return {
        "unit": fig.unit,
        "mean": fig.central,
        "stddev": fig.stddev if len(fig.values) > 1 else None,
        "low": fig.low,
        "high": fig.high,
        "coverage": fig.coverage,
        "values": fig.values,
    }


def result_dict(c: ConfigVerdict, v: Verdict) -> dict[str, Any]:
    """One configuration as a hyperfine result, with the energy figures added."""
    out: dict[str, Any] = {"command": c.command, **_stats(c.duration_s)}
    out["user"] = _mean(c.user_s)
    out["system"] = _mean(c.system_s)
    out["times"] = c.duration_s
    out["exit_codes"] = [0] * c.runs + [f.exit_code for f in c.failures]
    out["parameters"] = {k: str(val) for k, val in c.params.items()}
    out["configuration"] = c.label
    out["per"] = v.per
    out["energy_j"] = _figure(c.energy)
    out["water_l"] = _figure(c.water)
    out["carbon_g"] = _figure(c.carbon)
    out["time_s"] = _figure(c.time)
    if v.quality is not None:
        out["quality"] = _figure(c.quality)
    out["p_most_efficient"] = c.p_best
    out["pareto_time"] = c.key in v.pareto_time
    if v.pareto_quality is not None:
        out["pareto_quality"] = c.key in v.pareto_quality
    out["failures"] = [
        {"attempt": f.attempt, "exit_code": f.exit_code, "error": f.error, "stderr_tail": f.stderr_tail}
        for f in c.failures
    ]
    out["notes"] = c.notes
    return out


def to_json(v: Verdict) -> str:
    """``{"results": [...]}`` as hyperfine writes, plus the comparison and the outliers."""
    data = {
        "results": [result_dict(c, v) for c in v.configs],
        "comparison": [
            {"a": v.config(a).label, "b": v.config(b).label, "p_a_more_efficient": p}
            for (a, b), p in v.probabilities.items()
        ],
        "pareto_energy_time": [v.config(k).label for k in v.pareto_time],
        "pareto_energy_quality": None if v.pareto_quality is None else [v.config(k).label for k in v.pareto_quality],
        "outliers": [{"configuration": v.config(o.config).label, "attempt": o.attempt, "kind": o.kind, "text": o.text}
                     for o in v.outliers],  # fmt: skip
        "basis": v.basis,
    }
    return json.dumps(_finite(data), indent=1, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    """``value`` with every float that is not finite (a CPU time /proc could not give) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def to_csv(v: Verdict) -> str:
    """hyperfine's columns, then ``parameter_<name>``, then the energy, water and carbon columns."""
    names = list(dict.fromkeys(k for c in v.configs for k in c.params))
    extra = ["per"]
    for what in ("energy_j", "water_l", "carbon_g"):
        extra += [f"{what}_mean", f"{what}_low", f"{what}_high"]
    extra += ["p_most_efficient", "runs", "failed"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["command", "mean", "stddev", "median", "user", "system", "min", "max"]
               + [f"parameter_{n}" for n in names] + extra)  # fmt: skip
    for c in v.configs:
        s = _stats(c.duration_s)
        row: list[Any] = [c.command, s["mean"], s["stddev"], s["median"], _mean(c.user_s), _mean(c.system_s),
                          s["min"], s["max"]]  # fmt: skip
        row += [c.params.get(n, "") for n in names] + [v.per]
        for fig in (c.energy, c.water, c.carbon):
            row += [fig.central, fig.low, fig.high] if fig is not None else ["", "", ""]
        row += [c.p_best if c.p_best is not None else "", c.runs, len(c.failures)]
        w.writerow(["" if x is None else x for x in row])
    return buf.getvalue()


def _pm(scale: Any, fig_mean: float, stddev: float | None) -> str:
    text = number(scale(fig_mean))
    return f"{text} ± {number(scale(stddev))}" if stddev is not None and math.isfinite(stddev) else text


def to_markdown(v: Verdict) -> str:
    """hyperfine's table (time, relative to the fastest) with the energy per unit, its interval,
    its ratio to the most efficient and the probability of being the most efficient."""
    measured = v.measured
    if not measured:
        return "No configuration ran successfully.\n" + failures_markdown(v)
    tscale = pick_scale("time", [statistics.fmean(c.duration_s) for c in measured])
    escale = pick_scale("energy", [c.energy.central for c in measured])  # type: ignore[union-attr]
    fastest = min(statistics.fmean(c.duration_s) for c in measured)
    leanest = min(c.energy.central for c in measured)  # type: ignore[union-attr]
    per = f"/{v.per}"
    header = ["Command", f"Mean [{tscale.symbol}]", f"Min [{tscale.symbol}]", f"Max [{tscale.symbol}]", "Relative",
              f"Energy [{escale.symbol}{per}]", "95 % interval", "Relative energy", "P(most efficient)"]  # fmt: skip
    rows = []
    for c in measured:
        s = _stats(c.duration_s)
        e = c.energy
        assert e is not None
        rows.append([
            f"`{c.command}`", _pm(tscale, s["mean"], s["stddev"]), number(tscale(s["min"])), number(tscale(s["max"])),
            number(s["mean"] / fastest) if fastest > 0 else "n/a",
            _pm(escale, e.central, e.stddev if len(e.values) > 1 else None),
            f"{number(escale(e.low))} – {number(escale(e.high))}",
            number(e.central / leanest) if leanest > 0 else "n/a",
            f"{100 * c.p_best:.0f} %" if c.p_best is not None else "n/a",
        ])  # fmt: skip
    return markdown_table(header, rows) + "\n" + failures_markdown(v)


def failures_markdown(v: Verdict) -> str:
    """The configurations whose every run failed, with exit status and stderr tail."""
    out = []
    for c in v.configs:
        if c.all_failed and c.failures:
            last = c.failures[-1]
            tail = "\n".join(f"    {line}" for line in last.stderr_tail.splitlines()) or "    (no stderr)"
            out.append(f"\n**{c.label}: every run failed** ({len(c.failures)} run(s); exit status {last.exit_code}: "
                       f"{last.error})\n\n{tail}\n")  # fmt: skip
    return "".join(out)


def verdict_text(v: Verdict, limit: int = 12) -> str:
    """The verdict in a few lines: each configuration's figures, the likely winner and its odds
    against each other, the Pareto fronts and the flagged runs."""
    lines = []
    for c in v.configs:
        if c.energy is None:
            lines.append(f"{c.label}: every run failed ({len(c.failures)} run(s))")
            continue
        parts = [f"energy {c.energy.text()}"]
        parts += [f"{name} {fig.text()}" for name, fig in (("water", c.water), ("carbon", c.carbon)) if fig is not None]
        parts.append(f"time {c.time.text()}" if c.time is not None else "")
        if c.quality is not None:
            parts.append(f"{v.quality} {number(c.quality.central)}")
        lines.append(f"{c.label} ({c.runs} run(s)), per {v.per}: " + ", ".join(p for p in parts if p))
    ranked = sorted(v.measured, key=lambda c: c.energy.central)  # type: ignore[union-attr]
    if len(ranked) > 1:
        best = ranked[0]
        odds = f"probability {100 * best.p_best:.0f} %" if best.p_best is not None else "no probability: a single run"
        lines.append(f"lowest energy per {v.per}: {best.label} ({odds})")
        for other in ranked[1:limit]:
            p = v.probabilities.get((best.key, other.key))
            if p is not None:
                lines.append(f"  P({best.label} uses less energy per {v.per} than {other.label}) = {100 * p:.1f} %")
    if v.pareto_time:
        lines.append("Pareto front, energy against time: " + "; ".join(v.config(k).label for k in v.pareto_time))
    if v.pareto_quality:
        lines.append(f"Pareto front, energy against {v.quality}: "
                     + "; ".join(v.config(k).label for k in v.pareto_quality))  # fmt: skip
    lines += [f"outlier: {o.text}" for o in v.outliers]
    lines += [f"note: {c.label}: {n}" for c in v.configs for n in c.notes]
    return "\n".join(lines)
