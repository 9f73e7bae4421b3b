"""Footprint: Li et al.'s U.S. row, bounds, time-varying sites, presets, derived EWIF, bad input."""

from __future__ import annotations

import copy
import importlib
import inspect
import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import ecometer
from ecometer.errors import InputError, SiteError
from ecometer.files import datafiles
from ecometer.impact import Footprint, Site, footprint, grid
from ecometer.impact.site import wet_bulb_relative
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord, Timeline

KWH = 3.6e6


def make_record(
    started_at: str = "2025-06-01T13:30:00Z",
    duration_s: float = 3600.0,
    energy_j: float = 3.6e6,
    rel: float = 0.0,
    t_s: list[float] | None = None,
    power: list[float] | None = None,
) -> RunRecord:
    comp = Component("gpu", energy_j, "counter", Estimate(energy_j, energy_j * (1 - rel), energy_j * (1 + rel)))
    tl = Timeline(t_s=t_s or [], power_w={"gpu:0": power} if power else {}, bucket_s=0.0)
    return RunRecord(
        name="r", status="ok", started_at=started_at, duration_s=duration_s, components={"gpu": comp}, timeline=tl
    )


# ---- Li et al. (Making AI Less Thirsty), Table 1, U.S. average -----------------------------
def test_li_us_average_training_row():
    fp = footprint(energy_kwh=1_287_000, site="us-average")
    assert fp.water.onsite_l / 1e6 == pytest.approx(0.708, abs=0.0005)
    assert fp.water.offsite_l / 1e6 == pytest.approx(4.731, abs=0.0005)
    assert fp.water.total_l / 1e6 == pytest.approx(5.439, abs=0.0005)
    assert fp.facility_energy_j / KWH == pytest.approx(1_287_000 * 1.17)
    # the same row from the values written out by hand
    by_hand = footprint(energy_kwh=1_287_000, site=Site(pue=1.17, wue=0.55, ewif=3.142))
    assert by_hand.water.total_l == pytest.approx(fp.water.total_l)


def test_li_us_average_per_request():
    fp = footprint(energy_kwh=0.004, site="us-average")
    ml = fp.water.total_l * 1000  # a Figure behaves as its central float
    assert ml == pytest.approx(16.9, abs=0.05)
    assert 500 / ml == pytest.approx(29.6, abs=0.05)  # requests per 500 mL bottle
    per = footprint(energy_kwh=1.0, site="us-average").per(250, "request")
    assert per.water.total_l == pytest.approx(fp.water.total_l)
    assert per.assumption("functional_unit").value == 250


def test_wue_applies_to_it_energy_not_facility_energy():
    fp = footprint(energy_kwh=100, site=Site(pue=1.5, wue=2.0, ewif=0.0))
    assert fp.water.onsite_l == pytest.approx(200.0)  # 100 kWh x 2 L/kWh, not x 1.5
    assert fp.water.offsite_l == 0.0
    fp2 = footprint(energy_kwh=100, site=Site(pue=1.5, wue=0.0, ewif=2.0))
    assert fp2.water.offsite_l == pytest.approx(300.0)  # off-site water follows facility energy


# ---- figures and bounds ------------------------------------------------------------------
def test_footprint_figures_are_estimates():
    fp = footprint(energy_kwh={"central": 2.0, "low": 1.0, "high": 3.0}, site=Site(pue=1.0, wue=1.0, ewif=0.0))
    f = fp.water.onsite_l
    assert isinstance(f, Estimate) and f * 1000 == 2000.0 and type(f * 1000) is float
    assert (f.low, f.central, f.high) == (1.0, 2.0, 3.0)
    assert f.to_dict()["coverage"] is None and f.to_dict()["distribution"] == "uniform"  # the input's own claim
    for clone in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f)):
        assert (clone.low, clone.central, clone.high) == (1.0, 2.0, 3.0)
    assert f.scaled(2).to_dict()["high"] == 6.0


def test_record_energy_bounds_propagate_into_every_figure():
    rec = make_record(energy_j=36e6, rel=0.1)  # 10 kWh +/- 10 %
    site = Site(pue=1.2, wue=0.5, ewif=2.0, carbon_intensity_g_per_kwh=400)
    fp = footprint(rec, site=site)
    assert fp.it_energy_j.low == pytest.approx(32.4e6) and fp.it_energy_j.high == pytest.approx(39.6e6)
    for fig, per_kwh in (
        (fp.facility_energy_j, 1.2 * KWH),
        (fp.water.onsite_l, 0.5),
        (fp.water.offsite_l, 1.2 * 2.0),
        (fp.water.total_l, 0.5 + 2.4),
        (fp.carbon_g, 1.2 * 400),
    ):
        assert fig.central == pytest.approx(10 * per_kwh)
        assert fig.low == pytest.approx(9 * per_kwh) and fig.high == pytest.approx(11 * per_kwh)


