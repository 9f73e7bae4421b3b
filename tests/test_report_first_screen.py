"""What a reader of the HTML report sees first, and how figures are written (issue 26)."""

from __future__ import annotations

import re

from test_report_helpers import letter_assessment, make_record

from ecometer.record.model import SensorInfo
from ecometer.report.grades import metric_title
from ecometer.report.html import for_people, render_html
from ecometer.report.text import summary


def not_rated() -> dict:
    a = letter_assessment("C")
    a.update(grade=None, not_rated=["duration 16.9 s is below the required 60 s", "IT energy uncertainty too wide"])
    a["metrics"][0].update(name="flop_per_joule", grade=None, indicative="G")
    return a


def visible(page: str) -> str:
    """The page's text as a reader sees it (tags and attribute values left out)."""
    return re.sub(r"<[^>]*>", " ", re.sub(r"<(style|title)>.*?</\1>", "", page, flags=re.S))


def test_the_answer_comes_first_and_a_missing_grade_says_why_in_one_line():
    page = render_html(make_record(assessment=not_rated()), images={"grade": b"\x89PNG"})
    answer = page.index("class='answer'")
    assert answer < page.index('alt="grade label"')  # the figures before the (unrated) label
    line = re.search(r"<p><b>Grade:</b>(.*?)</p>", page).group(1)
    assert "not rated" in line and "duration 16.9 s is below the required 60 s" in line and "1 more" in line
    assert "(see below)" not in page
    assert "flop_per_joule" not in visible(page) and "FLOP per joule" in page


def test_an_asymmetric_interval_is_written_low_and_high():
    rec = make_record()
    water = rec.attachments["footprint"]["water"]
    water["withdrawal_l"] = {"central": 1.51e-4, "low": 1.51e-4, "high": 2.7e-3}
    page = render_html(rec, images={})
    assert "(-0/+1,700 %)" in page and "±840" not in page and "±" not in re.sub(r"±[\d.,]+ %", "", page)


def test_numbers_for_people_and_each_note_once():
    rec = make_record()
    rec.host["memory_bytes"] = 25276182528
    rec.host["pid"] = 12345
    note = "CPU power modelled, not measured: 2 threads x 2.45 W per thread"
    rec.components["cpu"].notes = [note]
    rec.sensors = [SensorInfo("cpu-model", "cpu", "modelled", notes=[note, "a sensor note of its own"])]
    page = render_html(rec, images={})
    assert "25276182528" not in page and "23.5 GiB" in page and ">12345<" in page
    assert page.count(note) == 1 and "a sensor note of its own" in page
    assert for_people("energy_j", 1234.5) == "1.23 kJ" and for_people("logical_cpus", 128) == "128"


def test_nested_phases_are_shown_nested_and_their_shares_explained():
    page = render_html(make_record(), images={})
    table = page[page.index("<th>Phase</th>") :]
    names = re.findall(r"<tr><td[^>]*>([^<]*)", table)
    assert names[:3] == ["train", "forward ", "load"] and "(nested)" in table  # under the phase it ran in
    assert re.search(r"shares add up only over the top-level phases \(9\d\.\d % of the IT energy", table)


def test_metric_titles_and_one_way_to_write_an_uncertainty():
    assert metric_title("flop_per_joule") == "FLOP per joule"
    assert metric_title("water_per_pflop") == "Water per PFLOP"
    rec = make_record()
    lines = summary(rec).splitlines()
    assert any("±5 %" in line for line in lines)  # symmetric: ±
    assert not any(re.search(r"±\d+\.\d %", line) for line in lines)
