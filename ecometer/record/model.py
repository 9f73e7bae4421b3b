"""Run records: the plain-data language every part of ecometer speaks.

A :class:`RunRecord` is what a meter produces and what footprints, standards, reports and
aggregators consume. It is made only of JSON-able dataclasses so that a run measured on one
machine can be footprinted, scored and charted on another.

Units are SI throughout: joules (J), watts (W), seconds (s). Wall-clock time appears only
as ISO-8601 UTC timestamps (``started_at``/``ended_at``); every duration comes from a
monotonic clock.

This module imports only :mod:`ecometer.errors`, :mod:`ecometer.files` and
:mod:`ecometer.record.estimate` at import time. Results attached to a record
by other layers (a footprint, an assessment) are stored as plain dictionaries and decoded
lazily by the layer that owns their type (see :func:`register_attachment`).

Reading and writing (docs/RELIABILITY.md): only regular files of at most
:data:`MAX_RECORD_BYTES` are read; every number is checked (energies, durations and work
finite and >= 0, ``low <= central <= high``, one power value per timeline time), and errors
name the file and the field. Fields this version does not know are kept as read and
written back on save. Records are written atomically, with the mode the umask gives (an
existing file keeps its mode), through a symlink onto the file it points to.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from ecometer.errors import NotApplicable, RecordError
from ecometer.files.atomic import write_atomic
from ecometer.files.textfile import read_text_file
from ecometer.record.estimate import Estimate, sum_estimates

#: schema 2: every bound is an :class:`Estimate` with ``coverage`` and ``distribution``;
#: schema 1 records (bounds without a stated coverage) still load
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
METHODS = ("counter", "integrated", "modelled", "constant", "user", "reported")  # reported: a published figure
STATUSES = ("running", "ok", "failed", "interrupted")
CHECKPOINT_SUFFIX = ".partial"
MAX_DEPTH = 100  # nesting of free-form data (meta, host...) written and read
MAX_WARNINGS = 200  # distinct warnings kept in a record; more are counted
MAX_RECORD_BYTES = 64 * 2**20  # a week-long run's record is under 2 MB: anything far larger is not a record
_MAX_INT_BITS = 1024  # integers beyond a float's range are stored as text (JSON readers cannot hold them)


def worst_method(methods: Any) -> str:
    """The least direct of several methods (order of :data:`METHODS`: counter first)."""
    return max(methods, key=METHODS.index)




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
    """Totals over every occurrence of one named phase (phases nest and may repeat).

    ``resolution_s`` is the time resolution (s) of the energy curves the phase was read from;
    ``split_by_time_share`` is true when its occurrences are on average shorter than that, so
    their energy is the power of the segments they fall in times their share of the time.
    ``power_range_w`` is ``[lowest, highest]`` power (W) the phase's devices drew over the run
    (summed over devices): ``uncertainty`` keeps the phase's energy within ``duration_s`` times
    that range, before the sensors' own errors.
    """

    name: str
    energy_j: float
    duration_s: float
    count: int
    components: dict[str, float] = field(default_factory=dict)
    uncertainty: Estimate = field(default_factory=lambda: Estimate.exact(0.0))
    resolution_s: float = 0.0
    work: dict[str, float] = field(default_factory=dict)
    split_by_time_share: bool = False
    power_range_w: list[float] = field(default_factory=list)


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
    ``work[unit]`` is the work counted in each entry's bucket (units, aligned with ``t_s``):
    how the job progressed over time, which a forecast needs to tell warm-up from steady work.
    """

    t_s: list[float] = field(default_factory=list)
    power_w: dict[str, list[float | None]] = field(default_factory=dict)
    spans: list[Span] = field(default_factory=list)
    spans_dropped: int = 0
    bucket_s: float = 0.0
    work: dict[str, list[float]] = field(default_factory=dict)

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


_ATTACHMENT_DECODERS: dict[str, str | Callable[[dict[str, Any]], Any]] = {}


