"""Sites placed below the country: grid zones, cloud regions, carbon basis, detection (issue 23)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

import ecometer
from ecometer.errors import SiteError
from ecometer.files import datafiles
from ecometer.impact import Site, footprint, regions
from ecometer.impact.detect import detect, detected_site, named_site

EM = datafiles.load("electricitymaps_2024")["zones"]


def _carbon(site: Site):
    return footprint(energy_kwh=1.0, site=site).assumption("carbon_intensity")


# ---- resolution ------------------------------------------------------------------------------
def test_cloud_region_takes_its_zone_country_and_provider_fleet_figures():
    site = Site(region="aws:us-east-1")
    assert site.place.level == "cloud_region" and site.place.zone == "US-MIDA-PJM"
    assert site.country == "USA" and site.provenance["country"]["source"] == "region"
    preset = datafiles.load("site_presets")["presets"]["aws-2025"]["values"]
    assert float(site.pue) == preset["pue"]["value"] and float(site.wue) == preset["wue"]["value"]
    assert site.provenance["pue"]["preset"] == "aws-2025" and site.provenance["pue"]["region"] == "aws:us-east-1"
    fp = footprint(energy_kwh=1.0, site=site)
    carbon = fp.assumption("carbon_intensity")
    assert carbon.value == pytest.approx(EM["US-MIDA-PJM"]["lifecycle_g_per_kwh"])
    assert "lifecycle" in carbon.note and "cloud region level" in carbon.note
    level = fp.assumption("site_level")
    assert level.value == "cloud_region" and "Northern Virginia" in level.note and "US-MIDA-PJM" in level.note


def test_user_values_override_the_region():
    site = Site(pue=1.1, region="gcp:europe-west4")
    assert float(site.pue) == 1.1 and site.provenance["pue"] == {"source": "user"}
    assert site.country == "NLD" and site.place.zone == "NL"
    assert _carbon(Site(pue=1.1, wue=0.2, region="gcp:europe-west4", carbon_intensity_g_per_kwh=50)).value == 50


@pytest.mark.parametrize(
    ("region", "zone", "country"),
    [
        ("US-NW-BPAT", "US-NW-BPAT", "USA"),
        ("us-cal-ciso", "US-CAL-CISO", "USA"),
        ("CA-QC", "CA-QC", "CAN"),
        ("AU-NSW", "AU-NSW", "AUS"),
        ("IN-WE", "IN-WE", "IND"),
        ("JP-TK", "JP-TK", "JPN"),
        ("DE", "DE", "DEU"),
        ("SE-SE3", "SE-SE3", "SWE"),
        ("CN-HE", "CN-HE", "CHN"),
        ("Hebei", "CN-HE", "CHN"),
        ("河北", "CN-HE", "CHN"),
        ("Quebec", "CA-QC", "CAN"),  # names compare without case or accents
        ("azure:westeurope", "NL", "NLD"),
        ("alibaba:cn-zhangjiakou", "CN-HE", "CHN"),
        ("tencent:ap-guangzhou", "CN-GD", "CHN"),
        ("huawei:cn-southwest-2", "CN-GZ", "CHN"),
        ("europe-west4", "NL", "NLD"),  # only Google Cloud has a region of that name
    ],
)
def test_zones_and_regions_resolve(region, zone, country):
    place = regions.resolve(region)
    assert (place.zone, place.country) == (zone, country)


def test_oregon_and_quebec_read_their_own_grid_not_the_country():
    us = _carbon(Site(pue=1.1, wue=0.2, country="USA")).value
    oregon = _carbon(Site(pue=1.1, wue=0.2, region="aws:us-west-2"))
    quebec = _carbon(Site(pue=1.1, wue=0.2, region="gcp:northamerica-northeast1"))
    assert oregon.value == pytest.approx(EM["US-NW-BPAT"]["lifecycle_g_per_kwh"]) and oregon.value < us / 3
    assert quebec.value == pytest.approx(EM["CA-QC"]["lifecycle_g_per_kwh"]) and quebec.value < 50


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("aws:us-east-9", "did you mean us-east-2"),
        ("awz:us-east-1", "did you mean aws"),
        ("aws:us-gov-west-1", "publishes no state or city"),
        ("US-NW-BPATT", "did you mean US-NW-BPAT"),
        ("us-east-1", "ambiguous: it could be alibaba:us-east-1, aws:us-east-1"),
        ("", "expected a grid zone"),
    ],
)
def test_bad_regions_say_what_is_wrong(region, expected):
    with pytest.raises(SiteError, match="region") as err:
        Site(pue=1.1, region=region)
    assert expected in str(err.value)


def test_a_zone_with_a_conflicting_country_is_an_error():
    with pytest.raises(SiteError, match=r"country 'FRA' conflicts with region 'US-NW-BPAT', which lies in USA"):
        Site(pue=1.1, country="FRA", region="US-NW-BPAT")
    assert Site(pue=1.1, country="USA", region="US-NW-BPAT").country == "USA"


def test_replace_and_preset_move_the_country_with_the_region():
    site = Site(region="aws:us-east-1").replace(region="gcp:europe-west4")
    assert site.country == "NLD" and site.place.zone == "NL"
    # the AWS fleet figures went with the AWS region; the Google region brings its campus's own PUE (Eemshaven)
    assert site.pue == 1.08 and site.provenance["pue"]["source_id"] == "google-campus-pue" and site.wue is None
    moved = Site.preset("us-average", region="CA-QC")
    assert moved.country == "CAN" and moved.ewif is None  # the preset's U.S. EWIF belongs to its own location
    assert float(moved.pue) == 1.17


def test_round_trip_keeps_the_region():
    site = Site(region="azure:westeurope", pue=1.2, wue=0.3, carbon_basis="direct")
    again = Site.from_dict(json.loads(json.dumps(site.to_dict())))
    assert again.region == "azure:westeurope" and again.carbon_basis == "direct" and again.country == "NLD"
    assert _carbon(again).value == pytest.approx(EM["NL"]["direct_g_per_kwh"])


def test_named_site_takes_presets_and_regions():
    assert Site.named("aws-2023").name == "aws-2023"
    assert Site.named("aws:us-west-2").place.zone == "US-NW-BPAT"
    with pytest.raises(SiteError, match="unknown site preset 'us-averag'.*did you mean us-average"):
        Site.named("us-averag")


# ---- carbon: basis and intervals ------------------------------------------------------------
def test_carbon_basis_direct_and_lifecycle_never_mix():
    direct = _carbon(Site(pue=1.1, wue=0.2, region="US-NW-BPAT", carbon_basis="direct"))
    life = _carbon(Site(pue=1.1, wue=0.2, region="US-NW-BPAT"))
    assert direct.value == pytest.approx(EM["US-NW-BPAT"]["direct_g_per_kwh"]) and "direct" in direct.note
    assert life.value == pytest.approx(EM["US-NW-BPAT"]["lifecycle_g_per_kwh"]) and "lifecycle" in life.note
    with pytest.raises(SiteError, match="carbon_basis 'operational'"):
        Site(pue=1.1, carbon_basis="operational")


def test_china_provincial_grid_direct_and_modelled_lifecycle():
    china = datafiles.load("grid_zones")["china"]
    hebei = china["zones"]["CN-HE"]["co2_g_per_kwh"]["2022"]
    direct = _carbon(Site(pue=1.1, wue=0.2, region="CN-HE", carbon_basis="direct"))
    assert direct.value == pytest.approx(hebei)
    life = _carbon(Site(pue=1.1, wue=0.2, region="CN-HE"))
    ratio = EM["CN"]["lifecycle_g_per_kwh"] / EM["CN"]["direct_g_per_kwh"]
    assert life.value == pytest.approx(hebei * ratio) and "modelled" in life.source


def test_zone_interval_is_the_measured_year_to_year_band():
    band = datafiles.load("grid_zones")["year_band"]
    c = _carbon(Site(pue=1.1, wue=0.2, region="DE"))
    central = EM["DE"]["lifecycle_g_per_kwh"]
    assert c.low == pytest.approx(central * band["low_ratio"]) and c.high == pytest.approx(central * band["high_ratio"])
    assert c.coverage == 0.95
    # a near-zero grid keeps an absolute floor above its central
    qc = _carbon(Site(pue=1.1, wue=0.2, region="CA-QC", carbon_basis="direct"))
    assert qc.high == pytest.approx(EM["CA-QC"]["direct_g_per_kwh"] + band["floor_g_per_kwh"])


@pytest.mark.parametrize("country", ["USA", "CAN", "IND", "AUS", "JPN"])
def test_country_interval_covers_where_in_the_country_the_job_could_run(country):
    c = _carbon(Site(pue=1.1, wue=0.2, country=country))
    zones = regions.country_zone_values(country, "lifecycle")
    inside = sum(c.low <= z <= c.high for z in zones)
    assert len(zones) >= 5 and inside / len(zones) >= 0.9, (c.low, c.high, sorted(zones))
    assert "equally weighted" in c.basis or "grid zones" in c.basis


def test_country_without_zones_keeps_the_country_tables_interval():
    from ecometer.impact import grid

    fra = _carbon(Site(pue=1.1, wue=0.2, country="FRA"))
    assert (fra.low, fra.high) == pytest.approx((grid.factors("FRA").carbon.low, grid.factors("FRA").carbon.high))


def test_country_interval_spans_the_disagreement_between_sources():
    from ecometer.impact import grid

    cross = datafiles.load("grid_zones")["country_cross_source"]
    assert cross["leave_one_country_out_coverage"] >= 0.9 and cross["countries"] >= 150
    deu = grid.factors("DEU").carbon
    assert deu.low <= deu.central * cross["low_ratio"] + 1e-9 and deu.high >= deu.central * cross["high_ratio"] - 1e-9
    assert "Electricity Maps" in deu.basis


# ---- data files ------------------------------------------------------------------------------
def test_electricity_maps_ships_as_its_own_odbl_file():
    doc = datafiles.load("electricitymaps_2024")
    assert doc["licence"]["name"].startswith("Open Database License")
    text = Path(ecometer.__file__).parent / "data" / doc["licence"]["text"]
    assert "Open Database License" in text.read_text(encoding="utf-8")
    assert doc["sources"]["electricitymaps-2024"]["edition"] and len(doc["zones"]) > 300
    assert set(doc) == {"description", "licence", "sources", "zones"}  # nothing else mixed in


def test_china_factors_say_they_are_not_verified():
    src = datafiles.load("grid_zones")["sources"]["mee-nbs-2021-2022"]
    assert "NOT verified" in src["verification"]


def test_every_cloud_region_maps_to_a_known_zone():
    doc = datafiles.load("cloud_regions")
    zones = set(regions.zone_keys())
    assert len(doc["regions"]) >= 150
    for key, entry in doc["regions"].items():
        assert entry["zone"] in zones, key
        assert key.split(":")[0] in doc["providers"]


def test_import_ecometer_loads_no_table():
    code = (
        "import ecometer, sys; from ecometer import datafiles; "
        "print(datafiles.load.cache_info().currsize, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "False"]


def test_a_region_site_imports_no_numpy():
    code = "import sys, ecometer; s = ecometer.Site(region='aws:us-east-1'); print('numpy' in sys.modules, s.country)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "USA"]


# ---- detection -------------------------------------------------------------------------------
def test_detection_order_and_sources(tmp_path):
    nothing = tmp_path / "no_vendor"
    assert detect({}, dmi_path=nothing) is None
    assert detect({"ECOMETER_SITE": "aws-2023", "AWS_REGION": "us-west-2"}, dmi_path=nothing).site == "aws-2023"
    found = detect({"AWS_DEFAULT_REGION": "eu-west-1"}, dmi_path=nothing)
    assert (found.site, found.source) == ("aws:eu-west-1", "AWS_DEFAULT_REGION")
    assert detect({"CLOUD_ML_REGION": "us-central1"}, dmi_path=nothing).site == "gcp:us-central1"
    assert detect({"REGION_NAME": "westeurope"}, dmi_path=nothing).site == "azure:westeurope"
    vendor = tmp_path / "sys_vendor"
    vendor.write_text("Google\n")
    labels = tmp_path / "labels"
    labels.write_text('app="train"\ntopology.kubernetes.io/region="europe-west4"\n')
    found = detect({"ECOMETER_K8S_LABELS": str(labels)}, dmi_path=vendor)
    assert found.site == "gcp:europe-west4" and "labels" in found.source
    only_vendor = detect({}, dmi_path=vendor)
    assert only_vendor.site is None and only_vendor.provider == "gcp"
    with pytest.raises(SiteError, match="names the provider but not the region"):
        detected_site({}, dmi_path=vendor)


def test_bad_labels_file_names_the_line(tmp_path):
    labels = tmp_path / "labels"
    labels.write_text('app="x"\nnonsense\n')
    with pytest.raises(SiteError, match="line 2: 'nonsense'"):
        detect({"ECOMETER_K8S_LABELS": str(labels)}, dmi_path=tmp_path / "none")


def test_auto_site_says_where_it_came_from(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.delenv("ECOMETER_SITE", raising=False)
    fp = footprint(energy_kwh=1.0, site="auto")
    assert fp.assumption("site_level").source.startswith("detected from AWS_REGION; location: Amazon Web Services")
    assert named_site("auto").place.zone == "US-NW-BPAT"


# ---- command line ----------------------------------------------------------------------------
def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [sys.executable, "-m", "ecometer", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_cli_site_takes_a_cloud_region_and_presets_still_work():
    out = _cli("footprint", "--energy-kwh", "10", "--site", "aws:us-east-1", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    levels = [a for a in doc["assumptions"] if a["name"] == "site_level"]
    assert levels[0]["value"] == "cloud_region"
    old = _cli("footprint", "--energy-kwh", "10", "--site", "us-average", "--json")
    assert old.returncode == 0, old.stderr
    bad = _cli("footprint", "--energy-kwh", "10", "--site", "aws:us-gov-east-1")
    assert bad.returncode != 0 and "publishes no state or city" in bad.stderr


def test_cli_info_says_what_it_detected():
    out = _cli("info", "--json", env={"AWS_REGION": "ca-central-1", "ECOMETER_SITE": ""})
    assert out.returncode == 0, out.stderr
    site = json.loads(out.stdout)["site"]
    assert site["detected"]["source"] == "AWS_REGION" and site["zone"] == "CA-QC" and site["level"] == "cloud_region"


# ---- plausibility of the country rows ------------------------------------------------------
@pytest.fixture
def owid_only(monkeypatch):
    """The country tables as they were before Electricity Maps' 2024 country figures replaced stale years."""
    from ecometer.impact import grid

    monkeypatch.setattr(regions, "country_row", lambda country: None)
    grid.factors.cache_clear()
    yield grid
    grid.factors.cache_clear()


