"""Bad IT energy given to footprint(): the message says which part is wrong (issue 16: an
inverted uncertainty used to read "expected a finite number >= 0")."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from test_standards import make_record

from ecometer.commands.cli import main
from ecometer.errors import FootprintError
from ecometer.impact import footprint
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component


@pytest.mark.parametrize(
    "energy, message",
    [
        (
            SimpleNamespace(central=10.0, low=20.0, high=5.0),
            r"energy_j energy namespace\(.*\): its uncertainty is inverted \(low 20 J, central 10 J, high 5 J\); "
            r"expected low <= central <= high",
        ),
        (SimpleNamespace(central=10.0, low=12.0, high=15.0), r"its uncertainty is inverted \(low 12 J, central 10 J"),
        ({"central": 10.0, "low": 20.0, "high": 5.0}, r"energy_j: expected low <= central <= high, found 20.0, 10.0, 5.0"),
        ({"central": 10.0, "low": -1.0, "high": 15.0}, r"its low bound is negative \(-1 J\); expected >= 0"),
        (SimpleNamespace(central=10.0, low=2.0, high=math.inf), r"its high bound is inf; expected a finite number"),
        (math.nan, r"energy_j energy nan: its central value is nan; expected a finite number"),
        (-5.0, r"energy_j energy -5.0: its central value is negative \(-5 J\); expected >= 0"),
    ],
)
def test_bad_energy_names_what_is_wrong(energy, message):
    with pytest.raises(FootprintError, match=message):
        footprint(energy_j=energy, site="us-average")


def test_an_ordered_estimate_is_accepted():
    fp = footprint(energy_j=SimpleNamespace(central=10.0, low=8.0, high=12.0), site="us-average")
    assert fp.it_energy_j == pytest.approx(10.0)


@pytest.mark.parametrize("bounds", ["interval", "envelope"])
def test_a_record_whose_component_bound_is_negative(bounds):
    rec = make_record("neg", gpu_j=100.0)
    rec.components["gpu"] = Component("gpu", 100.0, "modelled", Estimate(100.0, -50.0, 150.0))
    with pytest.raises(FootprintError, match=r"record energy 100.0 J: its low bound is negative \(-50 J\)"):
        footprint(rec, site="us-average", bounds=bounds)


def test_cli_energy_kwh_negative_is_one_line(capsys):
    assert main(["footprint", "--energy-kwh", "-1", "--site", "us-average"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "energy_kwh energy -1.0: its central value is negative" in err
