"""A distributed job metered as one: the same Meter on every rank, with a gather step at stop.

:class:`Job` holds what the ranks share (process group, store, parts directory, timeouts);
each run of a :class:`DistributedMeter` opens a :class:`Session`: at start it finds this
rank's place (:mod:`ecometer.distributed.ranks`) and its sensors; at stop it labels the
rank's record, and the leader (the group's first rank) gathers the others' records through
a transport (:mod:`ecometer.distributed.transport`) and merges them
(:func:`ecometer.distributed.merge.merge_records`); every other rank sends its own. The
run's lifecycle (signals, checkpoints, saving with a fallback, the finish hook) is the
Meter's own.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecometer.checks.numbers import Bounds, check_number
from ecometer.distributed.ranks import RankInfo, detect, device_sync, group_view, rank_gpus, rank_info
from ecometer.distributed.transport import FileTransport, StoreTransport, decode, default_store, encode
from ecometer.errors import RecordError
from ecometer.measuring.meter import Meter
from ecometer.measuring.paths import record_path
from ecometer.record.model import RunRecord, checkpoint_path, load_record
from ecometer.sensors.base import Sensor

if TYPE_CHECKING:  # pragma: no cover
    from ecometer.measuring.run import Run

log = logging.getLogger("ecometer.distributed")

#: seconds rank 0 waits for the other ranks' records at stop, by default
DEFAULT_GATHER_TIMEOUT_S = 60.0
#: by default, at most this long when stopping because of a signal (a launcher's grace period is short)
SIGNAL_GATHER_TIMEOUT_S = 10.0
_STALE_SLACK_S = 5.0  # part files older than rank 0's start minus this are a previous run's
_sessions_lock = threading.Lock()
_session_numbers: dict[str, int] = {}


@dataclass
class Job:
    """What every rank of one distributed job shares: the arguments of
    :func:`ecometer.measure_distributed` that are not the meter's (see there for each)."""

    group: Any = None
    store: Any = None
    parts: str | os.PathLike[str] | None = None
    gather_timeout_s: float = DEFAULT_GATHER_TIMEOUT_S
    signal_gather_timeout_s: float = SIGNAL_GATHER_TIMEOUT_S
    host_sensors: list[Sensor] | Callable[[], list[Sensor]] | None = None
    env: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        for label in ("gather_timeout_s", "signal_gather_timeout_s"):
            setattr(self, label, check_number(getattr(self, label), label, Bounds(low=0, high=86400, unit="s")))
        self.parts_dir = Path(self.parts) if self.parts is not None else None

    def session(self, meter: Meter) -> Session:
        """This rank's side of one run of ``meter``."""
        return Session(self, meter)


