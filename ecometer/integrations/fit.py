"""What the training-framework callbacks share: one meter per fit, phases, work from batches.

A fit is metered by :func:`ecometer.measure` or, when the job runs on several
processes, by :func:`~ecometer.measure_distributed` on every rank
(``distributed="auto"``). Each rank then counts the work it did itself and the merge adds
them up; with ``distributed=False`` only the main process meters, and its counts are
multiplied by the world size (an estimate, said in the record).

Counting never synchronises the accelerator: samples are a batch's first dimension and
tokens the element count of ``input_ids`` (padding included), both read from tensor shapes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from ecometer.errors import InputError
from ecometer.measuring.paths import safe_name
from ecometer.record.model import RunRecord, checkpoint_path
from ecometer.work.estimates import note_estimate
from ecometer.work.flops import StepFlops

log = logging.getLogger("ecometer.integrations")

WORK_UNITS = ("sample", "token")
TOKEN_COUNTING = "tokens: elements of input_ids in training batches, padding included"


def batch_size_and_tokens(batch: Any) -> tuple[int | None, int | None]:
    """(samples, tokens) of a batch from tensor shapes only: no device synchronisation.

    ``batch`` may be a tensor, a mapping (``input_ids`` gives tokens), or a list/tuple whose
    first tensor gives the sample count. Unknown structures give ``(None, None)``.
    """
    if isinstance(batch, Mapping):
        ids = batch.get("input_ids")
        if _is_tensor(ids):
            return _rows(ids), _numel(ids)
        for value in batch.values():
            if _is_tensor(value):
                return _rows(value), None
        return None, None
    if _is_tensor(batch):
        return _rows(batch), None
    if isinstance(batch, (list, tuple)):
        for value in batch:
            samples, tokens = batch_size_and_tokens(value)
            if samples is not None:
                return samples, tokens
    return None, None


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _rows(t: Any) -> int | None:
    shape = tuple(t.shape)
    return int(shape[0]) if shape else 1


def _numel(t: Any) -> int:
    n = 1
    for d in tuple(t.shape):
        n *= int(d)
    return n


def meter_meta(meter: Any) -> dict[str, Any]:
    """The meta dict that goes into the record: the running run's (a meter copies its own at start)."""
    inner = getattr(meter, "meter", None) or meter
    run = getattr(inner, "run", None)
    meta = getattr(run, "meta", None)
    return meta if isinstance(meta, dict) else inner.meta


def flop_extras(flops: StepFlops) -> dict[str, Any]:
    """What a FLOP counter adds to its method in the record's meta: per-unit FLOPs, problems."""
    meta = flops.meta()
    return {k: v for k, v in meta.items() if k in ("per_unit", "problems")}


def unused_record_path(folder: str | os.PathLike[str], stem: str) -> str:
    """``<folder>/<stem>.json`` for the first fit, then ``<stem>.2.json``, ``<stem>.3.json``...:
    a path that neither a record nor a checkpoint holds, so a later fit never overwrites an earlier one."""
    n = 1
    while True:
        path = os.path.join(folder, f"{stem}.json" if n == 1 else f"{stem}.{n}.json")
        if not os.path.lexists(path) and not os.path.lexists(checkpoint_path(path)):
            return path
        n += 1


