"""``ecometer footprint``: facility energy, water and carbon of a run or of a given energy."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ecometer.commands.options import FINITE, add_site_arguments, site_of

EPILOG = """examples:
  ecometer footprint --energy-kwh 1287000 --site us-average
  ecometer footprint --energy-kwh 1287000 --site us-average --json
  ecometer footprint run.json --site aws-2023 --country USA
  ecometer footprint run.json --pue 1.2 --wue 0.4 --country FRA
  ecometer footprint --energy-kwh 10 --pue 1.2 --wue 0.4 --country FRA --ewif-source derived
  ecometer footprint --energy-kwh 10 --site us-average --wue 0.9   # your measured WUE wins
  ecometer footprint run.json --site us-average --bounds envelope   # every low / high together
  ecometer footprint --list-sites

Water is consumption unless stated: on-site = IT energy x WUE; off-site = IT energy x PUE x
EWIF (the water behind the electricity, location-based). Ranges are 95 % intervals propagated
by Monte Carlo from each input's stated distribution (a figure resting on one uncertain input
keeps that input's interval); --bounds envelope gives the conservative all-lows / all-highs range.
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "footprint",
        help="facility energy, water and carbon of a run record or of an IT energy in kWh",
        description="Turn IT energy (from a record file or --energy-kwh) into facility energy, on-site and "
        "off-site water, and carbon at a data-centre site, with ranges and the assumptions used.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("record", nargs="?", metavar="RUN.json", help="a record file written by ecometer")
    parser.add_argument("--energy-kwh", type=FINITE, metavar="KWH", help="IT energy in kWh instead of a record")
    add_site_arguments(parser, site_help="a site preset (see --list-sites)")
    parser.add_argument(
        "--bounds",
        choices=("interval", "envelope"),
        default="interval",
        help="interval: Monte Carlo 95 %% intervals (default); envelope: every input at its low / high together",
    )
    parser.add_argument("--json", action="store_true", help="print the footprint as JSON")
    parser.add_argument("--list-sites", action="store_true", help="list the site presets and exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError
    from ecometer.impact import Site, footprint

    if args.list_sites:
        presets = Site.presets()
        width = max(len(p.name) for p in presets)
        for p in presets:
            sys.stdout.write(f"{p.name:<{width}}  {p.description}\n")
        return 0
    if (args.record is None) == (args.energy_kwh is None):
        raise UsageError("give either a record file RUN.json or --energy-kwh KWH (exactly one)")
    site = site_of(args)
    if args.record is not None:
        from ecometer.record.model import load_record

        fp = footprint(load_record(args.record), site=site, bounds=args.bounds)
    else:
        fp = footprint(energy_kwh=args.energy_kwh, site=site, bounds=args.bounds)
    if args.json:
        sys.stdout.write(json.dumps(fp.to_dict(), indent=1) + "\n")
        return 0
    from ecometer.impact.text import format_footprint

    sys.stdout.write(format_footprint(fp, warnings=False) + "\n")  # warnings were logged to stderr
    return 0
