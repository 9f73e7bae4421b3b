"""The grid path (ecometer.record.distributions): intervals without draws agree with a long Monte Carlo,
and measuring with a site and a standard imports no numpy."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from ecometer.impact import Site, footprint
from ecometer.impact.compute import footprint_with
from ecometer.impact.propagation import Draws, NeedsDraws
from ecometer.record.distributions import Grid, quantile, sum_grid
from ecometer.record.estimate import Estimate, sum_independent
from ecometer.record.model import Component, RunRecord
from ecometer.record.uncertainty import draw

N_MC = 400_000
LOGN = Estimate(1.40, 0.912, 2.11, coverage=0.95, distribution="lognormal")
TRI = Estimate(1.66, 0.466, 2.93, distribution="triangular")
UNI = Estimate(100.0, 95.0, 105.0, distribution="uniform")
NORM = Estimate(10.0, 8.0, 12.5, coverage=0.95, distribution="normal")
LOGN90 = Estimate(383.55, 302.2, 420.9, coverage=0.9, distribution="lognormal")


def mc_interval(values: np.ndarray) -> tuple[float, float]:
    lo, hi = np.quantile(values, [0.025, 0.975])
    return float(lo), float(hi)


def assert_close(got: tuple[float, float], want: tuple[float, float], share: float = 0.01) -> None:
    """Interval ends within ``share`` of the reference interval's width."""
    width = want[1] - want[0]
    assert abs(got[0] - want[0]) <= share * width, (got, want)
    assert abs(got[1] - want[1]) <= share * width, (got, want)


@pytest.mark.parametrize("est", [LOGN, TRI, UNI, NORM, LOGN90])
def test_quantile_inverts_the_declared_distribution(est):
    rng = np.random.default_rng(5)
    d = draw(est, rng, N_MC)
    for p in (0.025, 0.3, 0.5, 0.8, 0.975):
        assert np.mean(d <= quantile(est, p)) == pytest.approx(p, abs=0.003)


@pytest.mark.parametrize(
    "a,b,op",
    [(LOGN, TRI, "+"), (UNI, TRI, "+"), (UNI, LOGN, "+"), (UNI, NORM, "+"), (LOGN90, LOGN, "*"), (UNI, LOGN90, "*"),
     (TRI, LOGN90, "*"), (NORM, TRI, "max")],
)
def test_two_independent_inputs_match_a_long_monte_carlo(a, b, op):
    rng = np.random.default_rng(11)
    x, y = draw(a, rng, N_MC), draw(b, rng, N_MC)
    ga, gb = Grid.of(a), Grid.of(b)
    if op == "+":
        ref, g = x + y, ga.plus(gb)
    elif op == "*":
        ref, g = x * y, ga.times(gb)
    else:
        ref, g = np.maximum(x, y), ga.maximum(gb)
    assert_close((g.quantile(0.025), g.quantile(0.975)), mc_interval(ref))
    assert math.fsum(g.nodes) / len(g.nodes) == pytest.approx(float(np.mean(ref)), rel=0.005)


def test_three_terms_and_a_product_of_a_sum_match_a_long_monte_carlo():
    rng = np.random.default_rng(3)
    s = draw(LOGN, rng, N_MC) + draw(TRI, rng, N_MC) + draw(NORM, rng, N_MC)
    g = sum_grid([LOGN, TRI, NORM])
    assert_close((g.quantile(0.025), g.quantile(0.975)), mc_interval(s))
    prod = s * draw(LOGN90, rng, N_MC)
    gp = g.times(Grid.of(LOGN90))
    assert_close((gp.quantile(0.025), gp.quantile(0.975)), mc_interval(prod))


def test_same_uniform_combines_node_by_node_exactly():
    # two inputs of one uniform (full rank correlation): the sum's quantile is the sum of quantiles
    g = Grid.of(TRI).paired(Grid.of(UNI), lambda x, y: x + y)
    for p in (0.1, 0.5, 0.9):
        assert g.quantile(p) == pytest.approx(quantile(TRI, p) + quantile(UNI, p), rel=2e-3)


