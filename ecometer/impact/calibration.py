"""How good the grid fallbacks are: leave-one-out against the published national factors.

The fallback EWIF of a country is ``mix_ewif^w x G^(1-w)`` (``grid.pooled_ewif``), G the
geometric mean of the other countries' published factors. For each country with a published
factor, :func:`leave_one_out` predicts it from everything else and records the error; the band
shipped in ``water_factors.json['fallback']['band']`` is the ``q`` / ``1-q`` quantiles of the
log ratios published/predicted, and its coverage is measured *nested* (country i's band from
the other countries' ratios only, each computed without i either), so the stated coverage is
out of sample. The carbon band is measured the same way between two data editions.

Used by ``benchmarks/water_factors.py`` (which writes the tables under ``reports/water/``) and
by the tests, which check that the shipped numbers are what this recomputes.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from ecometer.files import datafiles
from ecometer.impact import grid


@dataclass(frozen=True)
class Model:
    """One fallback candidate: thermal cooling, hydropower factor (L/kWh), pooling weight."""

    cooling: str
    hydro_l_per_kwh: float
    weight: float
    form: str = "pooled"  # or "loglinear" (grid.loglinear_ewif; weight unused)

    @classmethod
    def shipped(cls) -> Model:
        fb = datafiles.load("water_factors")["fallback"]
        return cls(
            fb["cooling"], float(fb["hydro_l_per_kwh"]), float(fb.get("pooling_weight", 0.0)), fb.get("form", "pooled")
        )


def quantile(values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default), ``0 <= q <= 1``."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def references() -> dict[str, float]:
    """Published EWIF (L/kWh) of every country that also has a generation mix."""
    mix = grid.mix_data()
    return {c: float(v["ewif_consumption_l_per_kwh"]) for c, v in grid.published_factors().items() if c in mix}


def _log_ratios(model: Model, refs: dict[str, float], mixes: dict[str, float], exclude: frozenset[str]) -> dict[str, float]:
    """ln(published / predicted) for each country not in ``exclude``, its G without itself and ``exclude``."""
    logs = {c: math.log(v) for c, v in refs.items()}
    out = {}
    for code in refs:
        if code in exclude:
            continue
        if model.form == "loglinear":
            out[code] = logs[code] - math.log(grid.loglinear_ewif(code, model.cooling, model.hydro_l_per_kwh, exclude))
            continue
        rest = [v for c, v in logs.items() if c != code and c not in exclude]
        g = math.exp(sum(rest) / len(rest))
        out[code] = logs[code] - math.log(grid.pooled_ewif(mixes[code], model.weight, g))
    return out


def nested_ratios(model: Model) -> dict[str, tuple[float, list[float]]]:
    """Per country: (its leave-one-out log ratio, the other countries' log ratios each computed without it too)."""
    refs = references()
    mixes = {c: grid.mix_ewif(grid.shares(c), model.cooling, model.hydro_l_per_kwh, c) for c in refs}
    ratios = _log_ratios(model, refs, mixes, frozenset())
    return {code: (lr, list(_log_ratios(model, refs, mixes, frozenset({code})).values())) for code, lr in ratios.items()}


def nested_coverage(nested: dict[str, tuple[float, list[float]]], q: float) -> float:
    """Share of countries inside the ``q`` / ``1-q`` band computed from the other countries only."""
    inside = sum(quantile(rest, q) <= lr <= quantile(rest, 1.0 - q) for lr, rest in nested.values())
    return inside / len(nested)


#: the quantiles :func:`calibrated_quantile` tries: 0.5 % steps from 0.5 % to 25 %
QUANTILE_GRID = tuple(round(0.005 * k, 4) for k in range(1, 51))


def calibrated_quantile(model: Model, coverage: float, nested: dict | None = None) -> float:
    """The largest ``q`` (narrowest band) in :data:`QUANTILE_GRID` whose nested leave-one-out coverage is at least
    ``coverage``: the band's stated coverage is then what countries left out of it see, not a nominal ``1 - 2q``."""
    nested = nested if nested is not None else nested_ratios(model)
    ok = [q for q in QUANTILE_GRID if q < 0.5 and nested_coverage(nested, q) >= coverage]
    return max(ok) if ok else QUANTILE_GRID[0]


def leave_one_out(model: Model, q: float = 0.03, nested: dict | None = None) -> dict[str, Any]:
    """Per-country LOO rows and the summary (median error, nested coverage, band, width, worst)."""
    refs = references()
    nested = nested if nested is not None else nested_ratios(model)
    rows = []
    for code, (lr, rest) in nested.items():
        lo, hi = quantile(rest, q), quantile(rest, 1.0 - q)
        predicted = refs[code] / math.exp(lr)
        rows.append(
            {
                "country": code,
                "published": refs[code],
                "mix_ewif": grid.mix_ewif(grid.shares(code), model.cooling, model.hydro_l_per_kwh, code),
                "derived": predicted,
                "error": (predicted - refs[code]) / refs[code],
                "low": predicted * math.exp(lo),
                "high": predicted * math.exp(hi),
                "covered": lo <= lr <= hi,
                "width": math.exp(hi - lo),
                "hydro_share": grid.shares(code)["hydro"],
            }
        )
    errors = [abs(r["error"]) for r in rows]
    all_lr = [lr for lr, _ in nested.values()]
    summary = {
        "model": model.__dict__,
        "countries": len(rows),
        "median_error": statistics.median(errors),
        "p90_error": quantile(errors, 0.9),
        "within_20pct": sum(e <= 0.2 for e in errors),
        "nested_coverage": sum(r["covered"] for r in rows) / len(rows),
        "median_width": statistics.median(r["width"] for r in rows),
        "band_quantile": q,
        "low_ratio": math.exp(quantile(all_lr, q)),
        "high_ratio": math.exp(quantile(all_lr, 1.0 - q)),
        "log_ratio_mean": statistics.fmean(all_lr),
        "log_ratio_sd": statistics.stdev(all_lr),
        "worst": [r["country"] for r in sorted(rows, key=lambda r: -abs(r["error"]))[:5]],
    }
    return {"summary": summary, "rows": sorted(rows, key=lambda r: r["error"])}


def carbon_band(q: float = 0.05) -> dict[str, Any]:
    """Ratio quantiles of the 2024 intensity to CodeCarbon's (2022/2023) over the countries with both."""
    mix = grid.mix_data()
    rows = []
    for code, pub in grid.published_factors().items():
        entry = mix.get(code)
        if entry is None or not entry.get("carbon_g_per_kwh"):
            continue
        rows.append(
            {
                "country": code,
                "published_2024": float(pub["carbon_g_per_kwh"]),
                "codecarbon": float(entry["carbon_g_per_kwh"]),
                "codecarbon_year": entry.get("year"),
                "ratio": float(pub["carbon_g_per_kwh"]) / float(entry["carbon_g_per_kwh"]),
            }
        )
    logs = [math.log(r["ratio"]) for r in rows]
    covered = 0
    for i, lr in enumerate(logs):
        rest = logs[:i] + logs[i + 1 :]
        covered += quantile(rest, q) <= lr <= quantile(rest, 1.0 - q)
    return {
        "countries": len(rows),
        "band_quantile": q,
        "low_ratio": math.exp(quantile(logs, q)),
        "high_ratio": math.exp(quantile(logs, 1.0 - q)),
        "log_ratio_mean": statistics.fmean(logs),
        "log_ratio_sd": statistics.stdev(logs),
        "nested_coverage": covered / len(rows),
        "rows": sorted(rows, key=lambda r: r["ratio"]),
    }
