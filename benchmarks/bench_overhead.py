"""What ``ecometer bench`` adds to each run of the command it benches (issue 29: at most 0.1 s).

    python -m benchmarks.bench_overhead [--runs 20] [--out DIR]

For each command (``true``: the bench's cost alone; ``sleep 0.2``: a command with a duration of
its own) three timings, interleaved so that a busy moment of the machine hits all three alike:

- **bare**: the command started and waited for with ``subprocess.run`` (stdout and stderr to
  /dev/null), ``--runs`` times: the command's own time;
- **per run**: each measured run inside a bench (``Bench.measure_one``: a fresh meter and guard,
  the command through ``ecometer run``'s machinery with its output to log files, the record
  footprinted at ``us-average`` and written): the per-run cost is its median minus bare's;
- **whole command**: ``python -m ecometer bench --runs N --no-charts`` end to end (start-up,
  import, the verdict and its files once), minus N bare runs, divided by N: the one-off costs
  spread over the runs.

Writes ``bench_overhead.md`` and ``bench_overhead.json`` under ``reports/benchmarks/<machine-tag>/``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPORTS, environment, machine_tag, markdown_table, write_json

TARGET_S = 0.1
COMMANDS = (["true"], ["sleep", "0.2"])


def bare(command: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # noqa: S603
        out.append(time.perf_counter() - t)
    return out


def per_run(command: list[str], runs: int, folder: Path) -> list[float]:
    """Wall time of each measured run inside a bench (the folder is prepared first, not timed)."""
    from ecometer.api import resolve_site
    from ecometer.bench import Bench, BenchOptions
    from ecometer.bench.targets import CommandTarget

    opts = BenchOptions(name="overhead", runs=runs, order="fixed", site=resolve_site("us-average"))
    b = Bench(CommandTarget(command), [], opts, folder)
    b.prepare()
    times: list[float] = []

    def timed(config: Any, attempt: int, extra: dict[str, Any]) -> None:
        t = time.perf_counter()
        b.measure_one(config, attempt, extra)
        times.append(time.perf_counter() - t)

    b.run_all(timed)
    return times


def whole(command: list[str], runs: int, folder: Path) -> float:
    t = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "-m", "ecometer", "bench", "--runs", str(runs), "--no-charts", "--site", "us-average",
         "--out", str(folder), "--", *command],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
    )  # fmt: skip
    return time.perf_counter() - t


def measure(command: list[str], runs: int, reps: int) -> dict[str, Any]:
    bare_s: list[float] = []
    inside: list[float] = []
    totals: list[float] = []
    with tempfile.TemporaryDirectory(prefix="ecometer-bench-overhead-") as tmp:
        for rep in range(reps):
            bare_s += bare(command, runs)
            inside += per_run(command, runs, Path(tmp) / f"lib{rep}")
            totals.append(whole(command, runs, Path(tmp) / f"cli{rep}"))
    b = statistics.median(bare_s)
    return {
        "command": " ".join(command),
        "runs": runs,
        "reps": reps,
        "bare_median_s": b,
        "per_run_median_s": statistics.median(inside),
        "per_run_overhead_s": statistics.median(inside) - b,
        "per_run_overhead_p90_s": statistics.quantiles(inside, n=10)[-1] - b,
        "whole_command_s": totals,
        "whole_overhead_per_run_s": (statistics.median(totals) - runs * b) / runs,
    }


def markdown(results: list[dict[str, Any]], env: dict[str, Any]) -> str:
    rows = []
    for r in results:
        rows.append([
            f"`{r['command']}`", f"{1000 * r['bare_median_s']:.1f}", f"{1000 * r['per_run_median_s']:.1f}",
            f"{1000 * r['per_run_overhead_s']:.1f}", f"{1000 * r['per_run_overhead_p90_s']:.1f}",
            f"{1000 * r['whole_overhead_per_run_s']:.1f}",
            "yes" if r["per_run_overhead_s"] <= TARGET_S else "NO",
        ])  # fmt: skip
    table = markdown_table(["command", "bare (ms)", "in a bench (ms)", "added per run (ms)",
                            "added, 90th pct (ms)", "whole command, per run (ms)", f"<= {TARGET_S:g} s"], rows)  # fmt: skip
    n = results[0]["runs"]
    return (
        f"# ecometer bench: time added per run\n\n{table}\n\n"
        f"Medians over {results[0]['reps']} x {n} runs per command, interleaved with bare runs. 'whole command': "
        f"`python -m ecometer bench --runs {n} --no-charts --site us-average` end to end (start-up, import, "
        f"verdict and files) minus {n} bare runs, divided by {n}.\n\n"
        f"Machine: {env['cpu_model']}, {env['logical_cpus']} logical CPUs, load average (1 min) "
        f"{env['load_average_1min'][0]:.1f} before and {env['load_average_1min'][1]:.1f} after: other work shares "
        f"it, and every added millisecond grows with that load; {env['timestamp_utc']}. Command: "
        f"`python -m benchmarks.bench_overhead --runs {n}`.\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--out", help="folder for the results (default reports/benchmarks/<machine-tag>)")
    args = ap.parse_args(argv)
    env = environment()
    load_before = os.getloadavg()
    results = [measure(list(c), args.runs, args.reps) for c in COMMANDS]
    env["load_average_1min"] = [load_before[0], os.getloadavg()[0]]  # before and after: a shared machine's load
    out = Path(args.out) if args.out else REPORTS / machine_tag(env["gpus"])
    write_json(out / "bench_overhead.json", {"benchmark": "bench_overhead", "target_s": TARGET_S,
                                             "results": results, "environment": env})  # fmt: skip
    md = markdown(results, env)
    (out / "bench_overhead.md").write_text(md, encoding="utf-8")
    sys.stdout.write(md)
    return 0 if all(r["per_run_overhead_s"] <= TARGET_S for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
