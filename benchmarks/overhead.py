"""ecometer's own costs and accuracy against issue 3's performance targets, in one run.

    python -m benchmarks.overhead                 # everything this machine can do
    python -m benchmarks.overhead --quick         # fewer repetitions, shorter GPU windows
    python -m benchmarks.overhead --parts coldstart,sampler

Parts (each checks what it needs and says what is missing):
  coldstart  fresh process: ``import ecometer`` + ``Meter()`` + start + stop of an empty window
             (default settings, record written to a temporary ECOMETER_DIR) against a fresh
             process doing CodeCarbon ``OfflineEmissionsTracker`` start + stop (country set,
             save_to_file False); >= 5 repetitions each, alternating; medians.
             Target: ecometer <= 1/10 of CodeCarbon.
  sampler    the sampler at default settings (interval 0.1 s, gpus="auto", checkpoints on)
             with an idle job for ~20 s, in a fresh process: the sampler thread's CPU time
             (kernel per-thread clock) / wall time, as % of one core. Target <= 0.5 %.
             ``--parts sampler`` measures only this (~25 s); ``--sampler-scope process``
             measures the process-scope sampler (process-tree reads) instead.
  sim        a 7-day run simulated with ReplaySensor and a fake clock (background=False):
             one tick per simulated second (not the default 0.1 s: 6 M ticks would take too
             long), a "step" phase and add_work per tick; peak traced memory (tracemalloc)
             and record size. Target < 20 MB.
  gpu        on an NVIDIA GPU: (a) energy over 1, 2 and 5 s windows (one meter each) against
             the NVML counter read by this script right after start() and right before
             stop() (after torch.cuda.synchronize()), target within 0.1 %; (b) on bursty
             loads, the record's integrated timeline (devices[i]["integrated_j"]) against its
             counter (["counter_j"]), target within 2 %; (c) how often the counter advances.

Writes ``reports/benchmarks/<tag>/overhead.json`` and ``overhead.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import _common as C

PARTS = ("coldstart", "sampler", "sim", "gpu")

_ECOMETER_COLD = """
import time
t0 = time.perf_counter()
import ecometer
t1 = time.perf_counter()
m = ecometer.Meter("empty")
m.start()
t2 = time.perf_counter()
rec = m.stop()
t3 = time.perf_counter()
import json
print("BENCH_RESULT " + json.dumps({"import_s": t1 - t0, "start_s": t2 - t1, "stop_s": t3 - t2, "total_s": t3 - t0,
      "saved": str(m.path), "sensors": [s.name for s in rec.sensors]}))