class FitMeter:
    """One metered fit: start, phases entered and left across callback events, work, stop."""

    def __init__(
        self,
        name: str,
        *,
        site: Any = None,
        standard: Any = None,
        work_unit: str = "sample",
        out: str | os.PathLike[str] | None = "auto",
        distributed: bool | str = "auto",
        meter_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if work_unit not in WORK_UNITS:
            raise InputError(f"work_unit {work_unit!r}: expected one of {', '.join(WORK_UNITS)}")
        if distributed not in ("auto", True, False):
            raise InputError(f"distributed {distributed!r}: expected 'auto', True or False")
        self.name = name
        self.site = site
        self.standard = standard
        self.work_unit = work_unit
        self.out = out
        self.distributed = distributed
        self.meter_kwargs = dict(meter_kwargs or {})
        self.meter: Any = None
        self.scale = 1
        self.record: RunRecord | None = None
        self._open: dict[str, AbstractContextManager[None]] = {}

    @property
    def active(self) -> bool:
        return self.meter is not None and self.meter.running

    def start(self, *, out_dir: str | None, world_size: int, is_main: bool) -> None:
        """Start metering on this process (or not, for a non-main process without distribution)."""
        world_size = max(int(world_size or 1), 1)
        use_dist = self.distributed is True or (self.distributed == "auto" and world_size > 1)
        out = self.out
        if out == "auto" and out_dir:
            out = unused_record_path(out_dir, f"ecometer-{safe_name(self.name)}")
        meta = dict(self.meter_kwargs.get("meta") or {})
        meta.setdefault("work_counting", TOKEN_COUNTING)
        kwargs = {k: v for k, v in self.meter_kwargs.items() if k != "meta"}
        kwargs.update(site=self.site, standard=self.standard, work_unit=self.work_unit, meta=meta)
        self.record = None
        if use_dist:
            from ecometer.api import measure_distributed

            self.meter = measure_distributed(self.name, out=out, **kwargs)
            self.scale = 1
        elif is_main:
            self.scale = world_size
            if world_size > 1:
                meta["work_scaled_by_world_size"] = world_size
            from ecometer.api import measure

            self.meter = measure(self.name, out=out, **kwargs)
            if world_size > 1:
                log.warning(
                    "%s: metering only the main process of %d (distributed=False): its GPUs and host only, and "
                    "work counted on it times %d",
                    self.name,
                    world_size,
                    world_size,
                )
        else:
            self.meter = None
            return
        inner = getattr(self.meter, "meter", None) or self.meter
        inner.claim_out = out != self.out  # a path chosen here: two fits at once never share it
        self.meter.start()

    def enter(self, phase: str, exact: bool = False) -> None:
        if not self.active or phase in self._open:
            return
        cm = self.meter.phase(phase, exact=exact)
        cm.__enter__()
        self._open[phase] = cm

    def exit(self, phase: str) -> None:
        cm = self._open.pop(phase, None)
        if cm is not None:
            cm.__exit__(None, None, None)

    def add_work(self, samples: int | None, tokens: int | None, flop: float = 0.0) -> None:
        if not self.active:
            return
        if samples:
            self.meter.add_work(samples * self.scale, "sample")
        if tokens:
            self.meter.add_work(tokens * self.scale, "token")
        if flop:
            self.meter.add_work(flop * self.scale, "flop")

    def end_step(self, flops: StepFlops | None, samples: int | None, tokens: int | None) -> None:
        """Close a training step: its FLOPs (when counted; the first measured step is noted in
        the record), its samples and tokens as work, and the ``step`` phase."""
        flop = 0.0
        if flops is not None:
            first = flops.measuring or not flops.per_unit
            flop = flops.end(samples, tokens, "train")
            if first:
                self.note_flops(flops)
        self.add_work(samples, tokens, flop)
        self.exit("step")

    def note_flops(self, flops: StepFlops) -> None:
        """Say in the record how its FLOPs were obtained (method, bounds, per-unit FLOPs, problems)."""
        if self.active:
            note_estimate(meter_meta(self.meter), "flop", flops.work_method, **flop_extras(flops))

    def stop(self, status: str = "ok", error: str | None = None) -> RunRecord | None:
        for phase in list(reversed(list(self._open))):
            self.exit(phase)
        if self.meter is None or not self.meter.running:
            return self.record
        self.record = self.meter.stop(status, error)
        return self.record

    @property
    def path(self) -> str | None:
        p = getattr(self.meter, "path", None) if self.meter is not None else None
        return str(p) if p is not None else None

    def summary(self) -> dict[str, Any]:
        """Flat figures for a framework's logs: energy, power, work, per-work energy, grade."""
        rec = self.record
        if rec is None:
            return {}
        out: dict[str, Any] = {
            "ecometer_energy_j": rec.energy_j,
            "ecometer_duration_s": rec.duration_s,
            "ecometer_average_power_w": rec.average_power_w,
        }
        for unit, amount in rec.work.items():
            out[f"ecometer_{unit}s"] = amount
            if amount:
                out[f"ecometer_energy_per_{unit}_j"] = rec.energy_j / amount
        fp = rec.footprint
        if fp is not None:
            out["ecometer_water_l"] = float(fp.water.total_l)
            if fp.carbon_g is not None:
                out["ecometer_carbon_g"] = float(fp.carbon_g)
        assessment = rec.attachments.get("assessment")
        if assessment:
            out["ecometer_grade"] = assessment.get("grade")
        if rec.distributed:
            out["ecometer_missing_ranks"] = len(rec.distributed.get("missing_ranks") or [])
        if self.path:
            out["ecometer_record"] = self.path
        return out


class FitResults:
    """The results a callback exposes, read from its :class:`FitMeter` (``self.fit``)."""

    fit: FitMeter

    @property
    def record(self) -> Any:
        """The run's record after the fit (the job's record on rank 0 of a distributed job)."""
        return self.fit.record

    @property
    def path(self) -> str | None:
        return self.fit.path

    @property
    def summary(self) -> dict[str, Any]:
        return self.fit.summary()

    @property
    def meter(self) -> Any:
        """The running meter (for :func:`ecometer.integrations.prometheus.serve`)."""
        return self.fit.meter
