"""Per-node costs of ecometer, for docs/SCALE.md (a script, not a test).

    PYTHONPATH=. .venv/bin/python tests/scale_overhead.py [--seconds 20] [--json out.json]

Measures, on the machine it runs on:

1. sampler CPU time per wall second with this machine's host sensors (auto-detected: RAPL or
   the CPU/memory models), at several sampling intervals;
2. the Prometheus exporter's cost per scrape (render time and HTTP round trip over loopback)
   for a node of 8 GPUs plus CPU and DRAM (scripted sensors: the cost is per series), with
   a site (water and carbon computed at each scrape), and the bytes per scrape;
3. record size for 1 h and ``--long-hours`` of run (8 GPUs + CPU + DRAM, 0.1 s sampling,
   one phase per second), as written and gzip-compressed, and the zlib payload a rank sends
   at stop;
4. merging 64 ranks' one-hour records (8 nodes x 8 GPUs) on rank 0: time and size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import statistics
import sys
import time
import urllib.request
import zlib

from conftest import FakeClock

import ecometer
from ecometer.distributed.merge import merge_records
from ecometer.integrations.prometheus import serve
from ecometer.measuring.meter import Meter
from ecometer.sensors.replay import ReplaySensor


def sampler_cpu(seconds: float, interval_s: float, gpus: str | None) -> dict[str, float]:
    meter = Meter("overhead", gpus=gpus, out=None, interval_s=interval_s)
    meter.start()
    sensors = [g.sensor.name for g in meter.run.supervisor.guards]
    c0, w0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu, wall = time.process_time() - c0, time.monotonic() - w0
    sampler = meter.run.sampler
    thread_cpu = sampler.cpu_time_s if sampler is not None else float("nan")
    ticks = sampler.ticks if sampler is not None else 0
    meter.stop()
    return {
        "interval_s": interval_s,
        "sensors": sensors,
        "process_cpu_s_per_s": cpu / wall,
        "sampler_thread_cpu_s_per_s": thread_cpu / wall,
        "cpu_ms_per_tick": 1000 * thread_cpu / max(ticks, 1),
    }


def exporter_cost(scrapes: int) -> dict[str, float]:
    sensors = [ReplaySensor([(0, 300.0 + 10 * i)], device=f"gpu:{i}", method="counter") for i in range(8)]
    sensors += [
        ReplaySensor([(0, 180.0)], component="cpu", device="cpu:package-0"),
        ReplaySensor([(0, 40.0)], component="dram", device="dram:0"),
    ]
    meter = ecometer.measure(
        "overhead", sensors=sensors, out=None, interval_s=0.1, site="us-average", work_unit="token"
    )
    meter.start()
    meter.add_work(1000)
    times: list[float] = []
    size = 0
    with serve(meter, port=0) as exporter:
        for _ in range(scrapes):
            t0 = time.perf_counter()
            with urllib.request.urlopen(exporter.url, timeout=5) as resp:
                size = len(resp.read())
            times.append(time.perf_counter() - t0)
        render_ms = 1000 * exporter.render_s / exporter.scrapes
    meter.stop()
    return {
        "scrapes": scrapes,
        "render_ms": render_ms,
        "http_roundtrip_ms_median": 1000 * statistics.median(times),
        "http_roundtrip_ms_p99": 1000 * sorted(times)[int(0.99 * len(times)) - 1],
        "bytes_per_scrape": size,
    }


def hour_record(hours: float, interval_s: float = 0.1):
    clock = FakeClock()
    sensors = [
        ReplaySensor([(0, 300.0), (1800, 650.0)], device=f"gpu:{i}", method="counter", clock=clock) for i in range(8)
    ]
    sensors += [
        ReplaySensor([(0, 180.0)], component="cpu", device="cpu:package-0", clock=clock, method="counter"),
        ReplaySensor([(0, 40.0)], component="dram", device="dram:0", clock=clock, method="counter"),
    ]
    meter = Meter("hour", sensors=sensors, out=None, interval_s=interval_s, clock=clock, background=False)
    meter.start()
    per_step = int(round(1.0 / interval_s))
    for _ in range(int(hours * 3600)):
        with meter.phase("step"):
            for _ in range(per_step):
                clock.t += interval_s
                meter.sample_now()
        meter.add_work(4096, "token")
    return meter.stop()


def record_sizes(long_hours: float) -> dict[str, float]:
    t0 = time.perf_counter()
    rec = hour_record(1.0)
    simulate_s = time.perf_counter() - t0
    text = rec.to_json()
    long_text = hour_record(long_hours).to_json() if long_hours else ""
    return {
        "record_bytes_1h": len(text.encode()),
        "record_gzip_bytes_1h": len(gzip.compress(text.encode())),
        f"record_bytes_{long_hours:g}h": len(long_text.encode()),
        f"record_gzip_bytes_{long_hours:g}h": len(gzip.compress(long_text.encode())),
        "rank_payload_zlib_bytes": len(zlib.compress(rec.to_json(indent=None).encode(), 6)),
        "timeline_points": len(rec.timeline.t_s),
        "spans_kept": len(rec.timeline.spans),
        "simulated_in_s": simulate_s,
    }, rec


def merge_cost(template) -> dict[str, float]:
    parts = []
    for rank in range(64):
        part = type(template).from_dict(template.to_dict())
        part.distributed = {
            "role": "rank",
            "rank": rank,
            "world_size": 64,
            "local_rank": rank % 8,
            "node_rank": rank // 8,
            "hostname": f"node{rank // 8:02d}",
            "host_sensors": rank % 8 == 0,
        }
        if rank % 8:
            part.components = {k: v for k, v in part.components.items() if k == "gpu"}
        for comp in part.components.values():
            comp.devices = {d: j for d, j in comp.devices.items() if d == f"gpu:{rank % 8}" or not d.startswith("gpu")}
        parts.append(part)
    t0 = time.perf_counter()
    job = merge_records(parts)
    merge_s = time.perf_counter() - t0
    return {
        "ranks": 64,
        "merge_s": merge_s,
        "job_record_bytes": len(job.to_json().encode()),
        "job_timeline_channels": job.distributed["timeline_channels"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds per sampler measurement")
    parser.add_argument("--scrapes", type=int, default=500)
    parser.add_argument("--gpus", default=None, help="'auto' to include NVML GPUs in the sampler measurement")
    parser.add_argument("--long-hours", type=float, default=6.0, help="also size a record of this many hours")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, object] = {
        "cpu": os.cpu_count(),
        "python": sys.version.split()[0],
        "sampler": [sampler_cpu(args.seconds, i, args.gpus) for i in (0.1, 0.5, 1.0)],
        "exporter": exporter_cost(args.scrapes),
    }
    sizes, rec = record_sizes(args.long_hours)
    results["record"] = sizes
    results["merge"] = merge_cost(rec)
    text = json.dumps(results, indent=1)
    sys.stdout.write(text + "\n")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
