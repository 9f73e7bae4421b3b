"""``ecometer compare``: runs side by side, as a chart and/or a markdown table."""

from __future__ import annotations

import argparse
import sys
from typing import Any

EPILOG = """examples:
  ecometer compare runs/a.json runs/b.json
  ecometer compare runs/*.json --out compare.png
  ecometer compare runs/*.json --by precision --metric it_energy_j_per_unit --out precision.png
  ecometer compare runs/*.json --by batch_size --metric water_total_l_per_unit --table
  ecometer compare runs/*.json --site us-average --standard ecometer-inference --out c.png

Without --out the comparison is printed as a markdown table. Without --by each run is a
row (bar) of its own, even when runs share a name. --by FIELD groups runs by a field of
their metadata (meta={"precision": "bf16"}); runs that differ in another metadata field
become separate bars; repeated runs of the same configuration are averaged (whiskers span
their uncertainty and spread). The chart has
grouped bars with uncertainty whiskers and grades, and a time-versus-metric trade-off.

metrics: {metrics}
(default: it_energy_j_per_unit when every run counted work, else it_energy_j)
"""


def register(sub: Any) -> None:
    from ecometer.report.figures import metric_names

    parser = sub.add_parser(
        "compare",
        help="compare runs in a chart (grouped bars, trade-off) or a markdown table",
        description="Compare run records: grouped bars with uncertainty whiskers and grades, "
        "an energy-versus-time (or per-unit) trade-off chart, and a markdown table.",
        epilog=EPILOG.replace("{metrics}", ", ".join(metric_names())),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("records", metavar="RUN.json", nargs="+", help="record files")
    parser.add_argument("--metric", metavar="M", help="metric to compare (see the list below)")
    parser.add_argument("--by", metavar="FIELD", help="group runs by this metadata field")
    parser.add_argument("--out", metavar="chart.png", help="write the comparison chart here")
    parser.add_argument("--table", action="store_true", help="print the comparison as a markdown table (the default without --out)")
    parser.add_argument("--site", metavar="S", help="compute each run's footprint for this site preset first")
    parser.add_argument("--standard", metavar="STD", help="grade each run against this standard first")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError

    if not args.out:  # nothing else asked for: the table
        args.table = True
    if args.out and not args.out.lower().endswith(".png"):
        raise UsageError(f"--out {args.out!r}: expected a .png file name")
    from ecometer.commands.report import enrich
    from ecometer.record.model import load_record
    from ecometer.report import run_comparison as compare
    from ecometer.report.style import output_error

    records = [load_record(path) for path in args.records]
    for record in records:
        enrich(record, args.site, args.standard)
    cmp = compare.build(records, args.metric, args.by)
    if args.out:
        try:
            compare.chart(cmp, args.out)
        except OSError as exc:  # a full or read-only disk, a missing permission
            raise output_error(args.out, exc, "write the chart to") from None
        if not args.table:
            sys.stdout.write(f"chart: {args.out}\n")
    if args.table:
        sys.stdout.write(compare.table(cmp) + "\n")
    return 0
