"""``ecometer bench``: run a command or Python callables over a grid of parameters, with warm-ups
and repetitions, and say which configuration does the same work for less energy and water, and
how sure that is.

- :mod:`~ecometer.bench.grid`: parameters, configurations, the command of each, the order;
- :mod:`~ecometer.bench.targets`: one run of a command or a callable under its meter;
- :mod:`~ecometer.bench.runner`: the loop, the folder, resuming, power limits;
- :mod:`~ecometer.bench.power`: GPU power limits through NVML, always restored;
- :mod:`~ecometer.bench.verdict`: intervals, probabilities, Pareto fronts, outliers;
- :mod:`~ecometer.bench.export`, :mod:`~ecometer.bench.charts`: hyperfine-style files and charts;
- :mod:`~ecometer.bench.api`: :func:`bench` for notebooks, :func:`run_bench` for the command.

On top of the house, beside :mod:`ecometer.commands`: each run of a command is an ordinary
``ecometer run`` (:class:`ecometer.commands.run.MeteredCommand`). May import everything.
"""

from __future__ import annotations

from ecometer.bench.api import BenchResult, bench, run_bench
from ecometer.bench.runner import Bench, BenchOptions

__all__ = ["Bench", "BenchOptions", "BenchResult", "bench", "run_bench"]
