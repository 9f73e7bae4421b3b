"""``ecometer report``: an HTML report and PNG charts from a record file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

EPILOG = """examples:
  ecometer report run.json                      # writes run-report/report.html and PNGs
  ecometer report run.json --out reports/train  # choose the folder
  ecometer report run.json --site us-average --standard ecometer-training
                                                # add a footprint and a grade first

The report is one self-contained HTML file (charts embedded, no script, nothing loaded
from the network) plus the same charts as PNG files: the power timeline with phases, the
energy / water / carbon breakdown, per-unit figures and the grade label.
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "report",
        help="write an HTML report and PNG charts for a run record",
        description="Write a self-contained HTML report and PNG charts for a run record.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("record", metavar="RUN.json", help="a record written by ecometer")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: RUN-report next to the record)")
    parser.add_argument("--site", metavar="SITE", help="compute the footprint for this site preset first")
    parser.add_argument("--standard", metavar="STD", help="score the run against this standard (name or file) first")
    parser.set_defaults(func=run)


def enrich(record: Any, site: str | None, standard: str | None) -> None:
    """Attach a footprint for ``site`` and an assessment against ``standard`` (either may be None)."""
    if site:
        from ecometer.impact import footprint
        from ecometer.impact.detect import named_site

        record.attach("footprint", footprint(record, site=named_site(site)))
    if standard:
        from ecometer.standards import load_standard, score

        record.attach("assessment", score(record, load_standard(standard)))


def run(args: argparse.Namespace) -> int:
    from ecometer.record.model import load_record
    from ecometer.report.html import write_report
    from ecometer.report.style import output_error

    source = Path(args.record)
    record = load_record(source)
    enrich(record, args.site, args.standard)
    out = Path(args.out) if args.out else source.with_name(source.name.removesuffix(".json") + "-report")
    try:
        files = write_report(record, out)
    except OSError as exc:  # a file where the folder should be, a full or read-only disk
        raise output_error(out, exc, "write the report to") from None
    sys.stdout.write(f"report: {files.html}\n")
    for name, path in files.pngs.items():
        sys.stdout.write(f"  {name}: {path}\n")
    return 0
