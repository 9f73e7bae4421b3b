"""The thin NVML layer (ecometer/sensors/nvml_device.py): one call per method, typed errors.

The stand-in binding raises the real ``pynvml.NVMLError`` (whose constructor returns the
per-code subclass, e.g. ``NVMLError_NotSupported``) with the real return codes; no GPU needed.
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest

from ecometer.errors import (
    EcometerError,
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
from ecometer.sensors.nvml_device import ERROR_KINDS, Nvml, NvmlDevice

pynvml = pytest.importorskip("pynvml")


class Binding:
    """pynvml's constants and NVMLError; functions set per test (``raises`` maps name -> code)."""

    def __init__(self, **functions) -> None:
        self.__dict__.update(functions)

    def __getattr__(self, name: str):
        if name.startswith("NVML") and not name.startswith("nvml"):
            return getattr(pynvml, name)  # NVMLError and the NVML_* constants
        raise AttributeError(name)


def raising(code: int):
    def fn(*args):
        raise pynvml.NVMLError(code)

    return fn


def device(**functions) -> NvmlDevice:
    return NvmlDevice(Nvml(Binding(**functions)), handle="h0", index=0)


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (pynvml.NVML_ERROR_NOT_SUPPORTED, GPUNotSupported),  # 3
        (pynvml.NVML_ERROR_FUNCTION_NOT_FOUND, GPUNotSupported),  # 13
        (pynvml.NVML_ERROR_NOT_FOUND, GPUNoData),  # 6
        (pynvml.NVML_ERROR_GPU_IS_LOST, GPULost),  # 15
        (pynvml.NVML_ERROR_RESET_REQUIRED, GPULost),  # 16
        (pynvml.NVML_ERROR_NO_PERMISSION, GPUNoPermission),  # 4
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, GPUDriverMissing),  # 12
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, GPUDriverMissing),  # 9
        (pynvml.NVML_ERROR_TIMEOUT, GPUUnknownError),  # 10
        (pynvml.NVML_ERROR_UNKNOWN, GPUUnknownError),  # 999
    ],
)
def test_nvml_errors_map_to_typed_errors(code: int, kind: type) -> None:
    dev = device(nvmlDeviceGetTotalEnergyConsumption=raising(code))
    with pytest.raises(kind) as info:
        dev.total_energy_mj()
    err = info.value
    assert type(err) is kind  # exactly this kind, not a broader one
    assert isinstance(err, GPUError) and isinstance(err, SensorUnavailable) and isinstance(err, EcometerError)
    assert (err.code, err.call) == (code, "nvmlDeviceGetTotalEnergyConsumption")
    assert isinstance(err.__cause__, pynvml.NVMLError)  # the binding's error is kept as the cause
    assert str(err).startswith("nvmlDeviceGetTotalEnergyConsumption: ")


def test_error_table_names_real_nvml_codes() -> None:
    for name in ERROR_KINDS:
        assert isinstance(getattr(pynvml, name), int), name


def test_other_exceptions_are_not_swallowed() -> None:
    """Only the binding's NVMLError is mapped: a bug (TypeError...) surfaces as itself."""

    def broken(handle):
        raise TypeError("bad handle")

    with pytest.raises(TypeError, match="bad handle"):
        device(nvmlDeviceGetPowerUsage=broken).power_usage_mw()


def test_a_module_without_nvmlerror_is_refused() -> None:
    """No catch-all fallback: a binding without NVMLError cannot be used at all."""
    with pytest.raises(SensorUnavailable, match="no NVMLError"):
        Nvml(SimpleNamespace(nvmlInit=lambda: None))


def test_missing_function_or_constant_is_binding_missing() -> None:
    dev = device()  # the binding has no functions at all
    with pytest.raises(GPUBindingMissing, match="no nvmlDeviceGetTotalEnergyConsumption; upgrade nvidia-ml-py"):
        dev.total_energy_mj()
    binding = Binding(nvmlDeviceGetSamples=lambda h, kind, since: (0, []))
    binding.NVML_TOTAL_POWER_SAMPLES = None  # an old nvidia-ml-py
    dev = NvmlDevice(Nvml(binding), "h0", 0)
    with pytest.raises(GPUBindingMissing, match="lacks NVML_TOTAL_POWER_SAMPLES") as info:
        dev.power_samples(0)
    assert isinstance(info.value, GPUNotSupported)


