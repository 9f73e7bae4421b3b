"""The one background thread that drives a meter's sensors at a fixed interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

log = logging.getLogger("ecometer.measuring.sampler")

_MAX_ERRORS = 50  # distinct tick errors remembered (the rest are counted)


class Sampler:
    """Calls ``tick(now)`` every ``interval_s`` seconds (monotonic) in a daemon thread.

    Scheduling is drift-free (ticks aim at ``start + k * interval``; missed ticks are
    skipped, not queued). An exception in ``tick`` is logged once per distinct message and
    sampling continues: the meter must never take down the job it measures.
    """

    def __init__(self, tick: Callable[[float], None], interval_s: float, name: str = "ecometer-sampler") -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        self._tick = tick
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._errors: set[str] = set()
        self.ticks = 0
        self.cpu_time_s = 0.0  # thread CPU time spent in ticks (s)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Ask the thread to stop and wait; False if it did not stop in time (a hung sensor)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        start = time.monotonic()
        k = 1
        while not self._stop.wait(max(start + k * self.interval_s - time.monotonic(), 0.0)):
            now = time.monotonic()
            c0 = time.thread_time()
            try:
                self._tick(now)
            except Exception as exc:  # noqa: BLE001 - keep sampling; report each problem once
                key = f"{type(exc).__name__}: {exc}"
                if key not in self._errors and len(self._errors) < _MAX_ERRORS:
                    self._errors.add(key)
                    log.warning("sampler tick failed (%s); sampling continues", key)
            self.cpu_time_s += time.thread_time() - c0
            self.ticks += 1
            k = max(k + 1, int((time.monotonic() - start) / self.interval_s) + 1)

    @property
    def errors(self) -> list[str]:
        return sorted(self._errors)


def call_bounded(
    calls: Mapping[Hashable, Callable[[], Any]], timeout_s: float, name: str = "ecometer-io"
) -> dict[Hashable, tuple[str, Any]]:
    """Run each call in its own daemon thread; wait at most ``timeout_s`` seconds for all.

    Returns, per key, ``("ok", value)``, ``("error", exception)``, or ``("timeout", None)``
    for a call still running at the deadline: it is left to finish in the background (a
    hung sensor) and its result is dropped. The caller never waits longer than ``timeout_s``.
    """
    results: dict[Hashable, tuple[str, Any]] = {}

    def runner(key: Hashable, fn: Callable[[], Any]) -> None:
        try:
            results[key] = ("ok", fn())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which reports it
            results[key] = ("error", exc)

    threads = []
    for key, fn in calls.items():
        thread = threading.Thread(target=runner, args=(key, fn), name=f"{name}[{key}]", daemon=True)
        thread.start()
        threads.append((key, thread))
    deadline = time.monotonic() + max(timeout_s, 0.0)
    out: dict[Hashable, tuple[str, Any]] = {}
    for key, thread in threads:
        thread.join(max(deadline - time.monotonic(), 0.0))
        out[key] = ("timeout", None) if thread.is_alive() else results.get(key, ("timeout", None))
    return out