def test_site_value_bounds_combine_with_energy_bounds():
    site = Site(pue={"central": 1.2, "low": 1.1, "high": 1.4}, wue=0.5, ewif=2.0)
    env = footprint(energy_kwh={"central": 10, "low": 9, "high": 12}, site=site, bounds="envelope")
    assert env.water.offsite_l.low == pytest.approx(9 * 1.1 * 2.0)
    assert env.water.offsite_l.high == pytest.approx(12 * 1.4 * 2.0)
    assert env.assumption("pue").low == 1.1 and env.assumption("pue").high == 1.4
    # by default the two independent stated bounds combine into a 95 % interval inside the envelope
    fp = footprint(energy_kwh={"central": 10, "low": 9, "high": 12}, site=site)
    off = fp.water.offsite_l
    assert off.central == pytest.approx(24.0) and off.coverage == 0.95
    assert env.water.offsite_l.low < off.low < off.central < off.high < env.water.offsite_l.high


def test_footprint_does_not_mutate_record_and_round_trips_through_it():
    rec = make_record(t_s=[0, 1800], power=[1000.0, 1000.0])
    before = rec.to_dict()
    fp = footprint(rec, site="us-average")
    assert rec.to_dict() == before
    data = fp.to_dict()
    assert Footprint.from_dict(data).to_dict() == data
    assert Footprint.from_dict(json.loads(json.dumps(data))).to_dict() == data
    rec.attach("footprint", fp)
    again = RunRecord.from_dict(json.loads(rec.to_json()))
    assert isinstance(again.footprint, Footprint)
    assert again.footprint.to_dict() == data


# ---- time-varying sites --------------------------------------------------------------------
def hourly(**values: float) -> list[float]:
    out = [0.0] * 24
    for k, v in values.items():
        out[int(k[1:])] = v
    return out


def test_run_spanning_two_hours_uses_both_hours_factors():
    # 13:30 -> 14:30 UTC, constant power: half the energy in each hour
    rec = make_record(t_s=[0.0, 900.0, 1800.0, 2700.0], power=[1000.0] * 4)
    site = Site(pue=1.0, wue_hourly=hourly(h13=1.0, h14=3.0), ewif=0.0)
    fp = footprint(rec, site=site)
    assert fp.water.onsite_l == pytest.approx(0.5 * 1.0 + 0.5 * 3.0)
    assert [p["utc_hour"] for p in fp.periods] == ["2025-06-01T13:00Z", "2025-06-01T14:00Z"]
    assert fp.assumption("utc_offset_h").source == "default"
    assert fp.assumption("time_allocation").value == "timeline"


def test_hour_weights_follow_the_runs_own_timeline():
    # 3 kW in the second hour, 1 kW in the first: a uniform spread would give 2.0 L
    rec = make_record(t_s=[0.0, 1800.0], power=[1000.0, 3000.0])
    fp = footprint(rec, site=Site(pue=1.0, wue_hourly=hourly(h13=1.0, h14=3.0), ewif=0.0))
    assert fp.water.onsite_l == pytest.approx(0.25 * 1.0 + 0.75 * 3.0)


def test_utc_offset_moves_local_hours():
    rec = make_record(t_s=[0.0, 1800.0], power=[1000.0, 1000.0])
    site = Site(pue=1.0, wue_hourly=hourly(h15=2.0, h16=4.0), ewif=0.0, utc_offset_h=2)
    fp = footprint(rec, site=site)
    assert fp.water.onsite_l == pytest.approx(3.0)
    assert [p["local_hour"] for p in fp.periods] == [15, 16]
    assert fp.assumption("utc_offset_h").source == "user"


def test_fractional_utc_offset_splits_at_local_hour_boundaries():
    # 13:00-14:00 UTC at UTC+5:30 is 18:30-19:30 local: half in local hour 18, half in 19
    rec = make_record(started_at="2025-06-01T13:00:00Z", t_s=[0.0], power=[1000.0])
    fp = footprint(rec, site=Site(pue=1.0, wue_hourly=hourly(h18=1.0, h19=3.0), ewif=0.0, utc_offset_h=5.5))
    assert fp.water.onsite_l == pytest.approx(2.0)
    assert [(p["local_hour"], p["seconds"]) for p in fp.periods] == [(18, 1800.0), (19, 1800.0)]
    assert sum(p["energy_fraction"] for p in fp.periods) == pytest.approx(1.0, abs=1e-12)


def test_monthly_wue_across_a_month_boundary():
    rec = make_record(started_at="2025-01-31T23:00:00Z", duration_s=7200, t_s=[0.0, 3600.0], power=[500.0, 500.0])
    monthly = [1.0] * 12
    monthly[1] = 5.0  # February
    fp = footprint(rec, site=Site(pue=1.0, wue_monthly=monthly, ewif=0.0))
    assert fp.water.onsite_l == pytest.approx(0.5 * 1.0 + 0.5 * 5.0)


def test_hourly_grid_by_utc_hour_and_its_gaps():
    rec = make_record(t_s=[0.0, 1800.0], power=[1000.0, 1000.0])
    grid_series = {
        "ewif": {"2025-06-01T13:00Z": 2.0, "2025-06-01T14:00Z": 6.0},
        "carbon_g_per_kwh": hourly(h13=100, h14=300),
    }
    fp = footprint(rec, site=Site(pue=1.5, wue=0.0, grid_hourly=grid_series))
    assert fp.water.offsite_l == pytest.approx(1.5 * (0.5 * 2.0 + 0.5 * 6.0))
    assert fp.assumption("grid_hourly_ewif").value == grid_series["ewif"]
    assert fp.carbon_g == pytest.approx(1.5 * 200.0)
    gap = {"ewif": {"2025-06-01T13:00Z": 2.0}}
    with pytest.raises(InputError, match="2025-06-01T14:00Z"):
        footprint(rec, site=Site(pue=1.5, wue=0.0, grid_hourly=gap))


