"""Issue 27 (part B): text from records, corpora and standards is safe wherever it is printed or
written, whatever the name (undecodable bytes, lone surrogates, ANSI escapes, bidi overrides,
zero-width characters) and whatever the terminal's encoding (``PYTHONIOENCODING=ascii``).

The oracle is Unicode's own categories (not ecometer's helper): no output may hold a control
(other than newline and tab), a format character, a separator other than the space, a
surrogate, a private-use or an unassigned character.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_run import ENV

from ecometer.checks.text import display_text, json_text
from ecometer.measuring.meter import Meter
from ecometer.record.model import load_record
from ecometer.sensors.replay import ReplaySensor

_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def hidden_in(text: str) -> list[str]:
    """Hidden characters in ``text`` (newline and tab allowed), by Unicode category."""
    return sorted({f"U+{ord(c):04X}" for c in text if c not in "\n\t" and unicodedata.category(c) in _HIDDEN_CATEGORIES})


HOSTILE = [
    "bad\udcffname",  # `--name $'bad\xffname'`: an undecodable byte, kept by Python as a surrogate
    "lone\ud800high",
    "ansi\x1b[2J\x1b[31mred\x1b]0;title\x07",
    "bidi\u202eevil\u202c\u2066x\u2069",
    "zero\u200bwidth\ufeff\u2060",
    "line\u2028sep\u2029para\x85nel",
    "ctl\x00\x08\r\x7f\x9b",
    "tag\U000e0041private\ue000",
    "é★✓ ok",  # printable non-ASCII: shown as it is (on a UTF-8 stream)
]

HOSTILE_TEXT = st.sampled_from(HOSTILE) | st.text(
    st.characters(codec=None, categories=["Cc", "Cf", "Cs", "Co", "Zl", "Zp", "Lu", "Ll", "So", "Zs", "Mn"]),
    max_size=12,
)


# ---- the helper -------------------------------------------------------------------------------------
@given(st.text(max_size=40) | HOSTILE_TEXT, st.booleans())
@settings(max_examples=400, deadline=None)
def test_display_text_leaves_nothing_hidden_and_always_encodes(text, multiline):
    shown = display_text(text, multiline=multiline)
    assert hidden_in(shown) == []
    shown.encode("utf-8")  # never a UnicodeEncodeError
    if not multiline:
        assert "\n" not in shown and "\t" not in shown
    if all(c.isprintable() for c in text):
        assert shown == text  # visible text is not touched


def test_display_text_writes_what_each_hidden_character_was():
    assert display_text("bad\udcffname") == "bad\\xffname"  # the byte it stood for
    assert display_text("a\x1b[31mb") == "a\\x1b[31mb"
    assert display_text("x\u202ey") == "x\\u202ey"
    assert display_text("t\U000e0041") == "t\\U000e0041"
    assert display_text("one\ntwo", multiline=True) == "one\ntwo"
    assert display_text("one\ntwo") == "one\\x0atwo"


@given(st.recursive(st.none() | st.booleans() | st.integers() | HOSTILE_TEXT,
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(HOSTILE_TEXT, inner, max_size=3)))  # fmt: skip
@settings(max_examples=200, deadline=None)
def test_json_text_is_lossless_and_shows_nothing_hidden(value):
    text = json_text(value)
    assert hidden_in(text) == []
    text.encode("utf-8")
    assert json.loads(text) == value


# ---- the commands -------------------------------------------------------------------------------------
def _record(path: Path, name: str, phase: str, unit: str) -> Path:
    clock = FakeClock(0.0)
    sensors = [ReplaySensor([(0, 300), (200, 300)], clock=clock),
               ReplaySensor([(0, 50), (200, 50)], component="cpu", clock=clock)]  # fmt: skip
    meta = {"task": "text-generation", name: unit}
    m = Meter(name, sensors=sensors, clock=clock, background=False, out=path, meta=meta)
    m.start()
    with m.phase(phase):
        for _ in range(80):
            clock.advance(1.0)
            m.sample_now()
            m.add_work(10, "query")
            m.add_work(3, unit)
    m.stop()
    return path


def _cli(argv: list[str], encoding: str = "utf-8") -> tuple[int, str]:
    """``ecometer ARGV`` in-process with stdout and stderr encoding to ``encoding`` strictly, as a
    terminal with that encoding does; its exit code and everything it printed."""
    from ecometer.commands.cli import main

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="\n", write_through=True)
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        code = main(argv)
    stream.flush()
    text = raw.getvalue().decode(encoding)
    assert "Traceback" not in text
    return code, text


@pytest.fixture(scope="module")
def hostile_records(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("hostile")
    return [_record(root / f"r{i}.json", name, name[::-1], name[:5] + "u") for i, name in enumerate(HOSTILE)]


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "latin-1"])
def test_score_and_compare_print_hostile_names_safely_in_any_encoding(hostile_records, encoding):
    files = [str(p) for p in hostile_records]
    for argv in (["compare", *files, "--table"],
                 ["score", *files, "-s", "ecometer-inference", "--site", "us-average"],
                 ["score", *files, "-s", "ai-energy-score-2025-02"]):  # fmt: skip
        code, text = _cli(argv, encoding)
        assert code in (0, 1), text[-800:]
        assert hidden_in(text) == []
        assert "bad\\xffname" in text and "ansi\\x1b[2J" in text and "bidi\\u202eevil" in text


def test_score_json_and_attach_keep_the_names_as_data(hostile_records, tmp_path):
    files = [str(p) for p in hostile_records]
    code, text = _cli(["score", *files, "-s", "ecometer-inference", "--json"], "ascii")
    assert code == 0
    assert [d["record"] for d in json.loads(text)] == HOSTILE  # lossless
    copies = [tmp_path / p.name for p in hostile_records]
    for p, c in zip(hostile_records, copies, strict=True):
        c.write_bytes(p.read_bytes())
    code, text = _cli(["score", *map(str, copies), "-s", "ecometer-inference", "--attach"], "ascii")
    assert code == 0 and hidden_in(text) == []
    assert [load_record(c).name for c in copies] == HOSTILE


def test_report_and_charts_show_hostile_names_safely(hostile_records, tmp_path):
    pytest.importorskip("matplotlib")
    from ecometer.report import charts

    for path in hostile_records[:4]:
        out = tmp_path / path.stem
        code, text = _cli(["report", str(path), "--out", str(out)], "ascii")
        assert code == 0, text
        html = (out / "report.html").read_text(encoding="utf-8")
        assert hidden_in(html) == []
        record = load_record(path)
        assert display_text(record.name).replace("&", "&amp;") in html
    code, text = _cli(["compare", *map(str, hostile_records), "--out", str(tmp_path / "c.png")], "ascii")
    assert code == 0, text
    assert charts.plain("a\x1bb\udcff") == "a\\x1bb\\xff"


def test_chart_texts_are_drawn_without_hidden_characters():
    pytest.importorskip("matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ecometer.report.style import Figure, escape_figure_text

    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_title("t\x1b[2J\u202e")
    ax.set_xticks([0, 1], ["bad\udcffname", "$x$"])
    escape_figure_text(fig)
    fig.canvas.draw()  # tick labels are written while drawing
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert all(hidden_in(t) == [] for t in texts)
    assert "t\\x1b[2J\\u202e" in texts and "bad\\xffname" in texts and "\\$x\\$" in texts


def test_run_named_with_undecodable_bytes_then_report_compare_score(tmp_path):
    """The issue's case end to end: ``ecometer run --name $'bad\\xffname'``, then the other commands,
    with ``PYTHONIOENCODING=ascii``."""
    env = dict(ENV, PYTHONIOENCODING="ascii", ECOMETER_DIR=str(tmp_path))
    out = tmp_path / "r.json"
    cmd = [sys.executable.encode(), b"-m", b"ecometer"]
    proc = subprocess.run([*cmd, b"run", b"--name", b"bad\xff\x1b[2Jname", b"--out", os.fsencode(out), b"--", b"true"],
                          env=env, capture_output=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for args in ([b"report", os.fsencode(out), b"--out", os.fsencode(tmp_path / "rep")],
                 [b"compare", os.fsencode(out), os.fsencode(out), b"--table"],
                 [b"score", os.fsencode(out), b"-s", b"ecometer-training"]):  # fmt: skip
        proc = subprocess.run([*cmd, *args], env=env, capture_output=True, timeout=120)
        assert proc.returncode in (0, 1), proc.stderr.decode("ascii", "replace")
        text = (proc.stdout + proc.stderr).decode("ascii")  # ASCII only: nothing failed to encode
        assert b"Traceback" not in proc.stderr and "\x1b" not in text
    assert "bad\\xff\\x1b[2Jname" in proc.stdout.decode("ascii")


def test_corpus_and_spec_files_hold_hostile_text(tmp_path):
    table = tmp_path / "t.csv"
    table.write_bytes("model,energy_j\nm\u202eé\u200b,5\nok,6\n".encode())
    code, text = _cli(["corpus", "import", str(table), "--id", "model", "--energy", "energy_j", "--per", "query",
                       "--count", "1", "--source", "src\udcff\x1b[2J", "--out", str(tmp_path / "c")], "ascii")  # fmt: skip
    assert code == 0, text
    assert hidden_in(text) == []
    for name in ("entries.jsonl", "corpus.toml"):
        written = (tmp_path / "c" / name).read_text(encoding="utf-8")
        assert hidden_in(written) == []
    head, line = (tmp_path / "c" / "entries.jsonl").read_text(encoding="utf-8").splitlines()[:2]
    first = dict(zip(json.loads(head)["columns"], json.loads(line), strict=True))  # a compact entries file (v2)
    assert first["name"].startswith("m\u202eé\u200b")  # the data kept as it was


@given(st.lists(HOSTILE_TEXT, min_size=1, max_size=3))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_names_through_compare_and_score(tmp_path, names):
    files = [str(_record(tmp_path / f"f{i}.json", n or "x", n, "u" + n[:4])) for i, n in enumerate(names)]
    for encoding in ("utf-8", "ascii"):
        for argv in (["compare", *files, "--table"], ["score", *files, "-s", "ecometer-inference", "--site", "us-average"]):
            code, text = _cli(argv, encoding)
            assert code in (0, 1), text[-800:]
            assert hidden_in(text) == []


# ---- look-alike grade labels ----------------------------------------------------------------------------
STANDARD = """\
[standard]
name = "t"
title = "test standard"
version = "1"
grades = [{grades}]

