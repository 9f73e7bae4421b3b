"""Efficiency standards: a TOML file format, scoring of run records, and tuning tools.

    std = load_standard("ecometer-inference")        # a built-in, or a path to a .toml file
    assessment = score(record, std)                  # grades, margins, stability, hard limits
    print(assessment)

Built-in standards are listed by :func:`list_standards` (``ecometer.list_standards()``).
``ecometer.standards`` is this package; calling it raises a TypeError that names
:func:`list_standards`, the listing function it was once confused with. For standards bodies:
:func:`calibrate` derives thresholds from a corpus, :func:`sensitivity` and
:func:`ecometer.report.sensitivity.sensitivity_chart` show what a change of thresholds does, :func:`diff` compares two
versions. The file format is described in ``ecometer/standards/FORMAT.md``.

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`,
:mod:`ecometer.record`, :mod:`ecometer.impact` (to grade water and carbon at a site).
"""

from __future__ import annotations

import importlib
import sys
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from ecometer.errors import StandardError
from ecometer.record.model import register_attachment
from ecometer.standards.assess import Assessment, LimitResult, MetricResult, score
from ecometer.standards.loader import builtin_names, load_standard, parse_standard
from ecometer.standards.metrics import QUANTITIES
from ecometer.standards.schema import Standard

if TYPE_CHECKING:  # pragma: no cover
    from ecometer.standards.calibration import CalibrationOptions, calibrate
    from ecometer.standards.revision import Regrading, StandardDiff, diff, regrade, sensitivity
    from ecometer.standards.writer import to_toml

#: the tools for standards bodies, imported when first used (scoring a record needs none of them)
_LAZY = {
    "calibrate": "calibration",
    "CalibrationOptions": "calibration",
    "Regrading": "revision",
    "StandardDiff": "revision",
    "diff": "revision",
    "regrade": "revision",
    "sensitivity": "revision",
    "to_toml": "writer",
}


def __getattr__(name: str) -> Any:
    """The standards bodies' tools (:data:`_LAZY`), imported on first use."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ecometer.standards' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"ecometer.standards.{module}"), name)
    globals()[name] = value  # also replaces the submodule the import bound to the name 'calibrate'
    return value


@dataclass(frozen=True)
class StandardInfo:
    """A built-in standard: its name (to pass to :func:`load_standard`), title and version."""

    name: str
    title: str
    version: str
    bands: str | None
    description: str
    status: str | None = None


def list_standards() -> list[StandardInfo]:
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
    "list_standards",
    "to_toml",
]


class _StandardsPackage(types.ModuleType):
    """This package's module type: calling ``ecometer.standards()`` says which function lists them."""

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("ecometer.standards is the standards package; call ecometer.list_standards() to list them")


sys.modules[__name__].__class__ = _StandardsPackage
