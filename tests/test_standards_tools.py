"""Standards tooling: calibration and its TOML round trip, sensitivity, diff, chart, CLI."""

from __future__ import annotations

import json

import pytest
from test_standards import BASE, footprint, make_record

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.report.sensitivity import sensitivity_chart
from ecometer.standards import (
    StandardError,
    calibrate,
    diff,
    load_standard,
    parse_standard,
    regrade,
    score,
    sensitivity,
)
from ecometer.standards.calibration import band_edges


def corpus(values, *, task=None, per="token"):
    """Records whose IT energy per token is exactly each value (1000 tokens each)."""
    return [
        make_record(f"{task or 'run'}-{i:03d}", gpu_j=v * 1000, work={per: 1000}, meta={"task": task} if task else {})
        for i, v in enumerate(values)
    ]


# ---- calibration ----------------------------------------------------------------------------
def test_band_edges_quantile_and_equal_width():
    vals = [float(v) for v in range(0, 101)]
    assert band_edges(vals, 5, "equal-width", "lower") == [20.0, 40.0, 60.0, 80.0]
    assert band_edges(vals, 5, "quantile", "lower") == [20.0, 40.0, 60.0, 80.0]
    assert band_edges(vals, 5, "equal-width", "higher") == [80.0, 60.0, 40.0, 20.0]
    skewed = [1.0] * 8 + [2.0, 100.0]
    assert band_edges(skewed, 2, "equal-width", "lower") == [50.5]
    with pytest.raises(InputError, match="not distinct"):
        band_edges(skewed, 5, "quantile", "lower")  # most quantiles fall on 1.0
    with pytest.raises(InputError, match="at least 2"):
        band_edges([1.0], 3, "quantile", "lower")


def test_calibrate_quantile_round_trips_and_splits_corpus_evenly(tmp_path):
    recs = corpus([0.1 * (i + 1) for i in range(100)])
    std = calibrate(
        recs, "it_energy_j", bands=5, method="quantile", by_class=False, per="token", unit="J", date="2025-01-01"
    )
    m = std.metrics["it_energy_per_token"]
    assert m.thresholds is not None and len(m.thresholds) == 4
    assert std.bands == "quantile" and std.calibration["records"] == 100
    text = std.to_toml()
    back = parse_standard(text, origin="cal.toml")
    assert back == std
    f = tmp_path / "cal.toml"
    f.write_text(text)
    assert load_standard(f) == std
    grades = [score(r, back).grade for r in recs]
    assert {g: grades.count(g) for g in "ABCDE"} == {g: 20 for g in "ABCDE"}


def test_calibrate_equal_width_per_class_with_unrated_default():
    recs = corpus([1, 2, 3, 4, 5, 6], task="chat") + corpus([10, 20, 30, 40, 50, 60], task="vision")
    std = calibrate(recs, "it_energy_j", bands=5, method="equal-width", per="token", unit="J")
    assert set(std.classes) == {"chat", "vision", "unclassified"}
    assert std.thresholds_for("it_energy_per_token", "chat") == [2.0, 3.0, 4.0, 5.0]
    assert std.thresholds_for("it_energy_per_token", "vision") == [20.0, 30.0, 40.0, 50.0]
    assert std.classes["unclassified"].default and not std.classes["unclassified"].rated
    assert parse_standard(std.to_toml()) == std
    odd = score(make_record(meta={"task": "audio"}), std)
    assert not odd.rated and odd.class_name == "unclassified"


