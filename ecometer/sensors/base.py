"""The sensor protocol: a thin, honest layer over one source of power or energy.

A sensor knows nothing of meters. It reports, per device:

* power points ``(t, watts)`` on the monotonic clock (``time.monotonic()`` seconds), pulled
  by the sampler thread at its interval (:meth:`Sensor.poll`), and
* optionally a cumulative hardware energy counter in joules since :meth:`Sensor.open`
  (:meth:`Sensor.read_counters`), wrap-corrected, read by the meter at window boundaries.

Its ``method`` says how its energy figure is obtained: ``counter`` when it has a counter,
otherwise ``integrated`` (measured power integrated over time) or ``modelled`` (power from a
model such as utilisation x load curve). Every sensor states its uncertainty as an
:class:`~ecometer.record.estimate.Estimate` of its *relative factor* (true energy / reported energy:
central 1.0) with the distribution and coverage its bound has, and the assumptions behind it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ecometer.errors import InputError
from ecometer.record.estimate import Estimate

COMPONENTS = ("gpu", "cpu", "dram")
#: what a sensor measures: whole devices, or this process tree's share of them (an attribution)
SCOPES = ("machine", "process")


def check_scope(scope: str) -> str:
    """``scope`` if it is one of :data:`SCOPES`, else :class:`~ecometer.errors.InputError`."""
    if scope not in SCOPES:
        raise InputError(f"scope {scope!r}: expected one of {', '.join(SCOPES)}")
    return scope


@dataclass(frozen=True)
class Device:
    """One measured device: ``id`` like ``"gpu:0"`` or ``"cpu:package-0"``; free-form facts."""

    id: str
    model: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "model": self.model, **self.facts}


def relative_factor(
    rel_low: float, rel_high: float, basis: str, *, distribution: str = "uniform", coverage: float | None = 1.0
) -> Estimate:
    """A sensor's relative factor: central 1.0, bounds ``1 - rel_low`` .. ``1 + rel_high``.

    ``distribution`` and ``coverage`` say what the bound is (see
    :data:`ecometer.record.estimate.DISTRIBUTIONS`): a stated bound is ``uniform`` or ``triangular``
    with coverage 1.0; a published range with a coverage interval is ``normal``/``lognormal``.
    Multiply a sensor's energy (J) by it to get that energy's estimate.
    """
    if distribution in ("uniform", "triangular", "exact"):
        coverage = 1.0
    if rel_low == 0 and rel_high == 0:
        return Estimate.exact(1.0, basis=basis)
    return Estimate(1.0, 1.0 - rel_low, 1.0 + rel_high, coverage=coverage, distribution=distribution, basis=basis)


def declared_factor(entry: Mapping[str, Any], basis: str, where: str) -> Estimate:
    """:func:`relative_factor` from a data-file entry ``{rel_low, rel_high, distribution[, coverage]}``.

    ``where`` names the entry (``"nvml.json uncertainty.counter"``) in the error raised when
    the entry does not say which distribution its bound has.
    """
    dist = entry.get("distribution")
    if not isinstance(dist, str):
        raise InputError(f"{where}: no 'distribution' (expected the name of the bound's distribution)")
    return relative_factor(
        float(entry["rel_low"]),
        float(entry["rel_high"]),
        basis,
        distribution=dist,
        coverage=entry.get("coverage", 1.0),
    )


class Sensor(ABC):
    """Base class of all sensors. Subclasses set ``name``, ``component`` and ``method``."""

    name: str = "sensor"
    component: str = "gpu"
    method: str = "integrated"
    #: whether poll() is cheap enough to call from the sampler at every tick
    pollable: bool = True

    def open(self) -> None:  # noqa: B027 - optional hook
        """Acquire handles. Raise :class:`SensorUnavailable` with the reason if unusable."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release handles. Must not raise."""

    @abstractmethod
    def devices(self) -> list[Device]:
        """The devices this sensor measures (valid after :meth:`open`)."""

    @abstractmethod
    def poll(self, now: float) -> dict[str, list[tuple[float, float]]]:
        """New power points since the last call, per device id: ``[(t_monotonic_s, watts)]``.

        ``now`` is the caller's ``time.monotonic()``. Points must be in time order and no
        earlier than points returned before. Return ``{}`` when there is nothing new.
        """

    def read_counters(self) -> dict[str, float] | None:
        """Cumulative energy (J) per device since :meth:`open`, or ``None`` without a counter."""
        return None

    @abstractmethod
    def uncertainty(self) -> Estimate:
        """The relative factor of this sensor's energy figures (see :func:`relative_factor`).

        One sensor's error over a whole run is one error: every figure it measured (each
        phase, each window) is multiplied by the same factor.
        """

    def notes(self) -> list[str]:
        """Assumptions and caveats, written into the record."""
        return []

    def attribution(self) -> str | None:
        """For process-scoped sensors: how the share was attributed (``None`` if whole device)."""
        return None

    def info(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "component": self.component,
            "method": self.method,
            "devices": [d.to_dict() for d in self.devices()],
            "notes": self.notes(),
        }
