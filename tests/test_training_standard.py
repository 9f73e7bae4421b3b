"""ecometer-training 0.2.0: calibrated on published training runs, each edge reproducible."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord
from ecometer.standards import load_standard, score
from ecometer.standards.calibration import calibrate
from ecometer.standards.tables import import_tables, load_spec, spec_files
from ecometer.work.estimates import FLOP_METHODS, note_estimate

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="module")
def corpus() -> list[RunRecord]:
    spec = load_spec("training-runs")
    return import_tables(spec_files(spec), spec)


def test_the_shipped_corpus_imports_as_reported_training_runs(corpus):
    assert len(corpus) == 109
    for rec in corpus:
        assert rec.work_unit == "flop" and rec.work["flop"] > 0
        assert set(rec.components) == {"it"} and rec.components["it"].method == "reported"
        assert rec.meta["task"] == "training" and rec.duration_s > 0
    gpt3 = next(r for r in corpus if r.meta["model"] == "GPT-3 175B (davinci)")
    assert gpt3.work["flop"] / gpt3.energy_j / 1e9 == pytest.approx(80.15, rel=1e-3)  # GFLOP/J of IT energy


def test_recalibrating_from_the_corpus_gives_the_shipped_edges(corpus):
    shipped = load_standard("ecometer-training")
    assert shipped.version == "0.2.0" and shipped.status == "published"
    fresh = calibrate(corpus, "flop_per_joule", bands=7, method="geometric", by_class=False, base=shipped)
    assert fresh.metrics["flop_per_joule"].thresholds == shipped.metrics["flop_per_joule"].thresholds
    edges = shipped.metrics["flop_per_joule"].thresholds
    water = shipped.metrics["water_per_pflop"].thresholds
    for e, w in zip(
        edges, water, strict=True
    ):  # water edges: the energy edges at 4.23 L/kWh (1,175 mL per PFLOP at 1 GFLOP/J)
        assert w == pytest.approx(1e6 / e / 3.6e6 * 4.23 * 1000, rel=2e-3)


def test_every_corpus_run_is_rated_and_the_grades_spread(corpus):
    std = load_standard("ecometer-training")
    grades = [score(r, std).metrics["flop_per_joule"].grade for r in corpus[:60]]
    assert None not in grades and len(set(grades)) >= 5


def test_an_h100_style_run_gets_a_grade_with_probabilities():
    """A metered GPU run with FLOPs from a measured step: graded, with the FLOP bounds drawn."""
    gpu = Component("gpu", 60_000.0, "counter", Estimate.exact(60_000.0))
    cpu = Component("cpu", 9_000.0, "modelled", Estimate.relative(9_000.0, 0.4, 0.4, distribution="normal"))
    rec = RunRecord("gpt2-ft", duration_s=120.0, components={"gpu": gpu, "cpu": cpu}, work={"flop": 69_000.0 * 60e9})
    note_estimate(rec.meta, "flop", FLOP_METHODS["measured"])
    a = score(rec, "ecometer-training")
    assert a.rated and a.grade == "C"  # 60 GFLOP/J
    assert a.probabilities and sum(a.probabilities.values()) == pytest.approx(1.0)
    m = a.metrics["flop_per_joule"]
    assert m.notes == ["work 'flop' estimated (measured, -5%/+5%): graded with its bounds"]
    counted = RunRecord("counted", duration_s=120.0, components={"gpu": gpu, "cpu": cpu}, work=dict(rec.work))
    c = score(counted, "ecometer-training").metrics["flop_per_joule"]
    assert m.low < c.low and m.high > c.high and c.notes == []  # the estimate's bounds widen the interval


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs the shared reference data beside the clone")
def test_the_shipped_corpus_is_the_derivation_of_the_published_tables():
    from benchmarks.training_corpus import derive, main

    assert main(["--shared", str(SHARED), "--check"]) == 0
    _, facts = derive(SHARED)
    assert facts["mlperf_it_w_per_h100"] == pytest.approx(845.0, abs=1.0)
    for model, card, corpus_value in facts["cross_check"]:  # held out: Meta's model cards
        assert card == pytest.approx(corpus_value, rel=0.2), model


def test_standard_show_says_where_each_edge_comes_from(capsys):
    from ecometer.commands.cli import main

    assert main(["standard", "show", "ecometer-training"]) == 0
    text = capsys.readouterr().out
    assert "Where each edge comes from" in text and "MLPerf Training" in text
    for edge in ("A >= 305", "B >= 114", "C >= 42.3", "D >= 15.8", "E >= 5.87", "F >= 2.19"):
        assert edge in text
    assert 'version = "0.2.0"' in text and 'version = "0.1.0"' in text  # the changelog keeps the draft


def test_the_summary_and_report_say_what_would_rate_a_run(tmp_path):
    from ecometer.report.html import render_html
    from ecometer.report.text import summary

    cpu = Component("cpu", 400.0, "modelled", Estimate.relative(400.0, 0.4, 0.4, distribution="normal"))
    rec = RunRecord("short", duration_s=5.0, components={"cpu": cpu}, work={"sample": 10.0}, work_unit="sample")
    rec.attach("assessment", score(rec, "ecometer-training"))
    assert "to be rated: run for at least 60 s of work (this run: 5 s, about 12 times its work)" in summary(rec)
    assert "To be rated:" in render_html(rec, {}) and "count the work ecometer-training grades" in render_html(rec, {})
