"""``ecometer footprint``: facility energy, water and carbon of a run or of a given energy."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

EPILOG = """examples:
  ecometer footprint --energy-kwh 1287000 --site us-average
  ecometer footprint --energy-kwh 1287000 --site us-average --json
  ecometer footprint run.json --site aws-2023 --country USA
  ecometer footprint run.json --pue 1.2 --wue 0.4 --country FRA
  ecometer footprint --energy-kwh 10 --pue 1.2 --wue 0.4 --country FRA --ewif-source derived
  ecometer footprint --energy-kwh 10 --site us-average --wue 0.9   # your measured WUE wins
  ecometer footprint --list-sites

Water is consumption unless stated: on-site = IT energy x WUE; off-site = IT energy x PUE x
EWIF (the water behind the electricity, location-based). Ranges are low .. high bounds.
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "footprint",
        help="facility energy, water and carbon of a run or an energy",
        description="Turn IT energy (from a record file or --energy-kwh) into facility energy, on-site and "
        "off-site water, and carbon at a data-centre site, with ranges and the assumptions used.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("record", nargs="?", metavar="RUN.json", help="a record file written by ecometer")
    parser.add_argument("--energy-kwh", type=float, metavar="KWH", help="IT energy in kWh instead of a record")
    parser.add_argument("--site", metavar="NAME", help="a site preset (see --list-sites)")
    parser.add_argument("--pue", type=float, help="power usage effectiveness (>= 1), replaces the preset's")
    parser.add_argument("--wue", type=float, metavar="L_PER_KWH", help="on-site water per kWh of IT energy")
    parser.add_argument("--ewif", type=float, metavar="L_PER_KWH", help="off-site water per kWh of electricity")
    parser.add_argument("--country", metavar="ISO3", help="grid country (ISO alpha-3 or name) for EWIF and carbon")
    parser.add_argument(
        "--ewif-source",
        choices=("auto", "published", "derived"),
        help="with --country: the published WRI-method factor, ecometer's derived fallback, or auto (published where present)",
    )
    parser.add_argument("--carbon-intensity", type=float, metavar="G_PER_KWH", help="grid carbon intensity, g CO2e/kWh")
    parser.add_argument("--json", action="store_true", help="print the footprint as JSON")
    parser.add_argument("--list-sites", action="store_true", help="list the site presets and exit")
    parser.set_defaults(func=run)


def _site(args: argparse.Namespace) -> Any:
    from ecometer.errors import UsageError
    from ecometer.footprint import Site

    overrides = {
        k: v
        for k, v in (
            ("pue", args.pue),
            ("wue", args.wue),
            ("ewif", args.ewif),
            ("country", args.country),
            ("carbon_intensity_g_per_kwh", args.carbon_intensity),
            ("ewif_source", args.ewif_source),
        )
        if v is not None
    }
    if args.site:
        return Site.preset(args.site, **overrides)
    if not overrides:
        names = ", ".join(p.name for p in Site.presets())
        raise UsageError(f"give --site NAME (one of: {names}) or --pue/--wue with --country or --ewif")
    return Site(**overrides)


def run(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError
    from ecometer.footprint import Site, footprint

    if args.list_sites:
        presets = Site.presets()
        width = max(len(p.name) for p in presets)
        for p in presets:
            sys.stdout.write(f"{p.name:<{width}}  {p.description}\n")
        return 0
    if (args.record is None) == (args.energy_kwh is None):
        raise UsageError("give either a record file RUN.json or --energy-kwh KWH (exactly one)")
    site = _site(args)
    if args.record is not None:
        from ecometer.record import load_record

        fp = footprint(load_record(args.record), site=site)
    else:
        fp = footprint(energy_kwh=args.energy_kwh, site=site)
    if args.json:
        sys.stdout.write(json.dumps(fp.to_dict(), indent=1) + "\n")
        return 0
    from ecometer.footprint.text import format_footprint

    sys.stdout.write(format_footprint(fp, warnings=False) + "\n")  # warnings were logged to stderr
    return 0
