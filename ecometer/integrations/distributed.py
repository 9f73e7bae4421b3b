"""Meter a distributed job (``torch.distributed``, MPI, Slurm) as one job.

    with measure_distributed("pretrain", work_unit="token") as m:   # on every rank
        for batch in loader:
            ...
            m.add_work(tokens_this_rank)
    # rank 0: m.record is the job's record (totals, per node, per rank), written to `out`

Every rank meters what it owns, so nothing is counted twice:

* its own GPU: the ``LOCAL_RANK`` device, or ``torch.cuda.current_device()`` once the job
  has initialised CUDA (``gpus=`` overrides);
* the host (CPU, DRAM): only on the node's local rank 0. Where the launcher does not say
  which rank is local 0, the ranks of a node elect one through the job's store. With
  ``scope="process"`` every rank meters its own process tree's share of the host and of its
  GPU instead: the shares are disjoint, so they add up.

At stop, each rank puts its record (zlib-compressed JSON) into the job's c10d store (the
default process group's store, or the one passed as ``store=``) under a key of its own;
rank 0 (the group's first rank) waits up to ``gather_timeout_s`` for the others and merges
what arrived with :func:`ecometer.aggregate.merge_records`. No collective is used: a rank
that died or never reaches stop cannot hang the others, it is named in
``record.distributed["missing_ranks"]`` and the record is still written. Without a store
(MPI jobs without torch), ``parts=DIR`` on a shared file system is the transport: every rank
writes ``DIR/<name>.rank00003.json`` (with a checkpoint while running) and rank 0 reads them.

Rank, world size and local rank come from the launcher's environment, in this order:
``torchrun`` (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``GROUP_RANK``),
Open MPI (``OMPI_COMM_WORLD_*``), PMIx/PMI (``PMIX_RANK``, ``PMI_RANK``, ``PMI_SIZE``,
``MPI_LOCALRANKID``, ``MPI_LOCALNRANKS``), MVAPICH2 (``MV2_COMM_WORLD_*``) and Slurm
(``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID``, ``SLURM_NODEID``); an initialised
``torch.distributed`` group's rank and size take precedence.

torch is never imported by this module: it is used only if the job already imported it.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import socket
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from ecometer import lifecycle
from ecometer.errors import InputError, SensorUnavailable
from ecometer.meter import (
    LiveStatus,
    Meter,
    _RunContext,
    attach_results,
    record_path,
    resolve_site,
    resolve_standard,
    safe_name,
)
from ecometer.record import RunRecord, write_atomic
from ecometer.sensors.base import Device, Sensor, Uncertainty

log = logging.getLogger("ecometer.distributed")

F = TypeVar("F", bound=Callable[..., Any])

#: seconds rank 0 waits for the other ranks' records at stop, by default
DEFAULT_GATHER_TIMEOUT_S = 60.0
#: by default, at most this long when stopping because of a signal (a launcher's grace period is short)
SIGNAL_GATHER_TIMEOUT_S = 10.0
_POLL_S = 0.05
_STALE_SLACK_S = 5.0  # part files older than rank 0's start minus this are a previous run's
_sessions_lock = threading.Lock()
_session_numbers: dict[str, int] = {}

_METER_OWN = ("gpus", "sensors", "out", "site", "standard")


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


def _torch_dist() -> Any:
    """``torch.distributed`` if the job imported torch and initialised a process group, else None."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    dist = getattr(torch, "distributed", None)
    if dist is None or not dist.is_available() or not dist.is_initialized():
        return None
    return dist


def _group_view(info: RankInfo, group: Any) -> tuple[RankInfo, list[int]]:
    """Rank info with the process group's rank/size, and the group's global ranks."""
    dist = _torch_dist()
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


def _default_store() -> Any:
    dist = _torch_dist()
    if dist is None:
        return None
    from torch.distributed import distributed_c10d

    try:
        return distributed_c10d._get_default_store()
    except (RuntimeError, ValueError) as exc:
        log.warning("torch.distributed is initialised but its store is not reachable (%s)", exc)
        return None


