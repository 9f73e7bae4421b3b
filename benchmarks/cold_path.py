"""Issue 22's cold-path figures, each in fresh interpreters, interleaved with CodeCarbon.

    python -m benchmarks.cold_path [--reps 7] [--root DIR --label TEXT] [--out reports/perf]

Per repetition, one fresh process each (bytecode cached as an installed package has it):

- ``bare``: ``import ecometer``, a Meter's start+stop (no site, no standard);
- ``judged``: the same with ``site="us-average"`` and the ``ai-energy-score-2025-02`` standard
  (``ecometer.measure``: the footprint and the assessment are made at stop), and whether numpy
  was imported; the first ``footprint()`` of the process, timed on its own afterwards in a
  second fresh process (``first_footprint``);
- ``codecarbon``: CodeCarbon's ``OfflineEmissionsTracker`` start+stop (if installed);
- ``run_true``: the wall time of ``python -m ecometer run -- true``;
- ``phases``: peak resident memory of a 2 s run with 40,000 phases and checkpoints.

Targets: judged start+stop at most 0.05x CodeCarbon's start+stop and within 30 ms of the bare
meter; ``ecometer run -- true`` at most 0.2 s; first ``footprint()`` at most 10 ms; a run with
phases under 25 MiB. Writes ``cold_path.md`` and ``.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import RESULT_MARK, ROOT, have, load_text

log = logging.getLogger("benchmarks.cold_path")

STANDARD = "ai-energy-score-2025-02"
_MEASURE = """
import json, sys, tempfile, time
t0 = time.perf_counter()
import ecometer
t1, c1 = time.perf_counter(), time.process_time()
kw = KWARGS
m = ecometer.measure("cold", out=tempfile.mkdtemp() + "/r.json", **kw)
m.start()
rec = m.stop()
t2, c2 = time.perf_counter(), time.process_time()
print("MARK" + json.dumps({"import_s": t1 - t0, "start_stop_s": t2 - t1, "start_stop_cpu_s": c2 - c1, "numpy": "numpy" in sys.modules,
      "judged": sorted(rec.attachments)}))
"""
_FOOTPRINT = """
import json, sys, time
import ecometer
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord
e = {"cpu": Estimate(1.4, 0.91, 2.1, coverage=0.95, distribution="lognormal"), "dram": Estimate(1.7, 0.47, 2.9, distribution="triangular")}
rec = RunRecord(name="fp", status="ok", duration_s=1.0, components={n: Component(n, float(x), "modelled", x, {n: float(x)}) for n, x in e.items()})
t, c = time.perf_counter(), time.process_time()
ecometer.footprint(rec, site="us-average")
t1, c1 = time.perf_counter(), time.process_time()
ecometer.footprint(rec, site="us-average")
t2 = time.perf_counter()
print("MARK" + json.dumps({"first_s": t1 - t, "first_cpu_s": c1 - c, "warm_s": t2 - t1, "numpy": "numpy" in sys.modules}))
"""
_CODECARBON = """
import json, time
from codecarbon import OfflineEmissionsTracker
tr = OfflineEmissionsTracker(country_iso_code="USA", save_to_file=False, log_level="error")
t = time.perf_counter()
tr.start()
tr.stop()
print("MARK" + json.dumps({"start_stop_s": time.perf_counter() - t}))
"""
_PHASES = """
import json, resource, sys, tempfile, time
import ecometer
m = ecometer.Meter("phases", out=tempfile.mkdtemp() + "/r.json", checkpoint_interval_s=0.25)
m.start()
t = time.monotonic()
n = 0
while time.monotonic() - t < 2.0:
    for _ in range(100):
        with m.phase("step"):
            n += 1
    time.sleep(0.001)
rec = m.stop()
print("MARK" + json.dumps({"phases": n, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      "numpy": "numpy" in sys.modules}))
"""


def _env(root: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONPYCACHEPREFIX=str(Path(tempfile.gettempdir()) / f"ecometer-cold-{root.name}"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # cached bytecode, as an installed package has it
    return env


def _child(code: str, root: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", code.replace("MARK", RESULT_MARK)], capture_output=True, text=True,
                          env=_env(root), cwd=tempfile.gettempdir(), timeout=300)  # fmt: skip
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            return json.loads(line[len(RESULT_MARK) :])
    raise SystemExit(f"benchmark child failed (exit {proc.returncode}): {proc.stderr[-1500:]}")


def _run_true(root: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ecometer", "run", "--out", f"{tmp}/r.json", "--", "true"],
                              capture_output=True, text=True, env=_env(root), cwd=tmp, timeout=120)  # fmt: skip
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # ecometer, its trampoline and `true`
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return {"wall_s": wall, "cpu_s": cpu, "exit": proc.returncode}


def measure(root: Path, reps: int, baseline: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each case ``reps`` times; with ``baseline``, that tree's cases too, interleaved case by case
    (keys ``base:<case>``), so that both trees see the same load."""
    cases = _cases(root)
    if baseline is not None:
        cases.update({f"base:{name}": fn for name, fn in _cases(baseline).items() if name != "codecarbon"})
    for fn in cases.values():  # warm-up: bytecode cache and file cache, not counted
        fn()
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for _ in range(reps):
        for name, fn in cases.items():
            runs[name].append(fn())
    return runs


