"""Open the HTML report in a real browser (headless Chromium): it renders, and no script runs.

Skipped where Chromium is not installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import io
import re
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


def _page_width(page: Path, width: int) -> tuple[int, int]:
    """(document width, window width) in CSS px of ``page`` laid out by Chromium at ``width`` px.

    A copy of the page without its CSP gets a script that writes both widths into the title.
    """
    text = re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", page.read_text(encoding="utf-8"))
    probe = "<script>document.title='W'+document.documentElement.scrollWidth+'x'+window.innerWidth</script>"
    copy = page.with_name("width-probe.html")
    copy.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = chromium(copy.as_uri(), f"--window-size={width},1600", "--dump-dom").stdout
    found = re.search(r"<title>W(\d+)x(\d+)</title>", dom)
    assert found, dom[:500]
    return int(found.group(1)), int(found.group(2))


def _wide_record():
    """A record whose devices table has many fields and long values (as an 8-GPU node's does)."""
    rec = make_record(assessment=letter_assessment("B"))
    rec.devices = [
        {
            "id": f"gpu:{i}",
            "model": "NVIDIA H100 80GB HBM3",
            "uuid": f"GPU-{i:08x}-aaaa-bbbb-cccc-0123456789ab",
            "pci_bus_id": f"00000000:{i + 16:02X}:00.0",
            "energy_j": 123456.789,
            "integrated_j": 123400.0,
            "counter_j": 123456.789,
            "power_points": 36000,
            "power_limit_w": 700.0,
            "driver": "550.54.15",
            "notes": ["counter resolution 1 mJ", "power.draw.average over 1 s"],
        }
        for i in range(8)
    ]
    rec.host["kernel"] = "Linux-6.5.0-1020-aws-x86_64-with-glibc2.35-" + "x" * 60
    rec.attachments["footprint"]["assumptions"] = ["a long derivation " * 40] * 6
    return rec


@pytest.mark.parametrize("width", [1280, 800])
def test_report_fits_the_window_with_derivations_folded(tmp_path, width):
    rec = _wide_record()
    files = write_report(rec, tmp_path / "report")
    doc, window = _page_width(files.html, width)
    assert window == width and doc <= width  # nothing runs off the page: wide tables scroll in place
    shot = tmp_path / f"shot-{width}.png"
    chromium(files.html.as_uri(), f"--screenshot={shot}", f"--window-size={width},3000")
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB"))
    assert img.shape[:2] == (3000, width)
    # the folds are closed: the long derivation text is not laid out in the page
    dom = chromium(files.html.as_uri(), "--dump-dom").stdout
    assert dom.count("<details>") >= 6 and "<details open" not in dom


def test_the_width_check_sees_a_table_that_runs_off_the_page(tmp_path):
    """Control for the width check: the page with one table of every device field as a column
    (as the devices table was) and no scrolling wrapper is wider than the window."""
    rec = _wide_record()
    from ecometer.report.html import render_html

    keys = list(rec.devices[0])
    row = "".join(f"<td class='nw'>{rec.devices[0][k]}</td>" for k in keys)
    wide = f"<table><tr>{''.join(f'<th>{k}</th>' for k in keys)}</tr><tr>{row}</tr></table>"
    page = tmp_path / "plain.html"
    page.write_text(render_html(rec, images={}).replace("</main>", wide + "</main>"), encoding="utf-8")
    doc, window = _page_width(page, 800)
    assert doc > window


def test_example_report_renders_if_present():
    example = Path(__file__).resolve().parents[1] / "reports" / "examples" / "report.html"
    if not example.exists():
        pytest.skip("no example report generated yet")
    dom = chromium(example.as_uri(), "--dump-dom").stdout
    assert "Headline figures" in dom and dom.count("data:image/png;base64,") >= 3
