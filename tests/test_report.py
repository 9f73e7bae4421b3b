"""The report layer: units, figures, grades, charts, label, text and HTML (no meter needed)."""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from test_report_helpers import letter_assessment, make_record

from ecometer.errors import InputError
from ecometer.record.units import fmt, fmt_range, pick_scale
from ecometer.report import charts, label, style, text
from ecometer.report.figures import FigureMissing, headline, metric, metric_names, per_unit
from ecometer.report.grades import read_assessment
from ecometer.report.html import render_charts, render_html, write_report

HOSTILE = "<script>alert(1)</script> \"quoted\" 'single' & $x^2$"


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def has_colour(img: np.ndarray, hex_colour: str, min_pixels: int = 50) -> bool:
    rgb = [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]
    return int(np.all(img == rgb, axis=-1).sum()) >= min_pixels


# ---- units ----------------------------------------------------------------------------------
def test_units_pick_readable_scales():
    assert fmt("energy", 12500) == "12.5 kJ"
    assert fmt("energy", 0.25) == "250 mJ"
    assert fmt("water", 0.0005) == "500 µL"
    assert fmt("carbon", 2500) == "2.50 kg CO2e"
    assert fmt("time", 90) == "90.0 s"  # minutes only from 2 min
    assert fmt("time", 150) == "2.50 min"
    assert fmt("energy", float("nan")) == "n/a"
    assert pick_scale("power", [0.0, 1500.0]).symbol == "kW"
    assert fmt_range("energy", 4700, 4420, 4980) == "4.70 kJ (4.42–4.98 kJ)"


# ---- figures --------------------------------------------------------------------------------
def test_headline_reads_footprint_dict_and_per_unit_divides():
    rec = make_record()
    figs = {f.key: f for f in headline(rec)}
    assert {"it_energy_j", "gpu_energy_j", "cpu_energy_j", "dram_energy_j", "water_total_l", "carbon_g"} <= set(figs)
    assert "water_withdrawal_l" not in figs  # stored as null: not shown
    fp = rec.attachments["footprint"]
    assert figs["water_total_l"].central == fp["water"]["total_l"]["central"]
    assert figs["water_total_l"].method == "modelled"
    assert figs["gpu_energy_j"].method == "counter"
    assert figs["it_energy_j"].method.startswith("mixed")
    per = {f.key: f for f in per_unit(rec)}
    assert math.isclose(per["it_energy_j_per_unit"].central, rec.energy_j / 1000)
    assert per["it_energy_j_per_unit"].unit == "J/sample"
    assert per["water_total_l_per_unit"].high == pytest.approx(fp["water"]["total_l"]["high"] / 1000)


def test_headline_without_footprint_shows_only_energy():
    rec = make_record(footprint=False)
    keys = {f.key for f in headline(rec)}
    assert keys == {"it_energy_j", "gpu_energy_j", "cpu_energy_j", "dram_energy_j"}


def test_metric_errors_name_the_problem():
    with pytest.raises(InputError, match="unknown metric 'joules'.*energy_j"):
        metric(make_record(), "joules")
    with pytest.raises(FigureMissing, match="no footprint: .*--site"):
        metric(make_record(footprint=False), "water_total_l")
    with pytest.raises(FigureMissing, match="work units"):
        metric(make_record(samples=None), "it_energy_j_per_unit")
    assert metric(make_record(), "duration_s").central == 20.0
    assert "carbon_g_per_unit" in metric_names()


def test_footprint_dict_with_plain_numbers_and_bad_values():
    rec = make_record(footprint=False)
    rec.attachments["footprint"] = {"water": {"total_l": 2.0, "onsite_l": "junk"}, "carbon_g": {"central": None}}
    figs = {f.key: f for f in headline(rec)}
    assert figs["water_total_l"].central == 2.0 and figs["water_total_l"].low == 2.0
    assert "water_onsite_l" not in figs and "carbon_g" not in figs


# ---- grades ---------------------------------------------------------------------------------
def test_read_assessment_letters_stars_and_partial():
    view = read_assessment(letter_assessment("C"))
    assert view.grade == "C" and view.index == 2 and view.scale == "letters"
    assert view.standard == "ecometer-training v1"
    assert [m.stable for m in view.metrics] == [True, False]
    stars = read_assessment({"standard": "aes", "grade": "4", "labels": ["5", "4", "3", "2", "1"]})
    assert stars.scale == "stars" and stars.stars == 4
    partial = read_assessment({"grade": "B"})
    assert partial.grade == "B" and partial.index == 1 and partial.metrics == []
    assert read_assessment({"grade": "gold"}).labels == ["gold"]
    assert read_assessment(None) is None and read_assessment("junk") is None  # type: ignore[arg-type]