def test_time_varying_site_without_time_uses_annual_values_and_says_so(caplog):
    site = Site(pue=1.0, wue=1.0, wue_hourly=hourly(h13=9.0), ewif=0.0)
    with caplog.at_level("WARNING", logger="ecometer.impact"):
        fp = footprint(energy_kwh=2, site=site)
    assert fp.water.onsite_l == pytest.approx(2.0)
    assert any("annual values" in w for w in fp.warnings)
    assert fp.assumption("time_allocation").value == "none"
    assert any("annual values" in r.message for r in caplog.records)


def test_wet_bulb_profile_is_scaled_to_the_annual_wue():
    temps = [10.0 + (8.0 if 10 <= h <= 17 else 0.0) for h in range(24)]
    rel = wet_bulb_relative(temps)
    assert sum(rel) / 24 == pytest.approx(1.0)
    assert rel[14] > rel[2]  # hotter afternoon, thirstier
    rec = make_record(started_at="2025-06-01T14:00:00Z", t_s=[0.0], power=[1000.0])
    fp = footprint(rec, site=Site(pue=1.0, wue=0.5, wet_bulb_hourly_c=temps, ewif=0.0))
    assert fp.water.onsite_l == pytest.approx(0.5 * rel[14])
    assert fp.assumption("wue_profile_from_wet_bulb").source != "user"


# ---- bad input ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"pue": 0.9}, ["pue", "0.9", ">= 1"]),
        ({"pue": "high"}, ["pue", "high"]),
        ({"wue": -0.1}, ["wue", "-0.1", ">= 0"]),
        ({"ewif": float("nan")}, ["ewif"]),
        ({"country": "Frnace"}, ["Frnace", "alpha-3", "FRA"]),
        ({"wue_hourly": [1.0] * 23}, ["wue_hourly", "23", "24"]),
        ({"wue_monthly": [1.0] * 11 + [None]}, ["wue_monthly[11]", "gap"]),
        ({"wue": 1.0, "wue_hourly": [1.0] * 24, "wue_monthly": [1.0] * 12}, ["one on-site profile"]),
        ({"wet_bulb_hourly_c": [10.0] * 24}, ["wet_bulb_hourly_c", "wue="]),
        ({"grid_hourly": {"water": [1.0] * 24}}, ["water", "ewif", "carbon_g_per_kwh"]),
        ({"grid_hourly": {"ewif": {"2025-06-01T13:30Z": 1.0}}}, ["13:30", "not on the hour"]),
        ({"utc_offset_h": 20}, ["utc_offset_h", "-14"]),
        ({"pue": {"central": 1.2, "low": 1.3, "high": 1.4}}, ["pue", "low <= central <= high"]),
    ],
)
def test_bad_site_values_name_value_and_expectation(kwargs, words):
    with pytest.raises(InputError) as err:
        Site(**kwargs)
    for w in words:
        assert w in str(err.value)


def test_unknown_preset_suggests_close_matches():
    with pytest.raises(InputError, match=r"us-avg.*us-average"):
        Site.preset("us-avg")
    with pytest.raises(InputError, match="unknown field"):
        Site.preset("us-average", puee=1.2)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"energy_kwh": -1}, ["-1", ">= 0"]),
        ({"energy_kwh": float("inf")}, ["inf"]),
        ({"energy_kwh": 1, "energy_j": 1}, ["exactly one"]),
        ({}, ["exactly one", "none"]),
        ({"energy_kwh": "ten"}, ["ten"]),
    ],
)
def test_bad_energy(kwargs, words):
    with pytest.raises(InputError) as err:
        footprint(site="us-average", **kwargs)
    for w in words:
        assert w in str(err.value)


def test_missing_site_values_are_named_not_defaulted():
    with pytest.raises(InputError, match="no PUE"):
        footprint(energy_kwh=1, site=Site(wue=0.5, ewif=1.0))
    with pytest.raises(InputError, match="no WUE"):
        footprint(energy_kwh=1, site=Site(pue=1.2, ewif=1.0))
    with pytest.raises(InputError, match="no off-site water factor"):
        footprint(energy_kwh=1, site=Site.preset("aws-2023"))
    fp = footprint(energy_kwh=1, site=Site(pue=1.2, wue=0.5, ewif=3.0))  # no carbon source given
    assert fp.carbon_g is None and any("carbon" in w for w in fp.warnings)
    assert fp.assumption("carbon_intensity").source == "default"


# ---- presets and provenance ------------------------------------------------------------------
def test_every_preset_value_has_source_year_and_licence():
    data = datafiles.load("site_presets")
    for name, entry in data["presets"].items():
        assert entry["description"]
        for fname, spec in entry["values"].items():
            src = data["sources"][spec["source"]]
            assert src["citation"] and src["licence"] and isinstance(src["year"], int), (name, fname)
            assert isinstance(spec["year"], int), (name, fname)
        site = Site.preset(name)
        for fname in entry["values"]:
            prov = site.provenance[fname]
            assert prov["source"] != "user" and prov["year"] and prov["licence"], (name, fname)


