"""``ecometer score``: grade run records against an efficiency standard."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ecometer.commands.options import add_corpus_arguments, add_site_arguments, attach_site


def _spec(args: argparse.Namespace) -> Any:
    from ecometer.standards.tables import load_spec

    return load_spec(args.spec) if args.spec else None


EPILOG = """\
examples:
  ecometer score run.json --standard ecometer-inference
  ecometer score run.json --standard my-standard.toml --json
  ecometer score runs/ --standard ai-energy-score-style --attach
  ecometer score run.json --standard ecometer-inference --site aws-2023   # water metrics too
  ecometer score run.json --standard ecometer-inference --reference-site  # water at its reference site

Built-in standards: see 'ecometer standard list'. Exit codes: 0 scored (rated or not),
1 a run failed a hard limit of the standard, 2 bad input (file, standard, argument).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "score",
        help="grade run records against an efficiency standard",
        description="Grade run records against an efficiency standard (a built-in name or a TOML file): "
        "per metric the value, grade, margin to the next grade, the probability of each grade under "
        "the record's uncertainty (e.g. 'B 83 %, C 17 %') and whether the likeliest reaches the standard's "
        "confidence (stable); the same overall; hard limits with the probability of passing.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="record file(s) (record.json) or folders of them")
    p.add_argument("--standard", "-s", required=True, metavar="NAME_OR_FILE", help="built-in name or .toml path")
    p.add_argument("--json", action="store_true", help="print the assessment(s) as JSON")
    p.add_argument("--attach", action="store_true", help="store the assessment in each record file")
    add_corpus_arguments(p)
    add_site_arguments(p)
    p.add_argument(
        "--reference-site",
        action="store_true",
        help="grade the footprint metrics (water ...) at the standard's reference site (standard.reference_site) "
        "instead of the run's, to compare hardware independently of where it runs",
    )
    p.set_defaults(func=run)


def _site(std: Any, records: list[Any], args: argparse.Namespace) -> None:
    """Footprint the records at the site the options give, or at the standard's reference site."""
    if not args.reference_site:
        attach_site(records, args)
        return
    from ecometer.commands.options import site_from_args
    from ecometer.errors import UsageError
    from ecometer.standards.sites import attach_footprint, reference_site

    if site_from_args(args) is not None:
        raise UsageError("--reference-site grades at the standard's site: leave out --site/--pue/--wue/--ewif/--country")
    site = reference_site(std)
    for rec in records:
        attach_footprint(rec, site)


def run(args: argparse.Namespace) -> int:
    from ecometer.record.model import load_record
    from ecometer.standards import load_standard, score
    from ecometer.standards.corpus import load_records, record_paths
    from ecometer.standards.tables import is_table

    std = load_standard(args.standard)
    spec = _spec(args)
    paths = record_paths(args.runs, spec)
    plain = [p for p in paths if p.suffix.lower() == ".json" and not (p.exists() and is_table(p, spec))]
    # all read before any is scored or written; corpus entries and tables have no file to attach to
    records: list[tuple[Any, Any]] = [(p, load_record(p)) for p in plain]
    others = [p for p in paths if p not in plain]
    if others:
        records.extend((None, rec) for rec in load_records(others, spec))
    _site(std, [rec for _, rec in records], args)
    results = [(p, rec, score(rec, std)) for p, rec in records]
    if args.attach:
        from ecometer.errors import UsageError
        from ecometer.record.model import CHECKPOINT_SUFFIX

        partial = [str(p) for p in paths if p.name.endswith(CHECKPOINT_SUFFIX)]
        partial += [str(p) for p, rec, _ in results if rec.checkpoint and p is not None]
        partial = partial or [repr(rec.name) for p, rec, _ in results if rec.checkpoint]
        if partial:
            raise UsageError(
                f"--attach would turn checkpoints into final records: {', '.join(dict.fromkeys(partial))} "
                "(the checkpoint of a run still running or killed); score it without --attach"
            )
        entries = [rec.name for p, rec, _ in results if p is None]
        if entries:
            raise UsageError(
                f"--attach stores assessments in record files; {len(entries)} input(s) are corpus entries "
                f"or table rows ({entries[0]} ...): score them without --attach"
            )
        from ecometer.report.style import output_error

        for p, rec, a in results:
            rec.attach("assessment", a)
            try:
                rec.save(p)
            except OSError as exc:  # a full or read-only disk: the record file is kept as it was
                raise output_error(p, exc, "attach the assessment to") from None
    if args.json:
        data = [a.to_dict() for _, _, a in results]
        sys.stdout.write(json.dumps(data[0] if len(data) == 1 else data, indent=1) + "\n")
    else:
        sys.stdout.write("\n\n".join(str(a) for _, _, a in results) + "\n")
    return 0 if all(a.passed for _, _, a in results) else 1
