"""How well a site's carbon intensity holds at each level: country, grid zone, cloud region.

    python -m benchmarks.regions_report [--out reports/regions] [--shared ../shared/data/regions]

Per level, the median error of the central and the share of reference figures inside the stated
95 % interval:

- country: ``Site(country=...)`` against every sub-national Electricity Maps zone of that country
  (where in the country a job could have run), before (the interval of the country tables alone,
  as at commit 85d7583) and now (widened to the zones); and leave-one-zone-out: the interval
  built without a zone, checked on that zone. Also the country figures against Electricity
  Maps' country rows (an independent source: ecometer's come from OWID/Ember).
- zone / cloud region: the zone figure ecometer ships (Electricity Maps 2024, direct) against
  Google Cloud's own 2024 per-region grid figure (another edition of the same provider's data),
  and China's provinces: the 2022 interval checked on the 2021 value.
- the rows flagged by the plausibility check (dirtier than the dirtiest source in the mix, or zero).

Writes ``regions.md`` and ``regions.json``. Needs the shared reference data only for the Google
comparison (skipped with a note when absent).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT
from ecometer.files import datafiles
from ecometer.impact import grid, regions

log = logging.getLogger("benchmarks.regions_report")
DEFAULT_SHARED = ROOT.parent / "shared" / "data" / "regions"


def _row(name: str, truth: float, central: float, low: float, high: float) -> dict[str, Any]:
    err = abs(central - truth) / truth if truth > 0 else float("inf")
    return {
        "name": name,
        "truth": truth,
        "central": central,
        "low": low,
        "high": high,
        "error": err,
        "inside": low <= truth <= high,
    }


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    errors = [r["error"] for r in rows if r["error"] != float("inf")]
    return {
        "n": len(rows),
        "median_error": statistics.median(errors) if errors else None,
        "inside": sum(r["inside"] for r in rows),
        "coverage": sum(r["inside"] for r in rows) / len(rows) if rows else None,
        "median_width_ratio": statistics.median(r["high"] / r["low"] for r in rows if r["low"] > 0) if rows else None,
    }


def _country_zones(basis: str = "lifecycle") -> dict[str, list[tuple[str, float]]]:
    out: dict[str, list[tuple[str, float]]] = {}
    for key, entry in regions.em_zones().items():
        value = entry.get(f"{basis}_g_per_kwh")
        if "-" in key and value is not None and entry["iso3"] in grid.mix_data():
            out.setdefault(entry["iso3"], []).append((key, float(value)))
    return {c: z for c, z in out.items() if len(z) >= 2}


def country_level() -> dict[str, Any]:
    """Site(country) against the sub-national zones: before (tables alone), now, and leave-one-zone-out."""
    from ecometer.impact import Site, footprint

    band = datafiles.load("carbon_factors")["band"]
    before, now, loo = [], [], []
    per_country = {}
    for code, zones in sorted(_country_zones().items()):
        est = footprint(energy_kwh=1.0, site=Site(pue=1.0, wue=0.0, ewif=0.0, country=code)).assumption(
            "carbon_intensity"
        )
        c = float(est.value)
        old = grid.carbon_central(code, latest=False)[0]  # the central as at 85d7583
        b_lo, b_hi = old * band["low_ratio"], old * band["high_ratio"]
        rows_before = [_row(f"{code} {k}", v, old, b_lo, b_hi) for k, v in zones]
        rows_now = [_row(f"{code} {k}", v, c, est.low, est.high) for k, v in zones]
        rows_loo = []
        base = grid.factors(code).carbon  # the country tables' interval, before the zones widen it
        for i, (k, v) in enumerate(zones):
            rest = [x for j, (_, x) in enumerate(zones) if j != i]
            lo = min(base.low, regions.quantile(rest, 0.025) if len(rest) >= 40 else min(rest))
            hi = max(base.high, regions.quantile(rest, 0.975) if len(rest) >= 40 else max(rest))
            rows_loo.append(_row(f"{code} {k}", v, c, lo, hi))
        before += rows_before
        now += rows_now
        loo += rows_loo
        per_country[code] = {
            "zones": len(zones),
            "before": f"{sum(r['inside'] for r in rows_before)}/{len(zones)}",
            "now": f"{sum(r['inside'] for r in rows_now)}/{len(zones)}",
            "leave_one_zone_out": f"{sum(r['inside'] for r in rows_loo)}/{len(zones)}",
            "interval_before": [round(b_lo), round(b_hi)],
            "interval_now": [round(est.low), round(est.high)],
        }
    worst = sorted(now, key=lambda r: -r["error"])[:10]
    return {
        "before": _summary(before),
        "now": _summary(now),
        "leave_one_zone_out": _summary(loo),
        "per_country": per_country,
        "worst": worst,
    }


def country_vs_em() -> dict[str, Any]:
    """The country figure (lifecycle) against Electricity Maps' country row (lifecycle): before (OWID, the
    edition band, as at 85d7583) over every country in both; now over the countries whose figure is not
    Electricity Maps' own (the 2024 OWID/Ember ones)."""
    band = datafiles.load("carbon_factors")["band"]
    before, now = [], []
    for key, entry in regions.em_zones().items():
        code = entry["iso3"]
        if "-" in key or code not in grid.mix_data() or entry.get("lifecycle_g_per_kwh") in (None, 0):
            continue
        truth = float(entry["lifecycle_g_per_kwh"])
        old = grid.carbon_central(code, latest=False)[0]
        before.append(_row(code, truth, old, old * band["low_ratio"], old * band["high_ratio"]))
        g = grid.factors(code)
        if g.carbon_info.method != "electricitymaps":
            now.append(_row(code, truth, g.carbon.central, g.carbon.low, g.carbon.high))
    return {
        "before": _summary(before),
        "now": _summary(now),
        "worst_before": sorted(before, key=lambda r: -r["error"])[:10],
        "worst": sorted(now, key=lambda r: -r["error"])[:10],
    }


