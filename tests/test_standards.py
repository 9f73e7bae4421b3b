"""Standards: strict loading, scoring at band edges, stability, classes, quality, hard limits."""

from __future__ import annotations

import json
import math

import pytest

from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord
from ecometer.record.quantities import NO_FOOTPRINT
from ecometer.standards import (
    Assessment,
    Standard,
    StandardError,
    list_standards,
    load_standard,
    parse_standard,
    score,
)

BASE = """\
[standard]
name = "t"
title = "test standard"
version = "1"
grades = ["A", "B", "C"]

[metrics.e]
quantity = "it_energy_j"
per = "token"
unit = "J"
thresholds = [1.0, 2.0]
"""


def make_record(
    name: str = "r",
    *,
    gpu_j: float = 1000.0,
    rel: float = 0.0,
    method: str = "counter",
    cpu_j: float = 0.0,
    duration_s: float = 100.0,
    work: dict[str, float] | None = None,
    meta: dict | None = None,
    footprint: dict | None = None,
    gpus: int = 1,
) -> RunRecord:
    comps = {
        "gpu": Component(
            "gpu",
            gpu_j,
            method,
            Estimate.relative(gpu_j, rel, rel),
            devices={f"gpu:{i}": gpu_j / gpus for i in range(gpus)},
        )
    }
    if cpu_j:
        comps["cpu"] = Component("cpu", cpu_j, "modelled", Estimate.relative(cpu_j, 0.3, 0.3))
    rec = RunRecord(
        name=name,
        status="ok",
        duration_s=duration_s,
        components=comps,
        work=dict(work if work is not None else {"token": 1000}),
        meta=dict(meta or {}),
    )
    if footprint is not None:
        rec.attachments["footprint"] = footprint
    return rec


def est(c: float, rel: float = 0.0) -> dict:
    return {"central": c, "low": c * (1 - rel), "high": c * (1 + rel)}


def footprint(pue: float = 1.2, wue: float = 0.5, total_l: float = 2.0) -> dict:
    return {
        "facility_energy_j": est(1200.0, 0.05),
        "water": {"onsite_l": est(0.5), "offsite_l": est(1.5), "total_l": est(total_l, 0.2), "withdrawal_l": None},
        "carbon_g": est(100.0, 0.1),
        "site": {"pue": pue, "wue": wue},
        "assumptions": ["test"],
    }


# ---- loading -----------------------------------------------------------------------------------
def test_builtins_all_load_and_list_titles_versions():
    infos = list_standards()
    names = {i.name for i in infos}
    assert {"ecometer-training", "ecometer-inference", "ai-energy-score-style"} <= names
    for info in infos:
        std = load_standard(info.name)
        assert std.title == info.title and std.version == info.version
        assert std.source == f"builtin:{info.name}"
        # every built-in says how its thresholds were derived and where its figures come from
        assert std.bands in ("manual", "equal-width", "quantile", "geometric") and std.sources
    assert load_standard("ai-energy-score-style").bands == "equal-width"
    assert load_standard("ai-energy-score-style").grades == ["5 stars", "4 stars", "3 stars", "2 stars", "1 star"]
    assert load_standard("ecometer-inference").grades == list("ABCDEFG")


def test_minimal_standard_loads():
    std = parse_standard(BASE, origin="t.toml")
    assert isinstance(std, Standard)
    assert std.metrics["e"].direction == "lower" and std.metrics["e"].thresholds == [1.0, 2.0]
    assert std.combine == "worst"


def _lines(text: str) -> list[str]:
    return text.splitlines()


