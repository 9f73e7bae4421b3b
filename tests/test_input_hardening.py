"""Issue 27 (part B): work counted whatever its volume, warnings that do not flood, numbers a user
gives checked at every public entry with a clear error."""

from __future__ import annotations

import argparse
import logging
import math
import subprocess
import sys

import pytest
from conftest import FakeClock, manual_meter, run_steps
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli_run import ENV

from ecometer.commands.run import WORK_READ_CHUNK, WorkFile
from ecometer.errors import InputError
from ecometer.measuring.meter import Meter
from ecometer.record.model import load_record
from ecometer.sensors.replay import ReplaySensor


# ---- add_work after stop -------------------------------------------------------------------------------
def test_add_work_after_stop_warns_once_not_once_per_call(caplog):
    clock = FakeClock()
    m = manual_meter(clock, [ReplaySensor([(0, 1)], clock=clock)], name="loop")
    with caplog.at_level(logging.WARNING, logger="ecometer"):
        for _ in range(1000):
            m.add_work(1)  # before start
        m.start()
        m.add_work(2)
        run_steps(m, clock, 0.5)
        rec = m.stop()
        for _ in range(10_000):
            m.add_work(1)  # a loop that goes on after stop
    said = [r for r in caplog.records if "not running" in r.getMessage()]
    assert len(said) == 1
    assert rec.work == {"item": 2.0} and m.record.work == {"item": 2.0}


# ---- the work file ----------------------------------------------------------------------------------
def test_a_work_file_of_several_chunks_is_read_to_the_end(tmp_path):
    path = tmp_path / "work.txt"
    lines = 3 * WORK_READ_CHUNK // 2 + 7  # 2-byte lines: three chunks, the last one short
    path.write_bytes(b"1\n" * lines + b"5 tok")  # and a last line without newline
    assert WorkFile(path, "sample").read_new(final=True) == [(float(lines), "sample"), (5.0, "tok")]
    polled = WorkFile(path, "sample")  # while the command runs: each poll reads for a bounded time
    counted = 0.0
    for _ in range(20):
        counted += sum(n for n, _ in polled.read_new())
    assert counted == lines  # nothing dropped: the next poll goes on where the last stopped
    assert polled.read_new(final=True) == [(5.0, "tok")]
    assert polled.problems == []


def test_a_line_split_across_chunks_is_kept_whole(tmp_path):
    path = tmp_path / "work.txt"
    head = b"1\n" * ((WORK_READ_CHUNK - 2) // 2)  # the next line starts 2 bytes before the chunk's end
    path.write_bytes(head + b"1234 token\n")
    assert WorkFile(path, "sample").read_new(final=True) == [(len(head) / 2, "sample"), (1234.0, "token")]


def test_a_million_lines_written_at_once_are_all_counted(tmp_path):
    out = tmp_path / "r.json"
    child = "import os; open(os.environ['ECOMETER_WORK_FILE'], 'a').write('1 sample\\n' * 1_000_000)"
    proc = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--out", str(out), "--", sys.executable, "-c", child],
        env=ENV, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert load_record(out).work == {"sample": 1_000_000.0}  # was 116,508 (1 MiB read at exit)


# ---- numbers a user gives --------------------------------------------------------------------------
HOSTILE_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**500), max_value=10**500),
    st.sampled_from([10**400, -(10**400), 10**5000, 1e308, -0.0, 5e-324, True, False, None, "3", b"3", [], {}]),
    st.fractions(),
    st.decimals(allow_nan=True),
)


def _meter(clock=None, **kw):
    clock = clock or FakeClock()
    return manual_meter(clock, [ReplaySensor([(0, 10)], clock=clock)], **kw)


def test_forecast_with_a_total_beyond_a_float_is_an_input_error():
    m = _meter()
    m.start()
    m.add_work(5)
    with pytest.raises(InputError, match=r"forecast: total_work \(an integer of 401 digits\): expected a finite number > 0"):
        m.forecast(total_work=10**400)  # was OverflowError: int too large to convert to float
    with pytest.raises(InputError, match="forecast: warmup"):
        m.forecast(total_work=10, warmup=-(10**400))
    m.stop()


@pytest.mark.parametrize("reading", [math.nan, math.inf, None, "12.5", 10**400])
def test_a_clock_that_reads_no_time_is_refused_at_start(reading):
    m = Meter("c", sensors=[ReplaySensor([(0, 10)])], clock=lambda: reading, background=False, out=None)
    with pytest.raises(InputError, match=r"clock\(\) returned"):
        m.start()  # was: a record with duration NaN (nan) or TypeError (None)
    assert m.record is None


