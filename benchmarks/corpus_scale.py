"""Scale of the published-results path: import a 100,000-row table and calibrate on it.

    python -m benchmarks.corpus_scale [--rows 100000] [--out DIR]

A seeded synthetic leaderboard (CSV: model, task, size class, GPU Wh per 1,000 queries) is
imported with the same code as ``ecometer corpus import`` (rows -> corpus entries -> an
entries file), read back, and calibrated twice (equal-width and quantile bands, classed by
task and size class, as the AI Energy Score does). Target (issue 15): import and calibrate
in under 10 s on the 2-core CI machine. Writes ``corpus_scale.md`` and ``corpus_scale.json``
under ``reports/benchmarks/<machine-tag>/``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from benchmarks._common import REPORTS, environment, machine_tag, markdown_table, write_json

TARGET_S = 10.0
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


def run(rows: int) -> dict:
    from ecometer.standards import calibrate
    from ecometer.standards.corpus import read_entries, write_entries
    from ecometer.standards.tables import import_tables, load_spec

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        make_table(d / "big.csv", rows)
        (d / "spec.toml").write_text(SPEC)
        t0 = time.perf_counter()
        spec = load_spec(d / "spec.toml")
        entries = import_tables([d / "big.csv"], spec)
        write_entries(d / "entries.jsonl", entries, {"source": spec.source})
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        back = read_entries(d / "entries.jsonl")
        t_read = time.perf_counter() - t0
        times = {}
        for method in ("equal-width", "quantile"):
            t0 = time.perf_counter()
            std = calibrate(
                back, "gpu_energy_j", method=method, per="query", scale=1000, unit="Wh", class_by="task,size_class"
            )
            times[method] = time.perf_counter() - t0
        assert std.calibration["records"] == rows
    return {
        "rows": rows,
        "import_s": t_import,
        "read_s": t_read,
        "calibrate_equal_width_s": times["equal-width"],
        "calibrate_quantile_s": times["quantile"],
        "import_and_calibrate_s": t_import + t_read + times["equal-width"],
        "target_s": TARGET_S,
        "classes": len(std.classes) - 1,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--out", type=Path, help="folder for the results (default reports/benchmarks/<tag>/)")
    args = p.parse_args(argv)
    out = args.out or REPORTS / machine_tag([])
    res = run(args.rows)
    env = environment([])
    write_json(out / "corpus_scale.json", {"benchmark": "corpus_scale", "result": res, "environment": env})
    ok = "meets" if res["import_and_calibrate_s"] < TARGET_S else "MISSES"
    table = markdown_table(
        ["step", "seconds"],
        [
            ["import (CSV -> entries -> entries.jsonl)", f"{res['import_s']:.2f}"],
            ["read entries.jsonl back", f"{res['read_s']:.2f}"],
            ["calibrate, equal-width, by task and size class", f"{res['calibrate_equal_width_s']:.2f}"],
            ["calibrate, quantile, by task and size class", f"{res['calibrate_quantile_s']:.2f}"],
            ["**import + read + calibrate (equal-width)**", f"**{res['import_and_calibrate_s']:.2f}**"],
        ],
    )
    text = (
        f"# Corpus scale: {res['rows']:,} published rows\n\n"
        f"Machine: {env['cpu_model']} ({env['logical_cpus']} CPUs), Python {env['versions']['python']}, "
        f"ecometer {env['versions']['ecometer']}.\n"
        f"Command: `python -m benchmarks.corpus_scale --rows {res['rows']}`. {res['classes']} classes.\n\n"
        f"{table}\n\nTarget: under {TARGET_S:g} s; this run {ok} it.\n"
    )
    (out / "corpus_scale.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