MALFORMED = [
    # (description, transform of BASE, field named, line expected or None)
    ("unknown top-level table", lambda t: t + "\n[metric.x]\nquantity = 'carbon_g'\n", "metric", None),
    ("typo in a metric key", lambda t: t.replace('unit = "J"', 'unit = "J"\ntreshold = 3'), "metrics.e.treshold", 11),
    ("unknown quantity", lambda t: t.replace('"it_energy_j"', '"energy_j"'), "metrics.e.quantity", 8),
    ("unit of the wrong dimension", lambda t: t.replace('unit = "J"', 'unit = "mL"'), "metrics.e.unit", 10),
    ("unknown unit", lambda t: t.replace('unit = "J"', 'unit = "kwh"'), "metrics.e.unit", 10),
    (
        "thresholds out of order",
        lambda t: t.replace('["A", "B", "C"]', '["A", "B", "C", "D"]').replace("[1.0, 2.0]", "[1.0, 3.0, 2.0]"),
        "metrics.e.thresholds[2]",
        11,
    ),
    ("thresholds of the wrong count", lambda t: t.replace("[1.0, 2.0]", "[1.0, 2.0, 3.0]"), "metrics.e.thresholds", 11),
    ("equal thresholds", lambda t: t.replace("[1.0, 2.0]", "[1.0, 1.0]"), "metrics.e.thresholds[1]", 11),
    ("non-numeric threshold", lambda t: t.replace("[1.0, 2.0]", '[1.0, "2"]'), "metrics.e.thresholds[1]", 11),
    (
        "direction against the quantity",
        lambda t: t.replace('unit = "J"', 'unit = "J"\ndirection = "higher"'),
        "metrics.e.direction",
        11,
    ),
    ("duplicate grade labels", lambda t: t.replace('["A", "B", "C"]', '["A", "B", "A"]'), "standard.grades[2]", 5),
    ("missing name", lambda t: t.replace('name = "t"\n', ""), "standard.name", None),
    (
        "missing thresholds without classes",
        lambda t: t.replace("thresholds = [1.0, 2.0]\n", ""),
        "metrics.e.thresholds",
        None,
    ),
    (
        "per on a ratio",
        lambda t: t + '\n[metrics.p]\nquantity = "site_pue"\nper = "token"\nthresholds = [1.2, 1.5]\n',
        "metrics.p.per",
        15,
    ),
    ("work on an energy", lambda t: t.replace('per = "token"', 'per = "token"\nwork = "x"'), "metrics.e.work", 10),
    ("weight with worst-of", lambda t: t + "weight = 2\n", "metrics.e.weight", 12),
    (
        "bad combine",
        lambda t: t.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\ncombine = "average"'),
        "standard.combine",
        6,
    ),
    (
        "bad bands",
        lambda t: t.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\nbands = "quintile"'),
        "standard.bands",
        6,
    ),
    ("limit without min or max", lambda t: t + '\n[[limits]]\nquantity = "site_pue"\n', "limits[0].max", 13),
    (
        "limit with an unknown key",
        lambda t: t + '\n[[limits]]\nquantity = "site_pue"\nmaximum = 1.3\n',
        "limits[0].maximum",
        15,
    ),
    (
        "quality repetitions not an integer",
        lambda t: t + "\n[quality]\nmin_repetitions = 2.5\n",
        "quality.min_repetitions",
        14,
    ),
    ("quality unknown key", lambda t: t + "\n[quality]\nmin_duration = 5\n", "quality.min_duration", 14),
]