def test_recalibrate_a_builtin_keeps_classes_without_records():
    base = load_standard("ecometer-inference")
    recs = [
        make_record(
            f"s{i}",
            gpu_j=100.0 * (i + 1),
            rel=0.05,
            duration_s=30,
            work={"token": 1000},
            meta={"model_params": 7e9, "gpu_model": "H100"},
        )
        for i in range(14)
    ]
    std = calibrate(recs, "energy_per_token", bands=7, method="quantile", base=base, version="0.3.0")
    assert std.version == "0.3.0" and std.bands == "quantile"
    new_small = std.thresholds_for("energy_per_token", "small-H100")
    assert new_small != base.thresholds_for("energy_per_token", "small-H100")
    assert new_small == sorted(new_small) and 0.1 < new_small[0] < new_small[-1] < 1.4
    assert std.thresholds_for("energy_per_token", "large-H100") == base.thresholds_for("energy_per_token", "large-H100")
    assert std.calibration["classes_kept"] == ["small-B200", "medium-H100", "medium-B200", "large-H100", "large-B200"]
    assert std.thresholds_for("energy_per_query", "small-H100") == base.thresholds_for("energy_per_query", "small-H100")
    assert parse_standard(std.to_toml()) == std


def test_calibrate_rejects_bad_requests():
    recs = corpus([1, 2, 3, 4, 5])
    with pytest.raises(InputError, match="unknown quantity"):
        calibrate(recs, "energy", per="token")
    with pytest.raises(InputError, match="bands must be 7"):
        calibrate(recs, "energy_per_token", bands=5, base="ecometer-inference")
    with pytest.raises(StandardError) as no_metric:
        calibrate(recs, "nope", bands=7, base="ecometer-inference")
    assert no_metric.value.field == "metrics.nope"
    with pytest.raises(StandardError) as bad_unit:
        calibrate(recs, "it_energy_j", per="token", unit="mL")
    assert bad_unit.value.field == "metrics.it_energy_per_token.unit"
    with pytest.raises(InputError, match="applies to none"):
        calibrate(recs, "it_energy_j", per="query")
    with pytest.raises(InputError, match="not distinct"):
        calibrate(corpus([1, 1, 1, 1, 2]), "it_energy_j", per="token", by_class=False)


# ---- sensitivity and diff ------------------------------------------------------------------
def test_sensitivity_counts_and_names_changed_records():
    std = parse_standard(BASE)
    recs = corpus([0.5, 0.95, 1.05, 1.5, 1.95, 2.05, 3.0])
    # edges [1, 2] -> [0.9, 2.1]: 0.95 goes A->B, 2.05 goes C->B
    result = sensitivity(recs, std, [0.9, 2.1], metric="e")
    assert result.counts == {"worse": 1, "better": 1, "unchanged": 5, "total": 7}
    assert sorted(result.changed_records) == ["run-001", "run-005"]
    by = {c.record: (c.before, c.after) for c in result.changes}
    assert by == {"run-001": ("A", "B"), "run-005": ("C", "B")}
    assert result.before == {"A": 2, "B": 3, "C": 2, "not rated": 0}
    assert result.after == {"A": 1, "B": 5, "C": 1, "not rated": 0}
    assert "2 of 7 records" in str(result)
    with pytest.raises(StandardError) as unordered:
        sensitivity(recs, std, [2.0, 1.0], metric="e")
    assert unordered.value.field.endswith("thresholds[1]")


def test_sensitivity_on_class_thresholds_needs_the_class():
    std = load_standard("ecometer-inference")
    meta = {"model_params": 7e9, "gpu_model": "H100"}
    recs = [make_record("a", gpu_j=150.0, rel=0.01, duration_s=30, work={"token": 1000}, meta=meta)]
    with pytest.raises(InputError, match="name the class"):
        sensitivity(recs, std, [1, 2, 3, 4, 5, 6], metric="energy_per_token")
    res = sensitivity(recs, std, [0.2, 0.4, 0.8, 1.6, 3.2, 6.4], metric="energy_per_token", class_name="small-H100")
    assert [(c.record, c.before, c.after) for c in res.changes] == [("a", "C", "A")]


