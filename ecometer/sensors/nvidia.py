"""NVIDIA GPUs through NVML: the energy counter, a fine power timeline and per-process shares.

The NVML calls themselves, their units and their errors are :mod:`ecometer.sensors.nvml_device`;
counter plausibility and bridging are :mod:`ecometer.energy.counters`. This module is the policy:
what to read when, the power timeline's buffering and integration, how each GPU's energy is
obtained, the process share, and what the record says about it.

Energy (:meth:`NvmlSensor.read_counters`)
    ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since driver load, Volta and later), returned
    as joules since :meth:`NvmlSensor.open`. One call costs ~4 ms on an H100 and the counter
    advances every ~100 ms: the meter reads it at window boundaries only. A GPU without a
    counter (pre-Volta, some vGPUs: ``NotSupported``), or whose counter never moves, is
    integrated from its power points instead (never reported as 0 J); one warning says so.
    A counter step that goes backwards (driver reset) or jumps implausibly is bridged with the
    integrated power of that interval and noted.

    How each GPU is measured is decided per GPU and kept as a list of spans
    (:class:`MethodSpan`: method, from when, why): a GPU starts ``counter`` or ``integrated``
    and may fall back once, from ``counter`` to ``integrated`` (stuck counter). The device
    facts say the current method (``energy_method``) and, after a fallback, when it happened
    (``energy_method_changes``); the sensor's :attr:`NvmlSensor.method` is ``integrated`` as
    soon as one GPU is.

    ``read_counters()`` returns a value for *every* device: the counter where there is one,
    the sensor's own trapezoid integral of its power points (extended to the call time by
    holding the last value) where there is none, so the meter can treat the sensor uniformly.

Power timeline (:meth:`NvmlSensor.poll`)
    Preferred: the driver's power sample buffer (``nvmlDeviceGetSamples``, 20 ms samples with
    wall-clock microsecond timestamps), converted to the monotonic clock with the offset
    ``time.time() - time.monotonic()`` measured at each pull and de-duplicated by timestamp.
    The buffer keeps only ~2.4 s, so the sampler must poll at least every
    :attr:`max_poll_interval_s`. A pull costs ~0.5 ms per GPU, so for GPUs that have an
    energy counter the buffer is pulled at most every ``buffer_interval_s`` (0.5 s): polls in
    between return nothing for that GPU (the samples arrive, complete, with the next pull).
    The instant power field is *not* mixed in between pulls because poll points must never go
    back in time. Pass ``poll(now, force=True)`` at a window boundary for an up-to-date
    timeline. GPUs without a counter are pulled at every poll and at every ``read_counters()``.

    Fallbacks, each with one warning and a note: the instant power field
    (``NVML_FI_DEV_POWER_INSTANT``, ~6 us), read at each poll; last,
    ``nvmlDeviceGetPowerUsage``, a 1-second average that read 9 % low on a bursty H100 load: a
    diagnostic timeline only, and for a GPU without a counter an energy figure with wide,
    one-sided uncertainty, said loudly.

Per-process share (``scope="process"``, :meth:`NvmlSensor.share`)
    SM utilisation of this process tree's PIDs (psutil) over all processes' SM utilisation
    on each GPU, from ``nvmlDeviceGetProcessUtilization``; while a GPU is idle, or where that
    call is unsupported, the share of used GPU memory among compute processes
    (``nvmlDeviceGetComputeRunningProcesses``). Where NVML's PIDs belong to another PID
    namespace (a container), no attribution is possible: the share is 1.0 and the notes say
    so. An attribution, not a measurement.

``CUDA_VISIBLE_DEVICES`` is mapped by :mod:`ecometer.sensors.gpu_select`; device ids are
``gpu:<CUDA-visible index>``. MIG instances have no energy counter or power reading of their
own: the parent GPU is measured (once, however many of its instances are visible).
Constants (uncertainties, intervals) live in ``ecometer/data/nvml.json`` with their sources.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ecometer.energy.counters import BACKWARDS, BridgedCounter
from ecometer.errors import (
    GPUBindingMissing,
    GPUDriverMissing,
    GPUError,
    GPUNoPermission,
    GPUNotSupported,
    InputError,
    SensorUnavailable,
)
from ecometer.files import datafiles
from ecometer.record.estimate import Estimate
from ecometer.record.units import UNITS
from ecometer.sensors import gpu_select
from ecometer.sensors.base import Device, Sensor, check_scope, declared_factor
from ecometer.sensors.nvml_device import Nvml, NvmlDevice

log = logging.getLogger(__name__)

SOURCE_BUFFER = "sample_buffer"
SOURCE_INSTANT = "instant_field"
SOURCE_POWER_USAGE = "power_usage_1s_average"
COUNTER = "counter"
INTEGRATED = "integrated"
_PENDING_CAP = 50_000  # points held for a sampler that has not polled; oldest dropped beyond
_J_PER_MJ = UNITS["mJ"].factor
_W_PER_MW = UNITS["mW"].factor


def constants() -> dict[str, Any]:
    """The NVML sensor's constants from ``ecometer/data/nvml.json`` (with sources; cached, do not mutate)."""
    return datafiles.load("nvml")


