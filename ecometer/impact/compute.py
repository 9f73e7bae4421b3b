"""Footprint of a run: facility energy, water (on-site, off-site; consumed, withdrawn) and carbon.

Model (Li et al., "Making AI Less Thirsty"): over the run's time slices t,

- facility energy = E_IT x PUE
- on-site water  = sum_t E_IT,t x WUE_t            (WUE per kWh of IT energy)
- off-site water = sum_t E_IT,t x PUE x EWIF_t     (location-based, per kWh of electricity)
- carbon         = sum_t E_IT,t x PUE x CI_t
- withdrawal     = on-site consumption x (withdrawn / consumed) or E_IT x WUE_withdrawal,
                   plus E_IT x PUE x EWIF_withdrawal (given, or derived from the country's mix)

Units: joules, litres, grams CO2e. Every figure is an :class:`~ecometer.record.estimate.Estimate`.
Bounds (``footprint(..., bounds=...)``, see :mod:`ecometer.impact.propagation`):

- ``"interval"`` (default): Monte Carlo over the inputs' declared distributions, one seeded
  draw per input; 95 % coverage (a figure whose only uncertain input is a stated bound keeps
  that bound, coverage 1).
  Declared correlations: each component of the record's IT energy is drawn once and the
  components are independent (different sensors); a factor is one draw over every time period
  of the run (an hourly or monthly profile scales the annual draw); PUE, WUE, EWIF, carbon
  intensity and the withdrawal factors are independent of each other, except that a derived
  consumption EWIF and the derived withdrawal EWIF of the same generation mix are
  rank-correlated; off-site withdrawal is raised to off-site consumption in each draw.
- ``"envelope"``: every input at its low together and at its high together (the arithmetic of
  earlier versions): a worst-case range, no coverage claimed.

``Footprint.assumptions`` lists every input with its range, coverage and distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ecometer.checks.numbers import shown
from ecometer.errors import FootprintError, RecordError
from ecometer.impact.assumptions import Assumption
from ecometer.impact.detect import named_site
from ecometer.impact.factors import SiteFactors, SliceFactor
from ecometer.impact.propagation import Draws, NeedsDraws, Value
from ecometer.impact.site import Site, hour_key
from ecometer.impact.timing import Allocation, allocate, fixed_offset
from ecometer.impact.withdrawal import add_withdrawal
from ecometer.record.distributions import METHOD as GRID_METHOD
from ecometer.record.estimate import Estimate
from ecometer.record.units import J_PER_KWH


def _log() -> Any:
    """This module's logger (``logging`` imported at the first message: a cold footprint without
    one does not pay for it)."""
    import logging

    return logging.getLogger("ecometer.impact")

#: 2: every figure an Estimate with coverage and distribution, ``intensity`` and ``bounds`` stored;
#: schema-1 footprints (envelope bounds, no coverage) still load
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)

#: the per-joule intensities a footprint stores (see :class:`Footprint`), in order
INTENSITY_KEYS = ("facility_energy_j", "water_onsite_l", "water_offsite_l", "water_total_l", "water_withdrawal_l", "carbon_g")


@dataclass
class Water:
    """Water in litres. ``onsite_l + offsite_l = total_l`` are consumption (evaporated, lost to
    the basin). Withdrawal (taken in, mostly returned) is reported apart, never added to
    consumption: ``onsite_withdrawal_l + offsite_withdrawal_l = withdrawal_l``; the off-site part
    and the total are ``None`` where no off-site withdrawal factor exists (EWIF given directly,
    no country and no ``ewif_withdrawal``). Each is an :class:`~ecometer.record.estimate.Estimate`; sums
    hold for the central values (each interval is propagated on its own, from the same draws)."""

    onsite_l: Estimate
    offsite_l: Estimate
    total_l: Estimate
    withdrawal_l: Estimate | None = None
    onsite_withdrawal_l: Estimate | None = None
    offsite_withdrawal_l: Estimate | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (None if v is None else v.to_dict()) for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, envelope: bool = False) -> Water:
        return cls(**{k: _estimate(data.get(k), f"water.{k}", envelope) for k in _WATER_FIELDS})


_WATER_FIELDS = ("onsite_l", "offsite_l", "total_l", "withdrawal_l", "onsite_withdrawal_l", "offsite_withdrawal_l")


def _estimate(data: Any, where: str, envelope: bool = False) -> Any:
    """A stored figure; ``envelope``: a schema-1 figure, whose bounds took every low together."""
    if data is None:
        return None
    est = Estimate.from_dict(data, where=f"footprint: {where}")
    return est.replace(distribution="envelope", coverage=None) if envelope and not est.is_exact else est


@dataclass
class Footprint:
    """What a run's IT energy meant at a site. See the module docstring for the model.

    Every figure is an :class:`~ecometer.record.estimate.Estimate` (a float, its central value, with
    ``low``/``high``, the ``coverage`` the interval claims, its ``distribution`` and ``basis``).
    ``bounds`` says how they were propagated (``"interval"``: Monte Carlo, 95 %; ``"envelope"``).

    ``intensity`` maps each figure to what it is per joule of IT energy, so that
    figure = IT energy x intensity; each an Estimate with the factors' uncertainty only (the IT
    energy's error excluded), for a caller that draws the IT energy itself (the standards grade on
    joint draws of both):

    - ``facility_energy_j``: PUE (J per J, a ratio);
    - ``water_onsite_l``, ``water_offsite_l``, ``water_total_l``, ``water_withdrawal_l``: litres per J;
    - ``carbon_g``: g CO2e per J.

    Keys are absent where the figure is not computed (no carbon intensity, no withdrawal factor).
    """

    it_energy_j: Estimate
    facility_energy_j: Estimate
    water: Water
    carbon_g: Estimate | None
    site: dict[str, Any]
    assumptions: list[Assumption] = field(default_factory=list)
    periods: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    method: str = "modelled"
    intensity: dict[str, Estimate] = field(default_factory=dict)
    bounds: str = "interval"
    schema_version: int = SCHEMA_VERSION

    def assumption(self, name: str) -> Assumption:
        """The assumption entry called ``name`` (KeyError if absent)."""
        for a in self.assumptions:
            if a.name == name:
                return a
        raise KeyError(f"footprint has no assumption {name!r}; it has {[a.name for a in self.assumptions]}")

    def per(self, count: float, unit: str = "unit") -> Footprint:
        """This footprint divided by ``count`` units of work (e.g. requests), bounds included
        (``intensity``, per joule of IT energy, is unchanged)."""
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not count > 0 or not math.isfinite(count):
            raise FootprintError(f"per(): count {count!r}: expected a positive number of {unit}s")
        k = 1.0 / count

        def s(f: Estimate | None) -> Estimate | None:
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
            intensity=dict(self.intensity),
            bounds=self.bounds,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": self.schema_version,
            "method": self.method,
            "bounds": self.bounds,
            "site": self.site,
            "it_energy_j": self.it_energy_j.to_dict(),
            "facility_energy_j": self.facility_energy_j.to_dict(),
            "water": self.water.to_dict(),
            "carbon_g": None if self.carbon_g is None else self.carbon_g.to_dict(),
            "intensity": {k: v.to_dict() for k, v in self.intensity.items()},
            "assumptions": [a.to_dict() for a in self.assumptions],
            "periods": [dict(p) for p in self.periods],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Footprint:
        """Read :meth:`to_dict`'s form; schema-1 footprints load with coverage not stated."""
        version = data.get("schema_version") if isinstance(data, dict) else None
        if type(version) is not int or version not in READABLE_SCHEMAS:
            raise FootprintError(
                f"footprint: expected a dict with schema_version in {READABLE_SCHEMAS}, found "
                f"{version if isinstance(data, dict) else type(data).__name__!r}"
            )
        old = version == 1  # bounds by interval arithmetic, every low together
        try:
            return cls(
                it_energy_j=_estimate(data["it_energy_j"], "it_energy_j"),
                facility_energy_j=_estimate(data["facility_energy_j"], "facility_energy_j", old),
                water=Water.from_dict(data["water"], envelope=old),
                carbon_g=_estimate(data.get("carbon_g"), "carbon_g", old),
                site=dict(data.get("site") or {}),
                assumptions=[Assumption.from_dict(a) for a in data.get("assumptions", [])],
                periods=[dict(p) for p in data.get("periods", [])],
                warnings=list(data.get("warnings", [])),
                method=data.get("method", "modelled"),
                intensity={k: _estimate(v, f"intensity.{k}") for k, v in (data.get("intensity") or {}).items()},
                bounds=data.get("bounds", "envelope" if old else "interval"),
                schema_version=SCHEMA_VERSION,  # read in the current form
            )
        except RecordError as exc:
            raise FootprintError(str(exc)) from None
        except (KeyError, TypeError, AttributeError) as exc:
            raise FootprintError(f"footprint: malformed dict ({type(exc).__name__}: {exc})") from None


