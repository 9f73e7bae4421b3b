"""Location-based grid factors per country: off-site water (EWIF), its withdrawal, and carbon.

Everything is read from ecometer's own data files (no CodeCarbon, no pandas, no network):

- ``national_grid_factors.json``: published WRI-method water consumption factors (Reig et al.
  2020) and 2024 carbon intensities (OWID/Ember) for the countries that have them.
- ``grid_mix.json``: every country's generation mix (TWh per source, data year per country)
  and carbon intensity, copied from a pinned CodeCarbon by ``benchmarks/water_refresh.py``.
- ``water_factors.json``: per-source water factors (Macknick et al. 2012), the hydropower
  allocation sensitivity of the published factors, and the fallback's calibration (measured by
  leave-one-out against the published factors, ``benchmarks/water_factors.py``).
- ``carbon_factors.json``: how carbon is bounded (measured between the two data editions).

EWIF, L per kWh of electricity generated. ``ewif_source`` chooses:

- ``"published"``: the country's WRI-method factor; bounds from the hydropower-allocation
  sensitivity of that method (a method range, no statistical coverage claimed).
- ``"derived"``: the fallback. Mix x per-source factors (cooling and hydropower as in
  ``water_factors.json['fallback']``), pooled toward the geometric mean of the published
  factors of the *other* countries; bounds = central x the leave-one-out ratio quantiles, which
  cover about 90 % of the published references.
- ``"auto"``: published where the country has a factor, derived otherwise.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from ecometer.errors import SiteError, suggest
from ecometer.files import datafiles
from ecometer.impact import cooling as cooling_shares
from ecometer.impact import regions
from ecometer.record.estimate import Estimate

MIX_KEYS = ("coal", "gas", "oil", "nuclear", "hydro", "wind", "solar", "biofuel", "other_renewable")
EWIF_SOURCES = ("auto", "published", "derived")


@dataclass
class RangeInfo:
    """How a factor's range was obtained: what it rests on and the coverage it claims."""

    method: str  # "published", "derived", "codecarbon" ...
    basis: str
    coverage: float | None  # probability the range claims to cover, or None for a method range
    coverage_text: str
    distribution: str  # 'lognormal' (central with a coverage interval) or 'uniform' (a stated span)


@dataclass
class GridFactors:
    """What a country's grid implies per kWh generated, with how each figure was obtained.

    Each factor is an :class:`~ecometer.record.estimate.Estimate` whose ``coverage``, ``distribution``
    and ``basis`` say what its range claims (the same as ``ewif_info`` / ``carbon_info``)."""

    country: str
    country_name: str
    data_year: int | None  # of the generation mix
    shares: dict[str, float]
    ewif: Estimate
    ewif_info: RangeInfo
    ewif_mix: float  # mix x per-source factors, before pooling (L/kWh)
    ewif_excluding_hydro: float
    hydro_share: float
    carbon: Estimate
    carbon_info: RangeInfo
    carbon_year: int | None
    ewif_withdrawal: Estimate
    published_ewif: float | None = None
    notes: list[str] = field(default_factory=list)


# ---- data ---------------------------------------------------------------------------------
def mix_data() -> dict[str, dict[str, Any]]:
    """ISO code -> ``{"name", "year", "twh": {source: TWh}, "carbon_g_per_kwh"}`` (grid_mix.json)."""
    return datafiles.load("grid_mix")["countries"]


def published_factors() -> dict[str, dict[str, float]]:
    """ISO code -> published factors (``ewif_consumption_l_per_kwh``, ``carbon_g_per_kwh``); ``WOR`` = world."""
    return datafiles.load("national_grid_factors")["countries"]


def _fallback() -> dict[str, Any]:
    return datafiles.load("water_factors")["fallback"]


def countries() -> list[tuple[str, str]]:
    """(ISO 3166-1 alpha-3 code, name) of every country with a generation mix."""
    return sorted((code, str(v.get("name", code))) for code, v in mix_data().items())


