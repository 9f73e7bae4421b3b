"""The entry points a job calls: :func:`measure` and :func:`measure_distributed`.

Both build a :class:`~ecometer.measuring.meter.Meter` (which measures) and, when given ``site=`` or
``standard=``, hand it a finish hook (:class:`Judgement`) that applies a footprint and an
assessment to each finished record before it is saved: measuring never judges, the face
does. The training callbacks and ``ecometer run`` use the same two functions.
"""

from __future__ import annotations

import os
from typing import Any

from ecometer.measuring.meter import Meter
from ecometer.record.model import RunRecord


def resolve_site(site: Any) -> Any:
    """A site object from a preset name (validated now), or the object as given."""
    if site is None or not isinstance(site, str):
        return site

    from ecometer.impact.detect import named_site

    return named_site(site)


def resolve_standard(standard: Any) -> Any:
    """A standard object from a built-in name or a file (validated now), or as given."""
    if standard is None or not isinstance(standard, (str, os.PathLike)):
        return standard
    from ecometer.standards import load_standard

    return load_standard(standard)


class Judgement:
    """Attach a footprint (``site``) and an assessment (``standard``) to a finished record.

    Both are resolved when the judgement is made (bad input fails before the job runs).
    Calling it never raises: it returns the problems (the meter keeps them as warnings), so
    the measured record is never lost to a problem in a later layer.
    """

    def __init__(self, site: Any = None, standard: Any = None) -> None:
        self.site = resolve_site(site)
        self.standard = resolve_standard(standard)

    def __call__(self, record: RunRecord) -> list[str]:
        problems: list[str] = []
        if self.site is not None:
            try:
                from ecometer.impact import footprint

                record.attach("footprint", footprint(record, site=self.site))
            except Exception as exc:  # noqa: BLE001 - never lose the measured record
                problems.append(f"footprint not computed: {exc}")
        if self.standard is not None:
            try:
                from ecometer.standards import score

                record.attach("assessment", score(record, self.standard))
            except Exception as exc:  # noqa: BLE001 - never lose the measured record
                problems.append(f"assessment not computed: {exc}")
        return problems


def _judged(meter: Meter, site: Any, standard: Any) -> Meter:
    if site is None and os.environ.get("ECOMETER_SITE", "").strip():
        site = os.environ["ECOMETER_SITE"].strip()  # the user's standing choice (a preset or region name)
    if site is not None or standard is not None:
        judgement = Judgement(site, standard)
        meter.finish = judgement
        meter.site = judgement.site
    return meter


def measure(name: str = "run", *, site: Any = None, standard: Any = None, **kwargs: Any) -> Meter:
    """A :class:`~ecometer.measuring.meter.Meter` for use as a context manager or decorator.

    ``site``: a :class:`ecometer.Site`, a preset or region name, or ``"auto"`` (detected from the
    environment): the record gets a footprint at stop. Without it, ``ECOMETER_SITE`` (if set) is used.
    ``standard``: a standard name, file or object: the record gets an assessment at stop.
    Other arguments: as for :class:`~ecometer.measuring.meter.Meter`.
    """
    return _judged(Meter(name, **kwargs), site, standard)


def measure_distributed(name: str = "run", *, site: Any = None, standard: Any = None, **kwargs: Any) -> Meter:
    """Meter a distributed job as one job; use as a context manager or decorator on every rank.

    Arguments of the job (:class:`ecometer.distributed.Job`):
        group: a ``torch.distributed`` process group (default: the whole job).
        store: a c10d ``Store`` to gather through (default: the default group's store).
        parts: a directory on a shared file system: every rank also writes its own record
            there (with a running checkpoint); it is the transport when there is no store.
            :func:`ecometer.distributed.merge_files` merges them later if rank 0 died.
        gather_timeout_s: how long rank 0 waits for the other ranks at stop (s; default 60).
        signal_gather_timeout_s: the wait when stopping because of a signal or an interrupt
            (a launcher's grace period before SIGKILL is short; default 10 s).
        host_sensors: host sensors (a list, or a callable returning one) used only on the
            node's host-metering rank. Giving it or ``sensors=`` turns auto-detection off.
        env: the launcher's environment (default ``os.environ``).

    ``site``, ``standard``: as for :func:`measure`, applied to the job's record on rank 0.
    Every other argument is the meter's (:class:`~ecometer.measuring.meter.Meter`): ``out`` is the
    job's record, written by rank 0 (``"auto"``: ``$ECOMETER_DIR/<name>-<UTC time>-job.json``);
    ``gpus="auto"`` means this rank's device; ``sensors`` are this rank's own sensors.

    After stop, ``record`` is the job's record on the group's first rank and this rank's own
    part elsewhere; ``part`` is always this rank's own record.
    """
    from ecometer.distributed.job import JOB_ARGUMENTS, DistributedMeter, Job

    job = Job(**{k: kwargs.pop(k) for k in JOB_ARGUMENTS & set(kwargs)})
    return _judged(DistributedMeter(name, job=job, **kwargs), site, standard)


__all__ = ["Judgement", "measure", "measure_distributed", "resolve_site", "resolve_standard"]