def register_attachment(key: str, decoder: str | Callable[[dict[str, Any]], Any]) -> None:
    """Let a layer (footprint, standards) decode its stored result under ``key`` into its own type.

    ``decoder``: a callable taking the stored dict, or ``"module:attribute.path"`` naming one,
    imported on the first decode (so registering costs no import).
    """
    _ATTACHMENT_DECODERS[key] = decoder


def _decoder(key: str) -> Callable[[dict[str, Any]], Any] | None:
    decoder = _ATTACHMENT_DECODERS.get(key)
    if isinstance(decoder, str):
        import importlib

        module, _, path = decoder.partition(":")
        value: Any = importlib.import_module(module)
        for part in path.split("."):
            value = getattr(value, part)
        decoder = _ATTACHMENT_DECODERS[key] = value
    return decoder


def _decode_attachment(key: str, data: dict[str, Any] | None) -> Any:
    if data is None:
        return None
    decoder = _decoder(key)
    if decoder is None:
        return data
    try:
        return decoder(data)
    except RecordError:
        raise
    except (TypeError, KeyError, ValueError, AttributeError, IndexError) as exc:  # a corrupt or foreign file
        raise RecordError(f"attachment {key!r} of this record is malformed ({type(exc).__name__}: {exc})") from exc


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
    notes: list[str] = field(default_factory=list)  # what is modelled or missing, and why (not a problem)
    error: str | None = None
    distributed: dict[str, Any] | None = None
    attachments: dict[str, dict[str, Any]] = field(default_factory=dict)
    forecasts: list[dict[str, Any]] = field(default_factory=list)  # forecasts made while it ran (Forecast.to_dict)
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

    def _work_name(self, unit: str | None) -> str | None:
        return unit or self.work_unit or (next(iter(self.work)) if len(self.work) == 1 else None)

    def work_count(self, unit: str | None = None) -> tuple[str, float]:
        """The run's functional unit and how many were counted: ``(unit, count)``.

        ``unit`` defaults to the record's ``work_unit``, else its only work counter. Raises
        :class:`~ecometer.errors.NotApplicable` (``missing_unit=True``) when no unit can be
        named, that unit was not counted, or its count is not a positive number.
        """
        name = self._work_name(unit)
        counted = ", ".join(sorted(self.work)) or "nothing"
        if name is None:
            raise NotApplicable(f"record names no work unit (counted: {counted})", missing_unit=True)
        if name not in self.work:
            raise NotApplicable(f"record counted no {name!r} (counted: {counted})", missing_unit=True)
        count = self.work[name]
        if isinstance(count, bool) or not isinstance(count, (int, float)) or not math.isfinite(count) or count <= 0:
            raise NotApplicable(f"record counted {count} {name}; a positive count is needed", missing_unit=True)
        return name, float(count)

    def per_work(self, quantity: str = "energy_j", unit: str | None = None) -> float:
        """``quantity`` (an attribute of the record, e.g. ``energy_j``) per unit of work.

        ``unit`` defaults to the record's ``work_unit`` or its only work unit (see
        :meth:`work_count`). Raises ``KeyError`` if that unit was not counted and
        ``ZeroDivisionError`` if its count is not positive.
        """
        try:
            unit, count = self.work_count(unit)
        except NotApplicable as exc:
            error = ZeroDivisionError if self._work_name(unit) in self.work else KeyError
            raise error(f"record {self.name!r}: {exc.reason}") from None
        return float(getattr(self, quantity)) / count

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
        """Plain JSON-able data. Non-finite floats become None; values JSON cannot hold (numpy
        scalars and arrays, tuples, odd objects in ``meta``, integers beyond a float's range)
        become numbers, lists or strings. Fields read from a file that this version does not
        know are written back as they were."""
        return to_plain(self)

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def save(self, path: str | os.PathLike[str], *, exclusive: bool = False) -> Path:
        """Write the record as JSON atomically and durably (temp file, fsync, rename; see
        :func:`write_atomic`, which streams into a device or FIFO instead; ``exclusive``: only if
        ``path`` does not exist yet). Returns the path."""
        target = Path(path)
        write_atomic(target, self.to_json(), durable=True, exclusive=exclusive, follow_symlinks=not exclusive)
        return target

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<dict>") -> RunRecord:
        """Build a record from plain data (e.g. parsed JSON), checking every field's type.

        Raises :class:`RecordError` naming the field for anything malformed: a wrong type, a
        number that is not finite (saved as null), a negative energy, duration or count, an
        interval with ``low <= central <= high`` broken, or a power series whose length is not
        that of the timeline's times. Fields this version does not know are kept (see
        :meth:`to_dict`).
        """
        if not isinstance(data, dict):
            raise RecordError(f"{origin}: expected a JSON object, found {type(data).__name__}")
        version = data.get("schema_version")
        if type(version) is not int or version not in READABLE_SCHEMAS:
            raise RecordError(
                f"{origin}: schema_version {_show(version)} is not supported (this ecometer reads {', '.join(map(str, READABLE_SCHEMAS))})"
            )
        status = data.get("status", "running")
        if "name" not in data:
            raise RecordError(f"{origin}: malformed record: it has no 'name'")
        if not isinstance(data["name"], str):
            raise RecordError(f"{origin}: malformed record: name is {_show(data['name'])}, expected a string")
        if status not in STATUSES:
            raise RecordError(f"{origin}: malformed record: status is {_show(status)}, expected one of {STATUSES}")
        v = _Reader(origin)
        try:
            record = cls(
                name=data["name"],
                status=status,
                started_at=v.string(data.get("started_at", ""), "started_at"),
                ended_at=v.string(data.get("ended_at", ""), "ended_at"),
                duration_s=v.amount(data.get("duration_s", 0.0), "duration_s"),
                components={
                    k: v.component(c, f"components.{k}") for k, c in v.mapping(data.get("components"), "components")
                },
                phases={k: v.phase(ph, f"phases.{k}") for k, ph in v.mapping(data.get("phases"), "phases")},
                work=v.amounts(data.get("work"), "work"),
                work_unit=v.opt_string(data.get("work_unit"), "work_unit"),
                timeline=v.timeline(data.get("timeline"), "timeline"),
                scope=v.string(data.get("scope", "machine"), "scope"),
                host=v.free(data.get("host", {}), "host", dict),
                devices=[
                    v.free(d, f"devices[{i}]", dict) for i, d in enumerate(v.array(data.get("devices"), "devices"))
                ],
                sensors=[v.sensor(x, f"sensors[{i}]") for i, x in enumerate(v.array(data.get("sensors"), "sensors"))],
                meta=v.free(data.get("meta", {}), "meta", dict),
                warnings=v.strings(data.get("warnings"), "warnings"),
                notes=v.strings(data.get("notes"), "notes"),
                error=v.opt_string(data.get("error"), "error"),
                distributed=None
                if data.get("distributed") is None
                else v.free(data["distributed"], "distributed", dict),
                attachments={
                    k: v.free(a, f"attachments.{k}", dict) for k, a in v.mapping(data.get("attachments"), "attachments")
                },
                forecasts=[
                    v.free(f, f"forecasts[{i}]", dict) for i, f in enumerate(v.array(data.get("forecasts"), "forecasts"))
                ],
                ecometer_version=v.string(data.get("ecometer_version", ""), "ecometer_version"),
                schema_version=SCHEMA_VERSION,  # read in the current form
                checkpoint=v.flag(data.get("checkpoint", False), "checkpoint"),
            )
            v.keep_unknown(record, data, "")
        except RecursionError:
            raise RecordError(f"{origin}: malformed record: nested too deeply") from None
        return record


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class _Reader:
    """Type-checked reading of a record's plain data; errors name the field (dotted path)."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, value: Any, expected: str) -> RecordError:
        shown = "null (a number that was not finite when saved)" if value is None else _show(value)
        return RecordError(f"{self.origin}: malformed record: {where} is {shown}, expected {expected}")

    def number(self, value: Any, where: str) -> float:
        """A finite number (times, which may be negative)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(where, value, "a finite number")
        try:
            number = float(value)
        except OverflowError:
            raise self.fail(where, value, "a number in the range of a float") from None
        if not math.isfinite(number):
            raise self.fail(where, value, "a finite number")
        return number

    def amount(self, value: Any, where: str) -> float:
        """A finite number >= 0 (energies, durations, work, power)."""
        number = self.number(value, where)
        if number < 0:
            raise self.fail(where, value, "a finite number >= 0")
        return number

    def integer(self, value: Any, where: str) -> int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(where, value, "an integer")
        return value

    def count(self, value: Any, where: str) -> int:
        number = self.integer(value, where)
        if number < 0:
            raise self.fail(where, value, "an integer >= 0")
        return number

    def keep_unknown(self, obj: Any, data: dict[str, Any], where: str) -> Any:
        """Keep the fields of ``data`` that ``obj``'s type does not know; :func:`to_plain` writes them back."""
        known = {f.name for f in fields(obj)}
        unknown = {
            k: self.free(x, f"{where}.{k}" if where else k) for k, x in data.items() if k not in known
        }
        if unknown:
            obj._unknown = unknown
        return obj

    def flag(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, value, "true or false")
        return value

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            raise self.fail(where, value, "a string")
        return value

    def opt_string(self, value: Any, where: str) -> str | None:
        return None if value is None else self.string(value, where)

    def strings(self, value: Any, where: str) -> list[str]:
        return [self.string(x, f"{where}[{i}]") for i, x in enumerate(self.array(value, where))]

    def array(self, value: Any, where: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, (list, tuple)):
            raise self.fail(where, value, "a list")
        return list(value)

    def mapping(self, value: Any, where: str) -> list[tuple[str, Any]]:
        if value is None:
            return []
        if not isinstance(value, dict):
            raise self.fail(where, value, "an object")
        for key in value:
            if not isinstance(key, str):
                raise self.fail(f"{where} key", key, "a string")
        return list(value.items())

    def amounts(self, value: Any, where: str) -> dict[str, float]:
        return {k: self.amount(x, f"{where}.{k}") for k, x in self.mapping(value, where)}

    def obj(self, value: Any, where: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, value, "an object")
        for key in required:
            if key not in value:
                raise RecordError(f"{self.origin}: malformed record: {where} has no {key!r}")
        return value

    def estimate(self, value: Any, where: str) -> Estimate:
        d = self.obj(value, where, ("central", "low", "high"))
        central, low, high = (self.amount(d[k], f"{where}.{k}") for k in ("central", "low", "high"))  # energies
        slack = 1e-9 * max(central, low, high)  # rounding in sums of intervals
        if not low - slack <= central <= high + slack:
            raise RecordError(
                f"{self.origin}: malformed record: {where} has low {low!r}, central {central!r}, high {high!r}; "
                "expected low <= central <= high"
            )
        low, high = min(low, central), max(high, central)
        return Estimate.from_dict({**d, "central": central, "low": low, "high": high}, where=f"{self.origin}: {where}")

    def component(self, value: Any, where: str) -> Component:
        d = self.obj(value, where, ("name", "energy_j", "method", "uncertainty"))
        method = d["method"]
        if method not in METHODS:
            raise self.fail(f"{where}.method", method, f"one of {METHODS}")
        component = Component(
            name=self.string(d["name"], f"{where}.name"),
            energy_j=self.amount(d["energy_j"], f"{where}.energy_j"),
            method=method,
            uncertainty=self.estimate(d["uncertainty"], f"{where}.uncertainty"),
            devices=self.amounts(d.get("devices"), f"{where}.devices"),
            source=self.string(d.get("source", ""), f"{where}.source"),
            attribution=self.opt_string(d.get("attribution"), f"{where}.attribution"),
            notes=self.strings(d.get("notes"), f"{where}.notes"),
        )
        return self.keep_unknown(component, d, where)

    def phase(self, value: Any, where: str) -> Phase:
        d = self.obj(value, where, ("name", "energy_j", "duration_s", "count"))
        unc = d.get("uncertainty")
        phase = Phase(
            name=self.string(d["name"], f"{where}.name"),
            energy_j=self.amount(d["energy_j"], f"{where}.energy_j"),
            duration_s=self.amount(d["duration_s"], f"{where}.duration_s"),
            count=self.count(d["count"], f"{where}.count"),
            components=self.amounts(d.get("components"), f"{where}.components"),
            uncertainty=Estimate.exact(0.0) if unc is None else self.estimate(unc, f"{where}.uncertainty"),
            resolution_s=self.amount(d.get("resolution_s", 0.0), f"{where}.resolution_s"),
            work=self.amounts(d.get("work"), f"{where}.work"),
            split_by_time_share=self.flag(d.get("split_by_time_share", False), f"{where}.split_by_time_share"),
            power_range_w=[
                self.amount(x, f"{where}.power_range_w") for x in self.array(d.get("power_range_w"), f"{where}.power_range_w")
            ],
        )
        return self.keep_unknown(phase, d, where)

    def timeline(self, value: Any, where: str) -> Timeline:
        d = {} if value is None else self.obj(value, where)
        spans = []
        for i, sp in enumerate(self.array(d.get("spans"), f"{where}.spans")):
            at = f"{where}.spans[{i}]"
            sd = self.obj(sp, at, ("name", "start_s", "end_s"))
            span = Span(
                name=self.string(sd["name"], f"{at}.name"),
                start_s=self.number(sd["start_s"], f"{at}.start_s"),
                end_s=self.number(sd["end_s"], f"{at}.end_s"),
                depth=self.count(sd.get("depth", 0), f"{at}.depth"),
            )
            if span.end_s < span.start_s:
                raise self.fail(f"{at}.end_s", sd["end_s"], f"a time >= its start_s ({span.start_s!r})")
            spans.append(self.keep_unknown(span, sd, at))
        t_s = [self.number(x, f"{where}.t_s[{i}]") for i, x in enumerate(self.array(d.get("t_s"), f"{where}.t_s"))]
        power: dict[str, list[float | None]] = {}
        for channel, series in self.mapping(d.get("power_w"), f"{where}.power_w"):
            at = f"{where}.power_w.{channel}"
            values = self.array(series, at)
            if len(values) != len(t_s):
                raise RecordError(
                    f"{self.origin}: malformed record: {at} has {len(values)} values for {len(t_s)} times "
                    f"({where}.t_s); expected one value (or null) per time"
                )
            power[channel] = [None if x is None else self.amount(x, f"{at}[{i}]") for i, x in enumerate(values)]
        timeline = Timeline(
            t_s=t_s,
            power_w=power,
            spans=spans,
            spans_dropped=self.count(d.get("spans_dropped", 0), f"{where}.spans_dropped"),
            bucket_s=self.amount(d.get("bucket_s", 0.0), f"{where}.bucket_s"),
            work={
                unit: [self.amount(x, f"{where}.work.{unit}") for x in self.array(counts, f"{where}.work.{unit}")]
                for unit, counts in self.mapping(d.get("work"), f"{where}.work")
            },
        )
        return self.keep_unknown(timeline, d, where)

    def sensor(self, value: Any, where: str) -> SensorInfo:
        d = self.obj(value, where, ("name", "component", "method"))
        sensor = SensorInfo(
            name=self.string(d["name"], f"{where}.name"),
            component=self.string(d["component"], f"{where}.component"),
            method=self.string(d["method"], f"{where}.method"),
            devices=[self.free(x, f"{where}.devices", dict) for x in self.array(d.get("devices"), f"{where}.devices")],
            notes=self.strings(d.get("notes"), f"{where}.notes"),
        )
        return self.keep_unknown(sensor, d, where)

    def free(self, value: Any, where: str, kind: type | None = None, depth: int = 0) -> Any:
        """Free-form JSON data (meta, host, attachments...): checked for JSON types and depth."""
        if kind is not None and not isinstance(value, kind):
            raise self.fail(where, value, "an object" if kind is dict else kind.__name__)
        if depth > MAX_DEPTH:
            raise RecordError(f"{self.origin}: malformed record: {where} is nested more than {MAX_DEPTH} levels")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (list, tuple)):
            return [self.free(x, where, None, depth + 1) for x in value]
        if isinstance(value, dict):
            out = {}
            for key, x in value.items():
                if not isinstance(key, str):
                    raise self.fail(f"{where} key", key, "a string")
                out[key] = self.free(x, f"{where}.{key}", None, depth + 1)
            return out
        raise self.fail(where, value, "JSON data (object, list, string, number, true/false or null)")


