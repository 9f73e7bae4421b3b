"""Modelled CPU power where no energy counter exists (VMs, containers, CI machines).

The model, with every constant in ``ecometer/data/cpu_power.json`` (sources there)::

    P(t) = n_threads x W_thread x curve(u(t))          [W]

* ``u``: CPU utilisation (0..1) of the machine or VM between two polls, from ``/proc/stat``
  deltas: busy = user + nice + system + irq + softirq, over busy + idle + iowait + steal.
  Never blocking: one ``pread`` of ``/proc/stat`` per poll on a file kept open.
* ``curve``: package power as a fraction of rated TDP versus utilisation (Teads 2021:
  0.12 at idle, 0.32 at 10 %, 0.75 at 50 %, 1.02 at 100 %), linearly interpolated.
* ``W_thread``: the detected CPU's TDP divided by its hardware threads per socket. The CPU
  is found by model name (exact SKU), else by CPUID vendor/family/model (its generation:
  the median over that generation's SKUs, with their min..max as an uncertainty), else a
  generic per-thread figure with wide bounds. Hypervisors often hide the model name ("AMD
  EPYC", "Intel(R) Xeon(R) Processor") but not the CPUID family and model.
* ``n_threads``: logical CPUs visible. On a VM these are its vCPUs, i.e. its share of the
  host's threads (vCPUs / host threads per socket of the socket's TDP). On bare metal with a
  known SKU the whole sockets count (sockets x TDP), so disabled SMT does not halve power.

``scope="process"``: :meth:`CpuModelSensor.share` gives the process tree's share of the
machine's busy CPU time in each interval; the meter applies it. That is an attribution, not
a measurement, and :meth:`attribution` says so.

This module also holds the helpers shared by the host sensors (``memory`` and ``rapl``): the
data-file loader, the ``/proc/cpuinfo`` parser, the ``/proc/stat`` reader, the process-tree
tracker and :class:`HostUsage`, one sampling point per tick shared by several sensors.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ecometer import datafiles
from ecometer.errors import SensorUnavailable
from ecometer.sensors.base import Device, Sensor, Uncertainty

log = logging.getLogger("ecometer.sensors")

SCOPES = ("machine", "process")
_EPS_S = 1e-6  # offset of the step point that opens an interval (s)


# ---- data files ------------------------------------------------------------------------
def load_data(name: str) -> dict[str, Any]:
    """A JSON data file shipped in ``ecometer/data/`` (parsed once per process; do not mutate)."""
    return datafiles.load(name)


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        from ecometer.errors import InputError

        raise InputError(f"scope {scope!r}: expected one of {', '.join(SCOPES)}")
    return scope


# ---- /proc/cpuinfo ---------------------------------------------------------------------
@dataclass(frozen=True)
class CpuInfo:
    """What ``/proc/cpuinfo`` says about the CPU (first processor block plus counts)."""

    model_name: str = "unknown"
    vendor: str = ""
    family: int | None = None
    model: int | None = None
    logical_cpus: int = 1
    sockets: int = 1
    hypervisor: bool = False


def parse_cpuinfo(text: str) -> CpuInfo:
    """Parse the text of ``/proc/cpuinfo`` (x86 or Arm; missing fields stay unknown)."""
    first: dict[str, str] = {}
    processors = 0
    sockets: set[str] = set()
    flags = ""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "processor":
            processors += 1
        elif key == "physical id":
            sockets.add(value)
        elif key == "flags" and not flags:
            flags = value
        if processors <= 1 and key not in first:
            first[key] = value

    def as_int(key: str) -> int | None:
        raw = first.get(key, "")
        try:
            return int(raw, 0)
        except ValueError:
            return None

    model_name = first.get("model name") or first.get("cpu model") or first.get("hardware") or "unknown"
    return CpuInfo(
        model_name=model_name,
        vendor=first.get("vendor_id", first.get("cpu implementer", "")),
        family=as_int("cpu family"),
        model=as_int("model"),
        logical_cpus=processors or (os.cpu_count() or 1),
        sockets=max(len(sockets), 1),
        hypervisor="hypervisor" in flags.split(),
    )


PROC_CPUINFO = "/proc/cpuinfo"


def read_cpuinfo(path: str = PROC_CPUINFO) -> CpuInfo:
    """Parse ``path``; without it (not Linux) fall back to ``platform`` and ``os.cpu_count``.

    The default ``/proc/cpuinfo`` is read once per process (cached); other paths every call.
    """
    if path == PROC_CPUINFO:
        return _proc_cpuinfo()
    return _read_cpuinfo(path)


@cache
def _proc_cpuinfo() -> CpuInfo:
    return _read_cpuinfo(PROC_CPUINFO)


def _read_cpuinfo(path: str) -> CpuInfo:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return parse_cpuinfo(fh.read())
    except OSError:
        import platform

        return CpuInfo(model_name=platform.processor() or "unknown", logical_cpus=os.cpu_count() or 1)


# ---- load curve and CPU power lookup ---------------------------------------------------
class LoadCurve:
    """Piecewise-linear power fraction (of TDP) versus utilisation ``u`` in 0..1."""

    def __init__(self, points: list[tuple[float, float]] | list[list[float]]) -> None:
        pts = [(float(u), float(f)) for u, f in points]
        us = [u for u, _ in pts]
        if len(pts) < 2 or us != sorted(us) or len(set(us)) != len(us) or us[0] != 0.0 or us[-1] != 1.0:
            raise ValueError(f"load curve points {points!r}: expected increasing utilisations from 0.0 to 1.0")
        if any(f < 0 or not math.isfinite(f) for _, f in pts):
            raise ValueError(f"load curve points {points!r}: power fractions must be finite and >= 0")
        self.points = pts

    def __call__(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        pts = self.points
        for (u0, f0), (u1, f1) in zip(pts, pts[1:], strict=False):
            if u <= u1:
                return f0 + (f1 - f0) * (u - u0) / (u1 - u0)
        return pts[-1][1]


@dataclass(frozen=True)
class CpuPowerSpec:
    """Rated power per hardware thread of the detected CPU, and how it was found."""

    w_per_thread: float
    w_low: float
    w_high: float
    n_threads: int
    basis: str  # "sku" | "generation" | "generic"
    label: str
    sku: str | None = None
    generation: str | None = None
    tdp_w: float | None = None
    threads_per_socket: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def rated_w(self) -> float:
        """Rated power (W) of the part of the CPU(s) that is measured: n_threads x W_thread."""
        return self.n_threads * self.w_per_thread


def _median(values: list[float]) -> float:
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else 0.5 * (s[mid - 1] + s[mid])


def _generation_for(info: CpuInfo, data: dict[str, Any]) -> dict[str, Any] | None:
    if info.family is None or info.model is None:
        return None
    for gen in data["generations"]:
        if gen["vendor"] != info.vendor or gen["family"] != info.family:
            continue
        if any(lo <= info.model <= hi for lo, hi in gen["models"]):
            return gen
    return None


def lookup_cpu(info: CpuInfo, data: dict[str, Any] | None = None) -> CpuPowerSpec:
    """The power figures for ``info`` from the CPU table (``cpu_power.json`` by default)."""
    data = data if data is not None else load_data("cpu_power.json")
    n = max(int(info.logical_cpus), 1)
    gens = {g["id"]: g for g in data["generations"]}
    vm_note = (
        "VM: each vCPU is counted as one hardware thread of the host CPU (its share of the socket's TDP); "
        "if the host runs without SMT a vCPU is a whole core and this underestimates"
    )
    for sku in data["skus"]:
        if re.search(sku["pattern"], info.model_name):
            per = sku["tdp_w"] / sku["threads"]
            notes: list[str] = []
            if info.hypervisor:
                count = n
                notes.append(vm_note + f" ({n} of {sku['threads']} threads per socket)")
            else:
                count = info.sockets * sku["threads"]
                if count != n:
                    notes.append(
                        f"bare metal: {info.sockets} socket(s) x {sku['threads']} threads counted although "
                        f"{n} logical CPUs are online (SMT or CPUs disabled: the sockets' TDP still applies)"
                    )
            label = f"{sku['name']}: TDP {sku['tdp_w']:g} W / {sku['threads']} threads"
            return CpuPowerSpec(
                per,
                per,
                per,
                count,
                "sku",
                label,
                sku=sku["name"],
                generation=gens.get(sku["generation"], {}).get("name"),
                tdp_w=float(sku["tdp_w"]),
                threads_per_socket=int(sku["threads"]),
                notes=tuple(notes),
            )
    gen = _generation_for(info, data)
    if gen is not None:
        members = [s for s in data["skus"] if s["generation"] == gen["id"]]
        pers = [s["tdp_w"] / s["threads"] for s in members]
        central = _median(pers)
        names = ", ".join(s["name"].replace("AMD ", "").replace("Intel ", "") for s in members)
        label = (
            f"{gen['name']} (model name {info.model_name!r} is not an exact SKU; CPUID family {info.family} "
            f"model {info.model}): median {central:.2f} W per thread over {names} (range {min(pers):.2f}-{max(pers):.2f} W)"
        )
        notes = [vm_note] if info.hypervisor else []
        return CpuPowerSpec(
            central, min(pers), max(pers), n, "generation", label, generation=gen["name"], notes=tuple(notes)
        )
    g = data["generic"]
    label = (
        f"unknown CPU {info.model_name!r} (vendor {info.vendor or '?'}, family {info.family}, model {info.model}) "
        f"is not in ecometer/data/cpu_power.json: generic {g['w_per_thread']:g} W per thread "
        f"(range {g['w_low']:g}-{g['w_high']:g} W)"
    )
    return CpuPowerSpec(float(g["w_per_thread"]), float(g["w_low"]), float(g["w_high"]), n, "generic", label)


def spec_uncertainty(spec: CpuPowerSpec, data: dict[str, Any] | None = None) -> Uncertainty:
    """Model uncertainty combined in quadrature with the per-thread power range of ``spec``."""
    data = data if data is not None else load_data("cpu_power.json")
    model = data["uncertainty"]["model"]
    lo_tdp = 1.0 - spec.w_low / spec.w_per_thread
    hi_tdp = spec.w_high / spec.w_per_thread - 1.0
    rel_low = min(math.hypot(model["rel_low"], lo_tdp), 0.95)
    rel_high = math.hypot(model["rel_high"], hi_tdp)
    basis = (
        f"modelled CPU power (utilisation x Teads 2021 load curve x TDP per thread): "
        f"+/-{model['rel_low']:.0%} for the model"
    )
    if spec.basis != "sku":
        basis += f", combined with the per-thread TDP range {spec.w_low:.2f}-{spec.w_high:.2f} W ({spec.basis})"
    return Uncertainty(rel_low, rel_high, basis)


# ---- machine CPU times -----------------------------------------------------------------
class ProcStat:
    """Cumulative busy and total CPU seconds of the machine from ``/proc/stat``.

    The file stays open and is re-read with ``os.pread`` at offset 0 (procfs regenerates
    it). Without ``/proc/stat`` (not Linux) ``psutil.cpu_times()`` is used instead.
    """

    def __init__(self, path: str = "/proc/stat") -> None:
        self.path = path
        self._fd: int | None = None
        self._tick = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
        self._psutil = False

    def open(self) -> None:
        if self._fd is not None or self._psutil:
            return
        try:
            self._fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            import psutil  # noqa: F401 - fail here, not on the first read, if missing

            self._psutil = True

    def read(self) -> tuple[float, float]:
        """``(busy_s, total_s)`` summed over all CPUs since boot."""
        if self._fd is None:
            if not self._psutil:
                self.open()
            if self._fd is None:
                return self._read_psutil()
        head = os.pread(self._fd, 512, 0)
        line = head.split(b"\n", 1)[0].split()
        if not line or line[0] != b"cpu":
            raise SensorUnavailable(f"{self.path}: unexpected first line {head[:80]!r}")
        v = [int(x) for x in line[1:9]] + [0] * max(0, 9 - len(line))
        user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
        busy = user + nice + system + irq + softirq  # guest time is already inside user/nice
        total = busy + idle + iowait + steal
        return busy / self._tick, total / self._tick

    @staticmethod
    def _read_psutil() -> tuple[float, float]:
        import psutil

        t = psutil.cpu_times()._asdict()
        idle = t.get("idle", 0.0) + t.get("iowait", 0.0)
        steal = t.get("steal", 0.0)
        total = sum(v for k, v in t.items() if k not in ("guest", "guest_nice"))
        return total - idle - steal, total

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


# ---- process tree ----------------------------------------------------------------------
@dataclass
class _Tracked:
    proc: Any
    ppid: int | None
    self_s: float
    child_s: float


class ProcessTree:
    """Cumulative CPU seconds and resident memory of a process and all its descendants.

    CPU time counted = the live processes' own user+system time, plus the ``children_*``
    times of reaped descendants (which the kernel adds to the parent that waits for them),
    without counting twice what was already seen of a reaped child: when a tracked child
    disappears, its last seen totals become a debt against its parent's next ``children_*``
    increase. Processes are read parents first, so a child reaped between two reads is
    always settled. Time of a descendant that exits unobserved and is reaped outside the
    tree (re-parented to init) is lost. The list of descendants is refreshed every
    ``refresh_s`` seconds (listing them scans all of ``/proc``: milliseconds), processes
    are read at every sample (about 10-20 us each).
    """

    _DEBT_TTL_S = 10.0

    def __init__(
        self,
        root: Any = None,
        *,
        refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        errors: tuple[type[BaseException], ...] | None = None,
    ) -> None:
        self._root = root
        self.refresh_s = refresh_s
        self._clock = clock
        self._errors = errors
        self._procs: dict[int, _Tracked] = {}
        self._debt: dict[int, list[tuple[float, float]]] = {}  # ppid -> [(seconds, expires_at)]
        self._next_refresh = -math.inf
        self._t_open_wall = 0.0
        self.cpu_s = 0.0  # cumulative CPU seconds of the tree since open()
        self.rss_bytes = 0
        self._opened = False

    def open(self) -> None:
        if self._opened:
            return
        if self._root is None or self._errors is None:
            import psutil

            if self._root is None:
                self._root = psutil.Process(os.getpid())
            if self._errors is None:
                self._errors = (psutil.NoSuchProcess, psutil.AccessDenied)
        self._t_open_wall = time.time()
        self._opened = True
        self._refresh(self._clock(), baseline_all=True)
        self.sample()

    def _read(self, proc: Any) -> tuple[float, float, int] | None:
        assert self._errors is not None
        try:
            t = proc.cpu_times()
            rss = int(proc.memory_info().rss)
        except self._errors:
            return None
        return float(t.user + t.system), float(t.children_user + t.children_system), rss

    def _refresh(self, now: float, baseline_all: bool = False) -> None:
        assert self._errors is not None
        self._next_refresh = now + self.refresh_s
        found = [self._root]
        try:
            found += list(self._root.children(recursive=True))
        except self._errors:
            pass
        for proc in found:
            if proc.pid in self._procs:
                continue
            got = self._read(proc)
            if got is None:
                continue
            try:
                ppid = int(proc.ppid())
                born_after = float(proc.create_time()) >= self._t_open_wall
            except self._errors:
                continue
            if born_after and not baseline_all:
                # all of a process born during the run counts; start from zero
                self._procs[proc.pid] = _Tracked(proc, ppid, 0.0, 0.0)
            else:
                self._procs[proc.pid] = _Tracked(proc, ppid, got[0], got[1])

    def _order(self) -> list[int]:
        """Tracked pids, parents before their children."""
        depth: dict[int, int] = {}

        def d(pid: int) -> int:
            if pid in depth:
                return depth[pid]
            depth[pid] = 0  # guards against cycles from pid reuse
            parent = self._procs[pid].ppid
            depth[pid] = d(parent) + 1 if parent in self._procs else 0
            return depth[pid]

        return sorted(self._procs, key=d)

    def sample(self) -> tuple[float, int]:
        """``(cpu_s, rss_bytes)``: cumulative tree CPU seconds since open, current RSS sum."""
        now = self._clock()
        if now >= self._next_refresh:
            self._refresh(now)
        reads: dict[int, tuple[float, float, int]] = {}
        gone: list[int] = []
        for pid in self._order():
            got = self._read(self._procs[pid].proc)
            if got is None:
                gone.append(pid)
            else:
                reads[pid] = got
        for pid in gone:
            t = self._procs.pop(pid)
            if t.ppid in self._procs:
                self._debt.setdefault(t.ppid, []).append((t.self_s + t.child_s, now + self._DEBT_TTL_S))
        delta = 0.0
        rss = 0
        for pid, (self_s, child_s, r) in reads.items():
            t = self._procs[pid]
            delta += max(self_s - t.self_s, 0.0)
            d_child = max(child_s - t.child_s, 0.0)
            debts = [(s, exp) for s, exp in self._debt.pop(pid, []) if exp > now]
            while debts and d_child > 0:
                owed, exp = debts.pop(0)
                paid = min(owed, d_child)
                d_child -= paid
                if owed > paid:
                    debts.insert(0, (owed - paid, exp))
            if debts:
                self._debt[pid] = debts
            delta += d_child
            t.self_s, t.child_s = self_s, child_s
            rss += r
        for pid in [p for p in self._debt if p not in self._procs]:
            del self._debt[pid]
        self.cpu_s += delta
        self.rss_bytes = rss
        return self.cpu_s, rss

    @property
    def pids(self) -> list[int]:
        return sorted(self._procs)


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


# ---- one usage sample per tick, shared by the host sensors -----------------------------
@dataclass(frozen=True)
class UsageSample:
    """Cumulative machine CPU seconds (busy, total) and, in process scope, the tree's."""

    t: float
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


