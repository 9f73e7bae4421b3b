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
        raise UsageError(
            "--reference-site grades at the standard's site: leave out --site/--pue/--wue/--ewif/--country"
        )
    site = reference_site(std)
    for rec in records:
        attach_footprint(rec, site)


#: corpus entries footprinted and scored at a time (a 1 M-entry corpus is streamed, never held)
BATCH = 2048


def run(args: argparse.Namespace) -> int:
    from ecometer.record.model import load_record
    from ecometer.standards import load_standard
    from ecometer.standards.corpus import load_columns, load_records, record_paths
    from ecometer.standards.tables import is_table

    std = load_standard(args.standard)
    spec = _spec(args)
    paths = record_paths(args.runs, spec)
    plain = [p for p in paths if p.suffix.lower() == ".json" and not (p.exists() and is_table(p, spec))]
    # all read before any is scored or written; corpus entries and tables have no file to attach to
    records: list[tuple[Any, Any]] = [(p, load_record(p)) for p in plain]
    others = [p for p in paths if p not in plain]
    entries = load_columns(others, spec) if others else None  # by column: scored one batch at a time
    if others and entries is None:
        records.extend((None, rec) for rec in load_records(others, spec))
    if args.attach:
        _check_attach(paths, records, entries)
    total = len(records) + (len(entries) if entries is not None else 0)
    out = _Output(args.json, total)
    passed = True
    attached: list[Any] = []  # with --attach: every record scored, then every file written, then printed
    for batch in _batches(records, entries):
        _site(std, [rec for _, rec in batch], args)
        for p, rec in batch:
            a = _score(rec, std)
            passed = passed and a.passed
            if args.attach:
                attached.append((p, rec, a))
            else:
                out.write(a)
    for p, rec, a in attached:
        _attach(p, rec, a)
    for _, _, a in attached:
        out.write(a)
    out.close()
    return 0 if passed else 1


def _score(rec: Any, std: Any) -> Any:
    from ecometer.standards import score

    return score(rec, std)


def _batches(records: list[tuple[Any, Any]], entries: Any) -> Any:
    """The records, then the corpus entries made one batch at a time (``(path or None, record)``)."""
    if records:
        yield records
    if entries is not None:
        for start in range(0, len(entries), BATCH):
            yield [(None, entries.record(i)) for i in range(start, min(start + BATCH, len(entries)))]


def _check_attach(paths: list[Any], records: list[tuple[Any, Any]], entries: Any) -> None:
    from ecometer.errors import UsageError
    from ecometer.record.model import CHECKPOINT_SUFFIX

    partial = [str(p) for p in paths if p.name.endswith(CHECKPOINT_SUFFIX)]
    partial += [str(p) for p, rec in records if rec.checkpoint and p is not None]
    partial = partial or [repr(rec.name) for p, rec in records if rec.checkpoint]
    if partial:
        raise UsageError(
            f"--attach would turn checkpoints into final records: {', '.join(dict.fromkeys(partial))} "
            "(the checkpoint of a run still running or killed); score it without --attach"
        )
    names = [rec.name for p, rec in records if p is None] + (list(entries.names[:1]) if entries is not None else [])
    count = sum(1 for p, _ in records if p is None) + (len(entries) if entries is not None else 0)
    if count:
        raise UsageError(
            f"--attach stores assessments in record files; {count} input(s) are corpus entries "
            f"or table rows ({names[0]} ...): score them without --attach"
        )


def _attach(path: Any, rec: Any, assessment: Any) -> None:
    from ecometer.report.style import output_error

    rec.attach("assessment", assessment)
    try:
        rec.save(path)
    except OSError as exc:  # a full or read-only disk: the record file is kept as it was
        raise output_error(path, exc, "attach the assessment to") from None


class _Output:
    """Assessments written as they are made: text blocks apart by a blank line, or JSON (one
    object for one assessment, else a list, as ``json.dumps(..., indent=1)`` writes it)."""

    def __init__(self, as_json: bool, total: int) -> None:
        self.as_json, self.total, self.n = as_json, total, 0

    def write(self, assessment: Any) -> None:
        if self.as_json:
            text = json.dumps(assessment.to_dict(), indent=1)
            if self.total != 1:
                text = ("[\n " if self.n == 0 else ",\n ") + text.replace("\n", "\n ")
        else:
            text = ("" if self.n == 0 else "\n\n") + str(assessment)
        sys.stdout.write(text)
        self.n += 1

    def close(self) -> None:
        if self.as_json and self.total != 1:
            sys.stdout.write("\n]\n" if self.n else "[]\n")
        else:
            sys.stdout.write("\n")
