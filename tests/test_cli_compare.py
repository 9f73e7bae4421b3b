"""``ecometer compare`` and the comparison layer behind it."""

from __future__ import annotations

import pytest
from test_report_helpers import letter_assessment, make_record

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.report import run_comparison as compare
from ecometer.report.figures import metric

GRADES = {"fp32": "D", "bf16": "B"}


def sweep(tmp_path, *, seeds=(0, 1)):
    """Records of a precision x batch-size sweep with repetitions, saved as files."""
    paths, records = [], []
    for prec, watts in (("fp32", 300.0), ("bf16", 180.0)):
        for bs, secs in ((32, 20), (64, 12)):
            for seed in seeds:
                rec = make_record(
                    f"{prec}-bs{bs}-s{seed}",
                    seconds=secs + seed,
                    gpu_w=watts,
                    assessment=letter_assessment(GRADES[prec]),
                    meta={"precision": prec, "batch_size": bs, "seed": seed},
                )
                records.append(rec)
                paths.append(str(rec.save(tmp_path / f"{prec}-{bs}-{seed}.json")))
    return paths, records


def test_build_groups_by_field_series_by_other_fields_and_averages_repeats(tmp_path):
    _, records = sweep(tmp_path)
    cmp = compare.build(records, "it_energy_j_per_unit", "precision")
    assert cmp.groups == ["fp32", "bf16"]
    assert cmp.series_fields == ["batch_size"]  # seed is a repetition field, not a series
    assert len(cmp.entries) == 4 and all(len(e.names) == 2 for e in cmp.entries)
    entry = next(e for e in cmp.entries if e.group == "bf16" and e.series == "batch_size=64")
    reps = [r for r in records if r.meta["precision"] == "bf16" and r.meta["batch_size"] == 64]
    per = [r.energy_j / r.work["sample"] for r in reps]
    assert entry.value.central == pytest.approx(sum(per) / 2)
    lows = [r.energy_uncertainty.low / 1000 for r in reps]
    assert entry.value.low == pytest.approx(min(lows))
    assert entry.grade == "B" and entry.x.key == "duration_s_per_unit"


def test_numeric_groups_sort_by_value(tmp_path):
    _, records = sweep(tmp_path, seeds=(0,))
    cmp = compare.build(records, "it_energy_j", "batch_size")
    assert cmp.groups == ["32", "64"]


def test_mixed_grades_and_default_metric(tmp_path):
    a = make_record("same", assessment=letter_assessment("B"), meta={"cfg": "x"})
    b = make_record("same", assessment=letter_assessment("D"), meta={"cfg": "x"})
    cmp = compare.build([a, b], by="cfg")
    assert cmp.metric == "it_energy_j_per_unit"
    assert cmp.entries[0].grade == "B–D"
    assert compare.build([make_record(samples=None)]).metric == "it_energy_j"


def test_build_rejects_bad_requests():
    recs = [make_record("a"), make_record("b")]
    with pytest.raises(InputError, match="unknown metric 'watts'"):
        compare.build(recs, "watts")
    with pytest.raises(InputError, match="no run has this metadata field"):
        compare.build(recs, "it_energy_j", "precision")
    tok = make_record("c")
    tok.work, tok.work_unit = {"token": 10.0}, "token"
    with pytest.raises(InputError, match="one work unit"):
        compare.build([recs[0], tok], "it_energy_j_per_unit")
    with pytest.raises(InputError, match="no footprint"):
        compare.build([make_record(footprint=False)], "water_total_l")


def test_pareto_front():
    assert compare._pareto([(1, 5), (2, 3), (3, 4), (4, 1)]) == [(1, 5), (2, 3), (4, 1)]


def test_table_has_one_row_per_bar(tmp_path):
    _, records = sweep(tmp_path)
    table = compare.table(compare.build(records, "water_total_l_per_unit", "precision"))
    lines = table.splitlines()
    assert lines[0].startswith("| precision | series | runs | Water consumed per sample (")
    assert len(lines) == 2 + 4
    assert "| bf16 | batch_size=64 | 2 |" in table


def test_cli_chart_and_table(tmp_path, capsys):
    paths, _ = sweep(tmp_path)
    out = tmp_path / "charts" / "cmp.png"
    assert main(["compare", *paths, "--by", "precision", "--out", str(out), "--table"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    printed = capsys.readouterr().out
    assert printed.startswith("| precision |") and "IT energy per sample" in printed


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--metric", "nonsense", "--table"], "unknown metric 'nonsense'"),
        (["--out", "chart.svg"], "expected a .png"),
        (["--by", "colour", "--table"], "no run has this metadata field"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(tmp_path, capsys, extra, message):
    paths, _ = sweep(tmp_path, seeds=(0,))
    assert main(["compare", *paths, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and err.startswith("ecometer compare: error:")


def test_cli_missing_and_corrupt_records(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["compare", str(tmp_path / "nope.json"), "--table"]) == 2
    assert "no such record file" in capsys.readouterr().err
    assert main(["compare", str(bad), "--table"]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON" in err and err.count("\n") == 1


def test_distinct_runs_with_one_name_are_never_merged_without_by(tmp_path):  # issue 26
    runs = [make_record("python3", seconds=10 * (i + 1)) for i in range(4)]
    for i, r in enumerate(runs):
        r.started_at = f"2026-12-07T09:0{i}:00+00:00"
    cmp = compare.build(runs, "it_energy_j")
    assert len(cmp.entries) == 4 and all(len(e.names) == 1 for e in cmp.entries)
    assert [e.group for e in cmp.entries] == [f"python3 2026-12-07 09:0{i}:00" for i in range(4)]
    assert [e.value.central for e in cmp.entries] == [metric(r, "it_energy_j").central for r in runs]
    twins = [make_record("a"), make_record("a")]  # same name and start: told apart by a number
    labels = [e.group for e in compare.build(twins, "it_energy_j").entries]
    assert labels == ["a 2025-01-01 00:00:00 #1", "a 2025-01-01 00:00:00 #2"]


def test_compare_prints_its_table_by_default(tmp_path, capsys):  # issue 26: not "nothing to do"
    paths, _ = sweep(tmp_path, seeds=(0,))
    assert main(["compare", *paths]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| run | runs |") and len(lines) == 2 + len(paths)