@pytest.mark.parametrize("what,transform,field,line", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_standard_names_file_field_line(what, transform, field, line):
    text = transform(BASE)
    with pytest.raises(StandardError) as info:
        parse_standard(text, origin="std.toml")
    err = info.value
    assert err.file == "std.toml"
    assert err.field == field, str(err)
    assert field in str(err) and "std.toml" in str(err)
    assert "found" in str(err) and "expected" in str(err)
    if line is not None:
        assert err.line == line, (str(err), _lines(text)[line - 1] if line <= len(_lines(text)) else None)
        assert f"std.toml:{line}:" in str(err)


def test_typo_suggests_the_right_key():
    with pytest.raises(StandardError, match="did you mean 'thresholds'"):
        parse_standard(BASE.replace("thresholds =", "threshold ="), origin="s.toml")


def test_malformed_toml_reports_line():
    with pytest.raises(StandardError) as info:
        parse_standard(BASE + "\n[metrics.x\n", origin="bad.toml")
    assert info.value.line == 13 and "malformed TOML" in str(info.value)


CLASSES = """\
[standard]
name = "c"
title = "classes"
version = "1"
grades = ["A", "B", "C"]

[metrics.e]
quantity = "it_energy_j"
per = "token"
unit = "J"
thresholds = [1.0, 2.0]

[classes.small]
match = { model_params = { max = 10 } }

[classes.small.thresholds]
e = [0.5, 1.0]

[classes.big]
match = { model_params = { min = 10 } }
"""


def test_classes_cover_by_ranges_and_fall_back_to_metric_thresholds():
    std = parse_standard(CLASSES, origin="c.toml")
    assert std.thresholds_for("e", "small") == [0.5, 1.0]
    assert std.thresholds_for("e", "big") == [1.0, 2.0]
    # 0.8 J/token: B in the small class, A in the big class
    small = score(make_record(gpu_j=800, meta={"model_params": 5}), std)
    big = score(make_record(gpu_j=800, meta={"model_params": 10}), std)
    assert (small.class_name, small.grade) == ("small", "B")
    assert (big.class_name, big.grade) == ("big", "A")


@pytest.mark.parametrize(
    "change,field",
    [
        ("{ min = 9 }", "classes.big.match"),  # [9, inf) overlaps (-inf, 10)
        ("{ min = 11 }", "classes"),  # gap [10, 11): not covered
    ],
)
def test_overlapping_or_uncovering_classes_are_errors(change, field):
    text = CLASSES.replace("match = { model_params = { min = 10 } }", f"match = {{ model_params = {change} }}")
    with pytest.raises(StandardError) as info:
        parse_standard(text, origin="c.toml")
    assert info.value.field == field, str(info.value)


def test_categorical_classes_need_a_default():
    text = CLASSES.replace("{ model_params = { max = 10 } }", '{ task = "a" }').replace(
        "{ model_params = { min = 10 } }", '{ task = "b" }'
    )
    with pytest.raises(StandardError, match="default = true") as info:
        parse_standard(text, origin="c.toml")
    assert info.value.field == "classes"
    ok = parse_standard(text + "\n[classes.rest]\ndefault = true\nrated = false\n", origin="c.toml")
    rec = score(make_record(meta={"task": "zzz"}), ok)
    assert not rec.rated and rec.class_name == "rest" and "not rated" in rec.not_rated[0]


def test_class_thresholds_for_unknown_metric_and_missing_thresholds():
    bad = CLASSES.replace("e = [0.5, 1.0]", "f = [0.5, 1.0]")
    with pytest.raises(StandardError) as info:
        parse_standard(bad, origin="c.toml")
    assert info.value.field == "classes.small.thresholds.f" and info.value.line == 17
    missing = CLASSES.replace("thresholds = [1.0, 2.0]\n", "")
    with pytest.raises(StandardError) as info:
        parse_standard(missing, origin="c.toml")
    assert info.value.field == "classes.big.thresholds.e"


def test_load_standard_unknown_name_and_missing_file(tmp_path):
    with pytest.raises(StandardError, match="ecometer-inference"):
        load_standard("ecometer-inferense")
    with pytest.raises(StandardError, match="no such file"):
        load_standard(tmp_path / "nope.toml")
    f = tmp_path / "s.toml"
    f.write_text(BASE)
    assert load_standard(f).source == str(f)
    assert load_standard(str(f)).name == "t"


# ---- scoring -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "joules,grade",
    [(999.0, "A"), (1000.0, "A"), (1000.5, "B"), (1999.9, "B"), (2000.0, "B"), (2000.1, "C"), (1e9, "C")],
)
def test_grades_at_and_around_band_edges(joules, grade):
    std = parse_standard(BASE)
    a = score(make_record(gpu_j=joules, work={"token": 1000}), std)
    assert a.metrics["e"].value == pytest.approx(joules / 1000)
    assert a.metrics["e"].grade == grade and a.grade == grade


def test_improvement_needed_and_next_grade():
    a = score(make_record(gpu_j=1500.0), parse_standard(BASE))
    m = a.metrics["e"]
    assert m.grade == "B" and m.next_grade == "A"
    assert m.improvement_pct == pytest.approx(100 * (1.5 - 1.0) / 1.5)
    best = score(make_record(gpu_j=500.0), parse_standard(BASE)).metrics["e"]
    assert best.next_grade is None and best.improvement_pct is None


