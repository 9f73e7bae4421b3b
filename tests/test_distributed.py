"""Distributed metering: rank discovery, gathering through a store, and real torchrun jobs.

The torchrun jobs run tests/dist_worker.py on CPU with the gloo backend. Every rank meters a
scripted GPU of ``100 * (rank + 1)`` W and offers host sensors (CPU 20 W, DRAM 5 W) that only
a node's local rank 0 may use, so the job's totals are known exactly from each rank's
duration.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ecometer import measure_distributed
from ecometer.distributed import RankInfo, rank_info
from ecometer.errors import InputError
from ecometer.record.model import load_record
from ecometer.sensors.replay import ReplaySensor

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "dist_worker.py"
GPU_W = 100.0  # rank r draws GPU_W * (r + 1)
CPU_W, DRAM_W = 20.0, 5.0


# ---- where a process sits in the job ----------------------------------------------------
@pytest.mark.parametrize(
    "env,expected",
    [
        ({}, RankInfo(0, 1, 0, 1, None, "h", "none")),
        (
            {"RANK": "5", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "4", "GROUP_RANK": "1"},
            RankInfo(5, 8, 1, 4, 1, "h", "torchrun"),
        ),
        (
            {
                "OMPI_COMM_WORLD_RANK": "3",
                "OMPI_COMM_WORLD_SIZE": "4",
                "OMPI_COMM_WORLD_LOCAL_RANK": "1",
                "OMPI_COMM_WORLD_LOCAL_SIZE": "2",
            },
            RankInfo(3, 4, 1, 2, None, "h", "openmpi"),
        ),
        (
            {"PMI_RANK": "2", "PMI_SIZE": "3", "MPI_LOCALRANKID": "0", "MPI_LOCALNRANKS": "1"},
            RankInfo(2, 3, 0, 1, None, "h", "pmi"),
        ),
        (
            {"SLURM_PROCID": "7", "SLURM_NTASKS": "16", "SLURM_LOCALID": "3", "SLURM_NODEID": "1"},
            RankInfo(7, 16, 3, None, 1, "h", "slurm"),
        ),
        # torchrun inside an srun step: the worker's RANK wins over the agent's task id
        (
            {"SLURM_PROCID": "1", "SLURM_NTASKS": "2", "RANK": "6", "WORLD_SIZE": "8", "LOCAL_RANK": "2"},
            RankInfo(6, 8, 2, None, None, "h", "torchrun"),
        ),
    ],
)
def test_rank_info_from_launcher_environment(env, expected):
    assert rank_info(env, hostname="h") == expected


@pytest.mark.parametrize(
    "env,match",
    [
        ({"RANK": "x", "WORLD_SIZE": "2"}, "RANK='x'"),
        ({"RANK": "2", "WORLD_SIZE": "2"}, "not below WORLD_SIZE=2"),
        ({"RANK": "0"}, "WORLD_SIZE is not"),
        ({"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "-1"}, "LOCAL_RANK"),
    ],
)
def test_bad_launcher_environment_is_a_clear_error(env, match):
    with pytest.raises(InputError, match=match):
        rank_info(env, hostname="h")


# ---- gathering through a store, ranks as threads of this process ------------------------------
def _env(rank: int, world: int, local: int, local_world: int, node: int) -> dict[str, str]:
    return {
        "RANK": str(rank),
        "WORLD_SIZE": str(world),
        "LOCAL_RANK": str(local),
        "LOCAL_WORLD_SIZE": str(local_world),
        "GROUP_RANK": str(node),
    }


def _host_sensors() -> list[ReplaySensor]:
    return [
        ReplaySensor([(0, CPU_W)], component="cpu", device="cpu"),
        ReplaySensor([(0, DRAM_W)], component="dram", device="dram"),
    ]


def _run_ranks(store, envs, out, *, hold=(), timeout=10.0, seconds=0.2, name="threads"):
    """Run one metered 'rank' per env in threads; ranks in ``hold`` never stop. Returns meters."""
    meters = {}
    started = threading.Barrier(len(envs))

    def rank_job(env):
        rank = int(env["RANK"])
        m = measure_distributed(
            name,
            store=store,
            env=env,
            out=out if rank == 0 else None,
            gather_timeout_s=timeout,
            sensors=[ReplaySensor([(0, GPU_W * (rank + 1))], device=f"gpu:{env['LOCAL_RANK']}")],
            host_sensors=_host_sensors,
            interval_s=0.02,
            work_unit="sample",
        )
        meters[rank] = m
        m.start()
        started.wait()
        with m.phase("step"):
            time.sleep(seconds)
        m.add_work(10 * (rank + 1))
        if rank not in hold:
            m.stop()

    threads = [threading.Thread(target=rank_job, args=(env,)) for env in envs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return meters


def _expected(parts):
    """Exact job totals from the ranks' own durations: GPU per rank, host per metering rank."""
    gpu = sum(GPU_W * (r["rank"] + 1) * r["duration_s"] for r in parts)
    cpu = sum(CPU_W * r["duration_s"] for r in parts if r["host_sensors"])
    return gpu, cpu


