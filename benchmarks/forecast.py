"""Forecast benchmark: are the 90 % intervals of a forecast made at 10 % of a job honest?

Part ``synthetic``: jobs with known truth, built step by step into ecometer's own bucket
timeline (:class:`ecometer.energy.timeline.BucketTimeline`, as a meter keeps it). Each job has a GPU
and a CPU channel; every step has a jittered duration (3 %), white power noise (3 %) and a
slow wander of the GPU power (AR(1), 2 %, memory of 20 steps). Scenarios: ``steady``;
``warmup`` (the first ~1 % of steps up to 3x slower at lower power); ``drift`` (GPU power
rising linearly by 15 % over the job); ``two_phases`` (the first 4 % of the job at half the
GPU power and faster steps, then the main phase); ``train_eval`` (every 400 training steps an
evaluation of 60 step-lengths at 60 % of the GPU power that counts no work); ``steady_time``
(as steady, the job given by its seconds, ``total_s``). The record of the first 10 % of the work (counters exact, so
the interval is the rate's alone) is forecast to the end; the truth is the whole job's
energy. Reported: coverage of the stated interval (total, per component, duration) with a
95 % binomial interval, median relative half-width and median absolute error of the central
value; and, for the steady job, widths by the fraction of the job observed.

Part ``cpu``: a real torch MLP training loop (~60 s) measured with ``ecometer.measure`` on
this machine, under load (``--cpu-load`` busy neighbour processes beside it, and whatever
else runs on the machine). The checkpoint file the meter writes once 10 % and 25 % of its
steps are done is read and forecast to the full number of steps (the fraction it rests on is
reported); each forecast is compared with the final record: is the final reading inside the
interval, and how wide is the interval.

    python -m benchmarks.forecast                       # both parts, results in reports/forecast/
    python -m benchmarks.forecast --parts synthetic --trials 300
    python -m benchmarks.forecast --smoke --out /tmp/x   # a few seconds (CI)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import _common as C
from ecometer.energy.timeline import BucketTimeline
from ecometer.forecast import forecast_run
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord

OUT = C.ROOT / "reports" / "forecast"
SCENARIOS = ("steady", "warmup", "drift", "two_phases", "train_eval", "steady_time")
BUCKET_S = 0.1
STEP_S = 0.1
GPU_W, CPU_W = 300.0, 60.0
AT = 0.10  # the forecast is made at this fraction of the job


# ---- synthetic jobs ------------------------------------------------------------------------
def _wander(rng: np.random.Generator, n: int, sigma: float, memory: float) -> np.ndarray:
    phi = math.exp(-1.0 / memory)
    noise = rng.standard_normal(n) * sigma * math.sqrt(1 - phi * phi)
    out = np.empty(n)
    acc = rng.standard_normal() * sigma
    for i in range(n):
        acc = phi * acc + noise[i]
        out[i] = acc
    return out


def synthetic_job(
    scenario: str, rng: np.random.Generator, steps: int, at: float = AT
) -> tuple[RunRecord, dict[str, Any]]:
    """The record of the first ``at`` of a job's work, and the whole job's truth (J, s)."""
    k = np.arange(steps)
    f = k / steps
    pace = np.ones(steps)
    gpu = np.full(steps, GPU_W)
    if scenario == "warmup":
        ramp = np.exp(-k / (0.004 * steps))
        pace = 1.0 + 2.0 * ramp
        gpu = GPU_W * (1.0 - 0.6 * ramp)
    elif scenario == "drift":
        gpu = GPU_W * (1.0 + 0.15 * f)
    elif scenario == "two_phases":
        first = f < 0.04
        gpu = np.where(first, 0.5 * GPU_W, GPU_W)
        pace = np.where(first, 0.7, 1.0)
    counts = np.ones(steps)
    if scenario == "train_eval":  # every 400 training steps, 60 slots of evaluation that count no work
        evaluating = k % 460 >= 400
        counts[evaluating] = 0.0
        gpu = np.where(evaluating, 0.6 * GPU_W, GPU_W)
    d = STEP_S * pace * np.exp(rng.normal(0.0, 0.03, steps))
    p_gpu = gpu * (1.0 + rng.normal(0.0, 0.03, steps) + _wander(rng, steps, 0.02, 20.0))
    p_cpu = CPU_W * (1.0 + rng.normal(0.0, 0.03, steps))
    end = np.cumsum(d)
    start = end - d
    n = max(int(round(at * steps)), 1)
    tl = BucketTimeline(0.0, bucket_s=BUCKET_S, max_buckets=2048)
    for i in range(n):
        tl.add("gpu:0", start[i], end[i], p_gpu[i] * d[i])
        tl.add("cpu", start[i], end[i], p_cpu[i] * d[i])
        if counts[i]:
            tl.add_work("step", end[i], counts[i])
    seen = {"gpu": float((p_gpu[:n] * d[:n]).sum()), "cpu": float((p_cpu[:n] * d[:n]).sum())}
    record = RunRecord(
        name=f"synthetic-{scenario}",
        status="running",
        duration_s=float(end[n - 1]),
        components={c: Component(c, e, "counter", Estimate.exact(e)) for c, e in seen.items()},
        work={"step": float(counts[:n].sum())},
        work_unit="step",
        timeline=tl.to_record(float(end[n - 1])),
        checkpoint=True,
    )
    truth = {
        "gpu": float((p_gpu * d).sum()),
        "cpu": float((p_cpu * d).sum()),
        "duration_s": float(end[-1]),
        "steps": float(counts.sum()),
    }
    truth["energy_j"] = truth["gpu"] + truth["cpu"]
    return record, truth


def _forecast(scenario: str, record: RunRecord, truth: dict[str, Any]) -> Any:
    if scenario == "steady_time":
        return forecast_run(record, total_s=truth["duration_s"])
    return forecast_run(record, total_work=truth["steps"])


def _binomial_ci(hits: int, n: int) -> tuple[float, float]:
    """Wilson 95 % interval of a proportion."""
    if n == 0:
        return (math.nan, math.nan)
    z = 1.959964
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def run_scenario(scenario: str, trials: int, steps: int, seed: int, at: float = AT) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    figures = ("energy_j", "gpu", "cpu", "duration_s")
    hits = dict.fromkeys(figures, 0)
    widths: dict[str, list[float]] = {k: [] for k in figures}
    errors: dict[str, list[float]] = {k: [] for k in figures}
    not_ready = 0
    basis: dict[str, int] = {"warmup_detected": 0, "trend_model": 0}
    t0 = time.perf_counter()
    for _ in range(trials):
        record, truth = synthetic_job(scenario, rng, steps, at)
        fc = _forecast(scenario, record, truth)
        if not fc.ready:
            not_ready += 1
            continue
        basis["warmup_detected"] += fc.basis["warmup_how"] == "detected"
        basis["trend_model"] += fc.basis["model"] == "trend"
        for name in figures:
            est = fc.components[name] if name in ("gpu", "cpu") else getattr(fc, name)
            true = truth[name]
            hits[name] += est.low <= true <= est.high
            widths[name].append(est.rel_halfwidth)
            errors[name].append(abs(est.central - true) / true)
    done = trials - not_ready
    out: dict[str, Any] = {
        "scenario": scenario,
        "trials": trials,
        "ready": done,
        "forecast_at": at,
        "coverage_stated": 0.9,
        "seconds_per_trial": (time.perf_counter() - t0) / max(trials, 1),
        **basis,
    }
    for name in figures:
        ci = _binomial_ci(hits[name], done)
        out[name] = {
            "coverage": hits[name] / done if done else math.nan,
            "coverage_ci95": list(ci),
            "median_rel_halfwidth": float(np.median(widths[name])) if widths[name] else math.nan,
            "median_abs_rel_error": float(np.median(errors[name])) if errors[name] else math.nan,
        }
    return out


def widths_by_fraction(trials: int, steps: int, seed: int, fractions: tuple[float, ...]) -> list[dict[str, Any]]:
    """Coverage and width of the steady job's total-energy interval by the fraction observed."""
    out = []
    for at in fractions:
        r = run_scenario("steady", trials, steps, seed, at)
        out.append({"at": at, **r["energy_j"], "ready": r["ready"], "trials": trials})
    return out