def resolve_country(value: str) -> str:
    """The ISO alpha-3 code for ``value`` (a code or a country name, any case).

    Raises :class:`SiteError` naming the value and suggesting close matches.
    """
    if not isinstance(value, str) or not value.strip():
        raise SiteError(
            f"country: expected an ISO 3166-1 alpha-3 code such as 'USA' or a country name, found {value!r}"
        )
    data = mix_data()
    key = value.strip()
    if key.upper() in data:
        return key.upper()
    by_name = {str(v.get("name", "")).lower(): code for code, v in data.items()}
    if key.lower() in by_name:
        return by_name[key.lower()]
    names = [str(v.get("name", "")) for v in data.values()]
    hint = suggest(key, list(data) + names)
    raise SiteError(
        f"country {value!r} is not in ecometer's grid data (ecometer/data/grid_mix.json): expected an ISO 3166-1 "
        f"alpha-3 code (e.g. USA, FRA, CHN, DEU) or a country name ({len(data)} countries; see Site.countries()){hint}"
    )


def check_ewif_source(value: Any, country: str | None) -> str:
    """``value`` if it is an offered EWIF source for ``country``; a :class:`SiteError` otherwise."""
    if value not in EWIF_SOURCES:
        raise SiteError(
            f"ewif_source {value!r}: expected one of {list(EWIF_SOURCES)} ('auto' = published where the country has "
            f"a published factor, derived otherwise){suggest(str(value), list(EWIF_SOURCES))}"
        )
    if value == "published" and country is not None and country not in published_factors():
        have = ", ".join(sorted(c for c in published_factors() if c != "WOR"))
        raise SiteError(
            f"ewif_source 'published': {country} has no published water factor in "
            f"ecometer/data/national_grid_factors.json; use 'derived' or 'auto'. Countries with one: {have}"
        )
    return value


def _l_per_kwh(gal_per_mwh: float) -> float:
    litres = float(datafiles.load("water_factors")["litres_per_us_gallon"]["value"])
    return gal_per_mwh * litres / 1000.0


def shares(code: str) -> dict[str, float]:
    """Fractions of the country's generation by source (``MIX_KEYS``), summing to 1."""
    entry = mix_data()[code]
    parts = {k: float(entry["twh"].get(k) or 0.0) for k in MIX_KEYS}
    total = sum(parts.values())
    if total <= 0:
        raise SiteError(
            f"country {code!r}: ecometer's grid data has no generation for it; give Site(ewif=..., "
            "carbon_intensity_g_per_kwh=...) instead"
        )
    return {k: v / total for k, v in parts.items()}


# ---- water: mix x per-source factors --------------------------------------------------------
def _per_source_consumption(cooling: str, hydro_l_per_kwh: float, country: str | None = None) -> dict[str, float]:
    """L/kWh per source: thermal sources at ``cooling`` ('tower', 'once-through', 'mean', or 'by-country': the
    country's cooling shares, :mod:`ecometer.impact.cooling`), hydro as given."""
    if cooling == "by-country":
        return {**cooling_shares.source_factors(country, "consumption"), "hydro": hydro_l_per_kwh}
    table = datafiles.load("water_factors")["sources_by_mix_key"]
    out = {}
    for key in MIX_KEYS:
        tower, once = _l_per_kwh(float(table[key]["central"]["value"])), _l_per_kwh(float(table[key]["low"]["value"]))
        out[key] = {"tower": tower, "once-through": once, "mean": (tower + once) / 2.0}[cooling]
    out["hydro"] = hydro_l_per_kwh
    return out


def mix_ewif(mix: dict[str, float], cooling: str, hydro_l_per_kwh: float, country: str | None = None) -> float:
    """Consumption EWIF (L/kWh) of a generation mix with the given cooling and hydropower factor
    (``country``: whose cooling shares ``cooling='by-country'`` uses)."""
    factors = _per_source_consumption(cooling, hydro_l_per_kwh, country)
    return sum(share * factors[k] for k, share in mix.items())


