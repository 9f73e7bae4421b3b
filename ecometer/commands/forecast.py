"""``ecometer forecast``: scale a short pilot run (or a checkpoint) to the full job."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ecometer.checks.numbers import Bounds
from ecometer.commands.options import COUNT, POSITIVE, number

EPILOG = """examples:
  ecometer forecast pilot.json --total-work 1200000
  ecometer forecast pilot.json --total-work 1200000 --site us-average --standard ecometer-training
  ecometer forecast run.json.partial --total-s 259200 --json     # a running job's checkpoint, 3 days
  ecometer forecast pilot.json --total-work 50000 --warmup 200     # the first 200 steps are warm-up
  ecometer forecast run.json --kept      # how the forecasts made while it ran compared with the outcome

The pilot's timeline (energy and work per bucket) gives the rate; warm-up and earlier phases
are left out (detected, or --warmup), a trend the pilot cannot rule out widens the range.
Ranges are 90 % intervals (--coverage). Exit codes: 0 forecast made, 1 the record is too
short to forecast from (the message says what it needs), 2 bad input.
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "forecast",
        help="forecast a full job's energy, water, carbon and grade from a pilot run",
        description="Project a record of a job's first part (a short pilot run, or a running job's checkpoint) to "
        "the end of the full job: energy per component, time, and with --site facility energy, water and carbon, "
        "with --standard the grade; each with an interval, what it rests on and what it assumes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("record", metavar="RECORD", help="a record file (or its .partial checkpoint)")
    parser.add_argument("--total-work", type=POSITIVE, metavar="N", help="units of work of the whole job")
    parser.add_argument("--total-s", type=POSITIVE, metavar="S", help="seconds of the whole job (jobs without work units)")
    parser.add_argument("--unit", metavar="UNIT", help="the work counter --total-work counts (default: the record's)")
    parser.add_argument("--warmup", type=COUNT, metavar="X", help="warm-up to leave out, in the unit of the total")
    parser.add_argument("--site", metavar="NAME", help="site preset for facility energy, water and carbon")
    parser.add_argument("--standard", metavar="NAME_OR_FILE", help="standard to grade the projected job against")
    parser.add_argument(
        "--coverage", type=number(Bounds(low=0.5, below=1)), default=0.9, help="coverage of the intervals (default 0.9)"
    )
    parser.add_argument("--json", action="store_true", help="print the forecast as JSON")
    parser.add_argument(
        "--kept",
        action="store_true",
        help="instead: how the forecasts the run made while it ran (record.forecasts) compared with its outcome",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError
    from ecometer.forecast import forecast_run
    from ecometer.record.model import load_record

    if args.kept:
        return _kept(args)
    if (args.total_work is None) == (args.total_s is None):
        raise UsageError(
            "give --total-work N (units of work of the whole job) or --total-s S (its seconds), one of them"
        )
    record = load_record(args.record)
    fc = forecast_run(
        record,
        total_work=args.total_work,
        total_s=args.total_s,
        unit=args.unit,
        warmup=args.warmup,
        site=args.site,
        standard=args.standard,
        coverage=args.coverage,
    )
    if args.json:
        sys.stdout.write(json.dumps(fc.to_dict(), indent=1, allow_nan=False) + "\n")
    elif fc.ready:
        sys.stdout.write(_text(fc) + "\n")
    if not fc.ready:
        sys.stderr.write(f"ecometer forecast: {args.record}: not enough to forecast from: {fc.reason}\n")
        return 1
    return 0


def _kept(args: argparse.Namespace) -> int:
    """``--kept``: each forecast kept in a finished record against the record's outcome."""
    from ecometer.errors import UsageError
    from ecometer.forecast.outcome import compare, lines
    from ecometer.record.model import load_record

    if args.total_work is not None or args.total_s is not None:
        raise UsageError("--kept compares the forecasts a record keeps: give no --total-work/--total-s with it")
    record = load_record(args.record)
    if args.json:
        sys.stdout.write(json.dumps(compare(record), indent=1, allow_nan=False) + "\n")
    else:
        sys.stdout.write("\n".join(lines(record)) + "\n")
    return 0


def _text(fc: Any) -> str:
    from ecometer.record import units as U

    def rng(kind: str, e: Any) -> str:
        return U.fmt_range(kind, e.central, e.low, e.high)

    b = fc.basis
    lines = [fc.line(), "", f"{fc.coverage:.0%} intervals:"]
    rows = [("IT energy", rng("energy", fc.energy_j))]
    rows += [(f"  {name}", rng("energy", e)) for name, e in fc.components.items()]
    if fc.energy_bounds_j is not None:
        eb = fc.energy_bounds_j
        rows.append(("  with measurement bounds", f"{rng('energy', eb)}, {U.relative_text(eb.central, eb.low, eb.high)}"))
    rows.append(("time", rng("time", fc.duration_s)))
    for label, kind, value in (
        ("facility energy", "energy", fc.facility_energy_j),
        ("water on-site", "water", fc.water_onsite_l),
        ("water off-site", "water", fc.water_offsite_l),
        ("carbon", "carbon", fc.carbon_g),
    ):
        if value is not None:
            rows.append((label, rng(kind, value)))
    if fc.standard is not None:
        rows.append((f"grade ({fc.standard})", fc.grade or "not rated: " + "; ".join(fc.not_rated)))
    width = max(len(r[0]) for r in rows)
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    w = b["window"]
    lines += [
        "",
        f"rests on: {b['observed_fraction']:.1%} of the job observed; rate from {w['from']:g}-{w['to']:g} "
        f"{b['progress_unit']} ({w['fraction_of_job']:.1%} of the job, {w['seconds']:.3g} s, {w['blocks']} blocks)",
        "assumptions:",
    ]
    lines += [f"  - {a}" for a in fc.assumptions]
    return "\n".join(lines)