# ---- computation ------------------------------------------------------------------------
def _energy(d: Draws, record: Any, energy_kwh: Any, energy_j: Any) -> tuple[Value, Estimate, Assumption, list[str]]:
    """The IT energy as a propagated quantity (J), its Estimate, its assumption entry and warnings."""
    given = [n for n, v in (("record", record), ("energy_kwh", energy_kwh), ("energy_j", energy_j)) if v is not None]
    if len(given) != 1:
        raise FootprintError(
            f"footprint(): give exactly one of a record, energy_kwh= or energy_j=; got {given or 'none'}"
        )
    warnings: list[str] = []
    if record is not None:
        if not all(hasattr(record, a) for a in ("energy_j", "components", "methods")):
            raise FootprintError(f"footprint(): expected an ecometer RunRecord, found {type(record).__name__}")
        central = float(record.energy_j)
        methods = ", ".join(f"{k}={v}" for k, v in sorted(record.methods.items())) or "no components"
        if not record.components:
            warnings.append(f"record {record.name!r} has no energy components: IT energy is 0 J")
        source = f"record {record.name!r} ({methods})"
        comps = record.components
        if d.bounds == "interval" and comps and all(isinstance(getattr(c, "uncertainty", None), Estimate) for c in comps.values()):
            # each component's error drawn once; different sensors are independent
            energy = d.constant(0.0)
            for key, comp in comps.items():
                energy = energy + d.input(f"energy:{key}", _centred(comp.uncertainty, comp.energy_j), f"{key} energy")
            it_energy = d.estimate(energy, "IT energy, sum of the record's components")
            low, high = float(energy.a[1]), float(energy.a[2])  # every input at its low / its high
            _check_energy("record", low, float(energy.a[0]), high, f"{central!r} J")
        else:  # the record's total (the envelope's input, as in earlier versions)
            unc = record.energy_uncertainty
            it_energy = unc if unc.central == central else unc.replace(central=central, low=min(unc.low, central), high=max(unc.high, central))
            _check_energy("record", it_energy.low, central, it_energy.high, f"{central!r} J")
            energy = d.input("energy", it_energy, "IT energy")
    else:
        name = "energy_kwh" if energy_kwh is not None else "energy_j"
        raw = energy_kwh if energy_kwh is not None else energy_j
        scale = J_PER_KWH if name == "energy_kwh" else 1.0
        if not isinstance(raw, (dict, Estimate)) and all(hasattr(raw, a) for a in ("central", "low", "high")):
            try:  # an object with bounds: Estimate() would reorder inverted bounds, so check them as given
                given_bounds = [float(getattr(raw, a)) * scale for a in ("low", "central", "high")]
            except (TypeError, ValueError):
                raise FootprintError(f"footprint(): {name} {shown(raw)}: expected numbers for central, low and high") from None
            _check_energy(name, *given_bounds, shown(raw))
        try:
            it_energy = Estimate.coerce(raw, name=name)
        except RecordError as exc:
            raise FootprintError(f"footprint(): {exc}") from None
        it_energy = it_energy.scaled(scale) if scale != 1.0 else it_energy
        _check_energy(name, it_energy.low, it_energy.central, it_energy.high, shown(raw))
        if it_energy.high > MAX_GIVEN_ENERGY_J:
            raise FootprintError(
                f"footprint(): {name} energy {shown(raw)}: its high bound is {it_energy.high:g} J, above "
                f"{MAX_GIVEN_ENERGY_J:g} J (about 100 years of the world's electricity); expected a job's energy"
            )
        energy = d.input("energy", it_energy, "IT energy")
        source = "user"
    entry = Assumption.of("it_energy_j", it_energy, "J", source, note="IT energy (before PUE)")
    return energy, it_energy, entry, warnings