def to_plain(obj: Any, depth: int = 0) -> Any:
    """``obj`` as JSON-able plain data (see :meth:`RunRecord.to_dict`)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj if abs(obj).bit_length() <= _MAX_INT_BITS else _big_int_text(obj)
    if isinstance(obj, Estimate):
        return to_plain(obj.to_dict(), depth + 1)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if depth > MAX_DEPTH:
        return f"<nested more than {MAX_DEPTH} levels>"
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {f.name: to_plain(getattr(obj, f.name), depth + 1) for f in fields(obj)}
        for key, value in getattr(obj, "_unknown", {}).items():  # fields read that this version does not know
            out.setdefault(key, to_plain(value, depth + 1))
        return out
    if isinstance(obj, dict):
        return {k if isinstance(k, str) else str(to_plain(k, depth + 1)): to_plain(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_plain(v, depth + 1) for v in obj]
    if hasattr(obj, "tolist"):  # numpy scalars and arrays, torch tensors
        try:
            return to_plain(obj.tolist(), depth + 1)
        except Exception:  # noqa: BLE001 - fall through to the generic conversions
            pass
    for convert in (int, float):
        if hasattr(obj, f"__{'index' if convert is int else 'float'}__"):
            try:
                return to_plain(convert(obj), depth + 1)
            except Exception:  # noqa: BLE001 - fall through to str()
                pass
    try:
        return str(obj)
    except Exception:  # noqa: BLE001 - an object whose str() fails is still not worth losing a record
        return f"<{type(obj).__name__}>"


def _big_int_text(value: int) -> str:
    """An integer too large for a record's JSON, as text that says so."""
    digits = int(abs(value).bit_length() * math.log10(2)) + 1
    sign = "-" if value < 0 else ""
    return f"<integer of about {sign}{digits} digits: too large for a record, stored as this text>"


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
    try:
        exists = p.exists()
        ckpt = checkpoint_path(p)
        if not exists and ckpt.exists():
            source = ckpt
    except (OSError, ValueError) as exc:  # e.g. a NUL byte in the path
        raise RecordError(f"{str(p)!r}: not a usable path ({exc})") from None
    if not exists and source is p and not p.name.endswith(CHECKPOINT_SUFFIX):
        raise RecordError(f"{p}: no such record file (and no checkpoint {ckpt.name})")
    text = read_text_file(source, MAX_RECORD_BYTES, what="record", error=RecordError)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and ints too long to convert
        raise RecordError(f"{source}: not valid JSON ({exc})") from None
    record = RunRecord.from_dict(data, origin=str(source))
    if source.name.endswith(CHECKPOINT_SUFFIX):
        record.checkpoint = True
        if record.status == "running":
            record.status = "interrupted"
            record.warnings.append("read from a checkpoint: the run ended without finalising its record")
    return record
