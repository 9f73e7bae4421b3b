"""``ecometer bench``: run a command over a grid of parameters, repeatedly, and say which
configuration does the same work for less energy and water, and how sure that is."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from ecometer.checks.numbers import Bounds
from ecometer.commands.options import POSITIVE, command_of, number

_RUNS = number(Bounds(low=1, high=100_000, integer=True))  #: measured runs per configuration
_WARMUP = number(Bounds(low=0, high=100_000, integer=True))  #: warm-up runs per configuration
_TARGET = number(Bounds(above=0, below=1, unit="a relative half-width, e.g. 0.05"))
_SEED = number(Bounds(low=0, high=2**63 - 1, integer=True))
_INTERVAL = number(Bounds(low=0.001, high=60, unit="s"))

EPILOG = """examples:
  ecometer bench --param batch_size=8,32,128 --param precision=fp32,bf16 --runs 5 --warmup 1 \\
      --work-unit query --site us-average --out bench-infer \\
      -- python infer.py --bs {batch_size} --precision {precision}
  ecometer bench --param power_limit_w=300,250,200 --target 0.03 --max-runs 20 -- python train.py
  ecometer bench --param-scan threads 1 8 --param-step 1 -- ./infer --threads {threads}
  ecometer bench --param model=small,large --quality accuracy -- python eval.py --model {model}

{NAME} in the command is replaced by each value of --param NAME (a parameter no argument uses
is a warning). power_limit_w is the GPU power limit in watts, set through NVML by the bench
itself (root needed; every GPU, or those of --power-gpus), checked against the driver's range
before anything runs and restored at the end, on an error or a signal.

Each run is an ordinary run record, like 'ecometer run' writes, with its parameters in meta;
the command appends "N" or "N UNIT" lines to $ECOMETER_WORK_FILE to count its work (or give
--work N), and a quality figure as a line "0.91 accuracy" with --quality accuracy. The output
folder holds runs/ (a corpus 'ecometer calibrate' and 'ecometer score' take as it is),
failed/, logs/, results.json/.csv/.md (hyperfine's export layout, with energy columns),
verdict.txt, bars.png and pareto.png. Running the same bench on the same folder continues it.

The verdict: per configuration the mean per-unit energy (water and carbon with --site) with a
95 % interval from the repetitions and the sensors' own uncertainty; for the most efficient
configuration the probability that it uses less energy than each other; the Pareto front of
energy against time (and quality); runs far from their siblings and runs on a machine busy
with other work are flagged with the figure that shows it. A configuration whose runs all
fail is reported with its exit status and stderr tail, and the bench goes on.
Exit status: 0 done, 1 some configuration never ran successfully, 2 bad input, 128+N stopped by signal N.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        usage="ecometer bench [options] --param NAME=V1,V2 ... -- CMD [ARGS with {NAME}...]",
        help="run a command over a grid of parameters and compare energy, water and carbon per unit",
        description="Benchmark a command's configurations for energy: parameter grid, warm-ups, repetitions, "
        "randomised order, GPU power limits; a verdict with intervals and probabilities.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--param", "-P", metavar="NAME=V1,V2", action="append", default=[], help="a parameter and its values")
    p.add_argument("--param-scan", nargs=3, metavar=("NAME", "MIN", "MAX"), action="append", default=[],
                   help="a parameter from MIN to MAX by --param-step (as hyperfine's --parameter-scan)")  # fmt: skip
    p.add_argument("--param-step", metavar="D", default="1", help="step of --param-scan (default 1)")
    p.add_argument("--runs", "-r", type=_RUNS, default=5, help="measured runs per configuration (default 5)")
    p.add_argument("--warmup", "-w", type=_WARMUP, default=0, help="unmeasured runs per configuration first (default 0)")
    p.add_argument("--target", type=_TARGET, metavar="REL",
                   help="instead of --runs: run until the 95 %% interval of the mean energy per unit from the "
                   "repetitions is within +/-REL of it (0.05 for 5 %%)")  # fmt: skip
    p.add_argument("--min-runs", type=_RUNS, default=3, help="with --target: fewest runs (default 3)")
    p.add_argument("--max-runs", type=_RUNS, default=30, help="with --target: most runs (default 30)")
    p.add_argument("--order", choices=("fixed", "interleaved", "random"), default="random",
                   help="fixed: each configuration's runs together; interleaved: one of each in turn; random "
                   "(default): a new permutation each round, from --seed")  # fmt: skip
    p.add_argument("--seed", type=_SEED, default=0, help="seed of the random order (default 0)")
    p.add_argument("--out", "-o", metavar="DIR", help="the bench's folder (default $ECOMETER_DIR/bench-NAME-TIME)")
    p.add_argument("--name", help="run name in the records (default: the command's name)")
    p.add_argument("--site", metavar="S", help="site preset: water and carbon per unit too")
    p.add_argument("--standard", metavar="STD", help="grade each run against this standard")
    p.add_argument("--scope", choices=("machine", "process"), default="machine", help="what to attribute")
    p.add_argument("--work", metavar="N", type=POSITIVE, help="units of work each run does")
    p.add_argument("--work-unit", metavar="U", help="functional unit of the work counted")
    p.add_argument("--quality", metavar="UNIT[:lower]",
                   help="a work-file unit that is a quality figure (higher is better; ':lower' if lower is)")  # fmt: skip
    p.add_argument("--interval", metavar="S", type=_INTERVAL, default=0.1, help="sampling interval in seconds")
    p.add_argument("--power-gpus", metavar="I,J", help="NVML indices of the GPUs whose power limit is set (default all)")
    p.add_argument("--show-output", action="store_true", help="let the command write to the terminal (no logs)")
    p.add_argument("--no-charts", action="store_true", help="write no charts")
    for kind in ("json", "csv", "markdown"):
        p.add_argument(f"--export-{kind}", metavar="FILE", help=f"also write the {kind} results here (as hyperfine)")
    p.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    p.set_defaults(func=run)