def test_store_gather_merges_ranks_and_counts_each_host_once(tmp_path):
    import torch.distributed as dist

    store = dist.HashStore()
    envs = [_env(0, 4, 0, 2, 0), _env(1, 4, 1, 2, 0), _env(2, 4, 0, 2, 1), _env(3, 4, 1, 2, 1)]
    out = tmp_path / "job.json"
    meters = _run_ranks(store, envs, out)
    job = load_record(out)
    d = job.distributed
    assert job.status == "ok" and d["complete"] and d["missing_ranks"] == []
    assert d["ranks_reported"] == [0, 1, 2, 3] and d["world_size"] == 4
    ranks = d["ranks"]
    gpu, cpu = _expected(ranks)
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)
    assert job.components["cpu"].energy_j == pytest.approx(cpu, rel=1e-9)
    assert [r["host_sensors"] for r in ranks] == [True, False, True, False]
    # each rank's own figure is exactly its power times its duration
    for r in ranks:
        assert r["components"]["gpu"] == pytest.approx(GPU_W * (r["rank"] + 1) * r["duration_s"], rel=1e-9)
        assert meters[r["rank"]].part.energy_j == pytest.approx(r["energy_j"])
    # two nodes (same host name here): devices are named per node, the host counted once per node
    assert set(d["nodes"]) == {"node0", "node1"}
    assert d["nodes"]["node0"]["ranks"] == [0, 1] and d["nodes"]["node1"]["host_metered_by"] == 2
    assert set(job.components["gpu"].devices) == {"gpu:0@node0", "gpu:1@node0", "gpu:0@node1", "gpu:1@node1"}
    assert set(job.components["cpu"].devices) == {"cpu@node0", "cpu@node1"}
    assert sum(n["energy_j"] for n in d["nodes"].values()) == pytest.approx(job.energy_j, rel=1e-12)
    assert any("metered as 2 nodes" in w for w in job.warnings)  # one machine posing as two
    assert job.work == {"sample": 10 + 20 + 30 + 40}
    assert job.phases["step"].count == 1 and job.phases["step"].work == {}
    assert meters[0].record is not meters[0].part and meters[1].record is meters[1].part


def test_store_gather_names_a_rank_that_never_reports(tmp_path):
    import torch.distributed as dist

    store = dist.HashStore()
    envs = [_env(r, 3, r, 3, 0) for r in range(3)]
    out = tmp_path / "job.json"
    t0 = time.monotonic()
    meters = _run_ranks(store, envs, out, hold={1}, timeout=0.5)
    assert time.monotonic() - t0 < 5
    job = load_record(out)
    assert job.distributed["missing_ranks"] == [1] and not job.distributed["complete"]
    assert job.distributed["gather"]["waited_s"] >= 0.5
    assert job.warnings[0].startswith("rank(s) 1 did not report")
    gpu, _ = _expected(job.distributed["ranks"])
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)
    meters[1].stop()  # the late rank can still stop; nobody waits for it any more


