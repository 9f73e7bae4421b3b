"""NVIDIA GPUs through NVML: the energy counter, a fine power timeline and per-process shares.

Energy (:meth:`NvmlSensor.read_counters`)
    ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since driver load, Volta and later), returned
    as joules since :meth:`NvmlSensor.open`. One call costs ~4 ms on an H100 and the counter
    advances every ~100 ms: the meter reads it at window boundaries only. A GPU without a
    counter (pre-Volta, some vGPUs: ``NotSupported``), or whose counter never moves, is
    integrated from its power points instead (never reported as 0 J); the sensor's ``method``
    is then ``"integrated"`` and one warning says so. A counter that goes backwards (driver
    reset) is bridged with the integrated power of that interval and noted.

    ``read_counters()`` returns a value for *every* device: the counter where there is one,
    the sensor's own trapezoid integral of its power points (extended to the call time by
    holding the last value) where there is none, so the meter can treat the sensor uniformly.
    Per-device methods are in each device's facts (``energy_method``).

Power timeline (:meth:`NvmlSensor.poll`)
    Preferred: the driver's power sample buffer, ``nvmlDeviceGetSamples(h,
    NVML_TOTAL_POWER_SAMPLES, last_seen)``: 20 ms samples with wall-clock microsecond
    timestamps, converted to the monotonic clock with the offset ``time.time() -
    time.monotonic()`` measured at each pull and de-duplicated by timestamp. The buffer keeps
    only ~2.4 s, so the sampler must poll at least every :attr:`max_poll_interval_s`. A pull
    costs ~0.5 ms per GPU, so for GPUs that have an energy counter the buffer is pulled at
    most every ``buffer_interval_s`` (0.5 s): polls in between return nothing for that GPU
    (the samples arrive, complete, with the next pull). The instant power field is *not*
    mixed in between pulls because poll points must never go back in time, and buffer
    samples older than an instant point would then have to be dropped. Pass
    ``poll(now, force=True)`` at a window boundary for an up-to-date timeline. GPUs without
    a counter are pulled at every poll and at every ``read_counters()``.

    Fallbacks, each with one warning and a note: the instant power field
    ``nvmlDeviceGetFieldValues(h, [NVML_FI_DEV_POWER_INSTANT])`` (~6 us), read at each poll;
    last, ``nvmlDeviceGetPowerUsage``, a 1-second average that read 9 % low on a bursty H100
    load: a diagnostic timeline only, and for a GPU without a counter an energy figure with
    wide, one-sided uncertainty, said loudly.

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
from types import ModuleType
from typing import Any

from ecometer import datafiles
from ecometer.errors import SensorUnavailable
from ecometer.sensors import gpu_select
from ecometer.sensors.base import Device, Sensor, Uncertainty

log = logging.getLogger(__name__)

SCOPES = ("machine", "process")
SOURCE_BUFFER = "sample_buffer"
SOURCE_INSTANT = "instant_field"
SOURCE_POWER_USAGE = "power_usage_1s_average"
_PENDING_CAP = 50_000  # points held for a sampler that has not polled; oldest dropped beyond


def constants() -> dict[str, Any]:
    """The NVML sensor's constants from ``ecometer/data/nvml.json`` (with sources; cached, do not mutate)."""
    return datafiles.load("nvml")


def _const(group: str, key: str) -> float:
    return float(constants()[group][key]["value"])


