"""Rebuild ``ecometer/data/cooling_water.json``: per-country cooling shares x per-technology water factors.

    python -m benchmarks.water_cooling_refresh [--shared ../shared/data/water]

For each generation source of ecometer's mix (coal, gas, oil, nuclear, biofuel, other renewables
taken as geothermal), the water consumed and withdrawn per kWh generated (L/kWh = m3/MWh) by
cooling type, from Macknick et al. 2012 as tabulated in GCAM (JGCRI/gcam-core, ECL-2.0), and each
country's shares of those cooling types (once-through fresh, recirculating, once-through sea
water, dry) from MESSAGEix-Nexus (iiasa/message-ix-models, Apache-2.0; from the Platts WEPP
database via Raptis and Pfister). A country missing from MESSAGEix takes the unweighted mean of
the countries present (said in the file). The shares are fractions: checked to sum to 1.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from pathlib import Path

from benchmarks._common import ROOT

log = logging.getLogger("benchmarks.water_cooling_refresh")
DATA = ROOT / "ecometer" / "data"
DEFAULT_SHARED = ROOT.parent / "shared" / "data" / "water"

#: ecometer mix key -> (GCAM technology, MESSAGEix plant type)
TECHNOLOGY = {
    "coal": ("coal (conv pul)", "coal_ppl"),
    "gas": ("gas (CC)", "gas_cc"),
    "oil": ("refined liquids (steam/CT)", "foil_ppl"),
    "nuclear": ("Gen_II_LWR", "nuc_lc"),
    "biofuel": ("biomass (conv)", "bio_ppl"),
}
#: MESSAGEix cooling -> GCAM (cooling_system, water_type)
COOLING = {
    "ot_fresh": ("once through", "fresh"),
    "cl_fresh": ("recirculating", "fresh"),
    "ot_saline": ("once through", "seawater"),
    "air": ("dry cooling", "fresh"),
}
NO_COOLING = {"solar": ("PV", "none", "fresh"), "wind": ("wind", "none", "none")}


def gcam(shared: Path) -> dict[tuple[str, str, str], tuple[float, float]]:
    """(technology, cooling_system, water_type) -> (withdrawal, consumption), m3/MWh."""
    with (shared / "macknick-2012-by-cooling-gcam.csv").open(encoding="utf-8") as fh:
        rows = [line for line in fh if not line.startswith("#")]
    out = {}
    for row in csv.DictReader(rows):
        out[(row["technology"], row["cooling_system"], row["water_type"])] = (
            float(row["water_withdrawals"]),
            float(row["water_consumption"]),
        )
    return out


def factors(table: dict) -> dict[str, dict[str, dict[str, float]]]:
    """mix key -> cooling -> {consumption, withdrawal} (L/kWh)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key, (tech, _) in TECHNOLOGY.items():
        out[key] = {}
        for cooling, (system, water) in COOLING.items():
            found = table.get((tech, system, water))
            if found is None and water == "seawater":
                found = table[(tech, system, "fresh")]  # GCAM lists sea water only where it differs
            if found is None and system == "dry cooling":
                found = (0.0, 0.0)
                log.warning("%s: no dry cooling row in GCAM, taken as 0", tech)
            out[key][cooling] = {"withdrawal": found[0], "consumption": found[1]}
    return out


def shares(shared: Path) -> tuple[dict[str, dict[str, dict[str, float]]], list[str]]:
    """ISO -> mix key -> cooling -> share, and the checks made."""
    with (shared / "cooling-shares-by-country-messageix.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    countries = [c[4:] for c in rows[0] if c.startswith("mix_")]
    out: dict[str, dict[str, dict[str, float]]] = {c: {} for c in countries}
    utype_to_key = {ut: key for key, (_, ut) in TECHNOLOGY.items()}
    for line, row in enumerate(rows, start=2):
        key = utype_to_key.get(row["utype"])
        if key is None or row["cooling"] not in COOLING:
            continue
        for c in countries:
            value = float(row[f"mix_{c}"] or 0.0)
            if not 0.0 <= value <= 1.0 + 1e-9:
                raise SystemExit(f"cooling shares line {line}: mix_{c} = {value!r}: expected a fraction 0..1")
            out[c].setdefault(key, {})[row["cooling"]] = value
    notes = []
    for c, per in out.items():
        for key, parts in list(per.items()):
            total = sum(parts.values())
            if total <= 0:
                del per[key]  # no plant of this type in the database: the world mean applies
            elif abs(total - 1.0) > 0.01:
                notes.append(f"{c} {key}: shares sum to {total:.3f}, normalised")
                per[key] = {k: v / total for k, v in parts.items()}
    return out, notes


def world_mean(per_country: dict[str, dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    out = {}
    for key in TECHNOLOGY:
        have = [p[key] for p in per_country.values() if key in p]
        out[key] = {c: round(sum(h.get(c, 0.0) for h in have) / len(have), 4) for c in COOLING}
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = p.parse_args(argv)
    table = gcam(args.shared)
    per_country, notes = shares(args.shared)
    doc = {
        "description": (
            "Water per kWh generated (L/kWh, = m3/MWh) by generation source and cooling type, and each country's shares "
            "of cooling types per source. A thermal source's factor in a country = sum over cooling types of share x "
            "factor. Countries not in MESSAGEix (and sources a country has no plant of) take 'world_mean_shares', the "
            "unweighted mean over the countries present. Other renewables are taken as geothermal (recirculating), "
            "solar as PV, wind as zero. Written by benchmarks/water_cooling_refresh.py."
        ),
        "sources": {
            "gcam-macknick": {
                "citation": (
                    "Macknick J., Newmark R., Heath G., Hallett K.C. (2012), Operational water consumption and withdrawal "
                    "factors for electricity generating technologies, Environ. Res. Lett. 7 045802; as tabulated in "
                    "JGCRI/gcam-core input/gcamdata/inst/extdata/water/Macknick_elec_water_m3MWh.csv (March 2015 update)"
                ),
                "year": 2012,
                "licence": "GCAM: ECL-2.0; the figures cited as facts from the article",
            },
            "messageix-cooling": {
                "citation": (
                    "MESSAGEix-Nexus cooling technology shares per country and plant type (iiasa/message-ix-models, "
                    "message_ix_models/data/water/ppl_cooling_tech/), from the Platts WEPP database via Raptis and "
                    "Pfister (2016)"
                ),
                "year": 2016,
                "licence": "Apache-2.0",
            },
        },
        "technologies": {k: {"gcam": t, "messageix": u} for k, (t, u) in TECHNOLOGY.items()},
        "factors_l_per_kwh": factors(table),
        "other_factors_l_per_kwh": {
            "other_renewable": dict(
                zip(("withdrawal", "consumption"), table[("geothermal", "recirculating", "fresh")], strict=True)
            ),
            "solar": dict(zip(("withdrawal", "consumption"), table[("PV", "none", "fresh")], strict=True)),
            "wind": {"withdrawal": 0.0, "consumption": 0.0},
        },
        "world_mean_shares": world_mean(per_country),
        "countries": {
            c: {k: {cool: round(v, 4) for cool, v in parts.items()} for k, parts in sorted(per.items())}
            for c, per in sorted(per_country.items())
        },
        "checks": notes,
    }
    path = DATA / "cooling_water.json"
    path.write_text(json.dumps(doc, indent=None, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("wrote %s (%d countries, %d notes)", path.relative_to(ROOT), len(per_country), len(notes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