def test_grade_colours_follow_the_eu_label():
    assert style.grade_colours(7) == style.EU_LABEL_COLOURS
    five = style.grade_colours(5)
    assert five[0] == style.EU_LABEL_COLOURS[0] and five[-1] == style.EU_LABEL_COLOURS[-1]
    assert len(set(five)) == 5


# ---- charts ---------------------------------------------------------------------------------
def test_every_chart_is_a_png_and_components_keep_their_colours():
    rec = make_record(assessment=letter_assessment())
    images = render_charts(rec)
    assert list(images) == ["grade", "timeline", "breakdown", "per_unit", "phases"]
    for name, png in images.items():
        assert png.startswith(b"\x89PNG"), name
        assert 5_000 < len(png) < 200_000, (name, len(png))
    for name in ("breakdown", "per_unit", "phases"):
        img = pixels(images[name])
        assert has_colour(img, style.COMPONENT_COLOURS["gpu"]), name
        assert has_colour(img, style.COMPONENT_COLOURS["cpu"]), name


def test_charts_degrade_without_work_phases_timeline_or_footprint():
    rec = make_record(samples=None, footprint=False)
    rec.phases = {}
    rec.timeline.t_s, rec.timeline.power_w, rec.timeline.spans = [], {}, []
    assert charts.per_unit(rec) is None
    assert charts.phase_energy(rec) is None
    assert charts.power_timeline(rec).startswith(b"\x89PNG")
    img = pixels(charts.breakdown(rec))
    assert not has_colour(img, style.QUANTITY_COLOURS["offsite_water"])  # no water panel
    assert list(render_charts(rec)) == ["timeline", "breakdown"]


def test_chart_text_is_made_safe_for_matplotlib():
    assert charts.plain("cost $5 and $6") == "cost $5 and $6"  # escaped where drawn (style.Figure)
    assert charts.plain("a\nb\x00c") == "a b\\x00c"  # one line; a hidden character shown as its escape
    assert len(charts.plain("x" * 500)) == charts.MAX_TITLE
    rec = make_record(name=HOSTILE)
    rec.timeline.spans[0].name = "$\\frac{1}{0}$"
    assert charts.power_timeline(rec).startswith(b"\x89PNG")