#: The most IT energy (J) a caller may give: 1e22 J is about 100 years of the world's electricity
#: (about 30,000 TWh a year); beyond it the figures overflow and no job comes near.
MAX_GIVEN_ENERGY_J = 1e22


def _centred(unc: Estimate, central: float) -> Estimate:
    """A component's uncertainty around its energy (they agree in any record ecometer writes)."""
    if unc.central == central:
        return unc
    shift = central - unc.central
    return unc.replace(central=central, low=unc.low + shift, high=unc.high + shift)


def _check_energy(name: str, low: float, central: float, high: float, shown: str) -> None:
    """IT energy (J) must be finite and >= 0 at its central value and both bounds, in that order."""
    for label, value in (("central value", central), ("low bound", low), ("high bound", high)):
        if not math.isfinite(value):
            raise FootprintError(f"footprint(): {name} energy {shown}: its {label} is {value!r}; expected a finite number")
        if value < 0:
            raise FootprintError(
                f"footprint(): {name} energy {shown}: its {label} is negative ({value:g} J); expected >= 0"
            )
    if not low <= central <= high:
        raise FootprintError(
            f"footprint(): {name} energy {shown}: its uncertainty is inverted (low {low:g} J, central {central:g} J, "
            f"high {high:g} J); expected low <= central <= high"
        )


