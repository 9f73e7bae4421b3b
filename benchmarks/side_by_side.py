"""ecometer side by side with CodeCarbon and Zeus on the same workload, in separate processes.

    python -m benchmarks.side_by_side                # full run (GPU if present, else CPU)
    python -m benchmarks.side_by_side --quick        # GPU run in about 4-5 minutes
    python -m benchmarks.side_by_side --smoke        # tiny CPU-only run (~20 s), for CI

Each repetition runs the workload once under every tool (``none``, ``ecometer``,
``codecarbon``, ``zeus``), in a fresh process per run, the order rotating between
repetitions. Every worker (benchmarks/worker.py) warms the workload up, then times the
tool's import, start and stop, the workload itself, the tool's CPU time (process CPU time
minus the CPU time of the threads that existed before the tool started, plus the main
thread's time inside start/stop), peak RSS growth, and on a GPU the NVML energy counter read
by the worker itself just inside the tool's window after ``torch.cuda.synchronize()``.

On a GPU a short-window part follows: bursts of 20/50/100 ms measured one window each;
ground truth = counter energy over ``n`` back-to-back bursts / n (tool ``none``), idle power
from the counter over 2 s without work.

Writes ``reports/benchmarks/<machine-tag>/``: results.json (every run), results.md (tables),
side_by_side.png and short_windows.png, environment.json. Tools that are not installed, or
a missing GPU, are reported as skipped with the reason, not as failures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _common as C

TOOLS = ("none", "ecometer", "codecarbon", "zeus")
IMPORTS = {"ecometer": "ecometer", "codecarbon": "codecarbon", "zeus": "zeus"}


def plan(args: argparse.Namespace, gpus: list[dict[str, Any]], cuda: bool) -> dict[str, Any]:
    """What to run, given the options and what this machine has."""
    gpu = bool(gpus) and cuda and not args.smoke and args.device != "cpu"
    skipped: dict[str, str] = {}
    tools = []
    for tool in args.tools.split(","):
        if tool not in TOOLS:
            raise SystemExit(f"--tools: unknown tool {tool!r}; choose from {', '.join(TOOLS)}")
        if tool != "none" and not C.have(IMPORTS[tool]):
            skipped[tool] = f"{tool} is not installed (pip install {_pip(tool)})"
            continue
        if tool == "zeus" and not gpu and not _rapl():
            skipped[tool] = "zeus measures only GPUs (NVML) and RAPL; this run has neither"
            continue
        tools.append(tool)
    if gpu:
        workload = args.workload or "transformer_train"
        params: dict[str, Any] = {}
        device = "cuda"
    else:
        workload = args.workload or ("cpu_matmul" if args.smoke else "cpu_train")
        params = {"n": 128} if args.smoke and workload == "cpu_matmul" else {}
        device = "cpu"
        if not gpus:
            skipped["gpu"] = "no NVIDIA GPU visible through NVML: GPU energy and short windows not measured"
        elif not cuda:
            skipped["gpu"] = "torch cannot see CUDA: GPU parts not run (install a CUDA build of torch)"
    if workload != "cpu_matmul" and not C.have("torch"):
        skipped["torch"] = f"torch not installed: workload {workload} replaced by cpu_matmul"
        workload, params = "cpu_matmul", {}
    if args.params:
        params.update(json.loads(args.params))
    seconds = args.seconds or (0.4 if args.smoke else 3.0 if args.quick else 8.0)
    reps = args.reps or (2 if args.smoke else 3)
    short = gpu and not args.no_short
    return {
        "gpu": gpu,
        "device": device,
        "workload": workload,
        "params": params,
        "seconds": seconds,
        "reps": reps,
        "tools": tools,
        "skipped": skipped,
        "short": short,
        "short_n": args.short_n or (40 if args.quick else 150),
        "short_n_codecarbon": 25 if args.quick else 50,
        "bursts": "0.02,0.05,0.1",
    }


def _pip(tool: str) -> str:
    return {"codecarbon": "codecarbon==3.3.2", "zeus": "zeus==0.16.0", "ecometer": "-e ."}[tool]


def _rapl() -> bool:
    return C._rapl_readable()


def run(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ecometer-bench-") as tmp:
        return _run(args, C.compiled_copy(Path(tmp)))


def _run(args: argparse.Namespace, eco_path: Path) -> dict[str, Any]:
    t_begin = time.monotonic()
    gpus = C.nvml_gpus()
    cuda = C.torch_cuda() if gpus and not args.smoke else False
    p = plan(args, gpus, cuda)
    log = _logger(args)
    for reason in p["skipped"].values():
        log(f"skipped: {reason}")
    env = _thread_env(args.threads if args.threads is not None else (1 if args.smoke else None))
    common = [
        "--workload",
        p["workload"],
        "--device",
        p["device"],
        "--params",
        json.dumps(p["params"]),
        "--country",
        args.country,
    ]
    cal = C.run_worker(
        "benchmarks.worker", [*common, "--mode", "calibrate", "--seconds", str(p["seconds"])], timeout_s=300, env=env
    )
    if "error" in cal:
        raise SystemExit(f"calibration failed: {cal['error']}\n{cal.get('output_tail') or cal.get('traceback', '')}")
    steps = max(1, int(cal["steps"]))
    log(f"workload {p['workload']} on {p['device']}: {steps} steps ~ {cal['seconds']:.2f} s per window")
    runs: list[dict[str, Any]] = []
    tools = p["tools"]
    for rep in range(p["reps"]):
        order = tools[rep % len(tools) :] + tools[: rep % len(tools)]
        if rep % 2:
            order = order[::-1]
        for tool in order:
            r = C.run_worker(
                "benchmarks.worker", [*common, "--tool", tool, "--steps", str(steps)], timeout_s=300, env=env
            )
            r.update({"tool": tool, "rep": rep})
            runs.append(r)
            log(_one_line(r))
        if args.budget_s and rep + 1 >= 3 and time.monotonic() - t_begin > args.budget_s * 0.6:
            log(f"time budget: stopping after {rep + 1} repetitions")
            break
    short_runs: list[dict[str, Any]] = []
    if p["short"]:
        short_tools = ["none"] + [t for t in tools if t != "none"]
        for tool in short_tools:
            r = C.run_worker(
                "benchmarks.worker",
                [
                    "--mode", "short", "--tool", tool, "--device", "cuda", "--bursts", p["bursts"],
                    "--n", str(p["short_n"]), "--n-codecarbon", str(p["short_n_codecarbon"]), "--country", args.country,
                ],
                timeout_s=300,
                path_first=eco_path,
            )  # fmt: skip
            r["tool"] = tool
            short_runs.append(r)
            log(f"short windows under {tool}: {'error: ' + r['error'] if 'error' in r else 'done'}")
    summary = summarise(runs, tools)
    short_summary = summarise_short(short_runs) if short_runs else None
    return {
        "benchmark": "side_by_side",
        "plan": {**p, "steps": steps, "calibration": cal},
        "command": " ".join(["python -m benchmarks.side_by_side", *sys.argv[1:]]),
        "summary": summary,
        "short_windows": short_summary,
        "runs": runs,
        "short_runs": short_runs,
        "wall_s": time.monotonic() - t_begin,
        "threads": env,
        "ecometer_bytecode": "workers import a byte-compiled copy of ecometer (as pip install leaves it)",
    }


def _thread_env(threads: int | None) -> dict[str, str] | None:
    """Environment that caps the workload's BLAS/OpenMP threads (None: library defaults)."""
    if threads is None:
        return None
    return {k: str(threads) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _one_line(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"  {r['tool']:<10} rep {r['rep']}: ERROR {r['error']}"
    gpu = f" gpu err {r['gpu_error_pct']:+.2f} %" if r.get("gpu_error_pct") is not None else ""
    return (
        f"  {r['tool']:<10} rep {r['rep']}: start {r['start_s']:.3f} s, stop {r['stop_s']:.3f} s, "
        f"work {r['workload_s']:.2f} s, meter cpu {r['meter_cpu_s']:.3f} s{gpu}"
    )


def _logger(args: argparse.Namespace) -> Any:
    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, flush=True)

    return log


# ---- summaries -------------------------------------------------------------------------------
def summarise(runs: list[dict[str, Any]], tools: list[str]) -> dict[str, Any]:
    ok = [r for r in runs if "error" not in r]
    base = [r for r in ok if r["tool"] == "none"]
    base_work = C.median([r["workload_s"] for r in base])
    base_proc = C.median([r["process_cpu_s"] for r in base])
    out: dict[str, Any] = {}
    for tool in tools:
        rs = [r for r in ok if r["tool"] == tool]
        errors = [r["error"] for r in runs if r["tool"] == tool and "error" in r]
        if not rs:
            out[tool] = {"runs": 0, "errors": errors}
            continue
        slow = [100.0 * (r["workload_s"] / base_work - 1.0) for r in rs] if base_work else []
        window = [r["start_s"] + r["workload_s"] + r["stop_s"] for r in rs]
        entry: dict[str, Any] = {
            "runs": len(rs),
            "errors": errors,
            "import_s": [r["import_s"] for r in rs],
            "start_s": [r["start_s"] for r in rs],
            "ready_s": [r["import_s"] + r["start_s"] for r in rs],
            "stop_s": [r["stop_s"] for r in rs],
            "workload_s": [r["workload_s"] for r in rs],
            "slowdown_pct": slow,
            "meter_cpu_s": [r["meter_cpu_s"] for r in rs],
            "meter_cpu_pct_of_core": [100.0 * r["meter_cpu_s"] / w for r, w in zip(rs, window, strict=True)],
            "process_cpu_minus_none_s": (C.median([r["process_cpu_s"] for r in rs]) or 0.0) - base_proc
            if base_proc is not None
            else None,
            "peak_rss_delta_mb": [r["peak_rss_delta_bytes"] / 2**20 for r in rs],
            "gpu_error_pct": [r.get("gpu_error_pct") for r in rs],
            "gpu_j": [r["readings"].get("gpu_j") for r in rs],
            "reference_gpu_j": [r.get("reference", {}).get("gpu_j") for r in rs],
            "cpu_j": [r["readings"].get("cpu_j") for r in rs],
            "dram_j": [r["readings"].get("dram_j") for r in rs],
            "methods": _methods(rs[-1]),
        }
        if tool == "ecometer":
            entry["sampler_thread_cpu_s"] = [r["readings"].get("sampler_thread_cpu_s") for r in rs]
            entry["warnings"] = rs[-1]["readings"].get("warnings", [])
        out[tool] = entry
    return out


def _methods(r: dict[str, Any]) -> dict[str, str]:
    comps = r.get("readings", {}).get("components") or {}
    return {k: (v or {}).get("method", "n/a") for k, v in comps.items() if v}


def summarise_short(short_runs: list[dict[str, Any]]) -> dict[str, Any]:
    truth_run = next((r for r in short_runs if r.get("tool") == "none" and "error" not in r), None)
    if truth_run is None:
        return {"error": "no ground-truth run (tool none) succeeded"}
    idle = truth_run["idle_w"]
    table: dict[str, Any] = {"idle_w": idle, "bursts": {}}
    for key, truth in truth_run["series"].items():
        row: dict[str, Any] = {"truth_j": truth["truth_j"], "burst_s": truth["burst_s"], "variants": {}}
        idle_j = idle * truth["burst_s"]
        row["truth_above_idle_j"] = truth["truth_j"] - idle_j
        for r in short_runs:
            if r.get("tool") == "none" or "error" in r:
                continue
            for variant, entry in r["series"].get(key, {}).items():
                vals = [v for v in entry["readings_j"] if v is not None]
                if not vals:
                    row["variants"][variant] = {"n": 0}
                    continue
                mean = sum(vals) / len(vals)
                errs = sorted(abs(v / truth["truth_j"] - 1.0) * 100.0 for v in vals)
                rms = (sum(e * e for e in errs) / len(errs)) ** 0.5
                row["variants"][variant] = {
                    "n": len(vals),
                    "mean_j": mean,
                    "bias_pct": 100.0 * (mean / truth["truth_j"] - 1.0),
                    "median_abs_error_pct": C.median(errs),
                    "p90_abs_error_pct": errs[min(len(errs) - 1, int(0.9 * len(errs)))],
                    "mean_abs_error_pct": sum(errs) / len(errs),
                    "rms_error_pct": rms,
                    "zero_readings": sum(1 for v in vals if v == 0.0),
                    "capture_above_idle_pct": 100.0 * (mean - idle_j) / row["truth_above_idle_j"]
                    if row["truth_above_idle_j"] > 0
                    else None,
                    "window_s": entry["window_s"],
                    "series_mean_j": entry["series_mean_j"],
                }
        table["bursts"][key] = row
    for r in short_runs:
        if "error" in r:
            table.setdefault("errors", {})[r["tool"]] = r["error"]
    return table


# ---- output -----------------------------------------------------------------------------------
def write_outputs(result: dict[str, Any], out_dir: Path, env: dict[str, Any], charts: bool = True) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [C.write_json(out_dir / "results.json", result), C.write_json(out_dir / "environment.json", env)]
    md = out_dir / "results.md"
    md.write_text(markdown(result, env), encoding="utf-8")
    files.append(md)
    if charts:
        files += draw_charts(result, out_dir)
    return files


def markdown(result: dict[str, Any], env: dict[str, Any]) -> str:
    p = result["plan"]
    s = result["summary"]
    gpu_names = ", ".join(g["name"] for g in env.get("gpus", [])) or "none"
    v = env["versions"]
    lines = [
        "# Side by side: ecometer, CodeCarbon, Zeus",
        "",
        f"Machine: {env['cpu_model']} ({env['logical_cpus']} logical CPUs), GPU: {gpu_names}"
        + (f", driver {env['gpus'][0]['driver']}" if env.get("gpus") else "")
        + f"; RAPL readable: {env['rapl_readable']}.",
        f"Versions: python {v['python']}, torch {v['torch']}, ecometer {v['ecometer']}, codecarbon {v['codecarbon']}, zeus {v['zeus']}.",
        f"Command: `{result['command']}` ({result['wall_s']:.0f} s wall).",
        "",
        f"Workload: `{p['workload']}` on {p['device']} {json.dumps(p['params']) if p['params'] else ''}, "
        f"{p['steps']} steps (~{p['calibration']['seconds']:.1f} s) per window; {p['reps']} repetitions per tool, "
        "each in a fresh process, order rotating. Cells: median [min, max].",
        "",
    ]
    if p["skipped"]:
        lines += ["Skipped: " + "; ".join(p["skipped"].values()) + ".", ""]
    header = [
        "tool",
        "import (s)",
        "start (s)",
        "import + start (s)",
        "stop (s)",
        "slowdown vs none",
        "meter CPU (s)",
        "meter CPU (% of a core)",
        "peak RSS +MB",
        "GPU vs counter",
        "CPU J (method)",
        "DRAM J (method)",
    ]
    rows = []
    for tool, e in s.items():
        if not e.get("runs"):
            rows.append([tool, *["failed: " + "; ".join(e.get("errors", []))[:80]], *[""] * (len(header) - 2)])
            continue
        m = e["methods"]
        rows.append(
            [
                tool,
                C.fmt_range(e["import_s"]) if tool != "none" else "-",
                C.fmt_range(e["start_s"]) if tool != "none" else "-",
                C.fmt_range(e["ready_s"]) if tool != "none" else "-",
                C.fmt_range(e["stop_s"]) if tool != "none" else "-",
                C.fmt_range(e["slowdown_pct"], pct=True) if tool != "none" else "(baseline)",
                C.fmt_range(e["meter_cpu_s"]),
                C.fmt_range(e["meter_cpu_pct_of_core"]),
                C.fmt_range(e["peak_rss_delta_mb"]),
                C.fmt_range(e["gpu_error_pct"], pct=True) if any(x is not None for x in e["gpu_error_pct"]) else "n/a",
                _j_method(e["cpu_j"], m.get("cpu")),
                _j_method(e["dram_j"], m.get("dram")),
            ]
        )
    lines += [C.markdown_table(header, rows), ""]
    lines += [
        "- start: constructing the tracker and starting it, until it returns (import timed separately);"
        " stop: until the figures are returned.",
        "- meter CPU: CPU time of threads the tool created plus the main thread's time inside start and stop"
        " (the `none` row is the floor of this method: threads the workload itself started).",
        "- GPU vs counter: the tool's GPU energy against `nvmlDeviceGetTotalEnergyConsumption` read by the worker"
        " just inside the tool's window, after `torch.cuda.synchronize()`.",
        "",
    ]
    if "ecometer" in s and s["ecometer"].get("runs") and s["ecometer"].get("warnings"):
        lines += ["ecometer record warnings (last run): " + " | ".join(s["ecometer"]["warnings"])[:800], ""]
    sw = result.get("short_windows")
    if sw and "bursts" in sw:
        lines += [
            "## Short windows",
            "",
            f"Ground truth: counter energy over back-to-back bursts / n (tool none); idle power {sw['idle_w']:.1f} W."
            " bias: mean reading vs truth; |error|: per-window; capture: (mean - idle x burst) / (truth - idle x burst).",
            "",
        ]
        hdr = [
            "burst",
            "truth (J)",
            "tool",
            "n",
            "mean (J)",
            "bias",
            "median abs error",
            "mean abs error",
            "p90 abs error",
            "zero readings",
            "capture above idle",
        ]
        rows = []
        for key, row in sw["bursts"].items():
            for variant, e in row["variants"].items():
                if not e.get("n"):
                    rows.append([key, C.fmt(row["truth_j"]), variant, "0", "", "", "", "", "", "", ""])
                    continue
                rows.append(
                    [
                        key,
                        C.fmt(row["truth_j"]),
                        variant,
                        str(e["n"]),
                        C.fmt(e["mean_j"]),
                        C.fmt(e["bias_pct"], pct=True),
                        f"{e['median_abs_error_pct']:.1f} %",
                        f"{e['mean_abs_error_pct']:.1f} %",
                        f"{e['p90_abs_error_pct']:.1f} %",
                        str(e["zero_readings"]),
                        f"{e['capture_above_idle_pct']:.0f} %" if e["capture_above_idle_pct"] is not None else "n/a",
                    ]
                )
        lines += [C.markdown_table(hdr, rows), ""]
        if sw.get("errors"):
            lines += ["Short-window errors: " + "; ".join(f"{k}: {v}" for k, v in sw["errors"].items()), ""]
    lines += ["## Where ecometer is not ahead", ""] + [f"- {x}" for x in not_ahead(result)] + [""]
    return "\n".join(lines)


def _j_method(vals: list[float | None], method: str | None) -> str:
    if not any(x is not None for x in vals):
        return f"n/a ({method})" if method else "n/a"
    return f"{C.fmt_range(vals)} ({method or '?'})"


def not_ahead(result: dict[str, Any]) -> list[str]:
    """Metrics where another tool did better than ecometer (medians), stated plainly."""
    s = result["summary"]
    eco = s.get("ecometer")
    if not eco or not eco.get("runs"):
        return ["ecometer produced no result in this run"]
    out = []
    checks = [
        ("import_s", "import time", 1.0, 0.0),
        ("ready_s", "import + start", 1.0, 0.0),
        ("start_s", "start latency (import excluded)", 1.0, 0.0),
        ("stop_s", "stop latency", 1.0, 0.0),
        ("slowdown_pct", "workload slowdown", 1.0, 0.5),
        ("meter_cpu_s", "meter CPU time", 1.0, 0.0),
        ("peak_rss_delta_mb", "peak RSS growth", 1.0, 0.0),
    ]
    for key, label, _sign, slack in checks:
        mine = C.median(eco[key])
        for tool, e in s.items():
            if tool in ("none", "ecometer") or not e.get("runs"):
                continue
            theirs = C.median(e[key])
            if mine is not None and theirs is not None and theirs + slack < mine:
                out.append(f"{label}: {tool} {C.fmt(theirs)} vs ecometer {C.fmt(mine)} (medians)")
    mine = C.median([abs(x) for x in eco["gpu_error_pct"] if x is not None])
    for tool, e in s.items():
        if tool in ("none", "ecometer") or not e.get("runs"):
            continue
        theirs = C.median([abs(x) for x in e["gpu_error_pct"] if x is not None])
        if mine is not None and theirs is not None and theirs + 0.01 < mine:
            out.append(f"GPU energy vs counter: {tool} |{C.fmt(theirs)}| % vs ecometer |{C.fmt(mine)}| % (median abs)")
    sw = result.get("short_windows")
    if sw and "bursts" in sw:
        for key, row in sw["bursts"].items():
            v = row["variants"]
            for stat, label in (("median_abs_error_pct", "median"), ("mean_abs_error_pct", "mean")):
                best_eco = min((e[stat] for n, e in v.items() if n.startswith("ecometer") and e.get("n")), default=None)
                for n, e in v.items():
                    if n.startswith("ecometer") or not e.get("n") or best_eco is None:
                        continue
                    if e[stat] < best_eco:
                        out.append(
                            f"short window {key}: {n} {label} per-window |error| {e[stat]:.1f} % vs best ecometer {best_eco:.1f} %"
                        )
    return out or ["none found in this run (medians; see the tables for spreads)"]


def draw_charts(result: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = result["summary"]
    tools = [t for t, e in s.items() if e.get("runs") and t != "none"]
    files = []
    if tools:
        fig, axes = plt.subplots(2, 2, figsize=(10, 7))
        panels = [
            ("ready_s", "import + start latency (s)", axes[0][0]),
            ("stop_s", "stop latency (s)", axes[0][1]),
            ("meter_cpu_s", "meter CPU time (s)", axes[1][0]),
            ("gpu_error_pct" if result["plan"]["gpu"] else "peak_rss_delta_mb", "", axes[1][1]),
        ]
        for key, title, ax in panels:
            if not title:
                title = "GPU energy vs NVML counter (%)" if key == "gpu_error_pct" else "peak RSS growth (MB)"
            for i, t in enumerate(tools):
                vals = [x for x in s[t][key] if x is not None]
                if not vals:
                    continue
                ax.bar(i, C.median(vals), color=_colour(t), alpha=0.8)
                ax.scatter([i] * len(vals), vals, color="black", s=10, zorder=3)
            ax.set_xticks(range(len(tools)), tools)
            ax.set_title(title, fontsize=10)
            if key in ("ready_s", "stop_s", "meter_cpu_s") and all(
                (C.median([x for x in s[t][key] if x is not None]) or 0) > 0 for t in tools
            ):
                ax.set_yscale("log")
            ax.grid(axis="y", alpha=0.3)
        p = result["plan"]
        fig.suptitle(
            f"side by side: {p['workload']} on {p['device']} ({p['reps']} runs per tool; bars = median)", fontsize=11
        )
        fig.tight_layout()
        path = out_dir / "side_by_side.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path)
    sw = result.get("short_windows")
    if sw and "bursts" in sw:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        keys = list(sw["bursts"])
        variants = sorted({v for row in sw["bursts"].values() for v in row["variants"]})
        width = 0.8 / max(len(variants), 1)
        for j, variant in enumerate(variants):
            ys = [sw["bursts"][k]["variants"].get(variant, {}).get("mean_abs_error_pct") for k in keys]
            xs = [i + (j - (len(variants) - 1) / 2) * width for i in range(len(keys))]
            ax.bar(
                [x for x, y in zip(xs, ys, strict=True) if y is not None],
                [y for y in ys if y is not None],
                width,
                label=variant,
                color=_colour(variant),
            )
        ax.set_xticks(range(len(keys)), keys)
        ax.set_ylabel("mean per-window |error| vs truth (%)")
        ax.set_yscale("log")
        ax.set_title("short windows: per-window error against many-repetition ground truth", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = out_dir / "short_windows.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files.append(path)
    return files


def _colour(name: str) -> str:
    palette = {"ecometer": "#1b7f5f", "codecarbon": "#c0392b", "zeus": "#2c5aa0", "none": "#888888"}
    for k, c in palette.items():
        if name.startswith(k):
            return c if not name.endswith(("phase", "approx")) else c + "99"
    return "#555555"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny CPU-only run (~20 s), for CI")
    ap.add_argument("--quick", action="store_true", help="shorter windows and fewer short-window repetitions")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--workload", default=None, help="default: transformer_train on GPU, cpu_train on CPU")
    ap.add_argument("--params", default=None, help="workload parameters as JSON")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu"))
    ap.add_argument("--seconds", type=float, default=None, help="target window length (s)")
    ap.add_argument("--reps", type=int, default=None, help="repetitions per tool (default 3)")
    ap.add_argument("--short-n", type=int, default=None, help="windows per burst length (default 150, quick 40)")
    ap.add_argument("--no-short", action="store_true", help="skip the short-window part")
    ap.add_argument("--threads", type=int, default=None, help="cap BLAS/OpenMP threads of the workload (smoke: 1)")
    ap.add_argument("--country", default="USA", help="ISO-3 country given to CodeCarbon (no network look-up)")
    ap.add_argument(
        "--budget-s", type=float, default=None, help="stop adding repetitions (beyond 3) past this many seconds"
    )
    ap.add_argument("--tag", default=None, help="results folder name (default: machine tag)")
    ap.add_argument("--out", default=None, help="results folder (default reports/benchmarks/<tag>)")
    ap.add_argument("--no-charts", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument(
        "--render", metavar="RESULTS.json", help="redraw results.md and charts from a results.json (no runs)"
    )
    args = ap.parse_args(argv)
    if args.render:
        src = Path(args.render)
        result = json.loads(src.read_text(encoding="utf-8"))
        env = json.loads((src.parent / "environment.json").read_text(encoding="utf-8"))
        result["summary"] = summarise(result["runs"], result["plan"]["tools"])
        if result.get("short_runs"):
            result["short_windows"] = summarise_short(result["short_runs"])
        files = write_outputs(result, Path(args.out) if args.out else src.parent, env, charts=not args.no_charts)
        print("\n".join(str(f) for f in files))
        return 0
    env = C.environment()
    out_dir = Path(args.out) if args.out else C.REPORTS / (args.tag or C.machine_tag(env["gpus"]))
    result = run(args)
    files = write_outputs(result, out_dir, env, charts=not args.no_charts)
    if not args.quiet:
        print("\n".join(str(f) for f in files))
        print((out_dir / "results.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