def test_higher_is_better_metric():
    text = BASE.replace(
        'quantity = "it_energy_j"\nper = "token"\nunit = "J"\nthresholds = [1.0, 2.0]',
        'quantity = "work_per_joule"\nwork = "sample"\nunit = "1/kJ"\nthresholds = [10.0, 5.0]',
    )
    std = parse_standard(text)
    # 8 samples per kJ: B; needs (10-8)/8 = 25 % more for A
    a = score(make_record(gpu_j=1000.0, work={"sample": 8}), std)
    m = a.metrics["e"]
    assert m.value == pytest.approx(8.0) and m.grade == "B"
    assert m.improvement_pct == pytest.approx(25.0)
    assert score(make_record(gpu_j=1000.0, work={"sample": 10}), std).grade == "A"
    assert score(make_record(gpu_j=1000.0, work={"sample": 4.9}), std).grade == "C"
    with pytest.raises(StandardError) as unordered:
        parse_standard(text.replace("[10.0, 5.0]", "[5.0, 10.0]"))
    assert unordered.value.field == "metrics.e.thresholds[1]"


def test_stability_under_uncertainty():
    std = parse_standard(BASE)
    near = score(make_record(gpu_j=1900.0, rel=0.1), std).metrics["e"]  # 1.71 .. 2.09 J/token
    assert near.grade == "B" and near.stable is False and near.spans == ["B", "C"]
    assert near.low == pytest.approx(1.71) and near.high == pytest.approx(2.09)
    far = score(make_record(gpu_j=1500.0, rel=0.1), std)
    assert far.metrics["e"].stable is True and far.metrics["e"].spans == ["B"]
    assert far.stable is True and far.spans == ["B"]
    wide = score(make_record(gpu_j=1500.0, rel=0.5), std)  # 0.75 .. 2.25
    assert wide.metrics["e"].spans == ["A", "B", "C"] and wide.stable is False and wide.spans == ["A", "B", "C"]
    assert "near a band edge" in str(wide)


def test_functional_units_per_1000_queries_gpu_hour_and_display_units():
    text = """\
[standard]
name = "u"
title = "units"
version = "1"
grades = ["A", "B"]

[metrics.q]
quantity = "gpu_energy_j"
per = "query"
scale = 1000
unit = "Wh"
thresholds = [50.0]

[metrics.gh]
quantity = "gpu_energy_j"
per = "gpu_hour"
unit = "kWh"
thresholds = [0.5]

[metrics.power]
quantity = "average_power_w"
unit = "kW"
thresholds = [1.0]
"""
    std = parse_standard(text)
    # 3.6 MJ on 2 GPUs over 1800 s = 1 GPU-hour: 1 kWh per GPU-hour; 2 kW average
    rec = make_record(gpu_j=3.6e6, gpus=2, duration_s=1800.0, work={"query": 10000})
    a = score(rec, std)
    assert a.metrics["q"].value == pytest.approx(100.0)  # 360 J/query = 0.1 Wh -> 100 Wh per 1,000
    assert a.metrics["q"].label == "Wh per 1,000 queries"
    assert a.metrics["gh"].value == pytest.approx(1.0)
    assert a.metrics["power"].value == pytest.approx(2.0)
    assert a.grade == "B"


def test_missing_functional_unit_does_not_apply_or_errors_when_required():
    std = parse_standard(BASE)
    a = score(make_record(work={"sample": 10}), std)
    m = a.metrics["e"]
    assert not m.applies and "'token'" in m.reason and "sample" in m.reason
    assert not a.rated and a.grade is None and "no metric" in a.not_rated[0]
    required = parse_standard(BASE + "required = true\n", origin="req.toml")
    with pytest.raises(StandardError) as info:
        score(make_record(work={"sample": 10}), required)
    assert info.value.file == "req.toml" and info.value.field == "metrics.e" and "'token'" in str(info.value)


def test_footprint_metrics_need_a_footprint():
    text = BASE + '\n[metrics.w]\nquantity = "water_total_l"\nper = "token"\nunit = "mL"\nthresholds = [1.0, 3.0]\n'
    text += '\n[metrics.wue]\nquantity = "site_wue"\nunit = "L/kWh"\nthresholds = [0.2, 1.0]\n'
    std = parse_standard(text)
    bare = score(make_record(), std)
    assert bare.metrics["w"].reason == NO_FOOTPRINT and bare.metrics["wue"].reason == NO_FOOTPRINT
    assert bare.grade == "A"  # the energy metric still grades
    full = score(make_record(footprint=footprint(total_l=2.0, wue=0.5)), std)
    assert full.metrics["w"].value == pytest.approx(2.0)  # 2 L / 1000 tokens = 2 mL per token
    assert full.metrics["w"].grade == "B" and full.metrics["w"].low == pytest.approx(1.6)
    assert full.metrics["wue"].value == pytest.approx(0.5) and full.metrics["wue"].grade == "B"
    assert full.grade == "B"


