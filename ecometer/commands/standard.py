"""``ecometer standard``: list, check, show, diff and test efficiency standards."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ecometer.commands.options import add_corpus_arguments, add_site_arguments, attach_site, load_corpus

EPILOG = """\
examples:
  ecometer standard list
  ecometer standard check my-standard.toml
  ecometer standard show ecometer-inference
  ecometer standard diff inference-0.1.toml inference-0.2.toml runs/
  ecometer standard sensitivity ecometer-inference runs/ --metric energy_per_token \\
      --class small --thresholds 0.04,0.08,0.16,0.32,0.64,1.28 --chart edges.png
  ecometer standard sensitivity ecometer-inference runs/ --metric energy_per_token \\
      --proposed inference-0.2.toml

Exit codes: 0 ok, 2 a malformed standard or bad input (the message names the file, line
and field).
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "standard",
        help="list, check, show, diff and test efficiency standards",
        description="Work with efficiency standards (TOML files): list the built-ins, validate a file, "
        "show one, diff two versions with the grade changes they cause, and test proposed thresholds.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True

    q = _action(sub, "list", "list the built-in standards",
                "List the standards built into ecometer: name, version, title and what each grades.",
                ["ecometer standard list", "ecometer standard list --json   # machine-readable"])
    q.add_argument("--json", action="store_true", help="print JSON instead of a table")
    q.set_defaults(action_func=_list)

    q = _action(sub, "check", "validate standard files",
                "Validate standard files (TOML): every field, threshold order and metric; a problem names the "
                "file, line and field. Exits 2 if any file is malformed.",
                ["ecometer standard check my-standard.toml", "ecometer standard check standards/*.toml"])
    q.add_argument("files", nargs="+", metavar="FILE", help="standard files (TOML) to validate")
    q.set_defaults(action_func=_check)

    q = _action(sub, "show", "print a standard as TOML",
                "Print a standard (a built-in's name or a file) as TOML, with every default filled in.",
                ["ecometer standard show ecometer-inference", "ecometer standard show my-standard.toml > copy.toml"])
    q.add_argument("standard", metavar="NAME_OR_FILE", help="a built-in standard's name or a TOML file")
    q.set_defaults(action_func=_show)

    q = _action(sub, "diff", "changed fields between two standards, and grade changes on a corpus",
                "Show the fields that differ between two standards and, given run records, how each run's grade "
                "changes from OLD to NEW.",
                ["ecometer standard diff inference-0.1.toml inference-0.2.toml",
                 "ecometer standard diff inference-0.1.toml inference-0.2.toml runs/ --site us-average"])
    q.add_argument("old", metavar="OLD", help="the standard before (a built-in's name or a TOML file)")
    q.add_argument("new", metavar="NEW", help="the standard after (a built-in's name or a TOML file)")
    q.add_argument("runs", nargs="*", metavar="RUN", help="record files or folders")
    q.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_corpus_arguments(q)
    add_site_arguments(q)
    q.set_defaults(action_func=_diff)

    q = _action(sub, "sensitivity", "grade changes from proposed thresholds; chart of band edges",
                "Test proposed thresholds of one metric on a corpus of runs: how many runs change grade, and "
                "(with --chart) the corpus's distribution with the old and new band edges.",
                ["ecometer standard sensitivity ecometer-inference runs/ --metric energy_per_token \\\n"
                 "      --class small --thresholds 0.04,0.08,0.16,0.32,0.64,1.28 --chart edges.png",
                 "ecometer standard sensitivity ecometer-inference runs/ --metric energy_per_token "
                 "--proposed inference-0.2.toml"])
    q.add_argument("standard", metavar="NAME_OR_FILE", help="the standard as it is (a built-in's name or a TOML file)")
    q.add_argument("runs", nargs="+", metavar="RUN", help="record files or folders")
    q.add_argument("--metric", "-m", required=True, help="the metric whose thresholds change")
    q.add_argument("--thresholds", help="comma-separated proposed band edges, best grade first")
    q.add_argument("--proposed", metavar="NAME_OR_FILE", help="a proposed standard instead of --thresholds")
    q.add_argument("--class", dest="class_name", metavar="CLASS", help="the class whose thresholds change")
    q.add_argument("--chart", metavar="PNG", help="save the corpus distribution with band edges here")
    q.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_corpus_arguments(q)
    add_site_arguments(q)
    q.set_defaults(action_func=_sensitivity)
    p.set_defaults(func=run)