def _const(group: str, key: str) -> float:
    return float(constants()[group][key]["value"])


@dataclass(frozen=True)
class MethodSpan:
    """How a GPU's energy is obtained from ``since_s`` (s after open) on, and why."""

    method: str  # COUNTER or INTEGRATED
    since_s: float
    why: str

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "at_s": round(self.since_s, 3), "why": self.why}


class PowerTimeline:
    """One GPU's power points on the monotonic clock, their trapezoid integral, and the points
    not yet handed to the sampler (bounded)."""

    def __init__(self) -> None:
        self.last_t: float | None = None
        self.last_w = 0.0
        self.energy_j = 0.0  # trapezoid integral (J) of the points so far
        self.pending: list[tuple[float, float]] = []

    def add(self, t: float, w: float) -> None:
        """A point ``(t s, w W)``; dropped unless after the last one."""
        if self.last_t is not None:
            if t <= self.last_t:
                return
            self.energy_j += (t - self.last_t) * (w + self.last_w) / 2.0
        self.last_t, self.last_w = t, w
        self.pending.append((t, w))
        if len(self.pending) > _PENDING_CAP:
            del self.pending[: len(self.pending) - _PENDING_CAP]

    def energy_at(self, now: float) -> float:
        """Integrated energy (J), held at the last power value up to ``now``."""
        if self.last_t is None or now <= self.last_t:
            return self.energy_j
        return self.energy_j + self.last_w * (now - self.last_t)

    def take(self) -> list[tuple[float, float]]:
        """The points added since the last call."""
        out, self.pending = self.pending, []
        return out


@dataclass
class _Gpu:
    """State of one measured GPU."""

    id: str
    vis: gpu_select.VisibleGpu
    dev: NvmlDevice
    name: str
    uuid: str
    power_limit_w: float | None
    mig_mode: str
    mig_instances: list[str]
    cuda_indices: list[int]
    counter: BridgedCounter | None = None  # None: no usable counter at open
    methods: list[MethodSpan] = field(default_factory=list)
    source: str | None = None
    instant_ok: bool = False
    # power timeline
    timeline: PowerTimeline = field(default_factory=PowerTimeline)
    last_ts_us: int = 0
    last_pull_t: float = -math.inf
    lost_s: float = 0.0
    poll_errors: int = 0
    # process share
    proc_util_ok: bool = True
    proc_last_ts: int = 0
    share: float = 1.0
    share_basis: str = "whole device"

    @property
    def energy_method(self) -> str:
        return self.methods[-1].method if self.methods else INTEGRATED

    @property
    def counting(self) -> bool:
        return self.energy_method == COUNTER


