"""``ecometer info``: what this machine offers to measure, and why better sources are missing."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ecometer.record.units import relative_text

EPILOG = """examples:
  ecometer info            # sensors, their method, and what is missing
  ecometer info --json     # the same as JSON
"""


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "info",
        help="show the sensors available here, and why better ones are not available",
        description="Show each sensor ecometer would use on this machine, how it measures "
        "(counter, integrated, modelled), and why a better source is unavailable.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--scope", choices=("machine", "process"), default="machine", help="what a run would attribute (default machine)"
    )
    parser.set_defaults(func=run)


def gather(scope: str = "machine") -> dict[str, Any]:
    from ecometer._version import __version__
    from ecometer.measuring.hostinfo import describe_host
    from ecometer.sensors.discover import discover

    sensors, explanations = discover(gpus="auto", scope=scope)
    try:
        infos = []
        for sensor in sensors:
            info = sensor.info()
            unc = sensor.uncertainty()  # the sensor's relative factor (central 1.0)
            info["uncertainty"] = {"rel_low": 1.0 - unc.low, "rel_high": unc.high - 1.0, **unc.to_dict()}
            infos.append(info)
    finally:
        for sensor in sensors:
            sensor.close()
    return {
        "ecometer": __version__,
        "host": describe_host(),
        "sensors": infos,
        "unavailable": explanations,
        "site": site_detection(),
    }


def site_detection() -> dict[str, Any]:
    """Where the environment says this job runs (no network), and the grid zone that implies."""
    from ecometer.errors import SiteError
    from ecometer.impact.detect import detect
    from ecometer.impact.regions import is_region, resolve

    found = detect()
    if found is None:
        return {"detected": None, "note": "nothing detected: set ECOMETER_SITE or pass --site / site="}
    out: dict[str, Any] = {"detected": found.to_dict()}
    if found.site and is_region(found.site):
        try:
            place = resolve(found.site)
            out.update(level=place.level, zone=place.zone, country=place.country, why=place.why)
        except SiteError as exc:
            out["error"] = str(exc)
    return out


def run(args: argparse.Namespace) -> int:
    import logging

    if not args.verbose:  # the explanations are printed below; don't log them twice
        logging.getLogger("ecometer").setLevel(logging.ERROR)
    data = gather(args.scope)
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return 0
    host = data["host"]
    out = [
        f"ecometer {data['ecometer']} on {host['hostname']} ({host['os']}, {host['machine']})",
        f"CPU: {host['cpu_model']}, {host['logical_cpus']} logical CPUs; memory {host['memory_bytes'] / 2**30:.1f} GiB",
        "",
        "sensors:",
    ]
    for s in data["sensors"]:
        devices = ", ".join(d.get("id", "?") + (f" ({d['model']})" if d.get("model") else "") for d in s["devices"])
        u = s["uncertainty"]
        out.append(f"  {s['component']:<5} {s['method']:<11} {s['name']:<14} {devices}")
        out.append(f"        uncertainty {relative_text(1.0, 1.0 - u['rel_low'], 1.0 + u['rel_high'])}: {u['basis']}")
        for note in s["notes"]:
            out.append(f"        note: {note}")
    out += ["", "site: " + _site_line(data["site"])]
    if data["unavailable"]:
        out += ["", "not available (and how to get a better source):"]
        out += [f"  - {line}" for line in data["unavailable"]]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def _site_line(site: dict[str, Any]) -> str:
    found = site.get("detected")
    if found is None:
        return site["note"]
    text = f"{found['site'] or found['provider'] + ' (no region)'} from {found['source']}"
    if found.get("note"):
        text += f" ({found['note']})"
    if site.get("why"):
        text += f"; {site['why']}"
    if site.get("error"):
        text += f"; not usable: {site['error']}"
    return text
