"""The columnar corpus path (issue 22) gives what the row path gives: the same entries, the same
errors, the same calibrated standard; entries files are compact and both versions load."""

from __future__ import annotations

import json
import math
import random

import pytest

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.standards import calibrate
from ecometer.standards.columns import EntryColumns
from ecometer.standards.corpus import ENTRIES_KIND, load_columns, read_columns, read_entries, write_columns
from ecometer.standards.tablecolumns import import_columns
from ecometer.standards.tables import import_tables, spec_from_dict

SPEC = {
    "source": {"publisher": "Lab {@file}"},
    "entry": {
        "id": ["task", "model"],
        "energy": "kwh",
        "energy_unit": "kWh",
        "component": "gpu",
        "spread": 0.05,
        "work": {"query": {"column": "n", "scale": 1000}, "token": 7},
        "work_unit": "query",
        "meta": {"task": "task", "size_class": "class", "code": "code", "lat": {"column": "lat_s", "scale": 1000}},
        "set": {"gpu_model": "H100"},
        "duration": "secs",
        "duration_unit": "min",
        "water": "litres",
    },
}


def _table(path, rows: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    lines = ["model,task,class,kwh,n,code,lat_s,secs,litres"]
    for i in range(rows):
        lat = "" if i % 7 == 0 else f"{rng.uniform(0.01, 2):.4f}"
        water = "" if i % 5 == 0 else f"{rng.uniform(0, 3):.3g}"
        code = ["007", "x", "", "1.5"][i % 4]
        cls = "ABC"[(i // 3) % 3]
        lines.append(
            f"m{i},t{i % 3},{cls},{rng.lognormvariate(-5, 1):.9g},{rng.randint(1, 9)},{code},{lat},{i},{water}"
        )
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")


def _dicts(records):
    return [r.to_dict() for r in records]


def test_columns_give_the_entries_the_rows_give(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    _table(a, 60)
    _table(b, 40, seed=4)
    spec = spec_from_dict(SPEC)
    rows = import_tables([a, b], spec)
    cols = import_columns([a, b], spec)
    assert isinstance(cols, EntryColumns) and len(cols) == 100
    assert _dicts(cols.records()) == _dicts(rows)
    assert {s["publisher"] for s in cols.sources} == {"Lab a.csv", "Lab b.csv"}


def test_compact_file_round_trips_and_is_small(tmp_path):
    table = tmp_path / "a.csv"
    _table(table, 200)
    spec = spec_from_dict(SPEC)
    cols = import_columns([table], spec)
    path = write_columns(tmp_path / "entries.jsonl", cols, {"source": spec.source})
    head = json.loads(path.read_text().splitlines()[0])
    assert head["version"] == 2 and head["constant"]["component"] == "gpu" and head["entries"] == 200
    assert _dicts(read_entries(path)) == _dicts(import_tables([table], spec))
    body = path.read_text().splitlines()[1:]
    assert sum(map(len, body)) / len(body) < 150  # the row path wrote about 400 bytes an entry


def test_version_1_files_still_load(tmp_path):
    path = tmp_path / "old.jsonl"
    head = {"kind": ENTRIES_KIND, "version": 1, "source": {"publisher": "old"}, "entries": 2}
    lines = [
        {"name": "a", "component": "gpu", "energy_j": 12.5, "work": {"query": 1000}, "meta": {"task": "t"}},
        {
            "name": "b",
            "energy_j": 3,
            "spread": 0.1,
            "work": {"token": 5, "query": 2},
            "work_unit": "token",
            "duration_s": 4.0,
            "water_l": 0.5,
            "where": {"file": "x.csv", "row": 2},
            "source": {"publisher": "other"},
        },
    ]
    path.write_text("\n".join(json.dumps(x) for x in [head, *lines]) + "\n")
    a, b = read_entries(path)
    assert (a.name, a.components["gpu"].energy_j, a.work, a.meta, math.isnan(a.duration_s)) == (
        "a",
        12.5,
        {"query": 1000},
        {"task": "t"},
        True,
    )
    assert b.components["it"].uncertainty.high == pytest.approx(3.3) and b.work_unit == "token"
    assert b.components["it"].source == "other" and a.components["gpu"].source == "old"
    assert b.attachments["reported"]["water_total_l"] == 0.5 and b.attachments["reported"]["row"] == 2


@pytest.mark.parametrize(
    "cell,match",
    [
        ("lots", r"b.csv: row 3: column 'kwh' \(energy\): found 'lots'"),
        ("-1", r"b.csv: row 3: column 'kwh' \(energy\): found -1"),
        ("nan", r"b.csv: row 3: column 'kwh' \(energy\): found 'nan'"),
        ("1e308", r"b.csv: row 3: column 'kwh' \(energy\): 1e\+308 kWh is beyond"),
        ("", r"b.csv: row 3: column 'kwh' \(energy\): found None"),
    ],
)
def test_a_bad_cell_fails_with_the_row_paths_error(tmp_path, cell, match):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    _table(a, 10)
    _table(b, 10)
    lines = b.read_text().splitlines()
    parts = lines[3].split(",")
    parts[3] = cell
    lines[3] = ",".join(parts)
    b.write_text("\n".join(lines) + "\n")
    spec = spec_from_dict(SPEC)
    with pytest.raises(InputError, match=match) as rows_err:
        import_tables([a, b], spec)
    with pytest.raises(InputError) as cols_err:
        import_columns([a, b], spec)
    assert str(cols_err.value) == str(rows_err.value)


def test_a_ragged_table_goes_by_the_row_path(tmp_path):
    table = tmp_path / "a.csv"
    table.write_text("model,task,class,kwh,n,code,lat_s,secs,litres\nm1,t,A,0.1,2,x,1,3,1\nm2,t,A,0.2\n")
    spec = spec_from_dict(SPEC)
    with pytest.raises(InputError) as rows_err:
        import_tables([table], spec)
    with pytest.raises(InputError) as cols_err:
        import_columns([table], spec)
    assert str(cols_err.value) == str(rows_err.value)


@pytest.mark.parametrize("method", ["quantile", "equal-width"])
@pytest.mark.parametrize("small", ["merge", "unrated"])
def test_calibrating_by_column_gives_the_standard_the_records_give(tmp_path, method, small):
    table = tmp_path / "a.csv"
    _table(table, 300)
    spec = spec_from_dict(SPEC)
    cols = import_columns([table], spec)
    cols.energy_j[5] = 0.0  # a 0 J entry stays in, by the record path's rule
    cols.work["query"][7] = math.nan  # an entry without queries: skipped by the record path's reason
    opts = dict(per="query", scale=1000, unit="Wh", class_by="task,size_class", method=method, date="2026-01-01")
    opts.update(min_per_class=33, small_classes=small)  # one class of 32 (with the skipped entry) is small
    by_records = calibrate(list(cols.records()), "gpu_energy_j", **opts)
    by_columns = calibrate(cols, "gpu_energy_j", **opts)
    assert by_columns.to_dict() == by_records.to_dict()
    assert by_columns.calibration["records"] >= 250 and by_columns.calibration["skipped"]


def test_a_metric_the_column_rule_does_not_cover_goes_by_records(tmp_path):
    table = tmp_path / "a.csv"
    _table(table, 60)
    cols = import_columns([table], spec_from_dict(SPEC))
    opts = dict(per="token", class_by="task", date="2026-01-01", method="quantile")
    for metric in ("it_energy_j", "work_per_joule"):
        kw = dict(opts, work="query") if metric == "work_per_joule" else opts
        if metric == "work_per_joule":
            kw.pop("per")
        assert calibrate(cols, metric, **kw).to_dict() == calibrate(list(cols.records()), metric, **kw).to_dict()


def test_cli_import_then_calibrate_reads_by_column(tmp_path, capsys):
    table = tmp_path / "a.csv"
    _table(table, 120)
    spec = tmp_path / "spec.toml"
    spec.write_text(
        '[entry]\nid = ["task", "model"]\nenergy = "kwh"\nenergy_unit = "kWh"\ncomponent = "gpu"\n'
        'work = { query = 1000 }\nmeta = { task = "task" }\n'
    )
    out = tmp_path / "c"
    assert main(["corpus", "import", str(table), "--spec", str(spec), "--out", str(out)]) == 0
    cols = load_columns([out])
    assert isinstance(cols, EntryColumns) and len(cols) == 120
    assert len(read_columns(out / "entries.jsonl")) == 120
    std_file = tmp_path / "std.toml"
    args = ["calibrate", str(out), "--metric", "gpu_energy_j", "--per", "query", "--scale", "1000", "--unit", "Wh"]
    assert main([*args, "--class-by", "task", "--out", str(std_file)]) == 0
    capsys.readouterr()
    assert main(["score", str(out / "entries.jsonl"), "--standard", str(std_file), "--json"]) in (0, 1)
    graded = json.loads(capsys.readouterr().out)
    assert len(graded) == 120


def _round_edges_one_by_one(edges, values, direction):
    """The rule of round_edges checked value by value (what it did before it bisected)."""
    from ecometer.standards.assess import grade_index

    wanted = [grade_index(v, edges, direction) for v in values]
    for digits in range(3, 16):  # 3 significant digits or more
        rounded = [float(f"{x:.{digits}g}") for x in edges]
        pairs = list(zip(rounded, rounded[1:], strict=False))
        strict = all(b > a for a, b in pairs) if direction == "lower" else all(b < a for a, b in pairs)
        if strict and all(grade_index(v, rounded, direction) == g for v, g in zip(values, wanted, strict=True)):
            return rounded, digits
    return list(edges), None


@pytest.mark.parametrize("seed", range(40))
def test_round_edges_by_bisection_is_the_value_by_value_rule(seed):
    from ecometer.standards.calibration import exact_edges, round_edges

    rng = random.Random(seed)
    values = [round(rng.lognormvariate(0, 2), rng.choice([2, 3, 4, 9])) for _ in range(rng.randint(5, 400))]
    values += [float(f"{v:.3g}") for v in values[:20]]  # values on the rounded edges
    for direction in ("lower", "higher"):
        for method in ("quantile", "equal-width"):
            try:
                edges = exact_edges(values, rng.randint(2, 6), method, direction)
            except InputError:
                continue
            values_at_edges = values + [float(f"{e:.3g}") for e in edges] + list(edges)
            expected = _round_edges_one_by_one(edges, values_at_edges, direction)
            assert round_edges(edges, values_at_edges, direction) == expected


@pytest.mark.parametrize(
    "line,shown",
    [
        ('["b",-3.0]', "field energy_j is -3.0"),
        ('["b",NaN]', "field energy_j is nan"),
        ('["b","12"]', "field energy_j is '12'"),
        ('["b",true]', "field energy_j is True"),
        ('["b",1' + "0" * 400 + "]", "field energy_j is a 401-digit integer"),
        ('["b",1' + "0" * 5000 + "]", "field energy_j is inf"),
        ('["b"]', "expected a JSON array of 2 values"),
        ('["b",1.0', "not valid JSON"),
    ],
)
def test_hostile_lines_of_a_compact_file_are_refused_naming_the_line(tmp_path, line, shown):
    path = tmp_path / "entries.jsonl"
    head = {"kind": ENTRIES_KIND, "version": 2, "entries": 2, "columns": ["name", "energy_j"], "constant": {}}
    path.write_text("\n".join([json.dumps(head), '["a",1.5]', "", line]) + "\n")
    with pytest.raises(InputError) as err:
        read_columns(path)
    text = str(err.value)
    assert str(path) in text and "line 4" in text and shown in text and len(text) < 300


def test_score_streams_corpus_entries_a_batch_at_a_time(tmp_path, capsys, monkeypatch):
    import ecometer.commands.score as score_cmd

    table = tmp_path / "a.csv"
    _table(table, 9)
    out = tmp_path / "c"
    assert main(["corpus", "import", str(table), "--id", "model", "--energy", "kwh", "--out", str(out)]) == 0
    events: list[str] = []
    made, wrote = EntryColumns.record, score_cmd._Output.write
    monkeypatch.setattr(EntryColumns, "record", lambda self, i: events.append("made") or made(self, i))
    monkeypatch.setattr(score_cmd._Output, "write", lambda self, a: events.append("wrote") or wrote(self, a))
    monkeypatch.setattr(score_cmd, "BATCH", 2)
    capsys.readouterr()
    assert main(["score", str(out), "--standard", "ecometer-inference", "--json"]) in (0, 1)
    text = capsys.readouterr().out
    from ecometer.standards import load_standard, score

    std = load_standard("ecometer-inference")
    monkeypatch.setattr(EntryColumns, "record", made)
    expected = [score(r, std).to_dict() for r in read_entries(out / "entries.jsonl")]
    assert text == json.dumps(expected, indent=1) + "\n"  # one JSON list, byte for byte as before
    assert events[:6] == ["made", "made", "wrote", "wrote", "made", "made"]  # never all made before the first written
