"""How the ranks' records reach the leader: a c10d store, or part files on a shared directory.

Each rank puts its record (zlib-compressed JSON) into the job's c10d store under a key of
its own; the leader polls a counter until every rank reported or the timeout passed. No
collective is used: a rank that died cannot hang the others. Without a store, every rank
writes ``DIR/<name>.rank00003.json`` (with a checkpoint while running) and the leader reads
the fresh ones.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from ecometer.distributed.ranks import torch_dist
from ecometer.files.atomic import write_atomic
from ecometer.record.model import RunRecord

log = logging.getLogger("ecometer.distributed")

_POLL_S = 0.05


def default_store() -> Any:
    dist = torch_dist()
    if dist is None:
        return None
    from torch.distributed import distributed_c10d

    try:
        return distributed_c10d._get_default_store()
    except (RuntimeError, ValueError) as exc:
        log.warning("torch.distributed is initialised but its store is not reachable (%s)", exc)
        return None


class StoreTransport:
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

    def collect(self, ranks: list[int], timeout_s: float, abort: threading.Event | None = None) -> dict[int, bytes]:
        """The records of ``ranks`` that arrived within ``timeout_s`` (or until ``abort`` is set)."""
        deadline = time.monotonic() + timeout_s
        counter = f"{self.prefix}/count"
        while True:
            if int(self.store.add(counter, 0)) >= len(ranks):
                break
            if time.monotonic() >= deadline or (abort is not None and abort.is_set()):
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


class FileTransport:
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

    def collect(self, ranks: list[int], timeout_s: float, abort: threading.Event | None = None) -> dict[int, bytes]:
        """The fresh part files of ``ranks`` within ``timeout_s`` (or until ``abort`` is set)."""
        deadline = time.monotonic() + timeout_s
        while not all(self._fresh(r) for r in ranks) and time.monotonic() < deadline:
            if abort is not None and abort.is_set():
                break
            time.sleep(_POLL_S)
        out: dict[int, bytes] = {}
        for rank in ranks:
            if self._fresh(rank):
                out[rank] = zlib.compress(self.path(rank).read_bytes())
            elif self.path(rank).exists():
                self.stale.append(rank)
        return out


def encode(record: RunRecord) -> bytes:
    return zlib.compress(record.to_json(indent=None).encode("utf-8"), 6)


def decode(payload: bytes, rank: int) -> RunRecord:
    data = json.loads(zlib.decompress(payload).decode("utf-8"))
    return RunRecord.from_dict(data, origin=f"record of rank {rank}")
