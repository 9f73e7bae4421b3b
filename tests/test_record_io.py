"""Record files: how they are written (mode, atomicity, symlinks, odd meta) and what the loader refuses.

Each test here failed before the change it covers (issue 16): records were always written 0600,
a symlink was replaced by a regular file, unknown fields were dropped on re-save, a meta value of
10**5000 made the record unwritable, a FIFO hung the loader, and records with inverted bounds,
negative or non-finite energies or a timeline series longer than its times were accepted.
"""

from __future__ import annotations

import json
import math
import os
import stat
import threading
from pathlib import Path

import pytest

import ecometer.record.model as record_module
from ecometer.commands.cli import main
from ecometer.errors import RecordError
from ecometer.files.atomic import write_atomic
from ecometer.files.textfile import read_text_file
from ecometer.measuring.meter import Meter
from ecometer.record.model import RunRecord, checkpoint_path, load_record
from ecometer.sensors.replay import ReplaySensor


class Clock:
    def __init__(self) -> None:
        self.t = 10.0

    def __call__(self) -> float:
        return self.t


def measured(meta: dict | None = None, out: Path | None = None) -> RunRecord:
    """A small real record: a 100 W replay sensor for 1 s (100 J), 8 samples of work."""
    clock = Clock()
    sensor = ReplaySensor([(0, 100)], method="counter", clock=clock, uncertainty=(0.05, 0.05))
    m = Meter("io", sensors=[sensor], clock=clock, background=False, out=out, meta=meta or {})
    m.start()
    with m.phase("step"):
        clock.t += 1.0
        m.sample_now()
    m.add_work(8, "sample")
    return m.stop()


@pytest.fixture
def umask():
    def set_mask(mask: int) -> None:
        os.umask(mask)

    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ---- writing ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_records_get_the_mode_the_umask_gives(tmp_path, umask, mask, expected):
    umask(mask)
    path = measured().save(tmp_path / "r.json")
    assert mode_of(path) == expected


def test_an_existing_record_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "r.json"
    rec = measured()
    rec.save(path)
    path.chmod(0o640)
    umask(0o000)
    rec.save(path)
    assert mode_of(path) == 0o640


