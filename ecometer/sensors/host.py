"""The best CPU and DRAM sensors this machine offers, and why better ones are missing.

Order of preference: RAPL energy counters (``counter``) for the CPU packages and for DRAM;
otherwise the CPU load-curve model and the memory model (``modelled``). Every missing
better source yields one human-readable line (returned, for ``ecometer info`` and the
record) and one ``logging`` warning per process, not repeated by later meters.
"""

from __future__ import annotations

import logging
import threading

from ecometer.errors import SensorUnavailable
from ecometer.record.units import relative_text
from ecometer.sensors.base import Sensor, check_scope
from ecometer.sensors.cpu_model import CpuModelSensor
from ecometer.sensors.memory import MemoryModelSensor
from ecometer.sensors.rapl import HWMON_ROOT, POWERCAP_ROOT, RaplSensor
from ecometer.sensors.usage import HostUsage

log = logging.getLogger("ecometer.sensors")

_warned: set[str] = set()
_warned_lock = threading.Lock()


def _explain_once(line: str) -> None:
    """Log why a better source is missing, once per process, at DEBUG: the meter says in one
    short line what is modelled, and the full text goes into the record's notes."""
    with _warned_lock:
        if line in _warned:
            return
        _warned.add(line)
    log.debug("%s", line)


def host_sensors(
    scope: str = "machine",
    *,
    powercap_root: str = POWERCAP_ROOT,
    hwmon_root: str = HWMON_ROOT,
) -> tuple[list[Sensor], list[str]]:
    """Open and return the best CPU and DRAM sensors, plus why better sources are unavailable.

    ``scope``: ``"machine"`` or ``"process"`` (sensors then offer ``share(now)``, the process
    tree's share, which the meter applies). The sensors are returned open; the caller
    closes them. Each explanation line names what is missing, why, and what is used instead.
    """
    check_scope(scope)
    usage = HostUsage(scope)
    sensors: list[Sensor] = []
    lines: list[str] = []

    cpu_rapl: Sensor | None = None
    rapl_reason = ""
    try:
        cpu_rapl = RaplSensor("cpu", scope=scope, root=powercap_root, hwmon_root=hwmon_root, usage=usage)
        cpu_rapl.open()
        sensors.append(cpu_rapl)
    except SensorUnavailable as exc:
        cpu_rapl = None
        rapl_reason = str(exc)
    if cpu_rapl is None:
        model = CpuModelSensor(scope, usage=usage)
        try:
            model.open()
            sensors.append(model)
            assert model.spec is not None
            lines.append(f"{rapl_reason}; CPU power is modelled from utilisation (load curve x TDP per thread)")
            if model.spec.basis != "sku":
                lines.append(f"CPU model: {model.spec.label}; the uncertainty is widened accordingly")
        except SensorUnavailable as exc:
            lines.append(f"{rapl_reason}; and the CPU model is unavailable too ({exc}): no CPU energy is reported")

    dram_reason = ""
    if cpu_rapl is not None:
        try:
            dram = RaplSensor("dram", scope=scope, root=powercap_root, hwmon_root=hwmon_root, usage=usage)
            dram.open()
            sensors.append(dram)
        except SensorUnavailable as exc:
            dram_reason = str(exc)
    else:
        dram_reason = "RAPL DRAM: no DRAM energy counter either (no usable RAPL)"
    if dram_reason:
        mem = MemoryModelSensor(scope, usage=usage)
        try:
            mem.open()
            sensors.append(mem)
            unc = mem.uncertainty()  # relative factor: central 1.0
            bg = mem.data["background_w_per_gb"]["central"]
            lines.append(
                f"{dram_reason}; memory power is modelled from installed memory ({mem.gib:.1f} GiB x {bg:g} W/GB "
                f"background + activity, ENERGY STAR-based, {relative_text(1.0, unc.low, unc.high)})"
            )
        except SensorUnavailable as exc:
            lines.append(f"{dram_reason}; and the memory model is unavailable too ({exc}): no DRAM energy is reported")

    for line in lines:
        _explain_once(line)
    return sensors, lines


__all__ = ["host_sensors"]
