"""``ecometer calibrate``: derive a standard's thresholds from a corpus of run records."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ecometer.checks.numbers import Bounds
from ecometer.commands.options import (
    POSITIVE,
    add_corpus_arguments,
    add_site_arguments,
    attach_site,
    load_corpus,
    number,
    plain_preset,
    site_from_args,
)

_BANDS = number(Bounds(low=2, high=100, integer=True))
_MIN_PER_CLASS = number(Bounds(low=2, high=1e9, integer=True))

EPILOG = """\
examples:
  # a new standard: GPU Wh per 1,000 queries, 5 quantile bands, one class per meta 'task'
  ecometer calibrate runs/ --metric gpu_energy_j --per query --scale 1000 --unit Wh \\
      --bands 5 --method quantile --out std.toml

  # recalibrate one metric of an existing standard (its classes, grades, quality kept): the
  # result is its next version (or --version), with a changelog entry; review the regrading
  ecometer calibrate runs/ --standard ecometer-inference --metric energy_per_token \\
      --bands 7 --method geometric --out inference-next.toml
  ecometer standard diff ecometer-inference inference-next.toml runs/

  # the AI Energy Score's February 2025 stars, from its published tables
  ecometer corpus import ai-energy-score-2025-02 --out aes/
  ecometer calibrate aes/ --metric gpu_energy_j --per query --scale 1000 --unit Wh \\
      --method equal-width --class-by task,size_class --min-per-class 3 \\
      --grades "5 stars,4 stars,3 stars,2 stars,1 star" --out aes.toml

  # straight from a published table, with an import spec
  ecometer calibrate leaderboard.csv --spec my-spec.toml --metric gpu_energy_j --per query ...

Edges are exact unless rounding them changes no corpus grade (then the fewest digits, 3 or
more, that keep every grade; --exact keeps them unrounded). Each class needs at least
--min-per-class records (default: one per band): a smaller class is refused, left unrated
(--small-classes unrated) or pooled with the other small ones (--small-classes merge).
Records skipped (quality, no work counter...) are counted on stderr and in [calibration].
A corpus of reported figures gives a standard that accepts them (quality.accept_reported, said
on stderr); one whose records all name a task applies to those tasks (standard.applies_to).
With --standard the result is its next version with a [[changelog]] entry; --site names the
site a water metric was calibrated at (standard.reference_site, for score --reference-site).

Quantities: it_energy_j, gpu_energy_j, facility_energy_j, water_onsite_l, water_total_l,
carbon_g, average_power_w, site_pue, site_wue, work_per_joule. Review the result with
'ecometer standard diff' and 'ecometer standard sensitivity' before adopting it.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="derive a standard's thresholds from a corpus of records",
        description="Cut a metric's range over a corpus of run records into grade bands (quantiles or "
        "equal-width sections), per class, and write a standard file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="record files or folders of them")
    p.add_argument("--metric", "-m", required=True, help="a quantity, or with --standard one of its metrics")
    p.add_argument("--bands", type=_BANDS, default=5, help="number of grades (default 5)")
    p.add_argument(
        "--method", choices=("quantile", "equal-width", "geometric"), default="quantile", help="how to cut bands"
    )
    p.add_argument("--standard", metavar="NAME_OR_FILE", help="recalibrate this standard's metric")
    p.add_argument("--per", help="functional unit: a work counter (token, query, sample...), gpu_hour or run")
    p.add_argument("--scale", type=POSITIVE, help="number of functional units (1000 for per 1,000 queries)")
    p.add_argument("--unit", help="display unit (J, Wh, kWh, mL, L, g, kg, ...)")
    p.add_argument("--work", help="work counter for work_per_joule")
    p.add_argument("--grades", help="comma-separated grade labels, best first (default A, B, C...)")
    p.add_argument(
        "--class-by",
        default="task",
        metavar="FIELDS",
        help="record.meta field(s) to class by, comma-separated (default task; e.g. task,size_class)",
    )
    p.add_argument("--no-classes", action="store_true", help="one set of thresholds for all records")
    p.add_argument(
        "--min-per-class", type=_MIN_PER_CLASS, metavar="N", help="fewest records a class is calibrated from"
    )
    p.add_argument(
        "--small-classes",
        choices=("refuse", "unrated", "merge"),
        default="refuse",
        help="what to do with a smaller class: refuse (default), leave it unrated, or merge the small ones",
    )
    p.add_argument(
        "--empty-classes",
        choices=("keep", "drop"),
        default="keep",
        help="with --standard: a class no record falls in keeps its thresholds (default) or is dropped (not rated)",
    )
    p.add_argument("--exact", action="store_true", help="keep band edges unrounded")
    add_corpus_arguments(p)
    add_site_arguments(p)
    p.add_argument("--name", help="name of the new standard")
    p.add_argument("--title", help="title of the new standard")
    p.add_argument("--version", dest="std_version", metavar="VERSION", help="version of the new standard")
    p.add_argument("--out", "-o", metavar="FILE", help="write the standard here (default: print it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ecometer.files.atomic import write_atomic
    from ecometer.report.style import output_error
    from ecometer.standards import CalibrationOptions, calibrate

    records: Any = None
    if site_from_args(args) is None:  # published entries and tables by column (a footprint needs records)
        from ecometer.standards.corpus import load_columns
        from ecometer.standards.tables import load_spec

        records = load_columns(args.runs, load_spec(args.spec) if getattr(args, "spec", None) else None)
    if records is None:
        records = load_corpus(args)
        attach_site(records, args)
    grades = [g.strip() for g in args.grades.split(",")] if args.grades else None
    options = CalibrationOptions(
        args.metric,
        bands=args.bands,
        method=args.method,
        by_class=not args.no_classes,
        base=args.standard,
        per=args.per,
        scale=args.scale,
        unit=args.unit,
        work=args.work,
        grades=grades,
        class_by=args.class_by,
        name=args.name,
        title=args.title,
        version=args.std_version,
        min_per_class=args.min_per_class,
        small_classes=args.small_classes,
        exact=args.exact,
        empty_classes=args.empty_classes,
        reference_site=plain_preset(args),
    )
    std = calibrate(records, options)
    cal = std.calibration or {}
    note = (
        f"calibrated by ecometer from {cal.get('records')} of {cal.get('records_given')} records "
        f"({cal.get('method')}, {cal.get('date')}); review with 'ecometer standard sensitivity' before adopting"
    )
    kept = "\n".join(line for line in std.comments.splitlines() if not line.startswith("calibrated by ecometer from"))
    header = f"{kept.rstrip()}\n\n{note}" if kept.strip() else f"{std.title}\n{note}"
    from ecometer.standards.writer import to_toml

    text = to_toml(std.to_dict(), header=header)
    if args.out:
        try:
            write_atomic(Path(args.out), text)
        except OSError as exc:  # a full or read-only disk, a folder in the way: the old file is kept
            raise output_error(args.out, exc, "write the standard to") from None
        classes = f", {len(std.classes)} classes" if std.classes else ""
        sys.stdout.write(
            f"wrote {args.out}: {std.name} {std.version}, {cal.get('metric')} in {len(std.grades)} "
            f"{cal.get('method')} bands from {cal.get('records')} of {cal.get('records_given')} records{classes}\n"
        )
    else:
        sys.stdout.write(text)
    for line in cal.get("skipped", []):
        sys.stderr.write(f"skipped: {line}\n")
    return 0