[metrics.e]
quantity = "it_energy_j"
per = "token"
unit = "J"
thresholds = [1.0, 2.0]
"""


def _grades(*labels: str) -> str:
    return STANDARD.format(grades=", ".join(json.dumps(g, ensure_ascii=False) for g in labels))


@pytest.mark.parametrize(
    "second,why",
    [
        ("\u0410", "(CYRILLIC) beside 'A' (LATIN)"),  # Cyrillic capital A
        ("\u0391", "(GREEK) beside 'A' (LATIN)"),  # Greek capital alpha
        ("\uff21", "once normalised (NFKC: 'A')"),  # fullwidth A
        ("\U0001d400", "once normalised (NFKC: 'A')"),  # mathematical bold A
        ("A\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\u202eA", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\u2066A\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("\x1b[31mA\x1b[0m", "U+001B"),
        ("A\u00a0", "U+00A0 NO-BREAK SPACE"),
        ("A ", "but for spaces"),
        ("A\u0410", "mixes scripts"),
        ("A\ufe0f", "U+FE0F VARIATION SELECTOR-16"),  # printable per Python, drawn as nothing
        ("\u13aa", "(CHEROKEE) beside 'A' (LATIN)"),
    ],
)
def test_look_alike_grade_labels_are_refused_naming_file_line_and_field(second, why, tmp_path):
    from ecometer.standards import StandardError, load_standard

    path = tmp_path / "s.toml"
    path.write_text(_grades("A", second, "C"), encoding="utf-8")
    with pytest.raises(StandardError) as err:
        load_standard(path)
    assert err.value.file == str(path) and err.value.line == 5 and err.value.field == "standard.grades[1]"
    assert why in str(err.value)
    assert hidden_in(str(err.value)) == []  # the message itself shows the label safely
    code, text = _cli(["standard", "check", str(path)], "ascii")
    assert code == 2 and f"{path}:5: standard.grades[1]" in text and hidden_in(text) == []


def test_labels_of_one_script_other_than_latin_and_signs_are_accepted():
    from ecometer.standards import parse_standard

    assert parse_standard(_grades("\u0410", "\u0411", "\u0412")).grades == ["\u0410", "\u0411", "\u0412"]
    assert parse_standard(_grades("A+", "A", "B-")).grades == ["A+", "A", "B-"]
    assert parse_standard(_grades("★★★", "★★", "★")).grades == ["★★★", "★★", "★"]


@given(st.lists(HOSTILE_TEXT | st.sampled_from(["A", "B", "\u0410", "\uff21", "A\u200b"]), min_size=3, max_size=3))
@settings(max_examples=300, deadline=None)
def test_any_accepted_grade_labels_are_visible_distinct_and_of_one_script(labels):
    from ecometer.checks.text import label_key, scripts
    from ecometer.standards import StandardError
    from ecometer.standards.loader import standard_from_dict

    data = {"standard": {"name": "t", "title": "t", "version": "1", "grades": labels},
            "metrics": {"e": {"quantity": "it_energy_j", "per": "token", "unit": "J", "thresholds": [1.0, 2.0]}}}  # fmt: skip
    try:
        std = standard_from_dict(data)
    except StandardError:
        return
    assert all(hidden_in(g) == [] and "\xa0" not in g for g in std.grades)
    assert len({label_key(g) for g in std.grades}) == len(std.grades)
    assert len(set().union(*(scripts(g) for g in std.grades))) <= 1


def test_prometheus_metrics_show_hostile_names_safely():
    from ecometer.integrations.prometheus import render

    for name in HOSTILE:
        clock = FakeClock(0.0)
        m = Meter(name, sensors=[ReplaySensor([(0, 10)], clock=clock)], clock=clock, background=False, out=None)
        m.start()
        m.add_work(1, name)
        clock.advance(1.0)
        m.sample_now()
        text = render(m, labels={"job": name})
        text.encode("utf-8")  # served as UTF-8: a surrogate made every scrape fail before
        assert hidden_in(text) == []
        m.stop()


@given(name=HOSTILE_TEXT, phase=HOSTILE_TEXT)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_names_through_the_html_report(tmp_path_factory, name, phase):
    pytest.importorskip("matplotlib")
    root = tmp_path_factory.mktemp("rep")
    path = _record(root / "r.json", name or "x", phase, "u" + name[:4])
    code, text = _cli(["report", str(path), "--out", str(root / "out")], "ascii")
    assert code == 0, text
    assert hidden_in(text) == []
    assert hidden_in((root / "out" / "report.html").read_text(encoding="utf-8")) == []


def test_the_librarys_own_log_lines_show_names_safely(caplog):
    """Used as a library (no command line), a run's warnings are logged: the name and the message
    are shown escaped there too (the record keeps them as they were)."""
    import logging

    clock = FakeClock(0.0)
    name = "ansi\x1b[2J\u202ex\udcff"
    m = Meter(name, sensors=[ReplaySensor([(0, 10)], clock=clock)], clock=clock, background=False, out=None)
    with caplog.at_level(logging.WARNING, logger="ecometer"):
        m.start()
        m.add_work(math.nan, "unit\x1b[31m")
        rec = m.stop()
        m.add_work(1)
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all(hidden_in(line) == [] for line in lines)
    assert rec.name == name and any("\x1b[31m" in w for w in rec.warnings)


def test_a_standards_own_text_is_shown_safely(hostile_records, tmp_path):
    """Text from a standard file (title, descriptions, sources) reaches the terminal and the report."""
    pytest.importorskip("matplotlib")
    evil = "\x1b[2J\u202eevil\u200b\x07"
    path = tmp_path / "s.toml"
    path.write_text(
        STANDARD.format(grades='"A", "B", "C"').replace('title = "test standard"', f"title = {json.dumps(evil)}")
        + f'description = {json.dumps(evil)}\n',
        encoding="utf-8",
    )
    for encoding in ("utf-8", "ascii"):
        code, text = _cli(["score", str(hostile_records[0]), "-s", str(path)], encoding)
        assert code in (0, 1) and hidden_in(text) == [] and "\\x1b[2J\\u202eevil" in text
        code, text = _cli(["standard", "check", str(path)], encoding)
        assert code == 0 and hidden_in(text) == []
    copy = tmp_path / "r.json"
    copy.write_bytes(hostile_records[1].read_bytes())
    assert _cli(["score", str(copy), "-s", str(path), "--attach"])[0] in (0, 1)
    code, text = _cli(["report", str(copy), "--out", str(tmp_path / "rep")], "ascii")
    assert code == 0 and hidden_in((tmp_path / "rep" / "report.html").read_text(encoding="utf-8")) == []
