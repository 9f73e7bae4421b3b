"""A site's factors resolved for one footprint: PUE, WUE (or its profile), EWIF and carbon,
each an :class:`~ecometer.record.estimate.Estimate` with the assumption entry that states it.

Where the site names a country and leaves a grid factor out, the factor comes from
:func:`ecometer.impact.grid.factors` (published where present, or the fallback), with
what its range rests on and the coverage it claims in the assumption's note.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecometer.errors import FootprintError
from ecometer.files import datafiles
from ecometer.impact import grid, regions
from ecometer.impact.assumptions import Assumption
from ecometer.impact.site import GRID_KEYS, Site, hour_key, wet_bulb_relative
from ecometer.impact.timing import Slice
from ecometer.record.estimate import Estimate


def source_of(site: Site, fname: str) -> str:
    prov = site.provenance.get(fname, {"source": "user"})
    if prov.get("source") == "user":
        return "user"
    year = prov.get("year")
    preset = prov.get("preset")
    return (f"preset {preset}: " if preset else "") + f"{prov.get('source')}" + (f" (value for {year})" if year else "")


@dataclass(frozen=True)
class SliceFactor:
    """A factor in one time slice: ``base`` x ``multiplier``.

    ``key`` names the annual input ``base`` is (``"wue"``, ``"ewif"``, ``"carbon"``): every slice
    with that key shares its one draw, a profile scaling it; ``None`` for an exact per-period
    value (a given hourly or monthly series).
    """

    key: str | None
    base: Estimate
    multiplier: float = 1.0

    @property
    def central(self) -> float:
        return self.base.central * self.multiplier


class SiteFactors:
    """Site values resolved to Estimates, with the assumption entries that state them."""

    def __init__(self, site: Site, timed: bool) -> None:
        self.site = site
        self.assumptions: list[Assumption] = []
        self.warnings: list[str] = []
        label = f"site {site.label!r}"
        if site.pue is None:
            raise FootprintError(
                f"{label} gives no PUE: pass pue=<facility/IT energy, >= 1>, e.g. Site.preset({site.name or 'NAME'!r}, pue=1.2)"
                + _no_fleet_figure(site)
            )
        self.pue: Estimate = site.pue
        self.assumptions.append(
            Assumption.of(
                "pue",
                self.pue,
                "",
                source_of(site, "pue"),
                "applied to IT energy for facility energy, off-site water and carbon",
            )
        )
        self._wue(label)
        self.grid = None
        needs_grid = site.country is not None and (
            site.ewif is None or site.carbon_intensity_g_per_kwh is None or site.ewif_withdrawal is None
        )
        if needs_grid:
            self.grid = grid.factors(site.country, site.ewif_source)
        self._ewif(label, timed)
        self._carbon(label)
        self._level()
        for key, series in (site.grid_hourly or {}).items():
            by = "local hour of day" if isinstance(series, list) else "UTC hour"
            self.assumptions.append(
                Assumption(f"grid_hourly_{key}", series, GRID_KEYS[key], source_of(site, "grid_hourly"), note=f"by {by}")
            )

    def _wue(self, label: str) -> None:
        s = self.site
        self.wue_profile: list[SliceFactor] | None = None
        self.wue_profile_kind = ""
        profile_name = next(
            (
                n
                for n in ("wue_monthly", "wue_hourly", "wet_bulb_monthly_c", "wet_bulb_hourly_c")
                if getattr(s, n) is not None
            ),
            None,
        )
        if profile_name in ("wue_monthly", "wue_hourly"):
            self._given_profile(profile_name)
        elif profile_name:
            self._wet_bulb_profile(profile_name, label)
        self._annual_wue(label)

    def _given_profile(self, profile_name: str) -> None:
        values = getattr(self.site, profile_name)
        self.wue_profile = [SliceFactor(None, Estimate.exact(v)) for v in values]
        self.wue_profile_kind = "monthly" if profile_name == "wue_monthly" else "hourly"
        by = "month" if self.wue_profile_kind == "monthly" else "hour of day"
        self.assumptions.append(
            Assumption(profile_name, values, "L/kWh", source_of(self.site, profile_name), note=f"on-site WUE by local {by}")
        )

    def _wet_bulb_profile(self, profile_name: str, label: str) -> None:
        s = self.site
        temps = getattr(s, profile_name)
        rel = wet_bulb_relative(temps)
        if s.wue is None:  # Site() already refuses this; explicit for -O runs
            raise FootprintError(f"{label}: {profile_name} needs the annual wue to scale it")
        self.wue_profile = [SliceFactor("wue", s.wue, r) for r in rel]  # one annual draw, scaled
        self.wue_profile_kind = "monthly" if "monthly" in profile_name else "hourly"
        curve = datafiles.load("wue_wet_bulb_curve")
        who = curve["sources"]["li-code"]["citation"].split(":")[0]
        self.assumptions.append(
            Assumption(profile_name, temps, "degC", source_of(s, profile_name), note="wet-bulb temperature profile")
        )
        self.assumptions.append(
            Assumption(
                "wue_profile_from_wet_bulb",
                [round(v.central, 6) for v in self.wue_profile],
                "L/kWh",
                datafiles.source_label("wue_wet_bulb_curve", "li-code"),
                note=f"relative shape of {who}'s wet-bulb curve, scaled so its mean equals the annual WUE",
            )
        )

    def _annual_wue(self, label: str) -> None:
        s = self.site
        if s.wue is not None:
            self.wue: Estimate = s.wue
            note = "on-site consumption per kWh of IT energy (not facility energy)"
            self.assumptions.append(Assumption.of("wue", self.wue, "L/kWh", source_of(s, "wue"), note))
        elif self.wue_profile is not None:
            vals = [v.central for v in self.wue_profile]
            self.wue = Estimate.exact(sum(vals) / len(vals))
            note = "annual WUE = unweighted mean of the profile; used only where the run has no time"
            self.assumptions.append(Assumption.of("wue", self.wue, "L/kWh", "default", note))
        else:
            raise FootprintError(
                f"{label} gives no WUE: pass wue=<on-site L per kWh of IT energy> (or wue_monthly/wue_hourly)"
                + _no_fleet_figure(s)
            )

    def _ewif(self, label: str, timed: bool) -> None:
        s = self.site
        self.ewif: Estimate | None = None
        if s.ewif is not None:
            self.ewif = s.ewif
            self.assumptions.append(
                Assumption.of(
                    "ewif",
                    self.ewif,
                    "L/kWh",
                    source_of(s, "ewif"),
                    "off-site consumption per kWh of electricity, location-based" + _published_comparison(s),
                )
            )
        elif self.grid is not None:
            self.ewif = self.grid.ewif
            self.assumptions.extend(_grid_ewif_assumptions(self.grid))
        has_hourly = bool(s.grid_hourly and "ewif" in s.grid_hourly)
        if self.ewif is None and not (has_hourly and timed):
            raise FootprintError(
                f"{label} gives no off-site water factor: pass country=<ISO code, e.g. 'USA'> to derive EWIF from the grid, "
                "or ewif=<L per kWh of electricity>"
                + (" (its grid_hourly EWIF needs a run with a start time)" if has_hourly else "")
            )

    def _carbon(self, label: str) -> None:
        s = self.site
        self.carbon: Estimate | None = None
        if s.carbon_intensity_g_per_kwh is not None:
            self.carbon = s.carbon_intensity_g_per_kwh
            self.assumptions.append(
                Assumption.of(
                    "carbon_intensity",
                    self.carbon,
                    "g CO2e/kWh",
                    source_of(s, "carbon_intensity_g_per_kwh"),
                    "location-based",
                )
            )
        elif (choice := self._regional_carbon()) is not None:
            self.carbon = choice.estimate
            self.assumptions.append(
                Assumption.of("carbon_intensity", choice.estimate, "g CO2e/kWh", choice.source, choice.note)
            )
            if self.grid is not None:
                self.warnings.extend(self.grid.notes)
        elif self.grid is not None:
            g = self.grid
            self.carbon = g.carbon
            year = f"data year {g.carbon_year}" if g.carbon_year else "data year not stated in the data"
            self.assumptions.append(
                _ranged(
                    "carbon_intensity",
                    g.carbon,
                    "g CO2e/kWh",
                    f"{_carbon_source(g)}: {g.country} ({g.country_name}), {year}",
                    "annual, location-based, lifecycle",
                    g.carbon_info,
                )
            )
            self.warnings.extend(g.notes)
        elif not (s.grid_hourly and "carbon_g_per_kwh" in s.grid_hourly):
            msg = f"{label} gives no carbon intensity: carbon not computed; pass country=<ISO code> or carbon_intensity_g_per_kwh=<g/kWh>"
            self.warnings.append(msg)
            self.assumptions.append(Assumption("carbon_intensity", None, "g CO2e/kWh", "default", note=msg))

    def _regional_carbon(self) -> regions.CarbonChoice | None:
        """The zone's intensity (a region given), or the country's widened to its zones; None: the country tables."""
        s = self.site
        if s.place is not None:
            return regions.zone_carbon(s.place, s.carbon_basis)
        if s.country is not None:
            g = self.grid
            if g is None:
                return regions.country_carbon(s.country, s.carbon_basis, None)
            year = f"data year {g.carbon_year}" if g.carbon_year else "data year not stated in the data"
            source = f"{_carbon_source(g)}: {g.country} ({g.country_name}), {year}"
            return regions.country_carbon(s.country, s.carbon_basis, g.carbon, source)
        return None

    def _level(self) -> None:
        """Say at which level the site's grid was placed, and why."""
        s = self.site
        if s.place is not None:
            level, why = s.place.level, s.place.why
            if s.country is not None and s.ewif is None:
                why += f"; off-site water stays at the level of the country ({s.country}): no sub-national water factors"
        elif s.country is not None:
            level, why = "country", f"country {s.country} given; no region (Site(region=...)) places it on a grid zone"
        else:
            level, why = "given", "no country or region: the grid values are the ones given"
        source = source_of(s, "region" if s.place is not None else "country")
        if s.place is not None and s.place.location_source:
            source += f"; location: {s.place.location_source}"
        self.assumptions.append(Assumption("site_level", level, "", source, note=why))

    # factors at a time slice ---------------------------------------------------------
    def wue_at(self, sl: Slice | None) -> SliceFactor:
        """On-site WUE in slice ``sl`` (``None``: the run has no time, the annual value)."""
        if self.wue_profile is None or sl is None:
            return SliceFactor("wue", self.wue)
        return (
            self.wue_profile[sl.local_month - 1]
            if self.wue_profile_kind == "monthly"
            else self.wue_profile[sl.local_hour]
        )

    def _grid_at(self, key: str, name: str, sl: Slice | None, annual: Estimate | None) -> SliceFactor | None:
        hourly = (self.site.grid_hourly or {}).get(key)
        if hourly is None or sl is None:
            return None if annual is None else SliceFactor(name, annual)
        if isinstance(hourly, list):
            return SliceFactor(None, Estimate.exact(hourly[sl.local_hour]))
        stamp = hour_key(sl.utc_hour)
        if stamp not in hourly:
            raise FootprintError(
                f"site {self.site.label!r}: grid_hourly[{key!r}] has no value for {stamp}, an hour the run spans: "
                f"the profile has a gap (it covers {min(hourly)} .. {max(hourly)})"
            )
        return SliceFactor(None, Estimate.exact(hourly[stamp]))

    def ewif_at(self, sl: Slice | None) -> SliceFactor | None:
        return self._grid_at("ewif", "ewif", sl, self.ewif)

    def carbon_at(self, sl: Slice | None) -> SliceFactor | None:
        return self._grid_at("carbon_g_per_kwh", "carbon", sl, self.carbon)


