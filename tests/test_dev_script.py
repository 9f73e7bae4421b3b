"""``./dev demo`` installs only what the demo needs; ``./dev test`` adds the test extras (issue 26).

A stand-in interpreter records the commands the script runs instead of installing anything."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FAKE_PY = """#!/bin/sh
echo "python $*" >> "$DEV_LOG"
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin"
  cp "$0" "$3/bin/python"
  printf '#!/bin/sh\\necho "ecometer $*" >> "$DEV_LOG"\\n' > "$3/bin/ecometer"
  chmod +x "$3/bin/ecometer"
fi
exit 0
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    if shutil.which("bash") is None or shutil.which("sha256sum") is None:
        pytest.skip("needs bash and sha256sum")
    for name in ("dev", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    fake = tmp_path / "fake-python"
    fake.write_text(FAKE_PY)
    fake.chmod(0o755)
    return tmp_path


def dev(checkout: Path, *args: str) -> list[str]:
    log = checkout / "log.txt"
    log.unlink(missing_ok=True)
    env = dict(os.environ, PYTHON=str(checkout / "fake-python"), DEV_LOG=str(log), ECOMETER_TORCH="none",
               ECOMETER_NO_BROWSER="1")  # fmt: skip
    proc = subprocess.run(["bash", str(checkout / "dev"), *args], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return log.read_text().splitlines() if log.exists() else []


def test_the_demo_installs_ecometer_without_the_test_extras(checkout):
    ran = dev(checkout, "demo", "--seconds", "1")
    installs = [line for line in ran if "pip install" in line and "-e" in line]
    assert installs == ["python -m pip install -q -e ."], ran
    assert ran[-1] == "ecometer demo --seconds 1"


def test_the_tests_install_the_test_extras_and_the_demo_reuses_them(checkout):
    ran = dev(checkout, "test", "-k", "nothing")
    assert "python -m pip install -q -e .[test]" in ran
    again = dev(checkout, "demo")
    assert not any("pip install" in line for line in again) and again[-1] == "ecometer demo"


def test_the_licence_is_an_spdx_string_not_a_deprecated_table():  # setuptools warned three times per install
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert data["project"]["license"] == "Apache-2.0"
    setuptools = next(r for r in data["build-system"]["requires"] if r.startswith("setuptools"))
    assert setuptools == "setuptools>=77"  # the first to read an SPDX licence expression