# ---- a real CPU training loop ----------------------------------------------------------------
CPU_AT = (0.10, 0.25)  # the real loops are forecast at these fractions of their steps


def _busy(seconds: float) -> None:  # a neighbour process: spins one core
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def cpu_training(seconds: float, seed: int = 0, load: int = 0, fractions: tuple[float, ...] = CPU_AT) -> dict[str, Any]:
    """A torch MLP trained on CPU under ecometer.measure, ``load`` busy neighbour processes beside it;
    forecast from its checkpoints once each of ``fractions`` of its steps is done."""
    import multiprocessing

    import torch


    torch.manual_seed(seed)
    torch.set_num_threads(1)  # one core: the loop's pace depends less on other jobs on the machine
    model = torch.nn.Sequential(
        torch.nn.Linear(256, 512), torch.nn.ReLU(), torch.nn.Linear(512, 512), torch.nn.ReLU(), torch.nn.Linear(512, 10)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(128, 256)
    target = torch.randint(0, 10, (128,))

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), target).backward()
        opt.step()

    neighbours = [multiprocessing.Process(target=_busy, args=(seconds * 1.5 + 10,), daemon=True) for _ in range(load)]
    for n in neighbours:
        n.start()
    load_before = os.getloadavg()
    t = time.perf_counter()
    calib = 0
    while time.perf_counter() - t < 2.0:
        step()
        calib += 1
    steps = max(int(calib / (time.perf_counter() - t) * seconds), 100)
    try:
        final, pilots = _train_with_pilots(step, steps, fractions)
    finally:
        for n in neighbours:
            n.terminate()
            n.join()
    if not pilots:
        return {"error": "no checkpoint was written at the forecast fractions"}
    out: dict[str, Any] = {
        "steps": steps,
        "seconds": final.duration_s,
        "scope": final.scope,
        "neighbours": load,
        "load_average_1min": {"before": load_before[0], "after": os.getloadavg()[0]},
        "final_energy_j": final.energy_j,
        "final_methods": final.methods,
        "final_duration_s": final.duration_s,
        "forecasts": [_judge(pilot, steps, final, at) for at, pilot in pilots],
    }
    return out


