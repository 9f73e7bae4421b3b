"""Where the energy was used, below the country: grid zones and cloud regions.

A site's ``region`` is one of

- a grid zone, by its Electricity Maps zone key (``"US-NW-BPAT"``, ``"CA-QC"``, ``"AU-NSW"``,
  ``"IN-WE"``, ``"JP-TK"``, ``"DE"``, ``"SE-SE3"``) or a Chinese provincial or regional grid
  (``"CN-HE"``, ``"CN-GRID-NC"``), or a zone's unique name (``"Hebei"``, ``"Québec"``);
- a cloud region, ``"provider:region"`` with the provider's own region name (``"aws:us-east-1"``,
  ``"gcp:europe-west4"``, ``"azure:westeurope"``, ``"alibaba:cn-zhangjiakou"``); a bare region name
  that only one provider uses (``"europe-west4"``) is taken as that provider's, and said so.

Tables (loaded on first use, stdlib ``json``): ``electricitymaps_2024.json`` (ODbL 1.0),
``grid_zones.json`` (China's provincial grids; the measured year-to-year band) and
``cloud_regions.json`` (each region's published location and the zone serving it).

Carbon intensities are g CO2e per kWh of electricity, location-based, either ``"lifecycle"``
or ``"direct"`` (operational) as the site's ``carbon_basis`` says: a figure never mixes the two.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass
from typing import Any

from ecometer.errors import SiteError, suggest
from ecometer.files import datafiles

CARBON_BASES = ("lifecycle", "direct")
EM_FILE = "electricitymaps_2024"


@dataclass(frozen=True)
class Place:
    """A resolved region: the level it names, the grid zone that serves it and why.

    ``level`` is ``"zone"`` or ``"cloud_region"``; ``country`` the ISO alpha-3 code of the zone;
    ``preset`` the site preset of the cloud provider's fleet figures (PUE, WUE), if any."""

    level: str
    key: str
    zone: str
    zone_name: str
    country: str | None
    why: str
    provider: str | None = None
    location: str | None = None
    preset: str | None = None
    location_source: str = ""  # citation of the published location (cloud regions)


# ---- tables ----------------------------------------------------------------------------------
def em_zones() -> dict[str, dict[str, Any]]:
    """Electricity Maps zone key -> ``{name, country, iso3, direct_g_per_kwh, lifecycle_g_per_kwh, ...}``."""
    return datafiles.load(EM_FILE)["zones"]


def china_zones() -> dict[str, dict[str, Any]]:
    """Chinese provincial / regional grid key -> ``{name, name_zh, level, iso3, co2_g_per_kwh: {year: g}}``."""
    return datafiles.load("grid_zones")["china"]["zones"]


def cloud() -> dict[str, Any]:
    return datafiles.load("cloud_regions")


def year_band() -> dict[str, Any]:
    return datafiles.load("grid_zones")["year_band"]


def fold(name: str) -> str:
    """A name compared without case or accents ("Québec" and "quebec" are the same)."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold().strip()


@functools.cache
def _zone_index() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(upper-case key -> key, folded zone name -> keys) over every zone (Chinese grids also by their Chinese name)."""
    keys: dict[str, str] = {}
    names: dict[str, list[str]] = {}
    for table in (em_zones(), china_zones()):
        for key, entry in table.items():
            keys[key.upper()] = key
            for name in {str(entry["name"]), str(entry.get("name_zh") or entry["name"])}:
                names.setdefault(fold(name), []).append(key)
    return keys, names


def zone_keys() -> list[str]:
    """Every grid zone key (Electricity Maps and Chinese grids), sorted."""
    return sorted(_zone_index()[0].values())


def cloud_region_keys() -> list[str]:
    """Every located cloud region, ``provider:region``, sorted."""
    return sorted(cloud()["regions"])


# ---- resolution --------------------------------------------------------------------------------
def _zone_name(zone: str) -> str:
    entry = em_zones().get(zone) or china_zones()[zone]
    return str(entry["name"])