@pytest.mark.parametrize("code", ["TKM", "UZB", "BHR"])
def test_a_grid_dirtier_than_its_dirtiest_source_is_flagged_and_widened(code, owid_only):
    grid = owid_only
    g = grid.factors(code)
    check = grid.plausibility(code, g.carbon.central)
    assert g.carbon.central == grid.mix_data()[code]["carbon_g_per_kwh"]
    assert check is not None and "dirtier than its dirtiest source" in check.reason
    assert g.carbon.low <= check.mix_value <= g.carbon.high
    assert any("flagged" in n for n in g.notes)


def test_a_zero_intensity_is_not_exact(owid_only):
    g = owid_only.factors("CAF")
    assert g.carbon.central == 0.0 and g.carbon.high > 0.0 and g.carbon.distribution != "exact"
    fp = footprint(energy_kwh=1.0, site=Site(pue=1.1, wue=0.2, country="CAF"))
    assert fp.carbon_g.high > 0.0 and any("flagged" in w for w in fp.warnings)


@pytest.mark.parametrize("code", ["TKM", "UZB", "BHR", "CAF"])
def test_stale_implausible_rows_are_replaced_by_2024_figures(code):
    from ecometer.impact import grid

    g = grid.factors(code)
    assert g.carbon_info.method == "electricitymaps" and g.carbon_year == 2024
    assert grid.plausibility(code, g.carbon.central) is None


