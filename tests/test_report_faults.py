"""Records the loader accepts, hostile labels and failing outputs: ``report`` and ``compare`` stay clean.

Each case here crashed before (issue 16): a traceback from matplotlib, an ``IndexError``, an
``OSError``, or a 0-byte PNG left on a full disk. Now a record is reported with what can be
shown (and a "Data problems" list for the rest), and an output that cannot be written is one
line on stderr with exit code 2.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_report_helpers import letter_assessment, make_record

from ecometer.commands.cli import main
from ecometer.errors import UsageError
from ecometer.files.atomic import write_atomic
from ecometer.record.model import load_record
from ecometer.report import charts, style
from ecometer.report import run_comparison as compare
from ecometer.report.figures import component_energy, data_problems, headline
from ecometer.report.html import render_charts, render_html

ROOT = Path(__file__).resolve().parents[1]
MATHTEXT = "$\\frac{1}{$"


def record_file(tmp_path: Path, name: str, change) -> Path:
    """A record saved as JSON after ``change(d)`` edits its plain dict (as a hand-edited file would)."""
    d = make_record(assessment=letter_assessment("B"), seconds=4).to_dict()
    change(d)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(d, allow_nan=True))  # Infinity / NaN are valid for Python's JSON reader
    return path


def _set(path: tuple, value):
    def change(d):
        node = d
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


def _longer_series(d):
    d["timeline"]["power_w"]["cpu"] = d["timeline"]["power_w"]["cpu"] + [5.0] * 7


def _mathtext_grade(d):
    d["attachments"]["assessment"]["grade"] = MATHTEXT
    d["attachments"]["assessment"]["labels"] = [MATHTEXT, "B", "C"]


ACCEPTED = {
    "energy below its bounds": _set(("components", "gpu", "energy_j"), 1.0),
    "energy above its bounds": _set(("components", "cpu", "energy_j"), 1e7),
    "huge bounds": _set(("components", "dram", "uncertainty", "high"), 1e308),
    "mathtext grade": _mathtext_grade,
}

#: records the loader refuses (issue 16): the commands say so in one line, naming the field
REFUSED = {
    "negative energy": (_set(("components", "gpu", "energy_j"), -500.0), "components.gpu.energy_j"),
    "infinite duration": (_set(("duration_s",), float("inf")), "duration_s"),
    "NaN duration": (_set(("duration_s",), None), "duration_s"),
    "NaN energy": (_set(("components", "dram", "energy_j"), None), "components.dram.energy_j"),
    "power series longer than times": (_longer_series, "timeline.power_w.cpu"),
    "infinite time": (_set(("timeline", "t_s", 3), float("inf")), "timeline.t_s[3]"),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_report_and_compare_survive_records_the_loader_accepts(tmp_path, capsys, case):
    path = record_file(tmp_path, "r", ACCEPTED[case])
    load_record(path)  # the loader accepts it: what follows is the report layer's job
    assert main(["report", str(path), "--out", str(tmp_path / "rep")]) == 0
    page = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    assert "Headline figures" in page
    out = tmp_path / "cmp.png"
    assert main(["compare", str(path), str(path), "--out", str(out), "--table"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("case", list(REFUSED))
def test_report_and_compare_refuse_malformed_records_in_one_line(tmp_path, capsys, case):
    change, field = REFUSED[case]
    path = record_file(tmp_path, "r", change)
    assert main(["report", str(path), "--out", str(tmp_path / "rep")]) == 2
    err = capsys.readouterr().err
    assert field in err and "Traceback" not in err and err.count("\n") == 1
    assert main(["compare", str(path), str(path), "--out", str(tmp_path / "cmp.png")]) == 2
    assert field in capsys.readouterr().err and not (tmp_path / "cmp.png").exists()


def test_problems_are_named_in_the_report(tmp_path):
    # records built in memory (not loaded) can still carry what the loader refuses
    path = record_file(tmp_path, "r", ACCEPTED["energy below its bounds"])
    rec = load_record(path)
    rec.duration_s = float("inf")
    rec.timeline.power_w["cpu"] = list(rec.timeline.power_w["cpu"]) + [1.0] * (
        47 - len(rec.timeline.power_w["cpu"])
    )
    problems = data_problems(rec)
    assert any("gpu energy 1.00 J lies outside its stated bounds" in p for p in problems)
    assert any("duration is not a finite number" in p for p in problems)
    assert any("cpu has 47 power values for 40 times" in p for p in problems)
    page = render_html(rec, {})
    assert "id='problems'" in page and "lies outside its stated bounds" in page
    # the figure is shown widened to include its central value, and claims no coverage
    gpu = component_energy(rec, "gpu")
    assert gpu.low == 1.0 and gpu.coverage is None and gpu.claim == "coverage not stated"
    assert gpu.problems and not component_energy(make_record(), "gpu").problems


def test_timeline_is_cut_to_its_times_and_bad_points_dropped():
    rec = make_record(seconds=2)
    rec.timeline.power_w["cpu"] += [1e6] * 5  # extra values past the last time
    rec.timeline.t_s[4] = float("nan")
    rec.timeline.power_w["gpu:0"][6] = float("inf")
    times, power = charts.drawable_timeline(rec)
    assert len(times) == 19 and all(len(v) == 19 for v in power.values())
    assert max(power["cpu"]) < 1e3 and all(v < 1e3 for v in power["gpu"])
    assert charts.power_timeline(rec).startswith(b"\x89PNG")


def test_whiskers_are_never_negative():
    rec = make_record()
    rec.components["gpu"].energy_j = 5.0  # far below its stated bounds
    fig = component_energy(rec, "gpu")
    assert charts.whiskers(fig, lambda v: v) == (0.0, fig.high - 5.0)
    assert charts.axis_limits([float("inf"), float("nan"), -2.0, 8.0]) == (-3.8, 9.8)


def test_non_finite_figures_are_listed_not_drawn():
    rec = make_record()
    rec.components["dram"].energy_j = float("nan")
    figs = {f.key: f for f in headline(rec)}
    assert figs["dram_energy_j"].claim == "not a finite number"
    assert not charts.drawable(figs["dram_energy_j"]) and charts.drawable(figs["gpu_energy_j"])
    assert charts.breakdown(rec).startswith(b"\x89PNG")
    cmp = compare.build([rec, make_record("other")], "dram_energy_j")
    assert "n/a" in compare.table(cmp)
    assert compare.chart(cmp).startswith(b"\x89PNG")


# ---- mathtext in chart text ---------------------------------------------------------------------
def test_a_mathtext_grade_label_is_drawn_as_written(tmp_path):
    rec = make_record(name="cost $5", assessment=letter_assessment(MATHTEXT))
    images = render_charts(rec)
    assert all(png.startswith(b"\x89PNG") for png in images.values())
    cmp = compare.build([rec, make_record("b", assessment=letter_assessment(MATHTEXT))], "it_energy_j")
    assert compare.chart(cmp, tmp_path / "c.png") == (tmp_path / "c.png").read_bytes()


def test_escape_is_the_one_place_for_dollar_signs():
    assert style.escape_math("cost $5 and \\$6") == "cost \\$5 and \\$6"
    fig = style.new_figure(2, 2)
    ax = fig.add_subplot()
    ax.set_title(MATHTEXT)
    ax.set_xticks([0, 1], ["$a", "b$"])
    style.png_bytes(fig)  # raised ValueError (mathtext parse) before
    assert ax.get_title() == "\\$\\frac{1}{\\$"


def test_standard_sensitivity_chart_with_a_mathtext_grade(tmp_path, capsys):
    from test_standards import make_record as std_record

    std = tmp_path / "std.toml"
    std.write_text(
        '[standard]\nname = "t"\ntitle = "t"\nversion = "1"\ngrades = ["$\\\\frac{1}{$", "B", "C"]\n\n'
        '[metrics.e]\nquantity = "it_energy_j"\nper = "token"\nunit = "J"\nthresholds = [1.0, 2.0]\n'
    )
    runs = tmp_path / "runs"
    runs.mkdir()
    for i, joules in enumerate((500.0, 1500.0, 2500.0)):
        std_record(f"r{i}", gpu_j=joules, work={"token": 1000}).save(runs / f"r{i}.json")
    chart = tmp_path / "s.png"
    cmd = ["standard", "sensitivity", str(std), str(runs), "--metric", "e", "--thresholds", "0.8,2.4"]
    assert main([*cmd, "--chart", str(chart)]) == 0, capsys.readouterr().err
    assert chart.read_bytes().startswith(b"\x89PNG")


# ---- outputs that cannot be written --------------------------------------------------------------
def test_report_out_an_existing_file_is_one_line(tmp_path, capsys):
    path = make_record().save(tmp_path / "r.json")
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    assert main(["report", str(path), "--out", str(taken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecometer report: error: cannot write the report to") and err.count("\n") == 1
    assert "exists and is not a folder" in err and taken.read_text() == "keep me"


def _disk_full(monkeypatch):
    """Every write of a chart or page fails as on a full disk (ENOSPC), after creating its temp file."""
    real = os.fdopen

    def fdopen(fd, mode="r", *a, **kw):
        fh = real(fd, mode, *a, **kw)
        if "w" in mode:

            def write(_data):
                raise OSError(errno.ENOSPC, "No space left on device")

            fh.write = write
        return fh

    monkeypatch.setattr(os, "fdopen", fdopen)


def test_a_full_disk_leaves_no_truncated_chart(tmp_path, monkeypatch, capsys):
    path = make_record().save(tmp_path / "r.json")
    old = tmp_path / "old.png"
    old.write_bytes(b"\x89PNG previous chart")
    _disk_full(monkeypatch)
    assert main(["compare", str(path), "--out", str(old)]) == 2
    err = capsys.readouterr().err
    assert "cannot write the chart to" in err and "No space left on device" in err and err.count("\n") == 1
    assert old.read_bytes() == b"\x89PNG previous chart"  # the previous file, untouched
    assert main(["report", str(path), "--out", str(tmp_path / "rep")]) == 2
    assert "cannot write the report to" in capsys.readouterr().err
    left = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("r.json", "old.png")]
    assert left == []  # no 0-byte PNG, no temporary file


def test_write_atomic_keeps_the_chart_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "chart.png"
    target.write_bytes(b"before")
    _disk_full(monkeypatch)
    with pytest.raises(OSError):
        write_atomic(target, b"after")
    assert target.read_bytes() == b"before" and list(tmp_path.iterdir()) == [target]


def test_output_error_is_a_usage_error():
    err = style.output_error("x.png", OSError(errno.EROFS, "Read-only file system"), "write the chart to")
    assert isinstance(err, UsageError) and str(err) == "cannot write the chart to x.png: Read-only file system"


UNSHARE = shutil.which("unshare")


def _in_small_mount(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) with a 64 KiB tmpfs at $M, in a private user and mount namespace."""
    mnt = tmp_path / "m"
    mnt.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env["M"], env["PY"] = str(mnt), sys.executable
    body = f"mount -t tmpfs -o size=64k tmpfs \"$M\" || exit 77\n{script}"
    return subprocess.run([UNSHARE, "-rm", "sh", "-c", body], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.skipif(UNSHARE is None, reason="needs unshare(1) for a private tmpfs")
def test_a_real_full_disk_and_a_read_only_one(tmp_path):
    rec = make_record().save(tmp_path / "r.json")
    script = f"""
dd if=/dev/zero of="$M/fill" bs=1k count=64 2>/dev/null
"$PY" -m ecometer compare {rec} --out "$M/c.png"; echo "compare=$?"
"$PY" -m ecometer report {rec} --out "$M/rep"; echo "report=$?"
ls -la "$M" "$M/rep" 2>/dev/null | grep -c ' 0 .*png' ; echo zero
rm "$M/fill"; mount -o remount,ro "$M"
"$PY" -m ecometer compare {rec} --out "$M/c.png"; echo "ro_compare=$?"
"$PY" -m ecometer report {rec} --out "$M/rep"; echo "ro_report=$?"
"""
    proc = _in_small_mount(tmp_path, script)
    if proc.returncode == 77 or "Operation not permitted" in proc.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()[:200]}")
    out = proc.stdout
    for key in ("compare=2", "report=2", "ro_compare=2", "ro_report=2"):
        assert key in out, (out, proc.stderr)
    assert "0\nzero" in out  # no 0-byte PNG left behind
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("ecometer ")]
    assert len(lines) == 4 and all(": error: cannot write " in ln for ln in lines), proc.stderr
    assert any("No space left on device" in ln for ln in lines) and any("Read-only file system" in ln for ln in lines)


