"""Run records: serialisation, loading errors, estimates."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecometer.errors import RecordError
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord, load_record


def make_record() -> RunRecord:
    return RunRecord(
        name="r",
        status="ok",
        duration_s=10.0,
        components={
            "gpu": Component("gpu", 1000.0, "counter", Estimate(1000.0, 950.0, 1050.0), {"gpu:0": 1000.0}),
            "cpu": Component("cpu", 200.0, "modelled", Estimate(200.0, 140.0, 260.0), {"cpu": 200.0}),
        },
        work={"token": 500.0},
        work_unit="token",
    )


def test_totals_and_propagated_uncertainty():
    rec = make_record()
    assert rec.energy_j == 1200.0
    unc = rec.energy_uncertainty
    assert unc.central == 1200.0 and unc.coverage == 0.95
    # GPU 1000 +/- 50 J and CPU 200 +/- 60 J, stated bounds (uniform), independent sensors:
    # the 95 % interval of their sum, from an independent 400,000-draw simulation
    rng = np.random.default_rng(7)
    truth = rng.uniform(950, 1050, 400_000) + rng.uniform(140, 260, 400_000)
    lo, hi = np.quantile(truth, [0.025, 0.975])
    assert unc.low == pytest.approx(lo, abs=2.0) and unc.high == pytest.approx(hi, abs=2.0)
    # narrower than adding the bounds linearly, wider than the larger term alone
    assert 1200 - 110 < unc.low < 1200 - 60 and 1200 + 60 < unc.high < 1200 + 110
    assert rec.per_work() == pytest.approx(2.4)
    assert rec.average_power_w == pytest.approx(120.0)


def test_unknown_method_rejected():
    with pytest.raises(RecordError, match="method"):
        Component("gpu", 1.0, "guessed", Estimate.exact(1.0))


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(RecordError, match="no such record"):
        load_record(tmp_path / "nope.json")


@pytest.mark.parametrize(
    "content,match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"schema_version": 99, "name": "x"}', "schema_version 99"),
        ('{"schema_version": 1, "name": "x", "status": "weird"}', "status"),
        ('{"schema_version": 1, "name": "x", "components": {"gpu": {"name": "gpu"}}}', "malformed"),
    ],
)
def test_corrupt_files_are_clear_errors(tmp_path, content, match):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(RecordError, match=match):
        load_record(p)


def test_non_finite_values_saved_as_null(tmp_path):
    rec = make_record()
    rec.meta["ratio"] = float("inf")
    path = rec.save(tmp_path / "r.json")
    data = json.loads(path.read_text())
    assert data["meta"]["ratio"] is None
    assert load_record(path).energy_j == 1200.0


def test_estimate_scaling_and_relative():
    e = Estimate.relative(100.0, 0.1, 0.2)
    assert (e.low, e.high) == pytest.approx((90.0, 120.0))
    s = e.scaled(-1.0)
    assert s.low <= s.central <= s.high
    assert e.rel_halfwidth == pytest.approx(0.15)
