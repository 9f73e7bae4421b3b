"""CPU and memory models, the process tree, and host sensor selection."""

from __future__ import annotations

import logging
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest
from conftest import FakeClock

from ecometer.errors import InputError, SensorUnavailable
from ecometer.files import datafiles
from ecometer.record.estimate import Estimate
from ecometer.record.model import SensorInfo
from ecometer.sensors import host
from ecometer.sensors import usage as usage_mod
from ecometer.sensors.base import SCOPES, Device, relative_factor
from ecometer.sensors.cpu_model import (
    CpuInfo,
    CpuModelSensor,
    LoadCurve,
    lookup_cpu,
    parse_cpuinfo,
    spec_uncertainty,
)
from ecometer.sensors.memory import MemoryModelSensor, memory_share
from ecometer.sensors.model import UtilisationModelSensor
from ecometer.sensors.usage import (
    HostUsage,
    IntervalUsage,
    ProcessTree,
    ProcfsProcesses,
    ProcInfo,
    PsutilProcesses,
)

CPU = datafiles.load("cpu_power.json")
MEM = datafiles.load("memory_power.json")
GIB = 2**30

THIS_VM = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
physical id\t: 0
siblings\t: 2
cpu cores\t: 2
flags\t\t: fpu vme hypervisor avx2

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
physical id\t: 0
flags\t\t: fpu vme hypervisor avx2
"""


def cpuinfo(
    model_name: str,
    n: int,
    *,
    vendor: str = "GenuineIntel",
    family: int = 6,
    model: int = 143,
    vm: bool = True,
    sockets: int = 1,
) -> CpuInfo:
    return CpuInfo(model_name, vendor, family, model, n, sockets, vm)


class Clock(FakeClock):
    start = 100.0  # the scripted /proc/stat timelines below start at t = 100 s


class FakeStat:
    """Scripted cumulative machine CPU seconds (busy, total)."""

    def __init__(self) -> None:
        self.busy = 1000.0
        self.total = 4000.0
        self.reads = 0

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self) -> tuple[float, float]:
        self.reads += 1
        return self.busy, self.total

    def advance(self, seconds: float, n_cpus: int, u: float) -> None:
        self.total += seconds * n_cpus
        self.busy += seconds * n_cpus * u


class FakeTree:
    def __init__(self) -> None:
        self.cpu_s = 0.0
        self.rss = 0

    def open(self) -> None:
        pass

    def close(self) -> None:
        pass

    def sample(self) -> tuple[float, int]:
        return self.cpu_s, self.rss


def trapezoid(points: list[tuple[float, float]]) -> float:
    return sum(0.5 * (w0 + w1) * (t1 - t0) for (t0, w0), (t1, w1) in zip(points, points[1:], strict=False))


# ---- CPU detection and the power table ------------------------------------------------------
def test_this_vm_is_a_zen5_epyc_by_cpuid() -> None:
    info = parse_cpuinfo(THIS_VM)
    assert (info.vendor, info.family, info.model, info.logical_cpus, info.sockets, info.hypervisor) == (
        "AuthenticAMD",
        26,
        2,
        2,
        1,
        True,
    )
    spec = lookup_cpu(info)
    pers = [s["tdp_w"] / s["threads"] for s in CPU["skus"] if s["generation"] == "amd-zen5-turin"]
    assert spec.basis == "generation" and "Turin" in spec.label
    assert spec.w_per_thread == pytest.approx(statistics.median(pers))
    assert (spec.w_low, spec.w_high) == (min(pers), max(pers))
    assert spec.n_threads == 2


def test_h100_host_cpu_is_emerald_rapids_by_cpuid() -> None:
    spec = lookup_cpu(cpuinfo("Intel(R) Xeon(R) Processor", 16, model=207))
    assert spec.basis == "generation" and "Emerald Rapids" in spec.label and spec.n_threads == 16


@pytest.mark.parametrize(
    ("name", "sku"),
    [
        ("AMD EPYC 9654 96-Core Processor", "AMD EPYC 9654"),
        ("AMD EPYC 9654P 96-Core Processor", "AMD EPYC 9654"),
        ("Intel(R) Xeon(R) Platinum 8480+", "Intel Xeon Platinum 8480+ / 8480C"),
        ("Intel(R) Xeon(R) Platinum 8480C", "Intel Xeon Platinum 8480+ / 8480C"),
        ("Intel(R) Xeon(R) Platinum 8592+", "Intel Xeon Platinum 8592+"),
        ("Intel(R) Xeon(R) 6980P", "Intel Xeon 6980P"),
    ],
)
def test_exact_sku_match(name: str, sku: str) -> None:
    spec = lookup_cpu(cpuinfo(name, 16))
    entry = next(s for s in CPU["skus"] if s["name"] == sku)
    assert spec.basis == "sku" and spec.sku == sku
    assert spec.w_per_thread == pytest.approx(entry["tdp_w"] / entry["threads"])
    assert spec.rated_w == pytest.approx(16 * entry["tdp_w"] / entry["threads"])  # the VM's share of the socket


def test_similar_names_do_not_match_a_sku() -> None:
    assert lookup_cpu(cpuinfo("Intel(R) Xeon(R) Platinum 8480L2", 8, model=0)).basis == "generic"


def test_bare_metal_counts_whole_sockets_even_without_smt() -> None:
    entry = next(s for s in CPU["skus"] if s["name"] == "AMD EPYC 9654")
    info = cpuinfo(
        "AMD EPYC 9654 96-Core Processor", 192, vendor="AuthenticAMD", family=25, model=17, vm=False, sockets=2
    )
    spec = lookup_cpu(info)
    assert spec.rated_w == pytest.approx(2 * entry["tdp_w"])
    assert spec.notes and "SMT" in spec.notes[0]


def test_unknown_cpu_uses_the_generic_figure_with_wider_bounds() -> None:
    unknown = lookup_cpu(cpuinfo("Some Future CPU", 4, vendor="Vendor", family=99, model=1))
    assert unknown.basis == "generic" and "not in ecometer/data/cpu_power.json" in unknown.label
    assert unknown.w_per_thread == CPU["generic"]["w_per_thread"]
    known = lookup_cpu(cpuinfo("AMD EPYC 9654 96-Core Processor", 4))
    u_unknown, u_known = spec_uncertainty(unknown), spec_uncertainty(known)
    assert 1 - u_known.low == pytest.approx(CPU["uncertainty"]["model"]["rel_low"])
    assert (u_known.distribution, u_known.coverage) == (CPU["uncertainty"]["model"]["distribution"], 1.0)
    assert u_unknown.low < u_known.low and u_unknown.high > u_known.high
    assert u_unknown.coverage == 0.95  # the product of two stated bounds, propagated


def test_load_curve_exact_at_the_published_points_and_linear_between() -> None:
    curve = LoadCurve(CPU["load_curve"]["points"])
    for u, f in CPU["load_curve"]["points"]:
        assert curve(u) == pytest.approx(f, abs=1e-12)
    (u0, f0), (u1, f1) = CPU["load_curve"]["points"][1:3]
    assert curve((u0 + u1) / 2) == pytest.approx((f0 + f1) / 2)
    assert curve(-1.0) == curve(0.0) and curve(2.0) == curve(1.0)
    with pytest.raises(ValueError, match="increasing"):
        LoadCurve([[0.0, 0.1], [0.5, 0.2]])


# ---- the CPU model sensor ----------------------------------------------------------------------
def make_cpu_sensor(scope: str = "machine") -> tuple[CpuModelSensor, FakeStat, Clock, FakeTree]:
    """A CPU model of this 2-vCPU VM on scripted CPU times and a fake clock."""
    stat, clock, tree = FakeStat(), Clock(), FakeTree()
    usage = HostUsage(scope, stat=stat, tree=tree, total_memory_bytes=16 * GIB)  # type: ignore[arg-type]
    s = CpuModelSensor(scope, cpuinfo=parse_cpuinfo(THIS_VM), usage=usage, clock=clock)
    s.open()
    return s, stat, clock, tree


@pytest.mark.parametrize("u", [u for u, _ in CPU["load_curve"]["points"]] + [0.3])
def test_modelled_power_at_known_utilisation(u: float) -> None:
    s, stat, clock, _ = make_cpu_sensor()
    assert s.spec is not None and s.curve is not None
    clock.t += 0.5
    stat.advance(0.5, 2, u)
    (p0, p1) = s.poll(clock.t)["cpu"]
    expected = 2 * s.spec.w_per_thread * s.curve(u)
    assert p1 == (clock.t, pytest.approx(expected, rel=1e-9))
    assert p0[1] == p1[1] and p0[0] > clock.t - 0.5
    table = dict((a, b) for a, b in CPU["load_curve"]["points"])
    if u in table:
        assert p1[1] == pytest.approx(2 * s.spec.w_per_thread * table[u], rel=1e-12)


def test_cpu_model_points_integrate_to_the_modelled_energy() -> None:
    s, stat, clock, _ = make_cpu_sensor()
    points, expected = [], 0.0
    for u in (0.0, 0.25, 1.0, 0.5, 0.1):
        clock.t += 0.2
        stat.advance(0.2, 2, u)
        points += s.poll(clock.t)["cpu"]
        expected += s.power_w(u) * 0.2
    assert trapezoid(points) == pytest.approx(expected, rel=1e-5)


def test_cpu_model_poll_without_a_new_tick_waits() -> None:
    s, stat, clock, _ = make_cpu_sensor()
    clock.t += 0.001
    assert s.poll(clock.t) == {}  # /proc/stat did not advance: nothing to say yet
    clock.t += 0.1
    stat.advance(0.101, 2, 1.0)
    ((t0, _), (t1, w)) = s.poll(clock.t)["cpu"]
    assert t0 < 100.001 and w == pytest.approx(s.power_w(1.0))  # the point covers both polls


def test_cpu_model_process_share_is_cpu_time_over_busy_time() -> None:
    s, stat, clock, tree = make_cpu_sensor("process")
    clock.t += 1.0
    stat.advance(1.0, 2, 0.75)  # 1.5 busy CPU-seconds
    tree.cpu_s += 0.6
    assert s.share(clock.t) == {"cpu": pytest.approx(0.4)}
    assert "attribution, not a measurement" in (s.attribution() or "")
    assert CpuModelSensor("machine").attribution() is None


def test_poll_and_share_reuse_one_proc_stat_read_per_tick() -> None:
    stat, clock, tree = FakeStat(), Clock(), FakeTree()
    usage = HostUsage("process", stat=stat, tree=tree, total_memory_bytes=16 * GIB)  # type: ignore[arg-type]
    cpu = CpuModelSensor("process", cpuinfo=parse_cpuinfo(THIS_VM), usage=usage, clock=clock)
    mem = MemoryModelSensor("process", total_bytes=16 * GIB, usage=usage, clock=clock)
    cpu.open()
    mem.open()
    before = stat.reads
    clock.t += 0.1
    stat.advance(0.1, 2, 0.5)
    for sensor in (cpu, mem):
        sensor.poll(clock.t)
        sensor.share(clock.t)
    assert stat.reads - before == 1


# ---- the memory model -----------------------------------------------------------------------------
def test_memory_model_power_and_points() -> None:
    stat, clock = FakeStat(), Clock()
    usage = HostUsage("machine", stat=stat, total_memory_bytes=64 * GIB)
    s = MemoryModelSensor(total_bytes=64 * GIB, usage=usage, clock=clock)
    s.open()
    bg, act = MEM["background_w_per_gb"]["central"], MEM["activity_w_per_gb"]["central"]
    assert s.power_w(0.0) == pytest.approx(64 * bg)
    assert s.power_w(1.0) == pytest.approx(64 * (bg + act))
    clock.t += 1.0
    stat.advance(1.0, 2, 0.5)
    assert s.poll(clock.t)["dram"][-1][1] == pytest.approx(64 * (bg + 0.5 * act))


def test_memory_model_does_not_dwarf_a_gpu_on_a_2tb_host() -> None:
    s = MemoryModelSensor(total_bytes=2048 * GIB)
    codecarbon_w = 2048 * 3 / 8
    assert s.power_w(1.0) < 700.0  # one H100 SXM board's power limit
    assert s.power_w(1.0) < 0.7 * codecarbon_w


def test_memory_uncertainty_covers_the_per_gb_bounds() -> None:
    unc = MemoryModelSensor(total_bytes=GIB).uncertainty()
    bg, act = MEM["background_w_per_gb"], MEM["activity_w_per_gb"]
    for u in (0.0, 0.5, 1.0):
        central = bg["central"] + act["central"] * u
        assert bg["low"] + act["low"] * u >= central * unc.low - 1e-12
        assert bg["high"] + act["high"] * u <= central * unc.high + 1e-12
    assert (unc.central, unc.coverage, unc.distribution) == (1.0, 1.0, MEM["uncertainty"]["distribution"])


def test_memory_process_share() -> None:
    bg, act = MEM["background_w_per_gb"]["central"], MEM["activity_w_per_gb"]["central"]
    assert memory_share(MEM, 0.0, 0.9, 0.25) == pytest.approx(0.25)  # idle: by resident memory only
    expected = (bg * 0.25 + act * 1.0 * 0.5) / (bg + act)
    assert memory_share(MEM, 1.0, 0.5, 0.25) == pytest.approx(expected)
    stat, clock, tree = FakeStat(), Clock(), FakeTree()
    usage = HostUsage("process", stat=stat, tree=tree, total_memory_bytes=16 * GIB)  # type: ignore[arg-type]
    s = MemoryModelSensor("process", total_bytes=16 * GIB, usage=usage, clock=clock)
    s.open()
    clock.t += 1.0
    stat.advance(1.0, 2, 1.0)
    tree.cpu_s += 1.0  # half of 2 busy CPU-seconds
    tree.rss = 4 * GIB  # a quarter of memory
    assert s.share(clock.t) == {"dram": pytest.approx(expected)}


# ---- the process tree ------------------------------------------------------------------------------
class Gone(Exception):
    pass


class Times(NamedTuple):
    user: float
    system: float
    children_user: float
    children_system: float


class FakeProc:
    def __init__(self, pid: int, parent: FakeProc | None, user: float = 0.0, born: float = 0.0) -> None:
        self.pid, self.parent, self.user, self.child_s, self.born = pid, parent, user, 0.0, born
        self.alive = True
        self.kids: list[FakeProc] = []
        self.reap_on_read = False
        if parent is not None:
            parent.kids.append(self)

    def reap(self) -> None:
        """Exit and be waited for: the parent's children time grows by our totals."""
        self.alive = False
        assert self.parent is not None
        self.parent.child_s += self.user + self.child_s
        self.parent.kids.remove(self)

    def cpu_times(self) -> Times:
        if self.reap_on_read and self.alive:
            self.reap()
        if not self.alive:
            raise Gone(self.pid)
        return Times(self.user, 0.0, self.child_s, 0.0)

    def memory_info(self) -> SimpleNamespace:
        return SimpleNamespace(rss=1000)

    def ppid(self) -> int:
        return self.parent.pid if self.parent else 0

    def create_time(self) -> float:
        return self.born

    def children(self, recursive: bool = True) -> list[FakeProc]:
        out: list[FakeProc] = []
        for k in self.kids:
            out += [k, *k.children()]
        return out