def _train_with_pilots(step: Any, steps: int, fractions: tuple[float, ...]) -> tuple[RunRecord, list[tuple[float, RunRecord]]]:
    """Run ``steps`` steps under a meter; the checkpoint read back once each fraction of the steps is done."""
    import ecometer
    from ecometer.record.model import checkpoint_path, load_record

    pilots: list[tuple[float, RunRecord]] = []
    todo = sorted(fractions)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.json"
        with ecometer.measure(
            "forecast-cpu-train", work_unit="step", out=path, checkpoint_interval_s=0.5, scope="process"
        ) as m:
            t_start = time.monotonic()
            next_look = 0.0
            for k in range(steps):
                step()
                m.add_work(1)
                now = time.monotonic() - t_start
                if todo and k + 1 >= (todo[0] - 0.01) * steps and now >= next_look:
                    next_look = now + 0.1
                    try:
                        ckpt = load_record(checkpoint_path(m.path))
                    except ecometer.RecordError:
                        continue  # not written yet
                    if ckpt.work.get("step", 0.0) >= (todo[0] - 0.01) * steps:
                        pilots.append((todo.pop(0), ckpt))
        final = m.record
    return final, pilots


def _judge(pilot: RunRecord, steps: int, final: RunRecord, at: float) -> dict[str, Any]:
    """The forecast from ``pilot`` against the ``final`` record (what the meter read at the end)."""
    fc = forecast_run(pilot, total_work=steps)
    true_e, true_t = final.energy_j, final.duration_s
    e = fc.energy_j
    return {
        "at": at,
        "forecast_at": {"steps": pilot.work.get("step"), "duration_s": pilot.duration_s},
        "work_timeline": "meter" if pilot.timeline.work.get("step") else "none",
        "observed_fraction": fc.basis.get("observed_fraction"),
        "ready": fc.ready,
        "reason": fc.reason,
        "forecast_energy_j": None if e is None else e.to_dict(),
        "energy_rel_halfwidth": None if e is None else (e.high - e.low) / 2 / e.central,
        "energy_rel_bounds": None if e is None else [(e.low - e.central) / e.central, (e.high - e.central) / e.central],
        "energy_rel_error": None if e is None else (e.central - true_e) / true_e,
        "energy_inside": None if e is None else e.low <= true_e <= e.high,
        "forecast_duration_s": None if fc.duration_s is None else fc.duration_s.to_dict(),
        "duration_rel_error": None if fc.duration_s is None else (fc.duration_s.central - true_t) / true_t,
        "basis": fc.basis,
        "line": fc.line(),
    }