def test_a_clock_that_fails_mid_run_is_warned_once_and_the_record_stays_finite():
    clock = FakeClock()
    readings = iter([])

    def flaky() -> float:
        return next(readings, clock())

    m = _meter(clock=flaky)
    m.start()
    run_steps(m, clock, 1.0)
    readings = iter([math.nan, math.inf, None] * 5)
    for _ in range(15):
        m.sample_now()  # 15 bad readings: the last good one is used
    run_steps(m, clock, 1.0)
    rec = m.stop()
    assert math.isfinite(rec.duration_s) and rec.duration_s == pytest.approx(2.0)
    assert math.isfinite(rec.energy_j) and rec.energy_j == pytest.approx(20.0)
    assert sum("clock() returned" in w for w in rec.warnings) == 1


@pytest.mark.parametrize("option", ["interval_s", "counter_interval_s", "checkpoint_interval_s", "timeline_buckets"])
@given(value=HOSTILE_NUMBERS)
@settings(max_examples=60, deadline=None)
def test_meter_options_are_finite_numbers_in_range_or_an_input_error(option, value):
    try:
        m = Meter("o", sensors=[ReplaySensor([(0, 10)])], background=False, out=None, **{option: value})
    except InputError as exc:
        assert option in str(exc) and "expected" in str(exc)
        return
    got = getattr(m, option)
    assert isinstance(got, (int, float)) and not isinstance(got, bool) and math.isfinite(got) and got > 0


@given(value=HOSTILE_NUMBERS)
@settings(max_examples=40, deadline=None)
def test_io_timeout_is_checked_when_the_meter_starts(value):
    m = _meter()
    m.io_timeout_s = value
    try:
        m.start()
    except InputError as exc:
        assert "io_timeout_s" in str(exc)
        return
    m.stop()
    assert math.isfinite(float(value)) and 0 < float(value) <= 3600


@given(total=HOSTILE_NUMBERS, which=st.sampled_from(["total_work", "total_s", "warmup", "coverage"]))
@settings(max_examples=80, deadline=None)
def test_forecast_numbers_are_checked(total, which):
    m = _meter()
    m.start()
    m.add_work(5)
    run_steps(m, m.clock, 0.5)
    kwargs = {"total_work": 1000.0, which: total} if which != "total_s" else {"total_s": total}
    try:
        fc = m.forecast(**kwargs)
    except InputError as exc:
        assert f"forecast: {which}" in str(exc) or "below" in str(exc) or "exactly one" in str(exc)
    else:
        assert fc is not None
    finally:
        m.stop()


@given(value=HOSTILE_NUMBERS, key=st.sampled_from(["pue", "wue", "ewif", "carbon_intensity_g_per_kwh", "energy_kwh", "energy_j"]))
@settings(max_examples=120, deadline=None)
def test_site_values_and_given_energies_are_checked(value, key):
    from ecometer.impact import Site, footprint

    try:
        if key.startswith("energy"):
            fp = footprint(site="us-average", **{key: value})
        else:
            fp = footprint(energy_kwh=1.0, site=Site.preset("us-average", **{key: value}))
    except InputError as exc:
        assert key in str(exc) or "energy" in str(exc)
        return
    figures = fp.to_dict()
    for name in ("it_energy_j", "facility_energy_j"):
        assert all(math.isfinite(figures[name][k]) for k in ("central", "low", "high")), figures[name]


# ---- the command line's numeric options ---------------------------------------------------------------
def _numeric_options():
    """(command words, option string, its type) of every option of every command that takes a number."""
    from ecometer.commands.cli import build_parser

    found = []

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*words, name])
            elif action.option_strings and (action.type in (float, int) or getattr(action.type, "__name__", "") == "number"):
                found.append((words, action.option_strings[-1], action.type))

    walk(build_parser(), [])
    return found


def test_every_numeric_option_of_every_command_uses_the_number_check():
    options = _numeric_options()
    assert len(options) >= 20
    plain = [f"{' '.join(w)} {o}" for w, o, t in options if t in (float, int)]
    assert plain == []  # type=float accepts nan, inf and 1e400 (inf) as numbers


@pytest.mark.parametrize("text", ["nan", "-inf", "1e400", "1" + "0" * 400, "0x10", "", "1,5"])
def test_every_numeric_option_refuses_what_is_not_a_finite_number_in_one_line(text, capsys):
    from ecometer.commands.cli import main

    for words, option, _ in _numeric_options():
        assert main([*words, option, text]) == 2, (words, option)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and option in err and "expected" in err, err