def footprint(
    record: Any = None,
    *,
    site: Site | str,
    energy_kwh: Any = None,
    energy_j: Any = None,
    bounds: str = "interval",
) -> Footprint:
    """The footprint of a run's IT energy at ``site``.

    Give a :class:`~ecometer.record.model.RunRecord` (its components' energies and uncertainties; its
    ``started_at`` and ``timeline`` place the energy in time for time-varying sites) or
    ``energy_kwh=`` / ``energy_j=`` (a number, exact; or an Estimate or ``{central, low, high}``
    dict with its bounds). ``site`` is a :class:`Site` or a preset name. ``bounds``:
    ``"interval"`` (Monte Carlo over the inputs' declared distributions, 95 % coverage) or
    ``"envelope"`` (every input at its low / high together, the conservative worst case, no
    coverage claimed); see the module docstring. The record is not modified; attach the result
    with ``record.attach("footprint", fp)``.
    """
    site = _as_site(site)
    try:  # the grid path: no draws, no numpy, where every figure's inputs are independent
        return footprint_with(Draws(bounds, grid=True), record, site, energy_kwh, energy_j)
    except NeedsDraws as exc:
        _log().debug("footprint: Monte Carlo path (%s)", exc)
    return footprint_with(Draws(bounds), record, site, energy_kwh, energy_j)