def google_years(shared: Path) -> dict[str, float] | None:
    path = shared / "google-region-carbon-info" / "2024.csv"
    if not path.exists():
        return None
    with path.open(encoding="utf-8") as fh:
        return {r["Google Cloud Region"]: float(r["Grid carbon intensity (gCO2eq / kWh)"]) for r in csv.DictReader(fh)}


def cloud_level(shared: Path) -> dict[str, Any]:
    """Site(region='gcp:...') direct against Google's own 2024 per-region figure."""
    google = google_years(shared)
    if google is None:
        return {"skipped": f"{shared} not present"}
    rows = []
    for region, truth in sorted(google.items()):
        key = f"gcp:{region}"
        if key not in regions.cloud()["regions"] or truth <= 0:
            continue
        place = regions.resolve(key)
        c = regions.zone_carbon(place, "direct").estimate
        rows.append(_row(key, truth, c.central, c.low, c.high))
    return {"summary": _summary(rows), "worst": sorted(rows, key=lambda r: -r["error"])[:10]}


def cloud_by_country() -> dict[str, Any]:
    """Every located cloud region: what its country alone gives (before, and now widened to the zones)
    against the Electricity Maps 2024 lifecycle figure of the zone that serves it (issue 23's 82-region check)."""
    band = datafiles.load("carbon_factors")["band"]
    before, now = [], []
    for key in regions.cloud_region_keys():
        place = regions.resolve(key)
        if place.country not in grid.mix_data() or place.zone not in regions.em_zones():
            continue
        truth = regions.em_zones()[place.zone]["lifecycle_g_per_kwh"]
        old = grid.carbon_central(place.country, latest=False)[0]
        before.append(_row(key, truth, old, old * band["low_ratio"], old * band["high_ratio"]))
        choice = regions.country_carbon(place.country, "lifecycle", grid.factors(place.country).carbon)
        est = choice.estimate if choice is not None else grid.factors(place.country).carbon
        now.append(_row(key, truth, est.central, est.low, est.high))
    return {
        "before": _summary(before),
        "now_country_only": _summary(now),
        "worst_before": sorted(before, key=lambda r: -r["error"])[:10],
    }


def china_level() -> dict[str, Any]:
    """China's provinces: the 2022 figure and its year band, checked on the 2021 figure."""
    rows = []
    for key, entry in regions.china_zones().items():
        c = float(entry["co2_g_per_kwh"]["2022"])
        lo, hi = regions.band_bounds(c)
        rows.append(_row(key, float(entry["co2_g_per_kwh"]["2021"]), c, lo, hi))
    return {"summary": _summary(rows), "worst": sorted(rows, key=lambda r: -r["error"])[:5]}