def test_repeated_jobs_of_one_name_do_not_mix(tmp_path):
    import torch.distributed as dist

    store = dist.HashStore()
    envs = [_env(r, 2, r, 2, 0) for r in range(2)]
    for i in range(2):
        _run_ranks(store, envs, tmp_path / f"job{i}.json", seconds=0.05 * (i + 1), name="again")
    first, second = load_record(tmp_path / "job0.json"), load_record(tmp_path / "job1.json")
    assert first.distributed["complete"] and second.distributed["complete"]
    assert second.duration_s > first.duration_s


def test_single_process_without_launcher_is_a_job_of_one(tmp_path):
    out = tmp_path / "one.json"
    with measure_distributed("solo", env={}, out=out, sensors=[ReplaySensor([(0, 50.0)])], interval_s=0.02) as m:
        time.sleep(0.05)
    job = load_record(out)
    assert m.is_leader and job.distributed["world_size"] == 1 and job.distributed["complete"]
    assert job.energy_j == pytest.approx(50.0 * job.duration_s, rel=1e-9)


def test_a_distributed_meter_is_a_meter_ending_early_the_same_way(tmp_path):
    """One lifecycle: a rank finalised by a signal says "run ended early" as a plain Meter does."""
    from ecometer.measuring.meter import Meter

    out = tmp_path / "job.json"
    m = measure_distributed("early", env={}, out=out, sensors=[ReplaySensor([(0, 20.0)])], interval_s=0.02)
    assert isinstance(m, Meter)
    m.start()
    time.sleep(0.05)
    m.run.finalise_on("interrupted", "received SIGTERM")  # what ecometer.measuring.lifecycle does on a signal
    assert m.record.status == "interrupted" and m.part.error == "received SIGTERM"
    assert any("run ended early: received SIGTERM" in w for w in m.part.warnings)
    assert load_record(out).distributed["role"] == "job"
    assert m.record.distributed["gather"]["timeout_s"] == 10.0  # a signal's short wait


def test_bad_arguments_are_clear():
    with pytest.raises(InputError, match="gather_timeout_s"):
        measure_distributed("x", gather_timeout_s=-1)
    with pytest.raises(InputError, match="signal_gather_timeout_s"):
        measure_distributed("x", signal_gather_timeout_s=float("nan"))
    with pytest.raises(InputError, match="interval_s"):
        measure_distributed("x", interval_s=0)


# ---- real jobs: torchrun (gloo, CPU) and an MPI-style launch ----------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args, env, timeout=60):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not found next to this Python")
    full = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **env}
    return subprocess.Popen(
        [torchrun, "--monitor-interval=0.1", *args, str(WORKER)],
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _finish(proc, timeout=60):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{out[-3000:]}")
    return proc.returncode, out


@pytest.fixture(scope="module")
def torch_available():
    pytest.importorskip("torch.distributed")


def test_torchrun_two_nodes_of_two_ranks(tmp_path, torch_available):
    out = tmp_path / "job.json"
    port = _free_port()
    common = ["--nnodes=2", "--nproc_per_node=2", "--master_addr=127.0.0.1", f"--master_port={port}"]
    procs = [_torchrun([*common, f"--node_rank={n}"], {"EM_OUT": str(out)}) for n in (0, 1)]
    for proc in procs:
        rc, log = _finish(proc)
        assert rc == 0, log[-3000:]
    job = load_record(out)
    d = job.distributed
    assert d["launcher"] == "torchrun" and d["gather"]["transport"] == "c10d-store"
    assert d["world_size"] == 4 and d["missing_ranks"] == [] and job.status == "ok"
    gpu, cpu = _expected(d["ranks"])
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)
    assert job.components["cpu"].energy_j == pytest.approx(cpu, rel=1e-9)
    assert job.components["dram"].energy_j == pytest.approx(cpu * DRAM_W / CPU_W, rel=1e-9)
    assert {r["rank"]: r["host_sensors"] for r in d["ranks"]} == {0: True, 1: False, 2: True, 3: False}
    assert {n: v["ranks"] for n, v in d["nodes"].items()} == {"node0": [0, 1], "node1": [2, 3]}
    assert job.work == {"sample": 3 * (10 + 20 + 30 + 40)}
    assert job.phases["step"].count == 3
    # every rank's steps (3 sleeps of 0.2 s) at all ranks' power: 4 GPUs and 2 hosts; not a share of the
    # run, whose start and stop take longer on a loaded machine
    step = job.phases["step"]
    assert step.duration_s >= 0.6 - 1e-3
    job_w = GPU_W * (1 + 2 + 3 + 4) + 2 * (CPU_W + DRAM_W)
    assert step.energy_j == pytest.approx(job_w * step.duration_s, rel=0.05)


