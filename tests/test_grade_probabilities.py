"""Grade probabilities (issue 13): honest against simulated truths, joint across metrics, stated confidence."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from conftest import FakeClock, manual_meter, run_steps
from test_standards import BASE, est, make_record

from ecometer.commands.cli import main
from ecometer.record.estimate import Estimate
from ecometer.record.uncertainty import N_DRAWS
from ecometer.sensors.replay import ReplaySensor
from ecometer.standards import Assessment, StandardError, parse_standard, score
from ecometer.standards.assess import grade_index
from ecometer.standards.draws import RecordDraws
from ecometer.standards.metrics import Measure
from ecometer.standards.tables import make_entry

#: energy per token (A <= 1.0 J, B <= 1.1 J) and average power (A <= 95 W, B <= 105 W): both read the IT energy
TWO = """\
[standard]
name = "two"
title = "two metrics on one energy"
version = "1"
grades = ["A", "B", "C"]

[metrics.e]
quantity = "it_energy_j"
per = "token"
unit = "J"
thresholds = [1.0, 1.1]

[metrics.p]
quantity = "average_power_w"
unit = "W"
thresholds = [95.0, 105.0]
"""


def replay_record(watts: float = 100.0, seconds: float = 10.0, rel: float = 0.2, tokens: float = 1000):
    """A metered record of a scripted trace whose energy is modelled with a known uniform +/-``rel`` error."""
    clock = FakeClock()
    sensor = ReplaySensor([(0, watts)], component="gpu", method="modelled", clock=clock, uncertainty=(rel, rel))
    meter = manual_meter(clock, [sensor])
    meter.start()
    run_steps(meter, clock, seconds)
    meter.add_work(tokens, "token")
    return meter.stop()


def tolerance(p: float, truths: int) -> float:
    """Four standard errors of a truth frequency against a Monte Carlo probability (binomial both)."""
    return 4 * math.sqrt(max(p * (1 - p), 0.01) * (1 / truths + 1 / N_DRAWS))


def test_stated_probabilities_match_how_often_simulated_truths_get_each_grade():
    record = replay_record()  # 1000 J, modelled: the truth is uniform on 800..1200 J (its declared error)
    unc = record.components["gpu"].uncertainty
    assert (unc.distribution, unc.low, unc.high) == ("uniform", pytest.approx(800.0), pytest.approx(1200.0))
    std = parse_standard(TWO)
    a = score(record, std)
    truths = np.random.default_rng(7).uniform(unc.low, unc.high, 2000)  # independent of the scorer's seed
    per_truth = {
        "e": [grade_index(t / 1000, [1.0, 1.1], "lower") for t in truths],
        "p": [grade_index(t / record.duration_s, [95.0, 105.0], "lower") for t in truths],
    }
    per_truth["overall"] = [max(e, p) for e, p in zip(per_truth["e"], per_truth["p"], strict=True)]
    stated = {"e": a.metrics["e"].probabilities, "p": a.metrics["p"].probabilities, "overall": a.probabilities}
    for name, grades in per_truth.items():
        for i, grade in enumerate("ABC"):
            freq = grades.count(i) / len(truths)
            p = stated[name].get(grade, 0.0)
            assert abs(freq - p) <= tolerance(p, len(truths)), (name, grade, freq, p)
    # worked out: e is A/B/C 50/25/25 %, p 37.5/25/37.5 %, and jointly the worst of both 37.5/25/37.5 %;
    # independent draws per metric would have given overall A 0.5 x 0.375 = 19 %
    assert a.probabilities["A"] == pytest.approx(0.375, abs=0.03)
    assert a.metrics["e"].probabilities["A"] == pytest.approx(0.5, abs=0.03)


def test_far_from_an_edge_is_stable_with_certainty():
    a = score(replay_record(watts=150.0, rel=0.05), parse_standard(BASE))  # 1.5 J/token, 1.425..1.575: B
    m = a.metrics["e"]
    assert m.probabilities == {"B": 1.0} and m.most_likely == "B" and m.stable is True and m.confidence == 0.9
    assert a.probabilities == {"B": 1.0} and a.most_likely == "B" and a.stable is True


def test_on_an_edge_the_grade_is_even_odds_and_not_stable():
    a = score(make_record(gpu_j=1000.0, rel=0.1), parse_standard(BASE))  # 1.0 J/token: the A/B edge
    m = a.metrics["e"]
    assert m.grade == "A"  # the central value, on the edge, belongs to the better grade
    assert set(m.probabilities) == {"A", "B"} and m.probabilities["A"] == pytest.approx(0.5, abs=0.03)
    assert m.stable is False and a.stable is False
    assert "not stable (needs 90 %)" in str(a)


def test_confidence_is_the_standards_own_and_validated():
    text = BASE.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\nconfidence = 0.7')
    near = make_record(gpu_j=1900.0, rel=0.1)  # 1.71 .. 2.09 J/token: B 76 %, C 24 %
    default = score(near, parse_standard(BASE))
    assert default.metrics["e"].probabilities["B"] == pytest.approx(0.763, abs=0.03)
    assert default.stable is False and default.confidence == 0.9
    relaxed = parse_standard(text)
    assert relaxed.confidence == 0.7
    a = score(near, relaxed)
    assert a.stable is True and a.metrics["e"].stable is True and a.confidence == 0.7
    assert parse_standard(relaxed.to_toml()).confidence == 0.7
    assert "confidence" not in parse_standard(BASE).to_dict()["standard"]  # the default is not written
    for bad in ("0", "1", "1.5", "-0.1", '"high"', "nan"):
        with pytest.raises(StandardError) as err:
            parse_standard(text.replace("confidence = 0.7", f"confidence = {bad}"))
        assert err.value.field == "standard.confidence" and err.value.line == 6


INTENSITY_STD = """\
[standard]
name = "fp"
title = "energy and carbon"
version = "1"
grades = ["A", "B", "C"]

