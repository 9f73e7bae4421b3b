"""Open the HTML report in a real browser (headless Chromium): it renders, and no script runs.

Skipped where Chromium is not installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from test_report_helpers import letter_assessment, make_record

from ecometer.report import style
from ecometer.report.html import write_report

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="headless Chromium not installed (apt-get install chromium)")

# if any of this ran, the title would read PWNED or <body> would carry data-pwned="1"
PAYLOAD = (
    "<script>document.title='PWNED'</script><img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">\"'"
)


def chromium(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            str(BROWSER),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            *args,
            url,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=90)


def test_detector_sees_a_script_that_runs(tmp_path):
    """Control: the same payload unescaped does run, so the checks below can fail."""
    page = tmp_path / "raw.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body>{PAYLOAD}</body></html>")
    dom = chromium(page.as_uri(), "--dump-dom").stdout
    assert "PWNED" in dom.split("</title>")[0] or 'data-pwned="1"' in dom


def test_report_renders_in_chromium_and_runs_no_script(tmp_path):
    rec = make_record(name=PAYLOAD, assessment=letter_assessment("B"), meta={"note": PAYLOAD})
    rec.warnings.append(PAYLOAD)
    files = write_report(rec, tmp_path / "report")
    dom = chromium(files.html.as_uri(), "--dump-dom").stdout
    assert "<title>ecometer report: " in dom and "PWNED</title>" not in dom
    assert 'data-pwned="1"' not in dom
    assert "Headline figures" in dom and "Power over time" in dom and "Host and devices" in dom
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom  # shown as text
    assert dom.count('src="data:image/png;base64,') == 5

    shot = tmp_path / "shot.png"
    chromium(files.html.as_uri(), f"--screenshot={shot}", "--window-size=1200,2000")
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB"))
    assert img.shape[:2] == (2000, 1200)
    # the embedded charts were decoded and painted (the CSP allows data: images only)
    for colour in (style.EU_LABEL_COLOURS[0], style.EU_LABEL_COLOURS[-1], style.COMPONENT_COLOURS["cpu"]):
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        near = np.all(np.abs(img.astype(int) - rgb) <= 6, axis=-1).sum()
        assert near > 200, colour


def test_example_report_renders_if_present():
    example = Path(__file__).resolve().parents[1] / "reports" / "examples" / "report.html"
    if not example.exists():
        pytest.skip("no example report generated yet")
    dom = chromium(example.as_uri(), "--dump-dom").stdout
    assert "Headline figures" in dom and dom.count("data:image/png;base64,") >= 3
