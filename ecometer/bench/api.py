"""Running a bench and writing its folder: :func:`run_bench` (the command's and the library's
way) and :func:`bench`, the library face a notebook calls with Python callables.

    from ecometer.bench import bench
    result = bench({"fp32": run_fp32, "bf16": run_bf16}, runs=5, warmup=1, work_unit="sample",
                   site="us-average", out="bench-precision")
    print(result)                  # the verdict in words
    result.verdict.probabilities   # {("bf16", "fp32"): 0.998, ...}

Each callable runs one repetition and returns the work it did (a number of ``work_unit``, a
``{unit: amount}`` mapping, or None). One callable and a grid also work:
``bench(infer, params={"batch_size": [8, 32]})`` calls ``infer(batch_size=8)`` and so on.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ecometer.bench.grid import Param
from ecometer.bench.runner import Bench, BenchOptions, signals_held, signals_interrupt
from ecometer.bench.targets import CallableTarget
from ecometer.bench.verdict import Verdict, build_verdict
from ecometer.errors import UsageError
from ecometer.files.atomic import write_atomic
from ecometer.measuring.paths import safe_name

log = logging.getLogger("ecometer.bench")

#: the files a bench writes beside its records
OUTPUTS = {"json": "results.json", "csv": "results.csv", "markdown": "results.md", "text": "verdict.txt"}
CHARTS = {"bars": "bars.png", "pareto": "pareto.png"}


@dataclass
class BenchResult:
    """A finished bench: its folder, the verdict, the files written and what went wrong on the way."""

    folder: Path
    verdict: Verdict
    files: dict[str, Path] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def table(self) -> str:
        """The hyperfine-style markdown table."""
        from ecometer.bench.export import to_markdown

        return to_markdown(self.verdict)

    def __str__(self) -> str:
        from ecometer.bench.export import verdict_text

        return verdict_text(self.verdict)


def default_folder(name: str) -> Path:
    """``$ECOMETER_DIR/bench-<name>-<UTC time>`` (default folder ``ecometer-runs``)."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(os.environ.get("ECOMETER_DIR", "ecometer-runs")) / f"bench-{safe_name(name)}-{stamp}"


def run_bench(b: Bench, charts: bool = True) -> BenchResult:
    """Prepare the folder, check power limits, run every configuration, restore the limits and
    write the verdict. A :class:`~ecometer.bench.targets.BenchInterrupted` leaves after the
    limits are restored, with the records so far kept for the next session to continue."""
    b.prepare()
    b.open_power()
    problems: list[str] = []
    with signals_interrupt():
        try:
            b.write_plan()
            b.run_all(b.measure_one)
        finally:
            with signals_held():  # a signal now waits until every limit is back, then stops the bench
                problems = b.restore_power()
            for p in problems:
                log.error("%s", p)
    result = write_outputs(b, charts)
    result.problems += problems
    return result


def write_outputs(b: Bench, charts: bool = True) -> BenchResult:
    """The verdict over the bench's runs, written as JSON, CSV, markdown, text and charts."""
    from ecometer.bench import export

    v = build_verdict(list(b.state.values()), b.target.describe, b.options.quality, b.options.quality_higher)
    result = BenchResult(b.folder, v)
    texts = {"json": export.to_json(v), "csv": export.to_csv(v), "markdown": export.to_markdown(v),
             "text": export.verdict_text(v) + "\n"}  # fmt: skip
    for kind, text in texts.items():
        result.files[kind] = write_atomic(b.folder / OUTPUTS[kind], text)
    if charts and v.measured:
        from ecometer.bench import charts as bench_charts

        for kind, draw in (("bars", bench_charts.bars), ("pareto", bench_charts.pareto_chart)):
            path = b.folder / CHARTS[kind]
            draw(v, path)
            result.files[kind] = path
    return result


def _params_of(functions: Any, params: Mapping[str, Sequence[Any]] | None) -> list[Param]:
    if callable(functions):
        grid = dict(params or {})
        out = []
        for name, values in grid.items():
            values = list(values)
            if not values:
                raise UsageError(f"params[{name!r}]: no values")
            out.append(Param(name, tuple(values), tuple(str(v) for v in values)))
        return out
    if params:
        raise UsageError("params= goes with one callable; with a mapping of callables each is a configuration")
    if not isinstance(functions, Mapping) or not functions or not all(callable(f) for f in functions.values()):
        raise UsageError("bench() takes a callable, or a mapping {configuration name: callable}")
    names = [str(k) for k in functions]
    return [Param("config", tuple(names), tuple(names))]


def bench(
    functions: Mapping[str, Callable[..., Any]] | Callable[..., Any],
    *,
    params: Mapping[str, Sequence[Any]] | None = None,
    out: str | os.PathLike[str] | None = None,
    charts: bool = True,
    **options: Any,
) -> BenchResult:
    """Bench Python callables: warm-ups, repetitions, order, and the verdict (see the module doc).

    ``options`` are :class:`~ecometer.bench.runner.BenchOptions` fields (``runs``, ``warmup``,
    ``target``, ``order``, ``seed``, ``site``, ``standard``, ``work_unit``, ``quality``...).
    ``out``: the bench's folder (default :func:`default_folder`); the same folder continues it.
    """
    from ecometer.api import resolve_site, resolve_standard

    unknown = sorted(set(options) - set(BenchOptions.__dataclass_fields__))
    if unknown:
        raise UsageError(f"bench(): unknown option(s) {', '.join(unknown)}")
    opts = BenchOptions(**options)
    opts.site, opts.standard = resolve_site(opts.site), resolve_standard(opts.standard)
    folder = Path(out) if out is not None else default_folder(opts.name)
    target = CallableTarget(functions if callable(functions) else {str(k): f for k, f in functions.items()})
    return run_bench(Bench(target, _params_of(functions, params), opts, folder), charts=charts)


def load_results(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A bench folder's ``results.json`` (hyperfine's layout plus the verdict)."""
    path = Path(folder) / OUTPUTS["json"]
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the bench results ({exc})") from None