# ---- report ------------------------------------------------------------------------------------
def _pct(x: float | None) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f} %"


def _render_cpu(result: dict[str, Any]) -> list[str]:
    """The real CPU loops' part of the report."""
    lines: list[str] = []
    cpu = result.get("cpu")
    if not cpu:
        return lines
    lines += ["## A real CPU training loop", ""]
    if result.get("cpu_from"):
        lines += [f"(These runs are from an earlier invocation: `{result['cpu_from']}`.)", ""]
    rows = []
    for r in cpu:
        if "error" in r:
            rows.append(["error", r["error"], "", "", "", "", "", ""])
            continue
        for f in r.get("forecasts", []):
            fe = f["forecast_energy_j"] or {}
            lo, hi = f["energy_rel_bounds"] or (math.nan, math.nan)
            rows.append(
                [
                    f"{r['steps']} steps, {r['seconds']:.1f} s, {r.get('neighbours', 0)} busy neighbour(s)",
                    _pct(f["observed_fraction"]),
                    f"{fe.get('central', math.nan):.1f} J [{fe.get('low', math.nan):.1f}, "
                    f"{fe.get('high', math.nan):.1f}]",
                    f"{100 * lo:+.1f} / {100 * hi:+.1f} %",
                    f"{r['final_energy_j']:.1f} J",
                    "yes" if f["energy_inside"] else "NO",
                    _pct(f["energy_rel_error"]),
                    f"{r['load_average_1min']['before']:.1f} / {r['load_average_1min']['after']:.1f}",
                ]
            )
    header = ["run", "forecast at", "forecast energy (90 %)", "interval", "final energy", "inside", "error"]
    lines.append(C.markdown_table([*header, "load (1 min) before / after"], rows))
    first = next((r for r in cpu if "error" not in r), {})
    lines += [
        "",
        f"Methods: {first.get('final_methods', 'n/a')}, scope {first.get('scope', 'n/a')} (the loop's share of the "
        "machine's CPU time; other jobs share this VM, and the busy neighbours were started beside the loop). "
        "The interval is of what the record will read at the end (the final energy column); the measurement's "
        "own bounds, which the final record shares, apply on top (the forecast's energy_bounds_j).",
        "",
    ]
    return lines


