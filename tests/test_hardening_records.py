"""Issue 27, "data lost": records never overwrite each other, device nodes and FIFOs are never
replaced, the temporary fallback folder is private, a deleted working folder loses nothing.
Real subprocesses, real FIFOs and device nodes (a device node needs root: skipped otherwise).
Each test failed before the change it covers.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_cli_run import ENV

import ecometer
from ecometer.files.atomic import write_atomic
from ecometer.measuring.paths import fallback_paths, private_temp_dir, record_path
from ecometer.record.model import load_record
from ecometer.sensors.replay import ReplaySensor

# a process that meters a short job with out="auto"; ``pid`` pretends to be PID 1 of its container
AUTO_JOB = """
import os, sys, time
os.getpid = lambda: 1  # three containers: each ecometer is PID 1
import ecometer
from ecometer.sensors.replay import ReplaySensor
go = float(sys.argv[1])
while time.time() < go:
    time.sleep(0.001)
with ecometer.measure("sweep", sensors=[ReplaySensor([(0, 5.0)])], interval_s=0.01) as m:
    m.add_work(1, "step")
print(m.path)
"""


def test_records_of_processes_with_the_same_pid_in_the_same_second_never_overwrite(tmp_path):
    import time

    env = dict(ENV, ECOMETER_DIR=str(tmp_path / "runs"))
    go = f"{time.time() + 1.0:.3f}"  # all start together, within one UTC second
    procs = [
        subprocess.Popen([sys.executable, "-c", AUTO_JOB, go], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    printed = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    records = sorted((tmp_path / "runs").glob("sweep-*.json"))
    assert len(records) == 4 and len(set(printed)) == 4  # before: 1 record of 4, every process printing its path
    assert {Path(p).name for p in printed} == {p.name for p in records}
    assert not list((tmp_path / "runs").glob("*.partial"))


def test_a_taken_name_is_chosen_again_never_replaced(tmp_path, monkeypatch):
    """The name claimed at start (its checkpoint, created exclusively) and at the end (the record)."""
    import ecometer.measuring.paths as meter_module

    monkeypatch.setattr(meter_module.secrets, "token_hex", lambda n: "feedbeef")  # every name the same
    monkeypatch.setenv("ECOMETER_DIR", str(tmp_path))
    with ecometer.measure("same", sensors=[ReplaySensor([(0, 1.0)])], interval_s=0.01) as first:
        pass
    original = first.path.read_bytes()
    real = meter_module.renamed
    monkeypatch.setattr(meter_module, "renamed", lambda p: real(p).with_name(real(p).name.replace("feedbeef", "cafe")))
    with ecometer.measure("same", sensors=[ReplaySensor([(0, 1.0)])], interval_s=0.01) as second:
        pass
    assert first.path.read_bytes() == original  # before: replaced by the second record
    assert second.path != first.path and second.path.exists()


def test_exclusive_write_never_replaces_a_file_nor_follows_a_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "planted.json"
    link.symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_atomic(link, "{}", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomic(victim, "{}", exclusive=True)
    assert victim.read_text() == "precious" and link.is_symlink()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    fresh = write_atomic(tmp_path / "new.json", "{}", exclusive=True)
    assert fresh.read_text() == "{}"


def test_the_distributed_job_record_name_is_unique():
    a, b = (record_path("auto", "job", suffix="job") for _ in range(2))
    assert a != b  # before: <name>-<UTC second>-job.json for every job of a sweep


# ---- device nodes and FIFOs -----------------------------------------------------------------------
def _run(*args: str, cwd: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ecometer", "run", *args],
        env=dict(ENV, ECOMETER_DIR=str(cwd / "runs")),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        **kw,
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_as_out_is_written_into_never_replaced(tmp_path):
    null = tmp_path / "null"
    os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    done = _run("--out", str(null), "--", "true", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)  # before: replaced by a 7 KB JSON file
    assert not (tmp_path / "null.partial").exists() and not list(tmp_path.rglob("*.partial"))


def test_a_fifo_as_out_gets_the_record_streamed(tmp_path):
    fifo = tmp_path / "record.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = _run("--out", str(fifo), "--", "true", cwd=tmp_path)
    reader.join(30)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert json.loads(got[0])["status"] == "ok"
    assert not list(tmp_path.rglob("*.partial"))


def test_a_fifo_nobody_reads_falls_back_and_stays_a_fifo(tmp_path):
    fifo = tmp_path / "record.fifo"
    os.mkfifo(fifo)
    done = _run("--out", str(fifo), "--", "true", cwd=tmp_path)
    assert done.returncode == 74 and "nobody reads" in done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    (saved,) = (tmp_path / "runs").glob("true-*.json")
    assert load_record(saved).status == "ok"


def test_out_dev_stdout_into_a_pipe_works(tmp_path):
    done = _run("--out", "/dev/stdout", "--", "true", cwd=tmp_path)  # stdout is a pipe here
    assert done.returncode == 0, done.stderr  # before: exit 74, saved to a fallback
    assert json.loads(done.stdout)["status"] == "ok"
    assert not list(tmp_path.rglob("*.json*"))  # no checkpoint left in the fallback folder either


@pytest.mark.parametrize("kind", ["block", "socket"])
def test_a_block_device_or_a_socket_is_refused(tmp_path, kind):
    import socket

    path = tmp_path / "node"
    if kind == "block":
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root")
        os.mknod(path, stat.S_IFBLK | 0o600, os.makedev(7, 200))
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
    with pytest.raises(OSError, match="never written onto one"):
        write_atomic(path, "{}")
    assert not stat.S_ISREG(os.lstat(path).st_mode)


# ---- the temporary fallback folder ------------------------------------------------------------------
def test_the_temporary_fallback_folder_is_private_and_names_are_unpredictable(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    folder = private_temp_dir()
    assert folder == tmp_path / "ecometer-runs"
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700 and os.lstat(folder).st_uid == os.getuid()
    a, b = (fallback_paths("x", tmp_path / "elsewhere" / "x.json")[1] for _ in range(2))
    assert a != b and a.parent == folder  # before: ecometer-runs/<name>-<second>-<pid>.json, the same twice


def test_a_planted_symlink_folder_or_one_of_another_user_is_not_used(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "ecometer-runs").symlink_to(victim)
    folder = private_temp_dir()
    assert folder.parent == tmp_path and folder.name.startswith("ecometer-runs-") and not folder.is_symlink()
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    if os.geteuid() == 0:  # a real folder another user made
        (tmp_path / "ecometer-runs").unlink()
        (tmp_path / "ecometer-runs").mkdir(mode=0o777)
        os.chown(tmp_path / "ecometer-runs", 65534, 65534)
        assert private_temp_dir() != tmp_path / "ecometer-runs"


def test_a_symlink_planted_where_the_record_goes_is_never_followed(tmp_path, monkeypatch):
    """Every name in the fallback folders is created exclusively: a link planted under it is not followed."""
    import itertools
    import secrets

    import ecometer.measuring.paths as meter_module

    real = secrets.token_hex
    guessed = itertools.chain(["0badc0de"] * 2, iter(lambda: real(4), None))  # the first names guessed
    monkeypatch.setattr(meter_module.secrets, "token_hex", lambda n: next(guessed))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    unwritable = tmp_path / "file"
    unwritable.write_text("")
    monkeypatch.setenv("ECOMETER_DIR", str(unwritable / "sub"))  # the first fallback fails
    name = record_path("auto", "x", suffix=str(os.getpid())).name
    private = private_temp_dir()
    (private / name).symlink_to(victim)
    (private / (name + ".partial")).symlink_to(victim)
    with ecometer.measure("x", sensors=[ReplaySensor([(0, 1.0)])], interval_s=0.01, out=unwritable / "r.json") as m:
        pass
    assert victim.read_text() == "precious"
    assert m.path is not None and m.path.parent == private and not m.path.is_symlink()
    assert load_record(m.path).status == "ok"


# ---- a deleted working folder ---------------------------------------------------------------------
DELETED_CWD_JOB = """
import os, shutil, sys
import ecometer
from ecometer.sensors.replay import ReplaySensor
os.chdir(sys.argv[1])
if sys.argv[2] == "before":
    shutil.rmtree(sys.argv[1])