def test_process_tree_counts_reaped_children_once() -> None:
    clock = Clock()
    root = FakeProc(1, None, user=10.0)  # time before the run is not counted
    a = FakeProc(2, root, user=5.0)
    tree = ProcessTree(PsutilProcesses(root, errors=(Gone,)), refresh_s=1.0, clock=clock)
    tree.open()
    assert tree.cpu_s == 0.0 and tree.pids == [1, 2]
    root.user += 1.0
    a.user += 0.5
    assert tree.sample()[0] == pytest.approx(1.5)
    a.user += 0.3
    a.reap()  # exits and is waited for before the next sample: its last 0.3 s only via the parent
    assert tree.sample()[0] == pytest.approx(1.8)
    # a child born during the run, seen by a refresh, then reaped between the parent's and its own read
    clock.t += 1.0
    b = FakeProc(3, root, user=0.2, born=time.time() + 1.0)
    assert tree.sample()[0] == pytest.approx(2.0) and 3 in tree.pids
    b.user += 0.2
    b.reap_on_read = True
    assert tree.sample()[0] == pytest.approx(2.0)  # parent read first: no jump yet, b gone -> debt
    assert tree.sample()[0] == pytest.approx(2.2)  # the jump pays the debt: only b's unseen 0.2 s
    # a short-lived child never seen: counted through the parent's children time
    c = FakeProc(4, root, user=0.7, born=time.time() + 1.0)
    c.reap()
    assert tree.sample()[0] == pytest.approx(2.9)


