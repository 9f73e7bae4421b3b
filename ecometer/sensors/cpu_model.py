"""Modelled CPU power where no energy counter exists (VMs, containers, CI machines).

The model, with every constant in ``ecometer/data/cpu_power.json`` (sources there)::

    P(t) = n_threads x W_thread x curve(u(t))          [W]

* ``u``: CPU utilisation (0..1) of the machine or VM between two polls, from ``/proc/stat``
  deltas: busy = user + nice + system + irq + softirq, over busy + idle + iowait + steal.
  Never blocking: one ``pread`` of ``/proc/stat`` per poll on a file kept open.
* ``curve``: package power as a fraction of rated TDP versus utilisation (Teads 2021:
  0.12 at idle, 0.32 at 10 %, 0.75 at 50 %, 1.02 at 100 %), linearly interpolated.
* ``W_thread``: the detected CPU's TDP divided by its hardware threads per socket. The CPU
  is found by model name (exact SKU), else by CPUID vendor/family/model (its generation:
  the median over that generation's SKUs, with their min..max as an uncertainty), else a
  generic per-thread figure with wide bounds. Hypervisors often hide the model name ("AMD
  EPYC", "Intel(R) Xeon(R) Processor") but not the CPUID family and model.
* ``n_threads``: logical CPUs visible. On a VM these are its vCPUs, i.e. its share of the
  host's threads (vCPUs / host threads per socket of the socket's TDP). On bare metal with a
  known SKU the whole sockets count (sockets x TDP), so disabled SMT does not halve power.

``scope="process"``: :meth:`CpuModelSensor.share` gives the process tree's share of the
machine's busy CPU time in each interval; the meter applies it. That is an attribution, not
a measurement, and :meth:`attribution` says so.

The ``/proc/cpuinfo`` parser here is also used by ``rapl`` and ``ecometer.measuring.hostinfo``; the
utilisation and process-tree readings are in :mod:`ecometer.sensors.usage`, the open/poll/share
skeleton in :class:`~ecometer.sensors.model.UtilisationModelSensor`.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from ecometer.files import datafiles
from ecometer.record.estimate import Estimate
from ecometer.sensors.base import Device, declared_factor, relative_factor
from ecometer.sensors.model import UtilisationModelSensor
from ecometer.sensors.usage import PROCESS_ATTRIBUTION, HostUsage, IntervalUsage

log = logging.getLogger("ecometer.sensors")


# ---- /proc/cpuinfo ---------------------------------------------------------------------
@dataclass(frozen=True)
class CpuInfo:
    """What ``/proc/cpuinfo`` says about the CPU (first processor block plus counts)."""

    model_name: str = "unknown"
    vendor: str = ""
    family: int | None = None
    model: int | None = None
    logical_cpus: int = 1
    sockets: int = 1
    hypervisor: bool = False


def parse_cpuinfo(text: str) -> CpuInfo:
    """Parse the text of ``/proc/cpuinfo`` (x86 or Arm; missing fields stay unknown)."""
    first: dict[str, str] = {}
    processors = 0
    sockets: set[str] = set()
    flags = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "processor":
            processors += 1
        elif key == "physical id":
            sockets.add(value)
        elif key == "flags" and not flags:
            flags = value
        if processors <= 1 and key not in first:
            first[key] = value

    def as_int(key: str) -> int | None:
        raw = first.get(key, "")
        try:
            return int(raw, 0)
        except ValueError:
            return None

    model_name = first.get("model name") or first.get("cpu model") or first.get("hardware") or "unknown"
    return CpuInfo(
        model_name=model_name,
        vendor=first.get("vendor_id", first.get("cpu implementer", "")),
        family=as_int("cpu family"),
        model=as_int("model"),
        logical_cpus=processors or (os.cpu_count() or 1),
        sockets=max(len(sockets), 1),
        hypervisor="hypervisor" in flags.split(),
    )


PROC_CPUINFO = "/proc/cpuinfo"


def read_cpuinfo(path: str = PROC_CPUINFO) -> CpuInfo:
    """Parse ``path``; without it (not Linux) fall back to ``platform`` and ``os.cpu_count``.

    The default ``/proc/cpuinfo`` is read once per process (cached); other paths every call.
    """
    if path == PROC_CPUINFO:
        return _proc_cpuinfo()
    return _read_cpuinfo(path)


@cache
def _proc_cpuinfo() -> CpuInfo:
    return _read_cpuinfo(PROC_CPUINFO)


def _read_cpuinfo(path: str) -> CpuInfo:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_cpuinfo(fh.read())
    except OSError:
        import platform

        return CpuInfo(model_name=platform.processor() or "unknown", logical_cpus=os.cpu_count() or 1)


# ---- load curve and CPU power lookup ---------------------------------------------------
class LoadCurve:
    """Piecewise-linear power fraction (of TDP) versus utilisation ``u`` in 0..1."""

    def __init__(self, points: list[tuple[float, float]] | list[list[float]]) -> None:
        pts = [(float(u), float(f)) for u, f in points]
        us = [u for u, _ in pts]
        if len(pts) < 2 or us != sorted(us) or len(set(us)) != len(us) or us[0] != 0.0 or us[-1] != 1.0:
            raise ValueError(f"load curve points {points!r}: expected increasing utilisations from 0.0 to 1.0")
        if any(f < 0 or not math.isfinite(f) for _, f in pts):
            raise ValueError(f"load curve points {points!r}: power fractions must be finite and >= 0")
        self.points = pts

    def __call__(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        pts = self.points
        for (u0, f0), (u1, f1) in zip(pts, pts[1:], strict=False):
            if u <= u1:
                return f0 + (f1 - f0) * (u - u0) / (u1 - u0)
        return pts[-1][1]


@dataclass(frozen=True)
class CpuPowerSpec:
    """Rated power per hardware thread of the detected CPU, and how it was found."""

    w_per_thread: float
    w_low: float
    w_high: float
    n_threads: int
    basis: str  # "sku" | "generation" | "generic"
    label: str
    sku: str | None = None
    generation: str | None = None
    tdp_w: float | None = None
    threads_per_socket: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def rated_w(self) -> float:
        """Rated power (W) of the part of the CPU(s) that is measured: n_threads x W_thread."""
        return self.n_threads * self.w_per_thread


def _median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def _generation_for(info: CpuInfo, data: dict[str, Any]) -> dict[str, Any] | None:
    if info.family is None or info.model is None:
        return None
    for gen in data["generations"]:
        if gen["vendor"] != info.vendor or gen["family"] != info.family:
            continue
        if any(lo <= info.model <= hi for lo, hi in gen["models"]):
            return gen
    return None


def lookup_cpu(info: CpuInfo, data: dict[str, Any] | None = None) -> CpuPowerSpec:
    """The power figures for ``info`` from the CPU table (``cpu_power.json`` by default)."""
    data = data if data is not None else datafiles.load("cpu_power.json")
    n = max(int(info.logical_cpus), 1)
    gens = {g["id"]: g for g in data["generations"]}
    vm_note = (
        "VM: each vCPU is counted as one hardware thread of the host CPU (its share of the socket's TDP); "
        "if the host runs without SMT a vCPU is a whole core and this underestimates"
    )
    for sku in data["skus"]:
        if re.search(sku["pattern"], info.model_name):
            per = sku["tdp_w"] / sku["threads"]
            notes: list[str] = []
            if info.hypervisor:
                count = n
                notes.append(vm_note + f" ({n} of {sku['threads']} threads per socket)")
            else:
                count = info.sockets * sku["threads"]
                if count != n:
                    notes.append(
                        f"bare metal: {info.sockets} socket(s) x {sku['threads']} threads counted although "
                        f"{n} logical CPUs are online (SMT or CPUs disabled: the sockets' TDP still applies)"
                    )
            label = f"{sku['name']}: TDP {sku['tdp_w']:g} W / {sku['threads']} threads"
            return CpuPowerSpec(
                per,
                per,
                per,
                count,
                "sku",
                label,
                sku=sku["name"],
                generation=gens.get(sku["generation"], {}).get("name"),
                tdp_w=float(sku["tdp_w"]),
                threads_per_socket=int(sku["threads"]),
                notes=tuple(notes),
            )
    gen = _generation_for(info, data)
    if gen is not None:
        members = [s for s in data["skus"] if s["generation"] == gen["id"]]
        pers = [s["tdp_w"] / s["threads"] for s in members]
        central = _median(pers)
        names = ", ".join(s["name"].replace("AMD ", "").replace("Intel ", "") for s in members)
        label = (
            f"{gen['name']} (model name {info.model_name!r} is not an exact SKU; CPUID family {info.family} "
            f"model {info.model}): median {central:.2f} W per thread over {names} (range {min(pers):.2f}-{max(pers):.2f} W)"
        )
        notes = [vm_note] if info.hypervisor else []
        return CpuPowerSpec(
            central, min(pers), max(pers), n, "generation", label, generation=gen["name"], notes=tuple(notes)
        )
    g = data["generic"]
    label = (
        f"unknown CPU {info.model_name!r} (vendor {info.vendor or '?'}, family {info.family}, model {info.model}) "
        f"is not in ecometer/data/cpu_power.json: generic {g['w_per_thread']:g} W per thread "
        f"(range {g['w_low']:g}-{g['w_high']:g} W)"
    )
    return CpuPowerSpec(float(g["w_per_thread"]), float(g["w_low"]), float(g["w_high"]), n, "generic", label)


def spec_uncertainty(spec: CpuPowerSpec, data: dict[str, Any] | None = None) -> Estimate:
    """The CPU model's relative factor: the model's error times the per-thread TDP range of ``spec``.

    Both are stated bounds (distributions named in ``cpu_power.json``). For an exact SKU the
    factor is the model's bound itself (coverage 1); otherwise the two independent factors
    multiply, and their product is propagated by Monte Carlo into a 95 % interval.
    """
    data = data if data is not None else datafiles.load("cpu_power.json")
    table = data["uncertainty"]
    model = table["model"]
    basis = (
        f"modelled CPU power (utilisation x Teads 2021 load curve x TDP per thread): "
        f"±{model['rel_low'] * 100:.0f} % for the model ({model['distribution']})"
    )
    model_factor = declared_factor(model, basis, "cpu_power.json uncertainty.model")
    if spec.basis == "sku":
        return model_factor
    from ecometer.record.uncertainty import propagate, uniform_product

    tdp = relative_factor(
        1.0 - spec.w_low / spec.w_per_thread,
        spec.w_high / spec.w_per_thread - 1.0,
        "",
        distribution=table["tdp_range_distribution"],
    )
    basis += (
        f", times the per-thread TDP range {spec.w_low:.2f}-{spec.w_high:.2f} W ({spec.basis}, "
        f"{table['tdp_range_distribution']}); the product's 95 % interval"
    )
    if model_factor.distribution == tdp.distribution == "uniform":  # exact rule, no draws (no numpy at start)
        return uniform_product(model_factor, tdp, basis=basis + " (exact rule for two uniform factors)")
    return propagate(lambda m, t: m * t, {"m": model_factor, "t": tdp}, basis=basis + " (Monte Carlo)")


# ---- the sensor ------------------------------------------------------------------------
class CpuModelSensor(UtilisationModelSensor):
    """CPU power modelled from utilisation (method ``modelled``, one device ``"cpu"``).

    ``CpuModelSensor(scope="machine", *, cpuinfo=None, usage=None, data=None,
    clock=time.monotonic)``: ``cpuinfo`` overrides ``/proc/cpuinfo`` detection, ``usage``
    shares one :class:`~ecometer.sensors.usage.HostUsage` with other host sensors, ``data``
    overrides the ``cpu_power.json`` table (tests).
    """

    name = "cpu-model"
    component = "cpu"
    label = "CPU model"

    def __init__(
        self,
        scope: str = "machine",
        *,
        cpuinfo: CpuInfo | None = None,
        usage: HostUsage | None = None,
        data: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(scope, usage=usage, clock=clock)
        self._info = cpuinfo
        self._data = data
        self.spec: CpuPowerSpec | None = None
        self.curve: LoadCurve | None = None

    def prepare(self) -> None:
        data = self._data if self._data is not None else datafiles.load("cpu_power.json")
        self._data = data
        if self._info is None:
            self._info = read_cpuinfo()
        self.spec = lookup_cpu(self._info, data)
        self.curve = LoadCurve(data["load_curve"]["points"])

    def power_w(self, u: float) -> float:
        """Modelled power (W) of the measured CPUs at utilisation ``u`` (0..1)."""
        assert self.spec is not None and self.curve is not None, "open() first"
        return self.spec.rated_w * self.curve(u)

    def share_of(self, interval: IntervalUsage) -> float:
        """The tree's share of busy CPU time is its share of the modelled CPU power."""
        return interval.cpu_share

    def devices(self) -> list[Device]:
        info = self._info or CpuInfo()
        facts: dict[str, Any] = {"logical_cpus": info.logical_cpus, "vm": info.hypervisor}
        if self.spec is not None:
            facts.update(
                {
                    "threads_counted": self.spec.n_threads,
                    "w_per_thread": round(self.spec.w_per_thread, 4),
                    "power_basis": self.spec.basis,
                    "power_source": self.spec.label,
                }
            )
        return [Device("cpu", model=info.model_name, facts=facts)]

    def uncertainty(self) -> Estimate:
        if self.spec is None:
            data = self._data if self._data is not None else datafiles.load("cpu_power.json")
            self.spec = lookup_cpu(self._info or read_cpuinfo(), data)
        return spec_uncertainty(self.spec, self._data)

    def notes(self) -> list[str]:
        if self.spec is None:
            return []
        curve = self._data["load_curve"] if self._data else datafiles.load("cpu_power.json")["load_curve"]
        pts = ", ".join(f"{f:.0%} at {u:.0%}" for u, f in curve["points"])
        out = [
            f"CPU power modelled, not measured: {self.spec.n_threads} threads x {self.spec.w_per_thread:.3g} W "
            f"per thread x load curve (Teads 2021, fraction of TDP: {pts}; linear in between)",
            f"TDP per thread: {self.spec.label}",
        ]
        out.extend(self.spec.notes)
        return out

    def attribution(self) -> str | None:
        if self.scope != "process":
            return None
        return PROCESS_ATTRIBUTION.format(what="modelled CPU power", extra="")


__all__ = [
    "CpuInfo",
    "CpuModelSensor",
    "CpuPowerSpec",
    "LoadCurve",
    "lookup_cpu",
    "parse_cpuinfo",
    "read_cpuinfo",
    "spec_uncertainty",
]
