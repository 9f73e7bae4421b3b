"""Hostile input: the record and standard loaders give a valid object or their own error.

Property tests (hypothesis, derandomised so CI is deterministic; about 200 examples each,
a few seconds in all). Anything other than a valid object or ``RecordError`` /
``StandardError`` is a bug, and so is an example slower than the deadline (a hang).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from conftest import FakeClock, manual_meter
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_record_io import set_field as _set

from ecometer.errors import RecordError
from ecometer.record.model import RunRecord, load_record
from ecometer.sensors.replay import ReplaySensor

FUZZ = settings(
    max_examples=200,
    deadline=2000,  # ms per example: far above the ~1 ms a load takes, well below a hang
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def _valid_record_dict() -> dict:
    clock = FakeClock(50.0)
    gpu = ReplaySensor([(0, 100), (1, 250)], method="counter", clock=clock, uncertainty=(0.05, 0.05))
    cpu = ReplaySensor([(0, 20)], component="cpu", clock=clock)
    m = manual_meter(clock, [gpu, cpu], "fuzz", meta={"task": "t", "n": [1, 2]})
    m.start()
    for i in range(20):
        with m.phase("step"):
            clock.advance(0.1)
            m.sample_now()
        m.add_work(8, "sample")
        if i == 5:
            m.add_work(math.nan)
    record = m.stop()
    record.attach("footprint", {"energy_j": 1.0})
    return record.to_dict()


VALID = _valid_record_dict()
VALID_TEXT = json.dumps(VALID, indent=1)


def check_record(record: RunRecord) -> None:
    """A loaded record must be usable and survive a save/load round trip."""
    assert isinstance(record, RunRecord)
    assert isinstance(record.energy_j, float | int)
    record.energy_uncertainty  # noqa: B018 - must not raise
    record.average_power_w  # noqa: B018
    assert set(record.methods.values()) <= {"counter", "integrated", "modelled", "constant", "user"}
    text = record.to_json()
    back = RunRecord.from_dict(json.loads(text))
    first, second = record.to_dict(), back.to_dict()
    first.pop("warnings"), second.pop("warnings")  # a reload may add a note about non-finite numbers
    assert first == second


def load_or_error(data) -> None:
    try:
        record = RunRecord.from_dict(data)
    except RecordError:
        return
    check_record(record)


def test_the_seed_record_is_valid():
    check_record(RunRecord.from_dict(VALID))


@FUZZ
@given(json_like)
def test_from_dict_with_any_json_value(data):
    load_or_error(data)


# a record-shaped dict where any field (and any field of a component or phase) may be replaced
_FIELDS = [k for k in VALID if k != "schema_version"]
_PART = {
    "components": ["name", "energy_j", "method", "uncertainty", "devices", "source", "attribution", "notes"],
    "phases": [
        "name", "energy_j", "duration_s", "count", "components", "uncertainty", "resolution_s", "work",
        "split_by_time_share", "power_range_w",
    ],
    "timeline": ["t_s", "power_w", "spans", "spans_dropped", "bucket_s"],
}


@st.composite
def mutated_records(draw) -> dict:
    data = json.loads(VALID_TEXT)
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(["top", "components", "phases", "timeline", "sensors", "nested"]))
        value = draw(json_like | st.sampled_from([math.nan, math.inf, 10**400, -1, True, "", [], {}]))
        try:
            _mutate(draw, data, section, value)
        except (TypeError, KeyError, IndexError, AttributeError):
            pass  # an earlier mutation removed what this one would change
    return data


def _mutate(draw, data: dict, section: str, value) -> None:
    if section == "top":
        key = draw(st.sampled_from(_FIELDS + ["unknown_field"]))
        if draw(st.booleans()):
            data.pop(key, None)
        else:
            data[key] = value
    elif section in ("components", "phases"):
        part = data[section][draw(st.sampled_from(sorted(data[section])))]
        key = draw(st.sampled_from(_PART[section]))
        if draw(st.booleans()):
            part.pop(key, None)
        else:
            part[key] = value
    elif section == "timeline":
        data["timeline"][draw(st.sampled_from(_PART["timeline"]))] = value
    elif section == "sensors":
        data["sensors"][0][draw(st.sampled_from(["name", "component", "method", "devices", "notes"]))] = value
    else:  # deep inside: a list element or a number in a series
        data["timeline"]["power_w"]["gpu:0"][0] = value
        data["components"]["gpu"]["uncertainty"][draw(st.sampled_from(["central", "low", "high"]))] = value


@FUZZ
@given(mutated_records())
def test_from_dict_with_mutated_records(data):
    load_or_error(data)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(content=st.binary(max_size=2000))
def test_load_record_with_any_bytes(fuzz_dir, content):
    path = fuzz_dir / "any.json"
    path.write_bytes(content)
    try:
        check_record(load_record(path))
    except RecordError:
        pass


@FUZZ
@given(st.data())
def test_load_record_with_corrupted_files(fuzz_dir, data):
    raw = VALID_TEXT.encode()
    start = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.integers(0, 40))
    insert = data.draw(st.binary(max_size=20) | st.sampled_from([b"NaN", b"1e999", b"-Infinity", b"null", b'"', b"{"]))
    path = fuzz_dir / "corrupt.json"
    path.write_bytes(raw[:start] + insert + raw[start + cut :])
    try:
        check_record(load_record(path))
    except RecordError:
        pass


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,  # deeper than the parser's recursion
        '{"schema_version": 1, "name": "x", "meta": ' + "[" * 150 + "]" * 150 + "}",
        '{"schema_version": 1, "name": "x", "duration_s": ' + "9" * 5000 + "}",  # int too long to parse
        '{"schema_version": 1, "name": "x", "duration_s": 1' + "0" * 400 + "}",  # int beyond a float
        '{"schema_version": true, "name": "x"}',
        '{"schema_version": 1.0, "name": "x"}',
        '{"schema_version": 1, "name": "x", "work": {"sample": "12"}}',
        '{"schema_version": 1, "name": "x", "components": {"gpu": {"name": "gpu", "energy_j": 1, '
        '"method": "counter", "uncertainty": {"central": 1, "low": 1}}}}',
    ],
    ids=[
        "deep-json",
        "deep-meta",
        "long-int",
        "huge-int",
        "bool-version",
        "float-version",
        "str-work",
        "bad-unc",
    ],
)
def test_load_record_edge_cases_are_record_errors(tmp_path, text):
    path = tmp_path / "edge.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordError):
        load_record(path)


def test_byte_order_mark_is_tolerated(tmp_path):
    path = tmp_path / "bom.json"
    path.write_text("\ufeff" + VALID_TEXT, encoding="utf-8")
    assert load_record(path).to_dict() == VALID


def test_non_finite_numbers_are_record_errors_naming_the_field(tmp_path):
    """A null (what a non-finite number is saved as), NaN or inf energy or duration is refused: report,
    compare and the standards would otherwise chart or grade it."""
    path = tmp_path / "nan.json"
    for where, value in [("energy", None), ("energy", math.nan), ("duration", math.inf)]:
        data = json.loads(VALID_TEXT)
        if where == "energy":
            data["components"]["gpu"]["energy_j"] = value
        else:
            data["duration_s"] = value
        path.write_text(json.dumps(data))  # Python's json writes NaN/Infinity, which its reader accepts
        field = "components.gpu.energy_j" if where == "energy" else "duration_s"
        with pytest.raises(RecordError, match=rf"{path}: malformed record: {field} is .*expected a finite number"):
            load_record(path)


@pytest.mark.parametrize("bad", ["nul\x00byte.json", "/", "/proc/self/mem"])
def test_unusable_record_paths_are_record_errors(bad):
    with pytest.raises(RecordError):
        load_record(bad)


def test_corrupt_attachment_is_a_record_error():
    pytest.importorskip("ecometer.impact")
    data = json.loads(VALID_TEXT)
    data["attachments"]["footprint"] = {"nonsense": [1, 2, 3]}
    record = RunRecord.from_dict(data)  # attachments are decoded lazily, by their owner
    with pytest.raises(RecordError, match="footprint"):
        record.footprint  # noqa: B018


# ---- the standard loader ------------------------------------------------------------------
scoring = pytest.importorskip("ecometer.standards")


def _load_text(text: str) -> None:
    try:
        std = scoring.parse_standard(text, origin="fuzz.toml")
    except scoring.StandardError as exc:
        assert str(exc)  # a message that names what is wrong
        return
    assert isinstance(std, scoring.Standard)


BUILTIN = {name: scoring.loader.builtin_text(name) for name in scoring.builtin_names()}


def test_builtin_standards_load():
    for text in BUILTIN.values():
        _load_text(text)


@FUZZ
@given(content=st.binary(max_size=2000))
def test_load_standard_with_any_bytes(fuzz_dir, content):
    path = fuzz_dir / "any.toml"
    path.write_bytes(content)
    try:
        assert isinstance(scoring.load_standard(path), scoring.Standard)
    except scoring.StandardError:
        pass


@FUZZ
@given(st.text(max_size=400))
def test_parse_standard_with_any_text(text):
    _load_text(text)


_TOML_VALUES = st.sampled_from(
    ['""', "-1", "0", "1e308", "inf", "nan", "-inf", "true", "[]", "{}", "[1, 'a']", '"x"', "1979-05-27", "[[]]"]
)


@FUZZ
@given(st.data())
def test_parse_standard_with_mutated_builtins(data):
    text = BUILTIN[data.draw(st.sampled_from(sorted(BUILTIN)))]
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "value", "text", "duplicate"]))
        if action == "delete":
            del lines[i]
        elif action == "value" and "=" in lines[i]:
            key = lines[i].split("=", 1)[0]
            lines[i] = f"{key}= {data.draw(_TOML_VALUES | st.integers().map(str))}"
        elif action == "text":
            lines[i] = data.draw(st.text(max_size=30))
        else:
            lines.insert(i, lines[i])
        if not lines:
            break
    _load_text("\n".join(lines))


# ---- past the loader: what it accepts, report, compare, score and calibrate must handle ----------
# charts take ~0.3 s an example; no shrinking, so that a failure stays cheap to report
PIPELINE = settings(FUZZ, max_examples=12, deadline=None, phases=[Phase.explicit, Phase.generate])
COMMANDS = settings(PIPELINE, max_examples=60)


def _scale(factor: float):
    def change(data: dict) -> None:
        for comp in data["components"].values():
            comp["energy_j"] *= factor
            comp["uncertainty"] = {k: v * factor for k, v in comp["uncertainty"].items()}
            comp["devices"] = {k: v * factor for k, v in comp["devices"].items()}

    return change


def _empty_timeline(data: dict) -> None:
    data["timeline"] = {"t_s": [], "power_w": {}, "spans": [], "spans_dropped": 0, "bucket_s": 0.0}


def _one_point(data: dict) -> None:
    tl = data["timeline"]
    tl["t_s"] = tl["t_s"][:1]
    tl["power_w"] = {k: v[:1] for k, v in tl["power_w"].items()}


def _no_points(data: dict) -> None:
    tl = data["timeline"]
    tl["power_w"] = {k: [None] * len(v) for k, v in tl["power_w"].items()}


def _only(component: str):
    def change(data: dict) -> None:
        data["components"] = {k: v for k, v in data["components"].items() if k == component}

    return change


_HOSTILE_NAMES = ["$\\frac{1}{$", "<b>x</b>", "", " ", "a" * 300, "é✓\u202e", "$x$", "100%", "{}", "\\"]

_ACCEPTED_MUTATIONS = [
    _scale(0.0), _scale(1e-300), _scale(1e-9), _scale(1e12), _scale(1e300),
    _set("duration_s", 0.0), _set("duration_s", 1e-9), _set("duration_s", 1e9), _set("duration_s", 1e300),
    _set("work", {}), _set("work", {"sample": 0.0}), _set("work", {"sample": 1e-300}), _set("work", {"sample": 1e300}),
    _set("work_unit", "token"), _set("work_unit", None),
    _set("phases", {}), _set("phases", "step", "duration_s", 0.0), _set("phases", "step", "energy_j", 0.0),
    _empty_timeline, _one_point, _no_points, _set("timeline", "spans", []),
    _set("timeline", "spans", [{"name": "x", "start_s": -1e300, "end_s": 1e300, "depth": 0}]),
    _set("components", {}), _only("cpu"), _only("gpu"),
    _set("components", "gpu", "uncertainty", {"central": 100.0, "low": 0.0, "high": 1e300}),
    _set("status", "failed"), _set("status", "interrupted"), _set("status", "running"), _set("checkpoint", True),
    _set("meta", {}), _set("meta", {"task": None}), _set("meta", {"task": ["a", {"b": 1}]}),
    _set("attachments", {}), _set("scope", "process"),
]  # fmt: skip


@st.composite
def accepted_records(draw) -> dict:
    data = json.loads(VALID_TEXT)
    data["attachments"] = {}  # the seed's footprint is deliberately corrupt (see above)
    for mutate in draw(st.lists(st.sampled_from(_ACCEPTED_MUTATIONS), min_size=1, max_size=5)):
        try:
            mutate(data)
        except (KeyError, TypeError):
            pass  # an earlier mutation removed what this one changes
    if draw(st.booleans()):
        data["name"] = draw(st.sampled_from(_HOSTILE_NAMES) | st.text(max_size=20))
    if draw(st.booleans()) and data["phases"]:
        name = draw(st.sampled_from(_HOSTILE_NAMES))
        data["phases"] = {name: dict(next(iter(data["phases"].values())), name=name)}
        for span in data["timeline"]["spans"]:
            span["name"] = name
    return data


class _Runs:
    """Record files for the pipeline tests, one fresh folder per example."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def folder(self) -> Path:
        self.n += 1
        folder = self.root / f"ex{self.n}"
        folder.mkdir()
        return folder

    def write(self, data: dict) -> tuple[Path, Path]:
        """(the fuzzed record, the seed record) in a new folder; the fuzzed one is loader-accepted."""
        folder = self.folder()
        path, seed = folder / "fuzzed.json", folder / "seed.json"
        path.write_text(json.dumps(data))
        seed_data = json.loads(VALID_TEXT)
        seed_data["attachments"] = {}
        seed.write_text(json.dumps(seed_data))
        try:
            load_record(path)
        except RecordError:
            from hypothesis import reject

            reject()
        return path, seed


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> _Runs:
    return _Runs(tmp_path_factory.mktemp("pipeline"))


