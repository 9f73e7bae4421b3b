"""Water withdrawal (taken in, mostly returned) beside consumption, on-site and off-site.

- on-site: IT energy x ``wue_withdrawal`` where the site gives it, else on-site consumption /
  the fraction of drawn water a data centre evaporates (``water_factors.json
  ['onsite_withdrawal']``: a researcher's typical figure and one site's published water
  metrics bound it);
- off-site: IT energy x PUE x ``ewif_withdrawal`` where given, else the country's mix x the
  Macknick et al. withdrawal medians (towers central, once-through high), never below the
  off-site consumption actually used.

Units: litres; factors in L/kWh.
"""

from __future__ import annotations

from typing import Any

from ecometer import datafiles
from ecometer.footprint.factors import number_assumption, source_of
from ecometer.footprint.figures import Assumption, Figure, Interval
from ecometer.footprint.site import Site

_BOUNDS = ("low", "central", "high")


def add_withdrawal(
    site: Site,
    grid: Any,
    water: Any,
    e_kwh: Interval,
    pue: Interval,
    consumed: tuple[Interval, Interval],
    timed: bool,
) -> list[Assumption]:
    """Fill the withdrawal figures of ``water`` where a factor exists; the assumptions that say how."""
    onsite, offsite = consumed
    on_w, out = _onsite(site, onsite, e_kwh)
    water.onsite_withdrawal_l = on_w.figure()
    factor, off_assumption, missing = _offsite_factor(site, grid, timed)
    out.append(off_assumption)
    if factor is None:
        out.append(
            Assumption(
                "withdrawal", None, "L", "default", note=f"total withdrawal not computed (on-site withdrawal is): {missing}"
            )
        )
        return out
    off_w = e_kwh * pue * factor
    if site.ewif_withdrawal is None:
        off_w = _floor_at_consumption(off_w, offsite, off_assumption)
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
    return out


def _onsite(site: Site, onsite: Interval, e_kwh: Interval) -> tuple[Interval, list[Assumption]]:
    """On-site withdrawal: a given factor, or on-site consumption / the fraction of drawn water evaporated."""
    if site.wue_withdrawal is not None:
        note = "on-site withdrawal per kWh of IT energy"
        return e_kwh * site.wue_withdrawal, [
            number_assumption("wue_withdrawal", site.wue_withdrawal, "L/kWh", source_of(site, "wue_withdrawal"), note)
        ]
    wf = datafiles.load("water_factors")
    frac = wf["onsite_withdrawal"]["consumed_fraction"]
    ratio = Figure(1.0 / frac["central"], 1.0 / frac["low_bound_fraction"], 1.0 / frac["high_bound_fraction"])
    sources = "; ".join(datafiles.source_label("water_factors", s) for s in frac["sources"])
    entry = number_assumption(
        "onsite_withdrawal_per_consumption",
        ratio,
        "L withdrawn per L consumed",
        sources,
        note="default, no wue_withdrawal given: " + wf["assumptions"]["onsite_withdrawal"],
    )
    entry.coverage = None
    entry.basis = frac["note"]
    entry.distribution = "uniform"  # the span of two published figures and a definition
    return onsite * ratio, [entry]


def _offsite_factor(site: Site, grid: Any, timed: bool) -> tuple[Figure | None, Assumption, str]:
    """(off-site withdrawal factor or None, its assumption, why it is missing)."""
    hourly_note = (
        " The site's hourly EWIF applies to consumption only: withdrawal uses this annual factor."
        if timed and site.grid_hourly and "ewif" in site.grid_hourly
        else ""
    )
    if site.ewif_withdrawal is not None:
        note = "off-site withdrawal per kWh of electricity" + hourly_note
        return site.ewif_withdrawal, number_assumption(
            "ewif_withdrawal", site.ewif_withdrawal, "L/kWh", source_of(site, "ewif_withdrawal"), note
        ), ""
    if grid is not None:
        return grid.ewif_withdrawal, _derived_assumption(site, grid, hourly_note), ""
    why = (
        "the off-site EWIF was given directly (ewif=) and the site has no country, so there is no generation "
        "mix to derive withdrawal from, and no ewif_withdrawal was given"
        if site.ewif is not None
        else "the site has no country and no ewif_withdrawal"
    )
    missing = f"{why}; pass ewif_withdrawal=<L per kWh of electricity> or country=<ISO code>"
    return None, Assumption("ewif_withdrawal", None, "L/kWh", "default", note=f"off-site withdrawal not computed: {missing}"), missing


def _derived_assumption(site: Site, grid: Any, hourly_note: str) -> Assumption:
    wf = datafiles.load("water_factors")
    ref = wf["withdrawal_comparison"][0]
    check = (
        f"{ref['country']} check: {ref['published_l_per_kwh']:.3g} L/kWh from {ref['source']} "
        f"({ref['published_year']} fleet), {ref['ratio_published_to_central']:.3g}x the derived central"
    )
    mixed = (
        f" The consumption EWIF was given ({source_of(site, 'ewif')}); withdrawal is derived from {grid.country}'s "
        "mix instead, so the two rest on different data."
        if site.ewif is not None
        else ""
    )
    entry = number_assumption(
        "ewif_withdrawal",
        grid.ewif_withdrawal,
        "L/kWh",
        f"derived: {datafiles.source_label('grid_mix', 'codecarbon-mix')} generation mix of {grid.country} "
        f"({grid.country_name}, data year {grid.data_year}) x "
        f"{datafiles.source_label('water_factors', 'macknick2012-withdrawal')} withdrawal medians",
        note=(
            "off-site withdrawal per kWh of electricity. central: cooling towers, hydropower charged its "
            "reservoir evaporation; low: towers, hydropower excluded; high: once-through cooling. Fleets "
            f"with once-through plants withdraw more than the central ({check}; see "
            "ecometer/data/water_factors.json)." + mixed + hourly_note
        ),
    )
    entry.basis = "per-source withdrawal medians by cooling type (Macknick et al. 2012); no per-country cooling mix"
    entry.distribution = "triangular"  # mode: towers; the high (all once-through) is a ceiling, not a likely value
    return entry


def _floor_at_consumption(off_w: Interval, offsite: Interval, entry: Assumption) -> Interval:
    """Derived withdrawal is never below the off-site consumption actually used (which may come
    from a given, published or hourly EWIF rather than from the same mix)."""
    raised = [b for b in _BOUNDS if getattr(offsite, b) > getattr(off_w, b)]
    if not raised:
        return off_w
    entry.note += (
        f" Off-site withdrawal raised to the off-site consumption at its {'/'.join(raised)} bound(s): "
        "withdrawal is never below consumption, and this consumption figure does not come from the same mix."
    )
    return Interval(*(max(getattr(off_w, b), getattr(offsite, b)) for b in _BOUNDS))