def reference_geomean(exclude: frozenset[str] = frozenset()) -> float:
    """Geometric mean (L/kWh) of the published national factors of countries with a mix, less ``exclude``."""
    mix = mix_data()
    logs = [
        math.log(v["ewif_consumption_l_per_kwh"])
        for code, v in published_factors().items()
        if code in mix and code not in exclude
    ]
    return math.exp(sum(logs) / len(logs))


def pooled_ewif(mix_value: float, weight: float, geomean: float) -> float:
    """The fallback central: mix_value^weight x geomean^(1-weight), in L/kWh."""
    return math.exp(weight * math.log(max(mix_value, 1e-9)) + (1.0 - weight) * math.log(geomean))


# ---- the log-linear fallback: log EWIF = b0 + b1 log(mix EWIF) + b2 (wind + solar share) ----------
LOGLINEAR_FEATURES = ("intercept", "log_mix_ewif", "wind_solar_share")


def loglinear_features(code: str, cooling: str, hydro_l_per_kwh: float) -> tuple[float, float, float]:
    """The regressors of a country: 1, ln(mix EWIF, L/kWh), the wind + solar share of its generation."""
    mix = shares(code)
    return 1.0, math.log(max(mix_ewif(mix, cooling, hydro_l_per_kwh, code), 1e-3)), mix["wind"] + mix["solar"]


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Solve the small linear system a x = b (Gaussian elimination with partial pivoting)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[piv][col]) < 1e-12:
            raise SiteError("water fallback: the published factors do not determine the model (singular system)")
        m[col], m[piv] = m[piv], m[col]
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            m[r] = [x - f * y for x, y in zip(m[r], m[col], strict=True)]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        out[r] = (m[r][n] - sum(m[r][c] * out[c] for c in range(r + 1, n))) / m[r][r]
    return out


@functools.cache
def loglinear_fit(cooling: str, hydro_l_per_kwh: float, exclude: frozenset[str] = frozenset()) -> tuple[float, ...]:
    """Least-squares coefficients (``LOGLINEAR_FEATURES``) over the published factors, less ``exclude``."""
    mix = mix_data()
    rows = [
        (loglinear_features(c, cooling, hydro_l_per_kwh), math.log(float(v["ewif_consumption_l_per_kwh"])))
        for c, v in published_factors().items()
        if c in mix and c not in exclude
    ]
    k = len(LOGLINEAR_FEATURES)
    xtx = [[sum(x[i] * x[j] for x, _ in rows) for j in range(k)] for i in range(k)]
    xty = [sum(x[i] * y for x, y in rows) for i in range(k)]
    return tuple(_solve(xtx, xty))


def loglinear_ewif(code: str, cooling: str, hydro_l_per_kwh: float, exclude: frozenset[str] = frozenset()) -> float:
    """The fallback central (L/kWh) of ``code`` from a fit without ``exclude`` (and without ``code`` itself)."""
    b = loglinear_fit(cooling, hydro_l_per_kwh, frozenset(exclude | {code}))
    x = loglinear_features(code, cooling, hydro_l_per_kwh)
    return math.exp(sum(bi * xi for bi, xi in zip(b, x, strict=True)))


def _estimate(central: float, low: float, high: float, info: RangeInfo) -> Estimate:
    """A factor with the range ``info`` describes (its coverage, distribution and basis)."""
    shape = "exact" if low == high == central else info.distribution
    return Estimate(central, low, high, coverage=info.coverage, distribution=shape, basis=info.basis)