def test_process_tree_with_a_real_child_process() -> None:
    tree = ProcessTree(refresh_s=0.02)
    tree.open()
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    code = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass\n"
    proc = subprocess.Popen([sys.executable, "-c", code])
    seen = False
    while proc.poll() is None:  # poll() reaps it, possibly between two samples
        time.sleep(0.03)
        tree.sample()
        seen = seen or proc.pid in tree.pids
    tree.sample()
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    expected = sum(
        getattr(b, f) - getattr(a, f) for a, b in ((self0, self1), (kids0, kids1)) for f in ("ru_utime", "ru_stime")
    )
    assert seen
    assert tree.cpu_s == pytest.approx(expected, abs=0.06)


# ---- host selection ---------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _fresh_warnings() -> None:
    host._warned.clear()


def _zone(root: Path, zone_id: str, name: str) -> None:
    d = root / zone_id
    d.mkdir(parents=True)
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text("1000\n")
    (d / "max_energy_range_uj").write_text("262143328850\n")


def test_host_without_rapl_models_cpu_and_memory_and_explains_once_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ecometer.sensors")
    sensors, lines = host.host_sensors(powercap_root=str(tmp_path / "powercap"), hwmon_root=str(tmp_path / "hwmon"))
    try:
        assert [(s.component, s.method) for s in sensors] == [("cpu", "modelled"), ("dram", "modelled")]
        assert any("not present" in line and "CPU power is modelled" in line for line in lines)
        assert any("memory power is modelled" in line for line in lines)
        for s in sensors:
            SensorInfo(**s.info())  # the meter records sensor.info() as a SensorInfo
    finally:
        for s in sensors:
            s.close()
    n = len(caplog.records)
    assert n == len(lines)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)  # the meter says it once, in one line
    again, lines2 = host.host_sensors(powercap_root=str(tmp_path / "powercap"), hwmon_root=str(tmp_path / "hwmon"))
    for s in again:
        s.close()
    assert lines2 == lines and len(caplog.records) == n  # not repeated


