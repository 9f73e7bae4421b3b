"""How a :class:`~ecometer.measuring.meter.Meter` measures: one options object, checked once.

``Meter("train", interval_s=0.05)`` and ``Meter("train", MeterOptions(interval_s=0.05))`` are
the same meter: keyword settings are the fields of :class:`MeterOptions`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ecometer.checks.numbers import Bounds, check_number
from ecometer.errors import InputError
from ecometer.record.model import RunRecord
from ecometer.sensors.base import Sensor

COUNTER_INTERVAL = Bounds(above=0, high=1e9, unit="s")  #: the range of ``counter_interval_s`` (1e9: never)
CHECKPOINT_INTERVAL = Bounds(above=0, high=1e9, unit="s")  #: the range of ``checkpoint_interval_s`` (1e9: never)
TIMELINE_BUCKETS = Bounds(low=4, high=10**7, integer=True)  #: the range of ``timeline_buckets``
INTERVAL = Bounds(low=0.001, high=60, unit="s")  #: the range of ``interval_s``


@dataclass(frozen=True)
class MeterOptions:
    """Settings of a meter (units in each field's name or note).

    Attributes:
        gpus: ``"auto"`` (every visible NVIDIA GPU), a list of CUDA indices/UUIDs, or None.
        interval_s: sampler period in seconds (power points; counters every ``counter_interval_s``).
        scope: ``"machine"`` (whole devices) or ``"process"`` (this process tree's share,
            an attribution, not a measurement).
        work_unit: the default unit of ``add_work`` (``"sample"``, ``"token"``...).
        out: record path; ``"auto"`` writes ``$ECOMETER_DIR`` (default ``ecometer-runs``)
            ``/<name>-<UTC time>-<pid>-<random>.json`` (created exclusively); None writes nothing. A checkpoint
            ``<out>.partial`` is kept up to date while running.
        sync: callable that waits for queued accelerator work; default synchronises torch,
            cupy or jax if the process already imported them.
        sensors: sensors to use instead of auto-detection (e.g. a ReplaySensor).
        meta: free metadata stored in the record (task, model size, hardware...).
        counter_interval_s: seconds between reads of energy counters.
        checkpoint_interval_s: seconds between checkpoints of the running record.
        timeline_buckets: most points kept in the record's power timeline.
        clock: monotonic clock in seconds (tests inject a fake one).
        background: run the sampler thread (False: call ``sample_now`` yourself).
        finish: called with each finished record before it is saved (the face attaches a
            footprint and an assessment this way); returns problems, kept as warnings.
        job: the distributed job this meter is one rank of (see :mod:`ecometer.distributed`).
    """

    gpus: str | list[int | str] | None = "auto"
    interval_s: float = 0.1
    scope: str = "machine"
    work_unit: str | None = None
    out: str | os.PathLike[str] | None = "auto"
    sync: Callable[[], Any] | None = None
    sensors: list[Sensor] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    counter_interval_s: float = 2.0
    checkpoint_interval_s: float = 5.0
    timeline_buckets: int = 2048
    clock: Callable[[], float] = time.monotonic
    background: bool = True
    finish: Callable[[RunRecord], Iterable[str]] | None = None
    job: Any = None

    def __post_init__(self) -> None:
        if self.scope not in ("machine", "process"):
            raise InputError(f"scope {self.scope!r}: expected 'machine' or 'process'")
        checked = {
            "interval_s": check_number(self.interval_s, "interval_s", INTERVAL),
            "counter_interval_s": check_number(self.counter_interval_s, "counter_interval_s", COUNTER_INTERVAL),
            "checkpoint_interval_s": check_number(self.checkpoint_interval_s, "checkpoint_interval_s", CHECKPOINT_INTERVAL),
            "timeline_buckets": int(check_number(self.timeline_buckets, "timeline_buckets", TIMELINE_BUCKETS)),
        }
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "meta", dict(self.meta or {}))

    @classmethod
    def build(cls, options: MeterOptions | None, settings: dict[str, Any]) -> MeterOptions:
        """``options`` (or the defaults) with keyword ``settings`` applied; an unknown name is a TypeError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - known)
        if unknown:
            raise TypeError(f"Meter got unknown settings {unknown}; the settings are {sorted(known)}")
        base = options if options is not None else cls()
        return replace(base, **settings) if settings else base