def _derived_ewif(code: str, mix: dict[str, float]) -> tuple[Estimate, float, RangeInfo]:
    fb = _fallback()
    m = mix_ewif(mix, fb["cooling"], fb["hydro_l_per_kwh"], code)
    band = fb["band"]
    thermal = f"{fb['cooling']} cooling for thermal plants, hydropower {fb['hydro_l_per_kwh']:g} L/kWh"
    if fb.get("form") == "loglinear":
        central = loglinear_ewif(code, fb["cooling"], fb["hydro_l_per_kwh"])
        how = (
            f"ln EWIF = b0 + b1 ln(mix EWIF: {thermal}) + b2 (wind + solar share), least squares over the published "
            "factors of the other countries"
        )
    else:
        central = pooled_ewif(m, fb["pooling_weight"], reference_geomean(frozenset({code})))
        how = (
            f"generation mix ({thermal}) pooled with weight {fb['pooling_weight']:g} toward the geometric mean of the "
            "other countries' published factors"
        )
    info = RangeInfo(
        "derived",
        f"{how}; range = central x [{band['low_ratio']:.3g}, {band['high_ratio']:.3g}], the leave-one-out ratio "
        "quantiles of published/derived",
        float(band["coverage_claimed"]),
        f"covers ~{band['coverage_claimed']:.0%} of the published national factors in leave-one-out "
        f"(measured: {band['nested_coverage']:.0%} of {band['countries']}; median error {band['median_error']:.0%})",
        "lognormal",
    )
    return _estimate(central, central * band["low_ratio"], central * band["high_ratio"], info), m, info


def _published_ewif(code: str, mix: dict[str, float]) -> tuple[Estimate, RangeInfo]:
    """The published factor, bounded by the hydropower-allocation sensitivity of the method."""
    sens = datafiles.load("water_factors")["published_sensitivity"]
    value = float(published_factors()[code]["ewif_consumption_l_per_kwh"])
    floor = mix_ewif({**mix, "hydro": 0.0}, "once-through", 0.0)
    hydro = min(mix["hydro"] * float(sens["hydro_l_per_kwh"]), max(value - floor, 0.0))
    k = float(sens["allocation_ratio"])
    info = RangeInfo(
        "published",
        f"WRI-method factor (Reig et al. 2020); its hydropower part (share {mix['hydro']:.2f} x "
        f"{sens['hydro_l_per_kwh']:g} L/kWh, at most the factor less the mix's least thermal consumption = "
        f"{hydro:.3g} L/kWh) divided or multiplied by {k:.3g}, the documented allocation ratio",
        None,
        "method range (hydropower allocation between reservoir uses), no statistical coverage claimed",
        "uniform",
    )
    return _estimate(value, value - hydro * (1.0 - 1.0 / k), value + hydro * (k - 1.0), info), info


def ewif_for(code: str, source: str = "auto") -> tuple[Estimate, RangeInfo, float]:
    """(EWIF, how its range was obtained, mix x per-source value) for a country and ``ewif_source``."""
    check_ewif_source(source, code)
    mix = shares(code)
    derived, m, info = _derived_ewif(code, mix)
    if source == "derived" or (source == "auto" and code not in published_factors()):
        return derived, info, m
    fig, pinfo = _published_ewif(code, mix)
    return fig, pinfo, m


# ---- withdrawal ----------------------------------------------------------------------------
def derived_ewif_withdrawal(mix: dict[str, float], country: str | None = None) -> tuple[float, float, float]:
    """(low, central, high) withdrawal EWIF in L/kWh for a generation mix, before the consumption floor.

    With ``country``, the central takes the country's cooling shares for thermal plants
    (:mod:`ecometer.impact.cooling`) instead of cooling towers everywhere."""
    table = datafiles.load("water_factors")["sources_by_mix_key"]
    parts = {"low": 0.0, "central": 0.0, "high": 0.0}
    for key, share in mix.items():
        row = table[key]["withdrawal"]
        for bound in parts:
            parts[bound] += share * _l_per_kwh(float(row[bound]["value"]))
    if country is not None:
        by = cooling_shares.source_factors(country, "withdrawal")
        hydro = _l_per_kwh(float(table["hydro"]["withdrawal"]["central"]["value"]))
        parts["central"] = sum(share * (hydro if key == "hydro" else by[key]) for key, share in mix.items())
    return min(parts["low"], parts["central"]), parts["central"], max(parts["high"], parts["central"])