class NvmlSensor(Sensor):
    """NVIDIA GPUs through NVML (component ``gpu``; device ids ``gpu:<CUDA-visible index>``).

    ``gpus``: ``"auto"`` (every CUDA-visible GPU) or a list of CUDA-visible indices / GPU or
    MIG UUIDs (prefixes allowed). ``scope``: ``"machine"`` (whole devices) or ``"process"``
    (see :meth:`share`). ``nvml``: the ``pynvml`` module or a stand-in (imported lazily in
    :meth:`open` when ``None``). ``buffer_interval_s``: least time between sample-buffer pulls
    for GPUs with a counter (default from the data file, 0.5 s; 0 pulls at every poll).
    ``clock``/``wall_clock``: monotonic and wall clocks in seconds (for tests).
    """

    name = "nvml"
    component = "gpu"
    pollable = True

    def __init__(
        self,
        gpus: str | list[int | str] = "auto",
        scope: str = "machine",
        nvml: Any | None = None,
        *,
        buffer_interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._request = gpu_select.check_request(gpus)
        if buffer_interval_s is not None and not (0 <= buffer_interval_s <= self.max_poll_interval_s):
            raise InputError(
                f"buffer_interval_s={buffer_interval_s!r}: expected 0 .. {self.max_poll_interval_s} s "
                "(the driver's sample buffer holds only ~2.4 s)"
            )
        self.scope = check_scope(scope)
        self._module = nvml
        self._lib: Nvml | None = None
        self._buffer_interval = (
            _const("sampling", "buffer_pull_interval_s") if buffer_interval_s is None else float(buffer_interval_s)
        )
        self._clock = clock
        self._wall = wall_clock
        self._lock = threading.RLock()
        self._gpus: list[_Gpu] = []
        self._notes: list[str] = []
        self._warned: set[str] = set()
        self._inited = False
        self._opened = False
        self._t_open = 0.0
        self._driver = ""
        self._share_t: float | None = None
        self._poll_cost_s = 0.0
        self._polls = 0

    # ------------------------------------------------------------------ properties
    @property
    def method(self) -> str:  # type: ignore[override]
        """``"integrated"`` as soon as one GPU's energy is integrated, else ``"counter"``."""
        return INTEGRATED if any(not g.counting for g in self._gpus) else COUNTER

    @property
    def max_poll_interval_s(self) -> float:
        """The sampler must call :meth:`poll` at least this often (the buffer holds ~2.4 s)."""
        return _const("sampling", "max_poll_interval_s")

    @property
    def buffer_interval_s(self) -> float:
        """Least time between sample-buffer pulls for GPUs that have an energy counter."""
        return self._buffer_interval

    @property
    def cost_hint(self) -> float | None:
        """Mean measured cost of one :meth:`poll` in seconds (``None`` before the first)."""
        return self._poll_cost_s / self._polls if self._polls else None

    def device_methods(self) -> dict[str, str]:
        """Per device: ``"counter"`` or ``"integrated"`` (now)."""
        return {g.id: g.energy_method for g in self._gpus}

    def method_history(self) -> dict[str, list[MethodSpan]]:
        """Per device: how its energy was obtained, span by span since open."""
        return {g.id: list(g.methods) for g in self._gpus}

    # ------------------------------------------------------------------ helpers
    def _warn(self, key: str, message: str, note: str | None = None) -> None:
        """One warning per key, and the message (or ``note``) recorded in the notes."""
        if key in self._warned:
            return
        self._warned.add(key)
        log.warning("%s", message)
        self._note(note or message)

    def _note(self, text: str) -> None:
        if text not in self._notes:
            self._notes.append(text)

    def _use(self, g: _Gpu, method: str, now: float, why: str) -> None:
        """From ``now`` on, ``g``'s energy is obtained by ``method`` (recorded, with why)."""
        g.methods.append(MethodSpan(method, max(now - self._t_open, 0.0), why))

    def _offset(self) -> float:
        """Wall clock minus monotonic clock, now (s)."""
        m0 = self._clock()
        w = self._wall()
        m1 = self._clock()
        return w - (m0 + m1) / 2

    # ------------------------------------------------------------------ open / close
    def open(self) -> None:
        if self._opened:
            return
        lib = self._lib = Nvml(self._module)
        try:
            lib.init()
        except GPUError as exc:
            raise SensorUnavailable(f"NVML: cannot initialise ({exc}): {self._init_hint(lib, exc)}") from exc
        self._inited = True
        try:
            self._open_devices(lib)
        except GPUError as exc:  # a call every GPU must answer (count, handle, UUID, name) failed
            self.close()
            raise SensorUnavailable(f"NVML: listing the GPUs failed ({exc})") from exc
        except BaseException:
            self.close()
            raise
        self._opened = True

    @staticmethod
    def _init_hint(lib: Nvml, exc: GPUError) -> str:
        if isinstance(exc, GPUDriverMissing):
            if exc.code == getattr(lib.module, "NVML_ERROR_LIBRARY_NOT_FOUND", None):
                return "libnvidia-ml.so.1 was not found: no NVIDIA driver on this machine (or not in the container)"
            return "the NVIDIA kernel driver is not loaded (no GPU, or the driver is not installed)"
        if isinstance(exc, GPUNoPermission):
            return "no permission to open /dev/nvidia*: run as a user in the video group or grant access"
        return "check that an NVIDIA driver is installed and 'nvidia-smi' works"

    def _open_devices(self, lib: Nvml) -> None:
        count = lib.device_count()
        if count == 0:
            raise SensorUnavailable("NVML: no NVIDIA GPU found on this machine")
        try:
            self._driver = lib.driver_version()
        except GPUError:
            self._driver = ""
        devs = [lib.device(i) for i in range(count)]
        physical = [gpu_select.PhysicalGpu(i, d.uuid(), d.name()) for i, d in enumerate(devs)]
        mig_modes = [self._mig_mode(d) for d in devs]
        env = os.environ.get("CUDA_VISIBLE_DEVICES")
        migs: list[gpu_select.MigInstance] = []
        if "enabled" in mig_modes or (env is not None and "MIG-" in env):
            migs = self._list_migs(devs, mig_modes)
        sel = gpu_select.visible_gpus(physical, migs, env, os.environ.get("CUDA_DEVICE_ORDER"))
        for text in sel.notes:
            self._note(text)
        if not sel.gpus:
            why = sel.notes[-1] if sel.notes else "NVML lists no GPU"
            raise SensorUnavailable(f"NVML: no GPU is visible to this process: {why}")
        chosen = gpu_select.choose(sel.gpus, self._request)
        if not chosen:
            raise SensorUnavailable("NVML: gpus=[] selects no GPU")
        by_parent: dict[int, list[gpu_select.VisibleGpu]] = {}
        for vis in chosen:
            by_parent.setdefault(vis.nvml_index, []).append(vis)
        self._t_open = self._clock()
        for nvml_index, group in by_parent.items():
            g = _Gpu(
                id=f"gpu:{group[0].cuda_index}",
                vis=group[0],
                dev=devs[nvml_index],
                name=physical[nvml_index].name,
                uuid=physical[nvml_index].uuid,
                power_limit_w=self._power_limit(devs[nvml_index]),
                mig_mode=mig_modes[nvml_index],
                mig_instances=[v.mig_uuid for v in group if v.mig_uuid],
                cuda_indices=[v.cuda_index for v in group],
            )
            if self._open_gpu(g, group):
                self._gpus.append(g)
        if not self._gpus:
            raise SensorUnavailable("NVML: no selected GPU offers an energy counter or a power reading")
        self._warn_integrated()
        if self.scope == "process":
            self._note(self._attribution_text())

    def _open_gpu(self, g: _Gpu, group: list[gpu_select.VisibleGpu]) -> bool:
        """Probe one GPU; whether it can be measured at all."""
        self._mig_notes(g, group)
        self._probe_counter(g)
        self._probe_power(g)
        if self.scope == "process":
            self._probe_process(g)
        if g.source is None and g.counter is None:
            self._warn(
                f"excluded:{g.id}",
                f"NVML: {g.id} ({g.name}) offers neither an energy counter nor any power reading; "
                "its energy is NOT measured and not included (update the NVIDIA driver)",
            )
            return False
        if g.source is None:
            self._note(f"{g.id}: no power reading in NVML: energy from the counter, but no power timeline")
        return True

    def _warn_integrated(self) -> None:
        integrated = [g for g in self._gpus if not g.counting]
        if integrated:
            self._warn(
                "integrated",
                "NVML: no usable energy counter on "
                + ", ".join(f"{g.id} ({g.name})" for g in integrated)
                + ": their energy is integrated from power samples (method 'integrated', wider uncertainty); "
                "the counter needs a Volta or newer GPU on a bare-metal or fully passed-through driver",
            )

    @staticmethod
    def _mig_mode(dev: NvmlDevice) -> str:
        try:
            return "enabled" if dev.mig_enabled() else "disabled"
        except GPUError:
            return "unsupported"

    @staticmethod
    def _list_migs(devs: list[NvmlDevice], modes: list[str]) -> list[gpu_select.MigInstance]:
        out: list[gpu_select.MigInstance] = []
        for parent, (dev, mode) in enumerate(zip(devs, modes, strict=True)):
            if mode != "enabled":
                continue
            try:
                n = dev.max_mig_device_count()
            except GPUError:
                continue
            for i in range(n):
                try:
                    mig = dev.mig_device(i)
                    uuid = mig.uuid()
                except GPUError:
                    continue
                gi = ci = None
                try:
                    gi, ci = mig.gpu_instance_id(), mig.compute_instance_id()
                except GPUError:
                    pass
                out.append(gpu_select.MigInstance(uuid, parent, gi, ci))
        return out

    def _mig_notes(self, g: _Gpu, group: list[gpu_select.VisibleGpu]) -> None:
        if g.mig_instances:
            self._note(
                f"{g.id} is MIG instance(s) {', '.join(g.mig_instances)} of GPU {g.uuid}: NVML has no energy counter "
                "or power reading per MIG instance, so the figures are the whole parent GPU's, including any other "
                "instances' work"
            )
        elif g.mig_mode == "enabled":
            self._note(f"{g.id} ({g.uuid}) has MIG enabled: the figures are the whole GPU's, across all its instances")
        if len(group) > 1:
            others = ", ".join(f"gpu:{v.cuda_index}" for v in group[1:])
            self._note(f"{others} share(s) the physical GPU of {g.id}: measured once, as {g.id}")

    @staticmethod
    def _power_limit(dev: NvmlDevice) -> float | None:
        """Enforced power limit (W); the management limit with bindings that lack the enforced one."""
        try:
            return dev.enforced_power_limit_mw() * _W_PER_MW
        except GPUBindingMissing:
            pass
        except GPUError:
            return None
        try:
            return dev.power_management_limit_mw() * _W_PER_MW
        except GPUError:
            return None

    def _probe_counter(self, g: _Gpu) -> None:
        now = self._clock()
        try:
            raw_mj = g.dev.total_energy_mj()
        except GPUBindingMissing:
            self._note(f"{g.id}: this nvidia-ml-py has no nvmlDeviceGetTotalEnergyConsumption; upgrade nvidia-ml-py")
            self._use(g, INTEGRATED, now, "the bindings lack the energy counter")
            return
        except GPUError as exc:
            why = "not supported by this GPU/driver" if isinstance(exc, GPUNotSupported) else f"failed ({exc})"
            self._note(f"{g.id}: energy counter (nvmlDeviceGetTotalEnergyConsumption) {why}")
            self._use(g, INTEGRATED, now, f"energy counter {why}")
            return
        g.counter = BridgedCounter(raw_mj * _J_PER_MJ, now, 0.0)
        self._use(g, COUNTER, now, "NVML energy counter")

    def _probe_power(self, g: _Gpu) -> None:
        """Pick the power source: sample buffer, else instant field, else the 1 s average."""
        now = self._clock()
        w0 = self._instant_w(g)
        g.instant_ok = w0 is not None
        try:
            samples = g.dev.power_samples(0)
        except GPUBindingMissing as exc:
            self._note(str(exc))
        except GPUError as exc:
            self._note(f"{g.id}: driver power sample buffer unavailable ({exc})")
        else:
            g.source = SOURCE_BUFFER
            newest = max(samples, key=lambda s: s.timestamp_us, default=None)
            if newest is not None:
                g.last_ts_us = newest.timestamp_us
                w0 = newest.power_mw * _W_PER_MW if w0 is None else w0
        if g.source is None and g.instant_ok:
            g.source = SOURCE_INSTANT
            self._warn(
                f"instant:{g.id}",
                f"NVML: {g.id} has no driver power sample buffer; its power timeline is the instant power field "
                "read at each poll (coarser than the buffer's 20 ms samples)",
            )
        if g.source is None:
            w = self._power_usage_w(g)
            if w is not None:
                g.source = SOURCE_POWER_USAGE
                w0 = w if w0 is None else w0
                use = "a diagnostic timeline only (energy from the counter)" if g.counter else "its ENERGY too"
                self._warn(
                    f"power_usage:{g.id}",
                    f"NVML: {g.id} offers neither the power sample buffer nor the instant power field: falling back "
                    f"to nvmlDeviceGetPowerUsage, a 1-second AVERAGE that reads low on bursty loads, for {use}; "
                    "update the NVIDIA driver and nvidia-ml-py for better power readings",
                )
        g.last_pull_t = now
        if w0 is not None and g.source is not None:
            g.timeline.add(now, w0)

    def _probe_process(self, g: _Gpu) -> None:
        try:
            samples = g.dev.process_utilization(0)
            g.proc_last_ts = max((s.timestamp_us for s in samples), default=0)
        except GPUError:
            g.proc_util_ok = False
            self._warn(
                f"procutil:{g.id}",
                f"NVML: per-process utilisation is not available on {g.id}; its process share is the share of "
                "used GPU memory among compute processes (a rougher attribution)",
            )

    def close(self) -> None:
        with self._lock:
            if self._inited and self._lib is not None:
                try:
                    self._lib.shutdown()
                except GPUError as exc:
                    log.debug("nvmlShutdown failed: %s", exc)
            self._inited = False
            self._opened = False

    # ------------------------------------------------------------------ power points
    def _instant_w(self, g: _Gpu) -> float | None:
        """Instant power (W) from the field API, or ``None`` if it cannot be read."""
        try:
            return g.dev.instant_power_mw() * _W_PER_MW
        except GPUBindingMissing as exc:
            self._note(f"{exc} (the instant power field)")
        except GPUError:
            pass
        return None

    def _power_usage_w(self, g: _Gpu) -> float | None:
        """The 1-second average power (W), or ``None`` if it cannot be read."""
        try:
            return g.dev.power_usage_mw() * _W_PER_MW
        except GPUError:
            return None

    def _collect(self, g: _Gpu, now: float, force: bool) -> None:
        if g.source == SOURCE_BUFFER:
            if force or now - g.last_pull_t >= self._buffer_interval:
                self._pull_buffer(g, now)
            return
        if g.source is None:
            return
        try:
            mw = g.dev.instant_power_mw() if g.source == SOURCE_INSTANT else g.dev.power_usage_mw()
        except GPUError as exc:
            g.poll_errors += 1
            self._warn(f"pollerr:{g.id}", f"NVML: reading the power of {g.id} failed ({exc}); points skipped")
            return
        g.timeline.add(now, mw * _W_PER_MW)

    def _pull_buffer(self, g: _Gpu, now: float) -> None:
        offset = self._offset()
        try:
            samples = g.dev.power_samples(g.last_ts_us)
        except GPUNotSupported as exc:
            g.source = SOURCE_INSTANT if g.instant_ok else None
            self._warn(
                f"buffer-lost:{g.id}",
                f"NVML: the power sample buffer of {g.id} stopped working ({exc}); "
                + ("using the instant power field" if g.instant_ok else "no power timeline from now on"),
            )
            return
        except GPUError as exc:
            g.poll_errors += 1
            self._warn(f"pollerr:{g.id}", f"NVML: pulling the power samples of {g.id} failed ({exc}); will retry")
            return
        previous = g.last_pull_t
        g.last_pull_t = now
        new = sorted((s.timestamp_us, s.power_mw) for s in samples if s.timestamp_us > g.last_ts_us)
        if not new:
            return
        span = _const("sampling", "sample_buffer_span_s")
        if math.isfinite(previous) and now - previous > span:
            g.lost_s += now - previous - span
            self._warn(
                f"overrun:{g.id}",
                f"NVML: {g.id}'s power sample buffer was pulled {now - previous:.1f} s after the previous pull, "
                f"but holds only ~{span} s: samples were lost (bridged by holding the last value); "
                f"poll at least every {self.max_poll_interval_s} s",
            )
        g.last_ts_us = new[-1][0]
        newest_t = new[-1][0] / 1e6 - offset
        if abs(newest_t - now) > _const("sampling", "timestamp_tolerance_s"):
            offset = new[-1][0] / 1e6 - now
            self._warn(
                f"clock:{g.id}",
                f"NVML: {g.id}'s power sample timestamps are not on the wall clock (newest is {newest_t - now:+.1f} s "
                "from the poll time); the newest sample is aligned to the poll time",
            )
        for ts, mw in new:
            g.timeline.add(min(ts / 1e6 - offset, now), mw * _W_PER_MW)

    def poll(self, now: float, *, force: bool = False) -> dict[str, list[tuple[float, float]]]:
        """New power points per device since the last call: ``[(t_monotonic_s, watts)]``.

        For GPUs with a counter, the sample buffer is pulled at most every
        :attr:`buffer_interval_s` unless ``force``; call at least every :attr:`max_poll_interval_s`.
        """
        t0 = time.perf_counter()
        out: dict[str, list[tuple[float, float]]] = {}
        with self._lock:
            for g in self._gpus:
                self._collect(g, now, force or not g.counting)
                if g.timeline.pending:
                    out[g.id] = g.timeline.take()
        self._poll_cost_s += time.perf_counter() - t0
        self._polls += 1
        return out

    # ------------------------------------------------------------------ energy
    def read_counters(self) -> dict[str, float] | None:
        """Energy (J) per device since :meth:`open`: counter, or integrated where there is none."""
        if not self._opened:
            return None
        out: dict[str, float] = {}
        with self._lock:
            now = self._clock()
            for g in self._gpus:
                if g.counting:
                    out[g.id] = self._read_counter(g, now)
                else:
                    self._collect(g, now, True)
                    out[g.id] = g.timeline.energy_at(now)
        return out

    def _read_counter(self, g: _Gpu, now: float) -> float:
        assert g.counter is not None
        integ = g.timeline.energy_at(now)
        try:
            raw_mj = g.dev.total_energy_mj()
        except GPUError as exc:
            self._warn(
                f"counter-err:{g.id}",
                f"NVML: reading {g.id}'s energy counter failed ({exc}); until it works again the energy since the "
                "last good reading is integrated from power samples",
            )
            return g.counter.provisional(integ)
        step = g.counter.update(raw_mj * _J_PER_MJ, now, integ)
        if step.bridged:
            kind = "reset" if step.anomaly == BACKWARDS else "jump"
            self._warn(
                f"{kind}:{g.id}",
                f"NVML: {g.id}'s {step.describe()}: the energy of that interval is taken from the integrated power",
            )
            self._note(f"{g.id}: energy counter {kind}(s) bridged with integrated power (latest: {step.delta_j:.1f} J)")
        stuck = g.source is not None and g.counter.stuck(
            now,
            integ,
            _const("heuristics", "stuck_counter_min_s"),
            _const("heuristics", "stuck_counter_min_integrated_j"),
        )
        if not stuck:
            return g.counter.total_j
        self._use(g, INTEGRATED, now, "energy counter stuck")
        self._warn(
            f"stuck:{g.id}",
            f"NVML: {g.id}'s energy counter has not moved in {now - self._t_open:.1f} s while its power "
            f"readings show {integ:.0f} J (a vGPU or broken counter?): its energy is integrated from power samples "
            "instead (method 'integrated')",
        )
        return integ

    # ------------------------------------------------------------------ process share
    def share(self, now: float) -> dict[str, float]:
        """Share (0..1) of each GPU's energy attributed to this process tree (1.0 in machine scope).

        Recomputed at most every ``process_share_interval_s`` (data file); the meter multiplies
        energy increments by it.
        """
        with self._lock:
            if self.scope == "machine":
                return {g.id: 1.0 for g in self._gpus}
            interval = _const("heuristics", "process_share_interval_s")
            if self._share_t is None or now - self._share_t >= interval:
                self._share_t = now
                pids = _tree_pids()
                for g in self._gpus:
                    g.share, g.share_basis = self._device_share(g, pids)
            return {g.id: g.share for g in self._gpus}

    def _device_share(self, g: _Gpu, pids: set[int]) -> tuple[float, str]:
        if g.proc_util_ok:
            try:
                samples = g.dev.process_utilization(g.proc_last_ts)
            except GPUNotSupported as exc:
                samples = []
                g.proc_util_ok = False
                self._warn(
                    f"procutil:{g.id}",
                    f"NVML: per-process utilisation stopped working on {g.id} ({exc}); its process share is now "
                    "the share of used GPU memory among compute processes",
                )
            except GPUError as exc:
                self._warn(f"procerr:{g.id}", f"NVML: per-process utilisation of {g.id} failed ({exc})")
                return g.share, g.share_basis
            if samples:
                g.proc_last_ts = max(g.proc_last_ts, max(s.timestamp_us for s in samples))
            valid = [s for s in samples if 0 <= s.sm_util_pct <= 100]
            total = sum(s.sm_util_pct for s in valid)
            if total > 0:
                if _foreign({s.pid for s in valid}):
                    return self._foreign_share(g)
                mine = sum(s.sm_util_pct for s in valid if s.pid in pids)
                return min(1.0, mine / total), "SM utilisation"
        return self._memory_share(g, pids)

    def _memory_share(self, g: _Gpu, pids: set[int]) -> tuple[float, str]:
        try:
            procs = g.dev.compute_processes()
        except GPUError as exc:
            self._warn(
                f"procs:{g.id}",
                f"NVML: cannot list the processes on {g.id} ({exc}): its whole energy is attributed to this "
                "process (share 1.0): NOT a per-process figure",
            )
            return 1.0, "whole device (processes unknown)"
        if not procs:
            return 0.0, "no process on the GPU"
        if _foreign({p.pid for p in procs}):
            return self._foreign_share(g)
        if any(p.used_memory_bytes is None for p in procs) or sum(p.used_memory_bytes or 0 for p in procs) == 0:
            mine = sum(1 for p in procs if p.pid in pids)
            return mine / len(procs), "process count"
        total = float(sum(p.used_memory_bytes or 0 for p in procs))
        mine_mem = float(sum(p.used_memory_bytes or 0 for p in procs if p.pid in pids))
        return min(1.0, mine_mem / total), "GPU memory"

    def _foreign_share(self, g: _Gpu) -> tuple[float, str]:
        self._warn(
            f"pidns:{g.id}",
            f"NVML reports PIDs on {g.id} that do not exist in this PID namespace (a container?): no per-process "
            "attribution is possible; the whole device's energy is attributed to this process (share 1.0)",
        )
        return 1.0, "whole device (PID namespace mismatch)"

    def _attribution_text(self) -> str:
        return (
            "GPU energy x this process tree's share of each GPU (this process and its children, via psutil): "
            "its share of SM utilisation among all processes (nvmlDeviceGetProcessUtilization), or, while the GPU "
            "is idle or where per-process utilisation is unsupported, its share of used GPU memory among compute "
            "processes (nvmlDeviceGetComputeRunningProcesses). An attribution, not a measurement."
        )

    def attribution(self) -> str | None:
        if self.scope != "process":
            return None
        parts = [self._attribution_text()]
        bases = {g.id: g.share_basis for g in self._gpus}
        if bases:
            parts.append("Latest basis per device: " + ", ".join(f"{k}: {v}" for k, v in bases.items()) + ".")
        return " ".join(parts)

    # ------------------------------------------------------------------ description
    def devices(self) -> list[Device]:
        out = []
        for g in self._gpus:
            facts: dict[str, Any] = {
                "cuda_index": g.vis.cuda_index,
                "nvml_index": g.vis.nvml_index,
                "uuid": g.uuid,
                "name": g.name,
                "power_limit_w": g.power_limit_w,
                "driver_version": self._driver,
                "mig_mode": g.mig_mode,
                "counter_supported": g.counter is not None,
                "energy_method": g.energy_method,
                "power_source": g.source,
            }
            if len(g.methods) > 1:
                facts["energy_method_changes"] = [span.to_dict() for span in g.methods[1:]]
            if g.mig_instances:
                facts["mig_instances"] = list(g.mig_instances)
            if len(g.cuda_indices) > 1:
                facts["cuda_indices"] = list(g.cuda_indices)
            out.append(Device(g.id, g.name, facts))
        return out

    def uncertainty(self) -> Estimate:
        table = constants()["uncertainty"]
        integrated = [g for g in self._gpus if not g.counting]
        if not integrated:
            name = "counter"
            entry = table[name]
            basis = entry["basis"]
        else:
            usage = any(g.source == SOURCE_POWER_USAGE for g in integrated)
            name = "integrated_power_usage" if usage else "integrated"
            entry = table[name]
            ids = ", ".join(g.id for g in integrated)
            basis = f"{ids} integrated from power samples: {entry['basis']}"
            if len(integrated) < len(self._gpus):
                basis += "; the bounds of the integrated devices are applied to the whole sensor (conservative)"
        return declared_factor(entry, f"{basis} [{entry['source']}]", f"nvml.json uncertainty.{name}")

    def notes(self) -> list[str]:
        out = list(self._notes)
        for g in self._gpus:
            src = {
                SOURCE_BUFFER: "driver power sample buffer (~20 ms samples)",
                SOURCE_INSTANT: "instant power field, read at each poll",
                SOURCE_POWER_USAGE: "nvmlDeviceGetPowerUsage 1-second average (diagnostic)",
                None: "none",
            }[g.source]
            energy = "NVML energy counter" if g.counting else "integrated power samples"
            out.append(f"{g.id} ({g.name}): energy from {energy}; power timeline from {src}")
            for span in g.methods[1:]:
                out.append(f"{g.id}: energy {span.method} from {span.since_s:.1f} s after open on ({span.why})")
            if g.source == SOURCE_BUFFER and g.counting and self._buffer_interval > 0:
                out.append(
                    f"{g.id}: the power sample buffer is pulled every {self._buffer_interval:g} s (timeline points "
                    "arrive in batches; energy comes from the counter)"
                )
            if g.lost_s > 0:
                out.append(f"{g.id}: {g.lost_s:.1f} s of power samples were lost to late polls")
            if g.poll_errors:
                out.append(f"{g.id}: {g.poll_errors} power reading(s) failed")
        return out


def _tree_pids() -> set[int]:
    """PIDs of this process and all its descendants."""
    import psutil

    me = psutil.Process(os.getpid())
    pids = {me.pid}
    try:
        pids.update(c.pid for c in me.children(recursive=True))
    except psutil.Error as exc:
        log.debug("listing child processes failed: %s", exc)
    return pids


def _foreign(pids: set[int]) -> bool:
    """True when none of NVML's PIDs exists here: they come from another PID namespace."""
    import psutil

    return bool(pids) and not any(psutil.pid_exists(p) for p in pids)


def detect_gpus(
    gpus: str | list[int | str] = "auto", scope: str = "machine", nvml: Any | None = None
) -> tuple[NvmlSensor | None, list[str]]:
    """An opened :class:`NvmlSensor` (or ``None``) and lines explaining what NVML offers here."""
    sensor = NvmlSensor(gpus=gpus, scope=scope, nvml=nvml)
    try:
        sensor.open()
    except SensorUnavailable as exc:
        return None, [str(exc)]
    lines = [f"NVML: {len(sensor.devices())} GPU(s), driver {sensor._driver or 'unknown'}, method {sensor.method}"]
    for d in sensor.devices():
        f = d.facts
        energy = "energy counter" if f["energy_method"] == "counter" else "integrated power (no usable counter)"
        limit = f" limit {f['power_limit_w']:g} W," if f["power_limit_w"] else ""
        lines.append(
            f"{d.id}: {d.model} (NVML index {f['nvml_index']}, {f['uuid']}),{limit} {energy}, "
            f"timeline from {f['power_source'] or 'nothing'}"
        )
    lines.extend(sensor.notes())
    return sensor, lines
