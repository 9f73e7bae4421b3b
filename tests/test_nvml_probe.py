"""Issue 22: without an NVIDIA driver, discovery says so from one dlopen, without importing the
NVML bindings or the NVIDIA sensor (10-90 ms of every cold `ecometer run`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ecometer.sensors import discover as discover_module


def test_a_library_that_cannot_be_loaded_is_named_with_the_reason(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("the probe is for Linux")
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    monkeypatch.setattr(discover_module, "NVML_LIBRARY", "libecometer-no-such-library.so.1")
    why = discover_module.nvml_library_missing()
    assert why is not None and why.startswith("NVML: cannot initialise (")
    assert "libecometer-no-such-library.so.1" in why and "no NVIDIA driver" in why


def test_a_library_that_loads_is_left_to_nvml(monkeypatch):
    if not sys.platform.startswith("linux"):
        pytest.skip("the probe is for Linux")
    monkeypatch.delitem(sys.modules, "pynvml", raising=False)
    monkeypatch.setattr(discover_module, "NVML_LIBRARY", "libc.so.6")  # loadable everywhere on glibc Linux
    assert discover_module.nvml_library_missing() is None


def test_imported_bindings_are_not_second_guessed(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", object())  # a stand-in (tests) or the real one already loaded
    monkeypatch.setattr(discover_module, "NVML_LIBRARY", "libecometer-no-such-library.so.1")
    assert discover_module.nvml_library_missing() is None


_DISCOVER = """
import json, sys
from ecometer.sensors import discover as d
d.NVML_LIBRARY = "libecometer-no-such-library.so.1"
sensors, lines = d.discover()
print(json.dumps({"lines": lines, "sensors": [type(s).__name__ for s in sensors],
                  "imported": [m for m in ("pynvml", "ecometer.sensors.nvidia") if m in sys.modules]}))
"""


def test_discovery_without_the_driver_imports_neither_bindings_nor_sensor(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("the probe is for Linux")
    proc = subprocess.run([sys.executable, "-c", _DISCOVER], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["imported"] == [], out
    assert any("no NVIDIA driver" in line for line in out["lines"]), out
    assert out["sensors"], out  # the host sensors are still there