def test_host_with_rapl_package_and_dram(tmp_path: Path) -> None:
    _zone(tmp_path, "intel-rapl:0", "package-0")
    _zone(tmp_path, "intel-rapl:0:0", "dram")
    sensors, lines = host.host_sensors(powercap_root=str(tmp_path), hwmon_root=str(tmp_path / "hwmon"))
    try:
        assert [(s.component, s.method, s.name) for s in sensors] == [
            ("cpu", "counter", "rapl"),
            ("dram", "counter", "rapl-dram"),
        ]
        assert lines == []
        for s in sensors:
            SensorInfo(**s.info())
    finally:
        for s in sensors:
            s.close()


def test_host_with_rapl_but_no_dram_models_memory(tmp_path: Path) -> None:
    _zone(tmp_path, "intel-rapl:0", "package-0")
    sensors, lines = host.host_sensors("process", powercap_root=str(tmp_path), hwmon_root=str(tmp_path / "hwmon"))
    try:
        assert [(s.component, s.method) for s in sensors] == [("cpu", "counter"), ("dram", "modelled")]
        assert len(lines) == 1 and "no DRAM domain" in lines[0]
        assert all("attribution" in (s.attribution() or "") for s in sensors)
        assert all(set(s.share(time.monotonic())) <= {d.id for d in s.devices()} for s in sensors)  # type: ignore[attr-defined]
    finally:
        for s in sensors:
            s.close()