def test_diff_lists_changed_fields_and_grade_changes():
    old = parse_standard(BASE)
    new = parse_standard(BASE.replace('version = "1"', 'version = "2"').replace("[1.0, 2.0]", "[1.2, 2.0]"))
    recs = corpus([1.1, 1.5, 2.5])
    d = diff(old, new, recs)
    paths = {f.path: (f.old, f.new) for f in d.fields}
    assert paths == {"standard.version": ("1", "2"), "metrics.e.thresholds": ([1.0, 2.0], [1.2, 2.0])}
    assert d.grades is not None and [(c.record, c.before, c.after) for c in d.grades.changes] == [("run-000", "B", "A")]
    assert "metrics.e.thresholds" in str(d) and json.dumps(d.to_dict())
    limit = parse_standard(BASE + '\n[[limits]]\nquantity = "site_pue"\nmax = 1.3\n')
    d2 = diff(old, limit)
    assert {f.path for f in d2.fields} == {"limits[0].name", "limits[0].quantity", "limits[0].unit", "limits[0].max"}
    assert d2.grades is None


def test_regrade_reports_hard_limit_changes():
    old = parse_standard(BASE)
    new = parse_standard(BASE + '\n[[limits]]\nquantity = "site_pue"\nmax = 1.3\n')
    recs = [make_record("hot", footprint=footprint(pue=1.5)), make_record("cool", footprint=footprint(pue=1.1))]
    assert regrade(recs, old, new).pass_changes == ["hot"]


def test_sensitivity_chart_png(tmp_path):
    std = load_standard("ecometer-inference")
    recs = []
    for i in range(60):
        params = 7e9 if i % 2 else 30e9
        recs.append(
            make_record(
                f"r{i}",
                gpu_j=40.0 * 1.08**i,
                rel=0.05,
                duration_s=30,
                work={"token": 1000},
                meta={"model_params": params, "gpu_model": "H100"},
            )
        )
    out = sensitivity_chart(
        recs,
        std,
        "energy_per_token",
        tmp_path / "chart.png",
        proposed=[0.08, 0.15, 0.3, 0.6, 1.2, 2.4],
        class_name="small-H100",
    )
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    both = sensitivity_chart(recs, std, "energy_per_token", tmp_path / "all.png")
    assert both.stat().st_size > len(data) / 2
    with pytest.raises(InputError, match="no metric"):
        sensitivity_chart(recs, std, "nope", tmp_path / "x.png")


# ---- CLI ----------------------------------------------------------------------------------------
@pytest.fixture
def files(tmp_path):
    std = tmp_path / "std.toml"
    std.write_text(BASE + '\n[[limits]]\nquantity = "site_pue"\nmax = 1.3\n')
    ok = make_record("ok", gpu_j=1500.0, footprint=footprint(pue=1.2)).save(tmp_path / "ok.json")
    hot = make_record("hot", gpu_j=1500.0, footprint=footprint(pue=1.5)).save(tmp_path / "hot.json")
    runs = tmp_path / "runs"
    for r in corpus([0.5, 0.9, 1.2, 1.6, 2.2, 2.8, 3.1, 0.7, 1.4, 2.5]):
        r.save(runs / f"{r.name}.json")
    return {"std": str(std), "ok": str(ok), "hot": str(hot), "runs": str(runs), "tmp": tmp_path}


