"""Fleet presets and cloud regions: which level each region's PUE/WUE comes from, and how often a fleet
spread holds a site left out of it (no network, no GPU).

    python -m benchmarks.preset_spreads [--out reports/regions]

For each fleet preset with a spread: the fleet figure, its interval and the coverage it claims;
where the spread is the span of published per-site figures (Microsoft's geographies, Google's
campuses), the leave-one-out check: each published figure left out, is it inside the span of the
others? That is the claim for a region the provider has not published. Then, per provider, how
many regions take their own published figure and how many the fleet preset.

Writes ``presets.md`` and ``presets.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT
from ecometer.files import datafiles
from ecometer.impact import efficiency

log = logging.getLogger("benchmarks.preset_spreads")
OUT = ROOT / "reports" / "regions"


def leave_one_out(values: list[float]) -> dict[str, Any]:
    """Share of ``values`` that lie inside the min..max of the others."""
    inside = [min(values[:i] + values[i + 1 :]) <= v <= max(values[:i] + values[i + 1 :]) for i, v in enumerate(values)]
    return {"n": len(values), "inside": sum(inside), "coverage": sum(inside) / len(values)}


def spreads() -> list[dict[str, Any]]:
    """One row per fleet preset value with a spread."""
    presets = datafiles.load("site_presets")["presets"]
    published = datafiles.load("cloud_region_efficiency")["published"]
    rows = []
    for name, preset in sorted(presets.items()):
        for fname, spec in preset["values"].items():
            spread = spec.get("spread")
            if spread is None:
                continue
            row = {
                "preset": name,
                "field": fname,
                "value": spec["value"],
                "low": spread["low"],
                "high": spread["high"],
                "coverage_claimed": spread["coverage"],
                "distribution": spread["distribution"],
                "source": spread["source"],
            }
            if spread["source"] in published:
                row["leave_one_out"] = leave_one_out(list(published[spread["source"]].values()))
            rows.append(row)
    return rows


def region_levels() -> dict[str, dict[str, int]]:
    """Per provider: regions with their own published PUE, and regions on the fleet preset (or none)."""
    cloud = datafiles.load("cloud_regions")
    out: dict[str, dict[str, int]] = {}
    for key in cloud["regions"]:
        provider = key.split(":", 1)[0]
        counts = out.setdefault(provider, {"own_pue": 0, "fleet_pue": 0, "no_pue": 0})
        if efficiency.region_figures(key):
            counts["own_pue"] += 1
        elif cloud["providers"][provider].get("preset"):
            counts["fleet_pue"] += 1
        else:
            counts["no_pue"] += 1
    return out


def markdown(rows: list[dict[str, Any]], levels: dict[str, dict[str, int]]) -> str:
    L = ["# Fleet presets and cloud regions: PUE and WUE with the spread of the sites they average", ""]
    L.append("Written by `python -m benchmarks.preset_spreads`. Data: `ecometer/data/site_presets.json`, "
             "`ecometer/data/cloud_region_efficiency.json` (sources, years and licences there).")
    L += ["", "## Fleet presets", ""]
    L.append("| preset | field | fleet figure | interval | claimed coverage | shape | left-out sites inside |")
    L.append("|---|---|---|---|---|---|---|")
    for r in rows:
        loo = r.get("leave_one_out")
        held = f"{loo['inside']}/{loo['n']} ({loo['coverage']:.0%})" if loo else "- (only the span is published)"
        L.append(
            f"| {r['preset']} | {r['field']} | {r['value']:g} | {r['low']:g} - {r['high']:g} | "
            f"{r['coverage_claimed']:.0%} | {r['distribution']} | {held} |"
        )
    L += ["", "## Which level a cloud region's PUE comes from", ""]
    L.append("| provider | own published figure | fleet preset with its spread | none (give pue=) |")
    L.append("|---|---|---|---|")
    for provider, c in sorted(levels.items()):
        L.append(f"| {provider} | {c['own_pue']} | {c['fleet_pue']} | {c['no_pue']} |")
    L.append("")
    L.append(
        "A region's own figure is the mean of its facilities' published PUEs, bounded by their extremes widened by "
        "the rounding (+-0.005). WUE is published per region by AWS and Microsoft only as figures ecometer could not "
        "read (images, PDF fact sheets): every region takes its provider's fleet WUE with the published span (issue "
        "23's AWS 0.01-2.75, Azure 0-2.06 L/kWh); Google publishes no WUE."
    )
    return "\n".join(L) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows, levels = spreads(), region_levels()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "presets.md").write_text(markdown(rows, levels), encoding="utf-8")
    (args.out / "presets.json").write_text(json.dumps({"spreads": rows, "levels": levels}, indent=1) + "\n")
    log.info("wrote %s", args.out / "presets.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