def test_a_plausible_row_passes():
    from ecometer.impact import grid

    assert grid.plausibility("FRA", grid.factors("FRA").carbon.central) is None


# ---- water: cooling shares, U.S. withdrawal, the fallback candidates ------------------------
def test_cooling_shares_give_each_country_its_own_thermal_factors():
    from ecometer.impact import cooling

    cw = datafiles.load("cooling_water")
    usa = cooling.source_factors("USA", "withdrawal")
    by_hand = sum(f * cw["factors_l_per_kwh"]["coal"][t]["withdrawal"] for t, f in cw["countries"]["USA"]["coal"].items())
    assert usa["coal"] == pytest.approx(by_hand)
    assert cooling.source_factors("FRA", "withdrawal")["nuclear"] != cooling.source_factors("USA", "withdrawal")["nuclear"]
    nowhere = cooling.source_factors("ATA", "consumption")  # not in MESSAGEix: the world mean shares
    assert not cooling.covered("ATA") and nowhere["coal"] > 0
    for parts in cw["countries"]["USA"].values():
        assert sum(parts.values()) == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="kind"):
        cooling.source_factors("USA", "evaporation")


def test_us_withdrawal_central_comes_from_its_cooling_mix_not_the_floor():
    from ecometer.impact import grid

    data = datafiles.load("water_factors")
    usgs = next(r for r in data["withdrawal_comparison"] if r["country"] == "USA")["published_l_per_kwh"]
    w = grid.factors("USA").ewif_withdrawal
    consumption = grid.factors("USA").ewif.central
    assert w.central > 5 * consumption  # before: the consumption floor, 3.13 L/kWh
    assert 0.5 * usgs < w.central < usgs and w.low <= usgs <= w.high
    assert "cooling shares" in w.basis


