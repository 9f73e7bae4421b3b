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

from ecometer.errors import FootprintError
from ecometer.footprint.factors import SiteFactors, number_assumption
from ecometer.footprint.figures import Assumption, Figure, Interval
from ecometer.footprint.site import Site, hour_key
from ecometer.footprint.timing import Allocation, allocate, fixed_offset
from ecometer.footprint.withdrawal import add_withdrawal
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
    return fig, number_assumption("it_energy_j", fig, "J", source, note="IT energy (before PUE)"), warnings


def footprint(record: Any = None, *, site: Site | str, energy_kwh: Any = None, energy_j: Any = None) -> Footprint:
    """The footprint of a run's IT energy at ``site``.

    Give a :class:`~ecometer.record.RunRecord` (its ``energy_j`` and ``energy_uncertainty``;
    its ``started_at`` and ``timeline`` place the energy in time for time-varying sites) or
    ``energy_kwh=`` / ``energy_j=`` (a number, or ``{central, low, high}``). ``site`` is a
    :class:`Site` or a preset name. The record is not modified; attach the result with
    ``record.attach("footprint", fp)``.
    """
    site = _as_site(site)
    energy, energy_assumption, warnings = _energy(record, energy_kwh, energy_j)
    zone = site.zone or fixed_offset(0.0)
    alloc: Allocation | None = allocate(record, zone) if (record is not None and site.time_varying) else None
    fx = SiteFactors(site, timed=alloc is not None)
    assumptions = [energy_assumption, *fx.assumptions]
    warnings.extend(fx.warnings)
    e_kwh = Interval.of(energy) * (1.0 / J_PER_KWH)
    pue = Interval.of(fx.pue)
    if alloc is not None:
        sums, periods = _timed_sums(fx, alloc, e_kwh, pue)
        assumptions.extend(_time_assumptions(site, alloc, len(periods)))
    else:
        sums, periods = _annual_sums(fx, record, e_kwh, pue, warnings, assumptions), []
    onsite, offsite, carbon = sums
    water = Water(onsite_l=onsite.figure(), offsite_l=offsite.figure(), total_l=(onsite + offsite).figure())
    assumptions.extend(add_withdrawal(site, fx.grid, water, e_kwh, pue, (onsite, offsite), timed=alloc is not None))
    assumptions.extend(_closing_assumptions())
    for w in warnings:  # one logging warning per thing that was missing
        log.warning(w)
    return Footprint(
        it_energy_j=energy,
        facility_energy_j=(Interval.of(energy) * pue).figure(),
        water=water,
        carbon_g=None if carbon is None else carbon.figure(),
        site=site.to_dict(),
        assumptions=assumptions,
        periods=periods,
        warnings=warnings,
    )


def _as_site(site: Any) -> Site:
    if isinstance(site, str):
        return Site.preset(site)
    if not isinstance(site, Site):
        raise FootprintError(
            f"footprint(): site must be an ecometer Site or a preset name, found {type(site).__name__}"
        )
    return site


_Sums = tuple[Interval, Interval, "Interval | None"]  # on-site, off-site, carbon (None: not computed)


def _timed_sums(fx: SiteFactors, alloc: Allocation, e_kwh: Interval, pue: Interval) -> tuple[_Sums, list[dict]]:
    """On-site, off-site water and carbon summed over the run's hour slices, and the per-slice rows."""
    onsite = offsite = carbon = Interval(0.0, 0.0, 0.0)
    carbon_ok = True
    periods: list[dict[str, Any]] = []
    for sl in alloc.slices:
        e = e_kwh * sl.fraction
        w, x, c = fx.wue_at(sl), fx.ewif_at(sl), fx.carbon_at(sl)
        if x is None:  # SiteFactors requires an annual or hourly EWIF; kept explicit for -O runs
            raise FootprintError(f"site {fx.site.label!r}: no EWIF for {hour_key(sl.utc_hour)}")
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
    return (onsite, offsite, carbon if carbon_ok else None), periods


def _time_assumptions(site: Site, alloc: Allocation, n_periods: int) -> list[Assumption]:
    how = "the run's own timeline" if alloc.method == "timeline" else "spread evenly over the run's duration (no timeline)"
    out = [
        Assumption(
            "time_allocation",
            alloc.method,
            "",
            "record",
            note=f"IT energy placed in {n_periods} hour slice(s) by {how}; each slice uses its own hour's/month's factors",
        )
    ]
    if site.timezone is not None:
        out.append(
            Assumption(
                "timezone",
                site.timezone,
                "",
                "user",
                note="IANA time zone (zoneinfo): hourly and monthly profiles are read in local time, daylight saving included",
            )
        )
    else:
        given = site.utc_offset_h is not None
        out.append(
            Assumption(
                "utc_offset_h",
                site.utc_offset_h if given else 0.0,
                "h",
                "user" if given else "default",
                note="site local time = UTC + offset (fixed, no daylight saving); hourly and monthly profiles are read "
                "in local time"
                + ("" if given else " (site gives no timezone or offset: UTC assumed)"),
            )
        )
    return out


def _annual_sums(
    fx: SiteFactors, record: Any, e_kwh: Interval, pue: Interval, warnings: list[str], assumptions: list[Assumption]
) -> _Sums:
    """On-site, off-site water and carbon from annual factors (the run has no time, or the site no profile)."""
    site = fx.site
    if fx.ewif is None:  # only an hourly EWIF was given, and the run has no time
        raise FootprintError(
            f"site {site.label!r} gives EWIF only per hour (grid_hourly) and the energy has no time: "
            "pass ewif= or country= too, or a record with started_at"
        )
    if site.time_varying:
        why = "energy was given directly" if record is None else f"record {record.name!r} has no start time or duration"
        msg = f"site {site.label!r} has hourly/monthly factors but {why}: annual values were used instead"
        warnings.append(msg)
        assumptions.append(Assumption("time_allocation", "none", "", "default", note=msg))
    carbon = None if fx.carbon is None else e_kwh * pue * fx.carbon
    return e_kwh * fx.wue, e_kwh * pue * fx.ewif, carbon


def _closing_assumptions() -> list[Assumption]:
    return [
        Assumption(
            "bounds",
            "interval arithmetic",
            "",
            "default",
            note="low/high take every input at its own low/high together (IT energy, PUE, WUE, EWIF, carbon "
            "intensity): a conservative envelope, not a confidence interval; each input's own coverage is stated "
            "in its entry",
        ),
        Assumption(
            "scope",
            "operational",
            "",
            "default",
            note="scope 1 (on-site cooling) and scope 2 (electricity generation) water, location-based; embodied "
            "(scope 3) water and carbon are not included",
        ),
    ]
