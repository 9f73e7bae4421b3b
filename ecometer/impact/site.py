"""A data-centre site: how IT energy becomes facility energy, water and carbon.

Units: ``pue`` dimensionless (facility energy / IT energy); ``wue`` and ``wue_withdrawal`` in
litres per kWh of IT energy (on-site); ``ewif`` and ``ewif_withdrawal`` in litres per kWh of
electricity (off-site, location-based); ``carbon_intensity_g_per_kwh`` in g CO2e per kWh of
electricity; temperatures in degrees Celsius; ``timezone`` an IANA zone name (``zoneinfo``),
or ``utc_offset_h`` in hours (local = UTC + offset, no daylight saving).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime, tzinfo
from datetime import timezone as _tz
from typing import Any, NamedTuple

from ecometer.checks.numbers import Bounds, check_number, shown
from ecometer.errors import FootprintError, SiteError, suggest
from ecometer.files import datafiles
from ecometer.impact import efficiency, grid, regions
from ecometer.impact.timing import fixed_offset, parse_timestamp
from ecometer.record.estimate import Estimate

_NUMERIC = ("pue", "wue", "ewif", "carbon_intensity_g_per_kwh", "ewif_withdrawal", "wue_withdrawal")
_PROFILES = {"wue_monthly": 12, "wue_hourly": 24, "wet_bulb_monthly_c": 12, "wet_bulb_hourly_c": 24}
GRID_KEYS = {"ewif": "L/kWh", "carbon_g_per_kwh": "g CO2e/kWh"}
_GRID_MAXIMUM = {"ewif": 1000.0, "carbon_g_per_kwh": 5000.0}  # as the site's own values (_MAXIMUM)
_GRID_VALUES = ("ewif", "ewif_withdrawal", "carbon_intensity_g_per_kwh", "grid_hourly")


class PresetInfo(NamedTuple):
    name: str
    description: str


@dataclass
class Site:
    """Where the IT energy was used. Give what you know; a preset fills in sourced values.

    ``Site(pue=1.17, wue=0.55, country="USA")`` derives EWIF and carbon from the country's grid;
    ``Site(pue=1.17, wue=0.55, ewif=3.142)`` uses a given EWIF. Time-varying sites take
    ``wue_monthly`` (12 values, L/kWh) or ``wue_hourly`` (24, by local hour of day), or a
    wet-bulb temperature profile (``wet_bulb_hourly_c`` / ``wet_bulb_monthly_c``, degC) that is
    turned into a WUE profile scaled so that its mean equals ``wue``; and ``grid_hourly``:
    ``{"ewif": ..., "carbon_g_per_kwh": ...}`` where each series is 24 values by local hour of
    day or ``{"2025-06-01T13:00Z": value, ...}`` per UTC hour. Numeric values may be given as
    ``{"central", "low", "high"}`` (a stated bound, drawn uniform) or as an
    :class:`~ecometer.record.estimate.Estimate` (its ``distribution`` and ``coverage`` are used) to state
    their uncertainty; a plain number is exact.

    ``ewif_source`` says where a country's EWIF comes from: ``"published"`` (the country's
    WRI-method factor), ``"derived"`` (ecometer's fallback from the generation mix, whose range
    covers ~90 % of the published factors in leave-one-out) or ``"auto"`` (published where the
    country has one). ``timezone`` (an IANA name such as ``"Europe/Paris"``) places hourly and
    monthly profiles in local time with daylight saving; ``utc_offset_h`` is a fixed offset.

    ``region`` names where the energy was used below the country: a grid zone (Electricity Maps
    zone key such as ``"US-NW-BPAT"``, ``"CA-QC"``, ``"DE"``; Chinese grids ``"CN-HE"``) or a
    cloud region (``"aws:us-east-1"``, ``"gcp:europe-west4"``, ``"azure:westeurope"``); see
    :mod:`ecometer.impact.regions`. It sets the carbon intensity (the zone's), the country (for
    off-site water) and, for a cloud region, the provider's fleet PUE/WUE where a preset has them;
    values given here win. ``carbon_basis`` is ``"lifecycle"`` (default) or ``"direct"``
    (operational): a carbon figure is one or the other, never a mix.

    ``provenance`` maps each given field to where its value came from (``{"source": "user"}``
    for values passed here). Invalid values raise :class:`~ecometer.errors.SiteError`.
    """

    pue: Any = None
    wue: Any = None
    country: str | None = None
    ewif: Any = None
    carbon_intensity_g_per_kwh: Any = None
    wue_monthly: list[float] | None = None
    wue_hourly: list[float] | None = None
    wet_bulb_hourly_c: list[float] | None = None
    wet_bulb_monthly_c: list[float] | None = None
    grid_hourly: dict[str, Any] | None = None
    utc_offset_h: float | None = None
    ewif_withdrawal: Any = None
    wue_withdrawal: Any = None
    ewif_source: str = "auto"
    timezone: str | None = None
    region: str | None = None
    carbon_basis: str = "lifecycle"
    name: str | None = None
    provenance: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        label = f"site {self.name!r}" if self.name else "site"
        for fname in _NUMERIC:
            value = getattr(self, fname)
            if value is not None:
                setattr(self, fname, _check_number(fname, value, label, minimum=1.0 if fname == "pue" else 0.0))
        if self.country is not None:
            self.country = grid.resolve_country(self.country)
        self.carbon_basis = regions.check_basis(self.carbon_basis)
        derived = self._resolve_region(label)
        grid.check_ewif_source(self.ewif_source, self.country)
        if self.ewif_source != "auto" and (self.country is None or self.ewif is not None):
            why = "the site gives its own ewif" if self.ewif is not None else "the site has no country"
            raise SiteError(
                f"{label}: ewif_source {self.ewif_source!r} chooses a country's EWIF, but {why}: give country= "
                "without ewif= (or leave ewif_source='auto')"
            )
        for fname, length in _PROFILES.items():
            value = getattr(self, fname)
            if value is not None:
                setattr(self, fname, _check_profile(fname, value, length, label, temperature=fname.startswith("wet")))
        given = [f for f in _PROFILES if getattr(self, f) is not None]
        if len(given) > 1:
            raise SiteError(f"{label}: give one on-site profile, not {given} (choices: {list(_PROFILES)})")
        if given and given[0].startswith("wet_bulb") and self.wue is None:
            raise SiteError(
                f"{label}: {given[0]} is a relative profile scaled to the site's annual WUE; give wue=<annual L/kWh> too"
            )
        if self.grid_hourly is not None:
            self.grid_hourly = _check_grid(self.grid_hourly, label)
        if self.utc_offset_h is not None:
            off = _check_number("utc_offset_h", self.utc_offset_h, label, minimum=-14.0)
            if off.central > 14.0 or off.low != off.high:
                raise SiteError(f"{label}: utc_offset_h {self.utc_offset_h!r}: expected hours between -14 and +14")
            self.utc_offset_h = off.central
        if self.timezone is not None:
            if self.utc_offset_h is not None:
                raise SiteError(
                    f"{label}: give timezone= (an IANA zone, daylight saving included) or utc_offset_h= (fixed), not both"
                )
            _zone(self.timezone, label)
        if not isinstance(self.provenance, dict):
            raise SiteError(f"{label}: provenance must be a dict of field -> source, found {self.provenance!r}")
        self.provenance = {k: dict(v) for k, v in self.provenance.items()}
        self.provenance.update(derived)
        for f in self._given_fields():
            self.provenance.setdefault(f, {"source": "user"})
        for stale in [k for k in self.provenance if getattr(self, k, None) is None]:
            del self.provenance[stale]

    def _resolve_region(self, label: str) -> dict[str, dict[str, Any]]:
        """Resolve ``region``; fill the country and a cloud provider's fleet PUE/WUE. Returns their provenance."""
        self.place: regions.Place | None = None
        if self.region is None:
            return {}
        place = regions.resolve(self.region)
        self.place, self.region = place, place.key
        if self.country is not None and self.country != place.country:
            raise SiteError(
                f"{label}: country {self.country!r} conflicts with region {place.key!r}, which lies in {place.country} "
                f"({place.why}); give one of them, or the region of the country you mean"
            )
        out: dict[str, dict[str, Any]] = {}
        if self.country is None and place.country in grid.mix_data():
            self.country = place.country
            out["country"] = {"source": "region", "region": place.key, "note": place.why}
        for fname, (value, provenance_own) in efficiency.region_figures(place.key).items():
            if getattr(self, fname) is None:
                setattr(self, fname, _check_number(fname, value, label, minimum=1.0 if fname == "pue" else 0.0))
                out[fname] = provenance_own
        if place.preset is not None:
            values, provenance = _preset_values(place.preset)
            for fname in ("pue", "wue"):
                if getattr(self, fname) is None and fname in values:
                    low = 1.0 if fname == "pue" else 0.0
                    setattr(self, fname, _check_number(fname, values[fname], label, minimum=low))
                    out[fname] = {
                        **provenance[fname],
                        "region": place.key,
                        "note": f"{place.provider} fleet figure (no per-region figure shipped) for region {place.key}"
                        + ("; its interval spans the provider's published regions" if "spread" in provenance[fname] else ""),
                    }
        return out

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def preset(cls, name: str, **overrides: Any) -> Site:
        """A named site with sourced values (see :meth:`presets`); ``overrides`` replace them.

        Giving ``country`` (or an ``ewif_source`` other than ``"auto"``) without ``ewif`` drops a
        preset's grid values (EWIF, carbon), which belong to the preset's own location.
        """
        kwargs, provenance = _preset_values(name)
        names = {f.name for f in fields(cls)} - {"name", "provenance"}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise SiteError(f"Site.preset({name!r}): unknown field(s) {unknown}; valid fields: {sorted(names)}")
        if overrides.get("region") is not None and "country" not in overrides:
            kwargs.pop("country", None)  # the preset's own location gives way to the region's
            provenance.pop("country", None)
        if (
            overrides.get("country") is not None
            or overrides.get("region") is not None
            or overrides.get("ewif_source", "auto") != "auto"
        ) and ("ewif" not in overrides):
            for grid_field in _GRID_VALUES:
                kwargs.pop(grid_field, None)
                provenance.pop(grid_field, None)
        for key, value in overrides.items():
            kwargs[key] = value
            provenance.pop(key, None)
        return cls(name=name, provenance=provenance, **kwargs)

    @classmethod
    def named(cls, name: str, **overrides: Any) -> Site:
        """A site from one word: a preset name (``"aws-2023"``) or a region (``"aws:us-east-1"``, ``"US-NW-BPAT"``).

        What ``--site`` and ``site="..."`` accept; ``overrides`` replace the values either gives."""
        presets = datafiles.load("site_presets")["presets"]
        if isinstance(name, str) and name not in presets and regions.is_region(name):
            return cls(**{"region": name, **overrides})
        return cls.preset(name, **overrides)

    @staticmethod
    def presets() -> list[PresetInfo]:
        """(name, description) of every shipped preset."""
        presets = datafiles.load("site_presets")["presets"]
        return [PresetInfo(n, p["description"]) for n, p in sorted(presets.items())]

    @staticmethod
    def countries() -> list[tuple[str, str]]:
        """(ISO alpha-3 code, name) of every country with grid data (``ecometer/data/grid_mix.json``)."""
        from ecometer.impact.grid import countries

        return countries()

    def replace(self, **changes: Any) -> Site:
        """A copy with ``changes`` applied; changed fields become user-given."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        provenance = {k: v for k, v in self.provenance.items() if k not in changes}
        if "region" in changes:  # values the old region filled in give way to the new one's
            for key in [k for k, v in provenance.items() if "region" in v]:
                if key not in changes:
                    data[key] = None
                    del provenance[key]
        data.update(changes)
        data["provenance"] = provenance
        return Site(**data)

    # ---- queries --------------------------------------------------------------------
    def _given_fields(self) -> list[str]:
        return [
            f.name
            for f in fields(self)
            if f.name not in ("name", "provenance", "ewif_source", "carbon_basis") and getattr(self, f.name) is not None
        ]

    @property
    def time_varying(self) -> bool:
        """Whether any factor depends on the time of day or year."""
        return any(getattr(self, f) is not None for f in (*_PROFILES, "grid_hourly"))

    @property
    def zone(self) -> tzinfo | None:
        """The site's local time zone (IANA or fixed offset), or None where it gives neither."""
        if self.timezone is not None:
            return _zone(self.timezone, f"site {self.label!r}")
        if self.utc_offset_h is not None:
            return fixed_offset(self.utc_offset_h)
        return None

    @property
    def label(self) -> str:
        return self.name or (f"region {self.region}" if self.region else "custom site")

    # ---- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for f in fields(self):
            if f.name in ("name", "provenance"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, Estimate):
                value = value.to_dict()
            elif isinstance(value, list):
                value = list(value)
            out[f.name] = value
        out["provenance"] = {k: dict(v) for k, v in self.provenance.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Site:
        if not isinstance(data, dict):
            raise SiteError(f"site: expected a dict, found {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SiteError(f"site: unknown field(s) {unknown}; valid fields: {sorted(names)}")
        return cls(**data)


def _preset_values(name: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(field -> value, field -> provenance) of a shipped preset; a SiteError naming it when unknown."""
    data = datafiles.load("site_presets")
    presets = data["presets"]
    if not isinstance(name, str) or name not in presets:
        raise SiteError(
            f"unknown site preset {name!r}: expected one of {sorted(presets)}, or a region such as 'aws:us-east-1' or "
            f"'US-NW-BPAT' (Site(region=...)){suggest(str(name), list(presets))}"
        )
    kwargs: dict[str, Any] = {}
    provenance: dict[str, dict[str, Any]] = {}
    for fname, spec in presets[name]["values"].items():
        src = data["sources"][spec["source"]]
        kwargs[fname] = _preset_value(spec, data["sources"])
        provenance[fname] = {
            "source": src["citation"],
            "source_id": spec["source"],
            "year": spec["year"],
            "licence": src["licence"],
            "preset": name,
            **({"note": spec["note"]} if spec.get("note") else {}),
            **({"spread": spec["spread"]["source"]} if spec.get("spread") else {}),
        }
    return kwargs, provenance


def _preset_value(spec: dict[str, Any], sources: dict[str, Any]) -> Any:
    """A preset's value: the number, or with a ``spread`` (a fleet average over the provider's regions) an
    interval dict: mode the fleet figure, bounds the span of the per-region figures (see 'spread_description')."""
    spread = spec.get("spread")
    if spread is None:
        return spec["value"]
    src = (datafiles.load(spread["source_file"])["sources"] if "source_file" in spread else sources)[spread["source"]]
    return {
        "central": spec["value"],
        "low": spread["low"],
        "high": spread["high"],
        "distribution": spread["distribution"],
        "coverage": spread["coverage"],
        "basis": f"{spread['basis']} ({spread.get('source_file', 'site_presets')}.json source {spread['source']!r}, "
        f"{src['year']})",
    }


# ---- validation helpers -----------------------------------------------------------------
_EXPECT = {
    "pue": "a number >= 1 and <= 10 (facility energy / IT energy, e.g. 1.1-1.6)",
    "wue": "a number >= 0 and <= 100 in L per kWh of IT energy (e.g. 0.1-2)",
    "ewif": "a number >= 0 and <= 1000 in L per kWh of electricity (e.g. 1-5)",
    "carbon_intensity_g_per_kwh": "a number >= 0 and <= 5000 in g CO2e per kWh (e.g. 20-800)",
    "ewif_withdrawal": "a number >= 0 and <= 10000 in L per kWh of electricity",
    "wue_withdrawal": "a number >= 0 and <= 1000 in L per kWh of IT energy",
    "utc_offset_h": "hours between -14 and +14",
}
#: The largest value a site may give (well above any published figure, so only a slip or an
#: overflow is refused: published PUEs are below 3, WUEs below 10 L/kWh, grid intensities below
#: 1,200 g/kWh, hydro-heavy EWIFs below a few hundred L/kWh, once-through withdrawals below 1,000).
_MAXIMUM = {
    "pue": 10.0, "wue": 100.0, "ewif": 1000.0, "carbon_intensity_g_per_kwh": 5000.0,
    "ewif_withdrawal": 10000.0, "wue_withdrawal": 1000.0, "utc_offset_h": 14.0,
}  # fmt: skip


def _check_number(name: str, value: Any, label: str, *, minimum: float) -> Estimate:
    try:
        fig = Estimate.coerce(value, name=f"{label}: {name}")
    except SiteError:
        raise
    except Exception as exc:  # RecordError from coerce, or a malformed dict
        raise SiteError(f"{label}: {name} {shown(value)}: expected {_EXPECT.get(name, 'a number')} ({exc})") from None
    for part in (fig.low, fig.central, fig.high):
        if not math.isfinite(part) or part < minimum or part > _MAXIMUM.get(name, math.inf):
            raise SiteError(f"{label}: {name} {shown(value)} is out of range: expected {_EXPECT.get(name, 'a number')}")
    return fig


def _check_profile(
    name: str, value: Any, length: int, label: str, *, temperature: bool, maximum: float = 100.0, unit: str = "L/kWh"
) -> list[float]:
    what = "degC wet-bulb temperatures" if temperature else "WUE values in L/kWh (>= 0)"
    period = "month (Jan..Dec)" if length == 12 else "local hour of day (0..23)"
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__"):
        raise SiteError(f"{label}: {name}: expected a list of {length} {what}, one per {period}; found {value!r}")
    if len(value) != length:
        raise SiteError(f"{label}: {name} has {len(value)} values: expected {length} {what}, one per {period}")
    out = []
    bounds = Bounds(low=-60, high=60, unit="degC wet-bulb") if temperature else Bounds(low=0, high=maximum, unit=unit)
    for i, v in enumerate(value):
        if v is None:
            raise SiteError(f"{label}: {name}[{i}] is None: the profile has a gap; expected {length} {what}")
        out.append(check_number(v, f"{label}: {name}[{i}] is", bounds, error=SiteError))
    return out


def parse_hour(key: Any, label: str) -> int:
    """POSIX hour number of an ISO timestamp that falls on the hour (naive = UTC)."""
    if not isinstance(key, str):
        raise SiteError(f"{label}: hour key {key!r}: expected an ISO timestamp string such as '2025-06-01T13:00Z'")
    try:
        stamp = parse_timestamp(key, "hour key")
    except FootprintError:
        raise SiteError(f"{label}: hour key {key!r}: expected an ISO timestamp such as '2025-06-01T13:00Z'") from None
    if stamp.minute or stamp.second or stamp.microsecond:
        raise SiteError(f"{label}: hour key {key!r} is not on the hour: expected the start of an hour")
    return int(stamp.timestamp()) // 3600


def hour_key(hour: int) -> str:
    return datetime.fromtimestamp(hour * 3600, tz=_tz.utc).strftime("%Y-%m-%dT%H:00Z")


def _zone(name: Any, label: str) -> tzinfo:
    """The IANA zone ``name`` (zoneinfo); a SiteError naming the value otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

    expected = "an IANA time zone name such as 'Europe/Paris' or 'America/New_York' (zoneinfo.available_timezones())"
    if not isinstance(name, str) or not name.strip():
        raise SiteError(f"{label}: timezone {name!r}: expected {expected}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = suggest(name, sorted(available_timezones()))
        raise SiteError(f"{label}: timezone {name!r} is not a time zone zoneinfo knows: expected {expected}{hint}") from None


def _check_grid(value: Any, label: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise SiteError(
            f"{label}: grid_hourly: expected a dict with keys from {sorted(GRID_KEYS)}, each 24 values by local hour "
            f"or {{ISO hour: value}}; found {value!r}"
        )
    out: dict[str, Any] = {}
    for key, series in value.items():
        if key not in GRID_KEYS:
            raise SiteError(
                f"{label}: grid_hourly key {key!r}: expected one of {sorted(GRID_KEYS)}{suggest(str(key), list(GRID_KEYS))}"
            )
        name = f"grid_hourly[{key!r}]"
        if isinstance(series, dict):
            if not series:
                raise SiteError(f"{label}: {name} is empty: expected {{ISO hour: value in {GRID_KEYS[key]}}}")
            clean: dict[str, float] = {}
            for stamp, v in series.items():
                hour = parse_hour(stamp, f"{label}: {name}")
                where = f"{label}: {name}[{stamp!r}] is"
                bounds = Bounds(low=0, high=_GRID_MAXIMUM[key], unit=GRID_KEYS[key])
                clean[hour_key(hour)] = check_number(v, where, bounds, error=SiteError)
            out[key] = dict(sorted(clean.items()))
        else:
            out[key] = _check_profile(
                name, series, 24, label, temperature=False, maximum=_GRID_MAXIMUM[key], unit=GRID_KEYS[key]
            )
    return out


def wet_bulb_relative(temps_c: list[float]) -> list[float]:
    """Relative on-site water use (mean 1) for wet-bulb temperatures, from Li et al.'s curve."""
    curve = datafiles.load("wue_wet_bulb_curve")
    k = curve["polynomial_coefficients"]["value"]
    cycles = float(curve["cycles_of_concentration"]["value"])
    floor = float(curve["floor_l_per_kwh"]["value"])
    raw = []
    for t_c in temps_c:
        t = t_c * 9.0 / 5.0 + 32.0
        poly = k["t3"] * t**3 + k["t2"] * t**2 + k["t1"] * t + k["t0"]
        raw.append(max(cycles / (cycles - 1.0) * poly, floor))
    mean = sum(raw) / len(raw)
    return [r / mean for r in raw]