def test_presets_listing_and_user_values_win():
    names = [p.name for p in Site.presets()]
    assert {"us-average", "aws-2023", "microsoft-2024", "meta-2023", "industry-average-2024", "eu-eed-2024"} <= set(
        names
    )
    assert all(p.description for p in Site.presets())
    site = Site.preset("us-average", wue=0.9)
    assert site.wue == 0.9 and site.provenance["wue"] == {"source": "user"}
    fp = footprint(energy_kwh=1, site=site)
    assert fp.assumption("wue").source == "user"
    assert "us-average" in fp.assumption("pue").source
    # a different country drops the preset's U.S. EWIF instead of mixing locations
    fr = Site.preset("us-average", country="FRA")
    assert fr.ewif is None and fr.country == "FRA"


def test_assumptions_list_every_input_including_defaults():
    rec = make_record(t_s=[0.0, 1800.0], power=[1.0, 1.0])
    fp = footprint(rec, site=Site(pue=1.2, wue_hourly=[0.5] * 24, country="DEU"))
    names = {a.name for a in fp.assumptions}
    assert {
        "it_energy_j",
        "pue",
        "wue_hourly",
        "wue",
        "ewif",
        "ewif_excluding_hydropower",
        "hydropower_share",
        "generation_mix",
        "carbon_intensity",
        "withdrawal",
        "onsite_withdrawal_per_consumption",
        "ewif_withdrawal",
        "time_allocation",
        "utc_offset_h",
        "bounds",
        "scope",
    } <= names
    assert fp.assumption("wue").source == "default"  # mean of the profile, stated as a default
    assert "record 'r'" in fp.assumption("it_energy_j").source


def test_withdrawal_where_factors_are_given():
    site = Site(pue=1.2, wue=0.5, ewif=2.0, ewif_withdrawal=40.0, wue_withdrawal=0.8, country="FRA")
    fp = footprint(energy_kwh=10, site=site)
    assert fp.water.offsite_withdrawal_l == pytest.approx(10 * 1.2 * 40)
    assert fp.water.withdrawal_l == pytest.approx(10 * 0.8 + 10 * 1.2 * 40)
    # the user's factors win over the country's derived ones
    assert fp.assumption("ewif_withdrawal").source == "user" and fp.assumption("wue_withdrawal").source == "user"


def test_withdrawal_not_computed_for_a_given_ewif_without_country_says_why():
    fp = footprint(energy_kwh=10, site=Site(pue=1.2, wue=0.5, ewif=2.0))
    assert fp.water.withdrawal_l is None and fp.water.offsite_withdrawal_l is None
    assert fp.water.total_l == pytest.approx(10 * 0.5 + 10 * 1.2 * 2.0)  # consumption unaffected
    off = fp.assumption("ewif_withdrawal")
    assert off.value is None and off.source == "default"
    for words in ("given directly", "no country", "ewif_withdrawal=", "country="):
        assert words in off.note
    assert fp.assumption("withdrawal").value is None and "not computed" in fp.assumption("withdrawal").text
    # the on-site part is still computed from WUE: consumption / evaporated fraction
    frac = datafiles.load("water_factors")["onsite_withdrawal"]["consumed_fraction"]
    assert fp.water.onsite_withdrawal_l == pytest.approx(fp.water.onsite_l / frac["central"])
    assert fp.water.onsite_withdrawal_l.low == pytest.approx(fp.water.onsite_l / frac["low_bound_fraction"])


def test_withdrawal_factors_trace_to_their_sources():
    data = datafiles.load("water_factors")
    rows = data["sources_by_mix_key"]
    for key, row in rows.items():
        w = row["withdrawal"]
        for bound in ("low", "central", "high"):
            src = data["sources"][w[bound]["source"]]
            assert src["citation"] and src["licence"] and isinstance(src["year"], int), (key, bound)
        assert w["low"]["value"] <= w["central"]["value"] <= w["high"]["value"], key
        # withdrawal is never below consumption at the same cooling assumption
        assert w["central"]["value"] >= row["central"]["value"], key
        assert w["low"]["value"] >= row["low"]["value"], key
    # the medians checked against two public transcriptions of Macknick et al. (see 'checked_against')
    checked = {
        ("coal", "central"): 1005,
        ("coal", "high"): 36350,
        ("gas", "central"): 255,
        ("gas", "high"): 11380,
        ("nuclear", "central"): 1101,
        ("nuclear", "high"): 44350,
        ("biofuel", "central"): 878,
    }
    for (key, bound), value in checked.items():
        assert rows[key]["withdrawal"][bound]["value"] == value, (key, bound)
        assert rows[key]["withdrawal"][bound]["source"] == "macknick2012-withdrawal"
    assert data["sources"]["macknick2012-withdrawal"]["read_from"]