# ---- sensors ---------------------------------------------------------------------------
class _Opened(Sensor):
    """An already opened sensor handed to a Meter (which opens the sensors it is given)."""

    def __init__(self, inner: Sensor) -> None:
        self._inner = inner
        self.name = inner.name
        self.component = inner.component
        self.method = inner.method
        self.pollable = inner.pollable
        self._force = "force" in inspect.signature(inner.poll).parameters

    def __getattr__(self, item: str) -> Any:  # share(), cost hints... of the real sensor
        if item == "_inner":
            raise AttributeError(item)
        return getattr(self._inner, item)

    def open(self) -> None:
        self.method = self._inner.method

    def close(self) -> None:
        self._inner.close()

    def devices(self) -> list[Device]:
        return self._inner.devices()

    def poll(self, now: float, force: bool = False) -> dict[str, list[tuple[float, float]]]:
        if force and self._force:  # an up-to-date pull at a boundary, where the sensor offers one
            return self._inner.poll(now, force=True)  # type: ignore[call-arg]
        return self._inner.poll(now)

    def read_counters(self) -> dict[str, float] | None:
        return self._inner.read_counters()

    def uncertainty(self) -> Uncertainty:
        return self._inner.uncertainty()

    def notes(self) -> list[str]:
        return self._inner.notes()

    def attribution(self) -> str | None:
        return self._inner.attribution()

    def info(self) -> dict[str, Any]:
        return self._inner.info()


def _rank_gpus(info: RankInfo, gpus: Any) -> tuple[list[int | str], str]:
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


def _device_sync(index: int | str) -> Callable[[], None]:
    def sync() -> None:
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize(index)

    return sync


