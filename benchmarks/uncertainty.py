"""Uncertainty benchmark: how long propagating, footprinting and scoring one record takes, and
how wide the intervals of a record are (phases, water, carbon), with what coverage they claim.

    python -m benchmarks.uncertainty --record reports/demo/record.json --label after
    python -m benchmarks.uncertainty --smoke --out /tmp/u      # CI: a tiny synthetic record

Writes ``widths-<label>.json`` and ``widths-<label>.md`` under ``--out`` (default
``reports/uncertainty/``). The target (issue 13): at most 10 ms to propagate, footprint and
score one record on the 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _common as C

TARGET_MS = 10.0


def _row(kind: str, name: str, est: Any) -> dict[str, Any]:
    central, low, high = float(est.central), float(est.low), float(est.high)
    return {
        "kind": kind,
        "name": name,
        "central": central,
        "low": low,
        "high": high,
        "rel_low": (central - low) / central if central else None,
        "rel_high": (high - central) / central if central else None,
        "coverage": getattr(est, "coverage", None),
        "distribution": getattr(est, "distribution", None),
    }


def widths(record: Any) -> list[dict[str, Any]]:
    """One row per figure with bounds: components, phases, water and carbon."""
    rows = [_row("energy", "it_energy_j", record.energy_uncertainty)]
    rows += [_row("component", n, c.uncertainty) for n, c in record.components.items()]
    rows += [_row("phase", n, p.uncertainty) for n, p in record.phases.items()]
    fp = record.footprint
    if fp is not None:
        for name in ("onsite_l", "offsite_l", "total_l", "withdrawal_l"):
            value = getattr(fp.water, name, None)
            if value is not None and hasattr(value, "low"):
                rows.append(_row("water", name, value))
        rows.append(_row("carbon", "carbon_g", fp.carbon_g))
    return rows


def time_pipeline(record: Any, site: str, standard: str, repeats: int) -> dict[str, Any]:
    """Median wall time (ms) to footprint and score ``record`` (propagation included)."""
    import ecometer

    std = ecometer.load_standard(standard)
    times = []
    for _ in range(repeats + 1):  # the first call warms caches (grid tables, the standard) and is dropped
        t0 = time.perf_counter()
        fp = ecometer.footprint(record, site=site)
        record.attach("footprint", fp)
        ecometer.score(record, std)
        times.append((time.perf_counter() - t0) * 1e3)
    times = times[1:]
    return {"repeats": repeats, "median_ms": statistics.median(times), "max_ms": max(times), "target_ms": TARGET_MS}


def markdown(result: dict[str, Any]) -> str:
    t = result["timing"]
    lines = [
        f"# Interval widths and propagation time ({result['label']})",
        "",
        f"Record: `{result['record']}`; site `{result['site']}`, standard `{result['standard']}`.",
        f"Command: `{result['command']}`",
        "",
        f"Footprint + score of one record: median {t['median_ms']:.2f} ms over {t['repeats']} "
        f"(max {t['max_ms']:.2f} ms; target <= {t['target_ms']:.0f} ms).",
        "",
    ]
    rows = [
        [
            r["kind"],
            r["name"],
            C.fmt(r["central"], 4),
            C.fmt(r["low"], 4),
            C.fmt(r["high"], 4),
            "n/a" if r["rel_low"] is None else f"-{r['rel_low']:.0%} / +{r['rel_high']:.0%}",
            "not stated" if r["coverage"] is None else f"{r['coverage']:.0%}",
            str(r["distribution"]),
        ]
        for r in result["widths"]
    ]
    lines.append(C.markdown_table(["kind", "figure", "central", "low", "high", "range", "coverage", "shape"], rows))
    return "\n".join(lines) + "\n"


def _smoke_record() -> Any:
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component, Phase, RunRecord

    return RunRecord(
        name="smoke",
        duration_s=10.0,
        components={
            "cpu": Component("cpu", 50.0, "modelled", Estimate(50.0, 31.0, 69.0), {"cpu": 50.0}),
            "dram": Component("dram", 60.0, "modelled", Estimate(60.0, 17.0, 106.0), {"dram": 60.0}),
        },
        phases={"step": Phase("step", 80.0, 8.0, 100, {"cpu": 40.0, "dram": 40.0}, Estimate(80.0, 40.0, 120.0))},
        work={"sample": 1000.0},
        work_unit="sample",
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", help="record JSON to measure (default: a tiny synthetic record with --smoke)")
    ap.add_argument("--label", default="after")
    ap.add_argument("--site", default="us-average")
    ap.add_argument("--standard", default="ecometer-training")
    ap.add_argument("--repeats", type=int, default=50)
    ap.add_argument("--out", default="reports/uncertainty")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args(argv)
    import ecometer

    if args.record:
        record = ecometer.load_record(args.record)
    elif args.smoke:
        record = _smoke_record()
    else:
        ap.error("give --record PATH or --smoke")
    timing = time_pipeline(record, args.site, args.standard, 3 if args.smoke else args.repeats)
    result = {
        "label": args.label,
        "record": args.record or "synthetic (smoke)",
        "site": args.site,
        "standard": args.standard,
        "command": "python -m benchmarks.uncertainty " + " ".join(argv if argv is not None else sys.argv[1:]),
        "environment": C.environment(),
        "timing": timing,
        "widths": widths(record),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    C.write_json(out / f"widths-{args.label}.json", result)
    (out / f"widths-{args.label}.md").write_text(markdown(result), encoding="utf-8")
    print(json.dumps(timing))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