def test_torchrun_rank_that_leaves_without_reporting(tmp_path, torch_available):
    out = tmp_path / "job.json"
    env = {"EM_OUT": str(out), "EM_MODE": "early", "EM_VICTIM": "2", "EM_TIMEOUT": "2"}
    t0 = time.monotonic()
    rc, log = _finish(_torchrun(["--standalone", "--nproc_per_node=3"], env))
    assert rc == 0, log[-3000:]
    assert time.monotonic() - t0 < 40
    job = load_record(out)
    d = job.distributed
    # every rank checkpoints in the default parts folder (issue 27): rank 2's checkpoint is counted
    assert d["missing_ranks"] == [] and d["ranks_reported"] == [0, 1, 2] and not d["complete"]
    assert 2.0 <= d["gather"]["waited_s"] < 10
    gpu, _ = _expected(d["ranks"])
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)
    assert any(w.startswith("rank(s) 2 did not report in time; their latest checkpoint") for w in job.warnings)


def test_torchrun_rank_that_dies_and_sigterm_still_writes_the_record(tmp_path, torch_available):
    out = tmp_path / "job.json"
    env = {"EM_OUT": str(out), "EM_MODE": "crash", "EM_VICTIM": "1", "EM_TIMEOUT": "30", "EM_SIGNAL_TIMEOUT": "1.5"}
    rc, log = _finish(_torchrun(["--standalone", "--nproc_per_node=2"], env))
    assert rc != 0  # the job failed...
    job = load_record(out)  # ...and its record was still written by rank 0, on SIGTERM
    d = job.distributed
    assert job.status == "interrupted" and "SIGTERM" in (job.error or "")
    assert d["missing_ranks"] == [] and not d["complete"]  # rank 1's checkpoint counted (issue 27)
    assert any(w.startswith("rank(s) 1 did not report in time; their latest checkpoint") for w in job.warnings)
    assert d["gather"]["timeout_s"] == 1.5  # a signal shortens the wait (30 s otherwise)
    assert 1.5 <= d["gather"]["waited_s"] < 5
    gpu, _ = _expected(d["ranks"])
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)


def test_mpi_style_launch_without_torch_gathers_through_parts_dir(tmp_path):
    out, parts = tmp_path / "job.json", tmp_path / "parts"
    procs = []
    for r in range(3):
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("RANK", "LOCAL_RANK", "WORLD_SIZE"))},
            "PYTHONPATH": str(ROOT),
            "OMPI_COMM_WORLD_RANK": str(r),
            "OMPI_COMM_WORLD_SIZE": "3",
            "OMPI_COMM_WORLD_LOCAL_RANK": str(r),
            "OMPI_COMM_WORLD_LOCAL_SIZE": "3",
            "EM_MODE": "nostore",
            "EM_PARTS": str(parts),
            "EM_OUT": str(out),
            "EM_TIMEOUT": "20",
            "EM_SECONDS": "0.3",
        }
        procs.append(subprocess.Popen([sys.executable, str(WORKER)], env=env))
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    job = load_record(out)
    d = job.distributed
    assert d["launcher"] == "openmpi" and d["gather"]["transport"] == "files" and d["complete"]
    gpu, cpu = _expected(d["ranks"])
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)
    assert job.components["cpu"].energy_j == pytest.approx(cpu, rel=1e-9)
    assert sorted(p.name for p in parts.iterdir()) == [f"distjob.rank{r:05d}.json" for r in range(3)]
    assert json.loads((parts / "distjob.rank00001.json").read_text())["distributed"]["rank"] == 1


