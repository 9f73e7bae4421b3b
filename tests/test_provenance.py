"""Provenance of every shipped constant: the data files, the corpus specs and the built-in standards.

One place for the rule "every constant lives in a data file with source, year and licence, citing
primary sources, never a file outside the repository": each check below walks all shipped files,
so a new data file is covered without a new test.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only (as in ecometer.standards.loader)
    import tomli as tomllib

PACKAGE = Path(str(resources.files("ecometer")))
DATA_JSON = sorted((PACKAGE / "data").glob("*.json"))
CORPUS_SPECS = sorted((PACKAGE / "data" / "corpora").glob("*.toml"))
BUILTIN_STANDARDS = sorted((PACKAGE / "standards" / "builtin").glob("*.toml"))
SHIPPED_TEXT = [*DATA_JSON, *CORPUS_SPECS, *BUILTIN_STANDARDS]

#: a citation of something outside the repository: the project's design notes and field notes,
#: the shared reference folder, or an absolute / home path (system interfaces such as
#: /sys/class/powercap and /proc are named as interfaces, not cited, and are allowed)
OUTSIDE = re.compile(
    r"FIELD_NOTES"
    r"|\bDESIGN\.md\b"
    r"|(?<![\w./-])shared/"
    r"|(?:^|[\s\"'(\[=,;])(?:~/|/(?!sys/|proc/|dev/)[\w.+-]+/[\w.+-])"
)
YEAR = re.compile(r"\b(19|20)\d\d\b")


def _rel(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _outside_citations(text: str) -> list[str]:
    return [f"line {n}: {m.group(0)!r}" for n, line in enumerate(text.splitlines(), 1) for m in OUTSIDE.finditer(line)]


def test_the_pattern_catches_outside_citations_and_spares_urls() -> None:
    for bad in (
        "(shared/DESIGN.md)",
        "summarised in shared/FIELD_NOTES.md",
        "Uptime Institute, FIELD_NOTES",
        "see /work/shared/data/x.csv",
        '"~/notes/h100.txt"',
        "see DESIGN.md",
    ):
        assert _outside_citations(bad), bad
    for good in (
        "https://arxiv.org/abs/2312.02741",
        "reports/benchmarks/nvidia-h100/overhead.json",
        "/sys/class/powercap not present",
        "a well-designed dry cooling loop; newest designs ~1.12",
        "3.785 L/kWh and 1 gal/MWh",
        "github.com/mlcommons/shared/x",
    ):
        assert not _outside_citations(good), good


@pytest.mark.parametrize("path", SHIPPED_TEXT, ids=_rel)
def test_shipped_files_cite_nothing_outside_the_repository(path: Path) -> None:
    hits = _outside_citations(path.read_text(encoding="utf-8"))
    assert not hits, f"{_rel(path)} cites files outside the repository (cite the primary source): {hits}"


def _source_problems(name: str, data: dict[str, Any]) -> list[str]:
    """Every way ``data`` (one ecometer/data/*.json) breaks the source/year/licence rule."""
    problems: list[str] = []
    table = data.get("sources")
    ids = set(table) if isinstance(table, dict) else set()
    if table is not None and not isinstance(table, dict):
        problems.append("sources: expected an object of id -> {citation, year, licence}")
    for sid, src in (table or {}).items() if isinstance(table, dict) else ():
        if not isinstance(src, dict):
            problems.append(f"sources.{sid}: expected {{citation, year, licence}}, found {type(src).__name__}")
            continue
        if not (isinstance(src.get("citation"), str) and src["citation"].strip()):
            problems.append(f"sources.{sid}: no citation")
        year = src.get("year")
        if not (isinstance(year, int) or (isinstance(year, str) and YEAR.search(year))):
            problems.append(f"sources.{sid}: no year (an integer, or text naming the data years)")
        if not (isinstance(src.get("licence"), str) and src["licence"].strip()):
            problems.append(f"sources.{sid}: no licence")

    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}[{i}]")
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            here = f"{where}.{key}" if where else key
            if where == "" and key == "sources":
                continue
            if (key == "source" or key.endswith("_source")) and isinstance(value, str):
                if value in ids:
                    pass
                elif key != "source":
                    problems.append(f"{here}: {value!r} is not an id in this file's sources")
                elif not (isinstance(node.get("year"), int) and str(node.get("licence", "")).strip()):
                    problems.append(f"{here}: a cited source needs 'year' (integer) and 'licence' beside it")
            if (key == "sources" or key.endswith("_sources")) and isinstance(value, list):
                missing = [s for s in value if s not in ids]
                if missing:
                    problems.append(f"{here}: {missing} are not ids in this file's sources")
            walk(value, here)

    walk(data, "")
    return problems


@pytest.mark.parametrize("path", DATA_JSON, ids=_rel)
def test_every_source_has_citation_year_and_licence(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    problems = _source_problems(path.name, data)
    assert not problems, f"{_rel(path)}: " + "; ".join(problems)


def test_the_source_check_reports_what_is_missing() -> None:
    data = {
        "sources": {"a": {"citation": "A, 2020", "year": 2020, "licence": "CC BY 4.0"}, "b": {"citation": "B"}},
        "x": {"value": 1.0, "source": "a"},
        "y": {"value": 2.0, "source": "measured somewhere", "year": 2025},
        "z": {"value": 3.0, "hydro_source": "c", "also_sources": ["a", "d"]},
    }
    problems = _source_problems("example.json", data)
    assert "sources.b: no year (an integer, or text naming the data years)" in problems
    assert "sources.b: no licence" in problems
    assert any(p.startswith("y.source:") and "'licence'" in p for p in problems)
    assert any(p.startswith("z.hydro_source:") for p in problems)
    assert any(p.startswith("z.also_sources:") and "'d'" in p for p in problems)
    assert not any(p.startswith("x.") for p in problems)


def test_every_cpu_entry_says_whether_it_was_verified() -> None:
    data = json.loads((PACKAGE / "data" / "cpu_power.json").read_text(encoding="utf-8"))
    for sku in data["skus"]:
        name = sku["name"]
        assert isinstance(sku.get("verified"), bool), f"{name}: 'verified' must be true or false"
        assert name in sku["source"] and ("amd.com" in sku["source"] or "ark.intel.com" in sku["source"]), name
        assert isinstance(sku["year"], int) and 2010 <= sku["year"] <= 2026, name
        assert sku["threads"] in (sku["cores"], 2 * sku["cores"]), name
        if sku["verified"]:
            assert "checked" in sku["source"], f"{name}: a verified entry says what it was checked against"
        else:
            assert sku.get("note"), f"{name}: an unverified entry says why in 'note'"
    for gen in data["generations"]:
        assert isinstance(gen.get("verified"), bool) and gen.get("note"), f"{gen['id']}: 'verified' and what was checked"


@pytest.mark.parametrize("path", BUILTIN_STANDARDS, ids=_rel)
def test_builtin_standards_name_sources_and_licence(path: Path) -> None:
    head = tomllib.loads(path.read_text(encoding="utf-8"))["standard"]
    sources = head.get("sources", [])
    assert sources and all(isinstance(s, str) and s.strip() for s in sources), f"{_rel(path)}: standard.sources"
    assert str(head.get("licence", "")).strip(), f"{_rel(path)}: standard.licence"


@pytest.mark.parametrize("path", CORPUS_SPECS, ids=_rel)
def test_corpus_specs_name_publisher_date_url_and_licence(path: Path) -> None:
    src = tomllib.loads(path.read_text(encoding="utf-8"))["source"]
    for key in ("publisher", "title", "date", "url", "licence"):
        assert str(src.get(key, "")).strip(), f"{_rel(path)}: source.{key}"
    assert YEAR.search(str(src["date"])), f"{_rel(path)}: source.date names no year"