@pytest.mark.parametrize("grade", ["A", "C", "G"])
def test_label_marks_the_grade_on_its_own_row(grade):
    img = pixels(label.grade_label(read_assessment(letter_assessment(grade))))
    colour = style.grade_colour(grade, list("ABCDEFG"))
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    width = img.shape[1]
    bar_rows = np.where(np.all(img[:, : width // 3] == rgb, axis=-1).sum(axis=1) > 20)[0]
    marker_rows = np.where(np.all(img[:, int(width * 0.8) :] == [0, 0, 0], axis=-1).sum(axis=1) > 20)[0]
    assert len(bar_rows) > 10 and len(marker_rows) > 10
    # the black marker sits at the height of the graded bar
    assert abs(np.median(marker_rows) - np.median(bar_rows)) < 6


def test_label_for_a_star_standard_and_without_assessment():
    stars = read_assessment({"standard": "aes", "grade": "2", "labels": ["5", "4", "3", "2", "1"]})
    png = label.grade_label(stars)
    assert has_colour(pixels(png), "#ffd400", 5)  # gold stars in the marker
    assert label.grade_label(None).startswith(b"\x89PNG")


# ---- text -----------------------------------------------------------------------------------
def test_summary_lists_energy_water_grade():
    out = text.summary(make_record(assessment=letter_assessment("B")))
    assert "IT energy" in out and "GPU" in out and "counter" in out and "modelled" in out
    assert "water" in out and "on-site" in out and "off-site" in out
    assert "per sample" in out and "grade      B (ecometer-training v1); hard limits passed" in out


def test_summary_states_each_interval_and_its_coverage():
    rec = make_record(assessment=letter_assessment("B"))
    rec.attachments["footprint"]["carbon_g"].update(coverage=0.95, distribution="lognormal")
    rec.attachments["assessment"]["probabilities"] = {"B": 0.83, "C": 0.17}
    lines = text.summary(rec).splitlines()
    gpu = next(ln for ln in lines if ln.strip().startswith("GPU"))
    assert "±5 %" in gpu and "stated bound" in gpu and gpu.endswith("counter")
    it = next(ln for ln in lines if "IT energy" in ln)
    assert re.search(r"IT energy  \d+\.\d+ kJ \(\d+\.\d+–\d+\.\d+ kJ, 95 %\) = ", it), it  # propagated sum
    carbon = next(ln for ln in lines if ln.strip().startswith("carbon"))
    assert carbon.endswith(", 95 %)")
    water = next(ln for ln in lines if ln.strip().startswith("water"))
    assert "coverage not stated" in water  # a schema-1 footprint dict states no coverage
    assert "  grade      B (ecometer-training v1: B 83 %, C 17 %); hard limits passed" in lines
    bare = text.summary(make_record(footprint=False, samples=None))
    assert "water" not in bare and "grade" not in bare


def test_markdown_table_escapes_pipes():
    table = text.markdown_table(["a", "b"], [["x|y", "multi\nline"]])
    assert table.splitlines()[2] == "| x\\|y | multi line |"


# ---- html -----------------------------------------------------------------------------------
def test_html_escapes_every_user_string():
    rec = make_record(name=HOSTILE, assessment=letter_assessment(), meta={"<img src=x onerror=alert(2)>": "<b>v</b>"})
    rec.warnings.append("<iframe src=javascript:alert(3)>")
    rec.host["hostname"] = '"><script>alert(4)</script>'
    rec.phases["forward"].name = "<svg onload=alert(5)>"
    rec.attachments["footprint"]["assumptions"].append("<script>alert(6)</script>")
    page = render_html(rec, images={})
    assert "<script" not in page.lower()
    assert "<img src=x" not in page and "<iframe" not in page and "<svg" not in page and "<b>v" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#x27;single&#x27; &amp;" in page
    assert page.count("&lt;script&gt;alert(") >= 4


def test_html_is_self_contained_and_states_methods(tmp_path):
    rec = make_record(assessment=letter_assessment())
    files = write_report(rec, tmp_path / "out")
    page = files.html.read_text(encoding="utf-8")
    assert sorted(p.name for p in files.pngs.values()) == sorted(
        ["grade.png", "timeline.png", "breakdown.png", "per_unit.png", "phases.png"]
    )
    srcs = re.findall(r"src=\"([^\"]*)\"", page)
    assert len(srcs) == 5 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"(href|src)=[\"'](https?:|//)", page)
    for word in ("counter", "modelled", "mixed (gpu counter", "±5 %", "PUE 1.17 (Li et al. 2023, Table 1)"):
        assert word in page, word
    assert "cpu power is modelled: no RAPL" in page and "Test GPU" in page


def test_html_leads_with_value_interval_coverage_and_method():
    rec = make_record(assessment=letter_assessment("B"))
    rec.attachments["footprint"]["water"]["total_l"].update(coverage=0.95, distribution="lognormal")
    page = render_html(rec, images={})
    top = page[page.index("Headline figures") : page.index("id='timeline'")]
    assert "<th>Value</th><th>Interval</th><th>Coverage</th><th>Method</th>" in top
    row = re.search(r"<tr><td>GPU energy</td>.*?</tr>", top).group()
    assert "3.95 kJ" in row and "3.76 – 4.15 kJ" in row and "stated bound" in row and ">counter<" in row
    water = re.search(r"<tr><td>Water consumed</td>.*?</tr>", top).group()
    assert "95 % interval" in water and "lognormal" in water  # the shape in the cell's title
    assert "coverage not stated" in re.search(r"<tr><td>Carbon</td>.*?</tr>", top).group()
    # derivations are folded, not paragraphs in the main flow
    foot = page[page.index("id='footprint'") :]
    assert foot.count("<details>") >= 1 or "<div class='muted'>PUE 1.17" in foot
    assert "<ul><li>PUE 1.17" not in page


def test_long_assumptions_and_notes_are_folded():
    rec = make_record(assessment=letter_assessment("B"))
    long = "EWIF 3.142 L/kWh " + "derived from the national generation mix and the water intensity of each source " * 5
    rec.attachments["footprint"]["assumptions"] = [
        long,
        {"name": "pue", "value": 1.17, "unit": "", "low": 1.1, "high": 1.3, "note": "applied to IT energy",
         "source": "Li et al. 2023, Table 1 " * 6, "text": "pue = 1.17 ..."},
    ]  # fmt: skip
    rec.components["cpu"].notes = ["uncertainty: " + "model of package power from utilisation, " * 8]
    page = render_html(rec, images={})
    folds = re.findall(r"<details><summary>(.*?)</summary><div>(.*?)</div></details>", page)
    summaries = [s for s, _ in folds]
    assert any(s.startswith("EWIF 3.142 L/kWh derived") and s.endswith("…") for s in summaries)
    assert "pue = 1.170 (1.100 – 1.300): applied to IT energy" in summaries
    assert any("Li et al. 2023" in body for _, body in folds)
    assert any(s.startswith("uncertainty: model of package power") for s in summaries)
    assert all(len(s) <= 165 for s in summaries)


def test_grade_probabilities_are_shown_when_present_and_absent_otherwise():
    stored = letter_assessment("B")
    stored.update(probabilities={"B": 0.83, "C": 0.17}, most_likely="B", confidence=0.9, stable=False)
    stored["metrics"][0].update(probabilities={"B": 0.83, "C": 0.1699, "D": 0.0001}, most_likely="B", confidence=0.9)
    view = read_assessment(stored)
    assert view.probabilities == {"B": 0.83, "C": 0.17} and view.confidence == 0.9 and view.stable is False
    from ecometer.report.grades import probability_text

    assert probability_text(view.probabilities, view.labels) == "B 83 %, C 17 %"
    assert probability_text(view.metrics[0].probabilities, view.labels) == "B 83 %, C 17 %, D <1 %"
    assert probability_text({"A": 0.5, "B": 0.5}, list("AB")) == "A 50 %, B 50 %"  # ties in grade order
    page = render_html(make_record(assessment=stored), images={})
    assert "B 83 %, C 17 %" in page and "<td>no (&lt; 90 %)</td>" in page  # 83 % < 90 %: whatever was stored
    assert "B 83 %, C 17 %; not stable (&lt; 90 %)" in page  # the line under the headline figures
    # an old assessment (no probabilities) still reports, with the old stability words
    old = render_html(make_record(assessment=letter_assessment("B")), images={})
    assert "Probability" in old and "no: near a band edge" in old and "(&lt; 90 %)" not in old
    junk = dict(letter_assessment("B"), probabilities={"B": "lots"}, confidence=7)
    assert read_assessment(junk).probabilities is None and read_assessment(junk).confidence is None
    assert label.grade_label(read_assessment(stored)).startswith(b"\x89PNG")


def test_html_without_footprint_or_assessment_shows_what_exists():
    page = render_html(make_record(footprint=False, samples=None))
    assert "No footprint attached" in page and "No work units were counted" in page
    assert "Not graded" in page and "id='grade'" not in page
    assert "GPU energy" in page


# ---- against the real scoring layer's stored dict --------------------------------------------
def test_reader_matches_a_real_assessment_rated_and_not_rated():
    scoring = pytest.importorskip("ecometer.standards")
    std = scoring.load_standard("ecometer-training")
    rated = make_record(seconds=80)
    rated.work["flop"] = rated.energy_j * 90e9  # 90 GFLOP/J
    stored = scoring.score(rated, std).to_dict()
    view = read_assessment(stored)
    assert stored["grade"] is not None and view.grade == stored["grade"]
    assert view.labels == stored["grades"] and view.index == stored["grades"].index(stored["grade"])
    flop = next(m for m in view.metrics if m.name == "flop_per_joule")
    assert flop.grade == stored["metrics"]["flop_per_joule"]["grade"] and flop.value == pytest.approx(90.0)
    assert view.passed is True and view.limits and view.limits[0].status == "pass"

    short = make_record(seconds=5)
    short.work["flop"] = short.energy_j * 90e9
    stored = scoring.score(short, std).to_dict()
    view = read_assessment(stored)
    assert stored["grade"] is None and view.grade is None and view.not_rated == stored["not_rated"]
    # 90 GFLOP/J falls in the band of the training standard's thresholds like the rated run
    assert view.indicative == read_assessment(scoring.score(rated, std).to_dict()).grade
    assert "not rated" in text.summary(_with(short, stored)) and "indicative" in render_html(_with(short, stored), {})


def _with(rec, assessment):
    rec.attachments["assessment"] = assessment
    return rec
