"""Run records: the plain-data language every part of ecometer speaks.

A :class:`RunRecord` is what a meter produces and what footprints, standards, reports and
aggregators consume. It is made only of JSON-able dataclasses so that a run measured on one
machine can be footprinted, scored and charted on another.

Units are SI throughout: joules (J), watts (W), seconds (s). Wall-clock time appears only
as ISO-8601 UTC timestamps (``started_at``/``ended_at``); every duration comes from a
monotonic clock.

This module imports no other ecometer module at import time. Results attached to a record
by other layers (a footprint, an assessment) are stored as plain dictionaries and decoded
lazily by the layer that owns their type (see :func:`register_attachment`).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
METHODS = ("counter", "integrated", "modelled", "constant", "user")
STATUSES = ("running", "ok", "failed", "interrupted")
CHECKPOINT_SUFFIX = ".partial"


class RecordError(ValueError):
    """A record file or dictionary is missing, corrupt or of an unknown schema."""


@dataclass
class Estimate:
    """A figure with its uncertainty: ``low <= central <= high``, all in the same unit."""

    central: float
    low: float
    high: float

    @classmethod
    def exact(cls, value: float) -> Estimate:
        return cls(value, value, value)

    @classmethod
    def relative(cls, value: float, rel_low: float, rel_high: float) -> Estimate:
        """``value`` with bounds ``value*(1-rel_low)`` and ``value*(1+rel_high)``."""
        return cls(value, value * (1.0 - rel_low), value * (1.0 + rel_high))

    def scaled(self, factor: float) -> Estimate:
        lo, hi = sorted((self.low * factor, self.high * factor))
        return Estimate(self.central * factor, lo, hi)

    @property
    def rel_halfwidth(self) -> float:
        """Half the relative width of the interval (0.05 means about +/-5 %)."""
        if self.central == 0:
            return 0.0 if self.high == self.low else math.inf
        return (self.high - self.low) / (2.0 * abs(self.central))

    def __add__(self, other: Estimate) -> Estimate:
        """Sum of two independent estimates: deviations add in quadrature."""
        c = self.central + other.central
        dl = math.hypot(self.central - self.low, other.central - other.low)
        dh = math.hypot(self.high - self.central, other.high - other.central)
        return Estimate(c, c - dl, c + dh)


def sum_estimates(items: list[Estimate]) -> Estimate:
    total = Estimate.exact(0.0)
    for item in items:
        total = total + item
    return total


@dataclass
class Component:
    """Energy of one component class (``gpu``, ``cpu``, ``dram``) over a window.

    ``energy_j`` is the central value in joules; ``uncertainty`` brackets it (J);
    ``devices`` gives joules per device id (``"gpu:0"``, ``"cpu:package-0"``).
    ``method`` says how the figure was obtained (one of :data:`METHODS`).
    """

    name: str
    energy_j: float
    method: str
    uncertainty: Estimate
    devices: dict[str, float] = field(default_factory=dict)
    source: str = ""
    attribution: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise RecordError(f"component {self.name!r}: method {self.method!r} is not one of {METHODS}")


@dataclass
class Phase:
    """Totals over every occurrence of one named phase (phases nest and may repeat)."""

    name: str
    energy_j: float
    duration_s: float
    count: int
    components: dict[str, float] = field(default_factory=dict)
    uncertainty: Estimate = field(default_factory=lambda: Estimate.exact(0.0))
    resolution_s: float = 0.0
    work: dict[str, float] = field(default_factory=dict)


@dataclass
class Span:
    """One occurrence of a phase on the run's time axis (seconds from run start)."""

    name: str
    start_s: float
    end_s: float
    depth: int = 0


@dataclass
class Timeline:
    """Downsampled power over time: ``t_s`` seconds since start, ``power_w[channel]`` watts.

    Channels are device ids (``"gpu:0"``, ``"cpu"``, ``"dram"``); each series has one value
    per entry of ``t_s`` (``None`` where that channel had no point). ``spans`` are phase
    occurrences for shading, capped in number (``spans_dropped`` counts the rest).
    """

    t_s: list[float] = field(default_factory=list)
    power_w: dict[str, list[float | None]] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    spans_dropped: int = 0
    bucket_s: float = 0.0

    def component_power(self, component: str) -> list[float]:
        """Summed power (W) of all channels whose id starts with ``component``."""
        out = [0.0] * len(self.t_s)
        for channel, series in self.power_w.items():
            if channel.split(":")[0] != component:
                continue
            for i, v in enumerate(series):
                if v is not None:
                    out[i] += v
        return out


@dataclass
class SensorInfo:
    """What one sensor measured, how, and what it assumed."""

    name: str
    component: str
    method: str
    devices: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_ATTACHMENT_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def register_attachment(key: str, decoder: Callable[[dict[str, Any]], Any]) -> None:
    """Let a layer (footprint, standards) decode its stored result into its own type."""
    _ATTACHMENT_DECODERS[key] = decoder


_ATTACHMENT_MODULES = {"footprint": "ecometer.impact", "assessment": "ecometer.scoring"}


def _decode_attachment(key: str, data: dict[str, Any] | None) -> Any:
    if data is None:
        return None
    if key not in _ATTACHMENT_DECODERS and key in _ATTACHMENT_MODULES:
        import importlib

        importlib.import_module(_ATTACHMENT_MODULES[key])  # registers its decoder
    decoder = _ATTACHMENT_DECODERS.get(key)
    return decoder(data) if decoder else data


