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