def _action(sub: Any, name: str, help_text: str, description: str, examples: list[str]) -> Any:
    """A ``standard`` action's parser, with its description and examples."""
    epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
    return sub.add_parser(
        name, help=help_text, description=description, epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    return int(args.action_func(args))


def _list(args: argparse.Namespace) -> int:
    from ecometer.standards import list_standards

    infos = list_standards()
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps([vars(i) for i in infos], indent=1) + "\n")
        return 0
    width = max(len(i.name) for i in infos)
    for i in infos:
        bands = f", {i.bands} bands" if i.bands else ""
        status = f" [{i.status}]" if i.status else ""
        sys.stdout.write(f"{i.name:<{width}}  {i.version:<8} {i.title}{bands}{status}\n")
    return 0


def _check(args: argparse.Namespace) -> int:
    from ecometer.standards import load_standard

    for f in args.files:
        std = load_standard(f)
        classes = f", {len(std.classes)} classes" if std.classes else ""
        limits = f", {len(std.limits)} hard limits" if std.limits else ""
        sys.stdout.write(
            f"{f}: ok: {std.name} {std.version}, {len(std.metrics)} metrics ({', '.join(std.metrics)}), "
            f"grades {std.grades[0]}..{std.grades[-1]}{classes}{limits}\n"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from ecometer.standards import load_standard
    from ecometer.standards.loader import builtin_names, builtin_text

    if args.standard in builtin_names():
        sys.stdout.write(builtin_text(args.standard))
    else:
        sys.stdout.write(load_standard(args.standard).to_toml())
    return 0


def _diff(args: argparse.Namespace) -> int:
    from ecometer.standards import diff, load_standard

    old, new = load_standard(args.old), load_standard(args.new)
    records = load_corpus(args) if args.runs else []
    attach_site(records, args)
    result = diff(old, new, records)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=1) + "\n")
    else:
        sys.stdout.write(str(result) + "\n")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from ecometer.errors import UsageError
    from ecometer.report.sensitivity import sensitivity_chart
    from ecometer.standards import load_standard, sensitivity

    if (args.thresholds is None) == (args.proposed is None):
        raise UsageError("give exactly one of --thresholds and --proposed")
    std = load_standard(args.standard)
    proposed: Any
    if args.thresholds is not None:
        try:
            proposed = [float(x) for x in args.thresholds.split(",")]
        except ValueError:
            raise UsageError(f"--thresholds {args.thresholds!r}: expected comma-separated numbers") from None
    else:
        proposed = load_standard(args.proposed)
    if args.chart and not isinstance(proposed, list) and args.metric not in proposed.metrics:
        raise UsageError(
            f"--chart: the proposed standard {proposed.name} {proposed.version} has no metric {args.metric!r} "
            f"(its metrics: {', '.join(proposed.metrics)}); the chart compares one metric's edges in both"
        )
    records = load_corpus(args)
    attach_site(records, args)
    result = sensitivity(records, std, proposed, metric=args.metric, class_name=args.class_name)
    chart = None
    if args.chart:
        from ecometer.report.style import output_error

        try:
            chart = sensitivity_chart(
                records, std, args.metric, args.chart, proposed=proposed, class_name=args.class_name
            )
        except OSError as exc:  # a full or read-only disk: the old chart is kept (written atomically)
            raise output_error(args.chart, exc, "write the chart to") from None
    if args.json:
        data = result.to_dict()
        data["chart"] = str(chart) if chart else None
        sys.stdout.write(json.dumps(data, indent=1) + "\n")
    else:
        sys.stdout.write(str(result) + "\n")
        if chart:
            sys.stdout.write(f"chart: {chart}\n")
    return 0
