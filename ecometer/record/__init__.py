"""The record: the language every stage of ecometer speaks.

Owns :class:`RunRecord` and its parts (:mod:`~ecometer.record.model`), the figure with its
uncertainty :class:`Estimate` (:mod:`~ecometer.record.estimate`), the propagation of
uncertainty (:mod:`~ecometer.record.uncertainty`), the names of quantities
(:mod:`~ecometer.record.quantities`) and units (:mod:`~ecometer.record.units`).

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`. Nothing else of ecometer.
"""

from __future__ import annotations

from ecometer.errors import RecordError
from ecometer.files.atomic import write_atomic
from ecometer.record.estimate import DEFAULT_COVERAGE, DISTRIBUTIONS, Estimate, sum_estimates
from ecometer.record.model import (
    CHECKPOINT_SUFFIX,
    MAX_RECORD_BYTES,
    MAX_WARNINGS,
    METHODS,
    SCHEMA_VERSION,
    STATUSES,
    Component,
    Phase,
    RunRecord,
    SensorInfo,
    Span,
    Timeline,
    checkpoint_path,
    load_record,
    register_attachment,
    worst_method,
)

__all__ = [
    "CHECKPOINT_SUFFIX",
    "DEFAULT_COVERAGE",
    "DISTRIBUTIONS",
    "MAX_RECORD_BYTES",
    "MAX_WARNINGS",
    "METHODS",
    "SCHEMA_VERSION",
    "STATUSES",
    "Component",
    "Estimate",
    "Phase",
    "RecordError",
    "RunRecord",
    "SensorInfo",
    "Span",
    "Timeline",
    "checkpoint_path",
    "load_record",
    "register_attachment",
    "sum_estimates",
    "worst_method",
    "write_atomic",
]
