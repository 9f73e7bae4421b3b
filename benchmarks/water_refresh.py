"""Refresh ecometer's shipped grid tables from their upstream sources (needs codecarbon).

    python -m benchmarks.water_refresh [--national PATH_TO_national-electricity-factors.csv]

Writes two data files under ``ecometer/data/``:

- ``grid_mix.json``: every country of CodeCarbon's bundled generation mix (TWh per source,
  the data year of each country, Our World in Data's carbon intensity) and CodeCarbon's
  per-source carbon factors, copied from the pinned CodeCarbon release (``PINNED``) so that
  ecometer itself never imports CodeCarbon (or pandas through it).
- ``national_grid_factors.json``: the published WRI-method water consumption factors and the
  2024 carbon intensities per country (EcoLogits' electricity-mix table), from the CSV in
  the shared reference data.

Both keep their source, year and licence. Run it after bumping ``PINNED``; the tests check
the shipped files against nothing upstream (no network), only against their own structure.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from collections import Counter
from pathlib import Path

from benchmarks._common import ROOT, version_of

log = logging.getLogger("benchmarks.water_refresh")

PINNED = "3.3.2"
DATA = ROOT / "ecometer" / "data"
MIX_FIELDS = {
    "coal_TWh": "coal",
    "gas_TWh": "gas",
    "oil_TWh": "oil",
    "nuclear_TWh": "nuclear",
    "hydroelectricity_TWh": "hydro",
    "wind_TWh": "wind",
    "solar_TWh": "solar",
    "biofuel_TWh": "biofuel",
    "other_renewable_exc_biofuel_TWh": "other_renewable",
}
# the reference table lies in the shared folder beside the repository (see its data/README.md)
DEFAULT_NATIONAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "water" / "national-electricity-factors.csv"


def grid_mix() -> dict:
    """The grid_mix.json document from the installed (pinned) CodeCarbon."""
    have = version_of("codecarbon")
    if have != PINNED:
        raise SystemExit(f"codecarbon {PINNED} is pinned for the refresh; found {have!r} (pip install codecarbon=={PINNED})")
    from codecarbon.input import DataSource

    source = DataSource()
    mix = source.get_global_energy_mix_data()
    per_source = dict(source.get_carbon_intensity_per_source_data())
    countries = {}
    for code, entry in sorted(mix.items()):
        if not isinstance(entry, dict):
            continue
        year = entry.get("year")
        countries[str(code).upper()] = {
            "name": str(entry.get("country_name", code)),
            "year": int(year) if isinstance(year, (int, float)) else None,
            "twh": {short: float(entry.get(key) or 0.0) for key, short in MIX_FIELDS.items()},
            "carbon_g_per_kwh": None if entry.get("carbon_intensity") is None else float(entry["carbon_intensity"]),
        }
    years = Counter(c["year"] for c in countries.values())
    year_text = ", ".join(f"{n} countries {y}" for y, n in sorted(years.items(), key=lambda t: -t[1]))
    return {
        "description": (
            "Per-country electricity generation by source (TWh, one year per country) and the lifecycle "
            "carbon intensity of that generation (g CO2e/kWh), as bundled with CodeCarbon "
            f"{PINNED}; per-source carbon factors (g CO2e/kWh) from the same release. Written by "
            "benchmarks/water_refresh.py; do not edit by hand."
        ),
        "sources": {
            "codecarbon-mix": {
                "citation": (
                    f"CodeCarbon {PINNED}, codecarbon/data/private_infra/global_energy_mix.json: Our World in Data "
                    "energy dataset (owid/energy-data; electricity generation and carbon intensity of electricity, "
                    "from Ember and the Energy Institute Statistical Review of World Energy)."
                ),
                "year": f"per country ({year_text})",
                "licence": "CodeCarbon: MIT. Our World in Data energy data: CC BY 4.0. Ember data: CC BY 4.0.",
            },
            "codecarbon-per-source": {
                "citation": (
                    f"CodeCarbon {PINNED}, codecarbon/data/private_infra/carbon_intensity_per_source.json (coal, "
                    "petroleum, natural gas: the energy-usage project; nuclear, hydro, wind, solar, geothermal: World "
                    "Nuclear Association lifecycle comparison 2011; biomass/biofuel: IPCC AR5 WG3 Annex III)."
                ),
                "year": 2023,
                "licence": "CodeCarbon: MIT; figures cited from the sources it names.",
            },
        },
        "data_years": {str(y): n for y, n in sorted(years.items(), key=lambda t: str(t[0]))},
        "countries": countries,
        "per_source_carbon_g_per_kwh": {
            k: float(v) for k, v in per_source.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
        },
    }


def national(path: Path) -> dict:
    """The national_grid_factors.json document from the shared CSV."""
    rows = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            try:
                rows[row["iso3"].strip().upper()] = {
                    "ewif_consumption_l_per_kwh": float(row["ewif_consumption_l_per_kwh"]),
                    "carbon_g_per_kwh": round(float(row["carbon_kg_co2e_per_kwh"]) * 1000.0, 2),
                }
            except (KeyError, ValueError) as exc:
                raise SystemExit(f"{path}: line {line}: {exc}") from None
    return {
        "description": (
            "Published national grid factors per country (ISO 3166-1 alpha-3; WOR = world): water CONSUMED per "
            "kWh of electricity generated (L/kWh, location-based, hydropower reservoir evaporation included) and "
            "the lifecycle carbon intensity of electricity (g CO2e/kWh). Written by benchmarks/water_refresh.py."
        ),
        "sources": {
            "wri2020": {
                "citation": (
                    "Reig P., Luo T., Christensen E., Sinistore J. (2020). Guidance for calculating water use embedded "
                    "in purchased electricity. World Resources Institute technical note "
                    "(wri.org/research/guidance-calculating-water-use-embedded-purchased-electricity): the method and "
                    "country-level consumption factors. Values as tabulated in the EcoLogits project's electricity-mix "
                    "data (github.com/genai-impact/ecologits, ecologits/data/electricity_mixes.csv, column 'wue', "
                    "last changed September 2025)."
                ),
                "year": 2020,
                "licence": "WRI guidance: CC BY 4.0. EcoLogits data: MPL-2.0.",
            },
            "owid-ember-2024": {
                "citation": (
                    "Our World in Data / Ember, carbon intensity of electricity generation (lifecycle), as tabulated in "
                    "the EcoLogits project's electricity-mix data (ecologits/data/electricity_mixes.csv, column 'gwp', "
                    "kg CO2e/kWh, September 2025)."
                ),
                "year": 2024,
                "licence": "Our World in Data / Ember: CC BY 4.0. EcoLogits data: MPL-2.0.",
            },
        },
        "fields": {
            "ewif_consumption_l_per_kwh": {"unit": "L/kWh", "source": "wri2020"},
            "carbon_g_per_kwh": {"unit": "g CO2e/kWh", "source": "owid-ember-2024", "data_year": 2024},
        },
        "countries": dict(sorted(rows.items())),
    }


def _write(name: str, doc: dict) -> None:
    path = DATA / name
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("wrote %s", path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--national", type=Path, default=DEFAULT_NATIONAL, help="national-electricity-factors.csv")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    _write("grid_mix.json", grid_mix())
    _write("national_grid_factors.json", national(args.national))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