def test_sum_independent_of_mixed_terms_matches_monte_carlo_and_says_how():
    rng = np.random.default_rng(8)
    ref = mc_interval(draw(LOGN, rng, N_MC) + draw(TRI, rng, N_MC) + draw(UNI, rng, N_MC))
    got = sum_independent([LOGN, TRI, UNI, 4.0])
    assert got.central == pytest.approx(LOGN.central + TRI.central + UNI.central + 4.0)
    assert_close((got.low - 4.0, got.high - 4.0), ref)
    assert got.coverage == 0.95 and "numerical convolution" in got.basis


def _record(components: dict[str, Estimate]) -> RunRecord:
    comps = {n: Component(n, float(e), "modelled", e, {n: float(e)}) for n, e in components.items()}
    return RunRecord(name="sim", status="ok", duration_s=3600.0, components=comps)


def _figures(fp):
    yield "facility", fp.facility_energy_j
    for k in ("onsite_l", "offsite_l", "total_l", "withdrawal_l", "onsite_withdrawal_l", "offsite_withdrawal_l"):
        yield k, getattr(fp.water, k)
    yield "carbon", fp.carbon_g
    yield from fp.intensity.items()


@pytest.mark.parametrize("site", ["us-average", Site(pue=1.2, wue=0.3, country="DEU"), Site(pue=1.1, wue=0.2, country="FRA")])
def test_footprint_on_the_grid_matches_a_long_monte_carlo(site):
    rec = _record({"cpu": LOGN.scaled(1e4), "dram": TRI.scaled(1e4), "gpu": UNI.scaled(1e3)})
    site = Site.preset(site) if isinstance(site, str) else site
    grid = footprint_with(Draws("interval", grid=True), rec, site, None, None)
    long = footprint_with(Draws("interval", n=200_000), rec, site, None, None)
    compared = 0
    for (name, got), (_, want) in zip(_figures(grid), _figures(long), strict=True):
        if got is None or want.is_exact:
            continue
        assert got.central == pytest.approx(want.central), name
        assert_close((got.low, got.high), (want.low, want.high), 0.015)
        assert got.coverage == want.coverage and got.distribution == want.distribution, name
        compared += 1
    assert compared >= 8
    assert "numerical convolution" in grid.water.total_l.basis
    assert footprint(rec, site=site).to_dict() == grid.to_dict()  # footprint() takes the grid path here


def test_an_input_used_twice_in_one_figure_falls_back_to_monte_carlo_and_says_so():
    # an uncertain PUE enters off-site withdrawal twice (raised to off-site consumption, both x PUE)
    site = Site(pue=Estimate(1.3, 1.1, 1.5), wue=0.5, country="USA")
    rec = _record({"cpu": LOGN.scaled(1e4), "dram": TRI.scaled(1e4)})
    with pytest.raises(NeedsDraws):
        footprint_with(Draws("interval", grid=True), rec, site, None, None)
    fp = footprint(rec, site=site)
    assert "Monte Carlo" in fp.water.withdrawal_l.basis
    assert "Monte Carlo" in fp.assumption("bounds").note


COLD = """
import json, sys, tempfile, time
import ecometer
m = ecometer.measure("cold", site="us-average", standard="ai-energy-score-2025-02", out=tempfile.mkdtemp() + "/r.json")
with m:
    time.sleep(0.05)
rec = m.record
t = time.perf_counter()
ecometer.footprint(energy_j={"central": 3.0, "low": 2.0, "high": 4.0}, site="us-average")
tools = [m for m in ("calibrate", "revision", "writer") if "ecometer.standards." + m in sys.modules]
print(json.dumps({"numpy": "numpy" in sys.modules, "tools": tools, "fp": rec.attachments.get("footprint") is not None,
                  "assessment": rec.attachments.get("assessment") is not None, "total": rec.energy_uncertainty.basis}))
"""


def test_start_stop_with_a_site_and_a_standard_imports_no_numpy():
    out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True, timeout=120).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got == {"numpy": False, "tools": [], "fp": True, "assessment": True, "total": got["total"]}
    from ecometer.standards import calibrate, diff, to_toml  # the tools, imported on first use

    assert callable(calibrate) and callable(diff) and callable(to_toml)