class Session:
    """One run of a distributed meter on this rank: its place, its sensors, its gather."""

    def __init__(self, job: Job, meter: Meter) -> None:
        self.job = job
        self.meter = meter
        info, members = group_view(rank_info(job.env), job.group)
        self.info: RankInfo = info
        self.members = members
        self.leader = min(members) if members else 0
        with _sessions_lock:  # the n-th job of this name on this rank: the same n on every rank
            key = f"{meter.name}\0{info.rank}"
            number = _session_numbers.get(key, 0)
            _session_numbers[key] = number + 1
        run_id = os.environ.get("TORCHELASTIC_RUN_ID", "")
        restart = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
        self.prefix = f"ecometer/{run_id}.{restart}/{meter.safe_name}/{number}"
        self.store = job.store if job.store is not None else default_store()
        self.parts_dir = job.parts_dir or default_parts_dir(meter, info, job.env)
        self.host_owner = False
        self.sync: Callable[[], None] | None = None
        self.wall_start = time.time()
        self.hurried = threading.Event()  # a signal came while finishing: gather no longer

    @property
    def is_leader(self) -> bool:
        return self.info.rank == self.leader

    # ---- start ------------------------------------------------------------------------------
    def open_sensors(self) -> tuple[list[Sensor], list[str]]:
        """This rank's opened sensors (its GPU; the host if it owns it), and what is not metered."""
        self.host_owner = self._decide_host_owner()
        meter, job = self.meter, self.job
        if meter.given_sensors is not None or job.host_sensors is not None:
            sensors = list(meter.given_sensors or [])
            if self.host_owner and job.host_sensors is not None:
                sensors.extend(job.host_sensors() if callable(job.host_sensors) else job.host_sensors)
            for sensor in sensors:
                sensor.open()
            return sensors, []
        gpu_list, why = rank_gpus(self.info, meter.gpus)
        if gpu_list and len(gpu_list) == 1:
            self.sync = device_sync(gpu_list[0])
        sensors, lines = detect(
            gpu_list, why, self.host_owner, meter.scope, strict=meter.gpus != "auto" and bool(gpu_list)
        )
        for line in lines:
            log.info("rank %s: %s", self.info.rank, line)
        return sensors, lines

    def _decide_host_owner(self) -> bool:
        info = self.info
        if self.meter.scope == "process":
            return True  # every rank meters its own process tree's share of the host: shares add up
        if info.local_rank is not None:
            return info.local_rank == 0
        if info.world_size == 1:
            return True
        if self.store is not None:
            return StoreTransport(self.store, self.prefix).elect_host_owner(info.hostname)
        log.warning(
            "rank %s: the launcher gives no local rank and there is no process group to elect one; this rank "
            "meters its host, which is counted once per rank if several ranks share a machine",
            info.rank,
        )
        return True

    def part_path(self) -> Path | None:
        """This rank's own record file (in the parts directory: ``parts=`` or :func:`default_parts_dir`),
        or None; its checkpoint is kept next to it while the rank runs."""
        if self.parts_dir is None:
            return None
        return FileTransport(self.parts_dir, self.meter.safe_name).path(self.info.rank)

    def label(self, record: RunRecord) -> None:
        """Say in ``record`` (a part or a checkpoint of one) which rank of the job it is."""
        members = self.members if self.members != list(range(self.info.world_size)) else None
        record.distributed = {
            "role": "rank",
            **self.info.to_dict(),
            "host_sensors": self.host_owner,
            **({"members": members} if members is not None else {}),
        }

    def hurry(self) -> None:
        """A signal came while finishing: the leader stops waiting and saves what it has."""
        self.hurried.set()

    # ---- stop -------------------------------------------------------------------------------
    def finish(self, run: Run, part: RunRecord, status: str | None) -> RunRecord:
        """Label this rank's record and save it; the leader gathers and returns the job's record."""
        self.label(part)
        run.save(part, run.path)
        if not self.is_leader:
            self._send(run, part)
            return part
        timeout = self.job.gather_timeout_s
        on_signal = status not in (None, "ok", "failed")
        if on_signal:
            timeout = min(timeout, self.job.signal_gather_timeout_s)
        job_record = self._gather(part, timeout, on_signal)
        path = record_path(self.meter.out, self.meter.name, suffix="job")
        if path is not None:
            run.path = path
        return run._finalise(job_record, path)

    def _transport(self) -> StoreTransport | FileTransport | None:
        store = self.store if self.store is not None else default_store()
        if store is not None:
            return StoreTransport(store, self.prefix)
        if self.job.parts_dir is not None:
            since = self.wall_start - _STALE_SLACK_S
            return FileTransport(self.job.parts_dir, self.meter.safe_name, since=since)
        return None

    def _send(self, run: Run, part: RunRecord) -> None:
        transport = self._transport()
        if transport is None:
            log.warning(
                "rank %s: no torch.distributed store and no parts= directory: this rank's record cannot reach rank %s "
                "(it stays in meter.record)",
                self.info.rank,
                self.leader,
            )
            return
        if isinstance(transport, FileTransport) and run.path is not None:
            return  # already written to the shared directory
        try:
            transport.send(self.info.rank, encode(part))
        except (RuntimeError, OSError) as exc:  # a store that went away must not crash the job
            log.warning("rank %s: could not send its record to rank %s: %s", self.info.rank, self.leader, exc)

    def _gather(self, own: RunRecord, timeout_s: float, on_signal: bool = False) -> RunRecord:
        from ecometer.distributed.merge import merge_records

        others = [r for r in self.members if r != self.info.rank]
        transport = self._transport() if others else None
        t0 = time.monotonic()
        received, problems = self._collect(transport, others, timeout_s)
        gather: dict[str, Any] = {
            "transport": transport.kind if transport is not None else None,
            "timeout_s": timeout_s,
            "waited_s": round(time.monotonic() - t0, 3),
        }
        if self.hurried.is_set():
            gather["cut_short_by_signal"] = True
            problems.append(
                "a signal came while rank 0 was gathering the ranks' records: the job's record holds what had arrived "
                "by then; the ranks' own records (parts=) can be merged later with ecometer.distributed.merge_files"
            )
        missing = sorted(set(others) - {r.distributed.get("rank") for r in received if r.distributed})
        late, notes = self._checkpoints_of(missing)
        received.extend(late)
        problems.extend(notes)
        missing = [r for r in missing if r not in {c.distributed.get("rank") for c in late}]
        if on_signal and missing and not self.hurried.is_set():
            problems.append(
                f"rank 0 was stopped by a signal and waited {timeout_s:g} s (signal_gather_timeout_s) for the other "
                f"ranks: rank(s) {', '.join(map(str, missing))} may still be alive (e.g. blocked in a collective with "
                "rank 0) or dead; their own records (parts=) can be merged later with ecometer.distributed.merge_files"
            )
        extra = {"launcher": self.info.launcher, "gather": gather}
        merged = merge_records([own, *received], name=self.meter.name, expected_ranks=self.members, extra=extra)
        merged.warnings[0:0] = problems
        for problem in problems:
            log.warning("%s: %s", self.meter.name, problem)
        if merged.distributed and merged.distributed["missing_ranks"]:
            log.warning("%s: %s", self.meter.name, merged.warnings[len(problems)])
        return merged

    def _checkpoints_of(self, ranks: list[int]) -> tuple[list[RunRecord], list[str]]:
        """The latest checkpoints (or parts) that ranks which did not report left in the parts directory
        during this run, and what they mean for the job's figures."""
        if not ranks or self.parts_dir is None:
            return [], []
        files = FileTransport(self.parts_dir, self.meter.safe_name)
        found: list[RunRecord] = []
        for rank in ranks:
            for path in (files.path(rank), checkpoint_path(files.path(rank))):
                try:
                    if path.stat().st_mtime < self.wall_start - _STALE_SLACK_S:
                        continue  # a previous run's
                    record = load_record(path)
                except (OSError, RecordError):
                    continue
                if record.distributed and record.distributed.get("rank") == rank:
                    found.append(record)
                    break
        if not found:
            return [], []
        got = sorted(int(r.distributed["rank"]) for r in found if r.distributed)
        return found, [
            f"rank(s) {', '.join(map(str, got))} did not report in time; their latest checkpoint in {self.parts_dir} "
            "is counted instead: their energy and work after it (up to checkpoint_interval_s, or until they died) "
            "are missing, so per-work figures of the job may be slightly high"
        ]

    def _collect(
        self, transport: StoreTransport | FileTransport | None, others: list[int], timeout_s: float
    ) -> tuple[list[RunRecord], list[str]]:
        """The other ranks' records that arrived within ``timeout_s``, and what went wrong."""
        if others and transport is None:
            return [], ["no torch.distributed store and no parts= directory: the other ranks' records could not be gathered"]
        if transport is None:
            return [], []
        problems: list[str] = []
        try:
            payloads = transport.collect(others, timeout_s, abort=self.hurried)
        except (RuntimeError, OSError) as exc:
            payloads = {}
            problems.append(f"gathering the ranks' records failed: {exc}")
        received = []
        for rank, payload in payloads.items():
            try:
                received.append(decode(payload, rank))
            except (ValueError, zlib.error) as exc:
                problems.append(f"the record of rank {rank} could not be read ({exc}); counted as missing")
        for rank in getattr(transport, "stale", []):
            problems.append(f"the part file of rank {rank} is older than this run (a previous run's); ignored")
        return received, problems


