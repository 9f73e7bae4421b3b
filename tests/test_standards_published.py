"""Standards for published results: metadata, declared spreads, operating points, hardware
normalisation, limits on meta fields, work-unit checks, recalibration keeping the rationale."""

from __future__ import annotations

import pytest
from test_standards import BASE, make_record

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.standards import StandardError, calibrate, load_standard, parse_standard, score
from ecometer.standards.assess import grade_index
from ecometer.standards.loader import version_key
from ecometer.standards.tables import make_entry

SOURCE = {"publisher": "Lab X", "date": "2025"}


def entry(name: str, joules_per_token: float, **meta) -> object:
    return make_entry(name, joules_per_token * 1000, component="gpu", work={"token": 1000}, meta=meta, source=SOURCE)


# ---- [standard] fields ------------------------------------------------------------------------
def test_misspelt_per_fails_check_with_did_you_mean(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace('per = "token"', 'per = "queries"'))
    assert main(["standard", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "metrics.e.per" in err and "did you mean 'query'" in err
    declared = BASE.replace('per = "token"', 'per = "widget"').replace(
        'grades = ["A"', 'work_units = ["widget"]\ngrades = ["A"'
    )
    assert parse_standard(declared).metrics["e"].per == "widget"


def test_version_effective_status_supersedes_licence_changelog_round_trip():
    text = BASE.replace('version = "1"', 'version = "1.2.0-rc1"').replace(
        'grades = ["A"',
        'effective = 2025-02-01\nstatus = "published"\nsupersedes = "t 1.1.0"\nlicence = "CC-BY-4.0"\ngrades = ["A"',
    )
    text += '\n[[changelog]]\nversion = "1.2.0-rc1"\ndate = "2025-01-15"\nchanges = "tighter B"\n'
    std = parse_standard(text)
    assert (std.effective, std.status, std.supersedes, std.licence) == (
        "2025-02-01",
        "published",
        "t 1.1.0",
        "CC-BY-4.0",
    )
    assert std.changelog == [{"version": "1.2.0-rc1", "date": "2025-01-15", "changes": "tighter B"}]
    assert parse_standard(std.to_toml()) == std
    with pytest.raises(StandardError, match=r"standard.version.*sorts"):
        parse_standard(BASE.replace('version = "1"', 'version = "spring edition"'))
    with pytest.raises(StandardError, match=r"standard.status.*did you mean 'draft'"):
        parse_standard(BASE.replace('grades = ["A"', 'status = "drafft"\ngrades = ["A"'))
    with pytest.raises(StandardError, match=r"standard.effective.*YYYY-MM-DD"):
        parse_standard(BASE.replace('grades = ["A"', 'effective = "soon"\ngrades = ["A"'))
    assert sorted(["1.10.0", "1.2.0", "1.2.0-rc1", "0.9"], key=version_key) == ["0.9", "1.2.0-rc1", "1.2.0", "1.10.0"]


# ---- reported figures -------------------------------------------------------------------------
def test_declared_spread_makes_reported_means_near_an_edge_unstable():
    text = BASE.replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\n\n[quality]\naccept_reported = true')
    plain = parse_standard(text)
    spread = parse_standard(text.replace("accept_reported = true", "accept_reported = true\nreported_spread = 0.05"))
    near, far = entry("near", 0.98), entry("far", 0.5)
    assert score(near, plain).stable is True  # a bare mean has no spread: always "stable"
    a = score(near, spread)
    assert a.grade == "A" and a.stable is False and a.spans == ["A", "B"]
    assert a.metrics["e"].assumed_spread == 0.05 and "assumed spread of ±5 %" in str(a)
    assert score(far, spread).stable is True
    measured = make_record(gpu_j=980.0, rel=0.0)  # a measured exact figure is not widened
    assert score(measured, spread).stable is True


def test_reported_figures_are_refused_unless_the_standard_accepts_them():
    e = entry("x", 0.5)
    a = score(e, parse_standard(BASE))
    assert not a.rated and "reported by Lab X" in a.not_rated[0] and "accept_reported" in a.not_rated[0]
    strict = parse_standard(BASE + "\n[quality]\nmin_duration_s = 5.0\n")
    assert "duration unknown" in score(make_record(duration_s=float("nan")), strict).not_rated[0]


# ---- operating point, hardware, meta limits ------------------------------------------------------
def test_reference_operating_point():
    std = parse_standard(BASE.replace('unit = "J"\n', 'unit = "J"\nreference = { max_num_seqs = 64 }\n'))
    at = score(make_record(meta={"max_num_seqs": 64}), std)
    off = score(make_record(meta={"max_num_seqs": 8}), std)
    assert at.metrics["e"].grade == "A"
    assert not off.metrics["e"].applies and "reference operating point max_num_seqs = 64" in off.metrics["e"].reason
    assert "this record's is 8" in off.metrics["e"].reason
    assert parse_standard(std.to_toml()) == std


def test_normalisation_by_hardware():
    norm = '\n[metrics.e.normalise]\nfield = "gpu_model"\nfactors = { H100 = 1.0, B200 = 0.5 }\nsource = "test"\n'
    std = parse_standard(BASE + norm)
    b200 = score(make_record(gpu_j=3000.0, meta={"gpu_model": "B200"}), std)  # 3 J/token / 0.5 -> 6
    h100 = score(make_record(gpu_j=1500.0, meta={"gpu_model": "H100"}), std)
    assert b200.metrics["e"].value == pytest.approx(6.0) and b200.metrics["e"].grade == "C"
    assert h100.metrics["e"].value == pytest.approx(1.5) and h100.metrics["e"].grade == "B"
    assert "gpu_model = B200 (factor 0.5)" in str(b200)
    other = score(make_record(meta={"gpu_model": "A100"}), std)
    assert not other.metrics["e"].applies and "'A100'" in other.metrics["e"].reason
    assert parse_standard(std.to_toml()) == std
    with pytest.raises(StandardError, match=r"metrics.e.normalise.source"):
        parse_standard(BASE + norm.replace('source = "test"\n', ""))


def test_hard_limit_on_a_meta_field():
    lim = '\n[[limits]]\nname = "p90_itl"\nfield = "p90_itl_ms"\nunit = "ms"\nmax = 100\n'
    std = parse_standard(BASE + lim)
    slow = score(make_record(meta={"p90_itl_ms": 250.0}), std)
    fast = score(make_record(meta={"p90_itl_ms": 40.0}), std)
    assert not slow.passed and slow.limits[0].status == "fail" and "p90_itl <= 100 ms" in str(slow)
    assert fast.passed and fast.limits[0].status == "pass"
    assert score(make_record(), std).limits[0].status == "unknown"
    assert parse_standard(std.to_toml()) == std
    with pytest.raises(StandardError, match=r"limits\[0\].quantity"):
        parse_standard(BASE + lim.replace('unit = "ms"', 'unit = "ms"\nquantity = "it_energy_j"'))


# ---- calibration ---------------------------------------------------------------------------------
def test_minimum_per_class_refuses_or_leaves_unrated():
    recs = [entry(f"a{i}", 1.0 + i, task="a") for i in range(6)] + [entry(f"b{i}", 1.0 + i, task="b") for i in range(2)]
    with pytest.raises(InputError, match=r"class b \(task = 'b'\) has 2 record\(s\); at least 5"):
        calibrate(recs, "gpu_energy_j", per="token", method="equal-width")
    std = calibrate(recs, "gpu_energy_j", per="token", method="equal-width", small_classes="unrated")
    assert std.classes["a"].rated and not std.classes["b"].rated
    assert std.calibration["classes_unrated"] == ["b (task = 'b')"]
    assert std.calibration["class_records"] == {"a": 6, "b": 2}


def test_exact_edges_unless_rounding_keeps_every_grade():
    vals = [0.1, 0.2, 0.30001, 0.30002, 0.5]
    recs = [entry(f"r{i}", v) for i, v in enumerate(vals)]
    std = calibrate(recs, "gpu_energy_j", per="token", method="quantile", by_class=False, bands=3)
    exact = calibrate(recs, "gpu_energy_j", per="token", method="quantile", by_class=False, bands=3, exact=True)
    edges = std.metrics["gpu_energy_per_token"].thresholds
    exact_edges = exact.metrics["gpu_energy_per_token"].thresholds
    assert edges != exact_edges and len(repr(edges[1])) > len("0.300")  # rounded, but not to 3 digits here
    assert [grade_index(v, edges, "lower") for v in vals] == [grade_index(v, exact_edges, "lower") for v in vals]
    assert "no corpus grade changes" in std.calibration["rounding"] and exact.calibration["rounding"] == "exact"


def test_recalibration_keeps_rationale_and_refreshes_description(tmp_path, capsys):
    base = tmp_path / "base.toml"
    base.write_text(
        "# Why these bands: a rationale.\n# Second line.\n\n"
        + BASE.replace(
            'grades = ["A"', 'description = "Energy per token. Initial values to be calibrated."\ngrades = ["A"'
        ).replace('grades = ["A", "B", "C"]', 'grades = ["A", "B", "C"]\n\n[quality]\naccept_reported = true', 1)
    )
    corpus = tmp_path / "c.csv"
    corpus.write_text("m,j\n" + "".join(f"m{i},{100 * (i + 1)}\n" for i in range(6)))
    spec = tmp_path / "s.toml"
    spec.write_text('[source]\npublisher = "Lab X"\n[entry]\nid = "m"\nenergy = "j"\nwork = { token = 100 }\n')
    out = tmp_path / "new.toml"
    args = ["calibrate", str(corpus), "--spec", str(spec), "--standard", str(base), "--metric", "e", "--bands", "3"]
    assert main([*args, "--no-classes", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Why these bands: a rationale.\n# Second line.\n")
    std = load_standard(out)
    assert "to be calibrated" not in std.description and std.description.startswith("Energy per token.")
    assert "calibrated (quantile) from 6 records" in std.description
    assert std.calibration["corpus_sources"] == ["Lab X"] and std.comments.startswith("Why these bands")
    again = tmp_path / "again.toml"
    args[args.index(str(base))] = str(out)
    assert main([*args, "--no-classes", "--out", str(again)]) == 0
    text = again.read_text()
    assert text.startswith("# Why these bands") and text.count("calibrated by ecometer from") == 1


# ---- water and sites ------------------------------------------------------------------------------
WATER = """\
[standard]
name = "w"
title = "water test"
version = "1"
grades = ["A", "B", "C"]

[quality]
accept_reported = true

[metrics.water]
quantity = "water_total_l"
per = "query"
unit = "mL"
thresholds = [10.0, 20.0]
"""


def test_water_is_graded_from_a_reported_figure_else_from_the_site(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("m,j,water_ml\nwet,3600,30\ndry,3600,\n")
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[source]\npublisher = "Lab X"\n[entry]\nid = "m"\nenergy = "j"\nwater = "water_ml"\n'
        'water_unit = "mL"\nwork = { query = 1 }\n'
    )
    std = tmp_path / "w.toml"
    std.write_text(WATER)
    base = ["score", str(table), "--spec", str(spec), "--standard", str(std), "--json"]
    assert main(base) == 0
    wet, dry = __import__("json").loads(capsys.readouterr().out)
    assert wet["metrics"]["water"]["value"] == pytest.approx(30.0) and wet["grade"] == "C"
    assert not dry["metrics"]["water"]["applies"]  # no reported water and no site
    assert main([*base, "--site", "us-average"]) == 0
    wet, dry = __import__("json").loads(capsys.readouterr().out)
    assert wet["metrics"]["water"]["value"] == pytest.approx(30.0)  # the reported figure wins over the site
    assert dry["metrics"]["water"]["value"] == pytest.approx(4.23, rel=0.01)  # 1 Wh x 4.23 L/kWh at us-average


def test_score_and_calibrate_take_the_footprint_site_options(tmp_path, capsys):
    rec = make_record(gpu_j=3600.0, work={"query": 1}).save(tmp_path / "r.json")
    std = tmp_path / "w.toml"
    std.write_text(WATER)
    assert main(["score", str(rec), "--standard", str(std), "--site", "aws-2023", "--json"]) == 2
    assert "country" in capsys.readouterr().err
    assert main(["score", str(rec), "--standard", str(std), "--site", "aws-2023", "--country", "FRA", "--json"]) == 0
    assert __import__("json").loads(capsys.readouterr().out)["metrics"]["water"]["applies"]
    assert main(["score", str(rec), "--standard", str(std), "--pue", "1.1", "--wue", "0.2", "--ewif", "1.0"]) == 0
    capsys.readouterr()
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in (1, 3):
        make_record(f"r{i}", gpu_j=3600.0 * i, work={"query": 1}).save(runs / f"r{i}.json")
    out = tmp_path / "cal.toml"
    args = ["calibrate", str(runs), "--metric", "water_total_l", "--per", "query", "--unit", "mL", "--no-classes"]
    site = ["--pue", "1.0", "--wue", "1.0", "--ewif", "1.0"]  # 2 L per kWh of IT energy: 2 mL and 6 mL per query
    assert (
        main([*args, "--bands", "2", "--min-per-class", "2", "--method", "equal-width", *site, "--out", str(out)]) == 0
    )
    assert load_standard(out).metrics["water_total_per_query"].thresholds == [pytest.approx(4.0)]


def test_chart_labels_are_staggered_when_they_would_overlap():
    from ecometer.report.chartlabels import axis_fraction, stagger, text_width

    w = text_width("4 stars", axis_inches=8.0)
    assert 0.05 < w < 0.1
    assert stagger([0.1, 0.5, 0.9], [w] * 3) == [0, 0, 0]
    assert stagger([0.50, 0.51, 0.52, 0.9], [w] * 4) == [0, 1, 2, 0]
    assert axis_fraction(10.0, 1.0, 100.0, log=True) == pytest.approx(0.5)
    assert axis_fraction(10.0, 0.0, 100.0, log=False) == pytest.approx(0.1)


def test_calibrate_says_which_records_it_skipped_and_why(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    for i in range(5):
        make_record(f"r{i}", gpu_j=1000.0 * (i + 1)).save(runs / f"r{i}.json")
    make_record("no-tokens", work={"query": 3}).save(runs / "q.json")
    out = tmp_path / "c.toml"
    assert (
        main(["calibrate", str(runs), "--metric", "gpu_energy_j", "--per", "token", "--no-classes", "--out", str(out)])
        == 0
    )
    cap = capsys.readouterr()
    assert "from 5 of 6 records" in cap.out
    assert "skipped: 1 x gpu_energy_per_token does not apply: record counted no 'token'" in cap.err
    cal = load_standard(out).calibration
    assert cal["records"] == 5 and cal["records_given"] == 6 and len(cal["skipped"]) == 1


def test_small_classes_can_be_merged():
    recs = [entry(f"a{i}", 1.0 + i, task="a") for i in range(6)]
    recs += [entry(f"b{i}", 2.0 + i, task="b") for i in range(3)] + [
        entry(f"c{i}", 3.0 + i, task="c") for i in range(3)
    ]
    std = calibrate(recs, "gpu_energy_j", per="token", method="equal-width", small_classes="merge")
    assert std.classes["merged-b-c"].match == {"task": ["b", "c"]}
    assert std.calibration["class_records"] == {"a": 6, "merged-b-c": 6}
    # a lone small class joins its nearest class (by median value): b (2 J) is nearer a (about 4 J) than d (50 J)
    lone = [*recs[:6], *(entry(f"d{i}", 50.0 + i, task="d") for i in range(6)), entry("b0", 2.0, task="b")]
    std = calibrate(lone, "gpu_energy_j", per="token", method="equal-width", small_classes="merge")
    assert std.classes["merged-a-b"].match == {"task": ["a", "b"]}
    assert std.calibration["class_records"] == {"d": 6, "merged-a-b": 7}
    other_fields = [*recs[:6], entry("b0", 2.0, size="S")]  # no class of the same fields to join
    with pytest.raises(InputError, match=r"cannot merge the small classes \(size = 'S'\): together they have 1"):
        calibrate(
            other_fields, "gpu_energy_j", per="token", method="equal-width", small_classes="merge", class_by="size"
        )


def test_score_text_shows_edges_class_rule_and_margin_below_a_top_grade():
    std = parse_standard(
        BASE + '\n[classes.small]\nmatch = { model_params = { max = 2e10 } }\n[classes.rest]\ndefault = true\n'
    )
    a = score(make_record(gpu_j=800.0, meta={"model_params": 7e9}), std)  # 0.8 J/token: A, 25 % below the edge
    text = str(a)
    assert a.grade == "A" and a.metrics["e"].margin_pct == pytest.approx(25.0) and a.metrics["e"].worse_grade == "B"
    assert "class small (model_params < 2e+10)" in text and "25.0 % more drops to B" in text
    assert "bands: A <= 1, B <= 2; else C" in text
    d = a.to_dict()
    assert d["grades"] == ["A", "B", "C"] and d["grade"] == "A"  # the JSON keeps its shape
