"""A thin layer over NVML: one NVML call per method, NVML's own units, typed errors.

No policy lives here (what to read when, fallbacks, integration: that is
:class:`ecometer.sensors.nvidia.NvmlSensor`). Each method makes exactly one NVML call and
returns its value in NVML's unit, named in the method and its docstring (mJ, mW, us since
the epoch, %). NVML errors are mapped once, here, by :func:`_nvml_call`, to the typed errors
of :mod:`ecometer.errors`:

============================================  ===============================
NVML return code                              error
============================================  ===============================
``NOT_SUPPORTED``, ``FUNCTION_NOT_FOUND``     :class:`GPUNotSupported`
(function or constant absent in the binding)  :class:`GPUBindingMissing`
``NOT_FOUND``, ``NO_DATA``                    :class:`GPUNoData`
``GPU_IS_LOST``, ``RESET_REQUIRED``           :class:`GPULost`
``NO_PERMISSION``                             :class:`GPUNoPermission`
``LIBRARY_NOT_FOUND``, ``DRIVER_NOT_LOADED``  :class:`GPUDriverMissing`
anything else                                 :class:`GPUUnknownError`
============================================  ===============================

All are :class:`ecometer.errors.SensorUnavailable`; only the binding's own ``NVMLError`` is
caught (never a bare ``Exception``). The codes are looked up by name in the binding, so a
stand-in module with the same names (tests) maps the same way. ``pynvml`` (the
``nvidia-ml-py`` package) is imported lazily, by :class:`Nvml` when no module is given.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ecometer.errors import (
    GPUBindingMissing,
    GPUDriverMissing,
    GPUError,
    GPULost,
    GPUNoData,
    GPUNoPermission,
    GPUNotSupported,
    GPUUnknownError,
    SensorUnavailable,
)

#: NVML return-code names (as the binding spells them) -> the error raised for them.
ERROR_KINDS: dict[str, type[GPUError]] = {
    "NVML_ERROR_NOT_SUPPORTED": GPUNotSupported,
    "NVML_ERROR_FUNCTION_NOT_FOUND": GPUNotSupported,
    "NVML_ERROR_NOT_FOUND": GPUNoData,
    "NVML_ERROR_NO_DATA": GPUNoData,
    # older pynvml raised an error with NVML_SUCCESS when a sample query found nothing
    "NVML_SUCCESS": GPUNoData,
    "NVML_ERROR_GPU_IS_LOST": GPULost,
    "NVML_ERROR_RESET_REQUIRED": GPULost,
    "NVML_ERROR_NO_PERMISSION": GPUNoPermission,
    "NVML_ERROR_LIBRARY_NOT_FOUND": GPUDriverMissing,
    "NVML_ERROR_DRIVER_NOT_LOADED": GPUDriverMissing,
}

# c_nvmlValue_t union members by NVML value type
_VALUE_FIELDS = {
    "NVML_VALUE_TYPE_DOUBLE": "dVal",
    "NVML_VALUE_TYPE_UNSIGNED_INT": "uiVal",
    "NVML_VALUE_TYPE_UNSIGNED_LONG": "ulVal",
    "NVML_VALUE_TYPE_UNSIGNED_LONG_LONG": "ullVal",
    "NVML_VALUE_TYPE_SIGNED_LONG_LONG": "sllVal",
    "NVML_VALUE_TYPE_SIGNED_INT": "siVal",
    "NVML_VALUE_TYPE_UNSIGNED_SHORT": "usVal",
}

T = TypeVar("T")


def _s(value: Any) -> str:
    """Older bindings return ``bytes`` for strings."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _nvml_call(function: str, *, no_data: Any = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorate a method that makes the one NVML call ``function``: it receives that function,
    and the binding's ``NVMLError`` leaves it as a typed :class:`GPUError`. With ``no_data``
    (a factory such as ``list``), :class:`GPUNoData` returns ``no_data()`` instead."""

    def decorate(method: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any) -> T:
            lib: Nvml = self.lib
            fn = lib.function(function)
            try:
                return method(self, fn, *args)
            except lib.nvml_error as exc:
                err = lib.error(exc, function)
                if no_data is not None and isinstance(err, GPUNoData):
                    return no_data()
                raise err from exc

        return wrapper

    return decorate


@dataclass(frozen=True)
class PowerSample:
    """One sample of the driver's power buffer."""

    timestamp_us: int  # wall clock, microseconds since the epoch (as the driver keeps it)
    power_mw: float  # milliwatts


@dataclass(frozen=True)
class ProcessUtilization:
    """One process's utilisation sample."""

    pid: int
    timestamp_us: int  # microseconds since the epoch
    sm_util_pct: int  # SM utilisation, percent (0..100; NVML may report out-of-range values)


@dataclass(frozen=True)
class ComputeProcess:
    """A compute process on a GPU."""

    pid: int
    used_memory_bytes: int | None  # bytes; None where NVML cannot tell (e.g. Windows WDDM)