@given(text=st.text(max_size=12) | st.sampled_from(["1e308", "-0", "4.9e-324", "1_000", " 5 ", "+7", "NaN", "Infinity"]))
@settings(max_examples=200, deadline=None)
def test_numeric_option_types_return_a_finite_number_in_range_or_refuse(text):
    for _, option, parse in _numeric_options():
        try:
            value = parse(text)
        except argparse.ArgumentTypeError as exc:
            assert "expected" in str(exc)
            continue
        assert isinstance(value, (int, float)) and math.isfinite(value), (option, text, value)


@given(value=HOSTILE_NUMBERS, label=st.sampled_from(["gather_timeout_s", "signal_gather_timeout_s"]))
@settings(max_examples=60, deadline=None)
def test_distributed_timeouts_are_checked(value, label):
    from ecometer.distributed.job import Job

    try:
        job = Job(**{label: value})
    except InputError as exc:
        assert label in str(exc) and "expected" in str(exc)  # 10**5000 raised ValueError from repr() before
        return
    got = getattr(job, label)
    assert type(got) is float and 0 <= got <= 86400


@given(value=HOSTILE_NUMBERS, key=st.sampled_from(["wue_hourly", "wue_monthly", "wet_bulb_hourly_c", "grid_ewif",
                                                   "grid_carbon_hourly", "utc_offset_h"]))  # fmt: skip
@settings(max_examples=120, deadline=None)
def test_site_profiles_and_hourly_grid_values_are_checked(value, key):
    from ecometer.impact import Site

    given_ = {
        "wue_hourly": {"wue_hourly": [1.0] * 23 + [value]},
        "wue_monthly": {"wue_monthly": [value] + [1.0] * 11},
        "wet_bulb_hourly_c": {"wet_bulb_hourly_c": [value] * 24, "wue": 1.0},
        "grid_ewif": {"grid_hourly": {"ewif": {"2025-06-01T13:00Z": value}}},
        "grid_carbon_hourly": {"grid_hourly": {"carbon_g_per_kwh": [value] * 24}},
        "utc_offset_h": {"utc_offset_h": value},
    }[key]
    try:
        site = Site.preset("us-average", **given_)  # 10**400 raised OverflowError, 10**5000 ValueError before
    except InputError as exc:
        assert "expected" in str(exc)
        return
    assert site is not None and (value is None or math.isfinite(float(value)))  # None: not given


@given(value=HOSTILE_NUMBERS, key=st.sampled_from(["bands", "scale", "min_per_class"]), per=st.sampled_from(["run", "query"]))
@settings(max_examples=80, deadline=None)
def test_calibration_numbers_are_checked(value, key, per):
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component, RunRecord
    from ecometer.standards import calibrate

    records = [RunRecord(name=f"r{i}", duration_s=10.0, work={"query": 10.0},
                         components={"gpu": Component("gpu", 100.0 * (i + 1), "counter", Estimate.exact(100.0 * (i + 1)))})
               for i in range(6)]  # fmt: skip
    try:
        std = calibrate(records, "it_energy_j", per=per, by_class=False, **{key: value})
    except InputError as exc:
        assert "expected" in str(exc) or key in str(exc) or "scale" in str(exc)  # 10**400 raised OverflowError before
        return
    assert std.metrics


def test_a_standard_with_an_integer_beyond_a_float_is_a_standard_error():
    from ecometer.standards import StandardError, parse_standard

    text = '[standard]\nname = "t"\ntitle = "t"\nversion = "1"\ngrades = ["A", "B", "C"]\n\n[metrics.e]\n' \
           'quantity = "it_energy_j"\nper = "token"\nunit = "J"\nthresholds = [1, 1' + "0" * 400 + "]\n"  # fmt: skip
    with pytest.raises(StandardError) as err:
        parse_standard(text)  # was OverflowError from math.isfinite
    assert err.value.field == "metrics.e.thresholds[1]" and "an integer of 401 digits" in str(err.value)


@given(central=HOSTILE_NUMBERS, low=HOSTILE_NUMBERS, high=HOSTILE_NUMBERS)
@settings(max_examples=150, deadline=None)
def test_an_estimate_of_any_numbers_is_made_or_refused_clearly(central, low, high):
    from ecometer.record.estimate import Estimate

    try:
        est = Estimate(central, low, high)  # Estimate(10**400) raised OverflowError, Estimate(1, "x") ValueError
    except InputError as exc:
        assert "estimate:" in str(exc)
        return
    assert isinstance(float(est), float) and isinstance(est.low, float) and isinstance(est.high, float)
