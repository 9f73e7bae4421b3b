"""Host usage: the machine's CPU times and a process tree's CPU time and memory, from ``/proc``.

A small facade over procfs reading, in psutil's manner (psutil itself only where ``/proc``
is missing, i.e. not Linux), for the host sensors (CPU and memory models, RAPL shares):

* :class:`ProcStat`: cumulative busy and total CPU-seconds of the machine (``/proc/stat``).
* :class:`ProcessTree`: cumulative CPU-seconds and resident memory of this process and all
  its descendants, from one ``/proc/<pid>/stat`` read per process per sample.
* :class:`HostUsage`: one sample per tick shared by several sensors.
* :class:`ShareTracker`: per-sensor interval maths on those samples: the machine's CPU
  utilisation and the tree's shares of busy CPU time and of memory.

Units: CPU time in seconds summed over CPUs (one busy CPU for 1 s = 1 s), memory in bytes,
fractions in 0..1. Times read from procfs have the kernel's clock-tick resolution
(``SC_CLK_TCK``, usually 10 ms).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from ecometer.errors import SensorUnavailable
from ecometer.sensors.base import check_scope

CLK_TCK = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096

PROCESS_ATTRIBUTION = (
    "process scope: the machine's {what} is attributed to this process tree (this process and all "
    "its descendants) in proportion to its share of the machine's busy CPU time in each "
    "interval{extra}; an attribution, not a measurement"
)


def close_fd(fd: int | None) -> None:
    """Close a file descriptor from ``os.open`` (``None``: nothing); never raises."""
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


# ---- machine CPU times -----------------------------------------------------------------
class CpuTimes(NamedTuple):
    """Cumulative CPU-seconds of the machine since boot, summed over all CPUs."""

    busy_s: float  #: user + nice + system + irq + softirq (guest time is inside user/nice)
    total_s: float  #: busy + idle + iowait + steal


class ProcStat:
    """Cumulative busy and total CPU seconds of the machine from ``/proc/stat``.

    The file stays open and is re-read with ``os.pread`` at offset 0 (procfs regenerates
    it). Without ``/proc/stat`` (not Linux) ``psutil.cpu_times()`` is used instead.
    """

    def __init__(self, path: str = "/proc/stat") -> None:
        self.path = path
        self._fd: int | None = None
        self._psutil = False

    def open(self) -> None:
        if self._fd is not None or self._psutil:
            return
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            import psutil  # noqa: F401 - fail here, not on the first read, if missing

            self._psutil = True

    def read(self) -> CpuTimes:
        """The machine's CPU times now (s, summed over CPUs, since boot)."""
        if self._fd is None:
            if not self._psutil:
                self.open()
            if self._fd is None:
                return self._read_psutil()
        head = os.pread(self._fd, 512, 0)
        line = head[: head.find(b"\n")].split()
        if not line or line[0] != b"cpu" or len(line) < 5:
            raise SensorUnavailable(f"{self.path}: unexpected first line {head[:80]!r}")
        v = [int(x) for x in line[1:9]]
        v += [0] * (8 - len(v))
        user, nice, system, idle, iowait, irq, softirq, steal = v
        busy = user + nice + system + irq + softirq
        return CpuTimes(busy / CLK_TCK, (busy + idle + iowait + steal) / CLK_TCK)

    @staticmethod
    def _read_psutil() -> CpuTimes:
        import psutil

        t = psutil.cpu_times()._asdict()
        idle = t.get("idle", 0.0) + t.get("iowait", 0.0)
        steal = t.get("steal", 0.0)
        total = sum(v for k, v in t.items() if k not in ("guest", "guest_nice"))
        return CpuTimes(total - idle - steal, total)

    def close(self) -> None:
        close_fd(self._fd)
        self._fd = None