def test_weighted_combination_rounds_ties_toward_worse():
    text = """\
[standard]
name = "w"
title = "weighted"
version = "1"
grades = ["A", "B", "C"]
combine = "weighted"

[metrics.x]
quantity = "it_energy_j"
per = "token"
weight = 1
thresholds = [1.0, 2.0]

[metrics.y]
quantity = "it_energy_j"
per = "sample"
weight = WEIGHT
thresholds = [1.0, 2.0]
"""
    rec = make_record(gpu_j=1000.0, work={"token": 2000, "sample": 100})  # x: 0.5 -> A; y: 10 -> C
    assert score(rec, parse_standard(text.replace("WEIGHT", "1"))).grade == "B"  # mean 1.0
    assert score(rec, parse_standard(text.replace("WEIGHT", "3"))).grade == "C"  # mean 1.5 -> worse
    assert score(rec, parse_standard(text.replace("WEIGHT", "0.5"))).grade == "B"  # mean 0.67
    worst = parse_standard(
        text.replace('combine = "weighted"\n', "").replace("weight = 1\n", "").replace("weight = WEIGHT\n", "")
    )
    assert score(rec, worst).grade == "C"


def test_classes_of_the_inference_builtin():
    std = load_standard("ecometer-inference")
    work = {"token": 10000}
    # 0.15 J/token with 8e9 parameters on an H100: class small-H100, grade C (0.138 .. 0.193)
    h100 = {"model_params": 8e9, "gpu_model": "H100"}
    small = score(make_record(gpu_j=1500.0, rel=0.05, work=work, meta=h100), std)
    assert small.class_name == "small-H100" and small.metrics["energy_per_token"].grade == "C" and small.grade == "C"
    assert small.metrics["energy_per_query"].applies is False
    medium = score(make_record(gpu_j=1500.0, rel=0.05, work=work, meta={**h100, "model_params": 30e9}), std)
    assert medium.class_name == "medium-H100" and medium.grade == "B"  # 0.136 .. 0.207
    none = score(make_record(gpu_j=1500.0, work=work, meta={"model_params": 8e9}), std)
    assert not none.rated and none.class_name == "other" and "not rated" in none.not_rated[0]


def test_ai_energy_score_style_builtin():
    std = load_standard("ai-energy-score-style")
    meta = {"task": "text-generation", "model_params": 7e9, "repetitions": 10}
    # 150 Wh per 1,000 queries: below the first edge of class A -> 5 stars
    rec = make_record(gpu_j=150 * 3600.0, rel=0.02, work={"query": 1000}, meta=meta)
    a = score(rec, std)
    assert a.class_name == "text-generation-A" and a.grade == "5 stars"
    assert a.metrics["gpu_energy_per_1k_queries"].value == pytest.approx(150.0)
    few = score(make_record(gpu_j=540000.0, work={"query": 1000}, meta={**meta, "repetitions": 3}), std)
    assert not few.rated and "10 are required" in few.not_rated[0]
    other = score(make_record(work={"query": 1000}, meta={"task": "translation", "repetitions": 10}), std)
    assert not other.rated and other.class_name == "other"


@pytest.mark.parametrize(
    "quality,kwargs,reason",
    [
        ("min_duration_s = 60", {"duration_s": 10.0}, "duration 10 s is below the required 60 s"),
        ("min_repetitions = 3", {"meta": {"repetitions": 2}}, "2 repetitions; 3 are required"),
        ("min_repetitions = 3", {}, "no 'repetitions'"),
        ("require_counter_gpu = true", {"method": "integrated"}, "'integrated'"),
        ("max_relative_uncertainty = 0.1", {"rel": 0.2}, "±20 % exceeds the allowed ±10 %"),
    ],
)
def test_quality_requirements_make_a_record_not_rated(quality, kwargs, reason):
    std = parse_standard(BASE + f"\n[quality]\n{quality}\n")
    a = score(make_record(gpu_j=1500.0, **kwargs), std)
    assert not a.rated and a.grade is None and a.passed
    assert any(reason in r for r in a.not_rated), a.not_rated
    assert a.metrics["e"].value == pytest.approx(1.5) and a.metrics["e"].grade is None
    assert "not rated" in str(a)