"""

_CODECARBON_COLD = """
import time
t0 = time.perf_counter()
from codecarbon import OfflineEmissionsTracker
t1 = time.perf_counter()
tr = OfflineEmissionsTracker(country_iso_code=COUNTRY, save_to_file=False, log_level="error")
tr.start()
t2 = time.perf_counter()
tr.stop()
t3 = time.perf_counter()
import json
print("BENCH_RESULT " + json.dumps({"import_s": t1 - t0, "start_s": t2 - t1, "stop_s": t3 - t2, "total_s": t3 - t0}))
"""


def _python(
    code: str, env: dict[str, str] | None = None, timeout_s: float = 120.0, path_first: Path | None = None
) -> dict[str, Any]:
    import subprocess

    full_env = dict(os.environ)
    first = [str(path_first)] if path_first else []
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in [*first, str(C.ROOT), full_env.get("PYTHONPATH", "")] if p)
    full_env.update(env or {})
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout_s, cwd=C.ROOT, env=full_env
    )
    wall = time.perf_counter() - t0
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(C.RESULT_MARK):
            out = json.loads(line[len(C.RESULT_MARK) :])
            out["process_wall_s"] = wall
            return out
    return {"error": f"exit {proc.returncode}", "output_tail": (proc.stdout[-800:] + proc.stderr[-1500:]).strip()}


# ---- cold start -----------------------------------------------------------------------------
def part_coldstart(reps: int, country: str, log: Any) -> dict[str, Any]:
    has_cc = C.have("codecarbon")
    eco: list[dict[str, Any]] = []
    cc: list[dict[str, Any]] = []
    compiled = "ecometer imported from a byte-compiled copy (as pip install leaves it)"
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as pkg:
        eco_path = C.compiled_copy(Path(pkg))
        env = {"ECOMETER_DIR": tmp}
        _python(_ECOMETER_COLD, env, path_first=eco_path)  # warm the OS file cache once for both (not counted)
        if has_cc:
            _python(_CODECARBON_COLD.replace("COUNTRY", repr(country)), env)
        for i in range(reps):
            pair = [("ecometer", _ECOMETER_COLD), ("codecarbon", _CODECARBON_COLD.replace("COUNTRY", repr(country)))]
            if i % 2:
                pair.reverse()
            for name, code in pair:
                if name == "codecarbon" and not has_cc:
                    continue
                r = _python(code, env, path_first=eco_path if name == "ecometer" else None)
                (eco if name == "ecometer" else cc).append(r)
                log(f"  cold start {name}: {r.get('total_s', r.get('error'))}")
    out: dict[str, Any] = {
        "ecometer": eco,
        "codecarbon": cc if has_cc else "codecarbon not installed",
        "bytecode": compiled,
    }
    e_total = C.median([r.get("total_s") for r in eco])
    out["ecometer_total_s"] = e_total
    out["ecometer_start_stop_s"] = C.median([r["start_s"] + r["stop_s"] for r in eco if "start_s" in r])
    if has_cc and cc:
        c_ss = C.median([r["start_s"] + r["stop_s"] for r in cc if "start_s" in r])
        c_total = C.median([r.get("total_s") for r in cc])
        out["codecarbon_start_stop_s"] = c_ss
        out["codecarbon_total_s"] = c_total
        if e_total and c_ss:
            out["ratio_vs_codecarbon_start_stop"] = e_total / c_ss
            out["ratio_vs_codecarbon_with_import"] = e_total / c_total if c_total else None
            out["target_met"] = e_total <= c_ss / 10.0
    return out


# ---- sampler CPU ------------------------------------------------------------------------------
_SAMPLER = """
import time, json, os, sys
sys.path.append(ROOT)
from benchmarks._common import thread_cpu_s
import ecometer
before = thread_cpu_s()
p0 = time.process_time()
m = ecometer.Meter("idle", scope=SCOPE)
m.start()
t0 = time.perf_counter()
time.sleep(SECONDS)
wall = time.perf_counter() - t0
threads = thread_cpu_s()
new = {t: v for t, v in threads.items() if t not in before}
rec = m.stop()
p1 = time.process_time()
s = m.run.sampler
print("BENCH_RESULT " + json.dumps({
  "wall_s": wall, "sampler_tick_cpu_s": s.cpu_time_s, "ticks": s.ticks,
  "new_threads": len(new), "new_threads_cpu_s": sum(new.values()),
  "process_cpu_s": p1 - p0, "sensors": [x.name for x in rec.sensors],
  "methods": rec.methods, "interval_s": m.interval_s, "scope": m.scope}))