def test_derived_withdrawal_ewif_from_the_mix_and_its_bounds():
    table = datafiles.load("water_factors")["sources_by_mix_key"]
    litres = datafiles.load("water_factors")["litres_per_us_gallon"]["value"]
    for code in ("USA", "FRA", "CHN", "NOR", "DEU"):
        g = grid.factors(code)
        w, c = g.ewif_withdrawal, g.ewif
        by_hand = {
            b: sum(share * table[k]["withdrawal"][b]["value"] * litres / 1000 for k, share in g.shares.items())
            for b in ("low", "central", "high")
        }
        # the central: thermal plants at the country's own cooling shares (issue 23), hydropower as before
        cw = datafiles.load("cooling_water")
        hydro = table["hydro"]["withdrawal"]["central"]["value"] * litres / 1000
        central = 0.0
        for k, share in g.shares.items():
            if k == "hydro":
                central += share * hydro
            elif k in cw["factors_l_per_kwh"]:
                cool = cw["countries"].get(code, {}).get(k) or cw["world_mean_shares"][k]
                central += share * sum(f * cw["factors_l_per_kwh"][k][t]["withdrawal"] for t, f in cool.items())
            else:
                central += share * cw["other_factors_l_per_kwh"][k]["withdrawal"]
        by_hand["central"] = central
        by_hand["low"], by_hand["high"] = min(by_hand["low"], central), max(by_hand["high"], central)
        # each bound is the mix x the data file's factors, raised to at least the consumption bound
        assert w.low == pytest.approx(max(by_hand["low"], c.low), rel=1e-4)
        assert w.central == pytest.approx(max(by_hand["central"], c.central), rel=1e-4)
        assert w.high == pytest.approx(max(by_hand["high"], c.high), rel=1e-4)
        assert w.low <= w.central <= w.high
        assert w.low >= c.low and w.central >= c.central and w.high >= c.high
    usa = grid.factors("USA").ewif_withdrawal
    assert usa.high > 3 * usa.central  # every plant once-through withdraws several times the fleet's mix


def test_derived_withdrawal_vs_usgs_us_fleet():
    """The tower-only mix value is far below the U.S. fleet's withdrawal (once-through plants);
    the published figure lies inside [low, high]. Same numbers as water_factors.json."""
    data = datafiles.load("water_factors")
    row = next(r for r in data["withdrawal_comparison"] if r["country"] == "USA")
    assert data["sources"][row["source"]]["licence"]
    total_twh = sum(grid.mix_data()["USA"]["twh"].values())
    assert total_twh == pytest.approx(row["generation_twh"], rel=0.01)
    litres_per_year = row["published_bgal_per_day"] * 1e9 * 365 * data["litres_per_us_gallon"]["value"]
    published = litres_per_year / (total_twh * 1e9)
    assert published == pytest.approx(row["published_l_per_kwh"], rel=0.01)
    low, central, high = grid.derived_ewif_withdrawal(grid.shares("USA"))
    assert central == pytest.approx(row["derived_central"], rel=0.01)
    assert low == pytest.approx(row["derived_low"], rel=0.01)
    assert high == pytest.approx(row["derived_high"], rel=0.01)
    assert published / central == pytest.approx(row["ratio_published_to_central"], rel=0.01)
    w = grid.factors("USA").ewif_withdrawal
    # issue 23: the central comes from the U.S. cooling mix, no longer the consumption floor (3.13)
    assert w.low <= published <= w.high and 0.5 * published < w.central < published


def test_withdrawal_for_a_country_site():
    site = Site(pue={"central": 1.2, "low": 1.1, "high": 1.3}, wue=0.5, country="FRA")
    env = footprint(energy_kwh=10, site=site, bounds="envelope")
    fp = footprint(energy_kwh=10, site=site)
    g = grid.factors("FRA")
    for each in (env, fp):
        off = each.water.offsite_withdrawal_l
        assert off.central == pytest.approx(10 * 1.2 * g.ewif_withdrawal.central)
    off = env.water.offsite_withdrawal_l
    assert off.low == pytest.approx(10 * 1.1 * g.ewif_withdrawal.low)
    assert off.high == pytest.approx(10 * 1.3 * g.ewif_withdrawal.high)
    frac = datafiles.load("water_factors")["onsite_withdrawal"]["consumed_fraction"]["central"]
    on = env.water.onsite_withdrawal_l
    assert on.central == pytest.approx(env.water.onsite_l.central / frac) and on.low == pytest.approx(env.water.onsite_l)
    for b in ("low", "central", "high"):  # the envelope adds bounds
        total = env.water.withdrawal_l
        assert getattr(total, b) == pytest.approx(getattr(on, b) + getattr(env.water.offsite_withdrawal_l, b))
    total = fp.water.withdrawal_l
    assert total.central == pytest.approx(fp.water.onsite_withdrawal_l.central + fp.water.offsite_withdrawal_l.central)
    assert env.water.withdrawal_l.low <= total.low and total.high < env.water.withdrawal_l.high
    for b in ("low", "central", "high"):  # withdrawal >= consumption in every draw, so in every quantile
        assert getattr(total, b) >= getattr(fp.water.total_l, b)
    a = fp.assumption("ewif_withdrawal")
    assert a.source.startswith("derived") and "FRA" in a.source and "withdrawal medians" in a.source
    assert (a.low, a.value, a.high) == pytest.approx(
        (g.ewif_withdrawal.low, g.ewif_withdrawal.central, g.ewif_withdrawal.high)
    )
    assert "once-through" in a.note and "towers" in a.note
    assert fp.assumption("onsite_withdrawal_per_consumption").source.startswith("Bloomberg")
    # round trip keeps the withdrawal figures
    again = Footprint.from_dict(json.loads(json.dumps(fp.to_dict())))
    assert again.water.withdrawal_l.to_dict() == total.to_dict()