@dataclass
class ShareTracker:
    """Per-sensor interval maths on :class:`HostUsage` samples.

    :meth:`update` returns, over the interval since its previous call: the machine's CPU
    utilisation ``u``, the process tree's share of the machine's busy CPU time ``cpu_share``
    and the tree's resident memory as a fraction of total memory ``rss_share``. An interval
    in which no clock tick elapsed returns ``None`` and keeps the previous sample.
    """

    usage: HostUsage
    tree: bool = False
    prev: UsageSample | None = None
    last: tuple[float, float, float] = field(default=(0.0, 0.0, 0.0))

    def start(self, now: float) -> None:
        self.prev = self.usage.sample(now, tree=self.tree)

    def update(self, now: float) -> tuple[float, float, float] | None:
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
        self.last = (u, cpu_share, rss_share)
        return self.last


def step_points(t_prev: float, now: float, watts: float) -> list[tuple[float, float]]:
    """Two points that make the trapezoid rule integrate exactly ``watts x (now - t_prev)``."""
    eps = min(_EPS_S, (now - t_prev) / 2.0)
    return [(t_prev + eps, watts), (now, watts)]


PROCESS_ATTRIBUTION = (
    "process scope: the machine's {what} is attributed to this process tree (this process and all "
    "its descendants, psutil) in proportion to its share of the machine's busy CPU time in each "
    "interval{extra}; an attribution, not a measurement"
)


