"""The power timeline draws phases in a bounded number of artists, however many spans a record holds."""

from __future__ import annotations

import pytest
from test_report_helpers import make_record

from ecometer.record import Span
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
