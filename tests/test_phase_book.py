"""Phases settle by curve segment, in order of their end: the same joules as one boundary at a
time, and no rescan of what still waits (the sampler's work per phase is bounded)."""

from __future__ import annotations

import random

import pytest
from conftest import FakeClock, manual_meter

from ecometer.energy.curves import DeviceTrack, PhaseBook
from ecometer.sensors.replay import ReplaySensor


def _track(points: list[tuple[float, float]], channel: str = "gpu:0") -> DeviceTrack:
    track = DeviceTrack(channel, 0.0, has_counter=False)
    track.add_points(points)
    return track


def test_energy_sum_is_the_sum_of_energy_at():
    rng = random.Random(4)
    track = _track([(0.1 * i, 100 + 50 * rng.random()) for i in range(1, 200)])
    times = sorted(rng.uniform(-1.0, 19.9) for _ in range(5000)) + [track.curve_t[-1]]
    want = sum(track.energy_at(t) for t in times)
    assert track.energy_sum(times) == pytest.approx(want, rel=1e-12)
    assert track.energy_sum([]) == 0.0
    assert track.energy_sum([track.curve_t[-1] + 1.0]) is None  # not final there yet


def _book_totals(occurrences, tracks, ticks):
    """Feed ``occurrences`` ``(name, start, end)`` (nested and out of order) to a PhaseBook,
    resolving at each tick time as the tracks become final up to it."""
    book = PhaseBook()
    for name, start, end in occurrences:
        occ = book.enter(name, start)
        book.exit(occ, end)
    for _ in ticks:
        book.resolve(tracks)
    return {n: t.energy for n, t in book.totals.items()}, book


def test_book_settles_the_same_joules_as_one_boundary_at_a_time():
    rng = random.Random(7)
    points = [(0.05 * i, 80 + 40 * rng.random()) for i in range(1, 400)]
    tracks = [_track(points, "gpu:0"), _track([(t, w / 4) for t, w in points], "cpu")]
    occs = []
    for _ in range(3000):
        a = rng.uniform(0.0, 19.0)
        occs.append((rng.choice(["step", "eval", "load"]), a, a + rng.uniform(0.0, 0.8)))
    rng.shuffle(occs)  # closed on several threads: arrivals out of order
    want = {
        (name, track.channel): sum(track.energy_at(e) - track.energy_at(s) for n, s, e in occs if n == name)
        for name in ("step", "eval", "load")
        for track in tracks
    }  # one boundary at a time, before the book prunes the curves
    got, book = _book_totals(occs, tracks, range(3))
    assert not book.waiting
    for (name, channel), joules in want.items():
        assert got[name][channel] == pytest.approx(joules, rel=1e-9)


def test_each_tick_looks_only_at_phases_the_curves_cover(monkeypatch):
    # a counter sensor: curves are final only up to the last counter reading (every 2 s), so
    # per-step phases wait; the ticks in between must not look at them again
    clock = FakeClock()
    m = manual_meter(clock, [ReplaySensor([(0, 100)], method="counter", clock=clock)], counter_interval_s=2.0)
    m.start()
    track = next(iter(m.run.tracks.values()))
    calls = []
    real = DeviceTrack.energy_sum
    monkeypatch.setattr(DeviceTrack, "energy_sum", lambda self, times: calls.append(len(times)) or real(self, times))
    longest = 0
    for _ in range(100):  # 10 s of 100 phases per 0.1 s tick
        for _ in range(100):
            with m.phase("step"):
                clock.advance(0.0005)
            clock.advance(0.0005)
        m.sample_now()
        longest = max(longest, len(track.curve_t))
    rec = m.stop()
    assert rec.phases["step"].count == 10_000
    assert sum(calls) <= 2 * 10_000 + 100  # each phase's two boundaries summed once, not once per tick
    assert len(calls) <= 2 * 20  # one batch per counter reading (and the last), not one call per phase
    assert rec.phases["step"].energy_j == pytest.approx(0.5 * rec.energy_j, rel=0.02)
    assert longest < 50  # pruned as phases settle
