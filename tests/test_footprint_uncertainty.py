"""Footprint bounds: Monte Carlo over declared distributions, declared correlations, honest coverage.

Each test would fail under the old all-lows-together arithmetic (or under a wrong correlation);
``bounds="envelope"`` keeps that arithmetic, checked here against a by-hand computation.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ecometer.errors import FootprintError
from ecometer.impact import Footprint, Site, footprint, grid
from ecometer.impact.compute import INTENSITY_KEYS
from ecometer.impact.propagation import Draws
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord, Timeline
from ecometer.record.uncertainty import draw

KWH = 3.6e6
Z95 = 1.959964


def lognormal(central: float, log_sd: float, coverage: float = 0.95) -> Estimate:
    """A factor published with a log-normal coverage interval of log-sd ``log_sd``."""
    z = {0.95: Z95, 0.9: 1.644854}[coverage]
    return Estimate(
        central, central * math.exp(-z * log_sd), central * math.exp(z * log_sd), coverage=coverage, distribution="lognormal"
    )


def record_of(components: dict[str, Estimate], **kw) -> RunRecord:
    comps = {n: Component(n, float(e), "modelled", e, {n: float(e)}) for n, e in components.items()}
    return RunRecord(name="sim", status="ok", duration_s=3600.0, components=comps, **kw)


# ---- known input distributions: the analytic / large-Monte-Carlo interval ---------------------
def test_product_of_lognormal_factors_gives_the_analytic_interval():
    # carbon = E x PUE x CI with independent log-normal PUE and CI: log-normal, log-sd in quadrature
    s_pue, s_ci = 0.05, 0.20
    site = Site(pue=lognormal(1.2, s_pue), wue=0.0, ewif=0.0, carbon_intensity_g_per_kwh=lognormal(400.0, s_ci))
    fp = footprint(energy_kwh=10.0, site=site)
    central = 10 * 1.2 * 400
    s = math.hypot(s_pue, s_ci)
    assert fp.carbon_g.central == pytest.approx(central)
    assert fp.carbon_g.low == pytest.approx(central * math.exp(-Z95 * s), rel=0.03)
    assert fp.carbon_g.high == pytest.approx(central * math.exp(Z95 * s), rel=0.03)
    assert fp.carbon_g.coverage == 0.95
    # all lows together would give exp(-1.96 (s_pue + s_ci)): 9 % lower, outside the tolerance
    env = footprint(energy_kwh=10.0, site=site, bounds="envelope").carbon_g
    assert env.low == pytest.approx(central * math.exp(-Z95 * (s_pue + s_ci)))
    assert env.low < 0.95 * fp.carbon_g.low


def test_water_total_matches_a_large_independent_monte_carlo():
    pue = Estimate(1.3, 1.1, 1.5)  # a stated bound: uniform
    wue, ewif = lognormal(0.5, 0.3), lognormal(3.0, 0.45)
    energy = Estimate(36e6, 30e6, 40e6, distribution="triangular")
    fp = footprint(energy_j=energy, site=Site(pue=pue, wue=wue, ewif=ewif))
    rng = np.random.default_rng(99)
    n = 400_000
    e, p, w, x = (draw(v, rng, n) for v in (energy, pue, wue, ewif))
    total = e / KWH * (w + p * x)
    lo, hi = np.quantile(total, [0.025, 0.975])
    got = fp.water.total_l
    assert got.central == pytest.approx(36e6 / KWH * (0.5 + 1.3 * 3.0))
    assert got.low == pytest.approx(lo, rel=0.03) and got.high == pytest.approx(hi, rel=0.03)
    assert "numerical convolution" in got.basis and "PUE (uniform)" in got.basis


def test_one_uncertain_input_maps_exactly_to_95_percent():
    # Kenya's derived EWIF states a 90 % log-normal range; the off-site water's 95 % interval is
    # that distribution's 2.5 % / 97.5 % quantiles times the exact rest (no Monte Carlo noise)
    g = grid.factors("KEN", "derived")
    fp = footprint(energy_kwh=10.0, site=Site(pue=1.2, wue=0.0, country="KEN", ewif_source="derived"))
    off = fp.water.offsite_l
    x = draw(g.ewif, np.random.default_rng(8), 1_000_000)
    lo, hi = 12.0 * np.quantile(x, [0.025, 0.975])
    assert g.ewif.coverage == 0.9 and off.coverage == 0.95 and off.distribution == "lognormal"
    assert off.low == pytest.approx(lo, rel=0.005) and off.high == pytest.approx(hi, rel=0.005)
    assert off.low < 12.0 * g.ewif.low  # beyond the 90 % range: a 95 % interval may leave the envelope
    # a stated bound keeps its whole support (coverage 1), mapped exactly
    fac = footprint(energy_kwh=10.0, site=Site(pue={"central": 1.2, "low": 1.1, "high": 1.4}, wue=0.5, ewif=1.0))
    assert (fac.facility_energy_j.low, fac.facility_energy_j.high) == pytest.approx((11 * KWH, 14 * KWH))
    assert fac.facility_energy_j.distribution == "uniform"


# ---- the stated coverage is honest -------------------------------------------------------------
def test_95_percent_footprint_intervals_contain_the_truth_95_percent_of_the_time():
    """Simulated runs with known input errors, each drawn as its estimate declares.

    Per trial: true CPU and DRAM energy (the record holds modelled values, truth uniform
    within +/-30 % and +/-60 % of them: two independent sensors), a site PUE within a stated
    +/-0.1 bound, WUE, EWIF and carbon intensity published with log-normal 95 % ranges. The
    footprint's 95 % intervals must contain the true water and carbon in ~95 % of trials:
    an envelope (~100 %) or a correlation wrongly declared would fail.
    """
    rng = np.random.default_rng(13)
    trials = 500
    inside = {"water": 0, "carbon": 0, "facility": 0}
    s_wue, s_ewif, s_ci = 0.30, 0.45, 0.15
    for _ in range(trials):
        cpu_true, dram_true, pue_true, wue_true, ewif_true, ci_true = 2.0e6, 1.6e6, 1.2, 0.5, 3.0, 400.0
        cpu_obs = cpu_true / (1 + rng.uniform(-0.3, 0.3))
        dram_obs = dram_true / (1 + rng.uniform(-0.6, 0.6))
        pue_obs = pue_true - rng.uniform(-0.1, 0.1)
        rec = record_of(
            {"cpu": Estimate.relative(cpu_obs, 0.3, 0.3), "dram": Estimate.relative(dram_obs, 0.6, 0.6)}
        )
        site = Site(
            pue=Estimate(pue_obs, pue_obs - 0.1, pue_obs + 0.1),
            wue=lognormal(wue_true * math.exp(-s_wue * rng.standard_normal()), s_wue),
            ewif=lognormal(ewif_true * math.exp(-s_ewif * rng.standard_normal()), s_ewif),
            carbon_intensity_g_per_kwh=lognormal(ci_true * math.exp(-s_ci * rng.standard_normal()), s_ci),
        )
        fp = footprint(rec, site=site)
        e_kwh = (cpu_true + dram_true) / KWH
        inside["water"] += fp.water.total_l.contains(e_kwh * (wue_true + pue_true * ewif_true))
        inside["carbon"] += fp.carbon_g.contains(e_kwh * pue_true * ci_true)
        inside["facility"] += fp.facility_energy_j.contains((cpu_true + dram_true) * pue_true)
    sigma = math.sqrt(0.95 * 0.05 / trials)
    for name, count in inside.items():
        assert abs(count / trials - 0.95) < 3 * sigma, (name, count / trials)


# ---- declared correlations -------------------------------------------------------------------
def test_pue_independent_of_the_grid_factor_interval_strictly_inside_the_envelope():
    # Austria: a published EWIF with a wide hydropower-allocation range (a stated span)
    site = Site(pue={"central": 1.3, "low": 1.1, "high": 1.5}, wue=0.4, country="AUT")
    fp = footprint(energy_kwh=100.0, site=site)
    env = footprint(energy_kwh=100.0, site=site, bounds="envelope")
    for name in ("offsite_l", "total_l"):
        a, b = getattr(fp.water, name), getattr(env.water, name)
        assert a.central == pytest.approx(b.central)
        assert b.low < a.low < a.central < a.high < b.high, name
    assert env.carbon_g.low < fp.carbon_g.low < fp.carbon_g.high < env.carbon_g.high
    # and the interval is that of the independent product, not of the two moving together
    g = grid.factors("AUT")
    rng = np.random.default_rng(5)
    p, ci = draw(site.pue, rng, 400_000), draw(g.carbon, rng, 400_000)
    lo, hi = np.quantile(100 * p * ci, [0.025, 0.975])
    assert fp.carbon_g.low == pytest.approx(lo, rel=0.02) and fp.carbon_g.high == pytest.approx(hi, rel=0.02)
    assert env.assumption("bounds").value == "envelope" and fp.assumption("bounds").value == "interval"


def test_components_are_independent_sensors_drawn_once():
    rec = record_of({"cpu": Estimate.relative(50.0, 0.5, 0.5), "dram": Estimate.relative(50.0, 0.5, 0.5)})
    fp = footprint(rec, site=Site(pue=1.0, wue=1.0, ewif=0.0))
    e = fp.it_energy_j
    # the record's own total (the same independent-sensor rule, the same seeded draws)
    total = rec.energy_uncertainty
    assert (e.central, e.low, e.high) == pytest.approx((total.central, total.low, total.high), rel=1e-9)
    assert 50.0 < e.low and e.high < 150.0  # not every component at its low together (50 .. 150)
    # the water is the same draws times an exact factor: same relative interval
    w = fp.water.onsite_l
    assert w.low / w.central == pytest.approx(e.low / e.central) and w.high / w.central == pytest.approx(e.high / e.central)


def test_one_factor_is_one_draw_over_every_hour_of_a_run():
    # 24 hours with an hourly wet-bulb profile: the profile scales ONE annual WUE draw, so on-site
    # water keeps WUE's relative range; 24 independent hourly draws would shrink it ~5x
    rec = RunRecord(
        name="day",
        status="ok",
        started_at="2025-06-01T00:00:00Z",
        duration_s=86400.0,
        components={"gpu": Component("gpu", 8.64e7, "counter", Estimate.exact(8.64e7))},
        timeline=Timeline(t_s=[float(h * 3600) for h in range(24)], power_w={"gpu:0": [1000.0] * 24}),
    )
    wue = lognormal(0.5, 0.3)
    site = Site(pue=1.2, wue=wue, ewif=2.0, wet_bulb_hourly_c=[10.0 + h for h in range(24)])
    fp = footprint(rec, site=site)
    assert len(fp.periods) == 24
    on = fp.water.onsite_l
    assert on.low / on.central == pytest.approx(wue.low / wue.central)
    assert on.high / on.central == pytest.approx(wue.high / wue.central)
    assert on.coverage == 0.95 and on.distribution == "lognormal"


def test_derived_consumption_and_withdrawal_of_one_mix_move_together():
    d = Draws()
    g = grid.factors("KEN", "derived")
    x = d.input("ewif", g.ewif, "EWIF")
    w = d.input("ewif_withdrawal", g.ewif_withdrawal, "withdrawal EWIF", like="ewif")
    ranks = [np.argsort(np.argsort(v.draws)) for v in (x, w)]
    assert np.corrcoef(*ranks)[0, 1] == pytest.approx(1.0)
    free = Draws().input("ewif_withdrawal", g.ewif_withdrawal, "withdrawal EWIF", like="ewif")  # no EWIF drawn: free
    assert abs(np.corrcoef(np.argsort(np.argsort(free.draws)), ranks[0])[0, 1]) < 0.1
    fp = footprint(energy_kwh=10.0, site=Site(pue=1.2, wue=0.5, country="KEN", ewif_source="derived"))
    assert "rank-correlated" in fp.water.offsite_withdrawal_l.basis
    given = footprint(energy_kwh=10.0, site=Site(pue=1.2, wue=0.5, ewif=3.0, country="KEN"))
    assert "rank-correlated" not in given.water.offsite_withdrawal_l.basis  # a given EWIF is other data


# ---- the figures -----------------------------------------------------------------------
def demo_like_record() -> RunRecord:
    """The components of an `ecometer demo` record (modelled CPU and DRAM, stated bounds)."""
    return record_of(
        {
            "cpu": Estimate(61.519, 39.265, 86.622),
            "dram": Estimate(72.505, 20.301, 127.609),
        }
    )


def test_carbon_bounds_extend_both_ways():
    fp = footprint(demo_like_record(), site="us-average")
    c = fp.carbon_g
    assert c.low < 0.9 * c.central and c.high > 1.1 * c.central
    for country in ("USA", "FRA", "KEN", "NOR"):
        per_j = footprint(energy_kwh=1.0, site=Site(pue=1.1, wue=0.3, country=country)).intensity["carbon_g"]
        assert per_j.low < per_j.central < per_j.high, country


def test_demo_withdrawal_range_no_longer_the_envelope():
    """The demo's withdrawal read 88 uL .. 4,813 uL around 162 uL (+/-1,450 %) with every low
    together. Propagated, what is left is the withdrawal factor's own range (cooling towers
    vs once-through, the same for every draw of the run): -0 % / +1,910 %, +/-950 %."""
    rec = demo_like_record()
    env = footprint(rec, site="us-average", bounds="envelope").water.withdrawal_l
    fp = footprint(rec, site="us-average").water.withdrawal_l
    # the issue's +/-1,400 % shrank further once the U.S. central withdrawal came from its cooling mix (issue 23)
    assert env.rel_halfwidth > fp.rel_halfwidth
    assert fp.central == pytest.approx(env.central)
    assert env.low < fp.low and fp.high < 0.75 * env.high
    assert fp.rel_halfwidth < 10.0 and fp.coverage == 0.95


# ---- the explicit envelope keeps the old arithmetic ------------------------------------------------
def test_envelope_reproduces_every_low_together():
    e = {"central": 10.0, "low": 9.0, "high": 12.0}  # kWh
    pue, wue, ewif, ci = (1.1, 1.2, 1.4), (0.4, 0.5, 0.7), (2.0, 3.0, 5.0), (300.0, 400.0, 450.0)
    wue_w, ewif_w = (0.5, 0.6, 0.9), (2.5, 40.0, 60.0)

    def est(t):
        return {"central": t[1], "low": t[0], "high": t[2]}

    site = Site(
        pue=est(pue), wue=est(wue), ewif=est(ewif), carbon_intensity_g_per_kwh=est(ci),
        wue_withdrawal=est(wue_w), ewif_withdrawal=est(ewif_w),
    )  # fmt: skip
    fp = footprint(energy_kwh=e, site=site, bounds="envelope")
    for i, b in enumerate(("low", "central", "high")):
        k = e[b]
        expected = {
            "facility_energy_j": k * KWH * pue[i],
            "onsite_l": k * wue[i],
            "offsite_l": k * pue[i] * ewif[i],
            "total_l": k * (wue[i] + pue[i] * ewif[i]),
            "withdrawal_l": k * (wue_w[i] + pue[i] * ewif_w[i]),
            "carbon_g": k * pue[i] * ci[i],
        }
        got = {
            "facility_energy_j": fp.facility_energy_j,
            "carbon_g": fp.carbon_g,
            **{n: getattr(fp.water, n) for n in ("onsite_l", "offsite_l", "total_l", "withdrawal_l")},
        }
        for name, value in expected.items():
            assert getattr(got[name], b) == pytest.approx(value), (name, b)
            assert got[name].distribution == "envelope" and got[name].coverage is None
    assert "not a confidence interval" in fp.assumption("bounds").note


def test_unknown_bounds_option_is_refused():
    with pytest.raises(FootprintError, match="bounds 'worst'.*'interval'.*'envelope'"):
        footprint(energy_kwh=1.0, site="us-average", bounds="worst")


# ---- per-joule intensity for joint draws ---------------------------------------------------------
def test_intensity_times_it_energy_is_the_figure_and_excludes_the_energy_error():
    rec = demo_like_record()
    site = Site(pue={"central": 1.2, "low": 1.1, "high": 1.3}, wue=lognormal(0.4, 0.2), country="FRA")
    fp = footprint(rec, site=site)
    assert list(fp.intensity) == list(INTENSITY_KEYS)
    e = fp.it_energy_j.central
    figures = {
        "facility_energy_j": fp.facility_energy_j,
        "water_onsite_l": fp.water.onsite_l,
        "water_offsite_l": fp.water.offsite_l,
        "water_total_l": fp.water.total_l,
        "water_withdrawal_l": fp.water.withdrawal_l,
        "carbon_g": fp.carbon_g,
    }
    for key, figure in figures.items():
        assert e * fp.intensity[key].central == pytest.approx(figure.central), key
        # the energy's +/-45 % is left out: each intensity is narrower than its figure
        assert fp.intensity[key].rel_halfwidth < figure.rel_halfwidth, key
    assert fp.intensity["facility_energy_j"].to_dict()["low"] == pytest.approx(1.1)  # PUE alone: its bound
    # joint draws of IT energy and intensity give back the figure's interval
    rng = np.random.default_rng(3)
    n = 200_000
    e_draws = sum(draw(c.uncertainty, rng, n) for c in rec.components.values())
    total = e_draws * draw(fp.intensity["water_total_l"], rng, n)
    lo, hi = np.quantile(total, [0.025, 0.975])
    # (within the shape approximation: a summarised intensity is drawn log-normal)
    assert fp.water.total_l.low == pytest.approx(lo, rel=0.08) and fp.water.total_l.high == pytest.approx(hi, rel=0.08)
    # an exact site: no factor uncertainty, the intensity is exact and the figure carries the energy's
    plain = footprint(rec, site=Site(pue=1.2, wue=0.4, ewif=2.0))
    assert plain.intensity["water_total_l"].is_exact
    assert "carbon_g" not in plain.intensity and "water_withdrawal_l" not in plain.intensity


# ---- the dict: schema 2, and schema 1 still loads ------------------------------------------------
def test_footprint_dict_round_trips_and_schema_one_still_loads():
    fp = footprint(demo_like_record(), site="us-average")
    data = json.loads(json.dumps(fp.to_dict()))
    assert data["schema_version"] == 2 and data["bounds"] == "interval"
    assert data["water"]["total_l"]["coverage"] == 0.95 and "numerical convolution" in data["water"]["total_l"]["basis"]
    assert set(data["intensity"]) == set(INTENSITY_KEYS)
    assert Footprint.from_dict(data).to_dict() == data
    assert footprint(demo_like_record(), site="us-average").to_dict() == fp.to_dict()  # seeded: reproducible
    old = json.loads(json.dumps(data))
    old["schema_version"] = 1
    for key in ("bounds", "intensity"):
        del old[key]

    def strip(node):
        if isinstance(node, dict):
            for k in ("coverage", "distribution", "basis"):
                if "central" in node:
                    node.pop(k, None)
            for v in node.values():
                strip(v)

    strip(old)
    back = Footprint.from_dict(old)
    assert back.bounds == "envelope" and back.water.total_l.coverage is None and back.intensity == {}
    assert back.water.total_l.distribution == "envelope" and back.it_energy_j.distribution == "uniform"
    assert back.water.total_l.central == pytest.approx(fp.water.total_l.central)
    with pytest.raises(FootprintError, match="schema_version"):
        Footprint.from_dict({**data, "schema_version": 3})
    with pytest.raises(FootprintError, match="water.total_l"):
        Footprint.from_dict({**data, "water": {**data["water"], "total_l": {"central": 1.0, "low": 2.0, "high": 3.0}}})
