"""Rebuild ecometer's region tables from the shared reference data (no network).

    python -m benchmarks.regions_refresh [--shared ../shared/data/regions]

Writes under ``ecometer/data/``:

- ``electricitymaps_2024.json`` (ODbL 1.0, its own file with its licence text beside it,
  ``electricitymaps_ODbL_LICENSE.md``): Electricity Maps 2024 yearly averages per zone, carbon
  intensity direct and lifecycle, carbon-free and renewable shares, the ISO alpha-3 country of
  each zone. A database made from it stays under ODbL: nothing else is mixed into this file.
- ``grid_zones.json``: China's provincial and regional grid CO2 factors (MEE & NBS, 2021 and
  2022, a transcription: see its ``verification``), and the year-to-year band of a zone's
  annual intensity, measured on Google's region carbon data (2021-2023 tuned, 2023->2024 held
  out).
- ``cloud_regions.json``: cloud regions (AWS, Azure, Google Cloud, Alibaba Cloud, Tencent
  Cloud, Huawei Cloud) with the location each provider publishes and the grid zone that serves
  it (``CLOUD_REGIONS`` below: ecometer's assignment, with the published location it rests on).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import shutil
from pathlib import Path

from benchmarks._common import ROOT
from benchmarks.regions_table import CLOUD_REGIONS, PROVIDERS, SOURCES, UNLOCATED

log = logging.getLogger("benchmarks.regions_refresh")

DATA = ROOT / "ecometer" / "data"
DEFAULT_SHARED = ROOT.parent / "shared" / "data" / "regions"

#: Electricity Maps country names that differ from grid_mix.json's names -> ISO alpha-3
EM_COUNTRY_ISO3 = {
    "Cabo Verde": "CPV",
    "Curaçao": "CUW",
    "Democratic Republic of the Congo": "COD",
    "Great Britain": "GBR",
    "Northern Ireland": "GBR",
    "Ivory Coast": "CIV",
    "Kosovo": "XKX",
    "Mainland India": "IND",
    "USA": "USA",
    "Micronesia": "FSM",
    "Palau": "PLW",
    "Réunion": "REU",
    "State of Palestine": "PSE",
    "São Tomé and Príncipe": "STP",
    "Timor-Leste": "TLS",
    "Mayotte": "MYT",
    "Åland Islands": "ALA",
    "South Georgia and the South Sandwich Islands": "SGS",
}
#: zones Electricity Maps files under a country that belong to another ISO code
EM_ZONE_ISO3 = {"VI": "VIR", "PR": "PRI", "GU": "GUM"}

CHINA_REGIONAL_KEYS = {
    "North China grid": "CN-GRID-NC",
    "Northeast China grid": "CN-GRID-NE",
    "East China grid": "CN-GRID-EC",
    "Central China grid": "CN-GRID-CC",
    "Northwest China grid": "CN-GRID-NW",
    "China Southern grid": "CN-GRID-CSG",
    "Southwest China grid": "CN-GRID-SW",
}


def _num(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


def electricity_maps(shared: Path) -> dict:
    """The electricitymaps_2024.json document."""
    mix = json.loads((DATA / "grid_mix.json").read_text(encoding="utf-8"))["countries"]
    by_name = {str(v["name"]).lower(): k for k, v in mix.items()}
    zones: dict[str, dict] = {}
    citations = set()
    with (shared / "electricitymaps-yearly-2024.csv").open(encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            key = row["Zone id"].strip()
            if key == "GLOBAL":
                continue
            iso3 = EM_ZONE_ISO3.get(key) or EM_COUNTRY_ISO3.get(row["Country"]) or by_name.get(row["Country"].lower())
            if iso3 is None:
                raise SystemExit(
                    f"electricitymaps-yearly-2024.csv line {line}: no ISO alpha-3 code for {row['Country']!r}"
                )
            zones[key] = {
                "name": row["Zone name"],
                "country": row["Country"],
                "iso3": iso3,
                "direct_g_per_kwh": _num(row["Carbon intensity gCO₂eq/kWh (direct)"]),
                "lifecycle_g_per_kwh": _num(row["Carbon intensity gCO₂eq/kWh (Life cycle)"]),
                "cfe_pct": _num(row["Carbon-free energy percentage (CFE%)"]),
                "re_pct": _num(row["Renewable energy percentage (RE%)"]),
            }
            citations.add(row["Citation"].split(" 2024 Yearly")[0].split(". ", 1)[-1])
    return {
        "description": (
            "Electricity Maps 2024 yearly average carbon intensity of electricity per zone (countries and sub-national "
            "zones: U.S. balancing authorities, Canadian provinces, Australian states, Indian regions, Japanese areas, "
            "European bidding zones), location-based, in g CO2e per kWh consumed: 'direct' = operational (combustion) "
            "emissions, 'lifecycle' = including the life cycle of the plants and fuels. Written by "
            "benchmarks/regions_refresh.py from the CSV; nothing else is mixed into this file."
        ),
        "licence": {
            "name": "Open Database License (ODbL) 1.0",
            "text": "electricitymaps_ODbL_LICENSE.md",
            "terms": "Attribution to Electricity Maps; a database made from this one stays under ODbL.",
        },
        "sources": {
            "electricitymaps-2024": {
                "citation": (
                    "Electricity Maps (2025), 2024 Yearly Carbon Intensity Data per zone (Version January 27, 2025), "
                    "electricitymaps.com; via Green-Algorithms-data v3.1"
                ),
                "year": 2024,
                "edition": "Version January 27, 2025",
                "licence": "ODbL 1.0",
            }
        },
        "zones": dict(sorted(zones.items())),
    }


def _ratio_quantile(ratios: list[float], q: float) -> float:
    s = sorted(ratios)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def google_years(shared: Path) -> dict[int, dict[str, float]]:
    """Year -> region -> Google's grid intensity (2021 on: operational, from Electricity Maps)."""
    out: dict[int, dict[str, float]] = {}
    for path in sorted((shared / "google-region-carbon-info").glob("*.csv")):
        year = int(path.stem)
        with path.open(encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        col = [c for c in rows[0] if "carbon intensity" in c.lower()][0]
        if "lifecycle" in col.lower():
            continue  # 2019-2020 editions: another basis, not comparable year to year
        out[year] = {r["Google Cloud Region"]: float(r[col]) for r in rows if r[col].strip()}
    return out


def _band_covers(c: float, nxt: float, lo: float, hi: float, floor: float) -> bool:
    return c * lo <= nxt <= max(c * hi, c + floor)


def year_band(years: dict[int, dict[str, float]], coverage: float = 0.95, floor: float = 10.0) -> dict:
    """The ratio of a region's next-year intensity to this year's, with an absolute floor for near-zero grids.

    Shipped from every pair; checked by leave-one-year-out (the band from the other years' pairs
    applied to each target year's pairs)."""
    pairs: dict[int, list[tuple[float, float]]] = {}
    for y in sorted(years):
        if y + 1 in years:
            pairs[y + 1] = [(years[y][r], years[y + 1][r]) for r in years[y] if r in years[y + 1] and years[y][r] > 0]
    a = (1 - coverage) / 2

    def band(use: list[tuple[float, float]]) -> tuple[float, float]:
        ratios = [n / c for c, n in use]
        return _ratio_quantile(ratios, a), _ratio_quantile(ratios, 1 - a)

    held: dict[str, str] = {}
    inside = total = 0
    for target, rows in pairs.items():
        lo, hi = band([p for y, ps in pairs.items() if y != target for p in ps])
        k = sum(_band_covers(c, n, lo, hi, floor) for c, n in rows)
        held[str(target)] = f"{k}/{len(rows)}"
        inside, total = inside + k, total + len(rows)
    lo, hi = band([p for ps in pairs.values() for p in ps])
    return {
        "description": (
            "How far a zone's annual carbon intensity moves from one year (or data edition) to the next: the ratio "
            "next/this of Google Cloud's per-region grid intensity (operational, Electricity Maps data), "
            f"{min(pairs) - 1}-{max(pairs)}, the 2.5 % and 97.5 % quantiles. A zone's 2024 figure is bounded by "
            "[central x low_ratio, max(central x high_ratio, central + floor)]: the floor keeps near-zero grids "
            "(where a ratio means little) from an upper bound a few grams above the central."
        ),
        "source": "google-region-carbon-info",
        "coverage_claimed": coverage,
        "low_ratio": round(lo, 4),
        "high_ratio": round(hi, 4),
        "floor_g_per_kwh": floor,
        "pairs": total,
        "leave_one_year_out": held,
        "leave_one_year_out_coverage": round(inside / total, 4),
    }


def cross_source_band(em: dict, coverage: float = 0.95) -> dict:
    """Electricity Maps' country lifecycle intensity / ecometer's country central (OWID/Ember tables).

    Two sources for the same country and year disagree this much; the shipped quantiles come from
    every country, the stated coverage is checked by leave-one-country-out."""
    from ecometer.impact import grid

    bands = datafiles_band()
    pairs = []
    for key, entry in em["zones"].items():
        code, value = entry["iso3"], entry.get("lifecycle_g_per_kwh")
        if "-" in key or not value or code not in grid.mix_data():
            continue
        central = grid.carbon_central(code, latest=False)[0]
        if central > 0:
            pairs.append((code, value / central))
    ratios = [r for _, r in pairs]
    a = (1 - coverage) / 2
    inside = 0
    for i, (_, r) in enumerate(pairs):
        rest = ratios[:i] + ratios[i + 1 :]
        lo = min(_ratio_quantile(rest, a), bands[0])
        hi = max(_ratio_quantile(rest, 1 - a), bands[1])
        inside += lo <= r <= hi
    return {
        "description": (
            "How far two sources of a country's annual lifecycle intensity disagree: Electricity Maps 2024 (country "
            "zone) / ecometer's country figure (OWID/Ember 2024 or OWID via CodeCarbon), the 2.5 % and 97.5 % "
            "quantiles over the countries in both. A country's interval spans at least central x [low_ratio, "
            "high_ratio] (besides the edition band of carbon_factors.json)."
        ),
        "compares": "electricitymaps_2024.json (country zones) vs grid_mix.json / national_grid_factors.json",
        "coverage_claimed": coverage,
        "low_ratio": round(_ratio_quantile(ratios, a), 4),
        "high_ratio": round(_ratio_quantile(ratios, 1 - a), 4),
        "countries": len(pairs),
        "leave_one_country_out_coverage": round(inside / len(pairs), 4),
    }


def datafiles_band() -> tuple[float, float]:
    band = json.loads((DATA / "carbon_factors.json").read_text(encoding="utf-8"))["band"]
    return float(band["low_ratio"]), float(band["high_ratio"])


def china(shared: Path) -> dict[str, dict]:
    zones: dict[str, dict] = {}
    with (shared / "china-mee-nbs-grid-co2-2021-2022.csv").open(encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            if row["level"] == "province":
                key = row["iso_3166_2"].strip()
            else:
                key = CHINA_REGIONAL_KEYS[row["name_en"]]
            entry = zones.setdefault(
                key,
                {
                    "name": row["name_en"],
                    "name_zh": row["name_zh"],
                    "level": row["level"],
                    "iso3": "CHN",
                    "co2_g_per_kwh": {},
                },
            )
            value = float(row["kgCO2_per_kWh"])
            if not 0.0 < value < 1.5:
                raise SystemExit(f"china csv line {line}: kgCO2_per_kWh {value!r}: expected 0-1.5")
            entry["co2_g_per_kwh"][row["year"]] = round(value * 1000.0, 2)
    return dict(sorted(zones.items()))


def grid_zones(shared: Path, em: dict) -> dict:
    return {
        "description": (
            "Grid zones that Electricity Maps' yearly file does not split out (China's provincial and regional grids), "
            "and the measured year-to-year band of a zone's annual carbon intensity. Written by "
            "benchmarks/regions_refresh.py."
        ),
        "sources": {
            "mee-nbs-2021-2022": {
                "citation": (
                    "Ministry of Ecology and Environment (MEE) and National Bureau of Statistics (NBS) of China: "
                    "announcement 2024 No. 12 (2024-04-12), 2021 electricity CO2 emission factors; announcement of "
                    "2024-12-20, 2022 electricity CO2 emission factors. Average factors of all generation, provincial and "
                    "regional grids, kg CO2 per kWh (CO2 only, operational)."
                ),
                "year": 2022,
                "licence": "Official government announcement (PRC), figures cited as facts with attribution.",
                "verification": (
                    "NOT verified against the primary announcements: transcribed from a secondary file (a third-party "
                    "constants file found in a public code index). The primary documents could not be reached from the "
                    "build environment (no network). Treat as a transcription; the year-to-year band states its spread."
                ),
            },
            "google-region-carbon-info": {
                "citation": (
                    "Google Cloud, region carbon information (GoogleCloudPlatform/region-carbon-info, yearly CSVs 2021-2024): "
                    "grid carbon intensity per Google Cloud region, operational, from Electricity Maps."
                ),
                "year": 2024,
                "licence": "Apache-2.0",
            },
        },
        "china": {
            "basis": "direct",
            "unit": "g CO2 per kWh (operational, CO2 only; not CO2e)",
            "source": "mee-nbs-2021-2022",
            "latest_year": "2022",
            "zones": china(shared),
        },
        "year_band": year_band(google_years(shared)),
        "country_cross_source": cross_source_band(em),
    }


def cloud_regions() -> dict:
    regions = {}
    for key, (location, iso3, zone, note) in sorted(CLOUD_REGIONS.items()):
        regions[key] = {
            "location": location,
            "country": iso3,
            "zone": zone,
            **({"note": note} if note else {}),
        }
    return {
        "description": (
            "Cloud regions ('provider:region', the provider's own region name) with the location the provider "
            "publishes and the grid zone that serves it. 'zone' is ecometer's assignment of the published location to "
            "an Electricity Maps zone key (or a Chinese provincial grid, CN-XX): location-based, not the provider's "
            "own energy purchases. Written by benchmarks/regions_refresh.py from benchmarks/regions_table.py."
        ),
        "sources": SOURCES,
        "providers": PROVIDERS,
        "regions": regions,
        "unlocated": UNLOCATED,
    }


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared regions folder")
    args = p.parse_args(argv)
    em = electricity_maps(args.shared)
    docs = {
        "electricitymaps_2024": em,
        "grid_zones": grid_zones(args.shared, em),
        "cloud_regions": cloud_regions(),
    }
    zones = set(docs["electricitymaps_2024"]["zones"]) | set(docs["grid_zones"]["china"]["zones"])
    for key, entry in docs["cloud_regions"]["regions"].items():
        if entry["zone"] not in zones:
            raise SystemExit(f"regions_table.py: {key}: zone {entry['zone']!r} is not a known zone")
    for name, doc in docs.items():
        path = DATA / f"{name}.json"
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        log.info("wrote %s", path.relative_to(ROOT))
    shutil.copyfile(args.shared / "electricitymaps-LICENSE-ODbL.txt", DATA / "electricitymaps_ODbL_LICENSE.md")
    log.info("year band: %s", docs["grid_zones"]["year_band"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