def _zone_country(zone: str) -> str:
    entry = em_zones().get(zone) or china_zones()[zone]
    return str(entry["iso3"])


def _zone_place(zone: str, how: str) -> Place:
    table = "Electricity Maps zone" if zone in em_zones() else "Chinese grid (MEE & NBS)"
    return Place(
        "zone", zone, zone, _zone_name(zone), _zone_country(zone), f"{how}: {table} {zone} ({_zone_name(zone)})"
    )


def _cloud_place(key: str, how: str) -> Place:
    data = cloud()
    provider = key.split(":", 1)[0]
    info = data["providers"][provider]
    entry = data["regions"][key]
    why = (
        f"{how}: {info['name']} publishes its location as {entry['location']}; served by grid zone {entry['zone']} "
        f"({_zone_name(entry['zone'])})"
    )
    return Place(
        "cloud_region",
        key,
        entry["zone"],
        _zone_name(entry["zone"]),
        entry["country"],
        why,
        provider=provider,
        location=entry["location"],
        preset=info.get("preset"),
        location_source=datafiles.source_label("cloud_regions", info["location_source"]),
    )


def _provider_region(value: str) -> Place:
    provider, _, name = value.partition(":")
    provider, name = provider.strip().lower(), name.strip().lower()
    data = cloud()
    if provider not in data["providers"]:
        providers = sorted(data["providers"])
        raise SiteError(
            f"region {value!r}: unknown cloud provider {provider!r}: expected one of {providers} as "
            f"'provider:region'{suggest(provider, providers)}"
        )
    key = f"{provider}:{name}"
    if key in data["unlocated"]:
        raise SiteError(
            f"region {value!r}: {data['unlocated'][key]}; ecometer does not guess where it is: give "
            "Site(region=<grid zone, e.g. 'US-MIDA-PJM'>) or country=<ISO code> instead"
        )
    if key not in data["regions"]:
        own = [k.split(":", 1)[1] for k in data["regions"] if k.startswith(provider + ":")]
        raise SiteError(
            f"region {value!r}: {data['providers'][provider]['name']} has no region {name!r} in ecometer's table "
            f"(ecometer/data/cloud_regions.json, {len(own)} regions){suggest(name, own)}"
        )
    return _cloud_place(key, f"cloud region {key}")


def resolve(value: Any) -> Place:
    """The :class:`Place` ``value`` names; a :class:`SiteError` with the closest names otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise SiteError(
            f"region: expected a grid zone (e.g. 'US-NW-BPAT', 'CA-QC', 'DE') or a cloud region "
            f"('aws:us-east-1', 'gcp:europe-west4', 'azure:westeurope'), found {value!r}"
        )
    text = value.strip()
    if ":" in text:
        return _provider_region(text)
    keys, names = _zone_index()
    if text.upper() in keys:
        return _zone_place(keys[text.upper()], f"grid zone {keys[text.upper()]}")
    by_name = names.get(fold(text), [])
    if len(by_name) == 1:
        return _zone_place(by_name[0], f"zone name {text!r}")
    bare = [k for k in cloud()["regions"] if k.split(":", 1)[1] == text.lower()]
    if len(bare) == 1:
        return _cloud_place(bare[0], f"cloud region {text!r} (only {bare[0].split(':')[0]} has a region of that name)")
    if len(bare) > 1 or len(by_name) > 1:
        options = bare or by_name
        raise SiteError(f"region {value!r} is ambiguous: it could be {', '.join(sorted(options))}; give one of them")
    choices = list(keys.values()) + [k.split(":", 1)[1] for k in cloud()["regions"]] + list(cloud()["regions"])
    raise SiteError(
        f"region {value!r} is neither a grid zone (Electricity Maps keys such as 'US-NW-BPAT', 'CA-QC', 'AU-NSW', "
        f"'IN-WE', 'JP-TK', 'DE'; Chinese grids 'CN-HE') nor a cloud region ('aws:us-east-1', 'gcp:europe-west4', "
        f"'azure:westeurope'); see ecometer.impact.regions.zone_keys() / cloud_region_keys()"
        f"{suggest(text, choices)}"
    )


def is_region(value: str) -> bool:
    """Whether ``value`` names a region (for ``--site``, which also takes preset names)."""
    try:
        resolve(value)
    except SiteError:
        return ":" in value  # a provider:region that fails still means a region: let resolve() explain
    return True


def check_basis(value: Any) -> str:
    if value not in CARBON_BASES:
        raise SiteError(
            f"carbon_basis {value!r}: expected one of {list(CARBON_BASES)} ('lifecycle' includes building the plants "
            f"and fuels; 'direct' is combustion only){suggest(str(value), list(CARBON_BASES))}"
        )
    return value


# ---- carbon ----------------------------------------------------------------------------------
def quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile ``q`` (0..1) of ``values``."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def china_lifecycle_ratio() -> float:
    """Electricity Maps' lifecycle / direct ratio for China (turns the MEE direct factors lifecycle)."""
    cn = em_zones()["CN"]
    return float(cn["lifecycle_g_per_kwh"]) / float(cn["direct_g_per_kwh"])


