"""A torchrun worker for tests/test_distributed.py: a metered job with known power per rank.

Every rank meters a scripted GPU drawing ``100 * (rank + 1)`` W and offers host sensors (CPU
20 W, DRAM 5 W) that only the node's local rank 0 may use. Settings come from the
environment (``EM_*``) so the same script serves every test:

* ``EM_OUT``: the job record path (rank 0); ``EM_PARTS``: a parts directory (optional);
* ``EM_MODE``: ``ok``; ``early`` (rank ``EM_VICTIM`` leaves without reporting); ``crash``
  (rank ``EM_VICTIM`` dies with exit code 3; torchrun then stops the others with SIGTERM); ``nostore``
  (no process group, e.g. under an MPI launcher: the parts directory is the transport);
* ``EM_TIMEOUT``: gather timeout (s), ``EM_SIGNAL_TIMEOUT`` the same when stopping on a
  signal; ``EM_SECONDS``: how long the job runs (s).

``EM_MODE=nccl`` instead meters real GPUs (NVML, auto-detected) under the NCCL backend.

``EM_MODE=ddp`` trains a small model under ``DistributedDataParallel`` (gloo, CPU: every
step's backward is an allreduce) for ``EM_STEPS`` steps of 8 samples each, with the parts
directory; rank ``EM_VICTIM`` dies at step ``EM_KILL_STEP`` by ``EM_KILL`` (``sigkill`` or
``exit``: ``os._exit(3)``), or none does. Each rank writes its pid to ``EM_PIDS/rank<r>`` and,
after ``EM_KILL_STEP`` steps, ``EM_PIDS/rank<r>.ready``.
"""

from __future__ import annotations

import os
import sys
import time

from ecometer import measure_distributed
from ecometer.distributed import rank_info
from ecometer.sensors.replay import ReplaySensor


def nccl_job() -> int:
    import torch
    import torch.distributed as dist

    local = rank_info().local_rank or 0
    torch.cuda.set_device(local)
    dist.init_process_group("nccl")
    x = torch.randn(4096, 4096, device="cuda")
    meter = measure_distributed(
        "nccljob", out=os.environ.get("EM_OUT"), gather_timeout_s=float(os.environ.get("EM_TIMEOUT", "60"))
    )
    deadline = time.monotonic() + float(os.environ.get("EM_SECONDS", "3"))
    with meter:
        while time.monotonic() < deadline:
            with meter.phase("step"):
                y = x @ x
                dist.all_reduce(y)
                torch.cuda.synchronize()  # keeps the queue short; the phase stays non-exact
            meter.add_work(1, "step")
    dist.destroy_process_group()
    return 0


def ddp_job() -> int:
    import signal

    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    rank = rank_info().rank
    dist.init_process_group("gloo")
    pids = os.environ["EM_PIDS"]
    with open(os.path.join(pids, f"rank{rank}"), "w") as fh:
        fh.write(str(os.getpid()))
    torch.manual_seed(0)
    model = DistributedDataParallel(torch.nn.Linear(16, 4))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    meter = measure_distributed(
        "ddpjob",
        out=os.environ.get("EM_OUT"),
        parts=os.environ["EM_PARTS"],
        gather_timeout_s=float(os.environ.get("EM_TIMEOUT", "60")),
        signal_gather_timeout_s=float(os.environ.get("EM_SIGNAL_TIMEOUT", "10")),
        sensors=[ReplaySensor([(0, 100.0 * (rank + 1))], component="gpu", device="gpu:0")],
        interval_s=0.05,
        checkpoint_interval_s=0.2,
        work_unit="sample",
    )
    victim, kill = int(os.environ.get("EM_VICTIM", "1")), os.environ.get("EM_KILL", "")
    kill_step = int(os.environ.get("EM_KILL_STEP", "5"))
    with meter:
        for step in range(int(os.environ.get("EM_STEPS", "20"))):
            if step == kill_step:
                if rank == victim and kill == "sigkill":
                    os.kill(os.getpid(), signal.SIGKILL)
                if rank == victim and kill == "exit":
                    os._exit(3)
                open(os.path.join(pids, f"rank{rank}.ready"), "w").close()
            with meter.phase("step"):
                loss = model(torch.randn(8, 16)).pow(2).mean()
                optimizer.zero_grad()
                loss.backward()  # the gradients' allreduce: a dead peer raises here
                optimizer.step()
                time.sleep(0.02)
            meter.add_work(8)
    dist.destroy_process_group()
    return 0


def main() -> int:
    mode = os.environ.get("EM_MODE", "ok")
    if mode == "nccl":
        return nccl_job()
    if mode == "ddp":
        return ddp_job()
    victim = int(os.environ.get("EM_VICTIM", "1"))
    seconds = float(os.environ.get("EM_SECONDS", "0.6"))
    info = rank_info()  # torchrun or MPI-style variables
    rank, local = info.rank, info.local_rank
    if mode != "nostore":
        import torch.distributed as dist

        dist.init_process_group("gloo")
    gpu = ReplaySensor([(0, 100.0 * (rank + 1))], component="gpu", device=f"gpu:{local}")

    def host() -> list[ReplaySensor]:
        return [
            ReplaySensor([(0, 20.0)], component="cpu", device="cpu", method="integrated"),
            ReplaySensor([(0, 5.0)], component="dram", device="dram", method="integrated"),
        ]

    meter = measure_distributed(
        "distjob",
        out=os.environ.get("EM_OUT"),
        parts=os.environ.get("EM_PARTS") or None,
        gather_timeout_s=float(os.environ.get("EM_TIMEOUT", "20")),
        signal_gather_timeout_s=float(os.environ.get("EM_SIGNAL_TIMEOUT", "10")),
        sensors=[gpu],
        host_sensors=host,
        interval_s=0.05,
        work_unit="sample",
    )
    with meter:
        steps = 3
        for _ in range(steps):
            with meter.phase("step"):
                time.sleep(seconds / steps)
            meter.add_work(10 * (rank + 1))
        if rank == victim and mode == "early":
            os._exit(0)  # leaves without stopping its meter or reporting
        if rank == victim and mode == "crash":
            os._exit(3)  # dies hard (as from a segfault): torchrun then stops the other ranks
        if mode == "crash":
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # torchrun's SIGTERM ends this
                time.sleep(0.05)
    if mode != "nostore":
        import torch.distributed as dist

        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