def test_preset_with_country_reports_withdrawal_not_below_its_given_consumption():
    fp = footprint(energy_kwh=1_287_000, site="us-average")  # EWIF 3.142 given, country USA
    w, c = fp.water.offsite_withdrawal_l, fp.water.offsite_l
    assert fp.water.withdrawal_l is not None
    for b in ("low", "central", "high"):
        assert getattr(w, b) >= getattr(c, b) * (1 - 1e-12)
    # the derived U.S. central (the fleet's cooling mix, issue 23) is well above Li et al.'s consumption EWIF
    assert grid.factors("USA").ewif_withdrawal.central > 5 * 3.142
    assert w.central > 5 * c.central
    assert fp.water.total_l / 1e6 == pytest.approx(5.439, abs=0.0005)  # consumption unchanged


def test_hourly_ewif_site_uses_annual_withdrawal_and_says_so():
    rec = make_record(t_s=[0.0, 1800.0], power=[1000.0, 1000.0])
    site = Site(pue=1.0, wue=0.0, country="DEU", grid_hourly={"ewif": hourly(h13=2.0, h14=6.0)})
    fp = footprint(rec, site=site)
    assert fp.water.offsite_l == pytest.approx(0.5 * 2.0 + 0.5 * 6.0)
    g = grid.factors("DEU").ewif_withdrawal
    assert fp.water.offsite_withdrawal_l.high == pytest.approx(max(g.high, 4.0))
    assert "hourly EWIF applies to consumption only" in fp.assumption("ewif_withdrawal").note


# ---- grid factors: published where present, a measured fallback elsewhere -------------------
def test_published_factor_is_used_with_its_hydropower_allocation_range():
    pub = grid.published_factors()
    sens = datafiles.load("water_factors")["published_sensitivity"]
    for code in ("USA", "FRA", "AUT", "MLT"):
        g = grid.factors(code)  # auto: published where present
        value = pub[code]["ewif_consumption_l_per_kwh"]
        assert g.ewif.central == value and g.ewif_info.method == "published" and g.ewif_info.coverage is None
        assert g.ewif_info.distribution == "uniform"  # a stated span of method choices
        floor = grid.mix_ewif({**grid.shares(code), "hydro": 0.0}, "once-through", 0.0)
        hydro = min(g.hydro_share * sens["hydro_l_per_kwh"], value - floor)
        k = sens["allocation_ratio"]
        assert g.ewif.low == pytest.approx(value - hydro * (1 - 1 / k))
        assert g.ewif.high == pytest.approx(value + hydro * (k - 1))
    assert grid.factors("MLT").ewif.low == grid.factors("MLT").ewif.high  # no hydropower: no allocation range
    assert grid.factors("AUT").ewif.high / grid.factors("AUT").ewif.low > 1.5  # hydropower-heavy: a wide one
    assert sens["allocation_ratio"] == pytest.approx(22.7 / 10.2, rel=1e-3)  # Lampert et al. 2015


def test_derived_ewif_is_the_leave_one_out_prediction_with_the_measured_band():
    fb = datafiles.load("water_factors")["fallback"]
    for code in ("FRA", "USA", "LVA"):
        g = grid.factors(code, "derived")
        mix = grid.mix_ewif(grid.shares(code), fb["cooling"], fb["hydro_l_per_kwh"])
        others = [v["ewif_consumption_l_per_kwh"] for c, v in grid.published_factors().items() if c not in (code, "WOR")]
        geomean = math.exp(sum(math.log(v) for v in others) / len(others))
        central = mix ** fb["pooling_weight"] * geomean ** (1 - fb["pooling_weight"])
        assert g.ewif.central == pytest.approx(central)
        assert g.ewif.low == pytest.approx(central * fb["band"]["low_ratio"])
        assert g.ewif.high == pytest.approx(central * fb["band"]["high_ratio"])
        assert g.ewif_info.coverage == 0.9 and "leave-one-out" in g.ewif_info.coverage_text
        assert g.ewif_info.distribution == "lognormal"
    # a country without a published factor gets the fallback under auto
    deu = grid.factors("DEU")
    assert "DEU" not in grid.published_factors() and deu.ewif_info.method == "derived"


def test_shipped_fallback_calibration_is_what_leave_one_out_measures():
    """The band in water_factors.json is recomputed here; its out-of-sample coverage is ~90 %.
    The old derivation (one 17 L/kWh hydropower factor, x1.986 high) left 10 of 41 references
    above its high bound and was a median 47 % off: both fail the checks below."""
    from ecometer.impact import calibration

    fb = datafiles.load("water_factors")["fallback"]
    s = calibration.leave_one_out(calibration.Model.shipped(), fb["band"]["quantile"])["summary"]
    assert s["low_ratio"] == pytest.approx(fb["band"]["low_ratio"], abs=1e-4)
    assert s["high_ratio"] == pytest.approx(fb["band"]["high_ratio"], abs=1e-4)
    assert s["nested_coverage"] == pytest.approx(fb["band"]["nested_coverage"], abs=1e-4)
    assert s["nested_coverage"] >= 0.88 and s["median_error"] < 0.35
    # in the shipped ranges (derived, each country predicted without itself) ~90 % of references lie inside
    refs = calibration.references()
    inside = sum(grid.factors(c, "derived").ewif.low <= v <= grid.factors(c, "derived").ewif.high for c, v in refs.items())
    assert inside / len(refs) >= 0.88


