"""Not-rated reasons name only what is missing, and say what would make the run gradable."""

from __future__ import annotations

from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord
from ecometer.standards import score


def cpu_record(duration_s: float = 4.0, rel: float = 0.4, **meta) -> RunRecord:
    """A CPU-only run whose energy comes from a power model (+/-``rel``)."""
    cpu = Component("cpu", 400.0, "modelled", Estimate.relative(400.0, rel, rel, distribution="normal"))
    return RunRecord("cpu-run", duration_s=duration_s, components={"cpu": cpu}, work={"sample": 100.0}, meta=meta)


def gpu_record(**meta) -> RunRecord:
    gpu = Component("gpu", 1.2e4, "counter", Estimate.exact(1.2e4))
    work = {"token": 1e5, "query": 100.0}
    return RunRecord("gpu-run", duration_s=120.0, components={"gpu": gpu}, work=work, work_unit="token", meta=meta)


def test_class_reason_does_not_call_a_set_field_missing():
    """The bug of issue 24: model_params was set, and the reason said it was missing."""
    a = score(gpu_record(model_params=124e6, task="text-generation"), "ecometer-inference")
    (reason,) = [r for r in a.not_rated if "class 'other'" in r]
    assert "record.meta has no 'gpu_model'" in reason
    assert "model_params = 124000000.0 is set" in reason and "no 'model_params'" not in reason
    b = score(gpu_record(model_params=124e6, gpu_model="A100"), "ecometer-inference")
    assert any("gpu_model = 'A100' is in no rated class (they take 'H100' or 'B200')" in r for r in b.not_rated)
    assert any(step.startswith("describe the run so that a rated class applies") for step in b.to_be_rated)


def test_a_short_modelled_cpu_run_is_told_exactly_what_would_grade_it():
    a = score(cpu_record(duration_s=4.0, rel=0.4), "ecometer-training")
    assert not a.rated
    steps = a.to_be_rated
    assert "run for at least 60 s of work (this run: 4 s, about 15 times its work)" in steps
    assert any(
        "measure IT energy within ±20 % (this run ±40 %, from modelled cpu)" in s and "RAPL" in s for s in steps
    )
    assert any("count the work ecometer-training grades: 'flop'" in s for s in steps)
    assert "to be rated: run for at least 60 s" in str(a)


def test_only_what_is_missing_is_named():
    a = score(cpu_record(duration_s=600.0, rel=0.05), "ecometer-training")
    assert not any("60 s" in s for s in a.to_be_rated + a.not_rated)  # duration met: not mentioned
    assert not any("IT energy within" in s for s in a.to_be_rated)  # uncertainty met: not mentioned
    assert a.to_be_rated == [
        "count the work ecometer-training grades: 'flop' (the framework callbacks and count_flops count it; "
        "or add_work(n, 'flop'))"
    ]


def test_a_rated_run_has_no_steps():
    rec = cpu_record(duration_s=600.0, rel=0.05)
    rec.work["flop"] = 4e14  # 1,000 GFLOP/J
    a = score(rec, "ecometer-training")
    assert a.rated and a.grade is not None and a.to_be_rated == []
