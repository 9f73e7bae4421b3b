"""``ecometer forecast``: a pilot record scaled to a full job, JSON, exit codes, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ecometer.commands.cli import main
from tests.test_forecast import job_record


@pytest.fixture
def pilot(tmp_path):
    path = tmp_path / "pilot.json"
    job_record([(0.1, 250.0)] * 300, cpu_w=40.0).save(path)
    return path


def test_text_output_scales_the_pilot(pilot, capsys):
    assert main(["forecast", str(pilot), "--total-work", "30000", "--site", "us-average"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("forecast for 30,000 step (90% intervals): energy 870 kJ")
    assert "water on-site" in out and "facility energy" in out and "carbon" in out
    assert "rests on: 1.0% of the job observed" in out and "assumptions:" in out


def test_json_output_with_a_grade(pilot, capsys):
    rc = main(["forecast", str(pilot), "--total-work", "3000", "--standard", "ecometer-training", "--json"])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ready"] and data["coverage"] == 0.9 and data["target"] == {"total_work": 3000.0, "unit": "step"}
    assert data["energy_j"]["central"] == pytest.approx(3000 * 0.1 * 290.0)
    assert data["standard"] == "ecometer-training"
    assert data["basis"]["observed_fraction"] == pytest.approx(0.1)


def test_total_seconds(pilot, capsys):
    assert main(["forecast", str(pilot), "--total-s", "300", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["energy_j"]["central"] == pytest.approx(300 * 290.0)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--total-work", "10"], "below the 300"),
        (["--total-work", "0"], "finite number > 0"),
        (["--total-work", "nan"], "finite number > 0"),
        (["--total-work", "1000", "--unit", "token"], "unknown unit 'token'"),
        ([], "give --total-work"),
        (["--total-work", "1000", "--total-s", "100"], "give --total-work"),
    ],
)
def test_bad_input_exits_2_with_one_line(pilot, capsys, args, message):
    assert main(["forecast", str(pilot), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_too_short_a_pilot_exits_1_saying_what_it_needs(tmp_path, capsys):
    path = tmp_path / "short.json"
    job_record([(0.1, 250.0)] * 4).save(path)
    assert main(["forecast", str(path), "--total-work", "1000"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "a forecast needs 6" in captured.err


def test_missing_record_file(tmp_path, capsys):
    assert main(["forecast", str(tmp_path / "none.json"), "--total-work", "10"]) == 2
    assert "no such record file" in capsys.readouterr().err


def test_listed_in_help():
    out = subprocess.run([sys.executable, "-m", "ecometer", "--help"], capture_output=True, text=True, check=True)
    assert "forecast" in out.stdout