def test_issue_14_figures_of_the_old_derivation_are_reproduced():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import water_factors as bench

    old = bench.old_method()
    assert old["countries"] == 41
    assert old["median_error"] == pytest.approx(0.47, abs=0.01)
    assert old["above_high"] == 10 and old["within_20pct"] == 7
    assert old["usa_derived"] == pytest.approx(2.19, abs=0.01)
    assert old["max_width_country"] == "ISL" and old["max_width"] == pytest.approx(4206, rel=0.01)


def test_ewif_source_choices_and_bad_input():
    usa_pub = footprint(energy_kwh=1, site=Site(pue=1.0, wue=0.0, country="USA", ewif_source="published"))
    usa_der = footprint(energy_kwh=1, site=Site(pue=1.0, wue=0.0, country="USA", ewif_source="derived"))
    usa_auto = footprint(energy_kwh=1, site=Site(pue=1.0, wue=0.0, country="USA"))
    assert usa_auto.water.offsite_l == usa_pub.water.offsite_l != usa_der.water.offsite_l
    assert usa_der.assumption("ewif").source.startswith("derived") and "3.132" in usa_der.assumption("ewif").note
    with pytest.raises(SiteError, match=r"ewif_source 'bogus'.*'auto', 'published', 'derived'"):
        Site(pue=1.1, wue=0.1, country="USA", ewif_source="bogus")
    with pytest.raises(SiteError, match=r"NOR has no published water factor.*'derived' or 'auto'"):
        Site(pue=1.1, wue=0.1, country="Norway", ewif_source="published")
    with pytest.raises(SiteError, match=r"country 'Atlantis'"):
        Site(pue=1.1, wue=0.1, country="Atlantis")
    with pytest.raises(SiteError, match=r"ewif_source 'derived' chooses a country's EWIF, but the site gives its own"):
        Site(pue=1.1, wue=0.1, ewif=3.0, country="USA", ewif_source="derived")
    with pytest.raises(SiteError, match=r"ewif_source 'published'.*has no country"):
        Site(pue=1.1, wue=0.1, carbon_intensity_g_per_kwh=300, ewif_source="published")
    # a preset asked for the country's derived EWIF drops its own (Li et al.'s) value
    derived_preset = Site.preset("us-average", ewif_source="derived")
    assert derived_preset.ewif is None and derived_preset.country == "USA"
    assert footprint(energy_kwh=1, site=derived_preset).assumption("ewif").source.startswith("derived")


def test_one_us_answer_preset_and_country_agree():
    preset = footprint(energy_kwh=1000, site="us-average")
    country = footprint(energy_kwh=1000, site=Site(pue=1.17, wue=0.55, country="USA"))
    assert preset.water.offsite_l == pytest.approx(country.water.offsite_l, rel=0.005)
    note = preset.assumption("ewif").note
    assert "published WRI-method factor is 3.132" in note and "within rounding" in note


def test_carbon_bounds_both_directions_and_the_data_year_per_country():
    from ecometer.impact import calibration

    band = datafiles.load("carbon_factors")["band"]
    measured = calibration.carbon_band(band["quantile"])
    assert measured["low_ratio"] == pytest.approx(band["low_ratio"], abs=1e-4)
    assert measured["high_ratio"] == pytest.approx(band["high_ratio"], abs=1e-4)
    assert band["low_ratio"] < 1 < band["high_ratio"]
    usa = grid.factors("usa")
    assert usa.carbon.central == grid.published_factors()["USA"]["carbon_g_per_kwh"] and usa.carbon_year == 2024
    assert usa.carbon.low < usa.carbon.central < usa.carbon.high
    # no OWID/Ember 2024 figure: Electricity Maps' 2024 country figure replaces OWID's older year (issue 23)
    deu = grid.factors("DEU")
    em = datafiles.load("electricitymaps_2024")["zones"]["DE"]
    assert deu.carbon.central == em["lifecycle_g_per_kwh"] and deu.carbon_year == 2024
    assert deu.carbon_info.method == "electricitymaps"
    # neither: OWID via CodeCarbon, with its own data year
    bmu = grid.factors("BMU")
    entry = grid.mix_data()["BMU"]
    assert bmu.carbon.central == entry["carbon_g_per_kwh"] and bmu.carbon_year == entry["year"]
    fp = footprint(energy_kwh=10, site=Site(pue=1.0, wue=0.0, country="BMU"))
    a = fp.assumption("carbon_intensity")
    assert f"data year {entry['year']}" in a.source and a.coverage == 0.95 and a.low < a.value < a.high
    assert a.distribution == "lognormal" and a.basis
    again = Footprint.from_dict(json.loads(json.dumps(fp.to_dict()))).assumption("carbon_intensity")
    assert (again.coverage, again.distribution, again.basis) == (a.coverage, a.distribution, a.basis)
    years = datafiles.load("grid_mix")["data_years"]
    assert years == {"2009": 1, "2021": 4, "2022": 130, "2023": 78}


