"""``ecometer demo``: three users' stories measured on this machine, in under a minute.

1. An ML engineer meters a training loop: phases (data, forward, backward, optimizer,
   evaluation), samples counted by the loop, FLOPs counted for them (one step measured with
   torch's FLOP counter, then scaled); the record gets a footprint at the site and is scored
   against the training standard (a short run is not rated: the score says what would rate it).
2. A benchmark runner sweeps a few configurations (batch sizes), each measured here on the same
   fixed work, and compares them in a chart and a table (``ecometer compare``'s pieces).
3. A standards body calibrates a LOCAL DEMONSTRATION standard from that sweep (FLOP per joule,
   geometric bands), scores every run with grade probabilities and shows what a change of
   thresholds would do (``ecometer standard sensitivity``'s pieces).

Work is fixed (steps, samples), not time: per-unit figures are reproducible run to run up to
the measurement's own noise. Without torch, only the numpy story of earlier versions runs.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecometer.checks.numbers import Bounds
from ecometer.commands.options import number

log = logging.getLogger("ecometer.demo")

DEFAULT_SITE = "us-average"
DEFAULT_STANDARD = "ecometer-training"
#: per device: the MLP's width and input size, the engineer's steps and batch, the sweep's samples and batch sizes
CONFIG = {
    "cpu": {"width": 512, "inputs": 256, "steps": 600, "batch": 64, "samples": 24_576, "sweep": (16, 64, 256)},
    "cuda": {
        "width": 4096,
        "inputs": 1024,
        "steps": 600,
        "batch": 1024,
        "samples": 786_432,
        "sweep": (256, 1024, 4096),
    },
}
LOCAL_NOTE = "LOCAL DEMONSTRATION: calibrated on this machine's own sweep; not a standard to grade anything else by"

EPILOG = f"""examples:
  ecometer demo                          # three stories, report under reports/demo/
  ecometer demo --scale 0.2 --out /tmp/demo
  ecometer demo --site aws-2023 --standard ecometer-training

