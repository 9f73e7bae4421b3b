"""`ecometer report` of the same record with 0, 2,000 and 40,000 phase spans, in fresh processes.

    python -m benchmarks.report_spans [--reps 3] [--root DIR --label TEXT] [--out reports/perf]

The record is ``reports/examples/record.json`` (90 s, three components) with its spans replaced
by ``n`` alternating per-step spans at depths 0 and 1 (the stored cap is 2,000; 40,000 is what
issue 27's loader accepted and took over 300 s). Each report is written by
``python -m ecometer report`` in a fresh process (bytecode cached); the medians of wall time
and peak memory are compared with the record without spans. Target (issue 22): 2,000 spans at
most 1.5x the time of none. Writes ``report_spans.md`` and ``.json`` under ``--out``.
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
import time
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT

log = logging.getLogger("benchmarks.report_spans")

SPANS = (0, 2_000, 40_000)
TARGET_RATIO = 1.5


def with_spans(record: dict[str, Any], n: int) -> dict[str, Any]:
    """``record`` with ``n`` per-step spans over its duration instead of its own."""
    out = json.loads(json.dumps(record))
    step = out["duration_s"] / max(n, 1)
    out["timeline"]["spans"] = [
        {"name": "step" if i % 2 == 0 else "eval", "start_s": i * step, "end_s": (i + 0.8) * step, "depth": i % 2}
        for i in range(n)
    ]
    out["timeline"]["spans_dropped"] = 0
    return out


def _report(path: Path, root: Path, out: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / f"ecometer-report-{root.name}"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    code = (
        "import resource, runpy, sys; sys.argv = ['ecometer', 'report', sys.argv[1], '--out', sys.argv[2]]\n"
        "code = 0\ntry:\n    runpy.run_module('ecometer', run_name='__main__')\nexcept SystemExit as exc:\n    code = exc.code\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, code)"
    )
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, str(path), str(out)], capture_output=True, text=True, env=env,
                          timeout=1200, cwd=tempfile.gettempdir())  # fmt: skip (not this tree's folder: -c imports from it)
    wall = time.perf_counter() - t
    lines = [line.split() for line in proc.stdout.splitlines() if line.startswith("PEAK")]
    peak = [float(line[1]) for line in lines if line[2] in ("0", "None")]
    if proc.returncode or not peak:
        raise SystemExit(f"report failed (exit {proc.returncode}): {proc.stderr[-1500:]}")
    return {"wall_s": wall, "peak_mib": peak[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--spans", type=int, nargs="*", default=list(SPANS))
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "perf")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    record = json.loads((ROOT / "reports" / "examples" / "record.json").read_text(encoding="utf-8"))
    runs: dict[str, list[dict[str, float]]] = {str(n): [] for n in args.spans}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for n in args.spans:
            paths[n] = Path(tmp) / f"spans{n}.json"
            paths[n].write_text(json.dumps(with_spans(record, n)), encoding="utf-8")
        _report(paths[args.spans[0]], args.root, Path(tmp) / "warm")  # bytecode and file caches, not counted
        for _ in range(args.reps):
            for n in args.spans:  # interleaved: the machine's load moves all cases alike
                runs[str(n)].append(_report(paths[n], args.root, Path(tmp) / f"out{n}"))
    med = {n: statistics.median(r["wall_s"] for r in rs) for n, rs in runs.items()}
    peak = {n: statistics.median(r["peak_mib"] for r in rs) for n, rs in runs.items()}
    base = med[str(args.spans[0])]
    command = f"python -m benchmarks.report_spans --reps {args.reps}" + (f" --root {args.root}" if args.root != ROOT else "")
    lines = [
        f"## {args.label}",
        "",
        f"Command: `{command}` (medians, interleaved)",
        "",
        "| spans | wall | vs no spans | peak memory | target |",
        "|---|---|---|---|---|",
    ]
    for n in args.spans:
        ratio = med[str(n)] / base
        goal = f"<= {TARGET_RATIO}x: {'met' if ratio <= TARGET_RATIO else 'NOT met'}" if n == 2_000 else ""
        lines.append(f"| {n:,} | {med[str(n)]:.2f} s | {ratio:.2f}x | {peak[str(n)]:.0f} MiB | {goal} |")
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "report_spans" if args.root == ROOT else f"report_spans_{args.root.name}"
    (args.out / f"{stem}.md").write_text("\n".join(["# `ecometer report` and phase spans", "", *lines, ""]), encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps({"label": args.label, "runs": runs}, indent=1) + "\n", encoding="utf-8")
    log.info("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