# ---- the sensor ------------------------------------------------------------------------
class CpuModelSensor(Sensor):
    """CPU power modelled from utilisation (method ``modelled``, one device ``"cpu"``).

    ``CpuModelSensor(scope="machine", *, cpuinfo=None, usage=None, data=None,
    clock=time.monotonic)``: ``cpuinfo`` overrides ``/proc/cpuinfo`` detection, ``usage``
    shares one :class:`HostUsage` with other host sensors, ``data`` overrides the
    ``cpu_power.json`` table (tests).
    """

    name = "cpu-model"
    component = "cpu"
    method = "modelled"
    pollable = True

    def __init__(
        self,
        scope: str = "machine",
        *,
        cpuinfo: CpuInfo | None = None,
        usage: HostUsage | None = None,
        data: dict[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scope = check_scope(scope)
        self._info = cpuinfo
        self._usage = usage
        self._data = data
        self._clock = clock
        self.spec: CpuPowerSpec | None = None
        self.curve: LoadCurve | None = None
        self._points: ShareTracker | None = None
        self._shares: ShareTracker | None = None
        self._open = False

    def open(self) -> None:
        if self._open:
            return
        data = self._data if self._data is not None else load_data("cpu_power.json")
        self._data = data
        if self._info is None:
            self._info = read_cpuinfo()
        self.spec = lookup_cpu(self._info, data)
        self.curve = LoadCurve(data["load_curve"]["points"])
        if self._usage is None:
            self._usage = HostUsage(self.scope)
        try:
            self._usage.acquire()
        except OSError as exc:
            raise SensorUnavailable(f"CPU model: cannot read CPU times ({exc})") from exc
        now = self._clock()
        self._points = ShareTracker(self._usage)
        self._points.start(now)
        if self.scope == "process":
            self._shares = ShareTracker(self._usage, tree=True)
            self._shares.start(now)
        self._open = True

    def close(self) -> None:
        if self._open and self._usage is not None:
            self._usage.release()
        self._open = False

    def power_w(self, u: float) -> float:
        """Modelled power (W) of the measured CPUs at utilisation ``u`` (0..1)."""
        assert self.spec is not None and self.curve is not None, "open() first"
        return self.spec.rated_w * self.curve(u)

    def devices(self) -> list[Device]:
        info = self._info or CpuInfo()
        facts: dict[str, Any] = {"logical_cpus": info.logical_cpus, "vm": info.hypervisor}
        if self.spec is not None:
            facts.update(
                {
                    "threads_counted": self.spec.n_threads,
                    "w_per_thread": round(self.spec.w_per_thread, 4),
                    "power_basis": self.spec.basis,
                    "power_source": self.spec.label,
                }
            )
        return [Device("cpu", model=info.model_name, facts=facts)]

    def poll(self, now: float) -> dict[str, list[tuple[float, float]]]:
        if not self._open or self._points is None or self._points.prev is None:
            return {}
        t_prev = self._points.prev.t
        got = self._points.update(now)
        if got is None:
            return {}
        return {"cpu": step_points(t_prev, now, self.power_w(got[0]))}

    def share(self, now: float) -> dict[str, float]:
        """Process scope: the tree's share of busy CPU time since the previous call."""
        if self.scope != "process" or self._shares is None:
            return {}
        got = self._shares.update(now)
        if got is None:
            return {"cpu": self._shares.last[1]}
        return {"cpu": got[1]}

    def uncertainty(self) -> Uncertainty:
        if self.spec is None:
            data = self._data if self._data is not None else load_data("cpu_power.json")
            self.spec = lookup_cpu(self._info or read_cpuinfo(), data)
        return spec_uncertainty(self.spec, self._data)

    def notes(self) -> list[str]:
        if self.spec is None:
            return []
        curve = self._data["load_curve"] if self._data else load_data("cpu_power.json")["load_curve"]
        pts = ", ".join(f"{f:.0%} at {u:.0%}" for u, f in curve["points"])
        out = [
            f"CPU power modelled, not measured: {self.spec.n_threads} threads x {self.spec.w_per_thread:.3g} W "
            f"per thread x load curve (Teads 2021, fraction of TDP: {pts}; linear in between)",
            f"TDP per thread: {self.spec.label}",
        ]
        out.extend(self.spec.notes)
        return out

    def attribution(self) -> str | None:
        if self.scope != "process":
            return None
        return PROCESS_ATTRIBUTION.format(what="modelled CPU power", extra="")


__all__ = [
    "CpuInfo",
    "CpuModelSensor",
    "CpuPowerSpec",
    "HostUsage",
    "LoadCurve",
    "ProcStat",
    "ProcessTree",
    "ShareTracker",
    "UsageSample",
    "load_data",
    "lookup_cpu",
    "parse_cpuinfo",
    "read_cpuinfo",
    "spec_uncertainty",
    "total_memory_bytes",
]