# ---- carbon --------------------------------------------------------------------------------
def carbon_central(code: str, latest: bool = True) -> tuple[float, Any, str, str]:
    """(lifecycle g CO2e/kWh, data year, what it rests on, method) of a country.

    In order: OWID/Ember 2024 (national_grid_factors.json); with ``latest``, Electricity Maps' 2024
    country figure where the other tables have only an older year; OWID via CodeCarbon (that
    country's data year); the mix x per-source factors."""
    pub = published_factors().get(code)
    entry = mix_data()[code]
    if pub is not None:
        return float(pub["carbon_g_per_kwh"]), 2024, "OWID/Ember 2024 lifecycle intensity (EcoLogits table)", "published"
    row = regions.country_row(code) if latest else None
    if row is not None and row[1].get("lifecycle_g_per_kwh"):
        return (
            float(row[1]["lifecycle_g_per_kwh"]),
            2024,
            f"Electricity Maps 2024 lifecycle intensity, zone {row[0]} (replaces OWID data year {entry.get('year')})",
            "electricitymaps",
        )
    if entry.get("carbon_g_per_kwh") is not None:
        year = entry.get("year")
        return (
            float(entry["carbon_g_per_kwh"]),
            year,
            f"OWID/Ember lifecycle intensity via CodeCarbon 3.3.2, data year {year}",
            "codecarbon",
        )
    return (
        mix_carbon(code),
        entry.get("year"),
        "mix x CodeCarbon's per-source factors (no national intensity in the data)",
        "codecarbon",
    )


def _carbon(code: str) -> tuple[Estimate, RangeInfo, int | None, list[str]]:
    cf = datafiles.load("carbon_factors")
    band = cf["band"]
    notes: list[str] = []
    central, year, rests, method = carbon_central(code)
    if rests.startswith("mix"):
        notes.append(f"no carbon intensity for {code} in the data; the mix x per-source factors value is used")
    info = RangeInfo(
        method,
        f"{rests}; range = central x [{band['low_ratio']:.3g}, {band['high_ratio']:.3g}]",
        float(band["coverage_claimed"]),
        f"covers ~{band['coverage_claimed']:.0%} of the change between the two data editions "
        f"(OWID 2022/2023 in CodeCarbon vs OWID/Ember 2024) over {band['countries']} countries",
        "lognormal",
    )
    low, high = central * band["low_ratio"], central * band["high_ratio"]
    cross = datafiles.load("grid_zones")["country_cross_source"]
    if central * cross["low_ratio"] < low or central * cross["high_ratio"] > high:
        low, high = min(low, central * cross["low_ratio"]), max(high, central * cross["high_ratio"])
        info.coverage = max(info.coverage or 0.0, float(cross["coverage_claimed"]))
        info.basis += (
            f"; widened to central x [{cross['low_ratio']:.3g}, {cross['high_ratio']:.3g}], how far Electricity Maps' "
            f"2024 country figures differ from these over {cross['countries']} countries (leave-one-out coverage "
            f"{cross['leave_one_country_out_coverage']:.0%})"
        )
    check = plausibility(code, central)
    if check is not None:
        low, high = min(low, check.mix_value), max(high, check.mix_value)
        info.basis += f"; {check.reason}: widened to include the mix value {check.mix_value:.0f} g/kWh"
        notes.append(
            f"carbon intensity of {code} flagged: {check.reason}; its interval is widened to include the mix value"
        )
    fig = _estimate(central, low, high, info)
    return fig, info, (int(year) if isinstance(year, (int, float)) else None), notes


