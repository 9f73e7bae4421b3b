"""Scale of the published-results path: import a 100,000-row table and calibrate on it.

    python -m benchmarks.corpus_scale [--rows 100000] [--out DIR] [--score]

A seeded synthetic leaderboard (CSV: model, task, size class, GPU Wh per 1,000 queries) is
imported with the same code as ``ecometer corpus import`` (the table read once by column ->
an entries file), read back by column as ``ecometer calibrate`` reads it, and calibrated twice
(equal-width and quantile bands, classed by task and size class, as the AI Energy Score does).
``--score`` also scores every entry against the result, one at a time as ``ecometer score``
streams them. Targets (issue 22): import + calibrate of 1 M rows in at most 10 s and 1 GB peak
RSS on the 2-core CI machine, linear in rows. Writes ``corpus_scale.md`` and
``corpus_scale.json`` under ``reports/benchmarks/<machine-tag>/`` (``corpus_scale-<rows>``
for other sizes than 100,000).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from benchmarks._common import REPORTS, environment, machine_tag, markdown_table, write_json

TARGET_S = 10.0
TARGET_RSS_MIB = 1024
TASKS = [f"task{i:02d}" for i in range(10)]
SIZES = ["A", "B", "C"]


def make_table(path: Path, rows: int, seed: int = 1) -> None:
    """A CSV of ``rows`` models: log-normal GPU energy per task (kWh per 1,000 queries)."""
    rng = random.Random(seed)
    lines = ["model,task,class,total_gpu_energy"]
    for i in range(rows):
        task = TASKS[i % len(TASKS)]
        size = SIZES[(i // len(TASKS)) % len(SIZES)]
        lines.append(f"m{i},{task},{size},{rng.lognormvariate(-5 + SIZES.index(size), 0.8):.9g}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


SPEC = """\
[source]
publisher = "synthetic benchmark table"
[entry]
id = ["task", "model"]
energy = "total_gpu_energy"
energy_unit = "kWh"
component = "gpu"
work = { query = 1000 }
[entry.meta]
task = "task"
size_class = "class"
"""


def _rss_mib() -> float:
    """Peak resident memory of this process so far (MiB; Linux reports KiB)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(rows: int, with_score: bool = False) -> dict:
    from ecometer.standards import calibrate, score
    from ecometer.standards.corpus import read_columns, write_columns
    from ecometer.standards.tablecolumns import import_columns
    from ecometer.standards.tables import load_spec

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_table(d / "big.csv", rows)
        (d / "spec.toml").write_text(SPEC)
        rss_table = _rss_mib()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        spec = load_spec(d / "spec.toml")
        entries = import_columns([d / "big.csv"], spec)
        write_columns(d / "entries.jsonl", entries, {"source": spec.source})
        t_import = time.perf_counter() - t0
        del entries
        t0 = time.perf_counter()
        back = read_columns(d / "entries.jsonl")
        t_read = time.perf_counter() - t0
        times = {}
        for method in ("equal-width", "quantile"):
            t0 = time.perf_counter()
            std = calibrate(
                back, "gpu_energy_j", method=method, per="query", scale=1000, unit="Wh", class_by="task,size_class"
            )
            times[method] = time.perf_counter() - t0
            if method == "equal-width":
                cpu = time.process_time() - cpu0  # import + read + calibrate (equal-width), CPU seconds
        assert std.calibration["records"] == rows
        rss = _rss_mib()
        t_score = None
        if with_score:
            t0 = time.perf_counter()
            graded = sum(1 for rec in back.records() if score(rec, std).passed is not None)
            t_score = time.perf_counter() - t0
            assert graded == rows
    return {
        "rows": rows,
        "import_s": t_import,
        "read_s": t_read,
        "calibrate_equal_width_s": times["equal-width"],
        "calibrate_quantile_s": times["quantile"],
        "import_and_calibrate_s": t_import + t_read + times["equal-width"],
        "import_and_calibrate_cpu_s": cpu,
        "peak_rss_mib_before_import": rss_table,
        "peak_rss_mib": rss,
        "peak_rss_mib_with_score": _rss_mib() if with_score else None,
        "score_s": t_score,
        "target_s": TARGET_S,
        "target_rss_mib": TARGET_RSS_MIB,
        "classes": len(std.classes) - 1,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--out", type=Path, help="folder for the results (default reports/benchmarks/<tag>/)")
    p.add_argument("--score", action="store_true", help="also score every entry (streamed)")
    args = p.parse_args(argv)
    out = args.out or REPORTS / machine_tag([])
    res = run(args.rows, args.score)
    env = environment([])
    stem = "corpus_scale" if args.rows == 100_000 else f"corpus_scale-{args.rows}"
    write_json(out / f"{stem}.json", {"benchmark": "corpus_scale", "result": res, "environment": env})
    fast = res["import_and_calibrate_s"] <= TARGET_S * res["rows"] / 1e6 or res["import_and_calibrate_s"] <= TARGET_S
    ok = "meets" if fast and res["peak_rss_mib"] <= TARGET_RSS_MIB * max(1, res["rows"] / 1e6) else "MISSES"
    load = os.getloadavg()
    table = markdown_table(
        ["step", "seconds"],
        [
            ["import (CSV -> entries -> entries.jsonl)", f"{res['import_s']:.2f}"],
            ["read entries.jsonl back", f"{res['read_s']:.2f}"],
            ["calibrate, equal-width, by task and size class", f"{res['calibrate_equal_width_s']:.2f}"],
            ["calibrate, quantile, by task and size class", f"{res['calibrate_quantile_s']:.2f}"],
            ["**import + read + calibrate (equal-width)**", f"**{res['import_and_calibrate_s']:.2f}**"],
            ["the same, CPU seconds of this process", f"{res['import_and_calibrate_cpu_s']:.2f}"],
            *([["score every entry (streamed)", f"{res['score_s']:.2f}"]] if res["score_s"] is not None else []),
        ],
    )
    rss = f"{res['peak_rss_mib']:.0f} MiB (the synthetic table and the interpreter: {res['peak_rss_mib_before_import']:.0f} MiB)"
    if res["peak_rss_mib_with_score"] is not None:
        rss += f"; with scoring {res['peak_rss_mib_with_score']:.0f} MiB"
    text = (
        f"# Corpus scale: {res['rows']:,} published rows\n\n"
        f"Machine: {env['cpu_model']} ({env['logical_cpus']} CPUs), Python {env['versions']['python']}, "
        f"ecometer {env['versions']['ecometer']}.\n"
        f"Command: `python -m benchmarks.corpus_scale --rows {res['rows']}{' --score' if res['score_s'] is not None else ''}`. "
        f"{res['classes']} classes.\n\n"
        f"{table}\n\nPeak RSS after calibrating: {rss}. Load average at the end: "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (2 cores shared).\n\n"
        f"Target: at most {TARGET_S:g} s and {TARGET_RSS_MIB} MiB per million rows; this run {ok} it.\n"
    )
    (out / f"{stem}.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