def total_memory_bytes() -> int:
    """Physical memory the OS sees (bytes): ``sysconf`` (no psutil import), else psutil."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        if pages > 0 and size > 0:
            return int(pages) * int(size)
    except (AttributeError, ValueError, OSError):
        pass
    import psutil

    return int(psutil.virtual_memory().total)


# ---- processes -----------------------------------------------------------------------------
class ProcRead(NamedTuple):
    """One read of one process."""

    self_s: float  #: its own user + system CPU seconds
    child_s: float  #: user + system CPU seconds of its children that it has waited for
    rss_bytes: int  #: resident memory (bytes)


class ProcInfo(NamedTuple):
    """Where a process sits in the tree and when it started."""

    ppid: int
    start: float  #: start time, on the clock of :meth:`ProcessSource.now`


class ProcessSource(Protocol):
    """How :class:`ProcessTree` sees processes (procfs on Linux, psutil elsewhere, fakes in tests)."""

    root_pid: int

    def open(self) -> None: ...

    def close(self) -> None: ...

    def now(self) -> float:
        """The current time on the clock of :attr:`ProcInfo.start`."""
        ...

    def may_have_new(self) -> bool:
        """False only when no process can have been created since the last :meth:`tree`."""
        ...

    def tree(self) -> dict[int, ProcInfo]:
        """The root and all its live descendants (a full process listing: milliseconds)."""
        ...

    def read(self, pid: int) -> ProcRead | None:
        """One process's CPU times and memory; ``None`` once it is gone (or a new process reuses the pid)."""
        ...

    def forget(self, pid: int) -> None:
        """Release what is held for ``pid`` (it is gone or no longer tracked)."""
        ...


def _stat_fields(data: bytes) -> list[bytes]:
    """The fields of a ``/proc/<pid>/stat`` line after the command name (field 3 is index 0)."""
    return data[data.rfind(b")") + 2 :].split()


class ProcfsProcesses:
    """Processes through ``/proc/<pid>/stat``: one read gives CPU times, RSS, parent and start.

    Up to ``max_open`` tracked processes keep their stat file open (re-read with ``pread``;
    the kernel ties the open file to that process, so a reused pid reads as gone); more are
    opened for each read. Every read checks the start time recorded when the process was
    listed, so a reused pid is never taken for the process it replaces. A listing scans all
    of ``/proc``; :meth:`may_have_new` avoids it while the kernel's last allocated pid (the
    last field of ``/proc/loadavg``, which moves with every process or thread created in
    this pid namespace and in any namespace below it) has not changed.
    """

    def __init__(self, root_pid: int | None = None, proc: str = "/proc", max_open: int = 64) -> None:
        self.root_pid = os.getpid() if root_pid is None else root_pid
        self.proc = proc
        self.max_open = max_open
        self._fds: dict[int, int] = {}
        self._start: dict[int, int] = {}  # pid -> start time (clock ticks since boot) when listed
        self._loadavg: int | None = None
        self._last_pid: bytes | None = None

    @staticmethod
    def available(proc: str = "/proc") -> bool:
        """Whether this is Linux procfs (with ``CLOCK_BOOTTIME``, the clock of process start times)."""
        return hasattr(time, "CLOCK_BOOTTIME") and os.path.exists(f"{proc}/self/stat")

    def open(self) -> None:
        if self._loadavg is None:
            try:
                self._loadavg = os.open(f"{self.proc}/loadavg", os.O_RDONLY)
            except OSError:
                self._loadavg = -1  # no gate: list at every refresh

    def close(self) -> None:
        for pid in list(self._fds):
            self.forget(pid)
        if self._loadavg is not None and self._loadavg >= 0:
            close_fd(self._loadavg)
        self._loadavg = None

    def now(self) -> float:
        """Clock ticks since boot (``CLOCK_BOOTTIME``, the clock of a process's start time)."""
        return math.floor(time.clock_gettime(time.CLOCK_BOOTTIME) * CLK_TCK)

    def _last_allocated_pid(self) -> bytes | None:
        if self._loadavg is None or self._loadavg < 0:
            return None
        try:
            return os.pread(self._loadavg, 128, 0).rsplit(None, 1)[-1]
        except OSError:
            return None

    def may_have_new(self) -> bool:
        last = self._last_allocated_pid()
        return last is None or last != self._last_pid

    def tree(self) -> dict[int, ProcInfo]:
        self._last_pid = self._last_allocated_pid()  # before the scan: a process born during it is seen next time
        children: dict[int, list[int]] = {}
        info: dict[int, ProcInfo] = {}
        for name in os.listdir(self.proc):
            if not name.isdigit():
                continue
            try:
                with open(f"{self.proc}/{name}/stat", "rb") as fh:
                    f = _stat_fields(fh.read())
                pid, ppid = int(name), int(f[1])
                info[pid] = ProcInfo(ppid, float(f[19]))
            except (OSError, IndexError, ValueError):
                continue  # exited during the scan
            children.setdefault(ppid, []).append(pid)
        out: dict[int, ProcInfo] = {}
        todo = [self.root_pid]
        while todo:
            pid = todo.pop()
            if pid in out or pid not in info:
                continue
            out[pid] = info[pid]
            todo.extend(children.get(pid, ()))
        for pid, pinfo in out.items():
            self._start.setdefault(pid, int(pinfo.start))
        return out

    def read(self, pid: int) -> ProcRead | None:
        try:
            fd = self._fds.get(pid)
            if fd is not None:
                data = os.pread(fd, 2048, 0)
            else:
                fd = os.open(f"{self.proc}/{pid}/stat", os.O_RDONLY)
                try:
                    data = os.read(fd, 2048)
                except OSError:
                    os.close(fd)
                    raise
                if len(self._fds) < self.max_open and pid in self._start:
                    self._fds[pid] = fd
                else:
                    os.close(fd)
            f = _stat_fields(data)
            if int(f[19]) != self._start.get(pid, int(f[19])):
                return None  # the pid now belongs to another process
            return ProcRead(
                (int(f[11]) + int(f[12])) / CLK_TCK, (int(f[13]) + int(f[14])) / CLK_TCK, int(f[21]) * PAGE_SIZE
            )
        except (OSError, IndexError, ValueError):
            return None

    def forget(self, pid: int) -> None:
        self._start.pop(pid, None)
        close_fd(self._fds.pop(pid, None))


