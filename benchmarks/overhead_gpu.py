"""GPU part of benchmarks/overhead.py, run in its own process: prints one JSON result line.

(a) Windows of 1, 2 and 5 s, one meter each (default settings, no record file), on a
    steady and a bursty load: the record's GPU energy against the NVML counter read by this
    script right after ``start()`` returns and right before ``stop()`` is called, each after
    ``torch.cuda.synchronize()``.
(b) Bursty loads over several seconds: the record's integrated power timeline
    (``devices[i]["integrated_j"]``) against its own counter (``["counter_j"]``).
(c) How often the NVML energy counter advances under load, and what one read costs.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from benchmarks import _common as C
from benchmarks import workloads as W


def counter_update(counter: C.NvmlCounter, job: W.Job, span_s: float = 1.5) -> dict[str, Any]:
    """Poll the counter while queued GPU work runs; intervals between value changes."""
    k = W.calibrate(job, span_s)  # type: ignore[arg-type]
    with job.context():
        for _ in range(k):
            job.c = job.a @ job.b  # type: ignore[attr-defined]
        changes: list[float] = []
        reads = 0
        t_read = 0.0
        last = counter.read_j()
        t_end = time.monotonic() + span_s * 0.8
        while time.monotonic() < t_end:
            a = time.perf_counter()
            e = counter.read_j()
            t_read += time.perf_counter() - a
            reads += 1
            if e != last:
                changes.append(time.monotonic())
                last = e
        job.sync()
    gaps = [1000.0 * (b - a) for a, b in zip(changes, changes[1:], strict=False)]
    return {
        "changes": len(changes),
        "span_s": span_s * 0.8,
        "median_interval_ms": C.median(gaps) or float("nan"),
        "read_us": 1e6 * t_read / max(reads, 1),
    }


def window(ecometer: Any, counter: C.NvmlCounter, job: W.Job, seconds: float, load: str) -> dict[str, Any]:
    job.run(steps=1)
    meter = ecometer.Meter(f"window-{seconds:g}s", out=None)
    meter.start()
    job.sync()
    t0, e0 = counter.read_at()
    job.run(seconds=seconds)
    t1, e1 = counter.read_at()
    rec = meter.stop()
    ref = e1 - e0
    gpu = rec.components["gpu"].energy_j
    return {
        "load": load,
        "seconds": seconds,
        "window_s": t1 - t0,
        "meter_j": gpu,
        "meter_method": rec.components["gpu"].method,
        "meter_duration_s": rec.duration_s,
        "reference_j": ref,
        "error_pct": 100.0 * (gpu / ref - 1.0) if ref > 0 else float("nan"),
    }


def bursty(ecometer: Any, burst_s: float, gap_s: float, seconds: float) -> dict[str, Any]:
    job = W.build("bursty", "cuda", precision="bf16", n=8192, burst_s=burst_s, gap_s=gap_s)
    job.run(steps=2)
    meter = ecometer.Meter(f"bursty-{burst_s}-{gap_s}", out=None)
    meter.start()
    job.run(seconds=seconds)
    rec = meter.stop()
    dev = next(d for d in rec.devices if str(d.get("id", "")).startswith("gpu"))
    counter_j = dev.get("counter_j")
    integrated = dev.get("integrated_j")
    return {
        "burst_s": burst_s,
        "gap_s": gap_s,
        "seconds": rec.duration_s,
        "counter_j": counter_j,
        "integrated_j": integrated,
        "energy_j": dev.get("energy_j"),
        "power_points": dev.get("power_points"),
        "integrated_vs_counter_pct": 100.0 * (integrated / counter_j - 1.0) if counter_j else float("nan"),
        "sensor_notes": [n for s in rec.sensors if s.component == "gpu" for n in s.notes][:6],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    import torch

    import ecometer

    if not torch.cuda.is_available():
        C.emit({"skipped": "torch cannot see CUDA"})
        return 0
    counter = C.NvmlCounter(0)
    steady = W.build("gpu_matmul", "cuda", precision="bf16", n=8192, per_step=1)
    burst = W.build("bursty", "cuda", precision="bf16", n=8192, burst_s=0.15, gap_s=0.15)
    steady.run(seconds=1.0)  # warm up clocks and kernels
    out: dict[str, Any] = {"windows": [], "bursty": []}
    out["counter_update"] = counter_update(counter, steady)
    plan = [(1.0, 3), (2.0, 2), (5.0, 1)] if args.quick else [(1.0, 6), (2.0, 4), (5.0, 2)]
    for seconds, reps in plan:
        for _ in range(reps):
            out["windows"].append(window(ecometer, counter, steady, seconds, "steady bf16 matmul"))
            out["windows"].append(window(ecometer, counter, burst, seconds, "bursty 150/150 ms"))
    span = 6.0 if args.quick else 10.0
    for b, g in [(0.3, 0.3), (0.05, 0.1)]:
        out["bursty"].append(bursty(ecometer, b, g, span))
    counter.close()
    C.emit(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
