"""Charts draw a bounded number of artists, however many spans or components a record holds."""

from __future__ import annotations

import pytest
from test_report_helpers import make_record

from ecometer.record.model import Span
from ecometer.report import charts


def _with_spans(n: int, seconds: int = 20):
    rec = make_record(seconds=seconds)
    step = seconds / n
    rec.timeline.spans = [Span("step" if i % 2 else "data", i * step, (i + 0.7) * step, 0) for i in range(n)]
    rec.timeline.spans += [Span("fwd", i * step, (i + 0.3) * step, 1) for i in range(0, n, 2)]
    return rec


def _artists(monkeypatch, rec) -> int:
    captured = []
    real = charts.style.save

    def keep(fig, path):
        captured.append(fig)
        return real(fig, path)

    monkeypatch.setattr(charts.style, "save", keep)
    png = charts.power_timeline(rec)
    assert png.startswith(b"\x89PNG")
    (fig,) = captured
    return sum(len(ax.patches) + len(ax.collections) + len(ax.lines) for ax in fig.axes)


@pytest.mark.parametrize("n", [2_000, 40_000])
def test_many_spans_draw_as_few_artists_as_a_few_spans(monkeypatch, n):
    few = _artists(monkeypatch, _with_spans(6))
    many = _artists(monkeypatch, _with_spans(n))
    assert many <= few + 2  # one artist per phase name and depth, not four per span
    assert many < 30


def test_span_bars_merge_what_a_pixel_cannot_separate_and_keep_the_rest():
    spans = [Span("a", float(i), i + 0.5, 0) for i in range(10)] + [Span("a", 20.0, 20.000001, 0)]
    spans += [Span("a", 20.0000011, 20.000002, 0), Span("b", 1.0, 2.0, 1)]
    bars = charts.span_bars(spans, lambda x: x, 100.0)
    assert bars[("a", 0)][:10] == [(float(i), 0.5) for i in range(10)]  # distinct at this scale: kept
    assert bars[("a", 0)][10] == pytest.approx((20.0, 0.000002))  # closer than 1/4000 of the axis: one bar
    assert len(bars[("a", 0)]) == 11 and bars[("b", 1)] == [(1.0, 1.0)]
    dense = [Span("s", i * 1e-4, i * 1e-4 + 5e-5, 0) for i in range(100_000)]
    assert len(charts.span_bars(dense, lambda x: x, 10.0)[("s", 0)]) <= 4001  # bounded by the chart


def _with_components(n: int):
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component

    rec = make_record(seconds=5)
    power = rec.timeline.power_w["cpu"]
    for i in range(n):
        e = 10.0 + i
        rec.components[f"acc{i}"] = Component(f"acc{i}", e, "modelled", Estimate.relative(e, 0.1, 0.1), {f"acc{i}:0": e})
        rec.timeline.power_w[f"acc{i}:0"] = [p * (1 + i / n) for p in power]
    return rec


def test_many_components_draw_the_largest_and_say_how_many_are_left_out(monkeypatch):
    few = _artists(monkeypatch, _with_components(0))
    many = _artists(monkeypatch, _with_components(300))
    assert many <= few + charts.MAX_COMPONENTS_DRAWN  # the largest few stacked, the rest as one
    rec = _with_components(300)
    shown, hidden = charts.drawn_components(rec)
    assert len(shown) == charts.MAX_COMPONENTS_DRAWN and hidden == len(rec.components) - len(shown)
    assert "acc299" in shown and "acc0" not in shown  # the largest are drawn
    captured = []
    monkeypatch.setattr(charts.style, "save", lambda fig, path: captured.append(fig) or b"")
    charts.breakdown(rec)
    bars = [p for ax in captured[0].axes for p in ax.patches]
    assert len(bars) <= charts.MAX_COMPONENTS_DRAWN + 8  # components, IT total, facility, water, carbon
    assert f"{hidden} smaller components not drawn" in captured[0]._supxlabel.get_text()