def flagged() -> list[dict[str, Any]]:
    """Every country row of every carbon table checked against the country's own mix (used or not)."""
    out = []
    for code, name in grid.countries():
        used = grid.factors(code).carbon_info.method
        rows = {"codecarbon": grid.mix_data()[code].get("carbon_g_per_kwh")}
        pub = grid.published_factors().get(code)
        rows["published"] = None if pub is None else pub["carbon_g_per_kwh"]
        em = regions.country_row(code)
        rows["electricitymaps"] = None if em is None else em[1].get("lifecycle_g_per_kwh")
        for table, value in rows.items():
            if value is None:
                continue
            check = grid.plausibility(code, float(value))
            if check is not None:
                out.append(
                    {
                        "country": code,
                        "name": name,
                        "table": table,
                        "value": float(value),
                        "mix_value": round(check.mix_value, 1),
                        "reason": check.reason,
                        "used": table == used,
                    }
                )
    return out


_TABLES = """
import time
import ecometer
from ecometer.impact import footprint
footprint(energy_kwh=1.0, site=ecometer.Site(pue=1.1, wue=0.1, country="USA"))  # every import warm
t0 = time.perf_counter()
footprint(energy_kwh=1.0, site=ecometer.Site(pue=1.1, wue=0.1, country="FRA"))
t1 = time.perf_counter()
footprint(energy_kwh=1.0, site=ecometer.Site(region="aws:eu-west-3"))  # first region: its tables load here
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def timing(runs: int = 11) -> dict[str, Any]:
    """In fresh processes with every import warm: a footprint at another country, then the first at a cloud
    region (which loads the region tables). Milliseconds, medians over ``runs``."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    pairs = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", _TABLES], capture_output=True, text=True, env=env, check=True)
        pairs.append([float(v) for v in proc.stdout.split()])
    out = {
        "runs": runs,
        "country_footprint_ms": 1000 * statistics.median(p[0] for p in pairs),
        "first_region_footprint_ms": 1000 * statistics.median(p[1] for p in pairs),
        "added_by_region_ms": 1000 * statistics.median(p[1] - p[0] for p in pairs),
    }
    return out


def _fmt(s: dict[str, Any]) -> str:
    med = "-" if s["median_error"] is None else f"{s['median_error']:.1%}"
    return f"{s['n']} | {med} | {s['inside']}/{s['n']} ({s['coverage']:.0%}) | {s['median_width_ratio']:.2f}x"


def _levels_table(doc: dict[str, Any]) -> list[str]:
    c = doc["country"]
    lines = [
        "# Regions: carbon intensity at each level",
        "",
        "Written by `python -m benchmarks.regions_report`. Error = |central - reference| / reference; inside = the",
        "reference lies in the stated 95 % interval; width = high / low.",
        "",
        "| level | reference | n | median error | inside | median width |",
        "|---|---|---|---|---|---|",
        f"| country, before (tables alone, as at 85d7583) | each sub-national zone of the country | {_fmt(c['before'])} |",
        f"| country, now (widened to its zones) | each sub-national zone | {_fmt(c['now'])} |",
        f"| country, leave-one-zone-out | the zone left out | {_fmt(c['leave_one_zone_out'])} |",
        f"| country, before (OWID, edition band) | Electricity Maps country row | {_fmt(doc['country_vs_em']['before'])} |",
        f"| country, now, where the figure is not Electricity Maps' own (in-sample band) | Electricity Maps country row | "
        f"{_fmt(doc['country_vs_em']['now'])} |",
    ]
    cb = doc["cloud_by_country"]
    lines.append(
        f"| cloud region given only as its country, before | its zone (Electricity Maps 2024) | {_fmt(cb['before'])} |"
    )
    lines.append(f"| cloud region given only as its country, now | its zone | {_fmt(cb['now_country_only'])} |")
    if "summary" in doc["cloud_region"]:
        lines.append(
            "| cloud region given as the region (gcp, direct; the zone figure is Electricity Maps' own) | "
            f"Google's own 2024 per-region figure | {_fmt(doc['cloud_region']['summary'])} |"
        )
    lines.append(f"| Chinese province (2022 + year band) | its 2021 figure | {_fmt(doc['china']['summary'])} |")
    return lines


