"""Counter plausibility and bridging (ecometer/energy/counters.py): resets, wraps, jumps, stuck counters."""

from __future__ import annotations

import pytest

from ecometer.energy.counters import BACKWARDS, JUMP, MAX_DEVICE_POWER_W, BridgedCounter, implausible


def test_implausible_steps() -> None:
    assert implausible(100.0, 1.0) is None
    assert implausible(0.0, 1.0) is None  # an idle interval is fine
    assert implausible(-0.001, 1.0) == BACKWARDS
    assert implausible(MAX_DEVICE_POWER_W * 2.0, 2.0) is None  # exactly the bound
    assert implausible(MAX_DEVICE_POWER_W * 2.0 + 1, 2.0) == JUMP
    # a counter advancing in steps may land a whole step in a short interval: judged over 1 s at least
    assert implausible(500.0, 0.01, max_power_w=1000.0) is None
    assert implausible(1500.0, 0.01, max_power_w=1000.0) == JUMP
    assert implausible(1500.0, 0.01, max_power_w=1000.0, min_window_s=2.0) is None


def test_good_readings_accumulate_exactly() -> None:
    c = BridgedCounter(5000.0, t=10.0, integrated_j=0.0)
    for i, reading in enumerate((5100.0, 5250.0, 5250.0, 5400.5), start=1):
        step = c.update(reading, t=10.0 + i, integrated_j=999.0 * i)  # the integral is ignored when plausible
        assert not step.bridged and step.describe() == ""
    assert c.total_j == pytest.approx(400.5)
    assert c.bridges == 0 and c.bridged_j == 0.0


def test_reset_is_bridged_with_integrated_energy_and_rebased() -> None:
    c = BridgedCounter(9000.0, t=0.0, integrated_j=0.0)
    c.update(9100.0, t=1.0, integrated_j=98.0)  # +100 J from the counter
    step = c.update(40.0, t=2.0, integrated_j=195.0)  # driver reload: the counter restarted near 0
    assert step.anomaly == BACKWARDS and step.bridged
    assert step.raw_delta_j == pytest.approx(-9060.0)
    assert step.delta_j == pytest.approx(97.0)  # the integrated energy of that interval
    assert "went backwards by 9060.000 J" in step.describe()
    c.update(140.0, t=3.0, integrated_j=290.0)  # re-based: the next step is the counter's again
    assert c.total_j == pytest.approx(100.0 + 97.0 + 100.0)
    assert (c.bridges, c.bridged_j) == (1, pytest.approx(97.0))


def test_unhandled_wrap_is_a_backwards_step_and_bridged() -> None:
    modulus = 2**32 / 1e6  # a 32-bit microjoule counter (~4295 J) nobody unwrapped
    c = BridgedCounter(modulus - 30.0, t=0.0, integrated_j=0.0)
    step = c.update(20.0, t=1.0, integrated_j=49.0)  # really +50 J across the wrap
    assert step.anomaly == BACKWARDS
    assert c.total_j == pytest.approx(49.0)  # the integrated energy, not -4245 J nor 0


def test_implausible_jump_is_rejected() -> None:
    c = BridgedCounter(0.0, t=0.0, integrated_j=0.0, max_power_w=1000.0)
    step = c.update(1e9, t=1.0, integrated_j=300.0)
    assert step.anomaly == JUMP and step.delta_j == pytest.approx(300.0)
    assert "jumped by 1e+09 J in 1 s (more than 1000 W" in step.describe()
    c.update(1e9 + 310.0, t=2.0, integrated_j=600.0)  # re-based on the bad reading
    assert c.total_j == pytest.approx(610.0)


def test_bridge_is_never_negative() -> None:
    c = BridgedCounter(100.0, t=0.0, integrated_j=50.0)
    step = c.update(10.0, t=1.0, integrated_j=40.0)  # integral went down (another origin): clamp
    assert step.delta_j == 0.0 and c.total_j == 0.0


def test_provisional_does_not_double_count() -> None:
    c = BridgedCounter(0.0, t=0.0, integrated_j=0.0)
    c.update(100.0, t=1.0, integrated_j=100.0)
    assert c.provisional(integrated_j=195.0) == pytest.approx(195.0)  # counter unreadable at t=2
    assert c.provisional(integrated_j=290.0) == pytest.approx(290.0)  # still: state unchanged
    c.update(300.0, t=3.0, integrated_j=290.0)  # readable again: the counter covers t=1..3 exactly
    assert c.total_j == pytest.approx(300.0)


def test_stuck_counter() -> None:
    c = BridgedCounter(123.0, t=0.0, integrated_j=0.0)
    c.update(123.0, t=1.0, integrated_j=60.0)
    assert not c.stuck(1.0, 60.0, min_s=2.0, min_integrated_j=10.0)  # too early to tell
    c.update(123.0, t=3.0, integrated_j=180.0)
    assert not c.stuck(3.0, 5.0, min_s=2.0, min_integrated_j=10.0)  # an idle GPU: not enough energy seen
    assert c.stuck(3.0, 180.0, min_s=2.0, min_integrated_j=10.0)
    c.update(124.0, t=4.0, integrated_j=240.0)
    assert not c.stuck(4.0, 240.0, min_s=2.0, min_integrated_j=10.0)  # it moved: a slow counter, not stuck
