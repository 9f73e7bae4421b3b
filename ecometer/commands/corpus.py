"""``ecometer corpus import``: published tables (CSV, JSON) as corpus entries."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ecometer.commands.options import POSITIVE

EPILOG = """\
examples:
  # a shipped import spec (the AI Energy Score, Feb 2025; the ML.ENERGY leaderboard)
  ecometer corpus import ai-energy-score-2025-02 --out aes/
  ecometer corpus import ml-energy-lm-arena-chat --out mlenergy/

  # your own table, mapped with flags (or --spec my-spec.toml)
  ecometer corpus import results.csv --id model --energy gpu_kwh --energy-unit kWh \\
      --component gpu --per query --count 1000 --meta task=task --set gpu_model=H100 \\
      --source "Example Lab, results table 3, 2025, https://example.org" --out corpus/

  # JSON with the list under a key
  ecometer corpus import lm-arena-chat.json --records-key configurations --id model_id \\
      --energy energy_per_request_joules --per token --count-col avg_output_len --out corpus/

Each row becomes a corpus entry (method 'reported', with its source); nothing is invented:
a duration the table does not give stays unknown. 'calibrate', 'score' and 'standard
diff/sensitivity' take the folder like a folder of records. Errors name file, row, column.
"""


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "corpus",
        help="import published tables as corpus entries",
        description="Turn published tables (leaderboards, papers) into corpus entries that ecometer's "
        "standards tools take like run records.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    q = sub.add_parser(
        "import",
        help="import a CSV or JSON table",
        description="Import a published table (CSV or JSON, or a shipped spec's name) as corpus entries, one per "
        "row, each with its source; columns are mapped by a spec file or by flags.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    q.add_argument("tables", nargs="+", metavar="TABLE", help="CSV/JSON files, folders of them, or a shipped spec name")
    add_spec_arguments(q)
    q.add_argument(
        "--out", "-o", required=True, metavar="DIR", help="folder to write entries.jsonl and corpus.toml into"
    )
    p.set_defaults(func=run)


def add_spec_arguments(q: argparse.ArgumentParser) -> None:
    """The import-spec options (a TOML file, or flags that build one)."""
    q.add_argument("--spec", metavar="SPEC", help="an import spec (TOML file or shipped name); flags below add to it")
    q.add_argument("--id", action="append", metavar="COL", help="identity column(s), repeatable ('@file': file stem)")
    q.add_argument("--energy", metavar="COL", help="the energy column")
    q.add_argument("--energy-unit", metavar="UNIT", help="J, Wh, kWh ... (default J)")
    q.add_argument("--component", choices=("it", "gpu"), help="what the energy covers (default it)")
    q.add_argument("--per", metavar="UNIT", help="the work unit the energy covers (token, query, sample, request...)")
    q.add_argument("--count", type=POSITIVE, metavar="N", help="how many --per units the energy covers (constant)")
    q.add_argument("--count-col", metavar="COL", help="the column that says how many --per units it covers")
    q.add_argument("--meta", action="append", default=[], metavar="NAME=COL", help="a meta field from a column")
    q.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="a meta constant for every row")
    q.add_argument("--source", metavar="TEXT", help="who published the figures, when and where")
    q.add_argument("--records-key", metavar="KEY", help="JSON: the key the list of rows is under")


def spec_from_args(args: argparse.Namespace) -> Any:
    """The import spec the options describe (None when none is given)."""
    from ecometer.errors import UsageError
    from ecometer.standards.tables import load_spec, spec_from_dict

    flags = any(
        getattr(args, k, None)
        for k in (
            "id",
            "energy",
            "energy_unit",
            "component",
            "per",
            "count",
            "count_col",
            "meta",
            "set",
            "source",
            "records_key",
        )
    )
    if args.spec is None and not flags:
        return None
    data = load_spec(args.spec).to_dict() if args.spec else {"entry": {}}
    base = load_spec(args.spec) if args.spec else None
    entry = data["entry"]
    for key in ("energy", "energy_unit", "component"):
        if getattr(args, key, None):
            entry[key] = getattr(args, key)
    if args.id:
        entry["id"] = [c for part in args.id for c in part.split(",")]
    if (args.count is not None or args.count_col) and not args.per:
        raise UsageError("--count/--count-col need --per UNIT (what the energy covers)")
    if args.per:
        if args.count is not None and args.count_col:
            raise UsageError("give --count N or --count-col COL, not both")
        entry["work"] = {args.per: {"column": args.count_col} if args.count_col else (args.count or 1.0)}
    for option, key in ((args.meta, "meta"), (args.set, "set")):
        for item in option:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise UsageError(f"--{key} {item!r}: expected NAME={'COL' if key == 'meta' else 'VALUE'}")
            entry.setdefault(key, {})[name] = _constant(value) if key == "set" else value
    if args.source:
        data["source"] = {**data.get("source", {}), "title": args.source}
    if args.records_key:
        data.setdefault("table", {})["records_key"] = args.records_key
    if base is not None and base.files:
        data.setdefault("table", {})["files"] = base.files
    spec = spec_from_dict(data, origin=args.spec or "<command line>")
    if base is not None:
        spec.origin = base.origin  # table.files stay relative to the spec file
    return spec


def _constant(text: str) -> Any:
    from ecometer.standards.tables import typed_value

    return typed_value(text)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ecometer.errors import UsageError
    from ecometer.files.atomic import write_atomic
    from ecometer.report.style import output_error
    from ecometer.standards.corpus import ENTRIES_FILE, write_columns
    from ecometer.standards.tablecolumns import import_columns
    from ecometer.standards.tables import builtin_specs, file_sha256, source_line, spec_files, table_files
    from ecometer.standards.writer import to_toml

    tables = list(args.tables)
    if len(tables) == 1 and not Path(tables[0]).exists() and tables[0] in builtin_specs():
        if args.spec:
            raise UsageError(f"{tables[0]!r} is a shipped spec and --spec names another; give one")
        args.spec, tables = tables[0], []
    args.tables = tables
    spec = spec_from_args(args)
    if spec is None:
        raise UsageError("give an import spec (--spec SPEC) or the columns (--id COL --energy COL ...)")
    paths = table_files([Path(t) for t in tables]) if tables else spec_files(spec)
    entries = import_columns(paths, spec)  # the table read once, by column
    out = Path(args.out)
    digest = file_sha256(paths)
    header = {
        "source": spec.source,
        "tables": [p.name for p in paths],
        "tables_sha256": digest,
        "spec": spec.to_dict()["entry"],
    }
    meta = f"corpus imported by ecometer from {len(paths)} table(s), {len(entries)} rows; tables SHA-256 {digest}"
    target, made = out / ENTRIES_FILE, not out.exists()
    try:  # each file atomically: a full or read-only disk keeps the previous one
        write_columns(target, entries, header)
        target = out / "corpus.toml"
        write_atomic(target, to_toml(spec.to_dict(), header=meta))
    except OSError as exc:
        if made:  # no empty folder left behind (rmdir refuses one that is not empty)
            try:
                out.rmdir()
            except OSError:
                pass
        raise output_error(target, exc, "write the corpus to") from None
    sys.stdout.write(
        f"wrote {out / ENTRIES_FILE}: {len(entries)} entries from {len(paths)} table(s) "
        f"({'; '.join(sorted({source_line(s) for s in entries.sources})) or spec.source_text}); "
        f"import spec in {out / 'corpus.toml'}\n"
    )
    return 0
