"""The public names resolve, and importing ecometer stays light."""

from __future__ import annotations

import subprocess
import sys

import ecometer


def test_every_public_name_resolves():
    for name in ecometer.__all__:
        assert getattr(ecometer, name) is not None, name


def test_import_loads_no_heavy_library():
    code = (
        "import sys, ecometer; ecometer.Meter; ecometer.RunRecord; "
        "print(' '.join(m for m in ('matplotlib', 'codecarbon', 'torch', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_cli_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "ecometer", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("run", "report", "compare", "score", "calibrate", "footprint", "info", "demo", "standard"):
        assert command in out


def _ecometer_imports(path, top_level: bool = False) -> set[str]:
    """The ecometer modules a source file imports (at import time only, or anywhere)."""
    import ast

    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body if top_level else ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("ecometer")}


def test_measuring_never_judges():
    """The meter and its run import neither footprint nor standards: the face applies them."""
    from pathlib import Path

    root = Path(ecometer.__file__).parent
    for name in ("meter.py", "run.py", "build.py", "supervision.py", "sampler.py", "sync.py", "lifecycle.py"):
        judged = {m for m in _ecometer_imports(root / name) if m.startswith(("ecometer.footprint", "ecometer.standards"))}
        assert judged == set(), name
    base = {"ecometer.errors", "ecometer.textfile", "ecometer.checks.numbers"}  # checks: leaves on errors alone
    assert _ecometer_imports(root / "record.py", top_level=True) <= base
    for leaf in ("checks/numbers.py", "checks/text.py"):
        assert _ecometer_imports(root / leaf) <= {"ecometer.errors"}, leaf
    assert _ecometer_imports(root / "textfile.py", top_level=True) <= {"ecometer.errors"}
    assert "ecometer.footprint" not in (root / "record.py").read_text()  # one mechanism: register_attachment


def test_measure_with_a_site_and_a_standard_attaches_both(tmp_path):
    from ecometer.sensors.replay import ReplaySensor

    with ecometer.measure(
        "judged",
        sensors=[ReplaySensor([(0, 100.0)], component="gpu")],
        out=tmp_path / "r.json",
        interval_s=0.01,
        work_unit="sample",
        site="us-average",
        standard="ecometer-training",
        meta={"task": "training"},
    ) as m:
        m.add_work(10)
    assert m.record.footprint is not None and m.record.footprint.water.total_l > 0
    assert m.record.assessment is not None
    back = ecometer.load_record(tmp_path / "r.json")  # saved after the face attached them
    assert back.footprint.water.total_l == m.record.footprint.water.total_l


def test_a_loaded_record_decodes_its_attachments_in_a_fresh_process(tmp_path):
    from ecometer.sensors.replay import ReplaySensor

    path = tmp_path / "r.json"
    with ecometer.measure("judged", sensors=[ReplaySensor([(0, 50.0)])], out=path, interval_s=0.01, site="us-average"):
        pass
    code = f"import ecometer; print(type(ecometer.load_record({str(path)!r}).footprint).__name__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Footprint"