def footprint_with(d: Draws, record: Any, site: Site, energy_kwh: Any, energy_j: Any) -> Footprint:
    """:func:`footprint` with the propagation ``d`` (``Draws(bounds, grid=True)``: the grid path,
    raising :class:`NeedsDraws` where a figure combines inputs that are not independent;
    ``Draws(bounds, n=...)``: Monte Carlo with ``n`` draws)."""
    bounds = d.bounds
    energy, it_energy, energy_assumption, warnings = _energy(d, record, energy_kwh, energy_j)
    zone = site.zone or fixed_offset(0.0)
    alloc: Allocation | None = allocate(record, zone) if (record is not None and site.time_varying) else None
    fx = SiteFactors(site, timed=alloc is not None)
    assumptions = [energy_assumption, *fx.assumptions]
    warnings.extend(fx.warnings)
    pue = d.input("pue", fx.pue, "PUE")
    if alloc is not None:
        parts, periods = _timed_parts(fx, alloc)
        assumptions.extend(_time_assumptions(site, alloc, len(periods)))
    else:
        parts, periods = _annual_parts(fx, record, warnings, assumptions), []
    wue, ewif = _run_factor(d, parts[0], "WUE"), _run_factor(d, parts[1], "EWIF")
    carbon = None if parts[2] is None else _run_factor(d, parts[2], "carbon intensity")
    # per kWh of IT energy: litres, g CO2e
    onsite, offsite = wue, pue * ewif
    same_mix = fx.grid is not None and site.ewif is None and fx.grid.ewif_info.method == "derived"
    on_w, off_w, more = add_withdrawal(
        site, fx.grid, d, pue, (onsite, offsite), timed=alloc is not None, same_mix=same_mix
    )
    assumptions.extend(more)
    assumptions.extend(_closing_assumptions(d))
    per_kwh: dict[str, Value | None] = {
        "water_onsite_l": onsite,
        "water_offsite_l": offsite,
        "water_total_l": onsite + offsite,
        "water_withdrawal_l": None if off_w is None else on_w + off_w,
        "carbon_g": None if carbon is None else pue * carbon,
    }
    figures = _figures(d, energy, pue, onsite, offsite, on_w, off_w, per_kwh)  # raises NeedsDraws before any warning
    for w in warnings:  # one logging warning per thing that was missing
        _log().warning(w)
    return Footprint(
        it_energy_j=it_energy,
        facility_energy_j=figures.pop("facility_energy_j"),
        water=Water(**figures.pop("water")),
        carbon_g=figures.pop("carbon_g"),
        site=site.to_dict(),
        assumptions=assumptions,
        periods=periods,
        warnings=warnings,
        intensity=_intensity(d, pue, per_kwh),
        bounds=bounds,
    )


def _figures(
    d: Draws, energy: Any, pue: Any, onsite: Any, offsite: Any, on_w: Any, off_w: Any, per_kwh: dict[str, Any]
) -> dict[str, Any]:
    """The footprint's figures as estimates (``water``: the :class:`Water` fields)."""
    e_kwh = energy / J_PER_KWH

    def fig(v: Value | None, what: str) -> Estimate | None:
        return None if v is None else d.estimate(e_kwh * v, what)

    return {
        "facility_energy_j": d.estimate(energy * pue, "IT energy x PUE"),
        "water": {
            "onsite_l": d.estimate(e_kwh * onsite, "IT energy x WUE"),
            "offsite_l": d.estimate(e_kwh * offsite, "IT energy x PUE x EWIF"),
            "total_l": d.estimate(e_kwh * (onsite + offsite), "IT energy x (WUE + PUE x EWIF)"),
            "withdrawal_l": fig(per_kwh["water_withdrawal_l"], "on-site + off-site withdrawal"),
            "onsite_withdrawal_l": fig(on_w, "on-site withdrawal"),
            "offsite_withdrawal_l": fig(off_w, "IT energy x PUE x withdrawal EWIF, at least off-site consumption"),
        },
        "carbon_g": fig(per_kwh["carbon_g"], "IT energy x PUE x carbon intensity"),
    }


def _intensity(d: Draws, pue: Value, per_kwh: dict[str, Value | None]) -> dict[str, Estimate]:
    """Per J of IT energy, the factors' error only (the standards grade on IT energy draws x these)."""
    intensity = {"facility_energy_j": d.estimate(pue, "PUE: facility energy per J of IT energy")}
    for key, v in per_kwh.items():
        if v is not None:
            intensity[key] = d.estimate(v / J_PER_KWH, f"{key} per J of IT energy (factors only)")
    return intensity


_Parts = list[tuple[float, SliceFactor]]  # (fraction of the IT energy, factor in that slice)
_AllParts = tuple[_Parts, _Parts, "_Parts | None"]  # WUE, EWIF, carbon (None: not computed)


def _run_factor(d: Draws, parts: _Parts, label: str) -> Value:
    """The energy-weighted factor over the run: sum_t fraction_t x factor_t, each annual input one draw."""
    weights: dict[str, tuple[Estimate, float]] = {}
    constant = 0.0
    for fraction, f in parts:
        if f.key is None or f.base.is_exact:
            constant += fraction * f.central
        else:
            weights[f.key] = (f.base, weights.get(f.key, (f.base, 0.0))[1] + fraction * f.multiplier)
    total = d.constant(constant)
    for key, (base, weight) in weights.items():
        total = total + d.input(key, base, label) * weight
    return total