def render(result: dict[str, Any]) -> str:
    lines = [
        "# Forecast: coverage of the 90 % intervals at 10 % of a job",
        "",
        f"Command: `{result['command']}` ({result['environment']['timestamp_utc']}, {result['environment']['cpu_model']}).",
        "",
    ]
    syn = result.get("synthetic")
    if syn:
        lines += [
            f"Synthetic jobs of {syn['steps']} steps, {syn['trials']} trials per scenario (seeded), forecast at "
            f"{AT:.0%} of the work; the stated coverage of every interval is {syn['coverage_stated']:.0%}. Coverage "
            "is the share of trials whose interval contains the job's true final value (95 % Wilson interval in "
            "brackets); width is the median relative half-width; error the median |central - truth| / truth.",
            "",
        ]
        rows = []
        for r in syn["scenarios"]:
            for name in ("energy_j", "gpu", "cpu", "duration_s"):
                if r["scenario"] == "steady_time" and name == "duration_s":
                    continue
                s = r[name]
                lo, hi = s["coverage_ci95"]
                rows.append(
                    [
                        r["scenario"],
                        name,
                        f"{_pct(s['coverage'])} [{_pct(lo)}, {_pct(hi)}]",
                        "yes" if s["coverage"] >= 0.9 else "NO",
                        f"±{_pct(s['median_rel_halfwidth'])}",
                        _pct(s["median_abs_rel_error"]),
                        f"{r['warmup_detected']}/{r['ready']}",
                        f"{r['trend_model']}/{r['ready']}",
                    ]
                )
        lines.append(
            C.markdown_table(
                ["scenario", "figure", "coverage", ">= 90 %", "width", "error", "warm-up/change found", "trend used"],
                rows,
            )
        )
        lines += ["", "Steady job, total energy, by the fraction of the job observed:", ""]
        lines.append(
            C.markdown_table(
                ["observed", "coverage", "width", "error"],
                [
                    [
                        _pct(w["at"]),
                        _pct(w["coverage"]),
                        f"±{_pct(w['median_rel_halfwidth'])}",
                        _pct(w["median_abs_rel_error"]),
                    ]
                    for w in syn["by_fraction"]
                ],
            )
        )
        lines.append("")
    lines += _render_cpu(result)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.forecast", description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", default="synthetic,cpu", help="comma-separated: synthetic, cpu")
    p.add_argument("--trials", type=int, default=300, help="trials per synthetic scenario")
    p.add_argument("--steps", type=int, default=20000, help="steps of a synthetic job")
    p.add_argument("--cpu-seconds", type=float, default=60.0, help="length of the CPU training loop")
    p.add_argument("--cpu-runs", type=int, default=3, help="CPU training loops")
    p.add_argument("--cpu-load", type=int, default=1, help="busy neighbour processes beside each CPU loop")
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--smoke", action="store_true", help="a few seconds: few trials of short synthetic jobs")
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    if args.smoke:
        args.trials, args.steps = 8, 3000
    parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    if args.smoke and "--parts" not in (argv if argv is not None else sys.argv[1:]):
        parts = {"synthetic"}
    result: dict[str, Any] = {
        "command": "python -m benchmarks.forecast " + " ".join(argv if argv is not None else sys.argv[1:]),
        "environment": C.environment(gpus=[]),
    }
    if "synthetic" in parts:
        scenarios = [run_scenario(s, args.trials, args.steps, args.seed + i) for i, s in enumerate(SCENARIOS)]
        fractions = (0.02, 0.05, 0.1, 0.25, 0.5) if not args.smoke else (0.05, 0.25)
        result["synthetic"] = {
            "steps": args.steps,
            "trials": args.trials,
            "coverage_stated": 0.9,
            "scenarios": scenarios,
            "by_fraction": widths_by_fraction(max(args.trials // 3, 4), args.steps, args.seed + 99, fractions),
        }
    if "cpu" in parts:
        if C.have("torch"):
            result["cpu"] = [cpu_training(args.cpu_seconds, seed=i, load=args.cpu_load) for i in range(args.cpu_runs)]
        else:
            result["cpu_skipped"] = "torch not installed (pip install torch)"
    previous = args.out / "results.json"
    if "cpu" not in parts and previous.exists():  # keep the CPU loops of an earlier run, saying so
        old = json.loads(previous.read_text(encoding="utf-8"))
        if old.get("cpu"):
            result["cpu"] = old["cpu"]
            result["cpu_from"] = f"{old.get('command', '?')} at {old.get('environment', {}).get('timestamp_utc', '?')}"
    C.write_json(args.out / "results.json", result)
    (args.out / "results.md").write_text(render(result), encoding="utf-8")
    sys.stdout.write(render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
