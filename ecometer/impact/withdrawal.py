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

from ecometer.files import datafiles
from ecometer.impact.assumptions import Assumption
from ecometer.impact.factors import source_of
from ecometer.impact.grid import factors as grid_factors
from ecometer.impact.propagation import Draws, Value
from ecometer.impact.site import Site
from ecometer.record.estimate import Estimate


def add_withdrawal(
    site: Site,
    grid: Any,
    d: Draws,
    pue: Value,
    consumed: tuple[Value, Value],
    *,
    timed: bool,
    same_mix: bool,
) -> tuple[Value, Value | None, list[Assumption]]:
    """On-site and off-site withdrawal per kWh of IT energy (L/kWh; off-site ``None`` where no
    factor exists), and the assumptions that say how.

    ``consumed``: on-site and off-site consumption per kWh of IT energy. ``same_mix``: the consumption EWIF
    was derived from the same generation mix as the withdrawal factor, so the two are drawn
    rank-correlated.
    """
    onsite, offsite = consumed
    on_w, out = _onsite(site, d, onsite)
    factor, off_assumption, missing = _offsite_factor(site, grid, timed)
    out.append(off_assumption)
    if factor is None:
        out.append(
            Assumption(
                "withdrawal", None, "L", "default", note=f"total withdrawal not computed (on-site withdrawal is): {missing}"
            )
        )
        return on_w, None, out
    label = "off-site withdrawal factor" + (" (derived)" if site.ewif_withdrawal is None else "")
    off_w = pue * d.input("ewif_withdrawal", factor, label, like="ewif" if same_mix else None)
    if site.ewif_withdrawal is None:
        off_w = _floor_at_consumption(d, off_w, offsite, off_assumption)
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
    return on_w, off_w, out


def _onsite(site: Site, d: Draws, onsite: Value) -> tuple[Value, list[Assumption]]:
    """On-site withdrawal: a given factor, or on-site consumption / the fraction of drawn water evaporated."""
    if site.wue_withdrawal is not None:
        note = "on-site withdrawal per kWh of IT energy"
        factor = d.input("wue_withdrawal", site.wue_withdrawal, "on-site withdrawal factor")
        return factor, [
            Assumption.of("wue_withdrawal", site.wue_withdrawal, "L/kWh", source_of(site, "wue_withdrawal"), note)
        ]
    wf = datafiles.load("water_factors")
    frac = wf["onsite_withdrawal"]["consumed_fraction"]
    ratio = Estimate(
        1.0 / frac["central"],
        1.0 / frac["low_bound_fraction"],
        1.0 / frac["high_bound_fraction"],
        coverage=None,  # the span of two published figures and a definition, no probability claimed
        distribution="uniform",
        basis=frac["note"],
    )
    sources = "; ".join(datafiles.source_label("water_factors", s) for s in frac["sources"])
    entry = Assumption.of(
        "onsite_withdrawal_per_consumption",
        ratio,
        "L withdrawn per L consumed",
        sources,
        note="default, no wue_withdrawal given: " + wf["assumptions"]["onsite_withdrawal"],
    )
    return onsite * d.input("onsite_withdrawal_ratio", ratio, "on-site withdrawn/consumed ratio"), [entry]


def _offsite_factor(site: Site, grid: Any, timed: bool) -> tuple[Estimate | None, Assumption, str]:
    """(off-site withdrawal factor or None, its assumption, why it is missing)."""
    hourly_note = (
        " The site's hourly EWIF applies to consumption only: withdrawal uses this annual factor."
        if timed and site.grid_hourly and "ewif" in site.grid_hourly
        else ""
    )
    if site.ewif_withdrawal is not None:
        note = "off-site withdrawal per kWh of electricity" + hourly_note
        return site.ewif_withdrawal, Assumption.of(
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
    ref_central = float(grid_factors(ref["country"]).ewif_withdrawal.central)
    check = (
        f"{ref['country']} check: {ref['published_l_per_kwh']:.3g} L/kWh from {ref['source']} "
        f"({ref['published_year']} fleet), {ref['published_l_per_kwh'] / ref_central:.3g}x the derived central "
        f"{ref_central:.3g} L/kWh"
    )
    mixed = (
        f" The consumption EWIF was given ({source_of(site, 'ewif')}); withdrawal is derived from {grid.country}'s "
        "mix instead, so the two rest on different data."
        if site.ewif is not None
        else ""
    )
    return Assumption.of(
        "ewif_withdrawal",
        grid.ewif_withdrawal,
        "L/kWh",
        f"derived: {datafiles.source_label('grid_mix', 'codecarbon-mix')} generation mix of {grid.country} "
        f"({grid.country_name}, data year {grid.data_year}) x "
        f"{datafiles.source_label('water_factors', 'macknick2012-withdrawal')} withdrawal medians",
        note=(
            "off-site withdrawal per kWh of electricity. central: thermal plants at the country's cooling shares "
            "(MESSAGEix-Nexus x GCAM/Macknick per cooling type, cooling_water.json), hydropower charged its "
            "reservoir evaporation; low: towers, hydropower excluded; high: every plant once-through "
            f"({check}; see ecometer/data/water_factors.json)." + mixed + hourly_note
        ),
    )


def _floor_at_consumption(d: Draws, off_w: Value, offsite: Value, entry: Assumption) -> Value:
    """Derived withdrawal is never below the off-site consumption actually used (which may come
    from a given, published or hourly EWIF rather than from the same mix): raised in each draw."""
    below = [x > y for x, y in zip(offsite.a, off_w.a, strict=True)]
    share = off_w.share_below(offsite) if d.grid else None
    if share is None:
        drawn = offsite.draws > off_w.draws
        share = float(drawn.mean()) if len(drawn) else 0.0
    if not any(below) and not share:
        return off_w
    where = ["the central value"] if below[0] else []
    where += [f"every input's {b}" for b, hit in zip(("low", "high"), below[1:3], strict=True) if hit]
    if share:
        where.append(f"{share:.0%} of the probability" if d.grid else f"{share:.0%} of the {d.n} draws")
    entry.note += (
        f" Off-site withdrawal raised to the off-site consumption at {' and '.join(where)}: withdrawal is never "
        "below consumption, and this consumption figure need not come from the same data."
    )
    return off_w.at_least(offsite)
