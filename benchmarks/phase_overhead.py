"""Cost of ``meter.phase()``: in the caller, and in the sampler thread, with a counter sensor.

    python -m benchmarks.phase_overhead [--seconds 5] [--reps 3] [--root DIR --label TEXT] [--out reports/perf]

Issue 22's targets: ``phase()`` at most 3 us in the caller; the sampler at most 0.5 % of a core
at 1,000 phases/s and at most 2 % at 20,000 phases/s, with a counter sensor (as on a GPU: the
curve is final only up to the last counter reading, so closed phases wait for it).

Each measurement runs in a fresh interpreter against ``--root`` (default: this tree):

- caller: the calling thread's CPU time (``time.thread_time``: what the sampler thread does
  meanwhile is not counted) of ``with meter.phase("step"): pass`` over 100,000 iterations
  (median of ``--reps`` blocks), and of the same loop over a no-op context manager;
- sampler: phases at a paced rate (1 k/s, 20 k/s) for ``--seconds``; the sampler thread's CPU
  time (``time.thread_time`` inside its ticks) per wall second, and with no phases for scale.

The meter uses one scripted counter sensor (``ReplaySensor(method="counter")``, 300 W) and
the default 0.1 s sampling interval. Writes ``phase_overhead.md`` and ``.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import RESULT_MARK, ROOT

log = logging.getLogger("benchmarks.phase_overhead")

CALLER_TARGET_US = 3.0
SAMPLER_TARGETS = {0: None, 1_000: 0.005, 20_000: 0.02}

_CODE = """
import contextlib, json, sys, time
import ecometer
from ecometer.sensors.replay import ReplaySensor
MODE, RATE, SECONDS, REPS = ARGS
m = ecometer.Meter("phases", sensors=[ReplaySensor([(0, 300.0)], method="counter")], out=None)
m.start()
out = {}
if MODE == "caller":
    n = 100_000
    null = contextlib.nullcontext()
    blocks, nulls = [], []
    for _ in range(REPS):
        t = time.thread_time()
        for _ in range(n):
            with m.phase("step"):
                pass
        blocks.append((time.thread_time() - t) / n)
        t = time.thread_time()
        for _ in range(n):
            with null:
                pass
        nulls.append((time.thread_time() - t) / n)
    out = {"phase_us": 1e6 * sorted(blocks)[len(blocks) // 2], "null_us": 1e6 * sorted(nulls)[len(nulls) // 2]}
else:
    sampler = m.run.sampler
    time.sleep(0.5)  # past start-up
    c0, w0, done = sampler.cpu_time_s, time.monotonic(), 0
    batch = max(RATE // 1000, 1)  # phases per millisecond
    while time.monotonic() - w0 < SECONDS:
        if RATE:
            due = int((time.monotonic() - w0) * RATE)
            while done < due:
                for _ in range(batch):
                    with m.phase("step"):
                        pass
                done += batch
        time.sleep(0.001)
    wall = time.monotonic() - w0
    out = {"rate": done / wall, "sampler_share": (sampler.cpu_time_s - c0) / wall, "ticks": sampler.ticks}
rec = m.stop()
out["phase_count"] = rec.phases["step"].count if "step" in rec.phases else 0
print("MARK" + json.dumps(out))
"""


def _child(root: Path, args: tuple[Any, ...]) -> dict[str, Any]:
    code = _CODE.replace("ARGS", repr(args)).replace("MARK", RESULT_MARK)
    env = dict(os.environ, PYTHONPATH=str(root))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600,
                          cwd=tempfile.gettempdir())  # fmt: skip
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise SystemExit(f"benchmark child failed (exit {proc.returncode}): {proc.stderr[-1500:]}")


def measure(root: Path, seconds: float, reps: int) -> dict[str, Any]:
    """The caller's cost and the sampler's share of a core at each rate (medians over ``reps``)."""
    caller = _child(root, ("caller", 0, seconds, max(reps, 3)))
    rates: dict[str, Any] = {}
    for rate in SAMPLER_TARGETS:
        runs = [_child(root, ("sampler", rate, seconds, reps)) for _ in range(reps)]
        rates[str(rate)] = {
            "achieved_rate": statistics.median(r["rate"] for r in runs),
            "sampler_share": statistics.median(r["sampler_share"] for r in runs),
            "runs": runs,
        }
    return {"caller": caller, "rates": rates}


def _lines(label: str, res: dict[str, Any], command: str) -> list[str]:
    c = res["caller"]
    net = c["phase_us"] - c["null_us"]
    lines = [
        f"## {label}",
        "",
        f"Command: `{command}`",
        "",
        f"- `phase()` in the caller: {c['phase_us']:.2f} us per `with` ({net:.2f} us above a no-op context manager); "
        f"target {CALLER_TARGET_US:g} us: {'met' if net <= CALLER_TARGET_US else 'NOT met'}",
        "",
        "| phases/s asked (achieved) | sampler thread, share of a core | target |",
        "|---|---|---|",
    ]
    for rate, target in SAMPLER_TARGETS.items():
        r = res["rates"][str(rate)]
        goal = "-" if target is None else f"<= {target:.1%}: {'met' if r['sampler_share'] <= target else 'NOT met'}"
        lines.append(f"| {rate:,} ({r['achieved_rate']:,.0f}) | {r['sampler_share']:.2%} | {goal} |")
    return lines + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT, help="the ecometer source tree to measure")
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "perf")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    res = measure(args.root, args.seconds, args.reps)
    command = f"python -m benchmarks.phase_overhead --seconds {args.seconds:g} --reps {args.reps}"
    lines = _lines(args.label, res, command + (f" --root {args.root}" if args.root != ROOT else ""))
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "phase_overhead" if args.root == ROOT else f"phase_overhead_{args.root.name}"
    (args.out / f"{stem}.md").write_text("\n".join(["# phase() overhead (counter sensor)", "", *lines]), encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps({"label": args.label, **res}, indent=1) + "\n", encoding="utf-8")
    log.info("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