def test_values_in_nvml_units() -> None:
    calls = []

    def energy(h):
        calls.append(h)
        return 123_456_789  # mJ

    sample = SimpleNamespace(timeStamp=1_700_000_000_000_000, sampleValue=SimpleNamespace(uiVal=250_500))
    dev = device(
        nvmlDeviceGetTotalEnergyConsumption=energy,
        nvmlDeviceGetName=lambda h: b"NVIDIA H100 80GB HBM3",
        nvmlDeviceGetSamples=lambda h, kind, since: (pynvml.NVML_VALUE_TYPE_UNSIGNED_INT, [sample]),
        nvmlDeviceGetPowerUsage=lambda h: 300_000,
    )
    assert dev.total_energy_mj() == 123_456_789 and calls == ["h0"]  # one call, on this handle
    assert dev.name() == "NVIDIA H100 80GB HBM3"  # bytes decoded
    (s,) = dev.power_samples(0)
    assert (s.timestamp_us, s.power_mw) == (1_700_000_000_000_000, 250_500.0)
    assert dev.power_usage_mw() == 300_000.0


def test_empty_sample_queries_return_nothing() -> None:
    dev = device(
        nvmlDeviceGetSamples=raising(pynvml.NVML_ERROR_NOT_FOUND),
        nvmlDeviceGetProcessUtilization=raising(pynvml.NVML_ERROR_NOT_FOUND),
    )
    assert dev.power_samples(5) == []
    assert dev.process_utilization(5) == []
    with pytest.raises(GPUNotSupported):
        device(nvmlDeviceGetSamples=raising(pynvml.NVML_ERROR_NOT_SUPPORTED)).power_samples(0)


def test_instant_field_checks_the_field_return_code() -> None:
    def fields(ok: int, value: object, vtype: int):
        return lambda h, ids: [SimpleNamespace(fieldId=ids[0], nvmlReturn=ok, valueType=vtype, value=value)]

    good = device(nvmlDeviceGetFieldValues=fields(0, SimpleNamespace(dVal=412.5), pynvml.NVML_VALUE_TYPE_DOUBLE))
    assert good.instant_power_mw() == 412.5
    bad = device(
        nvmlDeviceGetFieldValues=fields(
            pynvml.NVML_ERROR_NOT_SUPPORTED, SimpleNamespace(uiVal=0), pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
        )
    )
    with pytest.raises(GPUNotSupported) as info:
        bad.instant_power_mw()
    assert info.value.code == pynvml.NVML_ERROR_NOT_SUPPORTED


def test_library_calls_and_init_failure() -> None:
    lib = Nvml(Binding(nvmlInit=raising(pynvml.NVML_ERROR_DRIVER_NOT_LOADED)))
    with pytest.raises(GPUDriverMissing) as info:
        lib.init()
    assert info.value.code == pynvml.NVML_ERROR_DRIVER_NOT_LOADED
    lib = Nvml(Binding(nvmlDeviceGetCount=lambda: 2, nvmlDeviceGetHandleByIndex=lambda i: f"h{i}"))
    assert lib.device_count() == 2
    dev = lib.device(1)
    assert (dev.handle, dev.index, dev.lib) == ("h1", 1, lib)


def test_the_real_binding_without_a_driver_is_driver_missing() -> None:
    """Where libnvidia-ml is absent (this CPU machine), the real pynvml's init maps to GPUDriverMissing."""
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:
        pynvml.nvmlShutdown()
        pytest.skip("an NVIDIA driver is present here")
    with pytest.raises(GPUDriverMissing):
        Nvml(pynvml).init()


def test_pynvml_is_imported_lazily() -> None:
    code = (
        "import sys, ecometer.sensors.nvml_device, ecometer.sensors.nvidia; "
        "print('pynvml' in sys.modules); ecometer.sensors.nvml_device.Nvml(); print('pynvml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_power_limit_calls_in_nvml_units() -> None:
    calls = []
    d = device(
        nvmlDeviceGetPowerManagementLimitConstraints=lambda h: (100_000, 700_000),
        nvmlDeviceSetPowerManagementLimit=lambda h, mw: calls.append((h, mw)),
    )
    assert d.power_limit_constraints_mw() == (100_000, 700_000)
    d.set_power_management_limit_mw(350_000)
    assert calls == [("h0", 350_000)]
    denied = device(nvmlDeviceSetPowerManagementLimit=raising(pynvml.NVML_ERROR_NO_PERMISSION))
    with pytest.raises(GPUNoPermission):
        denied.set_power_management_limit_mw(350_000)