def _no_fleet_figure(site: Site) -> str:
    """Why a region site has no data-centre figures (said after a missing PUE/WUE)."""
    place = site.place
    if place is None:
        return ""
    if place.level == "zone":
        return f" (or --pue/--wue); a grid zone ({place.zone}) says nothing about the data centre"
    return f" (or --pue/--wue); ecometer ships no fleet figure of {place.provider} for its regions"


def _ranged(name: str, est: Estimate, unit: str, source: str, note: str, info: grid.RangeInfo) -> Assumption:
    """An assumption for a grid figure, with the coverage its range claims and what it rests on."""
    return Assumption.of(name, est, unit, source, note=f"{note}. Range: {info.coverage_text}; {info.basis}")


def _carbon_source(g: grid.GridFactors) -> str:
    if g.carbon_info.method == "published":
        return datafiles.source_label("national_grid_factors", "owid-ember-2024")
    if g.carbon_info.method == "electricitymaps":
        return datafiles.source_label(regions.EM_FILE, "electricitymaps-2024")
    return datafiles.source_label("grid_mix", "codecarbon-mix")


def _grid_ewif_assumptions(g: grid.GridFactors) -> list[Assumption]:
    """The EWIF of a country's grid and what stands behind it (mix, hydropower, the other source)."""
    mix_label = datafiles.source_label("grid_mix", "codecarbon-mix")
    if g.ewif_info.method == "published":
        source = f"published: {datafiles.source_label('national_grid_factors', 'wri2020')}, {g.country} ({g.country_name})"
        note = "off-site consumption per kWh of electricity, location-based, hydropower evaporation included"
    else:
        source = (
            f"derived: {mix_label} generation mix of {g.country} ({g.country_name}, data year {g.data_year}) x "
            f"{datafiles.source_label('water_factors', 'macknick2012')} medians"
        )
        note = "off-site consumption per kWh of electricity, location-based; ecometer's fallback" + (
            f" (this country's published factor is {g.published_ewif:.4g} L/kWh: ewif_source='published')"
            if g.published_ewif is not None
            else " (no published factor for this country)"
        )
    out = [_ranged("ewif", g.ewif, "L/kWh", source, note, g.ewif_info)]
    out.append(
        Assumption(
            "ewif_mix_only",
            g.ewif_mix,
            "L/kWh",
            f"derived: {mix_label} generation mix x per-source factors (water_factors.json 'fallback')",
            note="the generation mix alone, before pooling; shows how far the mix explains the factor",
        )
    )
    out.append(
        Assumption(
            "ewif_excluding_hydropower",
            g.ewif_excluding_hydro,
            "L/kWh",
            "derived (the mix x per-source factors, hydropower reservoir evaporation excluded)",
            note="shows the hydropower choice: the mix-only value minus this is hydropower's part",
        )
    )
    out.append(
        Assumption(
            "hydropower_share", g.hydro_share, "fraction of generation", mix_label, note=f"data year {g.data_year}"
        )
    )
    out.append(
        Assumption(
            "generation_mix",
            dict(g.shares),
            "fraction of generation",
            mix_label,
            note=f"{g.country}, data year {g.data_year}",
        )
    )
    return out


def _published_comparison(site: Site) -> str:
    """For a given EWIF at a site whose country has a published factor: how the two compare."""
    if site.country is None or site.ewif is None:
        return ""
    pub = grid.published_factors().get(site.country)
    if pub is None:
        return ""
    value = float(pub["ewif_consumption_l_per_kwh"])
    diff = (site.ewif.central - value) / value
    return (
        f". {site.country}'s published WRI-method factor is {value:.4g} L/kWh (Site(country={site.country!r}) uses it); "
        f"this value is {diff:+.1%} from it"
        + ("" if abs(diff) > 0.01 else ", the same figure within rounding (both rest on the WRI method)")
    )