# ---- NCCL on real GPUs (the lead runs these on an H100) ------------------------------------------
def _cuda_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.gpu
def test_torchrun_nccl_on_gpus(tmp_path):
    n = _cuda_count()
    if n == 0:
        pytest.skip("needs CUDA GPUs")
    nproc = min(n, 4)
    out = tmp_path / "job.json"
    rc, log = _finish(
        _torchrun(["--standalone", f"--nproc_per_node={nproc}"], {"EM_OUT": str(out), "EM_MODE": "nccl"}), 300
    )
    assert rc == 0, log[-3000:]
    job = load_record(out)
    d = job.distributed
    assert d["complete"] and d["world_size"] == nproc
    gpu = job.components["gpu"]
    assert gpu.method == "counter" and len(gpu.devices) == nproc and gpu.energy_j > 0
    assert all(r["components"].get("gpu", 0) > 0 for r in d["ranks"])
    assert [r["host_sensors"] for r in d["ranks"]] == [True] + [False] * (nproc - 1)
    assert job.work["step"] > 0 and job.phases["step"].count > 0


def test_auto_detection_meters_the_host_on_local_rank_zero_only():
    """Without injected sensors: this machine's host sensors on local rank 0, none on local rank 1."""
    records = {}
    for local in (0, 1):
        env = {"RANK": str(local), "WORLD_SIZE": "2", "LOCAL_RANK": str(local), "LOCAL_WORLD_SIZE": "2"}
        m = measure_distributed("auto", env=env, gpus=None, out=None, interval_s=0.02, gather_timeout_s=0)
        with m:
            time.sleep(0.05)
        records[local] = m.part
    host = records[0]
    assert {"cpu", "dram"} <= set(host.components) and host.distributed["host_sensors"] is True
    assert host.components["cpu"].method in ("counter", "modelled")
    assert records[1].components == {} and records[1].distributed["host_sensors"] is False
    assert any("no GPU metered on this rank: gpus=None" in n for n in host.notes)
    assert not any("no GPU metered" in w for w in host.warnings)  # a note on what is metered, not a problem


def test_process_scope_meters_each_ranks_share_of_the_host(tmp_path):
    import torch.distributed as dist

    store = dist.HashStore()
    meters = {}
    for rank in (1, 0):  # rank 1 first, so rank 0 finds its record waiting
        env = _env(rank, 2, rank, 2, 0)
        m = measure_distributed(
            "shares",
            store=store,
            env=env,
            out=tmp_path / "job.json" if rank == 0 else None,
            scope="process",
            sensors=[],
            host_sensors=[ReplaySensor([(0, 7.0 * (rank + 1))], component="cpu", device="cpu")],
            interval_s=0.02,
        )
        with m:
            time.sleep(0.05)
        meters[rank] = m
    job = meters[0].record
    assert [r["host_sensors"] for r in job.distributed["ranks"]] == [True, True]
    expected = sum(7.0 * (r["rank"] + 1) * r["duration_s"] for r in job.distributed["ranks"])
    assert job.components["cpu"].energy_j == pytest.approx(expected, rel=1e-9)
    assert job.components["cpu"].devices == pytest.approx({"cpu": expected})
    assert not any("metered as" in w or "metered by ranks" in w for w in job.warnings)