def default_parts_dir(meter: Meter, info: RankInfo, env: Mapping[str, str] | None) -> Path | None:
    """Where every rank of a job of several keeps its own record and checkpoints when ``parts=`` is not
    given: ``<name>-parts-<job key>/`` next to the job's record (in ``$ECOMETER_DIR`` for
    ``out="auto"``, beside ``out`` otherwise), so that a killed rank, rank 0 included, leaves a
    checkpoint (``merge_files`` over the folder makes the job's record). The key (8 hex digits) is
    the same on every rank of one job and differs between jobs (launcher run id, restart,
    rendezvous address and port). None for a job of one process or ``out=None``."""
    if info.world_size <= 1 or meter.out is None or meter.out is False:
        return None
    source = os.environ if env is None else env
    if meter.out == "auto":
        base = Path(source.get("ECOMETER_DIR") or os.environ.get("ECOMETER_DIR", "ecometer-runs"))
    else:
        base = Path(meter.out).parent
    parts = [source.get(k, "") for k in ("TORCHELASTIC_RUN_ID", "TORCHELASTIC_RESTART_COUNT", "MASTER_ADDR",
                                         "MASTER_PORT", "SLURM_JOB_ID", "SLURM_STEP_ID")]  # fmt: skip
    key = hashlib.sha1("\0".join(parts).encode("utf-8", "replace"), usedforsecurity=False).hexdigest()[:8]
    return base / f"{meter.safe_name}-parts-{key}"


class DistributedMeter(Meter):
    """A :class:`~ecometer.measuring.meter.Meter` that is one rank of a :class:`Job`.

    Same use as a Meter; after :meth:`stop`, :attr:`record` is the job's merged record on the
    group's first rank and this rank's own part elsewhere; :attr:`part` is always this rank's
    own record. Made by :func:`ecometer.measure_distributed`.
    """

    job: Job

    def _session(self) -> Session | None:
        run = self.run
        return run.session if run is not None else None

    @property
    def info(self) -> RankInfo | None:
        """Where this rank sits in the job (after start)."""
        session = self._session()
        return session.info if session is not None else None

    @property
    def part(self) -> RunRecord | None:
        """This rank's own record (after stop)."""
        return self.run.part if self.run is not None else None

    @property
    def is_leader(self) -> bool:
        """Whether this rank gathers and writes the job's record."""
        session = self._session()
        return session is not None and session.is_leader

    @property
    def host_owner(self) -> bool:
        """Whether this rank meters its node's host (CPU, DRAM)."""
        session = self._session()
        return session is not None and session.host_owner


#: the names of :class:`Job`'s arguments (the rest of ``measure_distributed``'s are the meter's)
JOB_ARGUMENTS = frozenset(f.name for f in fields(Job))

__all__ = ["DEFAULT_GATHER_TIMEOUT_S", "SIGNAL_GATHER_TIMEOUT_S", "DistributedMeter", "Job", "Session"]
