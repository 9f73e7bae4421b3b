"""``ecometer footprint``: table and JSON output, record files, overrides, bad input."""

from __future__ import annotations

import argparse
import json

import pytest

from ecometer.commands import footprint as cmd
from ecometer.errors import InputError, UsageError
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord, Timeline


def run_cmd(argv: list[str], capsys) -> tuple[int, str]:
    parser = argparse.ArgumentParser(prog="ecometer")
    cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["footprint", *argv])
    rc = args.func(args)
    return rc, capsys.readouterr().out


def test_energy_and_preset_json(capsys):
    rc, out = run_cmd(["--energy-kwh", "1287000", "--site", "us-average", "--json"], capsys)
    assert rc == 0
    data = json.loads(out)
    assert data["water"]["total_l"]["central"] / 1e6 == pytest.approx(5.439, abs=0.0005)
    assert data["site"]["name"] == "us-average"
    assert {a["name"] for a in data["assumptions"]} >= {"pue", "wue", "ewif", "it_energy_j"}


def test_human_table_has_units_and_ranges(capsys):
    rc, out = run_cmd(["--energy-kwh", "1287000", "--site", "us-average"], capsys)
    assert rc == 0
    assert "1,287 MWh" in out and "5.439 ML" in out and "4.731 ML" in out
    assert "kg CO2e" in out and ".." in out  # carbon has a range
    assert "assumptions:" in out
    rc, out = run_cmd(["--energy-kwh", "0.004", "--site", "us-average"], capsys)
    assert "16.9 mL" in out and "4 Wh" in out


def test_record_file_with_overrides(tmp_path, capsys):
    rec = RunRecord(
        name="job",
        status="ok",
        started_at="2025-06-01T13:00:00Z",
        duration_s=3600,
        components={"gpu": Component("gpu", 3.6e7, "counter", Estimate(3.6e7, 3.4e7, 3.8e7))},
        timeline=Timeline(t_s=[0.0], power_w={"gpu:0": [10000.0]}),
    )
    path = rec.save(tmp_path / "run.json")
    rc, out = run_cmd([str(path), "--site", "aws-2023", "--country", "FRA", "--wue", "1.0", "--json"], capsys)
    data = json.loads(out)
    assert rc == 0
    onsite = data["water"]["onsite_l"]  # 10 kWh (9.44 .. 10.56) x 1.0 L/kWh
    assert [onsite["low"], onsite["central"], onsite["high"]] == pytest.approx([34 / 3.6, 10.0, 38 / 3.6])
    assert data["site"]["country"] == "FRA" and data["site"]["provenance"]["wue"] == {"source": "user"}
    rc, out = run_cmd([str(path), "--pue", "1.1", "--wue", "0.2", "--ewif", "2"], capsys)
    assert "record 'job'" in out and "9.444 .. 10.56 kWh" in out
    assert "water consumed" in out


def test_withdrawal_in_json_and_table(capsys):
    rc, out = run_cmd(["--energy-kwh", "1287000", "--site", "us-average", "--json"], capsys)
    water = json.loads(out)["water"]
    assert rc == 0 and water["withdrawal_l"] is not None
    assert water["withdrawal_l"]["central"] == pytest.approx(
        water["onsite_withdrawal_l"]["central"] + water["offsite_withdrawal_l"]["central"]
    )
    for b in ("low", "central", "high"):
        assert water["withdrawal_l"][b] >= water["total_l"][b]
    rc, out = run_cmd(["--energy-kwh", "1287000", "--site", "us-average"], capsys)
    row = next(line for line in out.splitlines() if "water withdrawn" in line)
    assert "ML" in row and ".." in row and "not computed" not in row
    assert "ewif_withdrawal = " in out
    # EWIF given, no country: withdrawal not computed, and the assumptions say why
    rc, out = run_cmd(["--energy-kwh", "10", "--pue", "1.2", "--wue", "0.5", "--ewif", "2"], capsys)
    row = next(line for line in out.splitlines() if "water withdrawn" in line)
    assert "not computed" in row
    assert "ewif_withdrawal: not computed" in out and "given directly" in out


def test_list_sites(capsys):
    rc, out = run_cmd(["--list-sites"], capsys)
    assert rc == 0 and "us-average" in out and "eu-eed-2024" in out


@pytest.mark.parametrize(
    "argv, error, words",
    [
        (["--site", "us-average"], UsageError, ["RUN.json", "--energy-kwh"]),
        (["--energy-kwh", "1"], UsageError, ["--site", "us-average"]),
        (["--energy-kwh", "1", "--site", "nope"], InputError, ["nope", "us-average"]),
        (["--energy-kwh", "-5", "--site", "us-average"], InputError, ["-5"]),
        (["--energy-kwh", "1", "--pue", "0.5", "--wue", "1", "--ewif", "1"], InputError, ["pue", "0.5"]),
        (["--energy-kwh", "1", "--site", "aws-2023", "--country", "Atlantis"], InputError, ["Atlantis"]),
    ],
)
def test_bad_input_raises_input_errors(argv, error, words, capsys):
    with pytest.raises(error) as err:
        run_cmd(argv, capsys)
    for w in words:
        assert w in str(err.value)


def test_missing_record_file_is_an_input_error(tmp_path, capsys):
    from ecometer.errors import is_input_error

    with pytest.raises(Exception) as err:
        run_cmd([str(tmp_path / "missing.json"), "--site", "us-average"], capsys)
    assert is_input_error(err.value)


def test_through_the_cli_entry_point(capsys):
    from ecometer.commands.cli import main

    assert main(["footprint", "--energy-kwh", "1287000", "--site", "us-average"]) == 0
    assert "5.439 ML" in capsys.readouterr().out
    assert main(["footprint", "--energy-kwh", "1", "--site", "us-avg"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "us-avg" in err[0] and "us-average" in err[0]


def test_ewif_source_flag(capsys):
    from ecometer.commands import cli

    base = ["footprint", "--energy-kwh", "1", "--pue", "1", "--wue", "0", "--country", "USA", "--json"]
    assert cli.main([*base, "--ewif-source", "published"]) == 0
    published = json.loads(capsys.readouterr().out)["water"]["offsite_l"]["central"]
    assert cli.main([*base, "--ewif-source", "derived"]) == 0
    derived = json.loads(capsys.readouterr().out)["water"]["offsite_l"]["central"]
    assert published == pytest.approx(3.1321) and derived != pytest.approx(published)


def test_bounds_option_interval_by_default_envelope_on_request(capsys):
    args = ["--energy-kwh", "10", "--pue", "1.2", "--wue", "0.5", "--country", "FRA"]
    rc, out = run_cmd([*args, "--json"], capsys)
    data = json.loads(out)
    assert rc == 0 and data["bounds"] == "interval" and data["water"]["withdrawal_l"]["coverage"] == 0.95
    rc, out = run_cmd([*args, "--json", "--bounds", "envelope"], capsys)
    env = json.loads(out)
    assert env["bounds"] == "envelope" and env["water"]["withdrawal_l"]["distribution"] == "envelope"
    assert env["water"]["withdrawal_l"]["high"] > data["water"]["withdrawal_l"]["high"]
    rc, out = run_cmd(args, capsys)
    row = next(line for line in out.splitlines() if "water withdrawn" in line)
    assert "(95%)" in row and "interval (coverage)" in out
    rc, out = run_cmd([*args, "--bounds", "envelope"], capsys)
    assert "(envelope)" in next(line for line in out.splitlines() if "water withdrawn" in line)