def test_quality_requirements_met():
    std = parse_standard(
        BASE
        + "\n[quality]\nmin_duration_s = 60\nmin_repetitions = 3\nrequire_counter_gpu = true\nmax_relative_uncertainty = 0.1\n"
    )
    a = score(make_record(gpu_j=1500.0, rel=0.05, meta={"repetitions": 3}), std)
    assert a.rated and a.grade == "B" and a.not_rated == []


def test_hard_limits():
    text = BASE + '\n[[limits]]\nquantity = "site_pue"\nmax = 1.3\n'
    std = parse_standard(text)
    bad = score(make_record(gpu_j=500.0, footprint=footprint(pue=1.4)), std)
    assert bad.passed is False and bad.grade == "A" and bad.limits[0].status == "fail"
    assert "FAILED hard limit" in str(bad)
    good = score(make_record(gpu_j=500.0, footprint=footprint(pue=1.3)), std)
    assert good.passed and good.limits[0].status == "pass"
    unknown = score(make_record(gpu_j=500.0), std)
    assert unknown.passed and unknown.rated and unknown.limits[0].status == "unknown"
    assert unknown.limits[0].reason == NO_FOOTPRINT
    required = parse_standard(text + "required = true\n")
    a = score(make_record(gpu_j=500.0), required)
    assert a.passed and not a.rated and "site_pue" in a.not_rated[0]


def test_training_builtin_flop_per_joule_and_pue_limit():
    std = load_standard("ecometer-training")
    # 68 GFLOP/J (GPT-3 era) -> C (42.3-114 in 0.2.0); PUE 1.6 -> fails the limit
    rec = make_record(gpu_j=1e6, rel=0.05, duration_s=3600.0, work={"flop": 68e15}, footprint=footprint(pue=1.6))
    a = score(rec, std)
    assert a.metrics["flop_per_joule"].value == pytest.approx(68.0) and a.metrics["flop_per_joule"].grade == "C"
    assert a.passed is False


def test_assessment_round_trip_and_record_attachment():
    std = parse_standard(BASE + '\n[[limits]]\nquantity = "site_pue"\nmax = 1.3\n')
    rec = make_record(gpu_j=1900.0, rel=0.1, footprint=footprint(pue=1.25))
    a = score(rec, std)
    back = Assessment.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a
    rec.attach("assessment", a)
    again = RunRecord.from_dict(json.loads(rec.to_json()))
    assert isinstance(again.assessment, Assessment) and again.assessment == a
    text = str(a)
    assert "grade B" in text and "t 1" in text and "limit site_pue" in text


def test_infinite_values_serialise_as_null():
    text = BASE.replace(
        'quantity = "it_energy_j"\nper = "token"\nunit = "J"\nthresholds = [1.0, 2.0]',
        'quantity = "work_per_joule"\nwork = "sample"\nthresholds = [10.0, 5.0]',
    )
    rec = make_record(gpu_j=1000.0, rel=1.0, work={"sample": 100})  # low energy 0 -> high rate inf
    a = score(rec, parse_standard(text))
    assert math.isinf(a.metrics["e"].high)
    assert json.loads(json.dumps(a.to_dict()))["metrics"]["e"]["high"] is None


def test_score_accepts_builtin_name():
    a = score(make_record(meta={"model_params": 1e9}, duration_s=10.0), "ecometer-inference")
    assert a.standard == "ecometer-inference" and a.source == "builtin:ecometer-inference"


def test_format_doc_example_is_a_valid_standard():
    import re
    from pathlib import Path

    import ecometer.standards

    doc = (Path(ecometer.standards.__file__).parent / "FORMAT.md").read_text()
    example = re.search(r"```toml\n(.*?)```", doc, re.S).group(1)
    std = parse_standard(example, origin="FORMAT.md")
    assert std.classes["other"].default and std.limits[0].max == 1.3
    assert parse_standard(std.to_toml()) == std
