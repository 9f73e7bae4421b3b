"""Corpus entry files: hostile numbers are refused when the file is read, naming file, line and field."""

from __future__ import annotations

import json

import pytest

from ecometer.errors import InputError
from ecometer.standards.corpus import ENTRIES_KIND, read_entries


def _entries(tmp_path, *lines: str):
    path = tmp_path / "entries.jsonl"
    head = json.dumps({"kind": ENTRIES_KIND, "version": 1, "source": {"publisher": "test"}, "entries": len(lines)})
    path.write_text("\n".join([head, *lines]) + "\n", encoding="utf-8")
    return path


GOOD = '{"name": "a", "energy_j": 12.5, "component": "gpu", "work": {"query": 1000}}'


@pytest.mark.parametrize(
    "line,field,shown",
    [
        ('{"name": "b", "energy_j": -3.0}', "energy_j", "-3.0"),
        ('{"name": "b", "energy_j": NaN}', "energy_j", "nan"),
        ('{"name": "b", "energy_j": Infinity}', "energy_j", "inf"),
        ('{"name": "b", "energy_j": "12"}', "energy_j", "'12'"),
        ('{"name": "b", "energy_j": true}', "energy_j", "'True'"),
        ('{"name": "b", "energy_j": 1' + "0" * 5000 + "}", "energy_j", "inf"),
        ('{"name": "b", "energy_j": 5.0, "spread": -0.1}', "spread", "-0.1"),
        ('{"name": "b", "energy_j": 5.0, "water_l": NaN}', "water_l", "nan"),
    ],
)
def test_hostile_numbers_are_refused_at_load_naming_file_line_and_field(tmp_path, line, field, shown):
    path = _entries(tmp_path, GOOD, line)
    with pytest.raises(InputError) as err:
        read_entries(path)
    text = str(err.value)
    assert str(path) in text and "line 3" in text and f"field {field}" in text and shown in text
    assert len(text) < 400


def test_good_entries_still_load(tmp_path):
    (entry,) = read_entries(_entries(tmp_path, GOOD))
    assert entry.energy_j == pytest.approx(12.5)