#: generation-mix source -> CodeCarbon per-source carbon factor key (grid_mix.json)
PER_SOURCE_CARBON_KEY = {
    "coal": "coal",
    "gas": "natural_gas",
    "oil": "petroleum",
    "nuclear": "nuclear",
    "hydro": "hydroelectricity",
    "wind": "wind",
    "solar": "solar",
    "biofuel": "biofuel",
    "other_renewable": "geothermal",
}
#: a source below this share of generation does not count as "in the mix" for the dirtiest-source check
MIX_SHARE_FLOOR = 0.01


def mix_carbon(code: str) -> float:
    """The country's generation mix x CodeCarbon's per-source lifecycle factors (g CO2e/kWh)."""
    per_source = datafiles.load("grid_mix")["per_source_carbon_g_per_kwh"]
    return sum(share * float(per_source[PER_SOURCE_CARBON_KEY[k]]) for k, share in shares(code).items())


@dataclass(frozen=True)
class Plausibility:
    """Why a country's carbon intensity fails the check against its own mix, and the mix value."""

    reason: str
    mix_value: float
    dirtiest: str
    dirtiest_factor: float


def plausibility(code: str, central: float) -> Plausibility | None:
    """Check a country's intensity against its own generation mix; None when it passes.

    A grid cannot be dirtier than its dirtiest source (CodeCarbon's per-source lifecycle factors,
    sources at >= 1 % of generation), and a zero is not exact: generation always emits something
    over its life cycle."""
    per_source = datafiles.load("grid_mix")["per_source_carbon_g_per_kwh"]
    present = {k: float(per_source[PER_SOURCE_CARBON_KEY[k]]) for k, v in shares(code).items() if v >= MIX_SHARE_FLOOR}
    if not present:
        return None
    dirtiest = max(present, key=lambda k: present[k])
    mix_value = mix_carbon(code)
    if central > present[dirtiest]:
        reason = f"{central:.0f} g/kWh is dirtier than its dirtiest source in the mix ({dirtiest}, {present[dirtiest]:.0f} g/kWh)"
    elif central <= 0.0:
        reason = "a zero intensity is not exact (every source emits over its life cycle)"
    else:
        return None
    return Plausibility(reason, mix_value, dirtiest, present[dirtiest])


@functools.cache
def factors(country: str, ewif_source: str = "auto") -> GridFactors:
    """Grid factors for a country (code or name) with the EWIF from ``ewif_source``."""
    code = resolve_country(country)
    mix = shares(code)
    ewif, info, m = ewif_for(code, ewif_source)
    carbon, cinfo, cyear, notes = _carbon(code)
    w_low, w_central, w_high = derived_ewif_withdrawal(mix, code)
    # withdrawal is never below consumption: raise each bound to the consumption EWIF's same bound
    withdrawal = Estimate(
        max(w_central, ewif.central),
        max(w_low, ewif.low),
        max(w_high, ewif.high),
        distribution="triangular",  # mode: the country's cooling mix; the high (all once-through) is a ceiling
        basis="generation mix x Macknick et al. (2012) withdrawal factors: low towers without hydropower, mode the "
        "country's thermal cooling shares (MESSAGEix-Nexus"
        + ("" if cooling_shares.covered(code) else "; this country is not covered: world mean shares")
        + "), high every thermal plant once-through; each bound at least the consumption EWIF's",
    )
    entry = mix_data()[code]
    pub = published_factors().get(code)
    return GridFactors(
        country=code,
        country_name=str(entry.get("name", code)),
        data_year=entry.get("year"),
        shares={k: round(v, 6) for k, v in mix.items()},
        ewif=ewif,
        ewif_info=info,
        ewif_mix=m,
        ewif_excluding_hydro=mix_ewif({**mix, "hydro": 0.0}, _fallback()["cooling"], 0.0, code),
        hydro_share=mix["hydro"],
        carbon=carbon,
        carbon_info=cinfo,
        carbon_year=cyear,
        ewif_withdrawal=withdrawal,
        published_ewif=None if pub is None else float(pub["ewif_consumption_l_per_kwh"]),
        notes=notes,
    )