# ---- phases: sensors' factors shared, boundary timings moving together ---------------------------
CPU_F = Estimate(1.0, 0.65, 1.51, coverage=0.95, distribution="lognormal")
DRAM_F = Estimate(1.0, 0.28, 1.76, distribution="triangular")
PHASE_CASES = {
    "two sensors, timed": [
        ("cpu", CPU_F, Estimate(0.18, 0.10, 0.25, distribution="triangular")),
        ("dram", DRAM_F, Estimate(0.21, 0.15, 0.30, distribution="triangular")),
    ],
    "wide timing": [
        ("cpu", CPU_F, Estimate(0.18, 0.01, 0.60, distribution="triangular")),
        ("dram", DRAM_F, Estimate(0.21, 0.05, 0.50, distribution="triangular")),
    ],
    "three sensors, one untimed": [
        ("cpu", CPU_F, Estimate(0.18, 0.10, 0.25, distribution="triangular")),
        ("dram", DRAM_F, Estimate(0.21, 0.15, 0.30, distribution="triangular")),
        ("gpu", Estimate(1.0, 0.95, 1.05), Estimate(2.0)),
    ],
    "timing only": [
        ("cpu", Estimate(1.0), Estimate(0.18, 0.10, 0.25, distribution="triangular")),
        ("dram", Estimate(1.0), Estimate(0.21, 0.15, 0.30, distribution="triangular")),
    ],
    "factors only": [("cpu", CPU_F, Estimate(0.18)), ("dram", DRAM_F, Estimate(0.21)), ("cpu", CPU_F, Estimate(0.05))],
}


@pytest.mark.parametrize("name", list(PHASE_CASES))
def test_phase_sum_on_the_grid_matches_a_long_monte_carlo(name):
    from ecometer.record.uncertainty import Propagation, shared_factor_sum

    terms = PHASE_CASES[name]
    got = shared_factor_sum(None, terms)
    want = shared_factor_sum(Propagation(n=N_MC, seed=3), terms)
    assert got.central == pytest.approx(want.central)
    assert_close((got.low, got.high), (want.low, want.high), 0.015)
    assert got.coverage == 0.95


PHASES = """
import json, sys, tempfile, time, resource
import ecometer
from ecometer.record.model import load_record, checkpoint_path
out = tempfile.mkdtemp() + "/r.json"
m = ecometer.Meter("phases", out=out, interval_s=0.02, checkpoint_interval_s=0.05)
m.start()
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    with m.phase("step"):
        sum(range(2000))
    with m.phase("eval"):
        time.sleep(0.001)
    try:
        if load_record(checkpoint_path(out)).phases:
            break
    except (OSError, ValueError):
        pass
cp = load_record(checkpoint_path(out))
rec = m.stop()
print(json.dumps({"numpy": "numpy" in sys.modules, "checkpoint": [p.uncertainty.distribution for p in cp.phases.values()],
                  "final": sorted({p.uncertainty.coverage for p in rec.phases.values()})}))
"""


def test_a_run_with_phases_and_checkpoints_imports_no_numpy():
    out = subprocess.run([sys.executable, "-c", PHASES], capture_output=True, text=True, check=True, timeout=120).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["numpy"] is False
    assert got["checkpoint"] and set(got["checkpoint"]) <= {"envelope", "exact"}  # no propagation while running
    assert got["final"] == [0.95]


def test_a_sum_of_hundreds_of_terms_is_bounded_work_and_matches_monte_carlo(monkeypatch):
    from ecometer.record import distributions as G

    terms = [Estimate(10 + i % 7, 5 + i % 7, 16 + i % 7, distribution="triangular" if i % 2 else "uniform") for i in range(400)]
    terms.append(Estimate(2000, 1500, 2600, coverage=0.95, distribution="lognormal"))  # one dominant term
    calls = []
    real = G.Grid.plus
    monkeypatch.setattr(G.Grid, "plus", lambda self, other: calls.append(1) or real(self, other))
    g = G.sum_grid(terms)
    assert len(calls) == G.MAX_CONVOLVED - 1  # 400 terms cost as much as 16
    rng = np.random.default_rng(2)
    ref = sum(draw(x, rng, 200_000) for x in terms)
    assert_close((g.quantile(0.025), g.quantile(0.975)), mc_interval(ref))


def test_normal_quantile_agrees_with_the_standard_library():
    from statistics import NormalDist

    from ecometer.record.distributions import normal_quantile

    for p in [1e-12, 1e-6, 0.001, 0.025, 0.1, 0.3, 0.5, 0.7, 0.9, 0.975, 0.999, 1 - 1e-9]:
        assert normal_quantile(p) == pytest.approx(NormalDist().inv_cdf(p), rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError):
        normal_quantile(1.0)