def zone_value(zone: str, basis: str) -> tuple[float, str, int]:
    """(central g CO2e/kWh, what it is, data year) for a zone and basis."""
    if zone in em_zones():
        value = em_zones()[zone][f"{basis}_g_per_kwh"]
        if value is None:
            raise SiteError(f"grid zone {zone}: Electricity Maps 2024 gives no {basis} intensity for it")
        src = datafiles.source_label(EM_FILE, "electricitymaps-2024")
        return float(value), f"{src}: zone {zone} ({_zone_name(zone)}), {basis}", 2024
    china = datafiles.load("grid_zones")["china"]
    year = china["latest_year"]
    direct = float(china["zones"][zone]["co2_g_per_kwh"][year])
    src = datafiles.source_label("grid_zones", "mee-nbs-2021-2022")
    what = f"{src}: {zone} ({_zone_name(zone)}), data year {year}, CO2 only"
    if basis == "direct":
        return direct, what + ", direct", int(year)
    ratio = china_lifecycle_ratio()
    return (
        direct * ratio,
        what + f" x {ratio:.3f} (Electricity Maps 2024 China lifecycle/direct ratio): lifecycle, modelled",
        int(year),
    )


def band_bounds(central: float) -> tuple[float, float]:
    """The year-to-year band around a zone's central (g CO2e/kWh)."""
    band = year_band()
    return central * float(band["low_ratio"]), max(
        central * float(band["high_ratio"]), central + float(band["floor_g_per_kwh"])
    )


def band_text() -> str:
    band = year_band()
    return (
        f"year-to-year and edition change: central x [{band['low_ratio']:.3g}, {band['high_ratio']:.3g}] (upper at least "
        f"+{band['floor_g_per_kwh']:g} g), the 2.5/97.5 % quantiles of next/this year over {band['pairs']} Google Cloud "
        f"region-years (leave-one-year-out coverage {band['leave_one_year_out_coverage']:.0%})"
    )


def country_zone_values(country: str, basis: str) -> list[float]:
    """Central intensities of the sub-national zones of ``country`` (empty when it has none)."""
    out = []
    for key, entry in em_zones().items():
        if entry["iso3"] == country and "-" in key and entry.get(f"{basis}_g_per_kwh") is not None:
            out.append(float(entry[f"{basis}_g_per_kwh"]))
    if country == "CHN":
        out = [zone_value(k, basis)[0] for k, v in china_zones().items() if v["level"] == "province"]
    return out


