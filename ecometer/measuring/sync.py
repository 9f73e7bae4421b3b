"""Wait for queued accelerator work before reading energy at a window boundary.

Only frameworks that the process has *already imported* are synchronised: ecometer never
imports torch, cupy or jax itself. A user can pass their own ``sync`` callable instead.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


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
    """Synchronise every already-imported framework; returns the names synchronised.

    A framework that fails does not stop the others from being synchronised; then the first
    failure is raised (naming any others), for the meter to report in the record's warnings
    as it does for a ``sync`` callable of the user's.
    """
    done: list[str] = []
    failed: list[tuple[str, Exception]] = []
    for name, fn in _FRAMEWORKS.items():
        if name in sys.modules:
            try:
                fn()
                done.append(name)
            except Exception as exc:  # noqa: BLE001 - raised below, after the other frameworks
                failed.append((name, exc))
    if failed:
        name, first = failed[0]
        others = "; ".join(f"{n}: {type(e).__name__}: {e}" for n, e in failed[1:])
        raise RuntimeError(f"{name}: {first}" + (f" (also {others})" if others else "")) from first
    return done