class PsutilProcesses:
    """Processes through psutil (where ``/proc`` is missing); ``root`` may be any psutil-like process."""

    def __init__(self, root: Any = None, errors: tuple[type[BaseException], ...] | None = None) -> None:
        self._root = root
        self._errors = errors
        self._procs: dict[int, Any] = {}
        self.root_pid = -1 if root is None else int(root.pid)

    def open(self) -> None:
        if self._root is None or self._errors is None:
            import psutil

            if self._root is None:
                self._root = psutil.Process(os.getpid())
                self.root_pid = self._root.pid
            if self._errors is None:
                self._errors = (psutil.NoSuchProcess, psutil.AccessDenied)

    def close(self) -> None:
        self._procs.clear()

    def now(self) -> float:
        """Wall-clock seconds (psutil's ``create_time`` clock)."""
        return time.time()

    def may_have_new(self) -> bool:
        return True

    def tree(self) -> dict[int, ProcInfo]:
        assert self._errors is not None, "open() first"
        found = [self._root]
        try:
            found += list(self._root.children(recursive=True))
        except self._errors:
            pass
        out: dict[int, ProcInfo] = {}
        for proc in found:
            try:
                out[proc.pid] = ProcInfo(int(proc.ppid()), float(proc.create_time()))
            except self._errors:
                continue
            self._procs.setdefault(proc.pid, proc)
        return out

    def read(self, pid: int) -> ProcRead | None:
        assert self._errors is not None, "open() first"
        proc = self._procs.get(pid)
        if proc is None:
            return None
        try:
            t = proc.cpu_times()
            rss = int(proc.memory_info().rss)
        except self._errors:
            return None
        return ProcRead(float(t.user + t.system), float(t.children_user + t.children_system), rss)

    def forget(self, pid: int) -> None:
        self._procs.pop(pid, None)


@dataclass
class _Tracked:
    ppid: int | None
    self_s: float
    child_s: float


class TreeUsage(NamedTuple):
    """A process tree's cumulative CPU seconds since :meth:`ProcessTree.open` and its RSS now."""

    cpu_s: float
    rss_bytes: int