def country_row(country: str) -> tuple[str, dict[str, Any]] | None:
    """Electricity Maps' country zone (key, entry) for an ISO alpha-3 code, if it has one."""
    for key, entry in em_zones().items():
        if entry["iso3"] == country and "-" not in key:
            return key, entry
    return None


def country_direct(country: str) -> tuple[float, str] | None:
    """A country's direct intensity from Electricity Maps' country zone, if it has one."""
    for key, entry in em_zones().items():
        if entry["iso3"] == country and "-" not in key and entry.get("direct_g_per_kwh") is not None:
            return float(entry["direct_g_per_kwh"]), key
    return None


@dataclass(frozen=True)
class CarbonChoice:
    """A site's carbon intensity, where it comes from, and the level it was resolved at."""

    estimate: Any  # ecometer.record.estimate.Estimate, g CO2e/kWh
    source: str
    note: str
    level: str  # "zone", "cloud_region" or "country"


def _estimate(central: float, low: float, high: float, basis: str) -> Any:
    from ecometer.record.estimate import Estimate

    return Estimate(central, low, high, coverage=0.95, distribution="lognormal", basis=basis)


def zone_carbon(place: Place, basis: str) -> CarbonChoice:
    """The carbon intensity of the zone serving ``place``, bounded by the year-to-year band."""
    central, what, _ = zone_value(place.zone, basis)
    low, high = band_bounds(central)
    est = _estimate(central, low, high, f"{what}; range: {band_text()}")
    note = f"annual, location-based, {basis}; {place.level.replace('_', ' ')} level ({place.why})"
    return CarbonChoice(est, what, note, place.level)


def _spread_text(country: str, zones: list[float], lo: float, hi: float, basis: str) -> str:
    return (
        f"where in {country} the job ran: {len(zones)} grid zones, equally weighted (no per-zone electricity is "
        f"shipped), their {basis} intensities span {min(zones):.0f}-{max(zones):.0f}, "
        f"{'2.5-97.5 %' if len(zones) >= 40 else 'all of them'}: {lo:.0f}-{hi:.0f} g/kWh"
    )


def country_carbon(country: str, basis: str, national: Any | None, national_source: str = "") -> CarbonChoice | None:
    """A country-level intensity widened to the spread of its zones; ``None`` where nothing changes.

    ``national`` is the country's lifecycle Estimate from the grid tables (used for ``lifecycle``) and
    ``national_source`` its citation.
    A country without sub-national zones keeps its own interval (lifecycle), or Electricity Maps'
    country figure with the year-to-year band (direct)."""
    zones = country_zone_values(country, basis)
    if basis == "lifecycle":
        if national is None or len(zones) < 2:
            return None
        central, low, high, what = float(national), national.low, national.high, national.basis
        src = national_source or what.split("; range")[0]
    else:
        found = country_direct(country)
        if found is None:
            if len(zones) < 2:
                raise SiteError(
                    f"country {country}: Electricity Maps 2024 has no direct (operational) intensity for it; use "
                    "carbon_basis='lifecycle' or give carbon_intensity_g_per_kwh=..."
                )
            found = (quantile(zones, 0.5), "median of its zones")
        central, key = found
        low, high = band_bounds(central)
        src = f"{datafiles.source_label(EM_FILE, 'electricitymaps-2024')}: {key}, direct"
        what = f"{src}; range: {band_text()}"
    if len(zones) >= 2:
        # fewer than 40 zones: the 2.5/97.5 % quantiles would cut the extreme zones themselves
        q_lo, q_hi = (quantile(zones, 0.025), quantile(zones, 0.975)) if len(zones) >= 40 else (min(zones), max(zones))
        low, high = min(low, q_lo), max(high, q_hi)
        what = f"{what}; widened to {_spread_text(country, zones, q_lo, q_hi, basis)}"
    est = _estimate(central, low, high, what)
    note = f"annual, location-based, {basis}; country level (no region given: the interval covers its zones)"
    return CarbonChoice(est, src, note, "country")
