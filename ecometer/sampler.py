"""The one background thread that drives a meter's sensors at a fixed interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("ecometer.sampler")


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
                if key not in self._errors:
                    self._errors.add(key)
                    log.warning("sampler tick failed (%s); sampling continues", key)
            self.cpu_time_s += time.thread_time() - c0
            self.ticks += 1
            k = max(k + 1, int((time.monotonic() - start) / self.interval_s) + 1)

    @property
    def errors(self) -> list[str]:
        return sorted(self._errors)