class Nvml:
    """The NVML library: initialisation, device count, handles.

    ``module``: the ``pynvml`` module or a stand-in with the same names (imported lazily when
    ``None``; :class:`SensorUnavailable` if it is not installed).
    """

    def __init__(self, module: Any | None = None) -> None:
        if module is None:
            try:
                import pynvml as module
            except ImportError as exc:
                raise SensorUnavailable(
                    f"NVML: the Python bindings are not installed ({exc}); install them with 'pip install nvidia-ml-py'"
                ) from exc
        err = getattr(module, "NVMLError", None)
        if not (isinstance(err, type) and issubclass(err, BaseException)):
            raise SensorUnavailable(f"NVML: {module!r} is not an NVML binding (it has no NVMLError class)")
        self.module = module
        self.nvml_error: type[BaseException] = err
        self._kinds: dict[int, type[GPUError]] = {}
        for name, kind in ERROR_KINDS.items():
            code = getattr(module, name, None)
            if isinstance(code, int):
                self._kinds.setdefault(code, kind)

    @property
    def lib(self) -> Nvml:
        return self

    # ---- the boundary -------------------------------------------------------------------
    def function(self, name: str) -> Callable[..., Any]:
        """The binding's function ``name``; :class:`GPUBindingMissing` if it has none."""
        fn = getattr(self.module, name, None)
        if not callable(fn):
            raise GPUBindingMissing(f"this nvidia-ml-py has no {name}; upgrade nvidia-ml-py", call=name)
        return fn

    def constant(self, name: str) -> int:
        """The binding's integer constant ``name``; :class:`GPUBindingMissing` if it has none."""
        value = getattr(self.module, name, None)
        if not isinstance(value, int):
            raise GPUBindingMissing(f"this nvidia-ml-py lacks {name}; upgrade nvidia-ml-py", call=name)
        return value

    def has(self, name: str) -> bool:
        """Whether the binding has the function or integer constant ``name``."""
        value = getattr(self.module, name, None)
        return callable(value) or isinstance(value, int)

    def error(self, exc: BaseException, call: str) -> GPUError:
        """The typed error for the binding's ``NVMLError`` ``exc`` raised by ``call``."""
        code = getattr(exc, "value", None)
        return self.error_for_code(code if isinstance(code, int) else None, call, str(exc))

    def error_for_code(self, code: int | None, call: str, text: str = "") -> GPUError:
        """The typed error for NVML return code ``code`` of ``call``."""
        kind = self._kinds.get(code, GPUUnknownError) if code is not None else GPUUnknownError
        return kind(f"{call}: {text or f'NVML error {code}'}", code=code, call=call)

    def value(self, value_type: int, value: Any) -> float:
        """A ``c_nvmlValue_t`` union read by its NVML value type (unsigned int if unknown)."""
        for name, member in _VALUE_FIELDS.items():
            if getattr(self.module, name, None) == value_type:
                return float(getattr(value, member))
        return float(value.uiVal)

    # ---- library calls ------------------------------------------------------------------
    @_nvml_call("nvmlInit")
    def init(self, call: Callable[..., Any]) -> None:
        """Initialise NVML (``nvmlInit``)."""
        call()

    @_nvml_call("nvmlShutdown")
    def shutdown(self, call: Callable[..., Any]) -> None:
        """Release NVML (``nvmlShutdown``)."""
        call()

    @_nvml_call("nvmlSystemGetDriverVersion")
    def driver_version(self, call: Callable[..., Any]) -> str:
        """The driver's version string, e.g. ``"580.65.06"``."""
        return _s(call())

    @_nvml_call("nvmlDeviceGetCount")
    def device_count(self, call: Callable[..., Any]) -> int:
        """Number of GPUs NVML sees (all of them, whatever ``CUDA_VISIBLE_DEVICES`` says)."""
        return int(call())

    @_nvml_call("nvmlDeviceGetHandleByIndex")
    def device(self, call: Callable[..., Any], index: int) -> NvmlDevice:
        """The GPU at NVML index ``index``."""
        return NvmlDevice(self, call(index), index)


