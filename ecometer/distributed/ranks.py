"""Where a process sits in a distributed job, and what it meters.

Rank, world size and local rank come from the launcher's environment, in this order:
``torchrun`` (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``),
Open MPI (``OMPI_COMM_WORLD_*``), PMIx/PMI (``PMIX_RANK``, ``PMI_RANK``, ``PMI_SIZE``,
``MPI_LOCALRANKID``, ``MPI_LOCALNRANKS``), MVAPICH2 (``MV2_COMM_WORLD_*``) and Slurm
(``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``, ``SLURM_NODEID``); an initialised
``torch.distributed`` group's rank and size take precedence.

Every rank meters what it owns: its own GPU (the ``LOCAL_RANK`` device, or
``torch.cuda.current_device()`` once the job initialised CUDA), and the host only on the
node's host-metering rank. torch is used only if the job already imported it.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ecometer.errors import InputError, SensorUnavailable
from ecometer.sensors.base import Sensor

log = logging.getLogger("ecometer.distributed")


@dataclass(frozen=True)
class RankInfo:
    """Where this process sits in the job.

    ``rank``/``world_size``: global rank and number of ranks; ``local_rank``/
    ``local_world_size``: on this node (``None`` if the launcher does not say);
    ``node_rank``: the launcher's node index (``None`` if not given); ``launcher``: which
    environment was read (``torchrun``, ``openmpi``, ``pmi``, ``mvapich``, ``slurm``,
    ``torch.distributed``, ``none``).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int | None = 0
    local_world_size: int | None = 1
    node_rank: int | None = None
    hostname: str = ""
    launcher: str = "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# (launcher, rank, size, local rank, local size, node rank) variables, in order of precedence
_LAUNCHERS: tuple[tuple[str, str, str, str | None, str | None, str | None], ...] = (
    ("torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK"),
    (
        "openmpi",
        "OMPI_COMM_WORLD_RANK",
        "OMPI_COMM_WORLD_SIZE",
        "OMPI_COMM_WORLD_LOCAL_RANK",
        "OMPI_COMM_WORLD_LOCAL_SIZE",
        None,
    ),
    ("pmi", "PMIX_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", None),
    ("pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS", None),
    (
        "mvapich",
        "MV2_COMM_WORLD_RANK",
        "MV2_COMM_WORLD_SIZE",
        "MV2_COMM_WORLD_LOCAL_RANK",
        "MV2_COMM_WORLD_LOCAL_SIZE",
        None,
    ),
    ("slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", None, "SLURM_NODEID"),
)


def _env_int(env: Mapping[str, str], key: str | None) -> int | None:
    if key is None or key not in env or env[key].strip() == "":
        return None
    text = env[key].strip()
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"environment variable {key}={text!r}: expected a non-negative integer") from None
    if value < 0:
        raise InputError(f"environment variable {key}={text!r}: expected a non-negative integer")
    return value


def rank_info(env: Mapping[str, str] | None = None, hostname: str | None = None) -> RankInfo:
    """This process's place in the job, from the launcher's environment (see module docs).

    Without any launcher variable the process is rank 0 of a job of one. Raises
    :class:`~ecometer.errors.InputError` for a malformed or inconsistent variable.
    """
    env = os.environ if env is None else env
    host = hostname or socket.gethostname()
    for launcher, k_rank, k_size, k_local, k_lsize, k_node in _LAUNCHERS:
        rank = _env_int(env, k_rank)
        if rank is None:
            continue
        size = _env_int(env, k_size)
        if size is None:
            if launcher == "pmi" and k_rank == "PMIX_RANK":
                continue  # PMIx without a size: try the next family
            raise InputError(f"environment variable {k_rank} is set but {k_size} is not: cannot tell the job's size")
        if not rank < size:
            raise InputError(f"environment: {k_rank}={rank} is not below {k_size}={size}")
        local = _env_int(env, k_local)
        lsize = _env_int(env, k_lsize)
        if local is not None and lsize is not None and not local < lsize:
            raise InputError(f"environment: {k_local}={local} is not below {k_lsize}={lsize}")
        if size == 1 and local is None:
            local, lsize = 0, 1
        return RankInfo(rank, size, local, lsize, _env_int(env, k_node), host, launcher)
    return RankInfo(0, 1, 0, 1, None, host, "none")


def torch_dist() -> Any:
    """``torch.distributed`` if the job imported torch and initialised a process group, else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    dist = getattr(torch, "distributed", None)
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def group_view(info: RankInfo, group: Any) -> tuple[RankInfo, list[int]]:
    """Rank info with the process group's rank/size, and the group's global ranks."""
    dist = torch_dist()
    if dist is None:
        if group is not None:
            raise InputError("group= was given but torch.distributed is not initialised in this process")
        return info, list(range(info.world_size))
    rank = dist.get_rank()
    if group is None:
        members = list(range(dist.get_world_size()))
    else:
        members = [int(r) for r in dist.get_process_group_ranks(group)]
    launcher = info.launcher if info.launcher != "none" else "torch.distributed"
    if info.rank != rank or info.world_size != len(members):
        if info.launcher != "none" and group is None:
            log.debug(
                "environment says rank %s/%s; torch.distributed says %s/%s",
                info.rank,
                info.world_size,
                rank,
                len(members),
            )
        local, lsize = (info.local_rank, info.local_world_size) if info.launcher != "none" else (None, None)
        info = RankInfo(rank, len(members), local, lsize, info.node_rank, info.hostname, launcher)
    return info, members



# ---- what a rank meters ------------------------------------------------------------------
def rank_gpus(info: RankInfo, gpus: Any) -> tuple[list[int | str], str]:
    """The CUDA-visible device(s) this rank uses, and how that was decided."""
    if gpus != "auto":
        return ([] if not gpus else list(gpus)), f"gpus={gpus!r}"
    torch = sys.modules.get("torch")
    if torch is not None:
        cuda = torch.cuda
        if not cuda.is_available():
            return [], "torch sees no CUDA device"
        if cuda.is_initialized():
            return [int(cuda.current_device())], "torch.cuda.current_device()"
    if info.local_rank is not None:
        return [info.local_rank], "LOCAL_RANK"
    return [], "no local rank and CUDA not initialised"


def device_sync(index: int | str) -> Callable[[], None]:
    def sync() -> None:
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize(index)

    return sync


def detect(
    gpu_list: list[int | str], why: str, host: bool, scope: str, strict: bool
) -> tuple[list[Sensor], list[str]]:
    """Opened sensors for this rank's GPUs (and the host), plus what could not be metered.

    ``strict``: the GPUs were named by the user, so one that cannot be metered is an error
    (as for :class:`~ecometer.measuring.meter.Meter`), not a warning.
    """
    sensors: list[Sensor] = []
    lines: list[str] = [] if gpu_list else [f"no GPU metered on this rank: {why}"]
    if gpu_list:
        from ecometer.sensors.nvidia import detect_gpus

        sensor, explain = detect_gpus(gpus=gpu_list, scope=scope)
        if sensor is None and strict:
            raise SensorUnavailable(f"GPUs {gpu_list} cannot be metered: " + "; ".join(explain))
        if sensor is None:
            lines.append(f"GPU {gpu_list} ({why}) not metered: " + "; ".join(explain))
        else:
            sensors.append(sensor)
    if host:
        from ecometer.sensors.host import host_sensors

        found, explain = host_sensors(scope=scope)
        sensors.extend(found)
        lines.extend(explain)
    return sensors, lines