[metrics.e]
quantity = "it_energy_j"
unit = "J"
thresholds = [1000.0, 1100.0]

[metrics.c]
quantity = "carbon_g"
unit = "g"
thresholds = [100.0, 110.0]
"""


def _footprint(intensity: bool) -> dict:
    fp = {
        "facility_energy_j": est(1200.0, 0.2),
        "water": {"onsite_l": est(0.5, 0.2), "offsite_l": est(1.5, 0.2), "total_l": est(2.0, 0.2)},
        "carbon_g": est(100.0, 0.2),  # 80 .. 120 g (schema 1: uniform)
        "site": {"pue": 1.2, "wue": 0.5},
    }
    if intensity:  # the documented shape: per joule of IT energy, factor-only uncertainty
        exact = Estimate.exact(0.1).to_dict()
        fp["intensity"] = {"carbon_g": exact, "facility_energy_j": Estimate.exact(1.2).to_dict()}
    return fp


def test_footprint_intensity_makes_footprint_metrics_share_the_energy_draws():
    std = parse_standard(INTENSITY_STD)
    joint = score(make_record(gpu_j=1000.0, rel=0.2, footprint=_footprint(True)), std)
    e, c = joint.metrics["e"], joint.metrics["c"]
    # carbon is 0.1 g/J x the same energy draws: each draw gets the same grade for both metrics
    assert e.probabilities == c.probabilities == joint.probabilities
    assert c.notes == []
    alone = score(make_record(gpu_j=1000.0, rel=0.2, footprint=_footprint(False)), std)
    c = alone.metrics["c"]
    assert c.probabilities["A"] == pytest.approx(0.5, abs=0.03)
    assert c.notes and "independently of the IT energy" in c.notes[0]
    assert alone.probabilities["A"] == pytest.approx(0.25, abs=0.03)  # two independent halves
    assert "independently of the IT energy" in str(alone)


def test_site_ratios_read_the_intensity_draws():
    rec = make_record(gpu_j=1000.0, rel=0.2, footprint=_footprint(True))
    pue = {"central": 1.2, "low": 1.1, "high": 1.3, "coverage": 1.0, "distribution": "uniform"}
    rec.attachments["footprint"]["intensity"]["facility_energy_j"] = pue
    d = RecordDraws(rec)
    x = d.measure(Measure("site_pue", unit="1"))
    assert x.min() >= 1.1 and x.max() <= 1.3 and x.std() > 0.05
    facility = d.quantity("facility_energy_j")
    assert np.allclose(facility, d.quantity("it_energy_j") * x)  # the same PUE draws, not new ones
    assert np.array_equal(d.quantity("it_energy_j"), d.component("gpu"))


def test_reported_figure_is_drawn_from_the_assumed_spread():
    text = BASE.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\n\n[quality]\naccept_reported = true')
    entry = make_entry("lab/x", 1000.0, work={"token": 1000})  # 1.0 J/token, on the A/B edge, no spread stated
    point = score(entry, parse_standard(text)).metrics["e"]
    assert point.probabilities == {"A": 1.0} and point.stable is True
    spread = score(entry, parse_standard(text.replace("accept_reported = true", "accept_reported = true\nreported_spread = 0.1")))
    m = spread.metrics["e"]
    assert m.assumed_spread == 0.1 and m.probabilities["A"] == pytest.approx(0.5, abs=0.03) and m.stable is False


def test_hard_limits_state_the_probability_of_passing():
    text = BASE + '\n[[limits]]\nname = "energy"\nquantity = "it_energy_j"\nunit = "J"\nmax = 1000\n'
    text += '\n[[limits]]\nname = "itl"\nfield = "p90_itl_ms"\nunit = "ms"\nmax = 100\n'
    a = score(make_record(gpu_j=1000.0, rel=0.1, meta={"p90_itl_ms": 120}), parse_standard(text))
    energy, itl = a.limits
    assert energy.status == "pass" and energy.pass_probability == pytest.approx(0.5, abs=0.03)
    assert itl.status == "fail" and itl.pass_probability == 0.0
    assert re.search(r"limit energy <= 1000 J per run: pass at 1,000 .*; P\(pass\) (4|5)\d %", str(a))
    assert "limit itl <= 100 ms: fail at 120; P(pass) 0 %" in str(a)


def test_not_rated_records_state_no_probabilities():
    text = BASE.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\n\n[quality]\nmin_duration_s = 1000')
    a = score(make_record(gpu_j=1500.0, rel=0.1), parse_standard(text))
    assert not a.rated and a.probabilities == {} and a.most_likely is None
    assert a.metrics["e"].probabilities == {} and a.metrics["e"].value == pytest.approx(1.5)


def test_weighted_overall_is_combined_draw_by_draw():
    text = TWO.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\ncombine = "weighted"')
    a = score(replay_record(), parse_standard(text))
    # equal weights: the mean of the two indices rounded half toward the worse grade, per draw:
    # A below 950 J (both A), B from 950 to 1050 J (A+B -> B, B+B), C above 1050 J (B+C -> C, C+C)
    assert a.probabilities["A"] == pytest.approx(0.375, abs=0.03)
    assert a.probabilities["C"] == pytest.approx(0.375, abs=0.03)


def test_old_assessments_without_probabilities_still_load():
    data = score(make_record(gpu_j=1500.0), parse_standard(BASE)).to_dict()
    for key in ("probabilities", "most_likely", "confidence"):
        data.pop(key)
        data["metrics"]["e"].pop(key)
    back = Assessment.from_dict(data)
    assert back.grade == "B" and back.probabilities == {} and back.metrics["e"].most_likely is None


def test_cli_score_shows_probabilities_text_and_json(tmp_path, capsys):
    (tmp_path / "t.toml").write_text(BASE)
    path = make_record(gpu_j=1900.0, rel=0.1).save(tmp_path / "r.json")
    assert main(["score", str(path), "--standard", str(tmp_path / "t.toml")]) == 0
    out = capsys.readouterr().out
    assert "overall grade: B (worst; B 76 %, C 24 %; not stable (needs 90 %))" in out
    assert main(["score", str(path), "--standard", str(tmp_path / "t.toml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["probabilities"]) == {"B", "C"} and data["most_likely"] == "B" and data["stable"] is False
    m = data["metrics"]["e"]
    assert m["probabilities"]["B"] == pytest.approx(0.76, abs=0.03) and m["confidence"] == 0.9
    assert sum(m["probabilities"].values()) == pytest.approx(1.0)


def test_a_reported_water_figure_is_not_drawn_from_the_sites_water_intensity(monkeypatch):
    import ecometer.impact as fpmod
    from ecometer.standards.sites import attach_footprint

    real = fpmod.footprint

    class WithIntensity:  # the site footprint as the footprint will give it: with an intensity table
        def __init__(self, record, site):
            self.data = real(record, site=site).to_dict()
            ratio = Estimate(1e-3, 0.8e-3, 1.2e-3, distribution="uniform").to_dict()
            self.data["intensity"] = {"water_total_l": ratio, "carbon_g": ratio}

        def to_dict(self):
            return self.data

    monkeypatch.setattr(fpmod, "footprint", lambda record, site: WithIntensity(record, site))
    entry = make_entry("lab/x", 1000.0, work={"token": 1000}, water_l=2.0)
    attach_footprint(entry, "us-average")
    fp = entry.attachments["footprint"]
    assert "water_total_l" not in fp["intensity"] and "carbon_g" in fp["intensity"]
    d = RecordDraws(entry)
    assert set(d.quantity("water_total_l")) == {2.0}  # the reported figure, not 1000 J x the site's 1 mL/J