def _cli(*argv: str) -> int:
    """``ecometer ARGV`` in-process: its exit code; a traceback fails the test."""
    import contextlib
    import io

    from ecometer.commands.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        code = main(list(argv))
    assert code in (0, 1, 2), f"exit {code}: {err.getvalue()[-500:]}"
    assert "Traceback" not in err.getvalue()
    return code


@PIPELINE
@given(accepted_records())
def test_report_handles_every_record_the_loader_accepts(runs, data):
    path, _ = runs.write(data)
    _cli("report", str(path), "--out", str(path.parent / "report"))


@PIPELINE
@given(accepted_records())
def test_compare_handles_every_record_the_loader_accepts(runs, data):
    path, seed = runs.write(data)
    _cli("compare", str(path), str(seed), "--table", "--out", str(path.parent / "compare.png"))


@COMMANDS
@given(accepted_records())
def test_score_handles_every_record_the_loader_accepts(runs, data):
    path, _ = runs.write(data)
    for standard in ("ecometer-training", "ecometer-inference", "ai-energy-score-style"):
        _cli("score", str(path), "--standard", standard, "--json")


@COMMANDS
@given(accepted_records())
def test_calibrate_handles_every_record_the_loader_accepts(runs, data):
    path, seed = runs.write(data)
    _cli("calibrate", str(path), str(seed), "--metric", "it_energy_j", "--per", "run", "--no-classes",
         "--out", str(path.parent / "std.toml"))  # fmt: skip