class NvmlDevice:
    """One GPU (or MIG instance) through its NVML handle. Each method is one NVML call."""

    def __init__(self, lib: Nvml, handle: Any, index: int) -> None:
        self.lib = lib
        self.handle = handle
        self.index = index  # NVML index (of the MIG slot for a MIG device)

    @_nvml_call("nvmlDeviceGetUUID")
    def uuid(self, call: Callable[..., Any]) -> str:
        """``GPU-...`` (or ``MIG-...``) UUID."""
        return _s(call(self.handle))

    @_nvml_call("nvmlDeviceGetName")
    def name(self, call: Callable[..., Any]) -> str:
        """Product name, e.g. ``"NVIDIA H100 80GB HBM3"``."""
        return _s(call(self.handle))

    @_nvml_call("nvmlDeviceGetEnforcedPowerLimit")
    def enforced_power_limit_mw(self, call: Callable[..., Any]) -> int:
        """Power limit the driver enforces now (mW)."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceGetPowerManagementLimit")
    def power_management_limit_mw(self, call: Callable[..., Any]) -> int:
        """Power management limit (mW), for bindings without the enforced limit."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceGetPowerManagementLimitConstraints")
    def power_limit_constraints_mw(self, call: Callable[..., Any]) -> tuple[int, int]:
        """The lowest and highest power limit (mW) the driver accepts for this GPU."""
        low, high = call(self.handle)
        return int(low), int(high)

    @_nvml_call("nvmlDeviceGetPowerManagementDefaultLimit")
    def power_management_default_limit_mw(self, call: Callable[..., Any]) -> int:
        """The power limit (mW) the GPU has by default (after a reset or reboot)."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceSetPowerManagementLimit")
    def set_power_management_limit_mw(self, call: Callable[..., Any], limit_mw: int) -> None:
        """Set the power management limit (mW); needs root (:class:`GPUNoPermission` otherwise)."""
        call(self.handle, int(limit_mw))

    @_nvml_call("nvmlDeviceGetMigMode")
    def mig_enabled(self, call: Callable[..., Any]) -> bool:
        """Whether MIG mode is enabled now (the current, not the pending, mode)."""
        return call(self.handle)[0] == self.lib.constant("NVML_DEVICE_MIG_ENABLE")

    @_nvml_call("nvmlDeviceGetMaxMigDeviceCount")
    def max_mig_device_count(self, call: Callable[..., Any]) -> int:
        """Most MIG devices this GPU can hold (0 without MIG)."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceGetMigDeviceHandleByIndex")
    def mig_device(self, call: Callable[..., Any], index: int) -> NvmlDevice:
        """The MIG device in slot ``index`` (:class:`GPUNoData` for an empty slot)."""
        return NvmlDevice(self.lib, call(self.handle, index), index)

    @_nvml_call("nvmlDeviceGetGpuInstanceId")
    def gpu_instance_id(self, call: Callable[..., Any]) -> int:
        """GPU instance id of a MIG device."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceGetComputeInstanceId")
    def compute_instance_id(self, call: Callable[..., Any]) -> int:
        """Compute instance id of a MIG device."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceGetTotalEnergyConsumption")
    def total_energy_mj(self, call: Callable[..., Any]) -> int:
        """Energy (mJ) the GPU consumed since the driver was loaded (Volta and later)."""
        return int(call(self.handle))

    @_nvml_call("nvmlDeviceGetPowerUsage")
    def power_usage_mw(self, call: Callable[..., Any]) -> float:
        """Board power (mW), a 1-second average on Ampere and Hopper."""
        return float(call(self.handle))

    @_nvml_call("nvmlDeviceGetFieldValues")
    def instant_power_mw(self, call: Callable[..., Any]) -> float:
        """Instant board power (mW) from the ``NVML_FI_DEV_POWER_INSTANT`` field."""
        fid = self.lib.constant("NVML_FI_DEV_POWER_INSTANT")
        fv = call(self.handle, [fid])[0]
        ret = getattr(fv, "nvmlReturn", 0)
        if ret != getattr(self.lib.module, "NVML_SUCCESS", 0):
            raise self.lib.error_for_code(ret, "nvmlDeviceGetFieldValues", f"field {fid} returned {ret}")
        return self.lib.value(fv.valueType, fv.value)

    @_nvml_call("nvmlDeviceGetSamples", no_data=list)
    def power_samples(self, call: Callable[..., Any], since_us: int) -> list[PowerSample]:
        """The driver's power samples (~20 ms apart, ~2.4 s kept) newer than ``since_us`` (us).

        An empty list when there is none newer (NVML's ``NOT_FOUND``).
        """
        vtype, samples = call(self.handle, self.lib.constant("NVML_TOTAL_POWER_SAMPLES"), since_us)
        return [PowerSample(int(s.timeStamp), self.lib.value(vtype, s.sampleValue)) for s in samples]

    @_nvml_call("nvmlDeviceGetProcessUtilization", no_data=list)
    def process_utilization(self, call: Callable[..., Any], since_us: int) -> list[ProcessUtilization]:
        """Per-process utilisation samples newer than ``since_us`` (us); empty when none is newer."""
        return [ProcessUtilization(int(s.pid), int(s.timeStamp), int(s.smUtil)) for s in call(self.handle, since_us)]

    @_nvml_call("nvmlDeviceGetComputeRunningProcesses")
    def compute_processes(self, call: Callable[..., Any]) -> list[ComputeProcess]:
        """Compute processes on the GPU and the GPU memory (bytes) each uses."""
        out = []
        for p in call(self.handle):
            mem = getattr(p, "usedGpuMemory", None)
            out.append(ComputeProcess(int(p.pid), None if mem is None else int(mem)))
        return out
