"""Forecast a job's energy, time, water, carbon and grade at its end from a record of its start.

    fc = forecast_run(checkpoint_record, total_work=60_000, site="us-average", standard="ecometer-training")
    fc.energy_j, fc.energy_j.low, fc.energy_j.high   # J, a 90 % interval (fc.coverage)
    fc.basis["observed_fraction"], fc.assumptions
    print(fc.line())

A forecast rests on the record's timeline: energy per component and work counted per bucket
(``timeline.work``). It leaves out warm-up (detected, or ``warmup=``), rests on the job's
latest regime after a change of level, allows for a trend, and widens its interval the less
of the job it has seen. With too little data it is not ``ready`` and says what it needs.
This package imports numpy; ``import ecometer`` does not import it.

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`,
:mod:`ecometer.record`, :mod:`ecometer.energy`, :mod:`ecometer.impact`, :mod:`ecometer.standards`.
"""

from __future__ import annotations

from ecometer.forecast.project import COVERAGE, ProjectedRecord, forecast_run
from ecometer.forecast.result import Forecast

__all__ = ["COVERAGE", "Forecast", "ProjectedRecord", "forecast_run"]
