"""Standards given bad input (issue 16): nothing impossible is graded, calibrated or accepted."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading

import pytest
from test_standards import BASE, footprint, make_record

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component
from ecometer.standards import StandardError, calibrate, load_standard, parse_standard, score
from ecometer.standards.tables import load_spec


# ---- records ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "energy,what",
    [(-1000.0, "negative"), (math.inf, "not a finite number"), (-math.inf, "not a finite number")],
)
def test_negative_or_infinite_energy_is_not_rated(energy, what):
    rec = make_record(gpu_j=1000.0)
    rec.components["gpu"] = Component("gpu", energy, "counter", Estimate.exact(energy))
    a = score(rec, parse_standard(BASE))
    assert a.grade is None and not a.rated and a.probabilities == {}
    assert f"component 'gpu' energy is {energy:g} J, {what}" in a.not_rated[0]
    assert a.metrics["e"].grade is None
    assert "not rated" in str(a)


def test_a_negative_bound_is_not_rated_either():
    rec = make_record(gpu_j=1000.0)
    rec.components["cpu"] = Component("cpu", 10.0, "modelled", Estimate(10.0, -5.0, 20.0))
    a = score(rec, parse_standard(BASE))
    assert not a.rated and "component 'cpu' lower bound is -5 J, negative" in a.not_rated[0]


def test_a_negative_footprint_figure_is_not_graded():
    text = BASE + '\n[metrics.c]\nquantity = "carbon_g"\nunit = "g"\nthresholds = [10.0, 20.0]\n'
    fp = footprint()
    fp["carbon_g"] = {"central": -3.0, "low": -4.0, "high": -2.0}
    a = score(make_record(footprint=fp), parse_standard(text))
    c = a.metrics["c"]
    assert c.grade is None and c.probabilities == {} and "carbon_g cannot be negative" in c.reason
    assert a.grade == "A"  # the energy metric still grades


def test_calibrate_skips_negative_records_and_never_writes_negative_thresholds():
    recs = []
    for i, joules in enumerate([-16.8, -12.0, -9.0, -5.0, 3.0, 6.0, 9.0, 12.0, 15.0]):
        rec = make_record(f"r{i}", gpu_j=1000.0, work={"token": 1000})
        rec.components["gpu"] = Component("gpu", joules, "counter", Estimate.exact(joules))
        recs.append(rec)
    std = calibrate(recs, "gpu_energy_j", bands=3, method="quantile", by_class=False, per="token", unit="J")
    edges = std.metrics["gpu_energy_per_token"].thresholds
    assert edges is not None and min(edges) >= 0
    assert std.calibration["records"] == 5
    assert "4 x a component energy is negative or not a finite number" in std.calibration["skipped"]
    assert "-" not in std.to_toml().split("thresholds = ")[1].split("\n")[0]


# ---- standard files -------------------------------------------------------------------------------
def test_negative_thresholds_and_limits_of_amounts_are_refused(tmp_path, capsys):
    with pytest.raises(StandardError) as err:
        parse_standard(BASE.replace("thresholds = [1.0, 2.0]", "thresholds = [-0.0168, 2.0]"), origin="n.toml")
    assert err.value.field == "metrics.e.thresholds[0]" and "cannot be negative" in str(err.value)
    assert err.value.line == 11
    classes = BASE + '\n[classes.a]\nmatch = { task = "x" }\nthresholds = { e = [-2.0, -1.0] }\n'
    classes += "\n[classes.rest]\ndefault = true\n"
    with pytest.raises(StandardError, match="cannot be negative") as err:
        parse_standard(classes)
    assert err.value.field == "classes.a.thresholds.e[0]"
    limit = BASE + '\n[[limits]]\nname = "energy"\nquantity = "it_energy_j"\nunit = "J"\nmax = -1\n'
    with pytest.raises(StandardError, match="cannot be negative") as err:
        parse_standard(limit)
    assert err.value.field == "limits[0].max"
    meta_limit = BASE + '\n[[limits]]\nname = "delta"\nfield = "latency_change_ms"\nmin = -5\n'
    assert parse_standard(meta_limit).limits[0].min == -5  # a meta number may be negative
    f = tmp_path / "neg.toml"
    f.write_text(BASE.replace("[1.0, 2.0]", "[-0.0168, 2.0]"))
    assert main(["standard", "check", str(f)]) == 2
    assert "metrics.e.thresholds[0]" in capsys.readouterr().err


def test_grades_that_differ_only_by_spaces_are_duplicates():
    with pytest.raises(StandardError) as err:
        parse_standard(BASE.replace('grades = ["A", "B", "C"]', 'grades = ["A", "A ", "C"]'))
    assert err.value.field == "standard.grades[1]" and "but for spaces" in str(err.value)


@pytest.mark.parametrize(
    "rule,field",
    [
        ("{ task = nan }", "classes.a.match.task"),
        ("{ task = inf }", "classes.a.match.task"),
        ('{ task = ["x", nan] }', "classes.a.match.task[1]"),
    ],
)
def test_match_values_that_match_nothing_are_refused(rule, field):
    text = BASE + f"\n[classes.a]\nmatch = {rule}\n\n[classes.rest]\ndefault = true\n"
    with pytest.raises(StandardError, match="match no record") as err:
        parse_standard(text)
    assert err.value.field == field


def test_reference_values_that_match_nothing_are_refused():
    text = BASE.replace("thresholds = [1.0, 2.0]", "thresholds = [1.0, 2.0]\nreference = { batch = nan }")
    with pytest.raises(StandardError, match="match no record") as err:
        parse_standard(text)
    assert err.value.field == "metrics.e.reference.batch"


@pytest.mark.parametrize("opener,closer", [("[", "]"), ("{a=", "}")])
def test_toml_nested_500_deep_is_a_standard_error(tmp_path, opener, closer):
    text = BASE + "\n[calibration]\nnote = " + opener * 500 + "1" * (opener == "{a=") + closer * 500 + "\n"
    assert len(text) < 3000
    with pytest.raises(StandardError, match="nested too deeply"):
        parse_standard(text)
    f = tmp_path / "deep.toml"
    f.write_text(text)
    with pytest.raises(StandardError, match="nested too deeply"):
        load_standard(f)


def _finishes(fn, seconds: float = 10.0):
    """Run ``fn`` in a thread; the exception it raised, or fail if it is still running after ``seconds``."""
    box: list[BaseException | None] = [None]

    def target() -> None:
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box[0] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "still reading: a FIFO must not be waited on"
    return box[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_as_a_standard_or_spec_fails_fast(tmp_path):
    fifo = tmp_path / "std.toml"
    os.mkfifo(fifo)
    try:
        exc = _finishes(lambda: load_standard(fifo))
        assert isinstance(exc, StandardError) and "not a regular file (a FIFO)" in str(exc)
        assert str(fifo) in str(exc)
        exc = _finishes(lambda: load_spec(fifo))
        assert isinstance(exc, InputError) and "a FIFO" in str(exc)
    finally:
        try:  # unblock a reader the old code left waiting, so the test process can exit
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        except OSError:
            pass


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_as_a_standard_fails_fast_without_reading_it():
    # in a child with 1 GiB of address space: reading /dev/zero to its end would exhaust it
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "from ecometer.standards import load_standard, StandardError\n"
        "try:\n"
        "    load_standard('/dev/zero')\n"
        "except StandardError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the ecometer under test
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "/dev/zero: found not a regular file (a character device)" in out.stdout


def test_a_directory_or_a_huge_file_as_a_standard(tmp_path):
    with pytest.raises(StandardError, match="not a regular file \\(a directory\\)"):
        load_standard(str(tmp_path) + "/")
    big = tmp_path / "big.toml"
    with big.open("wb") as fh:
        fh.truncate(5 * 2**20)  # sparse: 5 MiB of NULs
    with pytest.raises(StandardError, match="larger than 4 MiB"):
        load_standard(big)
