"""One measured run in a fresh process: a workload under one tool; prints one JSON result line.

    python -m benchmarks.worker --tool ecometer --workload transformer_train --device cuda --steps 200

Modes:
  window  one window of ``--steps`` steps (after ``--warmup-steps``), measured by the tool and,
          on a GPU, by this worker's own NVML counter reads just inside the tool's window
          (after ``torch.cuda.synchronize()``). Reports start/stop latency, workload time,
          the tool's CPU time, memory, and each tool's GPU/CPU/DRAM figures with methods.
  calibrate  how many steps fit in ``--seconds``.
  short   GPU bursts of ``--bursts`` seconds, ``--n`` per length, one window per burst
          (ecometer: ``phase(exact=True)`` and plain phases; zeus: begin/end_window with and
          without ``approx_instant_energy``; codecarbon: start_task/stop_task). Tool ``none``
          gives the ground truth: counter energy over ``n`` back-to-back bursts / n, and the
          idle power.

Units: joules, seconds, bytes.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import time
import warnings
from typing import Any

T_LAUNCH = time.perf_counter()

from benchmarks import _common as C  # noqa: E402
from benchmarks import workloads as W  # noqa: E402

KWH = 3.6e6  # J per kWh


# ---- tool adapters -------------------------------------------------------------------------
class Tool:
    name = "none"

    def __init__(self, gpu_index: int | None, country: str, unit: str) -> None:
        self.gpu_index = gpu_index
        self.country = country
        self.unit = unit

    def load(self) -> None:
        """Import the tool (timed separately from start)."""

    def start(self) -> None:
        pass

    def stop(self) -> dict[str, Any]:
        return {}

    # short windows
    def begin(self, key: str) -> None:
        pass

    def end(self, key: str) -> float | None:
        return None


class EcometerTool(Tool):
    name = "ecometer"

    def load(self) -> None:
        import ecometer

        self.ecometer = ecometer

    def start(self) -> None:
        # defaults except out=None (CodeCarbon runs with save_to_file=False too)
        self.meter = self.ecometer.Meter("benchmark", gpus="auto", out=None, work_unit=self.unit)
        self.meter.start()
        self.exact = True

    def add_work(self, units: float) -> None:
        self.meter.add_work(units)

    def stop(self) -> dict[str, Any]:
        rec = self.meter.stop()
        out: dict[str, Any] = {"components": {}}
        for name, comp in rec.components.items():
            out["components"][name] = {
                "energy_j": comp.energy_j,
                "method": comp.method,
                "low_j": comp.uncertainty.low,
                "high_j": comp.uncertainty.high,
                "source": comp.source,
            }
        out["gpu_j"] = rec.components["gpu"].energy_j if "gpu" in rec.components else None
        out["cpu_j"] = rec.components["cpu"].energy_j if "cpu" in rec.components else None
        out["dram_j"] = rec.components["dram"].energy_j if "dram" in rec.components else None
        out["devices"] = [
            {k: d.get(k) for k in ("id", "energy_j", "integrated_j", "counter_j", "power_points")} for d in rec.devices
        ]
        sampler = getattr(self.meter, "_sampler", None)
        if sampler is not None:
            out["sampler_thread_cpu_s"] = sampler.cpu_time_s
            out["sampler_ticks"] = sampler.ticks
        out["warnings"] = list(rec.warnings)
        self.record = rec
        return out

    def begin(self, key: str) -> None:
        self._phase = self.meter.phase(key, exact=self.exact)
        self._phase.__enter__()

    def end(self, key: str) -> float | None:
        self._phase.__exit__(None, None, None)
        return None  # phases are resolved at stop; see short_readings()


class CodeCarbonTool(Tool):
    name = "codecarbon"

    def load(self) -> None:
        from codecarbon import OfflineEmissionsTracker

        self.cls = OfflineEmissionsTracker
        logging.getLogger("codecarbon").setLevel(logging.ERROR)

    def _make(self) -> Any:
        kwargs: dict[str, Any] = {
            "country_iso_code": self.country,
            "save_to_file": False,
            "log_level": "error",
            "tracking_mode": "machine",
        }
        if self.gpu_index is not None:
            kwargs["gpu_ids"] = [self.gpu_index]
        tracker = self.cls(**kwargs)
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        return tracker

    def start(self) -> None:
        self.tracker = self._make()
        self.tracker.start()

    def stop(self) -> dict[str, Any]:
        self.tracker.stop()
        d = self.tracker.final_emissions_data
        hardware = [str(h) for h in (self.tracker._conf.get("hardware") or [])]
        return {
            "gpu_j": d.gpu_energy * KWH if self.gpu_index is not None else None,
            "cpu_j": d.cpu_energy * KWH,
            "dram_j": d.ram_energy * KWH,
            "cpu_power_w": d.cpu_power,
            "ram_power_w": d.ram_power,
            "hardware": hardware,
            "components": {
                "gpu": {"method": "counter (NVML energy delta)"} if self.gpu_index is not None else None,
                "cpu": {"method": _cc_cpu_method(hardware)},
                "dram": {"method": "constant (fixed W per installed memory)"},
            },
        }

    def begin(self, key: str) -> None:
        if not hasattr(self, "tracker"):
            self.tracker = self._make()
        self.tracker.start_task(key)

    def end(self, key: str) -> float | None:
        d = self.tracker.stop_task(key)
        return d.gpu_energy * KWH if d is not None else None


def _cc_cpu_method(hardware: list[str]) -> str:
    text = " ".join(h for h in hardware if h.startswith("CPU")) or " ".join(hardware)
    if "RAPL" in text or "Power Gadget" in text or "PowerMetrics" in text:
        return f"counter ({text})"
    if "Load" in text:
        return f"modelled: utilisation x TDP guess ({text})"
    return f"constant ({text})"


class ZeusTool(Tool):
    name = "zeus"
    approx = False

    def load(self) -> None:
        from zeus.monitor import ZeusMonitor

        self.cls = ZeusMonitor
        logging.getLogger("zeus").setLevel(logging.ERROR)

    def _make(self) -> Any:
        gpus = [self.gpu_index] if self.gpu_index is not None else []
        return self.cls(gpu_indices=gpus, approx_instant_energy=self.approx)

    def start(self) -> None:
        self.monitor = self._make()
        self.monitor.begin_window("benchmark")

    def stop(self) -> dict[str, Any]:
        m = self.monitor.end_window("benchmark")
        cpu = sum(m.cpu_energy.values()) if m.cpu_energy else None
        dram = sum(m.dram_energy.values()) if m.dram_energy else None
        return {
            "gpu_j": sum(m.gpu_energy.values()) if m.gpu_energy else None,
            "cpu_j": cpu,
            "dram_j": dram,
            "components": {
                "gpu": {"method": "counter (NVML energy delta)"} if m.gpu_energy else None,
                "cpu": {"method": "counter (RAPL)"} if cpu is not None else {"method": "none (no RAPL)"},
                "dram": {"method": "counter (RAPL)"} if dram is not None else {"method": "none"},
            },
        }

    def begin(self, key: str) -> None:
        if not hasattr(self, "monitor"):
            self.monitor = self._make()
        self.monitor.begin_window(key)

    def end(self, key: str) -> float | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = self.monitor.end_window(key)
        return sum(m.gpu_energy.values())


TOOLS: dict[str, type[Tool]] = {"none": Tool, "ecometer": EcometerTool, "codecarbon": CodeCarbonTool, "zeus": ZeusTool}


# ---- window mode -------------------------------------------------------------------------
def run_window(args: argparse.Namespace) -> dict[str, Any]:
    cuda = args.device.startswith("cuda")
    params = json.loads(args.params or "{}")
    job = W.build(args.workload, args.device, **params)
    if args.warmup_steps:
        job.run(steps=args.warmup_steps)
    counter = C.NvmlCounter(args.gpu_index) if cuda else None
    tool = TOOLS[args.tool](args.gpu_index if cuda else None, args.country, job.unit)
    gc.collect()
    peak0, rss0 = C.peak_rss_bytes(), C.current_rss_bytes()
    threads0 = C.thread_cpu_s()
    proc0 = time.process_time()

    outer0 = None
    if counter is not None:
        job.sync()
        outer0 = counter.read_at()
    c0 = time.thread_time()
    t0 = time.perf_counter()
    tool.load()
    import_s = time.perf_counter() - t0
    import_cpu_s = time.thread_time() - c0

    c1 = time.thread_time()
    t1 = time.perf_counter()
    tool.start()
    start_s = time.perf_counter() - t1
    start_cpu_s = time.thread_time() - c1

    ref0 = ref1 = None
    job.sync()
    if counter is not None:
        ref0 = counter.read_at()
    tw = time.perf_counter()
    done = job.run(steps=args.steps)
    workload_s = time.perf_counter() - tw
    if counter is not None:
        ref1 = counter.read_at()
    if isinstance(tool, EcometerTool):
        tool.add_work(done.units)

    threads_before_stop = C.thread_cpu_s()
    c2 = time.thread_time()
    t2 = time.perf_counter()
    readings = tool.stop()
    stop_s = time.perf_counter() - t2
    stop_cpu_s = time.thread_time() - c2
    proc1 = time.process_time()
    outer1 = counter.read_at() if counter is not None else None
    threads1 = C.thread_cpu_s()
    peak1, rss1 = C.peak_rss_bytes(), C.current_rss_bytes()

    # CPU used by the tool: process CPU time minus what the threads that existed before it
    # (the job's threads, the main thread) used, plus the main thread's time inside start/stop.
    preexisting = sum(threads1.get(t, threads_before_stop.get(t, v)) - v for t, v in threads0.items())
    tool_threads_cpu_s = max((proc1 - proc0) - preexisting, 0.0)
    new_threads = {t: v for t, v in threads_before_stop.items() if t not in threads0}
    result: dict[str, Any] = {
        "mode": "window",
        "tool": args.tool,
        "workload": args.workload,
        "device": args.device,
        "params": done.params,
        "unit": done.unit,
        "units": done.units,
        "steps": done.steps,
        "process_start_to_ready_s": t0 - T_LAUNCH,
        "import_s": import_s,
        "import_cpu_s": import_cpu_s,
        "start_s": start_s,
        "stop_s": stop_s,
        "workload_s": workload_s,
        "process_cpu_s": proc1 - proc0,
        "meter_cpu_s": tool_threads_cpu_s + start_cpu_s + stop_cpu_s,
        "meter_thread_cpu_s": tool_threads_cpu_s,
        "meter_start_stop_cpu_s": start_cpu_s + stop_cpu_s,
        "tool_threads_alive_before_stop": len(new_threads),
        "peak_rss_delta_bytes": peak1 - peak0,
        "rss_delta_bytes": rss1 - rss0,
        "peak_rss_bytes": peak1,
        "readings": readings,
    }
    if ref0 is not None and ref1 is not None:
        result["reference"] = {
            "method": "nvmlDeviceGetTotalEnergyConsumption after torch.cuda.synchronize(), read inside the tool's window",
            "gpu_j": ref1[1] - ref0[1],
            "window_s": ref1[0] - ref0[0],
        }
        if outer0 is not None and outer1 is not None:
            # read before the tool's import and after its stop: an upper bracket
            result["reference"]["outer_gpu_j"] = outer1[1] - outer0[1]
            result["reference"]["outer_window_s"] = outer1[0] - outer0[0]
        gpu = readings.get("gpu_j")
        if gpu is not None and result["reference"]["gpu_j"] > 0:
            result["gpu_error_pct"] = 100.0 * (gpu / result["reference"]["gpu_j"] - 1.0)
    if counter is not None:
        counter.close()
    return result


def run_calibrate(args: argparse.Namespace) -> dict[str, Any]:
    """How many steps of the workload fit in ``--seconds`` (after warm-up)."""
    job = W.build(args.workload, args.device, **json.loads(args.params or "{}"))
    if args.warmup_steps:
        job.run(steps=args.warmup_steps)
    done = job.run(seconds=args.seconds)
    return {"mode": "calibrate", "steps": done.steps, "seconds": done.seconds, "units": done.units, "unit": done.unit}


# ---- short-window mode ---------------------------------------------------------------------
def run_short(args: argparse.Namespace) -> dict[str, Any]:
    if not args.device.startswith("cuda"):
        raise SystemExit("short-window mode needs a CUDA device")
    bursts = [float(b) for b in args.bursts.split(",")]
    counter = C.NvmlCounter(args.gpu_index)
    jobs = {b: W.build("burst", args.device, precision="bf16", n=args.burst_n, burst_s=b) for b in bursts}
    for job in jobs.values():
        job.run(steps=3)
    out: dict[str, Any] = {"mode": "short", "tool": args.tool, "bursts_s": bursts, "n": args.n, "series": {}}
    if args.tool == "none":
        out["idle_w"] = _idle_power(counter, jobs[bursts[0]])
        for b, job in jobs.items():
            job.run(steps=5)
            t0, e0 = counter.read_at()
            durations = []
            for _ in range(args.n):
                a = time.perf_counter()
                job.step()
                durations.append(time.perf_counter() - a)
            t1, e1 = counter.read_at()
            out["series"][_key(b)] = {
                "truth_j": (e1 - e0) / args.n,
                "series_s": t1 - t0,
                "burst_s": sum(durations) / len(durations),
                "matmuls_per_burst": job.k,
            }
        counter.close()
        return out

    variants: list[tuple[str, Tool]] = []
    if args.tool == "ecometer":
        tool = EcometerTool(args.gpu_index, args.country, "matmul")
        tool.load()
        tool.start()
        variants = [("ecometer_exact", tool), ("ecometer_phase", tool)]
    elif args.tool == "zeus":
        plain = ZeusTool(args.gpu_index, args.country, "matmul")
        plain.load()
        approx = ZeusTool(args.gpu_index, args.country, "matmul")
        approx.cls = plain.cls
        approx.approx = True
        variants = [("zeus", plain), ("zeus_approx", approx)]
    elif args.tool == "codecarbon":
        tool = CodeCarbonTool(args.gpu_index, args.country, "matmul")
        tool.load()
        variants = [("codecarbon_task", tool)]
    n_windows = args.n if args.tool != "codecarbon" else min(args.n, args.n_codecarbon)
    for b, job in jobs.items():
        for variant, tool in variants:
            if isinstance(tool, EcometerTool):
                tool.exact = variant == "ecometer_exact"
            job.run(steps=3)
            t0, e0 = counter.read_at()
            readings: list[float | None] = []
            keys = []
            durations = []
            for i in range(n_windows):
                key = f"{variant}-{_key(b)}-{i}"
                keys.append(key)
                a = time.perf_counter()
                tool.begin(key)
                job.step()
                readings.append(tool.end(key))
                durations.append(time.perf_counter() - a)
            t1, e1 = counter.read_at()
            out["series"].setdefault(_key(b), {})[variant] = {
                "readings_j": readings,
                "keys": keys,
                "window_s": sum(durations) / len(durations),
                "series_mean_j": (e1 - e0) / n_windows,
                "series_s": t1 - t0,
            }
    if args.tool == "ecometer":
        tool = variants[0][1]
        assert isinstance(tool, EcometerTool)
        tool.stop()
        phases = tool.record.phases
        for per_burst in out["series"].values():
            for entry in per_burst.values():
                entry["readings_j"] = [phases[k].components.get("gpu") if k in phases else None for k in entry["keys"]]
    for per_burst in out["series"].values():
        for entry in per_burst.values():
            entry.pop("keys", None)
    counter.close()
    return out


def _idle_power(counter: C.NvmlCounter, job: W.Job, settle_s: float = 1.0, span_s: float = 2.0) -> float:
    """Idle power (W) from the counter over ``span_s`` after ``settle_s`` without work."""
    job.sync()
    time.sleep(settle_s)
    t0, e0 = counter.read_at()
    time.sleep(span_s)
    t1, e1 = counter.read_at()
    return (e1 - e0) / (t1 - t0)


def _key(b: float) -> str:
    return f"{round(b * 1000)}ms"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tool", choices=sorted(TOOLS), default="none")
    p.add_argument("--mode", choices=("window", "short", "calibrate"), default="window")
    p.add_argument("--workload", default="cpu_matmul", choices=sorted(W.WORKLOADS))
    p.add_argument("--device", default="cpu")
    p.add_argument("--params", default="{}", help="workload parameters as JSON")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--seconds", type=float, default=2.0, help="calibrate mode: target window length (s)")
    p.add_argument("--warmup-steps", type=int, default=3)
    p.add_argument("--gpu-index", type=int, default=0)
    p.add_argument("--country", default="USA", help="ISO-3 country for CodeCarbon (set explicitly: no network)")
    p.add_argument("--bursts", default="0.02,0.05,0.1", help="short mode: burst lengths (s)")
    p.add_argument("--n", type=int, default=100, help="short mode: windows per burst length")
    p.add_argument("--n-codecarbon", type=int, default=40, help="short mode: windows per length for CodeCarbon")
    p.add_argument("--burst-n", type=int, default=4096, help="short mode: matrix size of the bursts")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("CODECARBON_LOG_LEVEL", "error")
    try:
        modes = {"short": run_short, "window": run_window, "calibrate": run_calibrate}
        result = modes[args.mode](args)
    except Exception as exc:  # noqa: BLE001 - report the failure as the result line
        import traceback

        C.emit(
            {
                "tool": args.tool,
                "mode": args.mode,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()[-3000:],
            }
        )
        return 1
    C.emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
