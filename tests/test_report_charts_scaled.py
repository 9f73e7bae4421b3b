"""Charts that show every bar, in the report's units, and promise only what they draw (issue 26)."""

from __future__ import annotations

import pytest
from test_report_helpers import make_record

from ecometer.report import charts, style
from ecometer.report import run_comparison as compare


@pytest.fixture
def drawn(monkeypatch):
    """The figures the charts save, kept for inspection."""
    figures = []
    real = style.save

    def keep(fig, path):
        figures.append(fig)
        return real(fig, path)

    monkeypatch.setattr(style, "save", keep)
    return figures


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()] + [t.get_text() for t in ax.texts]
    return out


def test_a_one_sided_whisker_does_not_hide_the_other_bars(drawn):
    rec = make_record()
    water = rec.attachments["footprint"]["water"]
    kwh = rec.energy_j / 3.6e6
    water["withdrawal_l"] = {"central": kwh * 4.3, "low": kwh * 4.3, "high": kwh * 80}  # a ±840 %-like whisker
    charts.breakdown(rec)
    ax = next(a for a in drawn[0].axes if a.get_title() == "Water")
    top = ax.get_ylim()[1]
    heights = [p.get_height() for p in ax.patches]
    assert min(heights) > 0.05 * top, (heights, top)  # every bar visible
    assert any(t.startswith("↑ ") for t in texts(drawn[0]))  # the cut whisker's end is written


def test_the_chart_uses_the_tables_unit(drawn):
    rec = make_record(seconds=2)  # small figures: the table writes mL or µL, the chart must agree
    charts.breakdown(rec)
    from ecometer.report.figures import footprint_figure
    from ecometer.report.text import value_text

    onsite = footprint_figure(rec, "water_total_l")
    unit = value_text(onsite).split(" ", 1)[1]
    ax = next(a for a in drawn[0].axes if a.get_title() == "Water")
    assert f"({unit})" in ax.get_ylabel()


def test_the_comparison_promises_only_what_it_draws(drawn):
    runs = [make_record("a", seconds=10), make_record("b", seconds=20)]  # ungraded; one dominates the other
    compare.chart(compare.build(runs, "it_energy_j"))
    words = " ".join(texts(drawn[0]))
    assert "badge" not in words and "Pareto" not in words


def test_the_not_rated_label_draws_no_text_over_text_and_cuts_no_reason(drawn):
    from test_report_helpers import letter_assessment

    from ecometer.report import label
    from ecometer.report.grades import grade_view

    a = letter_assessment("C")
    reasons = [
        "duration 16.9 s is below the required 60 s; the standard asks for at least one minute of steady work",
        "IT energy uncertainty -35/+40 % exceeds the allowed ±20 %: measure the CPU with RAPL to narrow it",
    ]
    a.update(grade=None, not_rated=reasons)
    a["metrics"][0].update(name="flop_per_joule", grade=None, reason="the record counted no work in flop at all")
    rec = make_record("a-long-run-name-for-a-fine-tuning-job", assessment=a)
    label.grade_label(grade_view(rec), title=rec.name)
    fig = drawn[-1]
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for ax in fig.axes for t in ax.texts if t.get_text().strip()]
    for i, (a_text, a_box) in enumerate(boxes):
        for b_text, b_box in boxes[i + 1 :]:
            assert not a_box.overlaps(b_box), (a_text, b_text)
    shown = " ".join(t for t, _ in boxes)
    assert all(word in shown for r in reasons for word in r.split()[-3:])  # each reason whole, to its last words
