"""The Hugging Face callback under torchrun (DDP, gloo on CPU): one job record for all ranks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecometer.record.model import load_record

ROOT = Path(__file__).resolve().parents[1]


def test_hf_trainer_under_torchrun_gives_one_job_record(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("torch.distributed")
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun not found next to this Python")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            torchrun,
            "--standalone",
            "--monitor-interval=0.1",
            "--nproc_per_node=2",
            str(ROOT / "tests" / "hf_dist_worker.py"),
            str(tmp_path),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    assert rank0["role"] == "job" and rank1["role"] == "rank"
    # every rank keeps its own record (and its checkpoints while running) in a parts folder by default (issue 27)
    assert Path(rank1["path"]).parent.name.startswith("ddp-parts-") and Path(rank1["path"]).exists()
    flop1 = rank1["work"].pop("flop")  # each rank measures its own first step, then scales by tokens
    assert rank1["work"] == {"sample": 12, "token": 192}  # DDP gives each rank half the data
    job = load_record(rank0["path"])
    assert Path(rank0["path"]) == tmp_path / "ecometer-ddp.json"
    d = job.distributed
    assert d["complete"] and d["world_size"] == 2
    flop = job.work.pop("flop")
    assert job.work == {"sample": 24, "token": 24 * 16, "step": 3}  # one epoch of 24 samples; steps by rank 0 only
    assert flop == pytest.approx(2 * flop1, rel=1e-9)  # the same model on both ranks: the same FLOPs per token
    assert job.meta["work_estimates"]["flop"]["method"] == "measured"  # the job says how FLOPs were obtained
    assert [r["host_sensors"] for r in d["ranks"]] == [True, False]
    gpu = sum(100.0 * (r["rank"] + 1) * r["duration_s"] for r in d["ranks"])
    assert job.components["gpu"].energy_j == pytest.approx(gpu, rel=1e-9)
    assert job.components["cpu"].energy_j == pytest.approx(10.0 * d["ranks"][0]["duration_s"], rel=1e-9)
    assert job.phases["step"].count == 3  # 12 samples per rank in batches of 4