def test_loglinear_candidate_is_what_leave_one_out_refits():
    from ecometer.impact import calibration, grid

    model = calibration.Model("by-country", 37.286, 0.0, "loglinear")
    b = grid.loglinear_fit(model.cooling, model.hydro_l_per_kwh, frozenset({"FRA"}))
    x = grid.loglinear_features("FRA", model.cooling, model.hydro_l_per_kwh)
    predicted = grid.loglinear_ewif("FRA", model.cooling, model.hydro_l_per_kwh)
    assert predicted == pytest.approx(math.exp(sum(bi * xi for bi, xi in zip(b, x, strict=True))))
    s = calibration.leave_one_out(model)["summary"]
    assert s["countries"] == 41 and 0.0 < s["median_error"] < 1.0


def test_the_chooser_refuses_a_fit_where_wind_and_solar_add_water():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import water_factors as bench

    good = {"model": {"form": "loglinear"}, "coefficients": [0.3, 0.45, -0.1]}
    bad = {"model": {"form": "loglinear"}, "coefficients": [0.3, 0.45, 2.2]}
    assert bench.physical(good) and not bench.physical(bad) and bench.physical({"model": {"form": "pooled"}})


def test_detection_makes_no_network_call(monkeypatch, tmp_path):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network call during site detection")

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.delenv("ECOMETER_SITE", raising=False)
    monkeypatch.setenv("GOOGLE_CLOUD_REGION", "europe-west4")
    site = named_site("auto")
    assert site.place.zone == "NL" and site.provenance["region"]["source"] == "detected from GOOGLE_CLOUD_REGION"
    from ecometer.commands.info import site_detection

    assert site_detection()["zone"] == "NL"


