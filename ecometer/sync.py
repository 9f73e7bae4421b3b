"""Wait for queued accelerator work before reading energy at a window boundary.

Only frameworks that the process has *already imported* are synchronised: ecometer never
imports torch, cupy or jax itself. A user can pass their own ``sync`` callable instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger("ecometer.sync")


def _torch_sync() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        # the current device, and others this process allocated on; never create a context
        # on a GPU the process does not use (other ranks' GPUs in a multi-process job)
        current = torch.cuda.current_device()
        for index in range(torch.cuda.device_count()):
            if index == current or torch.cuda.memory_allocated(index) > 0:
                torch.cuda.synchronize(index)


def _cupy_sync() -> None:
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        cupy.cuda.runtime.deviceSynchronize()


def _jax_sync() -> None:
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.effects_barrier()
        for device in jax.devices():
            if device.platform == "gpu":
                jax.device_put(0.0, device).block_until_ready()


_FRAMEWORKS: dict[str, Callable[[], None]] = {"torch": _torch_sync, "cupy": _cupy_sync, "jax": _jax_sync}


def auto_sync() -> list[str]:
    """Synchronise every already-imported framework; returns the names synchronised."""
    done = []
    for name, fn in _FRAMEWORKS.items():
        if name in sys.modules:
            try:
                fn()
                done.append(name)
            except Exception as exc:  # noqa: BLE001 - a failed sync must not crash the job
                log.warning("could not synchronise %s before reading energy: %s", name, exc)
    return done