def test_named_gpus_that_cannot_be_metered_are_an_error():
    from ecometer.errors import SensorUnavailable

    pytest.importorskip("pynvml")
    if _cuda_count():
        pytest.skip("this machine has GPUs")
    m = measure_distributed("named", env={}, gpus=[0], out=None)
    with pytest.raises(SensorUnavailable, match=r"GPUs \[0\] cannot be metered"):
        m.start()
    assert not m.running


# ---- a real DDP loop that loses a rank (issue 16) -----------------------------------------------
def _ddp(tmp_path, **env):
    parts, pids = tmp_path / "parts", tmp_path / "pids"
    parts.mkdir()
    pids.mkdir()
    out = tmp_path / "job.json"
    full = {"EM_MODE": "ddp", "EM_OUT": str(out), "EM_PARTS": str(parts), "EM_PIDS": str(pids), **env}
    return _torchrun(["--standalone", "--nproc_per_node=2"], full), out, parts, pids


def _check_incomplete_job(out, parts):
    """The job's record names rank 1 as missing and holds rank 0's work only; a later merge agrees."""
    from ecometer.distributed import merge_files

    job = load_record(out)
    d = job.distributed
    # rank 1's latest checkpoint in the parts folder is counted (issue 27): not missing, not complete
    assert d["missing_ranks"] == [] and d["ranks_reported"] == [0, 1] and d["complete"] is False
    own = load_record(parts / "ddpjob.rank00000.json")
    assert job.work["sample"] >= own.work["sample"] and job.work["sample"] % 8 == 0  # + rank 1's up to its checkpoint
    gpu, _ = _expected(d["ranks"])  # a checkpoint's energy lags its duration (counters read every 2 s)
    assert GPU_W * own.duration_s * (1 - 1e-9) <= job.components["gpu"].energy_j <= gpu * (1 + 1e-9)
    assert any("did not report in time; their latest checkpoint" in w and "per-work" in w for w in job.warnings)
    later = merge_files([parts / "ddpjob.rank00000.json", parts / "ddpjob.rank00001.json"])
    return job, later


@pytest.mark.slow
@pytest.mark.parametrize("kill", ["sigkill", "exit"])
def test_ddp_rank_killed_mid_run_still_leaves_an_incomplete_job_record(tmp_path, torch_available, kill):
    proc, out, parts, _ = _ddp(tmp_path, EM_KILL=kill, EM_STEPS="400", EM_TIMEOUT="60")
    rc, log = _finish(proc)
    assert rc != 0
    assert out.exists(), log[-3000:]  # rank 0 was in its 60 s gather when torchrun's SIGTERM came
    job, later = _check_incomplete_job(out, parts)
    assert job.distributed["gather"].get("cut_short_by_signal") is True
    assert job.distributed["gather"]["waited_s"] < 30
    # rank 1 left only a checkpoint: a later merge counts it, but the job is not complete
    assert later.distributed["ranks_reported"] == [0, 1] and later.distributed["complete"] is False
    assert later.checkpoint


@pytest.mark.slow
def test_ddp_sigterm_to_rank_zero_leaves_a_job_record_and_parts_to_complete_it(tmp_path, torch_available):
    proc, out, parts, pids = _ddp(tmp_path, EM_STEPS="2000", EM_SIGNAL_TIMEOUT="1")
    deadline = time.monotonic() + 30
    while not (pids / "rank0.ready").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(int((pids / "rank0").read_text()), 15)  # rank 1 is then blocked in an allreduce
    rc, log = _finish(proc)
    assert rc != 0
    assert out.exists(), log[-3000:]
    job, later = _check_incomplete_job(out, parts)
    assert job.status == "interrupted" and "SIGTERM" in (job.error or "")
    assert 1.0 <= job.distributed["gather"]["waited_s"] < 5
    assert not any("may still be alive" in w for w in job.warnings)  # before issue 27: rank 1 missing
    # rank 1 finished its own part when torchrun stopped it: merging the parts completes the job
    assert later.distributed["complete"] is True and later.distributed["missing_ranks"] == []
    assert later.work["sample"] >= job.work["sample"]  # the job already counts rank 1 up to its checkpoint