def test_saving_through_a_symlink_updates_its_target(tmp_path):
    target = tmp_path / "store" / "real.json"
    target.parent.mkdir()
    rec = measured()
    rec.save(target)
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    rec.meta["note"] = "second save"
    rec.save(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["meta"]["note"] == "second save"
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.json"]  # no temp file left


def test_a_failed_write_leaves_the_old_record_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "r.json"
    write_atomic(path, '{"old": 1}')

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(path, '{"new": 2}')
    assert path.read_text() == '{"old": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_unknown_fields_survive_load_and_save(tmp_path):
    path = tmp_path / "r.json"
    data = measured().to_dict()
    data["from_a_newer_version"] = {"kept": [1, 2]}
    data["components"]["gpu"]["calibration"] = "lab-2027"
    data["timeline"]["resampled"] = True
    path.write_text(json.dumps(data))
    load_record(path).save(path)
    saved = json.loads(path.read_text())
    assert saved["from_a_newer_version"] == {"kept": [1, 2]}
    assert saved["components"]["gpu"]["calibration"] == "lab-2027"
    assert saved["timeline"]["resampled"] is True


def test_score_attach_keeps_unknown_fields_and_the_symlink(tmp_path, capsys):
    real = tmp_path / "real.json"
    data = measured().to_dict()
    data["from_a_newer_version"] = 42
    real.write_text(json.dumps(data))
    link = tmp_path / "run.json"
    link.symlink_to(real)
    assert main(["score", str(link), "--standard", "ecometer-training", "--attach"]) in (0, 1)
    capsys.readouterr()
    assert link.is_symlink()
    saved = json.loads(real.read_text())
    assert saved["from_a_newer_version"] == 42 and "assessment" in saved["attachments"]


def test_a_huge_integer_in_meta_does_not_make_the_record_unwritable(tmp_path):
    out = tmp_path / "r.json"
    rec = measured(meta={"big": 10**5000, "small": 2**70, "nan": math.nan, "inf": -math.inf, 10**400: "key"}, out=out)
    assert not any("cannot write" in w for w in rec.warnings)
    back = load_record(out)
    assert back.energy_j == pytest.approx(100.0)
    assert back.meta["big"].startswith("<integer of about 5001 digits: too large for a record")
    assert back.meta["small"] == 2**70  # within a float's range: kept as a number
    assert back.meta["nan"] is None and back.meta["inf"] is None
    assert any(k.startswith("<integer of about 401 digits") for k in back.meta)


def test_a_huge_integer_in_meta_keeps_checkpoints_written(tmp_path):
    out = tmp_path / "r.json"
    clock = Clock()
    m = Meter("ck", sensors=[ReplaySensor([(0, 50)], clock=clock)], clock=clock, background=False, out=out,
              meta={"big": -(10**5000)}, checkpoint_interval_s=0.5)  # fmt: skip
    m.start()
    clock.t += 1.0
    m.sample_now()
    assert checkpoint_path(out).exists()
    assert load_record(out).meta["big"].startswith("<integer of about -5001 digits")  # read from the checkpoint
    m.stop()


# ---- reading only regular files, with a size limit ---------------------------------------------
def _load_in_thread(path: Path, timeout: float = 5.0) -> BaseException | None:
    result: list[BaseException | None] = []

    def load() -> None:
        try:
            load_record(path)
            result.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            result.append(exc)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # unblock a reader stuck on a FIFO before failing
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail(f"load_record({path}) did not return within {timeout} s")
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_as_a_record_fails_fast(tmp_path):
    fifo = tmp_path / "run.json"
    os.mkfifo(fifo)
    exc = _load_in_thread(fifo)
    assert isinstance(exc, RecordError) and f"{fifo}: not a regular file (a FIFO)" in str(exc)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_dev_zero_as_a_record_fails_fast():
    exc = _load_in_thread(Path("/dev/zero"))
    assert isinstance(exc, RecordError) and "not a regular file (a character device)" in str(exc)


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = measured().save(tmp_path / "r.json")
    monkeypatch.setattr(record_module, "MAX_RECORD_BYTES", 1024)
    with pytest.raises(RecordError, match=r"r\.json: larger than .*; that is not a record"):
        load_record(path)
    assert read_text_file(path, 10**6).startswith("{")


def test_a_record_that_is_not_utf8_names_the_byte(tmp_path):
    path = tmp_path / "r.json"
    path.write_bytes(b'{"name": "\xff"}')
    with pytest.raises(RecordError, match=r"r\.json: not UTF-8 text at byte 10"):
        load_record(path)


# ---- what the loader checks --------------------------------------------------------------------
def _record_file(tmp_path: Path, change) -> Path:
    data = measured().to_dict()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


def set_field(*keys_and_value):
    """A change of a record dict: ``set_field("components", "gpu", "energy_j", -5.0)``."""
    *keys, value = keys_and_value

    def change(data: dict) -> None:
        node = data
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    "change, message",
    [
        (
            set_field("components", "gpu", "uncertainty", "low", 500.0),
            r"components\.gpu\.uncertainty has low 500\.0, central 100\.0, high 105\.0; expected low <= central <= high",
        ),
        (
            set_field("components", "gpu", "uncertainty", "high", 1.0),
            r"components\.gpu\.uncertainty has .*expected low <= central <= high",
        ),
        (set_field("components", "gpu", "energy_j", -5.0), r"components\.gpu\.energy_j is -5\.0, expected a finite number >= 0"),
        (set_field("components", "gpu", "uncertainty", "low", -1.0), r"components\.gpu\.uncertainty\.low is -1\.0, expected a fi"),
        (set_field("components", "gpu", "devices", "gpu:0", math.inf), r"components\.gpu\.devices\.gpu:0 is inf, expected a fin"),
        (set_field("duration_s", math.nan), r"duration_s is nan, expected a finite number"),
        (set_field("duration_s", None), r"duration_s is null \(a number that was not finite when saved\)"),
        (set_field("duration_s", -1), r"duration_s is -1, expected a finite number >= 0"),
        (set_field("phases", "step", "energy_j", math.inf), r"phases\.step\.energy_j is inf"),
        (set_field("phases", "step", "count", -2), r"phases\.step\.count is -2, expected an integer >= 0"),
        (set_field("work", "sample", -5), r"work\.sample is -5, expected a finite number >= 0"),
        (
            lambda d: d["timeline"]["power_w"]["gpu:0"].extend([1.0, 2.0]),
            r"timeline\.power_w\.gpu:0 has \d+ values for \d+ times \(timeline\.t_s\); expected one value",
        ),
        (lambda d: d["timeline"]["t_s"].pop(), r"timeline\.power_w\.gpu:0 has \d+ values for \d+ times"),
        (lambda d: d["timeline"]["t_s"].__setitem__(0, math.inf), r"timeline\.t_s\[0\] is inf"),
        (lambda d: d["timeline"]["power_w"]["gpu:0"].__setitem__(0, -3.0), r"timeline\.power_w\.gpu:0\[0\] is -3\.0"),
        (
            set_field("timeline", "spans", 0, "end_s", -1.0),
            r"timeline\.spans\[0\]\.end_s is -1\.0, expected a time >= its start_s",
        ),
        (lambda d: d.pop("name"), r"malformed record: it has no 'name'"),
        (set_field("name", 3), r"malformed record: name is 3, expected a string"),
        (set_field("status", "done"), r"malformed record: status is 'done', expected one of \("),
    ],
    ids=[
        "low-above-central",
        "high-below-central",
        "negative-energy",
        "negative-low-bound",
        "infinite-device-energy",
        "nan-duration",
        "null-duration",
        "negative-duration",
        "infinite-phase-energy",
        "negative-count",
        "negative-work",
        "series-longer-than-times",
        "times-shorter-than-series",
        "infinite-time",
        "negative-power",
        "span-ends-before-start",
        "missing-name",
        "name-not-a-string",
        "unknown-status",
    ],
)
def test_the_loader_refuses_inconsistent_records_naming_file_and_field(tmp_path, change, message):
    path = _record_file(tmp_path, change)
    with pytest.raises(RecordError, match=rf"^{path}: .*{message}"):
        load_record(path)


def test_the_measured_record_itself_loads(tmp_path):
    path = measured().save(tmp_path / "r.json")
    back = load_record(path)
    assert back.energy_j == pytest.approx(100.0) and back.work == {"sample": 8.0}
    assert back.to_dict() == json.loads(path.read_text())
