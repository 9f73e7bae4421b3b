"""Location-based grid factors per country: off-site water (EWIF) and carbon intensity.

Both come from CodeCarbon's bundled per-country generation mix (an internal CodeCarbon API,
hence the pinned version; imported lazily here, never at ``import ecometer``):

- EWIF (L/kWh generated) = sum over sources of share x per-source consumption factor, with
  the factors, their cooling and hydropower assumptions and sources in
  ``data/water_factors.json``. Central: cooling towers, hydropower reservoir evaporation
  included; low: once-through cooling, hydropower excluded; high: an empirical allowance
  from published national factors (see that file).
- Withdrawal EWIF (L/kWh generated) from the same mix and the per-source withdrawal factors
  in the same file. Central: cooling towers (as the consumption central), hydropower charged
  its reservoir evaporation; low: towers, hydropower excluded; high: once-through cooling.
  Each bound is at least the consumption EWIF's same bound.
- Carbon (g CO2e/kWh): CodeCarbon's per-country value, bounded by the same mix times
  CodeCarbon's per-source factors (``data/carbon_factors.json``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from ecometer import datafiles
from ecometer.errors import SiteError, suggest
from ecometer.footprint.figures import Figure

MIX_KEYS = (
    "coal_TWh",
    "gas_TWh",
    "oil_TWh",
    "nuclear_TWh",
    "hydroelectricity_TWh",
    "wind_TWh",
    "solar_TWh",
    "biofuel_TWh",
    "other_renewable_exc_biofuel_TWh",
)


@dataclass
class GridFactors:
    """What a country's grid implies per kWh generated, with how it was derived."""

    country: str
    country_name: str
    data_year: int | None
    shares: dict[str, float]
    ewif: Figure
    ewif_excluding_hydro: float
    hydro_share: float
    carbon: Figure
    ewif_withdrawal: Figure
    notes: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=1)
def _mix_data() -> dict[str, dict[str, Any]]:
    from codecarbon.input import DataSource  # lazy: CodeCarbon pulls in pandas

    data = DataSource().get_global_energy_mix_data()
    return {str(k).upper(): dict(v) for k, v in data.items() if isinstance(v, dict)}


@functools.lru_cache(maxsize=1)
def _per_source_carbon() -> dict[str, Any]:
    from codecarbon.input import DataSource

    return dict(DataSource().get_carbon_intensity_per_source_data())


def countries() -> list[tuple[str, str]]:
    """(ISO 3166-1 alpha-3 code, name) of every country in CodeCarbon's energy-mix data."""
    return sorted((code, str(v.get("country_name", code))) for code, v in _mix_data().items())


def resolve_country(value: str) -> str:
    """The ISO alpha-3 code for ``value`` (a code or a country name, any case).

    Raises :class:`SiteError` naming the value and suggesting close matches.
    """
    if not isinstance(value, str) or not value.strip():
        raise SiteError(
            f"country: expected an ISO 3166-1 alpha-3 code such as 'USA' or a country name, found {value!r}"
        )
    data = _mix_data()
    key = value.strip()
    if key.upper() in data:
        return key.upper()
    by_name = {str(v.get("country_name", "")).lower(): code for code, v in data.items()}
    if key.lower() in by_name:
        return by_name[key.lower()]
    names = [str(v.get("country_name", "")) for v in data.values()]
    hint = suggest(key, list(data) + names)
    raise SiteError(
        f"country {value!r} is not in CodeCarbon's energy-mix data: expected an ISO 3166-1 alpha-3 code "
        f"(e.g. USA, FRA, CHN, DEU) or a country name ({len(data)} countries; see Site.countries()){hint}"
    )


def _l_per_kwh(gal_per_mwh: float) -> float:
    litres = float(datafiles.load("water_factors")["litres_per_us_gallon"]["value"])
    return gal_per_mwh * litres / 1000.0


def _shares(entry: dict[str, Any], code: str) -> dict[str, float]:
    parts = {k: float(entry.get(k) or 0.0) for k in MIX_KEYS}
    total = sum(parts.values())
    if total <= 0:
        raise SiteError(
            f"country {code!r}: CodeCarbon's energy-mix data has no generation for it; give Site(ewif=..., "
            "carbon_intensity_g_per_kwh=...) instead"
        )
    return {k: v / total for k, v in parts.items()}


