"""Shared test fixtures: a fake clock and helpers to drive a meter over scripted (replay) sensors.

Tests import these by name (``from conftest import FakeClock``); ``tests/`` is on ``sys.path``
under pytest, and for the scripts in this folder run as ``python tests/NAME.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ecometer.meter import Meter

WALL0 = 1_700_000_000.0  # the fake wall clock reads the monotonic clock + WALL0 (s)


class FakeClock:
    """A monotonic clock (s) that moves only when told, with a wall clock ``wall0`` ahead of it.

    Call it (or :meth:`mono`) for the monotonic time, :meth:`wall` for the wall time;
    :meth:`advance` or assigning ``t`` moves both.
    """

    start = 1000.0  #: where a clock made without ``t`` starts (s); a subclass may move it

    def __init__(self, t: float | None = None, wall0: float = WALL0) -> None:
        self.t = self.start if t is None else t
        self.wall0 = wall0

    def __call__(self) -> float:
        return self.t

    def mono(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.t + self.wall0

    def advance(self, dt: float) -> None:
        self.t += dt


def manual_meter(clock: FakeClock, sensors: Sequence[Any], name: str = "test", **kw: Any) -> Meter:
    """A meter on ``clock`` over ``sensors`` that samples only when the test calls ``sample_now``."""
    kw.setdefault("out", None)
    return Meter(name, sensors=list(sensors), clock=clock, background=False, **kw)


def run_steps(meter: Meter, clock: FakeClock, seconds: float, step: float = 0.1) -> None:
    """Advance ``clock`` by ``step`` and sample, as many whole steps as fit in ``seconds``."""
    for _ in range(int(seconds / step + 1e-9)):
        clock.advance(step)
        meter.sample_now()


@pytest.fixture
def fake_clock() -> FakeClock:
    """A fresh :class:`FakeClock` at t = 1000 s."""
    return FakeClock()