def _quality(text: str | None) -> tuple[str | None, bool]:
    from ecometer.errors import UsageError

    if text is None:
        return None, True
    unit, _, way = text.partition(":")
    if not unit.strip() or way not in ("", "higher", "lower"):
        raise UsageError(f"--quality {text!r}: expected UNIT, UNIT:higher or UNIT:lower")
    return unit.strip(), way != "lower"


def _gpus(text: str | None) -> list[int] | None:
    from ecometer.errors import UsageError

    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"--power-gpus {text!r}: expected NVML indices such as 0,1") from None


def _export(args: argparse.Namespace, result: Any) -> None:
    """Copies of the results where ``--export-json/-csv/-markdown`` ask (hyperfine's flags)."""
    from pathlib import Path

    from ecometer.files.atomic import write_atomic
    from ecometer.report.style import output_error

    for kind in ("json", "csv", "markdown"):
        target = getattr(args, f"export_{kind}")
        if target:
            try:
                write_atomic(Path(target), result.files[kind].read_bytes())
            except OSError as exc:
                raise output_error(target, exc, f"write the {kind} results to") from None
            result.files[f"export-{kind}"] = Path(target)


def options_from(args: argparse.Namespace, command: list[str]) -> Any:
    """The :class:`~ecometer.bench.runner.BenchOptions` the arguments describe."""
    from pathlib import Path

    from ecometer.api import resolve_site, resolve_standard
    from ecometer.bench.runner import BenchOptions
    from ecometer.errors import UsageError

    quality, higher = _quality(args.quality)
    if quality is not None and args.work_unit is None:
        raise UsageError("--quality needs --work-unit: the work file then holds two units, the work and the quality")
    return BenchOptions(
        name=args.name or Path(command[0]).name, runs=args.runs, warmup=args.warmup, target=args.target,
        min_runs=args.min_runs, max_runs=args.max_runs, order=args.order, seed=args.seed,
        site=resolve_site(args.site), standard=resolve_standard(args.standard), scope=args.scope,
        work_unit=args.work_unit, quality=quality, quality_higher=higher, interval_s=args.interval,
        power_gpus=_gpus(args.power_gpus),
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import signal

    from ecometer.bench import Bench, run_bench
    from ecometer.bench.api import default_folder
    from ecometer.bench.grid import parse_params, unused_params
    from ecometer.bench.targets import BenchInterrupted, CommandTarget
    from ecometer.commands.child import signal_name

    command = command_of(args, "ecometer bench [options] --param NAME=V1,V2 -- CMD ARGS...")
    params = parse_params(args.param, [(*scan, args.param_step) for scan in args.param_scan])
    for name in unused_params(command, params):
        sys.stderr.write(f"ecometer bench: warning: parameter {name!r} is not used in the command "
                         f"(no {{{name}}} in it): its configurations run the same command\n")  # fmt: skip
    opts = options_from(args, command)
    logging.getLogger("ecometer.bench").setLevel(logging.INFO if not args.verbose else logging.DEBUG)
    b = Bench(CommandTarget(command, work=args.work, show_output=args.show_output), params, opts,
              args.out or default_folder(opts.name))  # fmt: skip
    sys.stderr.write(f"ecometer bench: {len(b.configs)} configuration(s), folder {b.folder}\n")
    try:
        result = run_bench(b, charts=not args.no_charts)
    except (BenchInterrupted, KeyboardInterrupt) as exc:
        signum = getattr(exc, "signum", signal.SIGINT)
        sys.stderr.write(f"ecometer bench: stopped by {signal_name(signum)}; run the same command again to "
                         f"continue the bench in {b.folder}\n")  # fmt: skip
        return 128 + signum
    _export(args, result)
    sys.stdout.write(result.table() + "\n" + str(result) + "\n")
    for kind, path in result.files.items():
        sys.stderr.write(f"{kind}: {path}\n")
    for problem in result.problems:
        sys.stderr.write(f"ecometer bench: error: {problem}\n")
    if result.problems:
        return 1
    return 1 if any(c.all_failed for c in result.verdict.configs) else 0