def test_ecometer_site_is_the_default_site_of_measure(monkeypatch, tmp_path):
    import ecometer
    from ecometer.sensors.replay import ReplaySensor

    monkeypatch.setenv("ECOMETER_SITE", "aws:eu-west-3")
    with ecometer.measure("x", sensors=[ReplaySensor([(0, 100.0)])], gpus=None, out=None) as m:
        pass
    fp = m.record.footprint
    assert fp is not None and fp.assumption("site_level").value == "cloud_region"
    monkeypatch.setenv("ECOMETER_SITE", "aws:eu-west-99")
    with pytest.raises(SiteError, match="did you mean eu-west-3"):
        ecometer.measure("y", out=None)


# ---- the shipped tables are what the refresh scripts compute from the shared reference data ------
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not (SHARED / "regions").is_dir(), reason="shared reference data not beside the clone")


@needs_shared
def test_region_tables_are_what_the_refresh_computes():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import regions_refresh as refresh

    em = refresh.electricity_maps(SHARED / "regions")
    assert em == datafiles.load("electricitymaps_2024")
    assert refresh.grid_zones(SHARED / "regions", em) == datafiles.load("grid_zones")
    assert refresh.cloud_regions() == datafiles.load("cloud_regions")


@needs_shared
def test_cooling_table_is_what_the_refresh_computes():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import water_cooling_refresh as refresh

    shipped = datafiles.load("cooling_water")
    table = refresh.gcam(SHARED / "water")
    assert refresh.factors(table) == shipped["factors_l_per_kwh"]
    per_country, _ = refresh.shares(SHARED / "water")
    assert refresh.world_mean(per_country) == shipped["world_mean_shares"]


def test_regions_report_levels_hold_their_claims():
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks import regions_report as report

    country = report.country_level()
    assert country["now"]["coverage"] >= 0.95 and country["before"]["coverage"] < 0.5
    assert country["leave_one_zone_out"]["coverage"] >= 0.85
    assert report.china_level()["summary"]["coverage"] >= 0.9
    flagged = {(f["country"], f["table"]) for f in report.flagged()}
    assert ("TKM", "codecarbon") in flagged and ("CAF", "codecarbon") in flagged


def test_a_region_without_data_centre_figures_says_why():
    from ecometer.errors import FootprintError

    with pytest.raises(FootprintError, match=r"gives no WUE.*no fleet figure of gcp"):
        footprint(energy_kwh=1.0, site=Site(region="gcp:us-west1"))  # its campus PUE is published, no WUE is
    with pytest.raises(FootprintError, match=r"gives no WUE.*grid zone \(US-NW-BPAT\) says nothing about the data centre"):
        footprint(energy_kwh=1.0, site=Site(region="US-NW-BPAT", pue=1.1))