def _cases(root: Path) -> dict[str, Any]:
    cases = {
        "bare": lambda: _child(_MEASURE.replace("KWARGS", "{}"), root),
        "judged": lambda: _child(_MEASURE.replace("KWARGS", repr({"site": "us-average", "standard": STANDARD})), root),
        "first_footprint": lambda: _child(_FOOTPRINT, root),
        "run_true": lambda: _run_true(root),
        "phases": lambda: _child(_PHASES, root),
    }
    if have("codecarbon"):
        cases["codecarbon"] = lambda: _child(_CODECARBON, root)
    return cases


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    def med(name: str, key: str) -> float | None:
        values = [r[key] for r in runs.get(name, []) if key in r]
        return statistics.median(values) if values else None

    s: dict[str, Any] = {
        "bare_start_stop_s": med("bare", "start_stop_s"),
        "judged_start_stop_s": med("judged", "start_stop_s"),
        "bare_start_stop_cpu_s": med("bare", "start_stop_cpu_s"),
        "judged_start_stop_cpu_s": med("judged", "start_stop_cpu_s"),
        "first_footprint_cpu_s": med("first_footprint", "first_cpu_s"),
        "judged_numpy": any(r["numpy"] for r in runs["judged"]),
        "first_footprint_s": med("first_footprint", "first_s"),
        "warm_footprint_s": med("first_footprint", "warm_s"),
        "footprint_numpy": any(r["numpy"] for r in runs["first_footprint"]),
        "run_true_s": med("run_true", "wall_s"),
        "run_true_cpu_s": med("run_true", "cpu_s"),
        "phases_peak_rss_mib": med("phases", "peak_rss_mib"),
        "phases_per_run": med("phases", "phases"),
        "phases_numpy": any(r["numpy"] for r in runs["phases"]),
        "codecarbon_start_stop_s": med("codecarbon", "start_stop_s"),
    }
    s["judged_minus_bare_s"] = s["judged_start_stop_s"] - s["bare_start_stop_s"]
    s["judged_minus_bare_cpu_s"] = s["judged_start_stop_cpu_s"] - s["bare_start_stop_cpu_s"]
    cc = s["codecarbon_start_stop_s"]
    s["judged_vs_codecarbon"] = s["judged_start_stop_s"] / cc if cc else None
    s["bare_vs_codecarbon"] = s["bare_start_stop_s"] / cc if cc else None
    return s


def _table(label: str, s: dict[str, Any], command: str) -> list[str]:
    def ms(x: float | None) -> str:
        return "n/a" if x is None else f"{x * 1000:.1f} ms"

    def ratio(x: float | None) -> str:
        return "n/a (CodeCarbon not installed)" if x is None else f"{x:.3f}x"

    rows = [
        ("start+stop, bare meter", ms(s["bare_start_stop_s"]), f"{ratio(s['bare_vs_codecarbon'])} CodeCarbon's", ""),
        ("start+stop, site + standard", ms(s["judged_start_stop_s"]), f"{ratio(s['judged_vs_codecarbon'])} CodeCarbon's",
         f"<= 0.05x; numpy imported: {'yes' if s['judged_numpy'] else 'no'}"),
        ("... minus the bare meter", ms(s["judged_minus_bare_s"]), f"CPU time: {ms(s['judged_minus_bare_cpu_s'])}", "<= 30 ms"),
        ("CodeCarbon start+stop", ms(s["codecarbon_start_stop_s"]), "", ""),
        ("first footprint() in a process", ms(s["first_footprint_s"]),
         f"CPU time: {ms(s['first_footprint_cpu_s'])}; warm: {ms(s['warm_footprint_s'])}",
         f"<= 10 ms; numpy imported: {'yes' if s['footprint_numpy'] else 'no'}"),
        ("`ecometer run -- true` (wall)", ms(s["run_true_s"]), f"CPU time (all its processes): {ms(s['run_true_cpu_s'])}",
         "<= 200 ms"),
        ("run with phases: peak RSS", f"{s['phases_peak_rss_mib']:.1f} MiB", f"{s['phases_per_run']:,.0f} phases in 2 s",
         f"< 25 MiB; numpy imported: {'yes' if s['phases_numpy'] else 'no'}"),
    ]  # fmt: skip
    out = [f"## {label}", "", f"Command: `{command}` (medians)", "", "| figure | value | relative | target |", "|---|---|---|---|"]
    return out + [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows] + [""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--root", type=Path, default=ROOT, help="the ecometer source tree to measure")
    parser.add_argument("--label", default="this tree")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "perf")
    parser.add_argument("--baseline", type=Path, help="another tree (e.g. an export of an older commit), run interleaved")
    parser.add_argument("--baseline-label", default="baseline")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    load_before = load_text()
    runs = measure(args.root, args.reps, args.baseline)
    load = [load_before, load_text()]
    s = summarise({k: v for k, v in runs.items() if not k.startswith("base:")})
    s["load"] = load
    command = f"python -m benchmarks.cold_path --reps {args.reps}" + (f" --root {args.root}" if args.root != ROOT else "")
    if args.baseline is not None:
        command += f" --baseline {args.baseline}"
    lines = _table(args.label, s, command)
    doc: dict[str, Any] = {"label": args.label, "summary": s, "runs": runs}
    if args.baseline is not None:  # the same CodeCarbon runs serve both ratios
        base = summarise({k.removeprefix("base:"): v for k, v in runs.items() if k.startswith("base:") or k == "codecarbon"})
        lines += _table(f"{args.baseline_label} (interleaved with the above)", base, command)
        doc["baseline"] = {"label": args.baseline_label, "summary": base}
    lines[3:3] = ["", f"Machine load: {load[0]} before, {load[1]} after."]
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "cold_path" if args.root == ROOT else f"cold_path_{args.root.name}"
    (args.out / f"{stem}.md").write_text("\n".join(["# Cold path (issue 22)", "", *lines]), encoding="utf-8")
    (args.out / f"{stem}.json").write_text(json.dumps(doc, indent=1) + "\n")
    log.info("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