def _as_site(site: Any) -> Site:
    if isinstance(site, str):
        return named_site(site)
    if not isinstance(site, Site):
        raise FootprintError(
            f"footprint(): site must be an ecometer Site or a preset name, found {type(site).__name__}"
        )
    return site


def _timed_parts(fx: SiteFactors, alloc: Allocation) -> tuple[_AllParts, list[dict[str, Any]]]:
    """The factors of each of the run's hour slices, weighted by its energy, and the per-slice rows."""
    wue: _Parts = []
    ewif: _Parts = []
    carbon: _Parts = []
    carbon_ok = True
    periods: list[dict[str, Any]] = []
    for sl in alloc.slices:
        w, x, c = fx.wue_at(sl), fx.ewif_at(sl), fx.carbon_at(sl)
        if x is None:  # SiteFactors requires an annual or hourly EWIF; kept explicit for -O runs
            raise FootprintError(f"site {fx.site.label!r}: no EWIF for {hour_key(sl.utc_hour)}")
        wue.append((sl.fraction, w))
        ewif.append((sl.fraction, x))
        if c is None:
            carbon_ok = False
        else:
            carbon.append((sl.fraction, c))
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
    return (wue, ewif, carbon if carbon_ok else None), periods


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


def _annual_parts(fx: SiteFactors, record: Any, warnings: list[str], assumptions: list[Assumption]) -> _AllParts:
    """The annual factors (the run has no time, or the site no profile), as one slice of all the energy."""
    site = fx.site
    ewif, carbon = fx.ewif_at(None), fx.carbon_at(None)
    if ewif is None:  # only an hourly EWIF was given, and the run has no time
        raise FootprintError(
            f"site {site.label!r} gives EWIF only per hour (grid_hourly) and the energy has no time: "
            "pass ewif= or country= too, or a record with started_at"
        )
    if site.time_varying:
        why = "energy was given directly" if record is None else f"record {record.name!r} has no start time or duration"
        msg = f"site {site.label!r} has hourly/monthly factors but {why}: annual values were used instead"
        warnings.append(msg)
        assumptions.append(Assumption("time_allocation", "none", "", "default", note=msg))
    return [(1.0, fx.wue_at(None))], [(1.0, ewif)], None if carbon is None else [(1.0, carbon)]


def _closing_assumptions(d: Draws) -> list[Assumption]:
    if d.bounds == "envelope":
        bounds = Assumption(
            "bounds",
            "envelope",
            "",
            "user",
            note="low/high take every input at its own low/high together (IT energy, PUE, WUE, EWIF, carbon "
            "intensity, withdrawal factors): a conservative envelope, not a confidence interval (no coverage "
            "claimed); footprint(..., bounds='interval') gives 95 % intervals",
        )
    else:
        bounds = Assumption(
            "bounds",
            "interval",
            "",
            "default",
            note=(
                f"a numerical convolution of the inputs' distributions ({GRID_METHOD}), as every figure's inputs "
                "are independent here: "
                if d.grid
                else f"Monte Carlo (JCGM 101:2008), {d.n} draws seeded {d.seed}: each input drawn once from the "
            )
            + "distribution its entry states (a number given without bounds is exact); intervals claim 95 % "
            "coverage (one resting on a single uncertain input maps it exactly; a stated bound keeps its support). Declared: "
            "each energy component drawn once, components independent (different sensors); each factor one draw "
            "over every time period of the run (a profile scales the annual draw); PUE, WUE, EWIF, carbon "
            "intensity and the withdrawal factors independent, except a derived consumption EWIF and the derived "
            "withdrawal EWIF of the same mix (rank-correlated); off-site withdrawal at least off-site consumption "
            "in every draw. footprint(..., bounds='envelope') gives the all-lows/all-highs envelope instead",
        )
    return [
        bounds,
        Assumption(
            "scope",
            "operational",
            "",
            "default",
            note="scope 1 (on-site cooling) and scope 2 (electricity generation) water, location-based; embodied "
            "(scope 3) water and carbon are not included",
        ),
    ]
