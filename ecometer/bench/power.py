"""GPU power limits as a bench parameter: checked before anything runs, set per configuration,
always put back.

Through the NVML layer (:mod:`ecometer.sensors.nvml_device`); setting a limit needs root. At
the start the bench reads every chosen GPU's limit and the driver's range, refuses a limit
outside it (naming the GPU and the range), and sets each GPU's own limit back to itself to
find out at once whether it may set limits at all. The original limits are restored when the
bench ends, fails or is stopped by a signal (the bench turns terminating signals into an
exception between runs and relays them to the command during one); only SIGKILL or a power
cut leaves a limit set; continuing the bench on that folder restores the limits its first
session recorded in ``bench.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from ecometer.errors import SensorUnavailable, UsageError
from ecometer.sensors.nvml_device import Nvml, NvmlDevice

log = logging.getLogger("ecometer.bench")


def _w(mw: float) -> str:
    return f"{mw / 1000:g} W"


class PowerLimits:
    """The power limits of the GPUs at NVML ``indices`` (default: all), set and restored.

    ``nvml``: an :class:`~ecometer.sensors.nvml_device.Nvml` (a stand-in binding in tests;
    default the real one). Every problem at the start is a :class:`UsageError` saying what to do.
    """

    def __init__(self, indices: Sequence[int] | None = None, nvml: Nvml | None = None) -> None:
        try:
            self.nvml = nvml if nvml is not None else Nvml()
            self.nvml.init()
            count = self.nvml.device_count()
            chosen = list(range(count)) if indices is None else list(indices)
            missing = [i for i in chosen if not 0 <= i < count]
            if missing or not chosen:
                raise UsageError(f"power limits: no GPU at NVML index {missing or chosen} ({count} GPU(s) seen)")
            self.devices: list[NvmlDevice] = [self.nvml.device(i) for i in chosen]
            self.original_mw = {d.index: d.power_management_limit_mw() for d in self.devices}
            self.range_mw = {d.index: d.power_limit_constraints_mw() for d in self.devices}
        except SensorUnavailable as exc:
            raise UsageError(f"{POWER_HELP}: {exc}") from None

    def check(self, watts: Iterable[float]) -> None:
        """Refuse any limit outside a GPU's range (before anything runs), then check that limits
        may be set at all by setting each GPU's limit to what it is now."""
        problems = []
        for w in sorted(set(watts)):
            for index, (low, high) in self.range_mw.items():
                if not low <= w * 1000 <= high:
                    problems.append(f"{w:g} W is outside GPU {index}'s range {_w(low)} to {_w(high)}")
        if problems:
            raise UsageError(f"power_limit_w: {'; '.join(problems)} (the driver's range, nvidia-smi -q -d POWER)")
        try:
            for d in self.devices:
                d.set_power_management_limit_mw(self.original_mw[d.index])
        except SensorUnavailable as exc:
            raise UsageError(f"{POWER_HELP}: {exc}") from None

    def set(self, watts: float) -> dict[int, float]:
        """Set every chosen GPU's limit to ``watts``; the limits in force after (W, by NVML index)."""
        for d in self.devices:
            d.set_power_management_limit_mw(round(watts * 1000))
        return {d.index: d.power_management_limit_mw() / 1000 for d in self.devices}

    def restore(self) -> list[str]:
        """Put every GPU's original limit back; what could not be (empty when all went well)."""
        problems = []
        for d in self.devices:
            want = self.original_mw[d.index]
            try:
                if d.power_management_limit_mw() != want:
                    d.set_power_management_limit_mw(want)
                log.info("GPU %s power limit restored to %s", d.index, _w(want))
            except SensorUnavailable as exc:
                problems.append(f"GPU {d.index}: could not restore its power limit of {_w(want)}: {exc}")
        return problems

    def describe(self) -> dict[str, Any]:
        """The GPUs' original limits and ranges (W), for the bench's own file."""
        return {
            str(i): {"original_w": self.original_mw[i] / 1000, "range_w": [v / 1000 for v in self.range_mw[i]]}
            for i in self.original_mw
        }

    def close(self) -> None:
        try:
            self.nvml.shutdown()
        except SensorUnavailable as exc:
            log.debug("nvmlShutdown: %s", exc)


POWER_HELP = (
    "power_limit_w needs NVML (an NVIDIA GPU, its driver and nvidia-ml-py) and root to set limits"
)