def _detect(
    gpu_list: list[int | str], why: str, host: bool, scope: str, strict: bool
) -> tuple[list[Sensor], list[str]]:
    """Opened sensors for this rank's GPUs (and the host), plus what could not be metered.

    ``strict``: the GPUs were named by the user, so one that cannot be metered is an error
    (as for :class:`~ecometer.meter.Meter`), not a warning.
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
            sensors.append(_Opened(sensor))
    if host:
        from ecometer.sensors.host import host_sensors

        found, explain = host_sensors(scope=scope)
        sensors.extend(_Opened(s) for s in found)
        lines.extend(explain)
    return sensors, lines


# ---- transports ------------------------------------------------------------------------
class _StoreTransport:
    """Records through a c10d store: one key per rank and a counter rank 0 polls."""

    kind = "c10d-store"

    def __init__(self, store: Any, prefix: str) -> None:
        self.store = store
        self.prefix = prefix

    def _key(self, rank: int) -> str:
        return f"{self.prefix}/part/{rank}"

    def send(self, rank: int, payload: bytes) -> None:
        self.store.set(self._key(rank), payload)
        self.store.add(f"{self.prefix}/count", 1)

    def collect(self, ranks: list[int], timeout_s: float) -> dict[int, bytes]:
        deadline = time.monotonic() + timeout_s
        counter = f"{self.prefix}/count"
        while True:
            if int(self.store.add(counter, 0)) >= len(ranks):
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL_S)
        out: dict[int, bytes] = {}
        for rank in ranks:
            key = self._key(rank)
            if self.store.check([key]):
                out[rank] = bytes(self.store.get(key))
                _delete(self.store, key)
        _delete(self.store, counter)
        return out

    def elect_host_owner(self, hostname: str) -> bool:
        """True for exactly one rank per host name (the first to ask)."""
        return int(self.store.add(f"{self.prefix}/host/{hostname}", 1)) == 1


def _delete(store: Any, key: str) -> None:
    try:
        store.delete_key(key)
    except (RuntimeError, NotImplementedError) as exc:  # some stores cannot delete
        log.debug("could not delete store key %s: %s", key, exc)


class _FileTransport:
    """Records through a shared directory: ``<dir>/<name>.rank00003.json`` per rank."""

    kind = "files"

    def __init__(self, directory: Path, name: str, since: float | None = None) -> None:
        self.directory = directory
        self.name = name
        self.since = since  # wall-clock time (s); older files are a previous run's
        self.stale: list[int] = []

    def path(self, rank: int) -> Path:
        return self.directory / f"{self.name}.rank{rank:05d}.json"

    def send(self, rank: int, payload: bytes) -> None:
        write_atomic(self.path(rank), zlib.decompress(payload).decode("utf-8"))

    def _fresh(self, rank: int) -> bool:
        try:
            mtime = self.path(rank).stat().st_mtime
        except FileNotFoundError:
            return False
        return self.since is None or mtime >= self.since

    def collect(self, ranks: list[int], timeout_s: float) -> dict[int, bytes]:
        deadline = time.monotonic() + timeout_s
        while not all(self._fresh(r) for r in ranks) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
        out: dict[int, bytes] = {}
        for rank in ranks:
            if self._fresh(rank):
                out[rank] = zlib.compress(self.path(rank).read_bytes())
            elif self.path(rank).exists():
                self.stale.append(rank)
        return out


def _encode(record: RunRecord) -> bytes:
    return zlib.compress(record.to_json(indent=None).encode("utf-8"), 6)


def _decode(payload: bytes, rank: int) -> RunRecord:
    data = json.loads(zlib.decompress(payload).decode("utf-8"))
    return RunRecord.from_dict(data, origin=f"record of rank {rank}")


# ---- the distributed meter ---------------------------------------------------------------
class DistributedMeter(_RunContext):
    """A :class:`~ecometer.meter.Meter` on every rank, merged into one record on rank 0.

    Same use as a Meter (context manager, decorator, :meth:`phase`, :meth:`add_work`,
    :meth:`live`). After :meth:`stop`, :attr:`record` is the job's merged record on the
    group's first rank and this rank's own part elsewhere; :attr:`part` is always this
    rank's own record. See :func:`measure_distributed` for the arguments.
    """

    def __init__(
        self,
        name: str = "run",
        *,
        group: Any = None,
        store: Any = None,
        out: str | os.PathLike[str] | None = "auto",
        parts: str | os.PathLike[str] | None = None,
        gather_timeout_s: float = DEFAULT_GATHER_TIMEOUT_S,
        signal_gather_timeout_s: float = SIGNAL_GATHER_TIMEOUT_S,
        gpus: Any = "auto",
        sensors: list[Sensor] | None = None,
        host_sensors: list[Sensor] | Callable[[], list[Sensor]] | None = None,
        site: Any = None,
        standard: Any = None,
        env: Mapping[str, str] | None = None,
        **meter_kwargs: Any,
    ) -> None:
        for label, value in (
            ("gather_timeout_s", gather_timeout_s),
            ("signal_gather_timeout_s", signal_gather_timeout_s),
        ):
            if not (isinstance(value, (int, float)) and 0 <= value <= 86400):
                raise InputError(f"{label} {value!r}: expected seconds between 0 and 86400")
        clash = sorted(set(meter_kwargs) & set(_METER_OWN))
        if clash:
            raise InputError(f"{clash}: given twice")
        self.name = str(name)
        self.group = group
        self.out = out
        self.parts_dir = Path(parts) if parts is not None else None
        self.gather_timeout_s = float(gather_timeout_s)
        self.signal_gather_timeout_s = float(signal_gather_timeout_s)
        self.gpus = gpus
        self._given_sensors = sensors
        self._given_host = host_sensors
        self._meter_kwargs = meter_kwargs
        self._store_arg = store
        self._env = env
        # footprint and assessment belong to the job's record: resolved now (bad input fails
        # early), attached on rank 0 after the merge
        self.site = resolve_site(site)
        self.standard = resolve_standard(standard)
        Meter(self.name, sensors=[], out=None, **meter_kwargs)  # the rank meter's arguments, checked now
        self.scope = str(meter_kwargs.get("scope", "machine"))
        self._meter: Meter | None = None
        self._running = False
        self._forked = False
        self._lock = threading.RLock()  # re-entrant: stop() may run from a signal handler
        self.record: RunRecord | None = None
        self.part: RunRecord | None = None
        self.info: RankInfo | None = None
        self.members: list[int] = []
        self.host_owner = False
        self.explanations: list[str] = []
        self._path: Path | None = None

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> DistributedMeter:
        if self._running:
            raise RuntimeError(f"meter {self.name!r} is already running")
        self.record = None
        self.part = None
        info, members = _group_view(rank_info(self._env), self.group)
        self.info, self.members = info, members
        self.leader = min(members) if members else 0
        with _sessions_lock:  # the n-th job of this name on this rank: the same n on every rank
            key = f"{self.name}\0{info.rank}"
            number = _session_numbers.get(key, 0)
            _session_numbers[key] = number + 1
        run_id = os.environ.get("TORCHELASTIC_RUN_ID", "")
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        self._prefix = f"ecometer/{run_id}.{restart}/{safe_name(self.name)}/{number}"
        self._store = self._store_arg if self._store_arg is not None else _default_store()
        self.host_owner = self._decide_host_owner(info)
        sensors, self.explanations = self._sensors(info)
        kwargs = dict(self._meter_kwargs)
        meta = dict(kwargs.pop("meta", None) or {})
        part_out = None
        if self.parts_dir is not None:
            part_out = _FileTransport(self.parts_dir, safe_name(self.name)).path(info.rank)
        self._meter = Meter(self.name, sensors=sensors, out=part_out, meta=meta, **kwargs)
        self._wall_start = time.time()
        self._meter.start()
        self._running = True
        self._pid = os.getpid()
        lifecycle.register(self)
        return self

    def _decide_host_owner(self, info: RankInfo) -> bool:
        if self.scope == "process":
            return True  # every rank meters its own process tree's share of the host: shares add up
        if info.local_rank is not None:
            return info.local_rank == 0
        if info.world_size == 1:
            return True
        if self._store is not None:
            return _StoreTransport(self._store, self._prefix).elect_host_owner(info.hostname)
        log.warning(
            "rank %s: the launcher gives no local rank and there is no process group to elect one; this rank "
            "meters its host, which is counted once per rank if several ranks share a machine",
            info.rank,
        )
        return True

    def _sensors(self, info: RankInfo) -> tuple[list[Sensor], list[str]]:
        if self._given_sensors is not None or self._given_host is not None:
            sensors = list(self._given_sensors or [])
            if self.host_owner and self._given_host is not None:
                host = self._given_host() if callable(self._given_host) else self._given_host
                sensors.extend(host)
            return sensors, []
        gpu_list, why = _rank_gpus(info, self.gpus)
        if gpu_list and "sync" not in self._meter_kwargs and len(gpu_list) == 1:
            self._meter_kwargs["sync"] = _device_sync(gpu_list[0])
        sensors, lines = _detect(
            gpu_list, why, self.host_owner, self.scope, strict=self.gpus != "auto" and bool(gpu_list)
        )
        for line in lines:
            log.info("rank %s: %s", info.rank, line)
        return sensors, lines

    def stop(self, status: str | None = None, error: str | None = None) -> RunRecord:
        """Stop this rank's meter and gather: rank 0 returns the job's record, others their own."""
        if self._forked:
            raise RuntimeError("this meter was started in the parent process; a forked child cannot stop it")
        with self._lock:
            if not self._running:
                if self.record is None:
                    raise RuntimeError(f"meter {self.name!r} was never started")
                return self.record
            self._running = False
        lifecycle.unregister(self)
        assert self._meter is not None and self.info is not None
        part = self._meter.stop(status, error)
        part.distributed = {
            "role": "rank",
            **self.info.to_dict(),
            "host_sensors": self.host_owner,
            "members": self.members if self.members != list(range(self.info.world_size)) else None,
        }
        if part.distributed["members"] is None:
            del part.distributed["members"]
        for line in self.explanations:  # as Meter does with what discovery found missing
            if line not in part.warnings:
                part.warnings.append(line)
        self.part = part
        timeout = (
            self.gather_timeout_s
            if status in (None, "ok", "failed")
            else min(self.gather_timeout_s, self.signal_gather_timeout_s)
        )
        if self._meter.path is not None:
            try:  # the part file was written before `distributed` was filled in
                part.save(self._meter.path)
            except OSError as exc:
                log.warning("cannot rewrite part %s: %s", self._meter.path, exc)
        if self.info.rank == self.leader:
            self.record = self._gather(part, timeout)
        else:
            self._send(part)
            self.record = part
        return self.record

    def _transport(self) -> _StoreTransport | _FileTransport | None:
        store = self._store if self._store is not None else (self._store_arg or _default_store())
        if store is not None:
            return _StoreTransport(store, self._prefix)
        if self.parts_dir is not None:
            return _FileTransport(self.parts_dir, safe_name(self.name), since=self._wall_start - _STALE_SLACK_S)
        return None

    def _send(self, part: RunRecord) -> None:
        assert self.info is not None
        transport = self._transport()
        if transport is None:
            log.warning(
                "rank %s: no torch.distributed store and no parts= directory: this rank's record cannot reach rank %s "
                "(it stays in meter.record)",
                self.info.rank,
                self.leader,
            )
            return
        if isinstance(transport, _FileTransport) and self._meter is not None and self._meter.path is not None:
            return  # already written to the shared directory
        try:
            transport.send(self.info.rank, _encode(part))
        except (RuntimeError, OSError) as exc:  # a store that went away must not crash the job
            log.warning("rank %s: could not send its record to rank %s: %s", self.info.rank, self.leader, exc)

    def _gather(self, own: RunRecord, timeout_s: float) -> RunRecord:
        from ecometer.aggregate import merge_records

        assert self.info is not None
        others = [r for r in self.members if r != self.info.rank]
        transport = self._transport() if others else None
        received: dict[int, RunRecord] = {}
        problems: list[str] = []
        t0 = time.monotonic()
        if others and transport is None:
            problems.append(
                "no torch.distributed store and no parts= directory: the other ranks' records could not be gathered"
            )
        elif transport is not None:
            try:
                payloads = transport.collect(others, timeout_s)
            except (RuntimeError, OSError) as exc:
                payloads = {}
                problems.append(f"gathering the ranks' records failed: {exc}")
            for rank, payload in payloads.items():
                try:
                    received[rank] = _decode(payload, rank)
                except (ValueError, zlib.error) as exc:
                    problems.append(f"the record of rank {rank} could not be read ({exc}); counted as missing")
        waited = time.monotonic() - t0
        for rank in getattr(transport, "stale", []):
            problems.append(f"the part file of rank {rank} is older than this run (a previous run's); ignored")
        extra = {
            "launcher": self.info.launcher,
            "gather": {
                "transport": transport.kind if transport is not None else None,
                "timeout_s": timeout_s,
                "waited_s": round(waited, 3),
            },
        }
        merged = merge_records([own, *received.values()], name=self.name, expected_ranks=self.members, extra=extra)
        merged.warnings[0:0] = problems
        for problem in problems:
            log.warning("%s: %s", self.name, problem)
        if merged.distributed and merged.distributed["missing_ranks"]:
            log.warning("%s: %s", self.name, merged.warnings[len(problems)])
        self._attach(merged)
        self._path = self._resolve_out()
        if self._path is not None:
            try:
                merged.save(self._path)
            except OSError as exc:
                message = f"cannot write record {self._path} ({exc}); it is kept in memory (meter.record)"
                log.warning("%s: %s", self.name, message)
                merged.warnings.append(message)
        return merged

    def _attach(self, record: RunRecord) -> None:
        for problem in attach_results(record, self.site, self.standard):
            log.warning("%s: %s", self.name, problem)

    def _resolve_out(self) -> Path | None:
        return record_path(self.out, self.name, suffix="job")

    def _finalise_on(self, status: str, reason: str) -> RunRecord | None:
        if self._forked or not self._running:
            return self.record
        return self.stop(status=status, error=reason)

    # ---- inside the run (this rank) ---------------------------------------------------------
    @contextmanager
    def phase(self, name: str, exact: bool = False) -> Iterator[None]:
        """This rank's phase (see :meth:`Meter.phase`); phases merge by name across ranks."""
        if self._meter is None or not self._running:
            yield
            return
        with self._meter.phase(name, exact=exact):
            yield

    def add_work(self, amount: float = 1, unit: str | None = None) -> None:
        """Work done by this rank; the job's work is the sum over ranks."""
        if self._meter is not None:
            self._meter.add_work(amount, unit)

    def live(self) -> LiveStatus:
        """This rank's power now (W) and energy so far (J)."""
        if self._meter is None:
            raise RuntimeError(f"meter {self.name!r} was never started")
        return self._meter.live()

    def sample_now(self) -> None:
        if self._meter is not None:
            self._meter.sample_now()

    @property
    def meter(self) -> Meter | None:
        """This rank's own :class:`~ecometer.meter.Meter`."""
        return self._meter

    @property
    def running(self) -> bool:
        return self._running

    @property
    def is_leader(self) -> bool:
        """Whether this rank gathers and writes the job's record."""
        return self.info is not None and self.info.rank == self.leader

    @property
    def path(self) -> Path | None:
        """Where the job's record was written (rank 0), or this rank's part file."""
        if self._path is not None:
            return self._path
        return self._meter.path if self._meter is not None else None

    @property
    def work_unit(self) -> str | None:
        return self._meter_kwargs.get("work_unit")