def test_every_country_of_the_mix_has_factors():
    for code, _name in grid.countries():
        try:
            g = grid.factors(code)
        except SiteError as exc:
            assert "no generation" in str(exc)
            continue
        assert 0 < g.ewif.low <= g.ewif.central <= g.ewif.high
        assert g.carbon.low <= g.carbon.central <= g.carbon.high


def test_timezone_follows_daylight_saving():
    # 2025-03-30: Paris goes from UTC+1 to UTC+2 at 01:00 UTC
    rec = make_record(started_at="2025-03-30T00:00:00Z", duration_s=3 * 3600.0)
    site = Site(pue=1.0, wue_hourly=[float(h) for h in range(24)], ewif=0.0, timezone="Europe/Paris")
    fp = footprint(rec, site=site)
    assert [p["local_hour"] for p in fp.periods] == [1, 3, 4]
    assert fp.water.onsite_l == pytest.approx((1 + 3 + 4) / 3)
    fixed = footprint(rec, site=Site(pue=1.0, wue_hourly=[float(h) for h in range(24)], ewif=0.0, utc_offset_h=1))
    assert [p["local_hour"] for p in fixed.periods] == [1, 2, 3]
    assert fp.assumption("timezone").value == "Europe/Paris"
    with pytest.raises(SiteError, match=r"timezone 'Europe/Pariss' is not a time zone.*Europe/Paris"):
        Site(pue=1.0, wue=0.1, ewif=1.0, timezone="Europe/Pariss")
    with pytest.raises(SiteError, match="not both"):
        Site(pue=1.0, wue=0.1, ewif=1.0, timezone="Europe/Paris", utc_offset_h=1)


def test_a_country_site_imports_no_codecarbon():
    code = (
        "import sys, ecometer; "
        "ecometer.footprint(energy_kwh=1.0, site=ecometer.Site(pue=1.1, wue=0.2, country='DEU')); "
        "ecometer.footprint(energy_kwh=1.0, site='us-average'); "
        "bad = [m for m in ('codecarbon', 'pandas') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_water_factor_has_a_source_with_year_and_licence():
    data = datafiles.load("water_factors")
    rows = data["sources_by_mix_key"]
    assert set(rows) == set(grid.MIX_KEYS)
    for key, row in rows.items():
        for bound in ("central", "low"):
            src = data["sources"][row[bound]["source"]]
            assert src["citation"] and src["licence"] and isinstance(src["year"], int), (key, bound)
    cited = [
        *data["fallback"]["hydro_sources"],
        data["published_sensitivity"]["hydro_source"],
        data["published_sensitivity"]["allocation_source"],
        *data["published_sensitivity"]["also"],
        *data["onsite_withdrawal"]["consumed_fraction"]["sources"],
    ]
    for sid in cited:
        src = data["sources"][sid]
        assert src["citation"] and src["licence"] and isinstance(src["year"], int), sid
    # every data file's sources, the CPU table and "no citation outside the repository": tests/test_provenance.py
    assert data["sources"][data["litres_per_us_gallon"]["source"]]["year"]


# ---- import hygiene ------------------------------------------------------------------------
def test_import_is_cheap_and_public_names_resolve():
    code = (
        "import sys, ecometer, ecometer.impact, ecometer.commands.footprint; ecometer.footprint; "
        "bad = [m for m in ('codecarbon', 'pandas', 'matplotlib', 'torch') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert ecometer.Site is Site and ecometer.Footprint is Footprint
    # ecometer.footprint is a plain function (the package is ecometer.impact), however imported
    importlib.import_module("ecometer.impact.site")  # importing a submodule must not replace the function

    assert inspect.isfunction(ecometer.footprint)
    assert ecometer.footprint(energy_kwh=1.0, site="us-average").facility_energy_j == footprint(
        energy_kwh=1.0, site="us-average"
    ).facility_energy_j
    assert sorted(ecometer.impact.__all__) == ["Footprint", "Site", "footprint"]


def test_site_round_trip():
    site = Site.preset("us-average", wue_monthly=[0.5] * 12, utc_offset_h=-5)
    again = Site.from_dict(json.loads(json.dumps(site.to_dict())))
    assert again.to_dict() == site.to_dict()
    assert math.isclose(again.pue, 1.17)


# ---- the shipped grid tables are what the refresh script makes ------------------------------
def test_shipped_grid_mix_equals_the_pinned_codecarbon_tables():
    pytest.importorskip("codecarbon")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import water_refresh

    if water_refresh.version_of("codecarbon") != water_refresh.PINNED:
        pytest.skip(f"codecarbon {water_refresh.PINNED} is pinned for the refresh")
    fresh = water_refresh.grid_mix()
    shipped = datafiles.load("grid_mix")
    assert fresh["countries"] == shipped["countries"]
    assert fresh["per_source_carbon_g_per_kwh"] == shipped["per_source_carbon_g_per_kwh"]
    assert fresh["data_years"] == shipped["data_years"]


def test_shipped_national_factors_equal_the_reference_csv():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import water_refresh

    path = water_refresh.DEFAULT_NATIONAL  # shared/ beside the repository (so also in CI's clone)
    if not path.exists():
        pytest.skip(f"the shared reference CSV is not at {path}")

    assert water_refresh.national(path)["countries"] == datafiles.load("national_grid_factors")["countries"]