def derived_ewif(shares: dict[str, float]) -> tuple[float, float, float]:
    """(low, central, central excluding hydropower) EWIF in L/kWh for a generation mix."""
    table = datafiles.load("water_factors")["sources_by_mix_key"]
    low = central = no_hydro = 0.0
    for key, share in shares.items():
        row = table[key]
        c = _l_per_kwh(float(row["central"]["value"]))
        lo = _l_per_kwh(float(row["low"]["value"]))
        central += share * c
        low += share * lo
        if key != "hydroelectricity_TWh":
            no_hydro += share * c
    return low, central, no_hydro


def derived_ewif_withdrawal(shares: dict[str, float]) -> tuple[float, float, float]:
    """(low, central, high) withdrawal EWIF in L/kWh for a generation mix, before the consumption floor."""
    table = datafiles.load("water_factors")["sources_by_mix_key"]
    parts = {"low": 0.0, "central": 0.0, "high": 0.0}
    for key, share in shares.items():
        row = table[key]["withdrawal"]
        for bound in parts:
            parts[bound] += share * _l_per_kwh(float(row[bound]["value"]))
    return parts["low"], parts["central"], parts["high"]


@functools.lru_cache(maxsize=1)
def high_allowance() -> tuple[float, list[dict[str, Any]]]:
    """The factor that turns a derived central EWIF into its high bound, with the comparisons behind it.

    It is the largest ratio, over the published national factors in ``water_factors.json``,
    of published / derived central for the same country (at least 1).
    """
    data = _mix_data()
    rows = []
    factor = 1.0
    for ref in datafiles.load("water_factors")["references"]:
        code = ref["country"]
        if code not in data:
            continue
        low, central, no_hydro = derived_ewif(_shares(data[code], code))
        ratio = float(ref["value"]) / central if central > 0 else 1.0
        factor = max(factor, ratio)
        rows.append(
            {
                "country": code,
                "published_l_per_kwh": float(ref["value"]),
                "source": ref["source"],
                "derived_central": central,
                "derived_low": low,
                "derived_excluding_hydro": no_hydro,
                "ratio_published_to_derived": ratio,
            }
        )
    return factor, rows


def _carbon(entry: dict[str, Any], shares: dict[str, float], code: str) -> tuple[Figure, list[str]]:
    notes: list[str] = []
    per_source = _per_source_carbon()
    keymap = datafiles.load("carbon_factors")["per_source_key_by_mix_key"]
    alt = 0.0
    for key, share in shares.items():
        factor = per_source.get(keymap[key])
        if factor is None:
            factor = per_source.get("world_average", 0.0)
            notes.append(f"CodeCarbon has no per-source carbon factor for {key}; its world average was used for it")
        alt += share * float(factor)
    central = entry.get("carbon_intensity")
    if central is None:
        notes.append(f"CodeCarbon gives no carbon_intensity for {code}; the mix x per-source factors value is used")
        central = alt
    central = float(central)
    return Figure(central, min(central, alt), max(central, alt)), notes


@functools.cache
def factors(country: str) -> GridFactors:
    """Grid factors for a country (code or name)."""
    code = resolve_country(country)
    entry = _mix_data()[code]
    shares = _shares(entry, code)
    low, central, no_hydro = derived_ewif(shares)
    allowance, _ = high_allowance()
    carbon, notes = _carbon(entry, shares, code)
    ewif = Figure(central, low, central * allowance)
    w_low, w_central, w_high = derived_ewif_withdrawal(shares)
    # withdrawal is never below consumption: raise each bound to the consumption EWIF's same bound
    withdrawal = Figure(max(w_central, ewif.central), max(w_low, ewif.low), max(w_high, ewif.high))
    year = entry.get("year")
    return GridFactors(
        country=code,
        country_name=str(entry.get("country_name", code)),
        data_year=int(year) if isinstance(year, (int, float)) else None,
        shares={k: round(v, 6) for k, v in shares.items()},
        ewif=ewif,
        ewif_excluding_hydro=no_hydro,
        hydro_share=shares["hydroelectricity_TWh"],
        carbon=carbon,
        ewif_withdrawal=withdrawal,
        notes=notes,
    )
