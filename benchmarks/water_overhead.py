"""Cost of a site (and a standard) on a meter's start+stop, cold, in fresh processes.

    python -m benchmarks.water_overhead [--reps 7] [--out reports/water]

Issue 14's target: start+stop with a site and a standard within 30 ms of start+stop without.
Each repetition runs one fresh interpreter per case (no site; ``site="us-average"``;
``Site(country="DEU")``, the derived-fallback path; a standard; both) and reports the medians
of ``import ecometer`` and of constructing, starting and stopping the meter (which includes
importing and loading whatever the site and the standard need), and whether CodeCarbon or
pandas were imported. Bytecode is cached as for an installed package (one uncounted warm-up
run per case; the cache lives in a temporary folder). Writes
``water_overhead.md`` and ``water_overhead.json`` under ``--out``.
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

from benchmarks._common import RESULT_MARK, ROOT, load_text

log = logging.getLogger("benchmarks.water_overhead")

TARGET_S = 0.030
_CODE = """
import sys, time, json, tempfile
t0 = time.perf_counter()
import ecometer
t1 = time.perf_counter()
m = ecometer.Meter("bench", out=tempfile.mkdtemp() + "/run.json")
m.start()
rec = m.stop()
t2 = time.perf_counter()
# what a site and a standard add to stop, cold: the same calls measure() makes (resolve, footprint, score)
from ecometer.api import Judgement
kwargs = KWARGS
t3, c3 = time.perf_counter(), time.process_time()
site = kwargs.get("site")
if site == "DEU":
    site = ecometer.Site(pue=1.2, wue=0.3, country="DEU")
problems = Judgement(site, kwargs.get("standard"))(rec)
t4, c4 = time.perf_counter(), time.process_time()
print("MARK" + json.dumps({"import_s": t1 - t0, "start_stop_s": t2 - t1, "extra_s": t4 - t3, "extra_cpu_s": c4 - c3, "problems": problems,
      "heavy": [n for n in ("numpy", "codecarbon", "pandas", "matplotlib", "torch") if n in sys.modules]}))
"""
CASES = {
    "none": {},
    "site us-average": {"site": "us-average"},
    "site country DEU (derived EWIF)": {"site": "DEU"},
    "standard": {"standard": "STANDARD"},
    "site us-average + standard": {"site": "us-average", "standard": "STANDARD"},
}


_PYCACHE = Path(tempfile.gettempdir()) / "ecometer-water-overhead-pycache"


def _run(kwargs: dict[str, Any], root: Path = ROOT) -> dict[str, Any]:
    code = _CODE.replace("KWARGS", repr(kwargs)).replace("MARK", RESULT_MARK)
    env = dict(os.environ)
    # bytecode as an installed package has it (cached .pyc, kept outside the source tree); with
    # PYTHONDONTWRITEBYTECODE every import would compile its source, most of the cold cost here
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE)
    env["PYTHONPATH"] = str(root)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tempfile.gettempdir(), env=env, timeout=120)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise SystemExit(f"benchmark child failed (exit {proc.returncode}): {proc.stderr[-1500:]}")


def _iqr(values: list[float]) -> float:
    q = statistics.quantiles(values, n=4)
    return q[2] - q[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "water")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the ecometer source tree to measure (e.g. an export of an older commit)"
    )
    parser.add_argument("--label", default="this tree", help="what --root is, for the report")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from ecometer.standards import builtin_names

    standard = sorted(builtin_names())[0]
    load_before = load_text()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CASES}
    for kwargs in CASES.values():  # warm-up: fills the bytecode cache, not counted
        _run({k: (standard if v == "STANDARD" else v) for k, v in kwargs.items()}, args.root)
    for _ in range(args.reps):
        for name, kwargs in CASES.items():
            kw = {k: (standard if v == "STANDARD" else v) for k, v in kwargs.items()}
            runs[name].append(_run(kw, args.root))
    summary = {}
    for name, rs in runs.items():
        summary[name] = {
            "median_import_s": statistics.median(r["import_s"] for r in rs),
            "median_start_stop_s": statistics.median(r["start_stop_s"] for r in rs),
            "iqr_start_stop_s": _iqr([r["start_stop_s"] for r in rs]),
            "median_extra_s": statistics.median(r["extra_s"] for r in rs),
            "max_extra_s": max(r["extra_s"] for r in rs),
            "median_extra_cpu_s": statistics.median(r["extra_cpu_s"] for r in rs),
            "problems": sorted({p for r in rs for p in r["problems"]}),
            "heavy_modules": sorted({m for r in rs for m in r["heavy"]}),
        }
    lines = [
        "# Start+stop cost of a site and a standard (cold, fresh processes)",
        "",
        f"Measured: {args.label}. Command: `python -m benchmarks.water_overhead --reps {args.reps}`; standard `{standard}`; "
        f"target: within {TARGET_S * 1000:.0f} ms of start+stop without.",
        "",
        f"Machine load: {load_before} before, {load_text()} after.",
        "",
        "| case | start+stop without (median, IQR) | added by site/standard, cold (median, max) | its CPU time (median) | within target | heavy modules imported |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        s["within_target"] = s["median_extra_s"] <= TARGET_S
        lines.append(
            f"| {name} | {s['median_start_stop_s'] * 1000:.0f} ms ({s['iqr_start_stop_s'] * 1000:.0f} ms) | "
            f"{s['median_extra_s'] * 1000:.1f} ms ({s['max_extra_s'] * 1000:.1f} ms) | {s['median_extra_cpu_s'] * 1000:.1f} ms | "
            f"{'yes' if s['within_target'] else 'NO'} | {', '.join(s['heavy_modules']) or 'none'} |"
        )
    lines += [
        "",
        "The added time is measured directly in each fresh process: the calls a Meter makes at construction and "
        "stop for a site and a standard (resolve_site, resolve_standard, attach_results: imports, data files, "
        "footprint, score), timed after a plain start+stop. Timing whole start+stops per case instead is "
        "dominated by sensor discovery, whose interquartile range (IQR) on this 2-core machine is larger than the "
        "differences sought.",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "water_overhead" if args.root == ROOT else f"water_overhead_{args.root.name}"
    (args.out / f"{stem}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = {"label": args.label, "load": [load_before, load_text()], "summary": summary, "runs": runs}
    (args.out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
    log.info("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
