"""Efficiency standards: a TOML file format, scoring of run records, and tuning tools.

    std = load_standard("ecometer-inference")        # a built-in, or a path to a .toml file
    assessment = score(record, std)                  # grades, margins, stability, hard limits
    print(assessment)

Built-in standards are listed by :func:`standards`. For standards bodies:
:func:`calibrate` derives thresholds from a corpus, :func:`sensitivity` and
:func:`sensitivity_chart` show what a change of thresholds does, :func:`diff` compares two
versions. The file format is described in ``ecometer/standards/FORMAT.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecometer.errors import StandardError
from ecometer.record import register_attachment
from ecometer.standards.assess import Assessment, LimitResult, MetricResult, score
from ecometer.standards.calibrate import CalibrationOptions, calibrate
from ecometer.standards.loader import builtin_names, load_standard, parse_standard
from ecometer.standards.metrics import QUANTITIES
from ecometer.standards.revision import Regrading, StandardDiff, diff, regrade, sensitivity, sensitivity_chart
from ecometer.standards.schema import Standard
from ecometer.standards.writer import to_toml


@dataclass(frozen=True)
class StandardInfo:
    """A built-in standard: its name (to pass to :func:`load_standard`), title and version."""

    name: str
    title: str
    version: str
    bands: str | None
    description: str
    status: str | None = None


def standards() -> list[StandardInfo]:
    """The built-in standards, by name."""
    out = []
    for name in builtin_names():
        std = load_standard(name)
        out.append(StandardInfo(name, std.title, std.version, std.bands, std.description, std.status))
    return out


register_attachment("assessment", Assessment.from_dict)

__all__ = [
    "QUANTITIES",
    "Assessment",
    "LimitResult",
    "MetricResult",
    "Regrading",
    "Standard",
    "StandardDiff",
    "StandardError",
    "StandardInfo",
    "CalibrationOptions",
    "calibrate",
    "diff",
    "load_standard",
    "parse_standard",
    "regrade",
    "score",
    "sensitivity",
    "sensitivity_chart",
    "standards",
    "to_toml",
]