with ecometer.measure("gone", sensors=[ReplaySensor([(0, 2.0)])], interval_s=0.01) as m:
    m.add_work(3, "step")
    if sys.argv[2] == "mid-run":
        shutil.rmtree(sys.argv[1])
print(m.path)
print(m.record.status, m.record.work)
"""


@pytest.mark.parametrize("when", ["before", "mid-run"])
def test_a_deleted_working_folder_loses_no_record(tmp_path, when):
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in ENV.items() if k != "ECOMETER_DIR"}
    env["TMPDIR"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", DELETED_CWD_JOB, str(work), when], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr  # before: FileNotFoundError raised into the job / from stop()
    path, outcome = done.stdout.splitlines()
    assert outcome == "ok {'step': 3.0}"
    assert Path(path).parent == tmp_path / "ecometer-runs" and load_record(path).status == "ok"
    assert "working folder was deleted" in " ".join(load_record(path).warnings)


def test_ecometer_run_in_a_deleted_working_folder_runs_the_command(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in ENV.items() if k != "ECOMETER_DIR"}
    env["TMPDIR"] = str(tmp_path)
    marker = tmp_path / "ran"
    script = f"cd {work} && rmdir {work} && exec {sys.executable} -m ecometer run -- touch {marker}"
    done = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert marker.exists(), done.stderr  # before: exit 2, the command not run
    assert done.returncode == 74 and "working folder was deleted" in done.stderr
    (saved,) = (tmp_path / "ecometer-runs").glob("touch-*.json")
    assert load_record(saved).status == "ok"


# ---- every rank of a distributed job checkpoints by default ----------------------------------------------
def test_every_rank_checkpoints_by_default_so_a_killed_rank_zero_leaves_a_record(tmp_path):
    import time

    dist = pytest.importorskip("torch.distributed")
    from ecometer import measure_distributed
    from ecometer.distributed import merge_files

    store = dist.HashStore()
    out = tmp_path / "job.json"
    meters = {}

    def env(rank):
        return {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": "2",
                "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29511"}  # fmt: skip

    for rank in (0, 1):
        m = measure_distributed(
            "killed0", store=store, env=env(rank), out=out, sensors=[ReplaySensor([(0, 10.0)], device=f"gpu:{rank}")],
            interval_s=0.01, work_unit="sample", checkpoint_interval_s=0.05,
        )  # fmt: skip
        m.start()
        m.add_work(5 * (rank + 1))
        meters[rank] = m
    time.sleep(0.3)
    (parts,) = tmp_path.glob("killed0-parts-*")  # before: no parts= meant no checkpoint on any rank
    partials = sorted(p.name for p in parts.glob("*.partial"))
    assert partials == ["killed0.rank00000.json.partial", "killed0.rank00001.json.partial"]
    # rank 0 is "killed" here: what it leaves is enough to make the job's record
    merged = merge_files(sorted(parts.glob("*.partial")))
    assert merged.work == {"sample": 15.0} and merged.distributed["ranks_reported"] == [0, 1]
    assert merged.distributed["complete"] is False
    import threading

    threads = [threading.Thread(target=m.stop) for m in meters.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert load_record(out).distributed["complete"] is True


def test_a_job_of_one_process_has_no_default_parts_folder(tmp_path):
    from ecometer import measure_distributed

    m = measure_distributed("solo", env={}, out=tmp_path / "r.json", sensors=[ReplaySensor([(0, 1.0)])])
    with m:
        pass
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_rank_zero_counts_the_checkpoint_of_a_rank_that_does_not_report(tmp_path):
    """A rank blocked (in a collective) or dead when rank 0 gathers: its latest checkpoint is counted."""
    import time

    dist = pytest.importorskip("torch.distributed")
    from ecometer import measure_distributed

    store = dist.HashStore()
    out = tmp_path / "job.json"
    meters = {}
    for rank in (0, 1):
        env = {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": "2",
               "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29512"}  # fmt: skip
        meters[rank] = measure_distributed(
            "blocked", store=store, env=env, out=out, sensors=[ReplaySensor([(0, 10.0)], device=f"gpu:{rank}")],
            interval_s=0.01, work_unit="sample", checkpoint_interval_s=0.05, gather_timeout_s=0.3,
        )  # fmt: skip
        meters[rank].start()
        meters[rank].add_work(5 * (rank + 1))
    time.sleep(0.3)  # rank 1's checkpoint holds its work
    job = meters[0].stop()  # rank 1 never reports
    d = job.distributed
    assert d["ranks_reported"] == [0, 1] and d["missing_ranks"] == [] and d["complete"] is False  # before: [1] missing
    assert job.work == {"sample": 15.0}
    assert any("latest checkpoint" in w for w in job.warnings)
    meters[1].stop()


def test_two_fits_that_picked_the_same_file_at_once_keep_both_records(tmp_path, monkeypatch):
    """The callbacks' unused path is checked, then written: two fits at once could pick the same one."""
    from ecometer.integrations import fit as _fit

    monkeypatch.setattr(_fit, "unused_record_path", lambda folder, stem: str(tmp_path / f"{stem}.json"))
    fits = [_fit.FitMeter("race", meter_kwargs={"sensors": [ReplaySensor([(0, 1.0)])], "interval_s": 0.01})
            for _ in range(2)]  # fmt: skip
    for n, fit in enumerate(fits):
        fit.start(out_dir=str(tmp_path), world_size=1, is_main=True)
        fit.add_work(n + 1, None)
    records = [fit.stop() for fit in fits]
    paths = sorted(tmp_path.glob("ecometer-race*.json"))
    assert len(paths) == 2  # before: the second fit's record replaced the first's
    assert sorted(load_record(p).work["sample"] for p in paths) == [1.0, 2.0]
    assert {fit.path for fit in fits} == {str(p) for p in paths} and all(r is not None for r in records)
