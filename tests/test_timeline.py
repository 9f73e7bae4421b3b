"""The bounded timeline keeps exact energy while coarsening."""

from __future__ import annotations

import pytest

from ecometer.energy.timeline import BucketTimeline


def test_coarsening_preserves_energy_and_bounds_size():
    tl = BucketTimeline(0.0, bucket_s=0.1, max_buckets=64)
    total = 0.0
    t = 0.0
    for i in range(10_000):
        e = 1.0 + (i % 7)
        tl.add("gpu:0", t, t + 0.1, e)
        total += e
        t += 0.1
    assert tl.energy_j("gpu:0") == pytest.approx(total)
    rec = tl.to_record(until=t)
    assert len(rec.t_s) <= 64
    assert rec.bucket_s >= 1000 / 64
    energy = sum(p * rec.bucket_s for p in rec.power_w["gpu:0"][:-1])
    last_width = t - rec.bucket_s * (len(rec.t_s) - 1)
    energy += rec.power_w["gpu:0"][-1] * last_width
    assert energy == pytest.approx(total, rel=1e-9)


def test_energy_spread_over_buckets():
    tl = BucketTimeline(10.0, bucket_s=1.0, max_buckets=16)
    tl.add("cpu", 10.5, 12.5, 20.0)  # 10 W over 2 s
    rec = tl.to_record(until=13.0)
    assert rec.power_w["cpu"][:3] == pytest.approx([5.0, 10.0, 5.0])
