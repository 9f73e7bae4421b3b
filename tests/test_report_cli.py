"""``ecometer report``: files written, errors as one line with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_report_helpers import letter_assessment, make_record

from ecometer.commands.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_report_writes_html_and_pngs_next_to_the_record(tmp_path, capsys):
    path = make_record(assessment=letter_assessment()).save(tmp_path / "train.json")
    assert main(["report", str(path)]) == 0
    out = tmp_path / "train-report"
    assert (out / "report.html").exists()
    assert {p.name for p in out.glob("*.png")} == {
        "grade.png",
        "timeline.png",
        "breakdown.png",
        "per_unit.png",
        "phases.png",
    }
    printed = capsys.readouterr().out
    assert f"report: {out / 'report.html'}" in printed


def test_report_out_folder_and_bare_record(tmp_path):
    path = make_record(footprint=False, samples=None).save(tmp_path / "bare.json")
    assert main(["report", str(path), "--out", str(tmp_path / "r")]) == 0
    assert {p.name for p in (tmp_path / "r").glob("*.png")} == {"timeline.png", "breakdown.png", "phases.png"}


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ecometer report: error:") and "no such record file" in err and err.count("\n") == 1
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text('{"schema_version": 1, "name": 3, "status": "weird"}')
    assert main(["report", str(corrupt)]) == 2
    err = capsys.readouterr().err
    assert "corrupt.json" in err and err.count("\n") == 1


def test_report_error_in_a_fresh_process_has_no_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, "-m", "ecometer", "report", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1


def test_help_of_each_command_has_examples(capsys):
    for command in ("report", "compare", "run", "demo", "bench"):
        try:
            main([command, "--help"])
        except SystemExit as exc:
            assert exc.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"ecometer {command}" in out, command
