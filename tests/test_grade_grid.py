"""Grade probabilities without draws (issue 22): the exact path agrees with the joint draws and
with simulated truths, and measuring with a site and a standard imports no heavy module."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from test_standards import make_record

from ecometer.record.estimate import Estimate
from ecometer.standards import assess as A
from ecometer.standards import parse_standard, score
from ecometer.standards.gradegrid import Structure, factorise
from ecometer.standards.metrics import Measure

#: energy and water per token (water = the IT energy x an uncertain intensity, one site factor)
#: and a hard limit on the energy: three rows that share the energy draws
WATER = """\
[standard]
name = "w"
title = "energy and water per token"
version = "1"
grades = ["A", "B", "C"]

[metrics.e]
quantity = "it_energy_j"
per = "token"
unit = "J"
thresholds = [1.4, 1.6]

[metrics.w]
quantity = "water_total_l"
per = "token"
unit = "mL"
thresholds = [0.45, 0.55]

[[limits]]
name = "energy"
quantity = "it_energy_j"
unit = "J"
max = 1500
"""


def water_record():
    """1000 J of GPU energy (uniform +/-20 %) and 500 J of CPU energy (lognormal), 1000 tokens;
    water intensity 0.5 mL/J (lognormal 0.4..0.6), so water per token is near the A/B edge."""
    rec = make_record(gpu_j=1000.0, rel=0.2, method="modelled")
    rec.components["cpu"] = make_record(gpu_j=500.0, rel=0.3, method="modelled").components["gpu"]
    rec.components["cpu"].name = "cpu"
    rec.components["cpu"].uncertainty = Estimate(500.0, 380.0, 640.0, distribution="lognormal", coverage=0.95)
    intensity = {"water_total_l": Estimate(3.3e-4, 2.6e-4, 4.2e-4, distribution="lognormal", coverage=0.95).to_dict()}
    total = Estimate(0.495, 0.36, 0.66, distribution="lognormal", coverage=0.95).to_dict()  # its central value is read
    rec.attachments["footprint"] = {"schema": 2, "intensity": intensity, "water": {"total_l": total}}
    return rec


def both_ways(rec, std, monkeypatch):
    exact = score(rec, std)
    monkeypatch.setattr(A, "_exact_probabilities", lambda *a: None)
    drawn = score(rec, std)
    monkeypatch.undo()
    return exact, drawn


def test_the_exact_path_covers_energy_times_work_and_a_site_factor():
    rec, std = water_record(), parse_standard(WATER)
    s = Structure(rec)
    w = factorise(s, std.metrics["w"].measure)
    assert w is not None and w.energy == frozenset({"gpu", "cpu"}) and w.power == 1 and w.factor == "water_total_l"
    e = factorise(s, Measure("work_per_joule", work="token", unit="1"))
    assert e is not None and e.power == -1 and e.const == pytest.approx(1000.0)


def test_exact_probabilities_agree_with_the_joint_draws(monkeypatch):
    rec, std = water_record(), parse_standard(WATER)
    exact, drawn = both_ways(rec, std, monkeypatch)
    assert exact.rated and len(exact.probabilities) > 1
    for name in ("e", "w"):
        a, b = exact.metrics[name].probabilities, drawn.metrics[name].probabilities
        assert len(a) > 1
        for g in "ABC":  # 4,000 draws: a standard error of at most 0.008
            assert a.get(g, 0.0) == pytest.approx(b.get(g, 0.0), abs=0.03), (name, g, a, b)
    for g in "ABC":
        assert exact.probabilities.get(g, 0.0) == pytest.approx(drawn.probabilities.get(g, 0.0), abs=0.03)
    assert exact.limits[0].pass_probability == pytest.approx(drawn.limits[0].pass_probability, abs=0.03)
    assert 0.05 < exact.limits[0].pass_probability < 0.95


def test_exact_probabilities_match_simulated_truths():
    rec, std = water_record(), parse_standard(WATER)
    a = score(rec, std)
    rng = np.random.default_rng(11)  # independent of the scorer: the declared distributions drawn directly
    n = 20_000
    gpu = rng.uniform(800.0, 1200.0, n)
    z = 1.959963984540054
    g = rng.standard_normal(n)
    cpu = np.where(g < 0, 500.0 * np.exp(g * np.log(500 / 380) / z), 500.0 * np.exp(g * np.log(640 / 500) / z))
    h = rng.standard_normal(n)
    k = np.where(h < 0, 3.3e-4 * np.exp(h * np.log(3.3 / 2.6) / z), 3.3e-4 * np.exp(h * np.log(4.2 / 3.3) / z))
    energy = gpu + cpu
    e_idx = np.searchsorted([1.4, 1.6], energy / 1000, side="left")
    w_idx = np.searchsorted([0.45, 0.55], energy * k, side="left")  # mL per token = L x 1000 / 1000 tokens
    overall = np.maximum(e_idx, w_idx)
    for name, idx, stated in (("e", e_idx, a.metrics["e"].probabilities), ("w", w_idx, a.metrics["w"].probabilities),
                              ("overall", overall, a.probabilities)):  # fmt: skip
        for i, grade in enumerate("ABC"):
            assert float(np.mean(idx == i)) == pytest.approx(stated.get(grade, 0.0), abs=0.015), (name, grade)


def test_two_different_uncertain_energies_are_drawn(monkeypatch):
    text = WATER.replace('quantity = "it_energy_j"\nper', 'quantity = "gpu_energy_j"\nper', 1).replace("[1.4, 1.6]", "[0.95, 1.05]")
    rec, std = water_record(), parse_standard(text)
    called = []
    real = A._drawn_probabilities
    monkeypatch.setattr(A, "_drawn_probabilities", lambda *a: called.append(1) or real(*a))
    a = score(rec, std)
    assert called and len(a.metrics["e"].probabilities) > 1


_MEASURE = """
import json, sys, tempfile, time
import ecometer
from ecometer.standards import parse_standard, score
std = tempfile.mkdtemp() + "/w.toml"
open(std, "w").write(sys.argv[1])
from ecometer.sensors.replay import ReplaySensor
# a modelled CPU at 20 W (+/-30 %): energy and its uncertainty whatever the machine (a real sensor
# may give no power point at all in a start and stop this short on a quiet machine)
cpu = ReplaySensor([(0, 20.0)], component="cpu", method="modelled", uncertainty=(-0.3, 0.3))
m = ecometer.measure("cold", out=tempfile.mkdtemp() + "/r.json", site="us-average", standard=std, sensors=[cpu],
                     interval_s=0.01)
