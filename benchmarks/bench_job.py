"""A workload of ``benchmarks/workloads.py`` as a command for ``ecometer bench``: a fixed number of
steps, its work written to ``$ECOMETER_WORK_FILE`` (``N UNIT``).

    python -m benchmarks.bench_job cpu_train --steps 300 --set batch_size=32

The example bench in ``reports/bench-example/`` (a real torch training loop on CPU, batch size
against energy per sample):

    python -m ecometer bench --param batch_size=8,32,128 --runs 5 --warmup 1 --work-unit sample \\
        --site us-average --out reports/bench-example \\
        -- python -m benchmarks.bench_job cpu_train --samples 8192 --set batch_size={batch_size}
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from benchmarks import workloads as W


def _value(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", choices=sorted(W.WORKLOADS))
    ap.add_argument("--steps", type=int, help="steps to run")
    ap.add_argument("--samples", type=int, help="instead of --steps: units of work to do (steps = samples / batch)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", metavar="K=V", action="append", default=[], help="a workload parameter")
    args = ap.parse_args(argv)
    params = dict(W.WORKLOADS[args.workload].smoke_params)
    params.update({k: _value(v) for k, _, v in (s.partition("=") for s in args.set)})
    steps = args.steps or max(1, (args.samples or 1) // int(params.get("batch_size", 1)))
    job = W.build(args.workload, args.device, **params)
    done = job.run(steps=steps)
    path = os.environ.get("ECOMETER_WORK_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{done.units:g} {done.unit}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
