"""Choose the best available sensors on this machine, and say why better ones are missing."""

from __future__ import annotations

import logging
from typing import Any

from ecometer.errors import SensorUnavailable
from ecometer.sensors.base import Sensor

log = logging.getLogger("ecometer.sensors")


def discover(gpus: Any = "auto", scope: str = "machine") -> tuple[list[Sensor], list[str]]:
    """Open and return GPU and host sensors, plus one line per source that is unavailable.

    ``gpus``: ``"auto"``, a list of CUDA indices/UUIDs, or None/[] for no GPU.
    """
    sensors: list[Sensor] = []
    explanations: list[str] = []
    if gpus:
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