def measure_distributed(
    name: str = "run",
    *,
    group: Any = None,
    store: Any = None,
    out: str | os.PathLike[str] | None = "auto",
    parts: str | os.PathLike[str] | None = None,
    gather_timeout_s: float = DEFAULT_GATHER_TIMEOUT_S,
    signal_gather_timeout_s: float = SIGNAL_GATHER_TIMEOUT_S,
    sensors: list[Sensor] | None = None,
    host_sensors: list[Sensor] | Callable[[], list[Sensor]] | None = None,
    **meter_kwargs: Any,
) -> DistributedMeter:
    """Meter a distributed job as one job; use as a context manager or decorator on every rank.

    Args:
        name: the job's name.
        group: a ``torch.distributed`` process group (default: the whole job).
        store: a c10d ``Store`` to gather through (default: the default group's store).
        out: the job's record path, written by rank 0 only (``"auto"``: ``$ECOMETER_DIR``
            ``/<name>-<UTC time>-job.json``; None: not written).
        parts: a directory on a shared file system: every rank also writes its own record
            there (with a running checkpoint); it is the transport when there is no store.
            :func:`ecometer.aggregate.merge_files` merges them later if rank 0 died.
        gather_timeout_s: how long rank 0 waits for the other ranks at stop (s).
        signal_gather_timeout_s: the wait when stopping because of a signal or an interrupt
            (a launcher's grace period before SIGKILL is short; default 10 s).
        sensors: this rank's own sensors instead of its GPU (tests: a ReplaySensor).
        host_sensors: host sensors (a list, or a callable returning one) used only on the
            node's host-metering rank. Giving either list turns auto-detection off.
        **meter_kwargs: as for :class:`~ecometer.meter.Meter` (``gpus``, ``interval_s``,
            ``scope``, ``work_unit``, ``site``, ``standard``, ``meta``...); ``gpus="auto"``
            means this rank's device.
    """
    return DistributedMeter(
        name,
        group=group,
        store=store,
        out=out,
        parts=parts,
        gather_timeout_s=gather_timeout_s,
        signal_gather_timeout_s=signal_gather_timeout_s,
        sensors=sensors,
        host_sensors=host_sensors,
        **meter_kwargs,
    )


__all__ = ["DistributedMeter", "RankInfo", "measure_distributed", "rank_info"]
