"""The public names resolve, and importing ecometer stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ecometer
from ecometer.errors import InputError


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
    for command in ("run", "report", "compare", "score", "calibrate", "footprint", "info", "demo", "standard", "bench"):
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
    for path in sorted((root / "measuring").glob("*.py")):
        judged = {m for m in _ecometer_imports(path) if m.startswith(("ecometer.impact", "ecometer.standards"))}
        assert judged == set(), path.name
    for path in sorted((root / "record").glob("*.py")):
        assert {m.split(".")[1] for m in _ecometer_imports(path)} <= {"checks", "errors", "files", "record"}, path.name
        assert "ecometer.impact" not in path.read_text()  # one mechanism: register_attachment
    for path in sorted((root / "files").glob("*.py")):
        assert {m.split(".")[1] for m in _ecometer_imports(path)} <= {"errors", "files"}, path.name
    for path in sorted((root / "checks").glob("*.py")):  # leaves on errors alone
        assert _ecometer_imports(path) <= {"ecometer.errors"}, path.name


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


def test_moved_module_paths_still_import_with_a_warning():
    import importlib
    import sys
    import warnings

    sys.modules.pop("ecometer.units", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module("ecometer.units")
    assert old is importlib.import_module("ecometer.record.units")
    assert any(issubclass(w.category, DeprecationWarning) and "ecometer.record.units" in str(w.message) for w in caught)


def test_the_old_footprint_package_path_names_the_new_one_and_keeps_the_function():
    import importlib
    import inspect

    with pytest.raises(ImportError, match="now ecometer.impact"):
        importlib.import_module("ecometer.footprint.site")
    assert inspect.isfunction(ecometer.footprint)


def test_list_standards_and_a_clear_error_for_the_package_called():
    names = {info.name for info in ecometer.list_standards()}
    assert "ecometer-inference" in names
    with pytest.raises(TypeError, match="list_standards"):
        ecometer.standards()
    assert "standards" not in ecometer.__all__ and "list_standards" in ecometer.__all__


def test_meter_settings_are_one_options_object():
    from ecometer.measuring.options import MeterOptions

    opts = MeterOptions(interval_s=0.05, out=None)
    a = ecometer.Meter("a", opts)
    b = ecometer.Meter("b", interval_s=0.05, out=None)
    assert a.options == b.options and a.interval_s == 0.05
    c = ecometer.Meter("c", opts, scope="process")  # keywords override the object
    assert c.options.scope == "process" and c.options.interval_s == 0.05
    with pytest.raises(TypeError, match="interval_sec"):
        ecometer.Meter("d", interval_sec=1)
    with pytest.raises(InputError, match="interval_s"):
        MeterOptions(interval_s=0)
