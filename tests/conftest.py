"""Shared test fixtures: a fake clock and helpers to drive a meter over scripted (replay) sensors.

Tests import these by name (``from conftest import FakeClock``); ``tests/`` is on ``sys.path``
under pytest, and for the scripts in this folder run as ``python tests/NAME.py``.
"""

from __future__ import annotations

import os
import select
from collections.abc import Sequence
from typing import Any

import pytest

from ecometer.measuring.meter import Meter

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


def read_pty(master: int, timeout_s: float = 60.0) -> str:
    """Everything written to the pseudo-terminal ``master`` until its other end closes (or
    ``timeout_s`` passes with nothing new); closes ``master``."""
    chunks: list[bytes] = []
    try:
        while select.select([master], [], [], timeout_s)[0]:
            try:
                data = os.read(master, 4096)
            except OSError:  # the other end closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def tiny_gpt2(
    n_samples: int, *, seq_len: int = 16, vocab: int = 100, n_embd: int = 32, n_positions: int = 32
) -> tuple[Any, Any]:
    """A one-layer GPT-2 built from a config (nothing downloaded) and a dataset of
    ``n_samples`` random token sequences, for real Hugging Face Trainer runs on the CPU."""
    import torch
    import transformers

    config = transformers.GPT2Config(n_layer=1, n_embd=n_embd, n_head=2, vocab_size=vocab, n_positions=n_positions)

    class Data(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return n_samples

        def __getitem__(self, i: int) -> dict[str, Any]:
            ids = torch.randint(0, vocab, (seq_len,))
            return {"input_ids": ids, "labels": ids.clone()}

    return transformers.GPT2LMHeadModel(config), Data()