What it does: (1) an ML engineer's training loop (a small MLP, synthetic data, torch) metered
with phases, samples and FLOPs, with a footprint at the site (default {DEFAULT_SITE}) and a
score against the standard (default {DEFAULT_STANDARD}); (2) a sweep of three batch sizes on
the same work, compared in sweep.png; (3) a local demonstration standard calibrated on the
sweep, every run graded with probabilities, and the effect of tighter thresholds. Work is
fixed (--scale multiplies it), so per-unit figures repeat run to run.
Writes engineer/ (record.json, report.html, charts), sweep/*.json, sweep.png, local-standard.toml.
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="three stories on this machine: a metered training loop, a sweep, a standard calibrated on it",
        description="Measure a training loop, a small sweep and a locally calibrated standard on this machine; "
        "write records, an HTML report and charts.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", metavar="DIR", default="reports/demo", help="output folder (default: reports/demo)")
    parser.add_argument(
        "--scale", metavar="F", type=number(Bounds(low=0.05, high=20)), default=1.0, help="work relative to the default (0.05-20; default 1)"
    )
    parser.add_argument("--site", metavar="S", default=DEFAULT_SITE, help=f"site preset (default: {DEFAULT_SITE})")
    parser.add_argument(
        "--standard", metavar="STD", default=DEFAULT_STANDARD, help=f"standard (default: {DEFAULT_STANDARD})"
    )
    parser.add_argument("--no-gpu", action="store_true", help="do not use a GPU even if one is present")
    parser.add_argument(
        "--scope",
        choices=("auto", "machine", "process"),
        default="auto",
        help="auto (default): this process's share of the CPU on a CPU-only run (steady on a shared machine), "
        "the whole machine with a GPU",
    )
    parser.set_defaults(func=run)


@dataclass
class Story:
    """What the demo writes to the terminal, story by story."""

    lines: list[str] = field(default_factory=list)

    def head(self, text: str) -> None:
        self.lines += ["", text, "-" * len(text)]

    def add(self, *text: str) -> None:
        self.lines += list(text)


def scaled(n: int, scale: float, multiple: int = 1) -> int:
    """``n x scale`` rounded to a multiple of ``multiple`` (at least one multiple)."""
    return max(multiple, int(round(n * scale / multiple)) * multiple)


def run(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError

    if not math.isfinite(args.scale) or not 0.05 <= args.scale <= 20:
        raise UsageError(f"--scale {args.scale!r}: expected between 0.05 and 20")
    from ecometer.commands import workloads

    logging.getLogger("ecometer.notice").setLevel(logging.WARNING)  # the demo says where its files went

    out = Path(args.out)
    story = Story()
    if not workloads.torch_available():
        log.warning("torch is not importable: the demo measures a numpy workload only (pip install torch)")
        return numpy_only(args, out, story)
    import torch  # imported before any meter starts, so the import is not measured

    device = "cuda" if torch.cuda.is_available() and not args.no_gpu else "cpu"
    cfg = CONFIG[device]
    if args.scope == "auto":
        args.scope = "machine" if device == "cuda" else "process"
    threads = torch.get_num_threads()
    if device == "cpu":  # a small model: one thread keeps its timings steady on a shared, busy machine
        torch.set_num_threads(1)
    try:
        engineer = engineer_story(args, out, story, device, cfg)
        records = sweep_story(args, out, story, device, cfg)
    finally:
        torch.set_num_threads(threads)
    standards_story(out, story, records + [engineer])
    sys.stdout.write("\n".join(story.lines).lstrip("\n") + "\n")
    return 0


# ---- 1. the ML engineer -------------------------------------------------------------------------
def make_model(torch: Any, cfg: dict[str, Any], device: str, seed: int = 0) -> tuple[Any, Any, Any, Any]:
    """The MLP, its optimiser and a synthetic dataset (inputs, labels) on ``device``."""
    torch.manual_seed(seed)
    w, n_in = cfg["width"], cfg["inputs"]
    model = torch.nn.Sequential(
        torch.nn.Linear(n_in, w), torch.nn.ReLU(), torch.nn.Linear(w, w), torch.nn.ReLU(), torch.nn.Linear(w, 10)
    ).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(4096, n_in, device=device)
    y = torch.randint(0, 10, (4096,), device=device)
    return model, opt, x, y


def train_loop(meter: Any, model: Any, opt: Any, data: tuple[Any, Any], steps: int, batch: int) -> None:
    """The engineer's own loop: phases around each part of a step; work counted by the hooks."""
    import torch

    from ecometer.commands.workloads import train_step
    from ecometer.integrations.torchloop import count_flops

    x, y = data
    loss_fn = torch.nn.CrossEntropyLoss()
    with count_flops(meter, model):  # samples and FLOPs of every forward, training and evaluation
        for step in range(steps):
            with meter.phase("data"):
                i = (step * batch) % (x.shape[0] - batch + 1)
                xb, yb = x[i : i + batch], y[i : i + batch]
            train_step(meter, model, opt, loss_fn, (xb, yb))
        with meter.phase("evaluation"), torch.no_grad():
            model.eval()
            model(x[:1024])
            model.train()
        if x.is_cuda:
            torch.cuda.synchronize(x.device)


def engineer_story(args: argparse.Namespace, out: Path, story: Story, device: str, cfg: dict[str, Any]) -> Any:
    import torch

    from ecometer.api import measure
    from ecometer.report.html import write_report
    from ecometer.report.text import summary
    from ecometer.work.estimates import describe

    steps, batch = scaled(cfg["steps"], args.scale, 10), cfg["batch"]
    model, opt, x, y = make_model(torch, cfg, device)
    meta = {"task": "training", "hardware": device, "story": "engineer", "steps": steps, "batch_size": batch}
    meta["torch_threads"] = torch.get_num_threads()
    meta["model_params"] = sum(p.numel() for p in model.parameters())
    target = out / "engineer"
    meter = measure(
        "engineer-training",
        work_unit="sample",
        scope=args.scope,
        out=target / "record.json",
        site=args.site,
        standard=args.standard,
        meta=meta,
    )
    with meter:
        train_loop(meter, model, opt, (x, y), steps, batch)
    record = meter.record
    files = save(record, target, out, write_report)
    how = "this process's share of the machine (an attribution)" if args.scope == "process" else "the whole machine"
    story.head(f"1. An ML engineer meters a training loop ({steps} steps of {batch} on {device}; {how})")
    story.add(
        "   with ecometer.measure(name, site=, standard=) as meter: count_flops(meter, model); phases in the loop",
        summary(record),
        f"  FLOPs: {record.work.get('flop', 0):.4g}, {describe(record, 'flop')} (a FLOP estimate, never a reading)",
        "  phases: " + phase_shares(record),
        f"  report: {files.html}",
    )
    return record


def phase_shares(record: Any) -> str:
    """``forward 31 %, backward 45 %, ...``: each phase's share of the run's IT energy."""
    total = record.energy_j
    if not total > 0:
        return "no energy measured"
    parts = [(name, p.energy_j / total) for name, p in record.phases.items()]
    return ", ".join(f"{name} {share:.0%}" for name, share in sorted(parts, key=lambda x: -x[1]))


# ---- 2. the benchmark runner --------------------------------------------------------------------
def sweep_story(args: argparse.Namespace, out: Path, story: Story, device: str, cfg: dict[str, Any]) -> list[Any]:
    import torch

    from ecometer.api import measure
    from ecometer.report import run_comparison as compare

    samples = scaled(cfg["samples"], args.scale, max(cfg["sweep"]))
    records = []
    for batch in cfg["sweep"]:
        model, opt, x, y = make_model(torch, cfg, device)
        meta = {"task": "training", "hardware": device, "story": "sweep", "batch_size": batch}
        meta["torch_threads"] = torch.get_num_threads()
        path = out / "sweep" / f"batch-{batch}.json"
        meter = measure(
            f"sweep-batch-{batch}", work_unit="sample", out=path, scope=args.scope, site=args.site, meta=meta
        )
        with meter:
            train_loop(meter, model, opt, (x, y), samples // batch, batch)
        records.append(meter.record)
        save(meter.record, path, out)
    cmp = compare.build(records, "it_energy_j_per_unit", by="batch_size")
    chart = out / "sweep.png"
    save(None, chart, out, lambda _, p: compare.chart(cmp, p))
    story.head(
        f"2. A benchmark runner sweeps batch sizes {', '.join(map(str, cfg['sweep']))} ({samples:,} samples each)"
    )
    story.add(compare.table(cmp), f"  chart: {chart}  (ecometer compare {out / 'sweep'}/*.json --by batch_size)")
    return records


# ---- 3. the standards body ----------------------------------------------------------------------
def standards_story(out: Path, story: Story, records: list[Any]) -> None:
    from ecometer.standards import score
    from ecometer.standards.calibration import calibrate
    from ecometer.standards.revision import sensitivity
    from ecometer.standards.writer import to_toml

    std = calibrate(
        records,
        "work_per_joule",
        bands=3,
        method="geometric",
        by_class=False,
        work="flop",
        scale=1e9,
        name="demo-local",
        title=LOCAL_NOTE,
        version="0.0.1-local",
    )
    path = out / "local-standard.toml"
    save(None, path, out, lambda _, p: p.write_text(to_toml(std.to_dict(), header=LOCAL_NOTE), encoding="utf-8"))
    metric = next(iter(std.metrics))
    edges = std.metrics[metric].thresholds
    story.head("3. A standards body calibrates a standard on that sweep (a LOCAL DEMONSTRATION)")
    story.add(
        f"   {len(records)} runs here -> {metric} (GFLOP per joule of IT energy), 3 geometric bands: "
        + ", ".join(f"{g} >= {e:.3g}" for g, e in zip(std.grades, edges, strict=False))
        + f"  ({path})"
    )
    for rec in records:
        a = score(rec, std)
        m = a.metrics[metric]
        odds = ", ".join(f"{g} {p:.0%}" for g, p in a.probabilities.items()) if a.probabilities else ""
        story.add(f"   {rec.name:<22} {m.value:8.3g} GFLOP/J [{m.low:.3g}-{m.high:.3g}]  grade {a.grade}  ({odds})")
    story.add(
        "   how a grade is made: GFLOP/J = the counted FLOPs / the measured IT energy; 4,000 joint draws of both",
        "   (the energy from its sensors' stated uncertainty, the FLOPs from their method's bounds) give each",
        "   grade's probability; the grade is the band of the central value.",
    )
    tighter = [e * 1.25 for e in edges]
    change = sensitivity(records, std, tighter, metric=metric)
    story.add(
        f"   if every edge were 25 % higher ({', '.join(f'{e:.3g}' for e in tighter)}):",
        *("   " + line for line in str(change).splitlines()),
    )


# ---- shared -------------------------------------------------------------------------------------
def save(record: Any, path: Path, out: Path, write: Any = None) -> Any:
    """Save ``record`` at ``path``, or call ``write(record, path)``; a failure names the demo's folder."""
    from ecometer.report.style import output_error

    try:
        if write is None:
            return record.save(path)
        if record is not None:
            record.save(path / "record.json")
        return write(record, path)
    except OSError as exc:  # a full or read-only disk, a file where the folder should be
        raise output_error(out, exc, "write the demo to") from None


def numpy_only(args: argparse.Namespace, out: Path, story: Story) -> int:
    """Without torch: one metered numpy workload of fixed work (the engineer's story only)."""
    from ecometer.api import measure
    from ecometer.commands import workloads
    from ecometer.report.html import write_report
    from ecometer.report.text import summary

    meter = measure(
        "engineer-numpy",
        work_unit="matmul",
        out=out / "engineer" / "record.json",
        site=args.site,
        standard=args.standard,
    )
    with meter:
        workloads.numpy_matmul(meter, 1.5 * args.scale)
    files = save(meter.record, out / "engineer", out, write_report)
    story.head("1. A metered numpy workload (torch is not installed: no sweep, no local standard)")
    story.add(summary(meter.record), f"  report: {files.html}")
    sys.stdout.write("\n".join(story.lines).lstrip("\n") + "\n")
    return 0