def _s(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@dataclass
class _Gpu:
    """State of one measured GPU."""

    id: str
    vis: gpu_select.VisibleGpu
    handle: Any
    name: str
    uuid: str
    power_limit_w: float | None
    mig_mode: str
    mig_instances: list[str]
    cuda_indices: list[int]
    has_counter: bool = False
    counter_supported: bool = False
    source: str | None = None
    instant_ok: bool = False
    # counter
    raw_open_mj: int = 0
    last_raw_mj: int = 0
    counter_j: float = 0.0
    integ_at_read: float = 0.0
    counter_resets: int = 0
    # power timeline
    last_ts_us: int = 0
    last_pull_t: float = -math.inf
    last_t: float | None = None
    last_w: float = 0.0
    integ_j: float = 0.0
    pending: list[tuple[float, float]] = field(default_factory=list)
    lost_s: float = 0.0
    poll_errors: int = 0
    # process share
    proc_util_ok: bool = True
    proc_last_ts: int = 0
    share: float = 1.0
    share_basis: str = "whole device"

    @property
    def energy_method(self) -> str:
        return "counter" if self.has_counter else "integrated"


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
    method = "counter"
    pollable = True

    def __init__(
        self,
        gpus: str | list[int | str] = "auto",
        scope: str = "machine",
        nvml: ModuleType | Any | None = None,
        *,
        buffer_interval_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        from ecometer.errors import InputError

        self._request = gpu_select.check_request(gpus)
        if scope not in SCOPES:
            raise InputError(f"scope={scope!r}: expected one of {', '.join(SCOPES)}")
        if buffer_interval_s is not None and not (0 <= buffer_interval_s <= self.max_poll_interval_s):
            raise InputError(
                f"buffer_interval_s={buffer_interval_s!r}: expected 0 .. {self.max_poll_interval_s} s "
                "(the driver's sample buffer holds only ~2.4 s)"
            )
        self.scope = scope
        self._nvml = nvml
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
        self.method = "counter"

    # ------------------------------------------------------------------ properties
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
        """Per device: ``"counter"`` or ``"integrated"``."""
        return {g.id: g.energy_method for g in self._gpus}

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

    def _code(self, name: str) -> int | None:
        value = getattr(self._nvml, name, None)
        return value if isinstance(value, int) else None

    def _err_is(self, exc: BaseException, *names: str) -> bool:
        value = getattr(exc, "value", None)
        return value is not None and any(self._code(n) == value for n in names)

    def _unsupported(self, exc: BaseException) -> bool:
        return self._err_is(exc, "NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_FUNCTION_NOT_FOUND")

    def _empty(self, exc: BaseException) -> bool:
        """No new samples: NVML says NOT_FOUND (pynvml may also raise with SUCCESS when 0)."""
        return self._err_is(exc, "NVML_ERROR_NOT_FOUND", "NVML_SUCCESS")

    @property
    def _error(self) -> type[BaseException]:
        err = getattr(self._nvml, "NVMLError", None)
        return err if isinstance(err, type) and issubclass(err, BaseException) else Exception

    def _fn(self, name: str) -> Callable[..., Any] | None:
        fn = getattr(self._nvml, name, None)
        return fn if callable(fn) else None

    def _value(self, value_type: int, value: Any) -> float:
        """A ``c_nvmlValue_t`` union read by its NVML value type."""
        by_type = {
            self._code("NVML_VALUE_TYPE_DOUBLE"): "dVal",
            self._code("NVML_VALUE_TYPE_UNSIGNED_INT"): "uiVal",
            self._code("NVML_VALUE_TYPE_UNSIGNED_LONG"): "ulVal",
            self._code("NVML_VALUE_TYPE_UNSIGNED_LONG_LONG"): "ullVal",
            self._code("NVML_VALUE_TYPE_SIGNED_LONG_LONG"): "sllVal",
            self._code("NVML_VALUE_TYPE_SIGNED_INT"): "siVal",
            self._code("NVML_VALUE_TYPE_UNSIGNED_SHORT"): "usVal",
        }
        return float(getattr(value, by_type.get(value_type) or "uiVal"))

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
        if self._nvml is None:
            try:
                import pynvml
            except ImportError as exc:
                raise SensorUnavailable(
                    f"NVML: the Python bindings are not installed ({exc}); install them with 'pip install nvidia-ml-py'"
                ) from exc
            self._nvml = pynvml
        nv = self._nvml
        try:
            nv.nvmlInit()
        except self._error as exc:
            raise SensorUnavailable(f"NVML: cannot initialise ({exc}): {self._init_hint(exc)}") from exc
        self._inited = True
        try:
            self._open_devices()
        except BaseException:
            self.close()
            raise
        self._opened = True

    def _init_hint(self, exc: BaseException) -> str:
        if self._err_is(exc, "NVML_ERROR_LIBRARY_NOT_FOUND"):
            return "libnvidia-ml.so.1 was not found: no NVIDIA driver on this machine (or not in the container)"
        if self._err_is(exc, "NVML_ERROR_DRIVER_NOT_LOADED"):
            return "the NVIDIA kernel driver is not loaded (no GPU, or the driver is not installed)"
        if self._err_is(exc, "NVML_ERROR_NO_PERMISSION"):
            return "no permission to open /dev/nvidia*: run as a user in the video group or grant access"
        return "check that an NVIDIA driver is installed and 'nvidia-smi' works"

    def _open_devices(self) -> None:
        nv = self._nvml
        count = int(nv.nvmlDeviceGetCount())
        if count == 0:
            raise SensorUnavailable("NVML: no NVIDIA GPU found on this machine")
        try:
            self._driver = _s(nv.nvmlSystemGetDriverVersion())
        except self._error:
            self._driver = ""
        handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        physical = []
        for i, h in enumerate(handles):
            physical.append(gpu_select.PhysicalGpu(i, _s(nv.nvmlDeviceGetUUID(h)), _s(nv.nvmlDeviceGetName(h))))
        mig_modes = [self._mig_mode(h) for h in handles]
        env = os.environ.get("CUDA_VISIBLE_DEVICES")
        migs: list[gpu_select.MigInstance] = []
        if "enabled" in mig_modes or (env is not None and "MIG-" in env):
            migs = self._list_migs(handles, mig_modes)
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
            first = group[0]
            h = handles[nvml_index]
            g = _Gpu(
                id=f"gpu:{first.cuda_index}",
                vis=first,
                handle=h,
                name=physical[nvml_index].name,
                uuid=physical[nvml_index].uuid,
                power_limit_w=self._power_limit(h),
                mig_mode=mig_modes[nvml_index],
                mig_instances=[v.mig_uuid for v in group if v.mig_uuid],
                cuda_indices=[v.cuda_index for v in group],
            )
            self._mig_notes(g, group)
            self._probe_counter(g)
            self._probe_power(g)
            if self.scope == "process":
                self._probe_process(g)
            if g.source is None and not g.has_counter:
                self._warn(
                    f"excluded:{g.id}",
                    f"NVML: {g.id} ({g.name}) offers neither an energy counter nor any power reading; "
                    "its energy is NOT measured and not included (update the NVIDIA driver)",
                )
                continue
            if g.source is None:
                self._note(f"{g.id}: no power reading in NVML: energy from the counter, but no power timeline")
            self._gpus.append(g)
        if not self._gpus:
            raise SensorUnavailable("NVML: no selected GPU offers an energy counter or a power reading")
        integrated = [g for g in self._gpus if not g.has_counter]
        self.method = "integrated" if integrated else "counter"
        if integrated:
            self._warn(
                "integrated",
                "NVML: no usable energy counter on "
                + ", ".join(f"{g.id} ({g.name})" for g in integrated)
                + ": their energy is integrated from power samples (method 'integrated', wider uncertainty); "
                "the counter needs a Volta or newer GPU on a bare-metal or fully passed-through driver",
            )
        if self.scope == "process":
            self._note(self._attribution_text())

    def _mig_mode(self, h: Any) -> str:
        fn = self._fn("nvmlDeviceGetMigMode")
        if fn is None:
            return "unsupported"
        try:
            current = fn(h)[0]
        except self._error:
            return "unsupported"
        return "enabled" if current == (self._code("NVML_DEVICE_MIG_ENABLE") or 1) else "disabled"

    def _list_migs(self, handles: list[Any], modes: list[str]) -> list[gpu_select.MigInstance]:
        nv = self._nvml
        out: list[gpu_select.MigInstance] = []
        for parent, (h, mode) in enumerate(zip(handles, modes, strict=True)):
            if mode != "enabled":
                continue
            try:
                n = int(nv.nvmlDeviceGetMaxMigDeviceCount(h))
            except self._error:
                continue
            for i in range(n):
                try:
                    mh = nv.nvmlDeviceGetMigDeviceHandleByIndex(h, i)
                    uuid = _s(nv.nvmlDeviceGetUUID(mh))
                except self._error:
                    continue
                gi = ci = None
                try:
                    gi = int(nv.nvmlDeviceGetGpuInstanceId(mh))
                    ci = int(nv.nvmlDeviceGetComputeInstanceId(mh))
                except (self._error, AttributeError):
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

    def _power_limit(self, h: Any) -> float | None:
        fn = self._fn("nvmlDeviceGetEnforcedPowerLimit") or self._fn("nvmlDeviceGetPowerManagementLimit")
        if fn is None:
            return None
        try:
            return float(fn(h)) / 1000.0
        except self._error:
            return None

    def _probe_counter(self, g: _Gpu) -> None:
        fn = self._fn("nvmlDeviceGetTotalEnergyConsumption")
        if fn is None:
            self._note(f"{g.id}: this nvidia-ml-py has no nvmlDeviceGetTotalEnergyConsumption; upgrade nvidia-ml-py")
            return
        try:
            raw = int(fn(g.handle))
        except self._error as exc:
            why = "not supported by this GPU/driver" if self._unsupported(exc) else f"failed ({exc})"
            self._note(f"{g.id}: energy counter (nvmlDeviceGetTotalEnergyConsumption) {why}")
            return
        g.has_counter = g.counter_supported = True
        g.raw_open_mj = g.last_raw_mj = raw

    def _probe_power(self, g: _Gpu) -> None:
        """Pick the power source: sample buffer, else instant field, else the 1 s average."""
        nv = self._nvml
        now = self._clock()
        w0: float | None = None
        fid = self._code("NVML_FI_DEV_POWER_INSTANT")
        if fid is not None and self._fn("nvmlDeviceGetFieldValues"):
            w0 = self._instant(g)
            g.instant_ok = w0 is not None
        else:
            self._note("this nvidia-ml-py lacks NVML_FI_DEV_POWER_INSTANT: upgrade nvidia-ml-py for the instant power")
        kind = self._code("NVML_TOTAL_POWER_SAMPLES")
        fn = self._fn("nvmlDeviceGetSamples")
        if kind is None or fn is None:
            self._note("this nvidia-ml-py lacks nvmlDeviceGetSamples/NVML_TOTAL_POWER_SAMPLES: upgrade nvidia-ml-py")
        else:
            try:
                vtype, samples = fn(g.handle, kind, 0)
                newest = max(samples, key=lambda s: s.timeStamp, default=None)
                if newest is not None:
                    g.last_ts_us = int(newest.timeStamp)
                    if w0 is None:
                        w0 = self._value(vtype, newest.sampleValue) / 1000.0
                g.source = SOURCE_BUFFER
            except self._error as exc:
                if self._empty(exc):
                    g.source = SOURCE_BUFFER
                else:
                    self._note(f"{g.id}: driver power sample buffer unavailable ({exc})")
        if g.source is None and g.instant_ok:
            g.source = SOURCE_INSTANT
            self._warn(
                f"instant:{g.id}",
                f"NVML: {g.id} has no driver power sample buffer; its power timeline is the instant power field "
                "read at each poll (coarser than the buffer's 20 ms samples)",
            )
        if g.source is None and self._fn("nvmlDeviceGetPowerUsage"):
            try:
                w = float(nv.nvmlDeviceGetPowerUsage(g.handle)) / 1000.0
            except self._error:
                w = None
            if w is not None:
                g.source = SOURCE_POWER_USAGE
                w0 = w if w0 is None else w0
                use = "a diagnostic timeline only (energy from the counter)" if g.has_counter else "its ENERGY too"
                self._warn(
                    f"power_usage:{g.id}",
                    f"NVML: {g.id} offers neither the power sample buffer nor the instant power field: falling back "
                    f"to nvmlDeviceGetPowerUsage, a 1-second AVERAGE that reads low on bursty loads, for {use}; "
                    "update the NVIDIA driver and nvidia-ml-py for better power readings",
                )
        g.last_pull_t = now
        if w0 is not None and g.source is not None:
            self._add(g, now, w0)

    def _probe_process(self, g: _Gpu) -> None:
        fn = self._fn("nvmlDeviceGetProcessUtilization")
        if fn is None:
            g.proc_util_ok = False
        else:
            try:
                samples = fn(g.handle, 0)
                g.proc_last_ts = max((int(s.timeStamp) for s in samples), default=0)
            except self._error as exc:
                if not self._empty(exc):
                    g.proc_util_ok = False
        if not g.proc_util_ok:
            self._warn(
                f"procutil:{g.id}",
                f"NVML: per-process utilisation is not available on {g.id}; its process share is the share of "
                "used GPU memory among compute processes (a rougher attribution)",
            )

    def close(self) -> None:
        with self._lock:
            if self._inited:
                try:
                    self._nvml.nvmlShutdown()
                except self._error as exc:
                    log.debug("nvmlShutdown failed: %s", exc)
            self._inited = False
            self._opened = False

    # ------------------------------------------------------------------ power points
    def _add(self, g: _Gpu, t: float, w: float) -> None:
        """Append a point (dropped if not after the last one) and integrate (trapezoid)."""
        if g.last_t is not None:
            if t <= g.last_t:
                return
            g.integ_j += (t - g.last_t) * (w + g.last_w) / 2.0
        g.last_t, g.last_w = t, w
        g.pending.append((t, w))
        if len(g.pending) > _PENDING_CAP:
            del g.pending[: len(g.pending) - _PENDING_CAP]

    def _integral(self, g: _Gpu, now: float) -> float:
        """Integrated energy (J) since open, held at the last power value up to ``now``."""
        if g.last_t is None or now <= g.last_t:
            return g.integ_j
        return g.integ_j + g.last_w * (now - g.last_t)

    def _instant(self, g: _Gpu) -> float | None:
        """Instant power (W) from the field API, or ``None`` if unsupported."""
        fid = self._code("NVML_FI_DEV_POWER_INSTANT")
        try:
            fv = self._nvml.nvmlDeviceGetFieldValues(g.handle, [fid])[0]
        except self._error:
            return None
        if getattr(fv, "nvmlReturn", 0) != (self._code("NVML_SUCCESS") or 0):
            return None
        return self._value(fv.valueType, fv.value) / 1000.0

    def _collect(self, g: _Gpu, now: float, force: bool) -> None:
        if g.source == SOURCE_BUFFER:
            if force or now - g.last_pull_t >= self._buffer_interval:
                self._pull_buffer(g, now)
        elif g.source == SOURCE_INSTANT:
            w = self._instant(g)
            if w is None:
                g.poll_errors += 1
                self._warn(f"pollerr:{g.id}", f"NVML: reading the instant power of {g.id} failed; points skipped")
            else:
                self._add(g, now, w)
        elif g.source == SOURCE_POWER_USAGE:
            try:
                self._add(g, now, float(self._nvml.nvmlDeviceGetPowerUsage(g.handle)) / 1000.0)
            except self._error as exc:
                g.poll_errors += 1
                self._warn(f"pollerr:{g.id}", f"NVML: reading the power of {g.id} failed ({exc}); points skipped")

    def _pull_buffer(self, g: _Gpu, now: float) -> None:
        nv = self._nvml
        offset = self._offset()
        try:
            vtype, samples = nv.nvmlDeviceGetSamples(g.handle, self._code("NVML_TOTAL_POWER_SAMPLES"), g.last_ts_us)
        except self._error as exc:
            if self._empty(exc):
                g.last_pull_t = now
                return
            if self._unsupported(exc):
                g.source = SOURCE_INSTANT if g.instant_ok else None
                self._warn(
                    f"buffer-lost:{g.id}",
                    f"NVML: the power sample buffer of {g.id} stopped working ({exc}); "
                    + ("using the instant power field" if g.instant_ok else "no power timeline from now on"),
                )
                return
            g.poll_errors += 1
            self._warn(f"pollerr:{g.id}", f"NVML: pulling the power samples of {g.id} failed ({exc}); will retry")
            return
        previous = g.last_pull_t
        g.last_pull_t = now
        new = sorted((int(s.timeStamp), s.sampleValue) for s in samples if int(s.timeStamp) > g.last_ts_us)
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
        for ts, value in new:
            self._add(g, min(ts / 1e6 - offset, now), self._value(vtype, value) / 1000.0)

    def poll(self, now: float, *, force: bool = False) -> dict[str, list[tuple[float, float]]]:
        """New power points per device since the last call: ``[(t_monotonic_s, watts)]``.

        For GPUs with a counter, the sample buffer is pulled at most every
        :attr:`buffer_interval_s` unless ``force``; call at least every :attr:`max_poll_interval_s`.
        """
        t0 = time.perf_counter()
        out: dict[str, list[tuple[float, float]]] = {}
        with self._lock:
            for g in self._gpus:
                self._collect(g, now, force or not g.has_counter)
                if g.pending:
                    out[g.id] = g.pending
                    g.pending = []
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
                if not g.has_counter:
                    self._collect(g, now, True)
                    out[g.id] = self._integral(g, now)
                    continue
                out[g.id] = self._read_counter(g, now)
        return out

    def _read_counter(self, g: _Gpu, now: float) -> float:
        try:
            raw = int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(g.handle))
        except self._error as exc:
            self._warn(
                f"counter-err:{g.id}",
                f"NVML: reading {g.id}'s energy counter failed ({exc}); until it works again the energy since the "
                "last good reading is integrated from power samples",
            )
            return g.counter_j + max(0.0, self._integral(g, now) - g.integ_at_read)
        integ = self._integral(g, now)
        if raw < g.last_raw_mj:
            g.counter_resets += 1
            bridge = max(0.0, integ - g.integ_at_read)
            g.counter_j += bridge
            self._warn(
                f"reset:{g.id}",
                f"NVML: {g.id}'s energy counter went backwards ({g.last_raw_mj} -> {raw} mJ; driver reset or "
                "reload?): the energy of that interval is taken from the integrated power",
            )
            self._note(f"{g.id}: energy counter reset(s) bridged with integrated power (latest: {bridge:.1f} J)")
        else:
            g.counter_j += (raw - g.last_raw_mj) / 1000.0
        g.last_raw_mj = raw
        g.integ_at_read = integ
        if (
            raw == g.raw_open_mj
            and now - self._t_open >= _const("heuristics", "stuck_counter_min_s")
            and integ >= _const("heuristics", "stuck_counter_min_integrated_j")
            and g.source is not None
        ):
            g.has_counter = False
            self.method = "integrated"
            self._warn(
                f"stuck:{g.id}",
                f"NVML: {g.id}'s energy counter has not moved in {now - self._t_open:.1f} s while its power "
                f"readings show {integ:.0f} J (a vGPU or broken counter?): its energy is integrated from power samples "
                "instead (method 'integrated')",
            )
            return integ
        return g.counter_j

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
                samples = list(self._nvml.nvmlDeviceGetProcessUtilization(g.handle, g.proc_last_ts))
            except self._error as exc:
                samples = []
                if self._unsupported(exc):
                    g.proc_util_ok = False
                    self._warn(
                        f"procutil:{g.id}",
                        f"NVML: per-process utilisation stopped working on {g.id} ({exc}); its process share is now "
                        "the share of used GPU memory among compute processes",
                    )
                elif not self._empty(exc):
                    self._warn(f"procerr:{g.id}", f"NVML: per-process utilisation of {g.id} failed ({exc})")
                    return g.share, g.share_basis
            if samples:
                g.proc_last_ts = max(g.proc_last_ts, max(int(s.timeStamp) for s in samples))
            valid = [s for s in samples if 0 <= int(s.smUtil) <= 100]
            total = sum(int(s.smUtil) for s in valid)
            if total > 0:
                if _foreign({int(s.pid) for s in valid}):
                    return self._foreign_share(g)
                mine = sum(int(s.smUtil) for s in valid if int(s.pid) in pids)
                return min(1.0, mine / total), "SM utilisation"
        return self._memory_share(g, pids)

    def _memory_share(self, g: _Gpu, pids: set[int]) -> tuple[float, str]:
        try:
            procs = list(self._nvml.nvmlDeviceGetComputeRunningProcesses(g.handle))
        except self._error as exc:
            self._warn(
                f"procs:{g.id}",
                f"NVML: cannot list the processes on {g.id} ({exc}): its whole energy is attributed to this "
                "process (share 1.0): NOT a per-process figure",
            )
            return 1.0, "whole device (processes unknown)"
        if not procs:
            return 0.0, "no process on the GPU"
        if _foreign({int(p.pid) for p in procs}):
            return self._foreign_share(g)
        mem = [(int(p.pid), getattr(p, "usedGpuMemory", None)) for p in procs]
        if any(m is None for _, m in mem) or sum(m or 0 for _, m in mem) == 0:
            mine = sum(1 for pid, _ in mem if pid in pids)
            return mine / len(mem), "process count"
        total = float(sum(m for _, m in mem if m is not None))
        mine_mem = float(sum(m for pid, m in mem if pid in pids and m is not None))
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
                "counter_supported": g.counter_supported,
                "energy_method": g.energy_method,
                "power_source": g.source,
            }
            if g.mig_instances:
                facts["mig_instances"] = list(g.mig_instances)
            if len(g.cuda_indices) > 1:
                facts["cuda_indices"] = list(g.cuda_indices)
            out.append(Device(g.id, g.name, facts))
        return out

    def uncertainty(self) -> Uncertainty:
        table = constants()["uncertainty"]
        integrated = [g for g in self._gpus if not g.has_counter]
        if not integrated:
            entry = table["counter"]
            basis = entry["basis"]
        else:
            usage = any(g.source == SOURCE_POWER_USAGE for g in integrated)
            entry = table["integrated_power_usage" if usage else "integrated"]
            ids = ", ".join(g.id for g in integrated)
            basis = f"{ids} integrated from power samples: {entry['basis']}"
            if len(integrated) < len(self._gpus):
                basis += "; the bounds of the integrated devices are applied to the whole sensor (conservative)"
        return Uncertainty(float(entry["rel_low"]), float(entry["rel_high"]), f"{basis} [{entry['source']}]")

    def notes(self) -> list[str]:
        out = list(self._notes)
        for g in self._gpus:
            src = {
                SOURCE_BUFFER: "driver power sample buffer (~20 ms samples)",
                SOURCE_INSTANT: "instant power field, read at each poll",
                SOURCE_POWER_USAGE: "nvmlDeviceGetPowerUsage 1-second average (diagnostic)",
                None: "none",
            }[g.source]
            energy = "NVML energy counter" if g.has_counter else "integrated power samples"
            out.append(f"{g.id} ({g.name}): energy from {energy}; power timeline from {src}")
            if g.source == SOURCE_BUFFER and g.has_counter and self._buffer_interval > 0:
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
