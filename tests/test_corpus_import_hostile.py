"""``ecometer corpus import`` on hostile tables (issue 27): one clear line naming the file, the row,
the column and what was expected, or the table read as meant; never a traceback, never a silent
last-wins."""

from __future__ import annotations

import json

import pytest

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.standards.corpus import read_entries
from ecometer.standards.tables import import_tables, spec_from_dict

SPEC = {"entry": {"id": "model", "energy": "e", "energy_unit": "kWh", "work": {"query": 1000}, "meta": {"task": "t"}}}


def _import(path, spec=SPEC):
    return import_tables([path], spec_from_dict(spec))


def _cli_error(capsys, path, *extra):
    args = ["corpus", "import", str(path), "--id", "model", "--energy", "e", "--energy-unit", "kWh", *extra]
    code = main([*args, "--out", str(path.parent / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_1e308_kwh_overflows_joules_and_is_refused_by_row_and_column(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("model,t,e\nm1,a,0.5\nm2,a,1e308\n")
    with pytest.raises(InputError, match=r"t.csv: row 2: column 'e' \(energy\): 1e\+308 kWh is beyond"):
        _import(table)
    assert "row 2" in _cli_error(capsys, table)


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_number_of_hundreds_or_thousands_of_digits_in_a_csv(tmp_path, capsys, digits):
    table = tmp_path / "t.csv"
    table.write_text(f"model,t,e\nm1,a,{'9' * digits}\n")
    with pytest.raises(InputError, match=r"row 1: column 'e' \(energy\): found .*expected a finite number") as exc:
        _import(table)
    assert len(str(exc.value)) < 300
    assert len(_cli_error(capsys, table)) < 300


@pytest.mark.parametrize("digits", [400, 5000])
def test_a_huge_json_integer(tmp_path, capsys, digits):
    table = tmp_path / "t.json"
    table.write_text('[{"model": "m1", "t": "a", "e": 1}, {"model": "m2", "t": "a", "e": ' + "7" * digits + "}]")
    with pytest.raises(InputError, match=r"t.json: row 2: column 'e' \(energy\): found inf, expected a finite"):
        _import(table)
    assert len(_cli_error(capsys, table)) < 300


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_a_csv_separated_by_semicolons_tabs_or_bars_is_read_as_meant(tmp_path, sep):
    table = tmp_path / "t.csv"
    table.write_text(sep.join(["model", "t", "e"]) + "\n" + sep.join(["m1", "a", "0.5"]) + "\n")
    (entry,) = _import(table)
    assert entry.name == "m1" and entry.energy_j == pytest.approx(0.5 * 3.6e6) and entry.meta == {"task": "a"}


def test_a_decimal_comma_is_named_in_the_error(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text('model;t;e\nm1;a;"0,5"\n')
    with pytest.raises(InputError, match=r"row 1: column 'e' \(energy\): found '0,5'.*decimal comma"):
        _import(table)


def test_a_duplicate_csv_header_is_refused_not_last_wins(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("model,e,t,e\nm1,0.5,a,0.7\n")
    with pytest.raises(InputError, match=r"t.csv: header line: column 'e' is both column 2 and column 4"):
        _import(table)
    assert "column 'e'" in _cli_error(capsys, table)


def test_a_duplicate_json_key_is_refused_with_its_row(tmp_path, capsys):
    table = tmp_path / "t.json"
    table.write_text('[{"model": "m1", "t": "a", "e": 1}, {"model": "m2", "t": "a", "e": 1, "e": 9}]')
    with pytest.raises(InputError, match=r"t.json: row 2: column 'e' appears twice"):
        _import(table)
    assert "row 2" in _cli_error(capsys, table)


def test_a_missing_column_of_a_100k_column_table_gives_a_short_error(tmp_path, capsys):
    names = ["model", "t"] + [f"col{i}" for i in range(100_000)] + ["energy_kwh"]
    table = tmp_path / "t.csv"
    table.write_text(",".join(names) + "\n" + ",".join(["m1", "a"] + ["1"] * 100_001) + "\n")
    with pytest.raises(InputError, match=r"row 1: no column 'energy_kw'.*closest: \['energy_kwh'") as exc:
        _import(table, {"entry": {**SPEC["entry"], "energy": "energy_kw"}})
    assert len(str(exc.value)) < 400
    line = _cli_error(capsys, table)
    assert len(line) < 400 and "'e'" in line


def test_good_tables_still_import_and_round_trip(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("model,t,e\nm1,a,0.5\nm2,b,2\n")
    entries = _import(table)
    assert [e.energy_j for e in entries] == [0.5 * 3.6e6, 2 * 3.6e6]
    assert json.loads(json.dumps([e.meta for e in entries])) == [{"task": "a"}, {"task": "b"}]
    out = tmp_path / "out"
    assert main(["corpus", "import", str(table), "--id", "model", "--energy", "e", "--out", str(out)]) == 0
    assert [e.name for e in read_entries(out / "entries.jsonl")] == ["m1", "m2"]