def test_hostile_values_in_each_field_render(tmp_path):
    """Numeric fields of a record set to hostile values (one field at a time, the values taken in
    turn; the suite's fuzz tests cover more): whatever the loader accepts renders."""
    base = make_record(assessment=letter_assessment("B"), seconds=2).to_dict()
    paths = [
        ("duration_s",),
        ("components", "gpu", "energy_j"),
        ("components", "cpu", "uncertainty", "low"),
        ("components", "cpu", "uncertainty", "high"),
        ("phases", "load", "energy_j"),
        ("phases", "load", "duration_s"),
        ("timeline", "t_s", 0),
        ("timeline", "power_w", "gpu:0", 1),
        ("timeline", "spans", 0, "end_s"),
        ("work", "sample"),
    ]
    from ecometer.errors import RecordError
    from ecometer.record.model import RunRecord

    values = (float("nan"), float("inf"), -float("inf"), -1.0, 1e308, -1e308)
    rendered = refused = 0
    for i, p in enumerate(paths):
        d = copy.deepcopy(base)
        _set(p, values[i % len(values)])(d)
        try:
            rec = RunRecord.from_dict(json.loads(json.dumps(d)))
        except RecordError:
            refused += 1  # the loader names the field (tests/test_record_io.py)
            continue
        render_html(rec, render_charts(rec))
        cmp = compare.build([rec, rec])
        compare.chart(cmp)
        compare.table(cmp)
        rendered += 1
    assert rendered >= 1 and refused >= 1 and rendered + refused == len(paths)
