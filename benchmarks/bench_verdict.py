"""Do the bench's 95 % intervals hold 95 % of the time, and do its probabilities mean what they say?

    python -m benchmarks.bench_verdict [--configs 150] [--pairs 400]

Simulated benches, with nothing tuned on them: a configuration's true energy per run is 10 J;
its runs add normal run-to-run noise (5 %) and one sensor scale error shared by its runs,
uniform within the +/- bound the simulated sensor states (0, 3, 10 or 20 %). For each case, the
share of configurations whose 95 % interval holds the true 10 J. For the probabilities, pairs
whose true difference is drawn uniformly from -10 % to +10 % (5 runs each, exact sensors): the
predicted P(A uses less than B), binned, against how often A truly uses less, and the Brier
score (0.25 for a coin toss). Writes ``bench_verdict.md`` and ``bench_verdict.json`` under
``reports/benchmarks/<machine-tag>/``.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path
from typing import Any

from benchmarks._common import REPORTS, environment, machine_tag, markdown_table, write_json

CASES = ((2, 0.0), (3, 0.0), (5, 0.0), (10, 0.0), (3, 0.03), (5, 0.1), (10, 0.03), (3, 0.2))
BINS = ((0.0, 0.1), (0.1, 0.3), (0.3, 0.7), (0.7, 0.9), (0.9, 1.0))


def simulated(k: int, true_j: float, rng: random.Random, n: int, sensor_rel: float) -> Any:
    """A configuration's runs (see the module doc), as the bench keeps them."""
    from ecometer.bench.grid import configurations, parse_params
    from ecometer.bench.runner import ConfigRuns
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component, RunRecord

    bias = rng.uniform(1 - sensor_rel, 1 + sensor_rel)
    config = configurations(parse_params([f"c=s{k}"]))[0]
    recs = []
    for i in range(n):
        e = rng.gauss(true_j, 0.05 * true_j) * bias
        est = Estimate(e, e * (1 - sensor_rel), e * (1 + sensor_rel), distribution="uniform")
        comp = Component(f"dev{k}", e, "integrated", est)  # a sensor of its own: its own scale error
        recs.append(RunRecord(name="sim", status="ok", duration_s=1.0, components={comp.name: comp},
                              work={"item": 1.0}, work_unit="item", meta={"bench": {"attempt": i + 1}}))  # fmt: skip
    return ConfigRuns(config, records=recs)


def coverage(n: int, rel: float, configs: int, seed: int) -> float:
    from ecometer.bench.verdict import build_verdict

    rng = random.Random(seed)
    held = 0
    for start in range(0, configs, 50):  # verdicts of 50 configurations (pairs grow as the square)
        states = [simulated(k, 10.0, rng, n, rel) for k in range(start, min(start + 50, configs))]
        v = build_verdict(states, lambda c: c.label)
        held += sum(c.energy.low <= 10.0 <= c.energy.high for c in v.configs)
    return held / configs


def calibration(pairs: int, seed: int) -> dict[str, Any]:
    from ecometer.bench.verdict import build_verdict

    rng = random.Random(seed)
    preds = []
    for _ in range(pairs):
        d = rng.uniform(-0.1, 0.1)
        v = build_verdict([simulated(0, 10.0, rng, 5, 0.0), simulated(1, 10.0 * (1 + d), rng, 5, 0.0)],
                          lambda c: c.label)  # fmt: skip
        preds.append((v.probabilities[(v.configs[0].key, v.configs[1].key)], d > 0))
    bins = []
    for lo, hi in BINS:
        sel = [(p, t) for p, t in preds if lo <= p < hi or (hi == 1.0 and p == 1.0)]
        if sel:
            bins.append({"bin": [lo, hi], "pairs": len(sel), "predicted": sum(p for p, _ in sel) / len(sel),
                         "observed": sum(t for _, t in sel) / len(sel)})  # fmt: skip
    return {"pairs": pairs, "bins": bins, "brier": sum((p - t) ** 2 for p, t in preds) / len(preds)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--configs", type=int, default=150, help="configurations per coverage case")
    ap.add_argument("--pairs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2029)
    ap.add_argument("--out", help="folder for the results (default reports/benchmarks/<machine-tag>)")
    args = ap.parse_args(argv)
    cov = [{"runs": n, "sensor_rel": rel, "held": coverage(n, rel, args.configs, args.seed + i)}
           for i, (n, rel) in enumerate(CASES)]  # fmt: skip
    cal = calibration(args.pairs, args.seed)
    env = environment()
    out = Path(args.out) if args.out else REPORTS / machine_tag(env["gpus"])
    write_json(out / "bench_verdict.json", {"benchmark": "bench_verdict", "coverage": cov, "calibration": cal,
                                            "configs": args.configs, "seed": args.seed})  # fmt: skip
    md = "# ecometer bench: do the verdict's intervals and probabilities hold?\n\n"
    md += markdown_table(["runs", "sensor bound", "95 % intervals holding the true value"],
                         [[str(c["runs"]), f"±{100 * c['sensor_rel']:g} %", f"{100 * c['held']:.1f} %"] for c in cov])
    md += f"\n\n{args.configs} simulated configurations per row (run-to-run noise 5 %).\n\n"
    md += markdown_table(["P(A uses less) predicted", "pairs", "mean predicted", "observed"],
                         [[f"{b['bin'][0]:g}–{b['bin'][1]:g}", str(b["pairs"]), f"{b['predicted']:.3f}",
                           f"{b['observed']:.3f}"] for b in cal["bins"]])  # fmt: skip
    md += (f"\n\nBrier score {cal['brier']:.3f} over {cal['pairs']} pairs (a coin toss: 0.25). Command: "
           f"`python -m benchmarks.bench_verdict --configs {args.configs} --pairs {args.pairs} --seed {args.seed}`.\n")
    (out / "bench_verdict.md").write_text(md, encoding="utf-8")
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