m.start()
time.sleep(0.1)
m.add_work(1000, "token")
rec = m.stop()
measured = rec.attachments["assessment"]
measured = measured if isinstance(measured, dict) else measured.to_dict()
# the same record graded with thresholds on either side of its values: probabilities strictly between 0 and 1
e, w = (measured["metrics"][k]["value"] for k in ("e", "w"))
text = sys.argv[1].replace("[1e-12, 2e-12]", f"[{e * 0.95!r}, {e * 1.05!r}]").replace("[1e-9, 2e-9]", f"[{w!r}, {w * 1.1!r}]")
a = score(rec, parse_standard(text)).to_dict()
heavy = [n for n in ("numpy", "matplotlib", "codecarbon", "torch", "pandas") if n in sys.modules]
print(json.dumps({"heavy": heavy, "rated": [measured["rated"], a["rated"]], "probabilities": a["probabilities"],
                  "e": a["metrics"]["e"]["probabilities"], "w": a["metrics"]["w"]["probabilities"]}))
"""


def test_measuring_with_a_site_and_a_standard_imports_no_heavy_module(tmp_path):
    """A run with work counted, graded with a site and a standard (and again with thresholds
    straddling its values, so that every grade has a probability strictly between 0 and 1):
    numpy, matplotlib, codecarbon, torch and pandas stay unimported."""
    text = WATER.replace("[1.4, 1.6]", "[1e-12, 2e-12]").replace("[0.45, 0.55]", "[1e-9, 2e-9]")
    proc = subprocess.run([sys.executable, "-c", _MEASURE, text], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["rated"] == [True, True], out
    assert len(out["e"]) > 1 and len(out["w"]) > 1 and len(out["probabilities"]) > 1, out
    assert out["heavy"] == [], out
