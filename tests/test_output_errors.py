"""Outputs that cannot be written: one clear line naming the path and the OS reason, exit 2,
and the previous file intact (every output is written atomically: temporary file and rename).

The full and read-only disks are real: a small tmpfs mounted for the test (filled up, then
remounted read-only), skipped where mounting is not permitted. As root, ``chmod`` does not
stop writes, so a read-only mount is the only honest read-only output.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_standards import BASE, make_record

from ecometer.commands.cli import main
from ecometer.files.atomic import write_atomic
from ecometer.record.model import load_record

FULL = "No space left on device"
READ_ONLY = "Read-only file system"


class SmallDisk:
    """A 1 MiB tmpfs at ``root``: fill it up, or remount it read-only."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def fill(self) -> None:
        """Write zeros until the file system says it is full (ENOSPC)."""
        with open(self.root / "filler", "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC

    def read_only(self) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(self.root)], check=True, capture_output=True)

    def files(self) -> set[str]:
        return {p.name for p in self.root.rglob("*")}


@pytest.fixture
def disk(tmp_path):
    root = tmp_path / "disk"
    root.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(root)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True)


@pytest.fixture
def runs(tmp_path):
    """Ten records (IT energy per token 0.5 ... 3.1 J) and a small standard."""
    folder = tmp_path / "runs"
    for i, v in enumerate([0.5, 0.9, 1.2, 1.6, 2.2, 2.8, 3.1, 0.7, 1.4, 2.5]):
        make_record(f"run-{i:03d}", gpu_j=v * 1000, work={"token": 1000}).save(folder / f"run-{i:03d}.json")
    std = tmp_path / "std.toml"
    std.write_text(BASE)
    return folder, std


def _one_line(capsys, *parts: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


def _commands(disk: SmallDisk, runs: Path, std: Path) -> list[tuple[list[str], Path, str]]:
    """(argv, the output it writes, what the error says it was doing) for each command that writes."""
    root = disk.root
    return [
        (
            ["calibrate", str(runs), "--metric", "it_energy_j", "--per", "token", "--bands", "3", "--no-classes"]
            + ["--out", str(root / "std.toml")],
            root / "std.toml",
            "cannot write the standard to",
        ),
        (
            ["score", str(root / "rec.json"), "--standard", str(std), "--attach"],
            root / "rec.json",
            "cannot attach the assessment to",
        ),
        (
            ["standard", "sensitivity", str(std), str(runs), "--metric", "e", "--thresholds", "0.8,2.4"]
            + ["--chart", str(root / "edges.png")],
            root / "edges.png",
            "cannot write the chart to",
        ),
        (
            ["corpus", "import", "ai-energy-score-2025-02", "--out", str(root / "aes")],
            root / "aes" / "entries.jsonl",
            "cannot write the corpus to",
        ),
    ]


def _previous_files(disk: SmallDisk) -> dict[Path, bytes]:
    """The outputs as a previous run left them (the record is a real one: score reads it first)."""
    record = make_record("rec", gpu_j=1500.0, work={"token": 1000}).to_json().encode()
    previous = {
        disk.root / "std.toml": b"# the previous standard\n",
        disk.root / "rec.json": record,
        disk.root / "edges.png": b"\x89PNG the previous chart",
        disk.root / "aes" / "entries.jsonl": b'{"previous": true}\n',
    }
    for path, data in previous.items():
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    return previous


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_every_writing_command_on_a_full_or_read_only_disk(disk, runs, capsys, fault):
    folder, std = runs
    previous = _previous_files(disk)
    disk.fill()
    if fault == "read-only":
        disk.read_only()
    before = disk.files()
    reason = FULL if fault == "full" else READ_ONLY
    for argv, target, doing in _commands(disk, folder, std):
        assert main(argv) == 2, argv
        _one_line(capsys, f"{doing} {target}: {reason}")
        assert {p: p.read_bytes() for p in previous} == previous  # every previous file, untouched
        assert disk.files() == before  # and no temporary file left behind
    assert load_record(disk.root / "rec.json").assessment is None
    if fault == "full":  # a corpus folder that did not exist is not left behind, empty
        assert main(["corpus", "import", "ai-energy-score-2025-02", "--out", str(disk.root / "new")]) == 2
        _one_line(capsys, f"cannot write the corpus to {disk.root / 'new' / 'entries.jsonl'}: {FULL}")
        assert not (disk.root / "new").exists()


def test_space_freed_then_the_same_commands_write(disk, runs, capsys):
    """The same invocations succeed once there is room: the failures above were the disk's."""
    folder, std = runs
    _previous_files(disk)
    for argv, target, _ in _commands(disk, folder, std):
        assert main(argv) in (0, 1), argv  # score exits 1 when a hard limit fails; none here
        assert target.stat().st_size > 0
    capsys.readouterr()
    assert load_record(disk.root / "rec.json").assessment.grade == "B"


def test_calibrate_out_is_a_folder_or_under_a_file(runs, tmp_path, capsys):
    folder, _ = runs
    args = ["calibrate", str(folder), "--metric", "it_energy_j", "--per", "token", "--bands", "3", "--no-classes"]
    assert main([*args, "--out", str(folder)]) == 2
    _one_line(capsys, f"cannot write the standard to {folder}: Is a directory")
    a_file = tmp_path / "plain"
    a_file.write_text("x")
    assert main([*args, "--out", str(a_file / "std.toml")]) == 2
    _one_line(capsys, f"cannot write the standard to {a_file / 'std.toml'}: {a_file} exists and is not a folder")
    assert a_file.read_text() == "x"


def test_write_atomic_writes_text_and_bytes_and_keeps_a_symlink(tmp_path):
    text = write_atomic(tmp_path / "a.txt", "été\n")
    assert text.read_bytes() == "été\n".encode()
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    assert write_atomic(link, b"\x89PNG new") == link
    assert link.is_symlink() and real.read_bytes() == b"\x89PNG new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "link.png", "real.png"]


def test_demo_on_a_read_only_disk(disk, capsys):
    """``ecometer demo`` measures, then cannot write its record and report: one line, exit 2."""
    disk.read_only()
    out = disk.root / "demo"
    assert main(["demo", "--scale", "0.05", "--no-gpu", "--out", str(out)]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]  # the meter's own warnings come first
    assert last == f"ecometer demo: error: cannot write the demo to {out}: {READ_ONLY}"
    assert disk.files() == set()
