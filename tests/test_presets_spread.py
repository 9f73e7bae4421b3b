"""Fleet presets carry the spread of the regions they average (issue 23)."""

from __future__ import annotations

import pytest

from ecometer import Site, footprint
from ecometer.files import datafiles

SPANS = {"aws-2023": (0.01, 2.75), "aws-2025": (0.01, 2.75), "microsoft-2024": (0.0, 2.06)}


def test_every_spread_is_sourced_and_brackets_its_fleet_value():
    data = datafiles.load("site_presets")
    seen = 0
    for name, preset in data["presets"].items():
        for fname, spec in preset["values"].items():
            spread = spec.get("spread")
            if spread is None:
                continue
            seen += 1
            src = data["sources"][spread["source"]]
            assert src["citation"] and src["year"] and src["licence"], (name, fname)
            assert spread["low"] <= spec["value"] <= spread["high"], (name, fname)
            assert spread["basis"] and spread["distribution"] == "triangular" and spread["coverage"] == 1.0
    assert seen >= 6  # WUE and PUE of aws-2023, aws-2025, microsoft-2024


@pytest.mark.parametrize("name", sorted(SPANS))
def test_fleet_wue_is_an_interval_over_the_published_regions(name):
    wue = Site.preset(name, country="USA").wue
    low, high = SPANS[name]
    assert (wue.low, wue.high) == (low, high) and wue.low < wue.central < wue.high
    assert wue.distribution == "triangular" and wue.coverage == 1.0 and "per-region WUE" in wue.basis
    # the worst case: AWS Jakarta at 15x the aws-2023 preset (2.7 L/kWh) lay outside the old exact value
    if name == "aws-2023":
        assert wue.low <= 0.18 * 15 <= wue.high


def test_the_spread_reaches_the_footprint():
    fp = footprint(energy_kwh=100, site=Site.preset("aws-2023", country="USA"))
    onsite = fp.water.onsite_l
    # on-site water = IT energy x WUE: the WUE span scales straight through
    assert onsite.central == pytest.approx(100 * 0.18)
    assert onsite.low == pytest.approx(100 * 0.01) and onsite.high == pytest.approx(100 * 2.75)
    a = fp.assumption("wue")
    assert (a.low, a.high, a.coverage, a.distribution) == (0.01, 2.75, 1.0, "triangular")


def test_a_cloud_region_takes_the_fleet_spread_and_says_so():
    site = Site(region="azure:westeurope")
    assert (site.wue.low, site.wue.high) == (0.0, 2.06) and site.wue.central == 0.3
    assert site.pue.low == 1.12 and site.pue.high == 1.25 and "assumption" in site.pue.basis
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