def test_cli_score_exit_codes_and_json(files, capsys):
    assert main(["score", files["ok"], "--standard", files["std"]]) == 0
    assert "grade B" in capsys.readouterr().out
    assert main(["score", files["hot"], "--standard", files["std"]]) == 1
    assert "FAILED hard limit" in capsys.readouterr().out
    assert main(["score", files["ok"], "--standard", files["std"], "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["grade"] == "B" and data["passed"] is True
    assert main(["score", files["ok"], "--standard", "no-such-standard"]) == 2
    assert "no-such-standard" in capsys.readouterr().err
    assert main(["score", str(files["tmp"] / "missing.json"), "--standard", files["std"]]) == 2
    capsys.readouterr()


def test_cli_score_attach_writes_assessment(files, capsys):
    from ecometer.record.model import load_record

    assert main(["score", files["ok"], "--standard", files["std"], "--attach"]) == 0
    capsys.readouterr()
    assert load_record(files["ok"]).assessment.grade == "B"


def test_cli_standard_check_list_show(files, capsys, tmp_path):
    assert main(["standard", "check", files["std"]]) == 0
    assert "ok: t 1" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace("[1.0, 2.0]", "[2.0, 1.0]"))
    assert main(["standard", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:11: metrics.e.thresholds[1]" in err and err.count("\n") == 1
    assert main(["standard", "list"]) == 0
    assert "ecometer-inference" in capsys.readouterr().out
    assert main(["standard", "show", "ai-energy-score-style"]) == 0
    assert 'bands = "equal-width"' in capsys.readouterr().out


def test_cli_calibrate_then_check_diff_sensitivity(files, capsys):
    out = files["tmp"] / "new.toml"
    args = ["calibrate", files["runs"], "--metric", "it_energy_j", "--per", "token", "--unit", "J"]
    assert main([*args, "--bands", "3", "--method", "quantile", "--no-classes", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert main(["standard", "check", str(out)]) == 0
    capsys.readouterr()
    assert main(["calibrate", files["runs"], "--metric", "it_energy_j", "--per", "query"]) == 2
    assert "applies to none" in capsys.readouterr().err
    # recalibrate the test standard and diff it against the original on the corpus
    recal = files["tmp"] / "recal.toml"
    base_only = files["tmp"] / "base.toml"
    base_only.write_text(BASE)
    assert (
        main(
            [
                "calibrate",
                files["runs"],
                "--standard",
                str(base_only),
                "--metric",
                "e",
                "--bands",
                "3",
                "--out",
                str(recal),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["standard", "diff", str(base_only), str(recal), files["runs"], "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert any(f["path"] == "metrics.e.thresholds" for f in d["fields"]) and d["grades"]["records"] == 10
    chart = files["tmp"] / "s.png"
    cmd = ["standard", "sensitivity", str(base_only), files["runs"], "--metric", "e", "--thresholds", "0.8,2.4"]
    assert main([*cmd, "--chart", str(chart), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    # 0.9 A->B; 2.2 C->B; 0.5, 0.7 stay A; 1.2, 1.4, 1.6 stay B; 2.5, 2.8, 3.1 stay C
    assert s["counts"] == {"worse": 1, "better": 1, "unchanged": 8, "total": 10} and chart.exists()
    assert main([*cmd[:-2]]) == 2
    assert "exactly one of" in capsys.readouterr().err


def test_cli_score_attach_is_all_or_nothing(files, capsys):
    from ecometer.record.model import load_record

    missing = str(files["tmp"] / "missing.json")
    assert main(["score", files["ok"], missing, "--standard", files["std"], "--attach"]) == 2
    capsys.readouterr()
    assert load_record(files["ok"]).assessment is None


def test_import_is_cheap():
    import subprocess
    import sys

    code = "import sys, ecometer.standards; print([m for m in ('matplotlib', 'numpy', 'torch', 'codecarbon', 'pandas') if m in sys.modules])"
    from pathlib import Path

    import ecometer

    root = Path(ecometer.__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root).stdout
    assert out.strip() == "[]"


def test_score_cli_with_site_adds_water_metrics(tmp_path):
    import json as _json

    from ecometer.commands.cli import main
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component, RunRecord

    rec = RunRecord(
        name="site-run",
        status="ok",
        duration_s=120.0,
        components={"gpu": Component("gpu", 3.6e6, "counter", Estimate(3.6e6, 3.42e6, 3.78e6), {"gpu:0": 3.6e6})},
        work={"query": 1000.0, "token": 2e5},
        work_unit="query",
        meta={"task": "text-generation", "model_params": 8e9},
    )
    path = rec.save(tmp_path / "run.json")
    import contextlib
    import io

    def scored(*extra):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            code = main(["score", str(path), "--standard", "ecometer-inference", "--json", *extra])
        return code, _json.loads(buf.getvalue())

    _, without = scored()
    _, with_site = scored("--site", "us-average")
    water = [
        m for m in with_site["metrics"].values() if "water" in m.get("quantity", "") or "water" in m.get("label", "")
    ]
    assert water, with_site["metrics"].keys()
    assert all(m.get("applies", True) for m in water)
    before = [m for k, m in without["metrics"].items() if k in {n for n in with_site["metrics"] if "water" in n}]
    assert all(not m.get("applies", True) for m in before)