"""


SAMPLER_TARGET_PCT = 0.5  # sampler thread CPU, % of one core (issue 12)


def part_sampler(seconds: float, log: Any, scope: str = "machine") -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as pkg:
        code = _SAMPLER.replace("ROOT", repr(str(C.ROOT))).replace("SECONDS", repr(seconds))
        code = code.replace("SCOPE", repr(scope))
        r = _python(code, {"ECOMETER_DIR": tmp}, timeout_s=seconds + 120, path_first=C.compiled_copy(Path(pkg)))
    if "error" in r:
        return r
    r["sampler_thread_pct_of_core"] = 100.0 * r["new_threads_cpu_s"] / r["wall_s"]
    r["tick_cpu_pct_of_core"] = 100.0 * r["sampler_tick_cpu_s"] / r["wall_s"]
    r["process_cpu_pct_of_core"] = 100.0 * r["process_cpu_s"] / r["wall_s"]
    r["cpu_per_tick_us"] = 1e6 * r["sampler_tick_cpu_s"] / max(r["ticks"], 1)
    r["target_pct"] = SAMPLER_TARGET_PCT
    r["target_met"] = r["sampler_thread_pct_of_core"] <= SAMPLER_TARGET_PCT
    log(f"  sampler: {r['sampler_thread_pct_of_core']:.3f} % of a core over {r['wall_s']:.1f} s ({r['ticks']} ticks)")
    return r


# ---- 7-day simulation ------------------------------------------------------------------------------
def part_sim(days: float, tick_s: float, memory: str, log: Any) -> dict[str, Any]:
    import tracemalloc

    from ecometer.measuring.meter import Meter
    from ecometer.sensors.replay import ReplaySensor

    class FakeClock:
        def __init__(self) -> None:
            self.t = 1000.0

        def __call__(self) -> float:
            return self.t

    clock = FakeClock()
    span = days * 86400.0
    # a GPU with a counter (50 power levels over the run) and a modelled CPU, both scripted
    gpu_trace = [(i * span / 50, 300.0 + 200.0 * (i % 3)) for i in range(50)]
    cpu_trace = [(0.0, 40.0), (3600.0, 80.0), (7200.0, 60.0)]
    sensors = [
        ReplaySensor(gpu_trace, component="gpu", method="counter", clock=clock),
        ReplaySensor(cpu_trace, component="cpu", device="cpu", method="modelled", clock=clock, uncertainty=(0.3, 0.3)),
    ]
    if memory == "tracemalloc":
        tracemalloc.start()
    hwm0 = C.peak_rss_bytes()
    rss0 = C.current_rss_bytes()
    t_wall = time.perf_counter()
    meter = Meter("seven-days", sensors=sensors, clock=clock, background=False, out=None, work_unit="sample")
    meter.start()
    ticks = int(span / tick_s)
    half = tick_s / 2.0
    checkpoints = []
    for i in range(ticks):
        clock.t += half
        with meter.phase("step"):
            clock.t += half
        meter.add_work(32)
        meter.sample_now()
        if i and i % (ticks // 7 or 1) == 0:
            cur = tracemalloc.get_traced_memory()[0] if memory == "tracemalloc" else C.current_rss_bytes() - rss0
            checkpoints.append({"day": round(i * tick_s / 86400.0, 2), "memory_bytes": cur})
    record = meter.stop()
    text = record.to_json()
    if memory == "tracemalloc":
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        peak = C.peak_rss_bytes() - hwm0
    expected = sensors[0].energy_between(0.0, clock.t - sensors[0]._t_open) if sensors[0]._t_open is not None else None
    out = {
        "days": days,
        "tick_s": tick_s,
        "ticks": ticks,
        "interval_s": meter.interval_s,
        "memory_method": "tracemalloc peak (Python allocations)" if memory == "tracemalloc" else "VmHWM growth (RSS)",
        "peak_memory_bytes": peak,
        "memory_by_day": checkpoints,
        "record_bytes": len(text.encode()),
        "timeline_points": len(record.timeline.t_s),
        "timeline_bucket_s": record.timeline.bucket_s,
        "spans": len(record.timeline.spans),
        "spans_dropped": record.timeline.spans_dropped,
        "gpu_energy_j": record.components["gpu"].energy_j,
        "gpu_expected_j": expected,
        "phase_step_count": record.phases["step"].count,
        "work": record.work,
        "wall_s": time.perf_counter() - t_wall,
    }
    out["target_met"] = peak < 20 * 2**20 and out["record_bytes"] < 20 * 2**20
    log(f"  sim: {ticks} ticks, peak {peak / 2**20:.2f} MiB ({memory}), record {out['record_bytes'] / 1024:.0f} KiB")
    return out


# ---- GPU accuracy ------------------------------------------------------------------------------------
def part_gpu(quick: bool, log: Any) -> dict[str, Any]:
    if not C.nvml_gpus():
        return {"skipped": "no NVIDIA GPU visible through NVML"}
    if not C.torch_cuda():
        return {"skipped": "torch cannot see CUDA (install a CUDA build of torch)"}
    args = ["--quick"] if quick else []
    r = C.run_worker("benchmarks.overhead_gpu", args, timeout_s=400)
    if "error" not in r:
        for w in r.get("windows", []):
            log(
                f"  gpu window {w['seconds']} s ({w['load']}): meter {w['meter_j']:.1f} J vs counter {w['reference_j']:.1f} J ({w['error_pct']:+.3f} %)"
            )
        for b in r.get("bursty", []):
            log(
                f"  bursty {b['burst_s']}/{b['gap_s']} s: integrated vs counter {b['integrated_vs_counter_pct']:+.2f} %"
            )
    return r


# ---- report -----------------------------------------------------------------------------------------
def markdown(res: dict[str, Any], env: dict[str, Any]) -> str:
    v = env["versions"]
    gpus = ", ".join(g["name"] for g in env.get("gpus", [])) or "none"
    lines = [
        "# ecometer overhead and accuracy (issue 3 performance targets)",
        "",
        f"Machine: {env['cpu_model']} ({env['logical_cpus']} logical CPUs), GPU: {gpus}; "
        f"python {v['python']}, ecometer {v['ecometer']}, codecarbon {v['codecarbon']}, torch {v['torch']}.",
        f"Command: `{res['command']}` ({res['wall_s']:.0f} s wall).",
        "",
        "| target | measured | met? |",
        "|---|---|---|",
    ]
    cs = res.get("coldstart")
    if cs and "ecometer_total_s" in cs:
        cc = cs.get("codecarbon_start_stop_s")
        measured = (
            f"ecometer import+start+stop {cs['ecometer_total_s'] * 1000:.0f} ms (median of {len(cs['ecometer'])})"
        )
        if cc:
            measured += (
                f"; CodeCarbon start+stop {cc * 1000:.0f} ms (+import: {cs['codecarbon_total_s'] * 1000:.0f} ms); "
                f"ratio {cs['ratio_vs_codecarbon_start_stop']:.3f}"
            )
        measured += f"; {cs.get('bytecode', '')}"
        lines.append(
            f"| fresh-process import + start + stop <= 1/10 of CodeCarbon start + stop | {measured} | {_yes(cs.get('target_met'))} |"
        )
    sp = res.get("sampler")
    if sp and "sampler_thread_pct_of_core" in sp:
        lines.append(
            f"| sampler at {_settings(sp)} <= {sp.get('target_pct', SAMPLER_TARGET_PCT):g} % of one core "
            f"| {sp['sampler_thread_pct_of_core']:.3f} % (thread clock; "
            f"ticks alone {sp['tick_cpu_pct_of_core']:.3f} %, whole process incl. start and stop {sp['process_cpu_pct_of_core']:.3f} %) over "
            f"{sp['wall_s']:.0f} s, {sp['ticks']} ticks, {sp['cpu_per_tick_us']:.0f} us per tick; sensors {', '.join(sp['sensors'])} "
            f"| {_yes(sp.get('target_met'))} |"
        )
    sim = res.get("sim")
    if sim and "peak_memory_bytes" in sim:
        lines.append(
            f"| 7-day run < 20 MB | peak {sim['peak_memory_bytes'] / 2**20:.2f} MiB ({sim['memory_method']}), record "
            f"{sim['record_bytes'] / 1024:.0f} KiB; {sim['ticks']} ticks of {sim['tick_s']:g} s (not the default 0.1 s), "
            f"a phase and add_work per tick | {_yes(sim.get('target_met'))} |"
        )
    g = res.get("gpu") or {}
    if g.get("windows"):
        errs = [abs(w["error_pct"]) for w in g["windows"]]
        within = sum(1 for e in errs if e <= 0.1)
        lines.append(
            f"| GPU windows >= 1 s within 0.1 % of the NVML counter | median |error| {C.median(errs):.3f} %, max {max(errs):.3f} %; "
            f"{within}/{len(errs)} windows within 0.1 % | {_yes(within == len(errs))} |"
        )
    if g.get("bursty"):
        errs = [abs(b["integrated_vs_counter_pct"]) for b in g["bursty"]]
        lines.append(
            "| integrated timeline within 2 % of the counter on a bursty load | "
            + "; ".join(
                f"{b['burst_s'] * 1000:.0f}/{b['gap_s'] * 1000:.0f} ms: {b['integrated_vs_counter_pct']:+.2f} %"
                for b in g["bursty"]
            )
            + f" | {_yes(max(errs) <= 2.0)} |"
        )
    if g.get("skipped"):
        lines.append(f"| GPU targets | skipped: {g['skipped']} | n/a |")
    elif g.get("error"):
        lines.append(f"| GPU targets | error: {g['error']} | n/a |")
    lines.append("")
    if g.get("windows"):
        lines += ["## GPU windows", "", C.markdown_table(
            ["load", "window (s)", "meter (J)", "counter (J)", "error"],
            [[w["load"], f"{w['seconds']:g}", f"{w['meter_j']:.2f}", f"{w['reference_j']:.2f}", f"{w['error_pct']:+.3f} %"] for w in g["windows"]],
        ), ""]  # fmt: skip
        if g.get("counter_update"):
            cu = g["counter_update"]
            lines += [
                f"NVML energy counter under load: advanced every {cu['median_interval_ms']:.1f} ms (median; "
                f"{cu['changes']} changes in {cu['span_s']:.1f} s; one read {cu['read_us']:.0f} us). A second reader of the"
                " same counter can differ from the meter by one such step when a window edge falls between the two reads.",
                "",
            ]
    if g.get("bursty"):
        lines += ["## Bursty loads: integrated timeline vs counter", "", C.markdown_table(
            ["burst / gap (ms)", "seconds", "counter (J)", "integrated (J)", "difference", "power points"],
            [[f"{b['burst_s'] * 1000:.0f} / {b['gap_s'] * 1000:.0f}", f"{b['seconds']:.1f}", f"{b['counter_j']:.1f}",
              f"{b['integrated_j']:.1f}", f"{b['integrated_vs_counter_pct']:+.2f} %", str(b["power_points"])] for b in g["bursty"]],
        ), ""]  # fmt: skip
    if sim and sim.get("memory_by_day"):
        lines += [
            "## 7-day simulation",
            "",
            "Memory over the simulated week ("
            + sim["memory_method"]
            + "): "
            + ", ".join(f"day {m['day']:g}: {m['memory_bytes'] / 2**20:.2f} MiB" for m in sim["memory_by_day"])
            + f". Timeline {sim['timeline_points']} points of {sim['timeline_bucket_s']:.0f} s; {sim['spans']} spans kept, "
            f"{sim['spans_dropped']} dropped; GPU energy {sim['gpu_energy_j']:.6g} J vs scripted {sim['gpu_expected_j']:.6g} J; "
            f"{sim['wall_s']:.0f} s to simulate.",
            "",
        ]
    return "\n".join(lines)


def _settings(sp: dict[str, Any]) -> str:
    scope = sp.get("scope", "machine")
    return "default settings" if scope == "machine" else f"default settings but scope={scope!r}"


def _yes(flag: Any) -> str:
    return "yes" if flag is True else "no" if flag is False else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {', '.join(PARTS)}")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=None, help="cold-start repetitions per tool (default 7, quick 5)")
    ap.add_argument("--sampler-s", type=float, default=20.0)
    ap.add_argument("--sampler-scope", choices=("machine", "process"), default="machine",
                    help="Meter scope of the sampler part (machine: the default settings)")  # fmt: skip
    ap.add_argument("--sim-days", type=float, default=7.0)
    ap.add_argument("--sim-tick-s", type=float, default=1.0)
    ap.add_argument("--sim-memory", choices=("tracemalloc", "rss"), default="tracemalloc",
                    help="tracemalloc is exact for Python objects but ~7x slower; rss is fast")  # fmt: skip
    ap.add_argument("--country", default="USA")
    ap.add_argument("--tag", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    for p in parts:
        if p not in PARTS:
            raise SystemExit(f"--parts: unknown part {p!r}; choose from {', '.join(PARTS)}")

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, flush=True)

    t0 = time.monotonic()
    env = C.environment()
    out_dir = Path(args.out) if args.out else C.REPORTS / (args.tag or C.machine_tag(env["gpus"]))
    res: dict[str, Any] = {
        "benchmark": "overhead",
        "command": " ".join(["python -m benchmarks.overhead", *sys.argv[1:]]),
    }
    if "coldstart" in parts:
        log("cold start ...")
        res["coldstart"] = part_coldstart(args.reps or (5 if args.quick else 7), args.country, log)
    if "sampler" in parts:
        log("sampler CPU ...")
        res["sampler"] = part_sampler(args.sampler_s, log, args.sampler_scope)
    if "sim" in parts:
        log("7-day simulation ...")
        res["sim"] = part_sim(args.sim_days, args.sim_tick_s, args.sim_memory, log)
    if "gpu" in parts:
        log("GPU accuracy ...")
        res["gpu"] = part_gpu(args.quick, log)
    res["wall_s"] = time.monotonic() - t0
    C.write_json(out_dir / "overhead.json", {**res, "environment": env})
    C.write_json(out_dir / "environment.json", env)
    md = markdown(res, env)
    (out_dir / "overhead.md").write_text(md, encoding="utf-8")
    log(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
