"""Footprint of a run: facility energy, water (on-site, off-site; consumed, withdrawn) and carbon.

Model (Li et al., "Making AI Less Thirsty"): over the run's time slices t,

- facility energy = E_IT x PUE
- on-site water  = sum_t E_IT,t x WUE_t            (WUE per kWh of IT energy)
- off-site water = sum_t E_IT,t x PUE x EWIF_t     (location-based, per kWh of electricity)
- carbon         = sum_t E_IT,t x PUE x CI_t
- withdrawal     = on-site consumption x (withdrawn / consumed) or E_IT x WUE_withdrawal,
                   plus E_IT x PUE x EWIF_withdrawal (given, or derived from the country's mix)

Units: joules, litres, grams CO2e. Every figure is a :class:`~ecometer.footprint.figures.Figure`
(a float with ``.low``/``.high``); bounds combine by interval arithmetic (each input at its
own bound together), a conservative envelope. ``Footprint.assumptions`` lists every input.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from ecometer import datafiles
from ecometer.errors import FootprintError
from ecometer.footprint.figures import Assumption, Figure, Interval
from ecometer.footprint.site import GRID_KEYS, Site, hour_key, wet_bulb_relative
from ecometer.footprint.timing import Allocation, Slice, allocate
from ecometer.units import J_PER_KWH

log = logging.getLogger("ecometer.footprint")

SCHEMA_VERSION = 1


@dataclass
class Water:
    """Water in litres. ``onsite_l + offsite_l = total_l`` are consumption (evaporated, lost to
    the basin). Withdrawal (taken in, mostly returned) is reported apart, never added to
    consumption: ``onsite_withdrawal_l + offsite_withdrawal_l = withdrawal_l``; the off-site part
    and the total are ``None`` where no off-site withdrawal factor exists (EWIF given directly,
    no country and no ``ewif_withdrawal``)."""

    onsite_l: Figure
    offsite_l: Figure
    total_l: Figure
    withdrawal_l: Figure | None = None
    onsite_withdrawal_l: Figure | None = None
    offsite_withdrawal_l: Figure | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if v is None else v.to_dict()) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Water:
        return cls(**{k: (None if data.get(k) is None else Figure.from_dict(data[k])) for k in _WATER_FIELDS})


_WATER_FIELDS = ("onsite_l", "offsite_l", "total_l", "withdrawal_l", "onsite_withdrawal_l", "offsite_withdrawal_l")


@dataclass
class Footprint:
    """What a run's IT energy meant at a site. See the module docstring for the model."""

    it_energy_j: Figure
    facility_energy_j: Figure
    water: Water
    carbon_g: Figure | None
    site: dict[str, Any]
    assumptions: list[Assumption] = field(default_factory=list)
    periods: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    method: str = "modelled"
    schema_version: int = SCHEMA_VERSION

    def assumption(self, name: str) -> Assumption:
        """The assumption entry called ``name`` (KeyError if absent)."""
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(f"footprint has no assumption {name!r}; it has {[a.name for a in self.assumptions]}")

    def per(self, count: float, unit: str = "unit") -> Footprint:
        """This footprint divided by ``count`` units of work (e.g. requests), bounds included."""
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not count > 0 or not math.isfinite(count):
            raise FootprintError(f"per(): count {count!r}: expected a positive number of {unit}s")
        k = 1.0 / count

        def s(f: Figure | None) -> Figure | None:
            return None if f is None else f.scaled(k)

        water = Water(*(s(getattr(self.water, n)) for n in _WATER_FIELDS))
        return Footprint(
            it_energy_j=self.it_energy_j.scaled(k),
            facility_energy_j=self.facility_energy_j.scaled(k),
            water=water,
            carbon_g=s(self.carbon_g),
            site=self.site,
            assumptions=[
                *self.assumptions,
                Assumption("functional_unit", count, unit, "user", note=f"figures are per {unit}"),
            ],
            periods=self.periods,
            warnings=list(self.warnings),
            method=self.method,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "method": self.method,
            "site": self.site,
            "it_energy_j": self.it_energy_j.to_dict(),
            "facility_energy_j": self.facility_energy_j.to_dict(),
            "water": self.water.to_dict(),
            "carbon_g": None if self.carbon_g is None else self.carbon_g.to_dict(),
            "assumptions": [a.to_dict() for a in self.assumptions],
            "periods": [dict(p) for p in self.periods],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Footprint:
        if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
            raise FootprintError(
                f"footprint: expected a dict with schema_version {SCHEMA_VERSION}, found "
                f"{data.get('schema_version') if isinstance(data, dict) else type(data).__name__!r}"
            )
        try:
            return cls(
                it_energy_j=Figure.from_dict(data["it_energy_j"]),
                facility_energy_j=Figure.from_dict(data["facility_energy_j"]),
                water=Water.from_dict(data["water"]),
                carbon_g=None if data.get("carbon_g") is None else Figure.from_dict(data["carbon_g"]),
                site=dict(data.get("site") or {}),
                assumptions=[Assumption.from_dict(a) for a in data.get("assumptions", [])],
                periods=[dict(p) for p in data.get("periods", [])],
                warnings=list(data.get("warnings", [])),
                method=data.get("method", "modelled"),
                schema_version=data["schema_version"],
            )
        except (KeyError, TypeError) as exc:
            raise FootprintError(f"footprint: malformed dict ({type(exc).__name__}: {exc})") from None


# ---- computation ------------------------------------------------------------------------
def _source(site: Site, fname: str) -> str:
    prov = site.provenance.get(fname, {"source": "user"})
    if prov.get("source") == "user":
        return "user"
    year = prov.get("year")
    preset = prov.get("preset")
    return (f"preset {preset}: " if preset else "") + f"{prov.get('source')}" + (f" (value for {year})" if year else "")


def _num(name: str, fig: Figure, unit: str, source: str, note: str = "") -> Assumption:
    return Assumption(name, fig.central, unit, source, low=fig.low, high=fig.high, note=note)


def _energy(record: Any, energy_kwh: Any, energy_j: Any) -> tuple[Figure, Assumption, list[str]]:
    given = [n for n, v in (("record", record), ("energy_kwh", energy_kwh), ("energy_j", energy_j)) if v is not None]
    if len(given) != 1:
        raise FootprintError(
            f"footprint(): give exactly one of a record, energy_kwh= or energy_j=; got {given or 'none'}"
        )
    warnings: list[str] = []
    if record is not None:
        if not all(hasattr(record, a) for a in ("energy_j", "energy_uncertainty", "components")):
            raise FootprintError(f"footprint(): expected an ecometer RunRecord, found {type(record).__name__}")
        central = float(record.energy_j)
        unc = record.energy_uncertainty
        fig = Figure(central, min(float(unc.low), central), max(float(unc.high), central))
        methods = ", ".join(f"{k}={v}" for k, v in sorted(record.methods.items())) or "no components"
        if not record.components:
            warnings.append(f"record {record.name!r} has no energy components: IT energy is 0 J")
        source = f"record {record.name!r} ({methods})"
        name = "record"
    else:
        name = "energy_kwh" if energy_kwh is not None else "energy_j"
        raw = energy_kwh if energy_kwh is not None else energy_j
        fig = Figure.coerce(raw, name=name)
        if name == "energy_kwh":
            fig = fig.scaled(J_PER_KWH)
        source = "user"
    for part in (fig.low, fig.central, fig.high):
        if not math.isfinite(part) or part < 0:
            shown = (
                f"{fig.central!r} J" if record is not None else repr(energy_kwh if energy_kwh is not None else energy_j)
            )
            raise FootprintError(f"footprint(): {name} energy {shown}: expected a finite number >= 0")
    return fig, _num("it_energy_j", fig, "J", source, note="IT energy (before PUE)"), warnings


class _Factors:
    """Site values resolved to Figures, with the assumption entries that state them."""

    def __init__(self, site: Site, timed: bool) -> None:
        self.site = site
        self.assumptions: list[Assumption] = []
        self.warnings: list[str] = []
        label = f"site {site.label!r}"
        if site.pue is None:
            raise FootprintError(
                f"{label} gives no PUE: pass pue=<facility/IT energy, >= 1>, e.g. Site.preset({site.name or 'NAME'!r}, pue=1.2)"
            )
        self.pue: Figure = site.pue
        self.assumptions.append(
            _num(
                "pue",
                self.pue,
                "",
                _source(site, "pue"),
                "applied to IT energy for facility energy, off-site water and carbon",
            )
        )
        self._wue(label)
        self.grid = None
        needs_grid = site.country is not None and (
            site.ewif is None or site.carbon_intensity_g_per_kwh is None or site.ewif_withdrawal is None
        )
        if needs_grid:
            from ecometer.footprint.grid import factors

            self.grid = factors(site.country)
        self._ewif(label, timed)
        self._carbon(label)
        for key, series in (site.grid_hourly or {}).items():
            by = "local hour of day" if isinstance(series, list) else "UTC hour"
            self.assumptions.append(
                Assumption(f"grid_hourly_{key}", series, GRID_KEYS[key], _source(site, "grid_hourly"), note=f"by {by}")
            )

    def _wue(self, label: str) -> None:
        s = self.site
        self.wue_profile: list[Figure] | None = None
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
            values = getattr(s, profile_name)
            self.wue_profile = [Figure(v) for v in values]
            self.wue_profile_kind = "monthly" if profile_name == "wue_monthly" else "hourly"
            self.assumptions.append(
                Assumption(
                    profile_name,
                    values,
                    "L/kWh",
                    _source(s, profile_name),
                    note=f"on-site WUE by local {'month' if self.wue_profile_kind == 'monthly' else 'hour of day'}",
                )
            )
        elif profile_name:
            temps = getattr(s, profile_name)
            rel = wet_bulb_relative(temps)
            if s.wue is None:  # Site() already refuses this; explicit for -O runs
                raise FootprintError(f"{label}: {profile_name} needs the annual wue to scale it")
            self.wue_profile = [s.wue.scaled(r) for r in rel]
            self.wue_profile_kind = "monthly" if "monthly" in profile_name else "hourly"
            curve = datafiles.load("wue_wet_bulb_curve")
            self.assumptions.append(
                Assumption(profile_name, temps, "degC", _source(s, profile_name), note="wet-bulb temperature profile")
            )
            self.assumptions.append(
                Assumption(
                    "wue_profile_from_wet_bulb",
                    [round(v.central, 6) for v in self.wue_profile],
                    "L/kWh",
                    datafiles.source_label("wue_wet_bulb_curve", "li-code"),
                    note=f"relative shape of {curve['sources']['li-code']['citation'].split(':')[0]}'s wet-bulb curve, scaled so its mean equals the annual WUE",
                )
            )
        if s.wue is not None:
            self.wue: Figure = s.wue
            self.assumptions.append(
                _num(
                    "wue",
                    self.wue,
                    "L/kWh",
                    _source(s, "wue"),
                    "on-site consumption per kWh of IT energy (not facility energy)",
                )
            )
        elif self.wue_profile is not None:
            vals = [v.central for v in self.wue_profile]
            self.wue = Figure(sum(vals) / len(vals))
            self.assumptions.append(
                _num(
                    "wue",
                    self.wue,
                    "L/kWh",
                    "default",
                    "annual WUE = unweighted mean of the profile; used only where the run has no time",
                )
            )
        else:
            raise FootprintError(
                f"{label} gives no WUE: pass wue=<on-site L per kWh of IT energy> (or wue_monthly/wue_hourly)"
            )

    def _ewif(self, label: str, timed: bool) -> None:
        s = self.site
        self.ewif: Figure | None = None
        if s.ewif is not None:
            self.ewif = s.ewif
            self.assumptions.append(
                _num(
                    "ewif",
                    self.ewif,
                    "L/kWh",
                    _source(s, "ewif"),
                    "off-site consumption per kWh of electricity, location-based",
                )
            )
        elif self.grid is not None:
            g = self.grid
            wf = datafiles.load("water_factors")
            allowance = g.ewif.high / g.ewif.central if g.ewif.central > 0 else 1.0
            self.ewif = g.ewif
            self.assumptions.append(
                _num(
                    "ewif",
                    g.ewif,
                    "L/kWh",
                    f"derived: {datafiles.source_label('water_factors', 'codecarbon-mix')} generation mix of {g.country} "
                    f"({g.country_name}, data year {g.data_year}) x {datafiles.source_label('water_factors', 'macknick2012')} medians",
                    note=(
                        f"central: {wf['assumptions']['cooling_central']} {wf['assumptions']['hydro_central']} "
                        f"low: once-through cooling, hydropower excluded. high: central x {allowance:.3f} "
                        "(largest published/derived ratio; see ecometer/data/water_factors.json)."
                    ),
                )
            )
            self.assumptions.append(
                Assumption(
                    "ewif_excluding_hydropower",
                    g.ewif_excluding_hydro,
                    "L/kWh",
                    "derived (as ewif, hydropower reservoir evaporation excluded)",
                    note="shows the hydropower choice: central minus this is hydropower's share",
                )
            )
            self.assumptions.append(
                Assumption(
                    "hydropower_share",
                    g.hydro_share,
                    "fraction of generation",
                    datafiles.source_label("water_factors", "codecarbon-mix"),
                )
            )
            self.assumptions.append(
                Assumption(
                    "generation_mix",
                    {k.replace("_TWh", ""): v for k, v in g.shares.items()},
                    "fraction of generation",
                    datafiles.source_label("water_factors", "codecarbon-mix"),
                    note=f"{g.country}, data year {g.data_year}",
                )
            )
        has_hourly = bool(s.grid_hourly and "ewif" in s.grid_hourly)
        if self.ewif is None and not (has_hourly and timed):
            raise FootprintError(
                f"{label} gives no off-site water factor: pass country=<ISO code, e.g. 'USA'> to derive EWIF from the grid, "
                "or ewif=<L per kWh of electricity>"
                + (" (its grid_hourly EWIF needs a run with a start time)" if has_hourly else "")
            )

    def _carbon(self, label: str) -> None:
        s = self.site
        self.carbon: Figure | None = None
        if s.carbon_intensity_g_per_kwh is not None:
            self.carbon = s.carbon_intensity_g_per_kwh
            self.assumptions.append(
                _num(
                    "carbon_intensity",
                    self.carbon,
                    "g CO2e/kWh",
                    _source(s, "carbon_intensity_g_per_kwh"),
                    "location-based",
                )
            )
        elif self.grid is not None:
            g = self.grid
            cf = datafiles.load("carbon_factors")
            self.carbon = g.carbon
            self.assumptions.append(
                _num(
                    "carbon_intensity",
                    g.carbon,
                    "g CO2e/kWh",
                    f"{datafiles.source_label('carbon_factors', 'codecarbon-mix')}: {g.country}, data year {g.data_year}",
                    note=f"annual, location-based, lifecycle. Bounds: {cf['method']['bounds']}",
                )
            )
            for n in g.notes:
                self.warnings.append(n)
        elif not (s.grid_hourly and "carbon_g_per_kwh" in s.grid_hourly):
            msg = f"{label} gives no carbon intensity: carbon not computed; pass country=<ISO code> or carbon_intensity_g_per_kwh=<g/kWh>"
            self.warnings.append(msg)
            self.assumptions.append(Assumption("carbon_intensity", None, "g CO2e/kWh", "default", note=msg))

    # factors at a time slice ---------------------------------------------------------
    def wue_at(self, sl: Slice) -> Figure:
        if self.wue_profile is None:
            return self.wue
        return (
            self.wue_profile[sl.local_month - 1]
            if self.wue_profile_kind == "monthly"
            else self.wue_profile[sl.local_hour]
        )

    def _grid_at(self, key: str, sl: Slice, annual: Figure | None) -> Figure | None:
        hourly = (self.site.grid_hourly or {}).get(key)
        if hourly is None:
            return annual
        if isinstance(hourly, list):
            return Figure(hourly[sl.local_hour])
        stamp = hour_key(sl.utc_hour)
        if stamp not in hourly:
            raise FootprintError(
                f"site {self.site.label!r}: grid_hourly[{key!r}] has no value for {stamp}, an hour the run spans: "
                f"the profile has a gap (it covers {min(hourly)} .. {max(hourly)})"
            )
        return Figure(hourly[stamp])

    def ewif_at(self, sl: Slice) -> Figure | None:
        return self._grid_at("ewif", sl, self.ewif)

    def carbon_at(self, sl: Slice) -> Figure | None:
        return self._grid_at("carbon_g_per_kwh", sl, self.carbon)


def footprint(record: Any = None, *, site: Site | str, energy_kwh: Any = None, energy_j: Any = None) -> Footprint:
    """The footprint of a run's IT energy at ``site``.

    Give a :class:`~ecometer.record.RunRecord` (its ``energy_j`` and ``energy_uncertainty``;
    its ``started_at`` and ``timeline`` place the energy in time for time-varying sites) or
    ``energy_kwh=`` / ``energy_j=`` (a number, or ``{central, low, high}``). ``site`` is a
    :class:`Site` or a preset name. The record is not modified; attach the result with
    ``record.attach("footprint", fp)``.
    """
    if isinstance(site, str):
        site = Site.preset(site)
    if not isinstance(site, Site):
        raise FootprintError(
            f"footprint(): site must be an ecometer Site or a preset name, found {type(site).__name__}"
        )
    energy, energy_assumption, warnings = _energy(record, energy_kwh, energy_j)

    offset = site.utc_offset_h if site.utc_offset_h is not None else 0.0
    alloc: Allocation | None = allocate(record, offset) if (record is not None and site.time_varying) else None
    fx = _Factors(site, timed=alloc is not None)
    assumptions = [energy_assumption, *fx.assumptions]
    warnings.extend(fx.warnings)

    e_kwh = Interval.of(energy) * (1.0 / J_PER_KWH)
    pue = Interval.of(fx.pue)
    periods: list[dict[str, Any]] = []
    carbon_ok = True
    if alloc is not None:
        onsite = offsite = carbon = Interval(0.0, 0.0, 0.0)
        for sl in alloc.slices:
            e = e_kwh * sl.fraction
            w, x, c = fx.wue_at(sl), fx.ewif_at(sl), fx.carbon_at(sl)
            if x is None:  # _Factors requires an annual or hourly EWIF; kept explicit for -O runs
                raise FootprintError(f"site {site.label!r}: no EWIF for {hour_key(sl.utc_hour)}")
            onsite = onsite + e * w
            offsite = offsite + e * pue * x
            if c is None:
                carbon_ok = False
            else:
                carbon = carbon + e * pue * c
            periods.append(
                {
                    "utc_hour": hour_key(sl.utc_hour),
                    "local_hour": sl.local_hour,
                    "local_month": sl.local_month,
                    "seconds": round(sl.seconds, 3),
                    "energy_fraction": sl.fraction,
                    "wue_l_per_kwh": w.central,
                    "ewif_l_per_kwh": x.central,
                    "carbon_g_per_kwh": None if c is None else c.central,
                }
            )
        how = (
            "the run's own timeline"
            if alloc.method == "timeline"
            else "spread evenly over the run's duration (no timeline)"
        )
        tz_source = "user" if site.utc_offset_h is not None else "default"
        assumptions.append(
            Assumption(
                "time_allocation",
                alloc.method,
                "",
                "record",
                note=f"IT energy placed in {len(periods)} hour slice(s) by {how}; each slice uses its own hour's/month's factors",
            )
        )
        assumptions.append(
            Assumption(
                "utc_offset_h",
                offset,
                "h",
                tz_source,
                note="site local time = UTC + offset; hourly and monthly profiles are read in local time"
                + ("" if site.utc_offset_h is not None else " (site gives no offset: UTC assumed)"),
            )
        )
    else:
        if fx.ewif is None:  # only an hourly EWIF was given, and the run has no time
            raise FootprintError(
                f"site {site.label!r} gives EWIF only per hour (grid_hourly) and the energy has no time: "
                "pass ewif= or country= too, or a record with started_at"
            )
        if site.time_varying:
            why = (
                "energy was given directly"
                if record is None
                else f"record {record.name!r} has no start time or duration"
            )
            msg = f"site {site.label!r} has hourly/monthly factors but {why}: annual values were used instead"
            warnings.append(msg)
            assumptions.append(Assumption("time_allocation", "none", "", "default", note=msg))
        onsite = e_kwh * fx.wue
        offsite = e_kwh * pue * fx.ewif
        if fx.carbon is None:
            carbon_ok = False
            carbon = Interval(0.0, 0.0, 0.0)
        else:
            carbon = e_kwh * pue * fx.carbon

    water = Water(onsite_l=onsite.figure(), offsite_l=offsite.figure(), total_l=(onsite + offsite).figure())
    assumptions.extend(_withdrawal(site, fx.grid, water, e_kwh, pue, (onsite, offsite), timed=alloc is not None))
    assumptions.append(
        Assumption(
            "bounds",
            "interval arithmetic",
            "",
            "default",
            note="low/high take every input at its own low/high together (IT energy, PUE, WUE, EWIF, carbon intensity): a conservative envelope, not a confidence interval",
        )
    )
    assumptions.append(
        Assumption(
            "scope",
            "operational",
            "",
            "default",
            note="scope 1 (on-site cooling) and scope 2 (electricity generation) water, location-based; embodied (scope 3) water and carbon are not included",
        )
    )
    for w in warnings:  # one logging warning per thing that was missing
        log.warning(w)
    return Footprint(
        it_energy_j=energy,
        facility_energy_j=(Interval.of(energy) * pue).figure(),
        water=water,
        carbon_g=carbon.figure() if carbon_ok else None,
        site=site.to_dict(),
        assumptions=assumptions,
        periods=periods,
        warnings=warnings,
    )


def _withdrawal(
    site: Site,
    grid: Any,
    water: Water,
    e_kwh: Interval,
    pue: Interval,
    consumed: tuple[Interval, Interval],
    timed: bool,
) -> list[Assumption]:
    """Fill the withdrawal figures of ``water`` where a factor exists; the assumptions that say how."""
    wf = datafiles.load("water_factors")
    onsite, offsite = consumed
    out: list[Assumption] = []
    # on-site: a given withdrawal factor, or on-site consumption / the fraction of drawn water evaporated
    if site.wue_withdrawal is not None:
        on_w = e_kwh * site.wue_withdrawal
        out.append(
            _num(
                "wue_withdrawal",
                site.wue_withdrawal,
                "L/kWh",
                _source(site, "wue_withdrawal"),
                "on-site withdrawal per kWh of IT energy",
            )
        )
    else:
        frac = wf["onsite_withdrawal"]["consumed_fraction"]
        ratio = Figure(1.0 / frac["central"], 1.0 / frac["low_bound_fraction"], 1.0 / frac["high_bound_fraction"])
        on_w = onsite * ratio
        out.append(
            _num(
                "onsite_withdrawal_per_consumption",
                ratio,
                "L withdrawn per L consumed",
                datafiles.source_label("water_factors", frac["source"]),
                note="default, no wue_withdrawal given: " + wf["assumptions"]["onsite_withdrawal"],
            )
        )
    water.onsite_withdrawal_l = on_w.figure()
    # off-site: a given withdrawal EWIF, or one derived from the country's generation mix
    hourly_note = (
        " The site's hourly EWIF applies to consumption only: withdrawal uses this annual factor."
        if timed and site.grid_hourly and "ewif" in site.grid_hourly
        else ""
    )
    missing = ""
    if site.ewif_withdrawal is not None:
        factor: Figure | None = site.ewif_withdrawal
        out.append(
            _num(
                "ewif_withdrawal",
                site.ewif_withdrawal,
                "L/kWh",
                _source(site, "ewif_withdrawal"),
                "off-site withdrawal per kWh of electricity" + hourly_note,
            )
        )
    elif grid is not None:
        factor = grid.ewif_withdrawal
        ref = wf["withdrawal_comparison"][0]
        check = (
            f"{ref['country']} check: {ref['published_l_per_kwh']:.3g} L/kWh from {ref['source']} "
            f"({ref['published_year']} fleet), {ref['ratio_published_to_central']:.3g}x the derived central"
        )
        mixed = (
            f" The consumption EWIF was given ({_source(site, 'ewif')}); withdrawal is derived from {grid.country}'s "
            "mix instead, so the two rest on different data."
            if site.ewif is not None
            else ""
        )
        out.append(
            _num(
                "ewif_withdrawal",
                factor,
                "L/kWh",
                f"derived: {datafiles.source_label('water_factors', 'codecarbon-mix')} generation mix of {grid.country} "
                f"({grid.country_name}, data year {grid.data_year}) x "
                f"{datafiles.source_label('water_factors', 'macknick2012-withdrawal')} withdrawal medians",
                note=(
                    "off-site withdrawal per kWh of electricity. central: cooling towers, hydropower charged its "
                    "reservoir evaporation; low: towers, hydropower excluded; high: once-through cooling. Fleets "
                    f"with once-through plants withdraw more than the central ({check}; see "
                    "ecometer/data/water_factors.json)." + mixed + hourly_note
                ),
            )
        )
    else:
        factor = None
        why = (
            "the off-site EWIF was given directly (ewif=) and the site has no country, so there is no generation "
            "mix to derive withdrawal from, and no ewif_withdrawal was given"
            if site.ewif is not None
            else "the site has no country and no ewif_withdrawal"
        )
        missing = f"{why}; pass ewif_withdrawal=<L per kWh of electricity> or country=<ISO code>"
        out.append(
            Assumption("ewif_withdrawal", None, "L/kWh", "default", note=f"off-site withdrawal not computed: {missing}")
        )
    if factor is not None:
        off_w = e_kwh * pue * factor
        if site.ewif_withdrawal is None:
            # derived withdrawal is never below the off-site consumption actually used (which may come
            # from a given or hourly EWIF rather than from the same mix)
            raised = [b for b in ("low", "central", "high") if getattr(offsite, b) > getattr(off_w, b)]
            if raised:
                off_w = Interval(*(max(getattr(off_w, b), getattr(offsite, b)) for b in ("low", "central", "high")))
                out[-1].note += (
                    f" Off-site withdrawal raised to the off-site consumption at its {'/'.join(raised)} bound(s): "
                    "withdrawal is never below consumption, and this consumption figure does not come from the same mix."
                )
        water.offsite_withdrawal_l = off_w.figure()
        water.withdrawal_l = (on_w + off_w).figure()
        out.append(
            Assumption(
                "withdrawal",
                "on-site + off-site",
                "",
                "default",
                note="withdrawal: water taken in, most of it returned (warmer, or as blowdown); it is not added to "
                "consumption. on-site = "
                + ("IT energy x wue_withdrawal" if site.wue_withdrawal is not None else "on-site consumption x ratio")
                + "; off-site = IT energy x PUE x ewif_withdrawal",
            )
        )
    else:
        out.append(
            Assumption(
                "withdrawal",
                None,
                "L",
                "default",
                note=f"total withdrawal not computed (on-site withdrawal is): {missing}",
            )
        )
    return out