@dataclass
class RunRecord:
    """Everything measured over one run. See the module docstring for units."""

    name: str
    status: str = "running"
    started_at: str = ""
    ended_at: str = ""
    duration_s: float = 0.0
    components: dict[str, Component] = field(default_factory=dict)
    phases: dict[str, Phase] = field(default_factory=dict)
    work: dict[str, float] = field(default_factory=dict)
    work_unit: str | None = None
    timeline: Timeline = field(default_factory=Timeline)
    scope: str = "machine"
    host: dict[str, Any] = field(default_factory=dict)
    devices: list[dict[str, Any]] = field(default_factory=list)
    sensors: list[SensorInfo] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    distributed: dict[str, Any] | None = None
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)
    ecometer_version: str = ""
    schema_version: int = SCHEMA_VERSION
    checkpoint: bool = False

    # ---- derived figures -------------------------------------------------------------
    @property
    def energy_j(self) -> float:
        """Total IT energy (J): the sum over components."""
        return sum(c.energy_j for c in self.components.values())

    @property
    def energy_uncertainty(self) -> Estimate:
        """Total IT energy (J) with bounds; component errors combined as independent."""
        return sum_estimates([c.uncertainty for c in self.components.values()])

    @property
    def average_power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def methods(self) -> dict[str, str]:
        return {name: c.method for name, c in self.components.items()}

    def per_work(self, quantity: str = "energy_j", unit: str | None = None) -> float:
        """``quantity`` (an attribute of the record, e.g. ``energy_j``) per unit of work.

        ``unit`` defaults to the record's ``work_unit`` or its only work unit.
        Raises ``KeyError`` if that unit was not counted and ``ZeroDivisionError`` if its
        count is zero.
        """
        unit = unit or self.work_unit or (next(iter(self.work)) if len(self.work) == 1 else None)
        if unit is None or unit not in self.work:
            raise KeyError(f"record {self.name!r} has no work unit {unit!r}; counted: {sorted(self.work)}")
        count = self.work[unit]
        if count == 0:
            raise ZeroDivisionError(f"record {self.name!r} counted 0 {unit}")
        value = getattr(self, quantity)
        return float(value) / count

    # ---- attachments (footprint, assessment) ---------------------------------------
    @property
    def footprint(self) -> Any:
        """The footprint attached to this record, or ``None``."""
        return _decode_attachment("footprint", self.attachments.get("footprint"))

    @property
    def assessment(self) -> Any:
        """The assessment attached to this record, or ``None``."""
        return _decode_attachment("assessment", self.attachments.get("assessment"))

    def attach(self, key: str, result: Any) -> None:
        """Store a result (an object with ``to_dict()`` or a dict) under ``key``."""
        data = result.to_dict() if hasattr(result, "to_dict") else result
        if not isinstance(data, dict):
            raise TypeError(f"attachment {key!r} must be a dict or have to_dict()")
        self.attachments[key] = data

    # ---- serialisation ---------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return _finite(asdict(self))

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the record as JSON atomically (temp file + rename). Returns the path."""
        target = Path(path)
        write_atomic(target, self.to_json())
        return target

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<dict>") -> RunRecord:
        if not isinstance(data, dict):
            raise RecordError(f"{origin}: expected a JSON object, found {type(data).__name__}")
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise RecordError(
                f"{origin}: schema_version {version!r} is not supported (this ecometer reads {SCHEMA_VERSION})"
            )
        try:
            kwargs = _known(cls, data)
            kwargs["components"] = {
                k: Component(**{**_known(Component, v), "uncertainty": Estimate(**v["uncertainty"])})
                for k, v in (data.get("components") or {}).items()
            }
            kwargs["phases"] = {
                k: Phase(**{**_known(Phase, v), "uncertainty": Estimate(**v.get("uncertainty", {"central": 0, "low": 0, "high": 0}))})
                for k, v in (data.get("phases") or {}).items()
            }
            tl = data.get("timeline") or {}
            kwargs["timeline"] = Timeline(
                **{**_known(Timeline, tl), "spans": [Span(**_known(Span, s)) for s in tl.get("spans", [])]}
            )
            kwargs["sensors"] = [SensorInfo(**_known(SensorInfo, s)) for s in data.get("sensors", [])]
            record = cls(**kwargs)
        except RecordError:
            raise
        except (TypeError, KeyError, AttributeError, ValueError) as exc:
            raise RecordError(f"{origin}: malformed record ({type(exc).__name__}: {exc})") from None
        if not isinstance(record.name, str) or record.status not in STATUSES:
            raise RecordError(f"{origin}: bad name or status {record.status!r} (expected one of {STATUSES})")
        return record


def _known(cls: type, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError(f"expected an object for {cls.__name__}, found {type(data).__name__}")
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def _finite(obj: Any) -> Any:
    """Replace non-finite floats with None so the JSON stays standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` via a temporary file in the same folder and a rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """Where the running checkpoint of a record bound for ``path`` is kept."""
    p = Path(path)
    return p.with_name(p.name + CHECKPOINT_SUFFIX)


def load_record(path: str | os.PathLike[str]) -> RunRecord:
    """Read a record file; if only its checkpoint exists (the run was killed), read that.

    A record read from a checkpoint has ``checkpoint=True`` and, if it was still marked
    running, status ``"interrupted"``.
    """
    p = Path(path)
    source = p
    if not p.exists():
        ckpt = checkpoint_path(p)
        if ckpt.exists():
            source = ckpt
        elif p.name.endswith(CHECKPOINT_SUFFIX) is False:
            raise RecordError(f"{p}: no such record file (and no checkpoint {ckpt.name})")
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"{source}: cannot read ({exc})") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise RecordError(f"{source}: not valid JSON ({exc})") from None
    record = RunRecord.from_dict(data, origin=str(source))
    if source.name.endswith(CHECKPOINT_SUFFIX):
        record.checkpoint = True
        if record.status == "running":
            record.status = "interrupted"
            record.warnings.append("read from a checkpoint: the run ended without finalising its record")
    return record