def render(doc: dict[str, Any]) -> str:
    c = doc["country"]
    lines = _levels_table(doc)
    band = doc["year_band"]
    cross = doc["cross_source"]
    used = doc["central_sources"]
    lines += [
        "",
        f"Country centrals now: OWID/Ember 2024 for {used.get('published', 0)} countries, Electricity Maps 2024 for "
        f"{used.get('electricitymaps', 0)} (Ember's own 2024 country file was not available here; these replace "
        f"OWID's 2009-2023 years), OWID via CodeCarbon for {used.get('codecarbon', 0)} that neither covers.",
        f"Country intervals are widened to the disagreement between Electricity Maps and the country tables: ratio "
        f"[{cross['low_ratio']}, {cross['high_ratio']}] over {cross['countries']} countries; the row above is in-sample, "
        f"leave-one-country-out coverage {cross['leave_one_country_out_coverage']:.1%} (before: the edition band alone).",
        f"Zone year band: next/this year ratio [{band['low_ratio']}, {band['high_ratio']}] (upper at least +{band['floor_g_per_kwh']} g), "
        f"leave-one-year-out {band['leave_one_year_out']} = {band['leave_one_year_out_coverage']:.1%}.",
        "",
        "## Per country (zones inside the interval)",
        "",
        "| country | zones | before | now | leave-one-zone-out | interval before | interval now |",
        "|---|---|---|---|---|---|---|",
    ]
    for code, r in c["per_country"].items():
        lines.append(
            f"| {code} | {r['zones']} | {r['before']} | {r['now']} | {r['leave_one_zone_out']} | "
            f"{r['interval_before'][0]}-{r['interval_before'][1]} | {r['interval_now'][0]}-{r['interval_now'][1]} |"
        )
    lines += ["", "## Worst rows", ""]
    for title, rows in (
        ("country vs its zones (now)", c["worst"]),
        ("country vs Electricity Maps' country row", doc["country_vs_em"]["worst"]),
        ("cloud region vs Google", doc["cloud_region"].get("worst", [])),
    ):
        lines.append(
            f"**{title}**: "
            + "; ".join(
                f"{r['name']} {r['central']:.0f} vs {r['truth']:.0f} ({'in' if r['inside'] else 'OUT'})" for r in rows
            )
        )
        lines.append("")
    t = doc["timing"]
    lines += [
        "## Speed",
        "",
        f"Fresh processes, imports warm (median of {t['runs']}, this machine): a footprint at another country took "
        f"{t['country_footprint_ms']:.1f} ms, the first footprint at a cloud region (its tables loaded then) "
        f"{t['first_region_footprint_ms']:.1f} ms: the region adds {t['added_by_region_ms']:.1f} ms (target <= 20 ms "
        "on start + stop). `import ecometer` loads no table (tests/test_regions.py).",
        "",
        "## Flagged by the plausibility check",
        "",
        "Every country row of each carbon table (OWID via CodeCarbon = `codecarbon`, OWID/Ember 2024 = `published`,",
        "Electricity Maps 2024 = `electricitymaps`) against the country's own generation mix. A flagged row in use has",
        "its interval widened to include the mix value; a row not in use was replaced by a 2024 figure. Electricity",
        "Maps' figures are consumption-based (imports included): a flag on them may mean imports rather than an error.",
        "",
    ]
    lines += [
        f"- {f['country']} ({f['name']}), {f['table']}: {f['reason']}; mix value {f['mix_value']} g/kWh; "
        f"{'IN USE, widened' if f['used'] else 'not used'}"
        for f in doc["flagged"]
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "regions")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = p.parse_args(argv)
    doc = {
        "country": country_level(),
        "country_vs_em": country_vs_em(),
        "cloud_region": cloud_level(args.shared),
        "cloud_by_country": cloud_by_country(),
        "china": china_level(),
        "year_band": regions.year_band(),
        "cross_source": datafiles.load("grid_zones")["country_cross_source"],
        "flagged": flagged(),
        "central_sources": dict(Counter(grid.factors(c).carbon_info.method for c, _ in grid.countries())),
        "timing": timing(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "regions.json").write_text(json.dumps(doc, indent=1, default=float) + "\n", encoding="utf-8")
    (args.out / "regions.md").write_text(render(doc), encoding="utf-8")
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
