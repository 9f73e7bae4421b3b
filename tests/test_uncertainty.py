"""The one bounds type and its propagation: distributions, correlations, coverage that holds."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from ecometer.errors import RecordError
from ecometer.record.estimate import Estimate
from ecometer.record.uncertainty import (
    Propagation,
    band_probabilities,
    draw,
    envelope,
    most_likely,
    propagate,
    sum_independent,
    summarise,
)


# ---- the type -------------------------------------------------------------------------------
def test_estimate_is_a_float_with_bounds_coverage_and_basis():
    e = Estimate(10.0, 8.0, 13.0, coverage=0.95, distribution="lognormal", basis="WRI 2020")
    assert e == 10.0 and e * 2 == 20.0 and isinstance(e * 2, float) and not isinstance(e * 2, Estimate)
    assert (e.low, e.high, e.coverage, e.distribution, e.basis) == (8.0, 13.0, 0.95, "lognormal", "WRI 2020")
    s = e.scaled(1000)
    assert (s.central, s.low, s.high, s.coverage, s.distribution) == (10000.0, 8000.0, 13000.0, 0.95, "lognormal")
    back = Estimate.from_dict(json.loads(json.dumps(e.to_dict())))
    assert back.to_dict() == e.to_dict()
    assert pickle.loads(pickle.dumps(e)).to_dict() == e.to_dict()


def test_defaults_say_what_the_interval_claims():
    assert Estimate.exact(3.0).distribution == "exact" and Estimate.exact(3.0).coverage == 1.0
    bound = Estimate(1.0, 0.5, 1.5)  # a stated bound: the whole support
    assert bound.distribution == "uniform" and bound.coverage == 1.0
    assert Estimate(1.0, 0.5, 1.5, distribution="normal").coverage == 0.95
    assert Estimate(1.0, 0.5, 1.5, distribution="envelope").coverage is None
    with pytest.raises(RecordError, match="coverage"):
        Estimate(1.0, 0.5, 1.5, coverage=1.5)
    with pytest.raises(RecordError, match="distribution"):
        Estimate(1.0, 0.5, 1.5, distribution="gaussianish")


def test_schema_one_bounds_load_with_coverage_not_stated():
    old = Estimate.from_dict({"central": 2.0, "low": 1.0, "high": 4.0})
    assert old.coverage is None and old.distribution == "uniform"
    assert "coverage not stated" in old.describe()
    with pytest.raises(RecordError, match="low <= central <= high"):
        Estimate.from_dict({"central": 2.0, "low": 3.0, "high": 4.0})


# ---- distributions ----------------------------------------------------------------------------
@pytest.mark.parametrize("shape", ["normal", "lognormal"])
def test_drawn_quantiles_match_the_declared_interval(shape):
    e = Estimate(10.0, 6.0, 19.0, coverage=0.9, distribution=shape)
    x = draw(e, np.random.default_rng(1), 200_000)
    lo, med, hi = np.quantile(x, [0.05, 0.5, 0.95])
    assert lo == pytest.approx(6.0, rel=0.01) and hi == pytest.approx(19.0, rel=0.01)
    assert med == pytest.approx(10.0, rel=0.01)


def test_stated_bounds_are_the_support():
    for shape in ("uniform", "triangular"):
        x = draw(Estimate(5.0, 4.0, 7.0, distribution=shape), np.random.default_rng(2), 50_000)
        assert x.min() >= 4.0 and x.max() <= 7.0 and x.min() < 4.1 and x.max() > 6.9


def test_summary_of_draws_round_trips_an_interval():
    e = Estimate(3.0, 2.0, 5.0, coverage=0.95, distribution="lognormal")
    s = summarise(draw(e, np.random.default_rng(3), 100_000), 3.0)
    assert s.low == pytest.approx(2.0, rel=0.02) and s.high == pytest.approx(5.0, rel=0.02)
    assert s.coverage == 0.95 and s.distribution == "lognormal"


# ---- combination rules --------------------------------------------------------------------------
def test_exact_rule_with_one_uncertain_term():
    total = sum_independent([Estimate.exact(100.0), Estimate(50.0, 40.0, 65.0, distribution="triangular")])
    assert (total.central, total.low, total.high) == (150.0, 140.0, 165.0)
    assert total.distribution == "triangular" and total.coverage == 1.0


def test_correlated_errors_are_one_error():
    # one CPU model's error over a whole run: 1,000 phases measured by the same model are not
    # 1,000 independent errors; their sum keeps the model's relative range
    model = Estimate(1.0, 0.6, 1.4)
    p = Propagation()
    shared = p.factor("sensor:cpu-model", model)
    total = sum(shared * 2.0 for _ in range(1000))
    s = summarise(total, 2000.0)
    assert s.low < 2000 * 0.65 and s.high > 2000 * 1.35
    independent = sum(p.value(Estimate(2.0, 1.2, 2.8)) for _ in range(1000))
    t = summarise(independent, 2000.0)
    assert t.rel_halfwidth < 0.05  # independent errors average out


def test_propagate_declared_correlation_and_independence():
    pue = Estimate(1.2, 1.1, 1.3)
    ewif = Estimate(3.0, 2.0, 4.5, coverage=0.95, distribution="lognormal")
    out = propagate(lambda e, pue, ewif: e * pue * ewif, {"e": 10.0, "pue": pue, "ewif": ewif})
    assert out.central == pytest.approx(36.0) and out.coverage == 0.95
    env = envelope(lambda e, pue, ewif: e * pue * ewif, {"e": 10.0, "pue": pue, "ewif": ewif})
    assert env.distribution == "envelope" and env.coverage is None
    assert env.low == pytest.approx(22.0) and env.high == pytest.approx(58.5)
    assert env.low < out.low < out.high < env.high  # the envelope is wider than the interval
    both = propagate(lambda a, b: a + b, {"a": pue, "b": pue}, correlated=[("a", "b")])
    assert both.low == pytest.approx(2.2 + 0.01, abs=0.02) and both.high == pytest.approx(2.6 - 0.01, abs=0.02)


# ---- the stated coverage is honest -----------------------------------------------------------
def test_95_percent_intervals_contain_the_truth_95_percent_of_the_time():
    """Simulate many runs with known input errors and check the stated coverage.

    Each trial has true IT energy, WUE, PUE and EWIF. What a user has is a modelled energy
    (true energy / (1 + e), e uniform within the model's stated +/-40 %), a site's PUE within a
    stated bound, and published factors whose errors are log-normal at the stated 95 % range.
    The propagated 95 % interval of water must contain the true water in about 95 % of trials.
    """
    rng = np.random.default_rng(11)
    trials, inside = 400, 0
    s_wue, s_ewif = 0.30, 0.45  # log-sd of the factors' errors
    z = 1.959964
    for _ in range(trials):
        e_true, wue_true, pue_true, ewif_true = 3.6e6, 0.5, 1.2, 3.0
        e_obs = e_true / (1 + rng.uniform(-0.4, 0.4))
        pue_obs = pue_true - rng.uniform(-0.1, 0.1)
        wue_obs = wue_true * math.exp(-s_wue * rng.standard_normal())
        ewif_obs = ewif_true * math.exp(-s_ewif * rng.standard_normal())
        inputs = {
            "e": Estimate.relative(e_obs, 0.4, 0.4),
            "pue": Estimate(pue_obs, pue_obs - 0.1, pue_obs + 0.1),
            "wue": Estimate(wue_obs, wue_obs * math.exp(-z * s_wue), wue_obs * math.exp(z * s_wue),
                            coverage=0.95, distribution="lognormal"),
            "ewif": Estimate(ewif_obs, ewif_obs * math.exp(-z * s_ewif), ewif_obs * math.exp(z * s_ewif),
                             coverage=0.95, distribution="lognormal"),
        }
        water = propagate(lambda e, pue, wue, ewif: e / 3.6e6 * (wue + pue * ewif), inputs)
        inside += water.contains(wue_true + pue_true * ewif_true)
    rate = inside / trials
    sigma = math.sqrt(0.95 * 0.05 / trials)
    assert abs(rate - 0.95) < 3.5 * sigma + 0.01, rate


# ---- grades as probabilities ------------------------------------------------------------------
def test_band_probabilities_from_draws():
    x = np.random.default_rng(5).normal(10.0, 1.0, 200_000)
    probs = band_probabilities(x, [9.0, 11.0], ["A", "B", "C"], "lower")
    phi = 0.5 * (1 + math.erf(-1 / math.sqrt(2)))  # P(X < 9)
    assert probs["A"] == pytest.approx(phi, abs=0.005) and probs["C"] == pytest.approx(phi, abs=0.005)
    assert sum(probs.values()) == pytest.approx(1.0)
    assert most_likely(probs) == ("B", probs["B"])
    up = band_probabilities(x, [11.0, 9.0], ["A", "B", "C"], "higher")
    assert up["A"] == pytest.approx(phi, abs=0.005)  # higher is better: A from 11 up


@pytest.mark.parametrize("direction,thresholds", [("lower", [1.0, 2.0, 3.0]), ("higher", [3.0, 2.0, 1.0])])
def test_band_probabilities_follow_the_standards_grading_rule(direction, thresholds):
    from ecometer.standards.assess import grade_index

    grades = ["A", "B", "C", "D"]
    values = [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]  # edges included: they belong to the better grade
    for v in values:
        probs = band_probabilities(np.array([v]), thresholds, grades, direction)
        assert probs == {grades[grade_index(v, thresholds, direction)]: 1.0}, v


def test_uniform_product_exact_rule_matches_a_large_monte_carlo():
    from ecometer.record.uncertainty import uniform_product

    m = Estimate(1.0, 0.7, 1.3)  # the CPU model's stated bound
    t = Estimate(1.0, 0.796, 1.273)  # a generation's TDP-per-thread range around its median
    exact = uniform_product(m, t)
    rng = np.random.default_rng(3)
    z = rng.uniform(0.7, 1.3, 1_000_000) * rng.uniform(0.796, 1.273, 1_000_000)
    lo, hi = np.quantile(z, [0.025, 0.975])
    assert exact.low == pytest.approx(lo, rel=2e-3) and exact.high == pytest.approx(hi, rel=2e-3)
    assert exact.central == 1.0 and exact.coverage == 0.95
    with pytest.raises(ValueError):
        uniform_product(Estimate(1.0, -1.0, 2.0), t)


def test_starting_a_meter_draws_nothing():
    """The CPU model's factor comes from the exact rule: starting a meter imports no numpy."""
    import subprocess
    import sys

    code = (
        "import sys, ecometer; m = ecometer.Meter('x', out=None); m.start(); "
        "import time; time.sleep(0.3); print('numpy' in sys.modules); m.stop()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[0] == "False"
