"""``ecometer demo``: measure a built-in workload here and write its record, report and charts."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from ecometer.commands._options import SECONDS

log = logging.getLogger("ecometer.demo")

#: the MLP trained per device: small enough for a 2-core CPU, large enough to load a GPU
MODEL_CONFIG = {"cpu": {"width": 512, "batch_size": 64}, "cuda": {"width": 4096, "batch_size": 2048}}

DEFAULT_SITE = "us-average"
DEFAULT_STANDARD = "ecometer-training"

EPILOG = f"""examples:
  ecometer demo                          # ~10 s of work, report under reports/demo/
  ecometer demo --seconds 30 --out /tmp/demo
  ecometer demo --site aws-2023 --standard ecometer-training

What it does: numpy matrix products, then a small MLP trained with torch on synthetic
data on the CPU (and on the GPU when CUDA is present; torch is optional), measured with
the sensors this machine offers (see 'ecometer info'). Phases are marked, samples are
counted, the footprint uses the site preset (default {DEFAULT_SITE}) and the grade the
standard (default {DEFAULT_STANDARD}). Writes record.json, report.html and PNG charts.
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="measure a built-in workload on this machine and write a report",
        description="Measure a built-in workload (numpy + a small torch training loop) on this machine, "
        "apply a default site and standard, and write the record, an HTML report and charts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", metavar="DIR", default="reports/demo", help="output folder (default: reports/demo)")
    parser.add_argument("--seconds", metavar="S", type=SECONDS, default=10.0, help="seconds of work (default: 10)")
    parser.add_argument("--site", metavar="S", default=DEFAULT_SITE, help=f"site preset (default: {DEFAULT_SITE})")
    parser.add_argument(
        "--standard", metavar="STD", default=DEFAULT_STANDARD, help=f"standard (default: {DEFAULT_STANDARD})"
    )
    parser.add_argument("--no-gpu", action="store_true", help="do not use a GPU even if one is present")
    parser.set_defaults(func=run)


def plan(seconds: float, has_torch: bool, has_cuda: bool) -> list[tuple[str, float]]:
    """Which workloads to run and for how many seconds each, summing to ``seconds``."""
    if not has_torch:
        return [("numpy", seconds)]
    if has_cuda:
        return [("numpy", 0.2 * seconds), ("torch-cpu", 0.3 * seconds), ("torch-cuda", 0.5 * seconds)]
    return [("numpy", 0.3 * seconds), ("torch-cpu", 0.7 * seconds)]


def run(args: argparse.Namespace) -> int:
    import math

    from ecometer.errors import UsageError

    if not math.isfinite(args.seconds) or not 0.5 <= args.seconds <= 3600:
        raise UsageError(f"--seconds {args.seconds!r}: expected between 0.5 and 3600")
    from ecometer import workloads
    from ecometer.api import measure
    from ecometer.report.html import write_report
    from ecometer.report.text import summary

    has_torch = workloads.torch_available()
    if has_torch:
        import torch  # imported before the meter starts, so the import is not measured

        has_cuda = bool(torch.cuda.is_available()) and not args.no_gpu
    else:
        has_cuda = False
        log.warning("torch is not importable: the demo measures the numpy workload only (pip install torch)")
    steps = plan(args.seconds, has_torch, has_cuda)
    out = Path(args.out)
    meta = {
        "task": "training",
        "workload": " + ".join(name for name, _ in steps),
        "hardware": "gpu" if has_cuda else "cpu",
        "demo_seconds": args.seconds,
    }
    if has_torch:
        models = {dev: workloads.mlp_param_count(width=cfg["width"]) for dev, cfg in MODEL_CONFIG.items()}
        used = [models["cpu"]] + ([models["cuda"]] if has_cuda else [])
        meta.update(model_params=max(used), models={k: v for k, v in models.items() if k == "cpu" or has_cuda})
    meta["flop_count"] = "estimated: 2 n^3 per numpy product, 6 x parameters per training sample"
    meter = measure(
        "ecometer-demo",
        work_unit="sample" if has_torch else "matmul",
        out=out / "record.json",
        site=args.site,
        standard=args.standard,
        meta=meta,
    )
    results = []
    with meter:
        for name, seconds in steps:
            if name == "numpy":
                results.append(workloads.numpy_matmul(meter, seconds))
            else:
                device = name.split("-")[1]
                results.append(workloads.torch_train(meter, seconds, device=device, **MODEL_CONFIG[device]))
    record = meter.record
    for result in results:
        record.meta[f"{result.name}_seconds"] = round(result.seconds, 3)
    from ecometer.report.style import output_error

    try:
        record.save(out / "record.json")
        files = write_report(record, out)
    except OSError as exc:  # a full or read-only disk, a file where the folder should be
        raise output_error(out, exc, "write the demo to") from None
    lines = [summary(record), "", f"record: {out / 'record.json'}", f"report: {files.html}"]
    lines += [f"  {name}: {path}" for name, path in files.pngs.items()]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