def test_host_with_unreadable_rapl_explains_how_to_grant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecometer.sensors import rapl

    _zone(tmp_path, "intel-rapl:0", "package-0")
    real_open = rapl.os.open

    def deny(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("energy_uj"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(rapl.os, "open", deny)
    sensors, lines = host.host_sensors(powercap_root=str(tmp_path), hwmon_root=str(tmp_path / "hwmon"))
    for s in sensors:
        s.close()
    assert [s.method for s in sensors] == ["modelled", "modelled"]
    assert "chmod o+r" in lines[0] and "CPU power is modelled" in lines[0]


def test_cpu_model_on_this_machine_sees_load() -> None:
    s = CpuModelSensor()
    s.open()
    try:
        t0 = time.monotonic()
        s.poll(t0)
        end = time.process_time() + 0.25
        while time.process_time() < end:
            pass
        time.sleep(0.02)
        (_, (_, watts)) = s.poll(time.monotonic())["cpu"]
        assert watts > s.power_w(0.0)  # at least this process was busy
        assert watts <= s.power_w(1.0)
    finally:
        s.close()


# ---- the utilisation-model base --------------------------------------------------------------------
class LinearModel(UtilisationModelSensor):
    """A test model: 10 W idle to 100 W busy; the tree draws half by CPU share, half by memory."""

    name = "linear-model"
    component = "cpu"
    label = "linear model"

    def power_w(self, u: float) -> float:
        return 10.0 + 90.0 * u

    def share_of(self, interval: IntervalUsage) -> float:
        return 0.5 * interval.cpu_share + 0.5 * interval.rss_share

    def devices(self) -> list[Device]:
        return [Device("cpu", model="linear test model")]

    def uncertainty(self) -> Estimate:
        return relative_factor(0.1, 0.1, "test")


class ClosingStat(FakeStat):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail = fail
        self.closed = 0

    def open(self) -> None:
        if self.fail:
            raise PermissionError(13, "Permission denied", "/proc/stat")

    def close(self) -> None:
        self.closed += 1


def make_linear(scope: str = "machine", fail: bool = False) -> tuple[LinearModel, ClosingStat, Clock, FakeTree]:
    stat, clock, tree = ClosingStat(fail), Clock(), FakeTree()
    usage = HostUsage(scope, stat=stat, tree=tree, total_memory_bytes=16 * GIB)  # type: ignore[arg-type]
    return LinearModel(scope, usage=usage, clock=clock), stat, clock, tree


def test_model_base_points_integrate_exactly_to_the_model_energy() -> None:
    s, stat, clock, _ = make_linear()
    assert s.poll(clock.t) == {}  # not open
    s.open()
    points, expected = [], 0.0
    for dt, u in ((0.1, 0.0), (0.25, 0.5), (0.1, 1.0), (0.5, 0.2)):
        clock.t += dt
        stat.advance(dt, 4, u)
        got = s.poll(clock.t)
        assert list(got) == ["cpu"]  # the device id is the component
        points += got["cpu"]
        expected += (10.0 + 90.0 * u) * dt
    assert trapezoid(points) == pytest.approx(expected, rel=1e-5)
    assert points[-1] == (clock.t, pytest.approx(10.0 + 90.0 * 0.2))
    assert s.method == "modelled" and s.share(clock.t) == {}  # machine scope: no shares
    s.close()
    assert stat.closed == 1 and s.poll(clock.t + 1.0) == {}


def test_model_base_process_share_and_a_tick_without_news() -> None:
    s, stat, clock, tree = make_linear("process")
    s.open()
    clock.t += 1.0
    stat.advance(1.0, 2, 0.75)  # 1.5 busy CPU-seconds
    tree.cpu_s += 0.6  # 40 % of them
    tree.rss = 4 * GIB  # a quarter of memory
    assert s.share(clock.t) == {"cpu": pytest.approx(0.5 * 0.4 + 0.5 * 0.25)}
    assert s.poll(clock.t)["cpu"][-1] == (clock.t, pytest.approx(10.0 + 90.0 * 0.75))
    clock.t += 0.001  # no new clock tick in /proc/stat: no points yet, the last share holds
    tree.cpu_s += 1.0
    assert s.poll(clock.t) == {}
    assert s.share(clock.t) == {"cpu": pytest.approx(0.325)}


def test_model_base_open_fails_with_the_sensors_name() -> None:
    s, _, _, _ = make_linear(fail=True)
    with pytest.raises(SensorUnavailable, match="linear model: cannot read CPU times"):
        s.open()


def test_scope_is_checked_once_for_all_sensors() -> None:
    assert SCOPES == ("machine", "process")
    for make in (lambda: LinearModel("node"), lambda: MemoryModelSensor("node"), lambda: HostUsage("node")):
        with pytest.raises(InputError, match="scope 'node': expected one of machine, process"):
            make()


# ---- procfs processes ------------------------------------------------------------------------------
def _stat(pid: int, ppid: int, utime: int = 0, cutime: int = 0, start: int = 0, rss: int = 10) -> str:
    # a command name with ") " in it, as a process may choose
    return f"{pid} (x) y) S {ppid} 1 1 0 -1 0 0 0 0 0 {utime} 0 {cutime} 0 20 0 1 0 {start} 1000 {rss} 0\n"


def test_procfs_tree_reads_stat_once_and_lists_only_after_a_new_pid(tmp_path: Path) -> None:
    tck, page = usage_mod.CLK_TCK, usage_mod.PAGE_SIZE
    for pid, line in ((100, _stat(100, 1)), (101, _stat(101, 100)), (200, _stat(200, 1, utime=999))):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(line)
    (tmp_path / "self").mkdir()
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.00 0.00 0.00 1/90 200\n")
    source = ProcfsProcesses(100, proc=str(tmp_path), max_open=1)  # one kept open, one opened per read
    listings = 0
    real_tree = source.tree

    def counted() -> dict[int, ProcInfo]:
        nonlocal listings
        listings += 1
        return real_tree()

    source.tree = counted  # type: ignore[method-assign]
    clock = Clock()
    tree = ProcessTree(source, refresh_s=1.0, clock=clock)
    tree.open()
    assert tree.pids == [100, 101] and listings == 1 and tree.cpu_s == 0.0  # 200 is not ours
    (tmp_path / "100" / "stat").write_text(_stat(100, 1, utime=int(tck), rss=30))
    (tmp_path / "101" / "stat").write_text(_stat(101, 100, utime=int(tck / 2), rss=20))
    assert tree.sample() == (pytest.approx(1.5), 50 * page)
    # a child born during the run: no pid allocated per loadavg, no listing
    (tmp_path / "102").mkdir()
    (tmp_path / "102" / "stat").write_text(_stat(102, 101, utime=int(0.3 * tck), start=10**12))
    clock.t += 1.0
    tree.sample()
    assert listings == 1 and 102 not in tree.pids
    loadavg.write_text("0.00 0.00 0.00 1/91 102\n")
    clock.t += 1.0
    assert tree.sample()[0] == pytest.approx(1.8)  # all of a process born during the run counts
    assert listings == 2 and tree.pids == [100, 101, 102]
    # pid 101 exits and is reused by an unrelated process: gone, and nothing of the newcomer counts
    (tmp_path / "101" / "stat").write_text(_stat(101, 1, utime=int(50 * tck), start=5))
    (tmp_path / "102" / "stat").unlink()
    assert tree.sample()[0] == pytest.approx(1.8) and tree.pids == [100]
    tree.close()
    assert source._fds == {}


def test_procfs_reads_agree_with_psutil() -> None:
    import os

    import psutil

    if not ProcfsProcesses.available():
        pytest.skip("no /proc")
    source = ProcfsProcesses()
    source.open()
    try:
        got = source.read(os.getpid())
        proc = psutil.Process()
        t, rss = proc.cpu_times(), proc.memory_info().rss
    finally:
        source.close()
    assert got is not None
    tick = 1.0 / usage_mod.CLK_TCK
    assert got.self_s == pytest.approx(t.user + t.system, abs=2 * tick)
    assert got.child_s == pytest.approx(t.children_user + t.children_system, abs=2 * tick)
    assert got.rss_bytes == pytest.approx(rss, abs=2**20)