class ProcessTree:
    """Cumulative CPU seconds and resident memory of a process and all its descendants.

    CPU time counted = the live processes' own user+system time, plus the ``children_*``
    times of reaped descendants (which the kernel adds to the parent that waits for them),
    without counting twice what was already seen of a reaped child: when a tracked child
    disappears, its last seen totals become a debt against its parent's next ``children_*``
    increase. Processes are read parents first, so a child reaped between two reads is
    always settled. Time of a descendant that exits unobserved and is reaped outside the
    tree (re-parented to init) is lost. The list of descendants is refreshed every
    ``refresh_s`` seconds when the source says a process may have been created since the
    last listing (listing them scans all of ``/proc``: about a millisecond); the tracked
    processes are read at every sample (a few microseconds each on procfs).

    ``source``: a :class:`ProcessSource`; default :class:`ProcfsProcesses` of this process
    (:class:`PsutilProcesses` where ``/proc`` is missing).
    """

    _DEBT_TTL_S = 10.0

    def __init__(
        self,
        source: ProcessSource | None = None,
        *,
        refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self.refresh_s = refresh_s
        self._clock = clock
        self._procs: dict[int, _Tracked] = {}
        self._order: list[int] = []  # tracked pids, parents first
        self._debt: dict[int, list[tuple[float, float]]] = {}  # ppid -> [(seconds, expires_at)]
        self._next_refresh = -math.inf
        self._relist = True  # a listed process could not be read: list again at the next refresh
        self._t_open = 0.0
        self.cpu_s = 0.0  # cumulative CPU seconds of the tree since open()
        self.rss_bytes = 0
        self._opened = False

    def open(self) -> None:
        if self._opened:
            return
        if self._source is None:
            self._source = ProcfsProcesses() if ProcfsProcesses.available() else PsutilProcesses()
        self._source.open()
        self._t_open = self._source.now()
        self._opened = True
        self._refresh(self._clock(), baseline_all=True)
        self.sample()

    def close(self) -> None:
        """Release the source; a later :meth:`open` starts counting from zero again."""
        if self._opened and self._source is not None:
            self._source.close()
        self._opened = False
        self._procs.clear()
        self._order = []
        self._debt.clear()
        self._next_refresh = -math.inf
        self._relist = True
        self.cpu_s = 0.0
        self.rss_bytes = 0

    def _refresh(self, now: float, baseline_all: bool = False) -> None:
        source = self._source
        assert source is not None
        self._next_refresh = now + self.refresh_s
        if not (baseline_all or self._relist or source.may_have_new()):
            return
        self._relist = False
        added = False
        for pid, info in source.tree().items():
            if pid in self._procs:
                continue
            got = source.read(pid)
            if got is None:
                self._relist = True
                source.forget(pid)
                continue
            added = True
            if info.start >= self._t_open and not baseline_all:
                # all of a process born during the run counts; start from zero
                self._procs[pid] = _Tracked(info.ppid, 0.0, 0.0)
            else:
                self._procs[pid] = _Tracked(info.ppid, got.self_s, got.child_s)
        if added:
            self._order = self._parents_first()

    def _parents_first(self) -> list[int]:
        depth: dict[int, int] = {}

        def d(pid: int) -> int:
            if pid in depth:
                return depth[pid]
            depth[pid] = 0  # guards against cycles from pid reuse
            parent = self._procs[pid].ppid
            depth[pid] = d(parent) + 1 if parent in self._procs else 0
            return depth[pid]

        return sorted(self._procs, key=d)

    def sample(self) -> TreeUsage:
        """The tree's CPU seconds since :meth:`open` and its resident memory now (bytes)."""
        source = self._source
        assert source is not None, "open() first"
        now = self._clock()
        if now >= self._next_refresh:
            self._refresh(now)
        reads: list[tuple[int, ProcRead]] = []
        gone: list[int] = []
        for pid in self._order:
            got = source.read(pid)
            if got is None:
                gone.append(pid)
            else:
                reads.append((pid, got))
        for pid in gone:
            t = self._procs.pop(pid)
            source.forget(pid)
            if t.ppid in self._procs:
                self._debt.setdefault(t.ppid, []).append((t.self_s + t.child_s, now + self._DEBT_TTL_S))
        if gone:
            self._order = [p for p in self._order if p in self._procs]
        delta = 0.0
        rss = 0
        for pid, (self_s, child_s, r) in reads:
            t = self._procs[pid]
            delta += max(self_s - t.self_s, 0.0)
            d_child = max(child_s - t.child_s, 0.0)
            if self._debt:
                d_child = self._pay_debts(pid, d_child, now)
            delta += d_child
            t.self_s, t.child_s = self_s, child_s
            rss += r
        if self._debt:
            for pid in [p for p in self._debt if p not in self._procs]:
                del self._debt[pid]
        self.cpu_s += delta
        self.rss_bytes = rss
        return TreeUsage(self.cpu_s, rss)

    def _pay_debts(self, pid: int, d_child: float, now: float) -> float:
        """What is left of a children-time increase after paying ``pid``'s debts (s)."""
        debts = [(s, exp) for s, exp in self._debt.pop(pid, []) if exp > now]
        while debts and d_child > 0:
            owed, exp = debts.pop(0)
            paid = min(owed, d_child)
            d_child -= paid
            if owed > paid:
                debts.insert(0, (owed - paid, exp))
        if debts:
            self._debt[pid] = debts
        return d_child

    @property
    def pids(self) -> list[int]:
        return sorted(self._procs)


# ---- one usage sample per tick, shared by the host sensors -----------------------------
class UsageSample(NamedTuple):
    """Cumulative machine CPU seconds (busy, total) at ``t`` and, in process scope, the tree's."""

    t: float  #: the sampler's monotonic time (s)
    busy_s: float
    total_s: float
    tree_cpu_s: float | None = None
    tree_rss_bytes: int | None = None


class HostUsage:
    """Machine (and process-tree) CPU usage, read at most once per ``now`` for all sensors.

    Several sensors (CPU model, memory model, RAPL shares) poll at the same tick with the
    same ``now``: the first reads ``/proc/stat``, the others get the cached sample. Each
    sensor keeps its own previous sample and works on differences. Reference counted:
    :meth:`acquire` on open, :meth:`release` on close.
    """

    def __init__(
        self,
        scope: str = "machine",
        *,
        stat: ProcStat | None = None,
        tree: ProcessTree | None = None,
        total_memory_bytes: int | None = None,
    ) -> None:
        self.scope = check_scope(scope)
        self.stat = stat or ProcStat()
        self._tree = tree
        self._total_mem = total_memory_bytes
        self._users = 0
        self._last: UsageSample | None = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._users == 0:
                self.stat.open()
                if self.scope == "process":
                    if self._tree is None:
                        self._tree = ProcessTree()
                    self._tree.open()
            self._users += 1

    def release(self) -> None:
        with self._lock:
            self._users = max(self._users - 1, 0)
            if self._users == 0:
                self.stat.close()
                if self._tree is not None:
                    self._tree.close()
                self._last = None

    @property
    def total_memory_bytes(self) -> int:
        if self._total_mem is None:
            self._total_mem = total_memory_bytes()
        return self._total_mem

    def sample(self, now: float, tree: bool = False) -> UsageSample:
        """Usage at ``now`` (cached for repeated calls with the same ``now``)."""
        with self._lock:
            last = self._last
            if last is None or last.t != now:
                busy, total = self.stat.read()
                last = UsageSample(now, busy, total)
            if tree and self._tree is not None and last.tree_cpu_s is None:
                cpu_s, rss = self._tree.sample()
                last = UsageSample(last.t, last.busy_s, last.total_s, cpu_s, rss)
            self._last = last
            return last


class IntervalUsage(NamedTuple):
    """Usage over one interval between two samples (fractions, 0..1)."""

    u: float  #: the machine's CPU utilisation: busy over total CPU time
    cpu_share: float  #: the process tree's share of the machine's busy CPU time
    rss_share: float  #: the tree's resident memory over total memory, at the interval's end


@dataclass
class ShareTracker:
    """Per-sensor interval maths on :class:`HostUsage` samples.

    :meth:`update` returns the :class:`IntervalUsage` since its previous call (``cpu_share``
    and ``rss_share`` stay 0 unless ``tree``). An interval in which no clock tick elapsed
    returns ``None`` and keeps the previous sample; :attr:`last` is the last interval's.
    """

    usage: HostUsage
    tree: bool = False
    prev: UsageSample | None = None
    last: IntervalUsage = field(default=IntervalUsage(0.0, 0.0, 0.0))

    def start(self, now: float) -> None:
        self.prev = self.usage.sample(now, tree=self.tree)

    def update(self, now: float) -> IntervalUsage | None:
        cur = self.usage.sample(now, tree=self.tree)
        prev = self.prev
        if prev is None:
            self.prev = cur
            return None
        d_total = cur.total_s - prev.total_s
        if d_total <= 0 or now <= prev.t:
            return None
        d_busy = max(cur.busy_s - prev.busy_s, 0.0)
        u = min(d_busy / d_total, 1.0)
        cpu_share = rss_share = 0.0
        if cur.tree_cpu_s is not None and prev.tree_cpu_s is not None:
            d_tree = max(cur.tree_cpu_s - prev.tree_cpu_s, 0.0)
            cpu_share = min(d_tree / d_busy, 1.0) if d_busy > 0 else 0.0
            total_mem = self.usage.total_memory_bytes
            rss_share = min((cur.tree_rss_bytes or 0) / total_mem, 1.0) if total_mem > 0 else 0.0
        self.prev = cur
        self.last = IntervalUsage(u, cpu_share, rss_share)
        return self.last


__all__ = [
    "PROCESS_ATTRIBUTION",
    "CpuTimes",
    "HostUsage",
    "IntervalUsage",
    "ProcInfo",
    "ProcRead",
    "ProcStat",
    "ProcessSource",
    "ProcessTree",
    "ProcfsProcesses",
    "PsutilProcesses",
    "ShareTracker",
    "TreeUsage",
    "UsageSample",
    "close_fd",
    "total_memory_bytes",
]
