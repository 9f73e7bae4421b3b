"""One name per quantity: standards, reports and the Prometheus exporter read the same registry."""

from __future__ import annotations

import logging
import re

import pytest
from test_report_helpers import make_record

from ecometer.errors import NotApplicable
from ecometer.integrations.prometheus import render
from ecometer.record import quantities
from ecometer.record.model import RunRecord
from ecometer.report.figures import headline, metric, metric_names
from ecometer.standards import metrics as standard_metrics
from ecometer.standards.metrics import Measure, measure


def test_reports_and_standards_name_and_read_a_quantity_alike():
    rec = make_record()
    shown = {f.key: f for f in headline(rec)}
    for name in ("it_energy_j", "gpu_energy_j", "facility_energy_j", "water_onsite_l", "water_total_l", "carbon_g"):
        graded = measure(Measure(name, unit=quantities.QUANTITIES[name].unit.split()[0]), rec)
        assert name in standard_metrics.QUANTITIES and name in metric_names()
        assert (shown[name].central, shown[name].low, shown[name].high) == pytest.approx(
            (graded.central, graded.low, graded.high)
        )
        assert shown[name].label == quantities.QUANTITIES[name].label


def test_old_report_names_still_work_with_a_warning(caplog):
    rec = make_record()
    with caplog.at_level(logging.WARNING, logger="ecometer.record.quantities"):
        old = metric(rec, "onsite_water_l_per_unit")
    assert old.key == "water_onsite_l_per_unit"
    assert old.central == metric(rec, "water_onsite_l_per_unit").central
    assert [r.getMessage() for r in caplog.records] == [
        "quantity 'onsite_water_l_per_unit' is now called 'water_onsite_l_per_unit'; the old name will be removed"
    ]
    assert set(quantities.RENAMED.values()) <= set(quantities.QUANTITIES)


def test_standards_keep_their_names_and_reject_report_spellings():
    assert "water_onsite_l" in standard_metrics.QUANTITIES
    for old in quantities.RENAMED:
        assert old not in standard_metrics.QUANTITIES


class _Stopped:
    """A finished meter as the exporter sees it: a record, a site, not running."""

    def __init__(self, record: RunRecord) -> None:
        self.name, self.scope, self.running, self.record, self.site = "x", "machine", False, record, "us-average"


def test_exporter_metric_names_come_from_the_registry():
    text = render(_Stopped(make_record(footprint=False)))
    names = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    exported = {q.prometheus[0] for q in quantities.QUANTITIES.values() if q.prometheus}
    assert exported == {"ecometer_energy_joules_total", "ecometer_water_litres_total", "ecometer_carbon_grams_total"}
    assert exported <= names
    assert 'ecometer_water_litres_total{kind="onsite"}' in text
    assert 'ecometer_water_litres_total{kind="offsite"}' in text


def test_work_count_names_the_unit_once():
    rec = make_record(samples=None)
    rec.work = {"token": 500.0}
    assert rec.work_count() == ("token", 500.0)  # the only counter
    rec.work = {"token": 500.0, "sample": 10.0}
    with pytest.raises(NotApplicable) as no_unit:
        rec.work_count()
    assert no_unit.value.missing_unit
    rec.work_unit = "sample"
    assert rec.work_count() == ("sample", 10.0)
    assert rec.work_count("token") == ("token", 500.0)
    rec.work["sample"] = 0.0
    with pytest.raises(NotApplicable):
        rec.work_count()
    with pytest.raises(ZeroDivisionError):
        rec.per_work("energy_j")
    with pytest.raises(KeyError):
        rec.per_work("energy_j", "query")
