"""Options shared by the commands that read a corpus or footprint records at a site."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ecometer.checks.numbers import ANY, Bounds, parse_number
from ecometer.errors import InputError


def number(bounds: Bounds = ANY) -> Callable[[str], float]:
    """An argparse ``type=`` for a numeric option: parsed and judged by the one number check
    (:func:`~ecometer.checks.numbers.check_number`): finite and within ``bounds``, else argparse's
    one-line error (``argument --count: 'nan': expected a finite number > 0``, exit 2). A whole
    number (``bounds.integer``) comes back as an ``int``."""

    def parse(text: str) -> Any:
        try:
            value = parse_number(text, "", bounds)
        except InputError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return int(value) if bounds.integer else value

    parse.__name__ = "number"
    return parse


FINITE = number()  #: any finite number (the library judges the range and names it)
POSITIVE = number(Bounds(above=0))
COUNT = number(Bounds(low=0))
SECONDS = number(Bounds(above=0, high=1e9, unit="s"))


def command_of(args: argparse.Namespace, usage: str) -> list[str]:
    """The command after ``--`` (``args.cmd``, a REMAINDER); a usage error naming ``usage`` when
    there is none (``ecometer run``, ``ecometer bench``)."""
    from ecometer.errors import UsageError

    command = list(args.cmd)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError(f"no command given; usage: {usage}")
    return command


def add_corpus_arguments(p: argparse.ArgumentParser) -> None:
    """``--spec``: read published tables (CSV/JSON) among the RUN arguments with an import spec."""
    p.add_argument(
        "--spec",
        metavar="SPEC",
        help="import spec for published tables among the inputs (a TOML file, or a shipped one: "
        "ai-energy-score-2025-02, ml-energy-lm-arena-chat); see 'ecometer corpus import'",
    )


def add_site_arguments(p: argparse.ArgumentParser, site_help: str | None = None) -> None:
    """The site options (``ecometer footprint`` and the commands that footprint records to grade them)."""
    p.add_argument(
        "--site",
        metavar="S",
        help=site_help
        or "site preset (e.g. aws-2023) or region (a cloud region such as aws:us-east-1, gcp:europe-west4, "
        "azure:westeurope, or a grid zone such as US-NW-BPAT) for the footprint metrics (water, facility energy, "
        "carbon); replaces a footprint the record already has (a water figure the corpus reports is kept)",
    )
    p.add_argument("--pue", type=FINITE, help="power usage effectiveness (>= 1), replaces the preset's")
    p.add_argument("--wue", type=FINITE, metavar="L_PER_KWH", help="on-site water per kWh of IT energy")
    p.add_argument("--ewif", type=FINITE, metavar="L_PER_KWH", help="off-site water per kWh of electricity")
    p.add_argument("--country", metavar="ISO3", help="grid country (ISO alpha-3 or name) for EWIF and carbon")
    p.add_argument(
        "--ewif-source",
        choices=("auto", "published", "derived"),
        help="with --country: the published WRI-method factor, ecometer's derived fallback, or auto (published where present)",
    )
    p.add_argument("--carbon-intensity", type=FINITE, metavar="G_PER_KWH", help="grid carbon intensity, g CO2e/kWh")
    p.add_argument(
        "--region",
        metavar="REGION",
        help="where the job ran below the country: a grid zone (US-NW-BPAT, CA-QC, DE) or a cloud region (aws:us-east-1)",
    )
    p.add_argument(
        "--carbon-basis",
        choices=("lifecycle", "direct"),
        help="carbon intensity including plant and fuel life cycle (default) or direct (operational) only",
    )


def load_corpus(args: argparse.Namespace, paths: list[str] | None = None) -> list[Any]:
    """Records and corpus entries named by ``paths`` (default ``args.runs``), with ``--spec``."""
    from ecometer.standards.corpus import load_records
    from ecometer.standards.tables import load_spec

    spec = load_spec(args.spec) if getattr(args, "spec", None) else None
    return load_records(args.runs if paths is None else paths, spec)


def site_from_args(args: argparse.Namespace) -> Any:
    """The site the options describe, or None when none is given."""
    if not any(getattr(args, k, None) is not None for k in ("site", *_OVERRIDES)):
        return None
    return site_of(args)


#: site option (argparse dest) -> Site keyword
_OVERRIDES = {
    "pue": "pue",
    "wue": "wue",
    "ewif": "ewif",
    "country": "country",
    "carbon_intensity": "carbon_intensity_g_per_kwh",
    "ewif_source": "ewif_source",
    "region": "region",
    "carbon_basis": "carbon_basis",
}


def plain_preset(args: argparse.Namespace) -> str | None:
    """The site preset the options name when no other site option changes it (else None)."""
    if not getattr(args, "site", None) or any(getattr(args, k, None) is not None for k in _OVERRIDES):
        return None
    return str(args.site)


def site_of(args: argparse.Namespace) -> Any:
    """The :class:`~ecometer.impact.Site` the site options describe; UsageError when none is given."""
    from ecometer.errors import UsageError
    from ecometer.impact import Site
    from ecometer.impact.detect import named_site

    overrides = {kw: getattr(args, dest) for dest, kw in _OVERRIDES.items() if getattr(args, dest, None) is not None}
    if args.site:
        return named_site(args.site, **overrides)
    if not overrides:
        names = ", ".join(p.name for p in Site.presets())
        raise UsageError(
            f"give --site NAME (one of: {names}; or a region such as aws:us-east-1) or --pue/--wue with --country, "
            "--region or --ewif"
        )
    return Site(**overrides)


def attach_site(records: list[Any], args: argparse.Namespace) -> None:
    """Footprint every record at the site the options describe (nothing when none is given)."""
    site = site_from_args(args)
    if site is None:
        return
    from ecometer.standards.sites import attach_footprint

    for rec in records:
        attach_footprint(rec, site)
