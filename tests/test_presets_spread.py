"""Fleet presets carry the spread of the regions they average (issue 23)."""

from __future__ import annotations

from statistics import NormalDist

import pytest

from ecometer import Site, footprint
from ecometer.files import datafiles

SPANS = {"aws-2023": (0.01, 2.75), "aws-2025": (0.01, 2.75), "microsoft-2024": (0.005, 2.06)}


def test_every_spread_is_sourced_and_brackets_its_fleet_value():
    data = datafiles.load("site_presets")
    seen = 0
    for name, preset in data["presets"].items():
        for fname, spec in preset["values"].items():
            spread = spec.get("spread")
            if spread is None:
                continue
            seen += 1
            src = datafiles.load(spread.get("source_file", "site_presets"))["sources"][spread["source"]]
            assert src["citation"] and src["year"] and src["licence"], (name, fname)
            assert spread["low"] <= spec["value"] <= spread["high"], (name, fname)
            assert spread["basis"] and spread["distribution"] in ("triangular", "lognormal")
            assert 0.5 < spread["coverage"] <= 1.0
    assert seen >= 7  # WUE and PUE of aws-2023, aws-2025, microsoft-2024; PUE of google-2025


@pytest.mark.parametrize("name", sorted(SPANS))
def test_fleet_wue_is_an_interval_over_the_published_regions(name):
    wue = Site.preset(name, country="USA").wue
    low, high = SPANS[name]
    assert (wue.low, wue.high) == (low, high) and wue.low < wue.central < wue.high
    assert wue.distribution == "lognormal" and wue.coverage == 0.9 and "per-region WUE" in wue.basis
    # the worst case: AWS Jakarta at 15x the aws-2023 preset (2.7 L/kWh) lay outside the old exact value
    if name == "aws-2023":
        assert wue.low <= 0.18 * 15 <= wue.high


def test_the_spread_reaches_the_footprint():
    fp = footprint(energy_kwh=100, site=Site.preset("aws-2023", country="USA"))
    onsite = fp.water.onsite_l
    # on-site water = IT energy x WUE: the WUE's 90 % split log-normal, restated at the footprint's 95 %
    r = NormalDist().inv_cdf(0.975) / NormalDist().inv_cdf(0.95)
    assert onsite.central == pytest.approx(100 * 0.18) and onsite.coverage == 0.95
    assert onsite.low == pytest.approx(18 * (0.01 / 0.18) ** r) and onsite.high == pytest.approx(18 * (2.75 / 0.18) ** r)
    a = fp.assumption("wue")
    assert (a.low, a.high, a.coverage, a.distribution) == (0.01, 2.75, 0.9, "lognormal")


def test_a_cloud_region_takes_the_fleet_spread_and_says_so():
    site = Site(region="azure:francecentral")  # no published figure of its own
    assert (site.wue.low, site.wue.high) == (0.005, 2.06) and site.wue.central == 0.3
    assert (site.pue.low, site.pue.central, site.pue.high) == (1.12, 1.18, 1.30) and site.pue.coverage == 0.8462
    note = site.provenance["wue"]["note"]
    assert "fleet figure" in note and "spans the provider's published regions" in note
    assert site.provenance["wue"]["spread"] == "issue23-region-wue-span"


def test_a_users_value_replaces_the_spread():
    site = Site(region="aws:us-east-1", wue=0.5)
    assert site.wue.low == site.wue.high == 0.5 and site.provenance["wue"] == {"source": "user"}
    assert Site.preset("aws-2023", wue=0.2, country="USA").wue.distribution == "exact"


def test_presets_without_a_published_range_stay_as_they_were():
    us = Site.preset("us-average")
    assert us.wue.low == us.wue.high == 0.55  # Li et al.'s one figure: no fleet of regions behind it


# ---- a region's own published figure, and the fleet spreads computed from the published figures -----------------
EFF = datafiles.load("cloud_region_efficiency")


def test_a_region_with_its_own_published_pue_uses_it_within_its_rounding():
    west = Site(region="gcp:us-west1")  # The Dalles, Oregon: two facilities, 1.10 and 1.07
    assert west.pue.central == pytest.approx(1.085) and (west.pue.low, west.pue.high) == (1.065, 1.105)
    assert west.pue.distribution == "uniform" and west.provenance["pue"]["source_id"] == "google-campus-pue"
    assert "own published figure" in west.provenance["pue"]["note"]
    nl = Site(region="azure:westeurope")  # Microsoft's Netherlands geography, 1.14
    assert (nl.pue.low, nl.pue.central, nl.pue.high) == (1.135, 1.14, 1.145)
    assert nl.wue.high == 2.06  # no per-region WUE: the fleet figure with its spread
    assert Site(region="gcp:us-west1", pue=1.3).pue.distribution == "exact"  # the user's value wins


def test_region_figures_are_the_published_ones_of_named_facilities():
    regions = datafiles.load("cloud_regions")["regions"]
    for key, entry in EFF["regions"].items():
        assert key in regions, key
        spec = entry["pue"]
        published = EFF["published"][spec["source"]]
        if spec["source"] == "google-campus-pue":
            assert [published[c] for c in spec["campus"]] == spec["values"], key
        else:
            geography = spec["campus"].removeprefix("Microsoft datacenters in ")
            assert [published[geography]] == spec["values"], key


@pytest.mark.parametrize(("preset", "source"), [("microsoft-2024", "microsoft-geography-pue"), ("google-2025", "google-campus-pue")])
def test_fleet_pue_spread_is_the_published_span_and_its_coverage_holds_left_out(preset, source):
    values = list(EFF["published"][source].values())
    n = len(values)
    spread = datafiles.load("site_presets")["presets"][preset]["values"]["pue"]["spread"]
    assert (spread["low"], spread["high"]) == (min(values), max(values))
    assert spread["coverage"] == pytest.approx((n - 1) / (n + 1), abs=1e-4)
    # each published figure left out: is it inside the span of the others? (the claim for a region not listed)
    inside = sum(min(values[:i] + values[i + 1 :]) <= v <= max(values[:i] + values[i + 1 :]) for i, v in enumerate(values))
    assert abs(inside / n - spread["coverage"]) <= 1.5 / n
    if preset == "google-2025":
        import statistics

        assert datafiles.load("site_presets")["presets"][preset]["values"]["pue"]["value"] == statistics.median(values)


def test_presets_report_counts_levels_and_left_out_coverage(tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed
    from benchmarks import preset_spreads as bench

    assert bench.main(["--out", str(tmp_path)]) == 0
    text = (tmp_path / "presets.md").read_text(encoding="utf-8")
    assert "| microsoft-2024 | pue | 1.18 | 1.12 - 1.3 | 85% | lognormal | 10/12 (83%) |" in text
    levels = bench.region_levels()
    assert levels["gcp"]["own_pue"] == 15 and levels["azure"]["own_pue"] == 13 and levels["aws"]["own_pue"] == 0
    assert bench.leave_one_out([1.0, 2.0, 3.0]) == {"n": 3, "inside": 1, "coverage": 1 / 3}
