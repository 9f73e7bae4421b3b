"""Choose the best available sensors on this machine, and say why better ones are missing."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from ecometer.errors import SensorUnavailable
from ecometer.sensors.base import Sensor

log = logging.getLogger("ecometer.sensors")

#: the library the NVIDIA driver installs, by the name nvidia-ml-py loads it on Linux
NVML_LIBRARY = "libnvidia-ml.so.1"


def nvml_library_missing() -> str | None:
    """Why there can be no NVML here (Linux, and the dynamic loader cannot open
    :data:`NVML_LIBRARY`), or ``None`` where it may be. One ``dlopen`` (well under 1 ms)
    instead of importing the bindings and the NVIDIA sensor (10-90 ms) on a machine without
    the driver. Not asked where ``pynvml`` is already imported: it may be a stand-in."""
    if not sys.platform.startswith("linux") or "pynvml" in sys.modules:
        return None
    import _ctypes  # ctypes' own loader, without ctypes' import cost

    try:
        handle = _ctypes.dlopen(NVML_LIBRARY, os.RTLD_NOW | os.RTLD_LOCAL)
    except OSError as exc:
        return (
            f"NVML: cannot initialise ({exc}): {NVML_LIBRARY} was not found: "
            "no NVIDIA driver on this machine (or not in the container)"
        )
    _ctypes.dlclose(handle)
    return None


def discover(gpus: Any = "auto", scope: str = "machine") -> tuple[list[Sensor], list[str]]:
    """Open and return GPU and host sensors, plus one line per source that is unavailable.

    ``gpus``: ``"auto"``, a list of CUDA indices/UUIDs, or None/[] for no GPU.
    """
    sensors: list[Sensor] = []
    explanations: list[str] = []
    missing = nvml_library_missing() if gpus == "auto" else None
    if missing is not None:  # no driver: the bindings and the NVIDIA sensor are not even imported
        explanations.append(missing)
    elif gpus:
        from ecometer.sensors.nvidia import NvmlSensor, detect_gpus

        if gpus == "auto":
            sensor, lines = detect_gpus(scope=scope)
            explanations.extend(lines)
            if sensor is not None:
                sensors.append(sensor)
        else:
            sensor = NvmlSensor(gpus=list(gpus), scope=scope)
            sensor.open()  # explicit GPUs that cannot be measured are an error, not a warning
            sensors.append(sensor)
    from ecometer.sensors.host import host_sensors

    host, lines = host_sensors(scope=scope)
    sensors.extend(host)
    explanations.extend(lines)
    return sensors, explanations


__all__ = ["discover", "SensorUnavailable"]
