"""RAPL sensor against fake powercap trees (and the real one where readable)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import FakeClock as Clock

from ecometer.errors import SensorUnavailable
from ecometer.files import datafiles
from ecometer.sensors import rapl
from ecometer.sensors.rapl import RaplSensor, counter_delta, discover_domains

INTEL_RANGE = 262143328850  # a typical Intel max_energy_range_uj (2^32 x 61.035 uJ)
J = 1_000_000  # uJ per J


def zone(root: Path, zone_id: str, name: str, energy_uj: int = 0, max_range: int = INTEL_RANGE, **extra: int) -> Path:
    d = root / zone_id
    d.mkdir(parents=True)
    (d / "name").write_text(name + "\n")
    (d / "energy_uj").write_text(f"{energy_uj}\n")
    (d / "max_energy_range_uj").write_text(f"{max_range}\n")
    for key, value in extra.items():
        (d / key).write_text(f"{value}\n")
    return d


def set_energy(root: Path, zone_id: str, energy_uj: int) -> None:
    (root / zone_id / "energy_uj").write_text(f"{energy_uj}\n")  # same inode: the sensor's fd sees it


def sensor(root: Path, component: str = "cpu", clock: Clock | None = None, **kw: object) -> RaplSensor:
    s = RaplSensor(component, root=str(root), hwmon_root=str(root / "no-hwmon"), clock=clock or Clock(), **kw)
    s.open()
    return s


def trapezoid(points: list[tuple[float, float]]) -> float:
    return sum(0.5 * (w0 + w1) * (t1 - t0) for (t0, w0), (t1, w1) in zip(points, points[1:], strict=False))


# ---- pure wrap arithmetic --------------------------------------------------------------------
def test_counter_delta_without_and_with_one_wrap() -> None:
    assert counter_delta(100 * J, 130 * J, INTEL_RANGE, 1.0, 1000.0).energy_uj == 30 * J
    res = counter_delta(INTEL_RANGE - 20 * J, 30 * J, INTEL_RANGE, 1.0, 1000.0)
    assert res.energy_uj == 50 * J and res.wraps == 1 and not res.guessed and res.anomaly is None


def test_counter_delta_many_wraps_chosen_from_running_power() -> None:
    energy = 200.0 * 3000.0 * J  # 200 W for 3000 s: 600 kJ, two wraps of 262 kJ and a remainder
    prev = 100 * J
    cur = int((prev + energy) % INTEL_RANGE)
    res = counter_delta(prev, cur, INTEL_RANGE, 3000.0, 1000.0, ref_power_w=190.0)
    assert res.k_max >= 2 and res.guessed
    assert res.wraps == 2
    assert res.energy_uj == pytest.approx(energy, abs=1)
    # without a running mean the fewest wraps are assumed: a lower bound, flagged as guessed
    low = counter_delta(prev, cur, INTEL_RANGE, 3000.0, 1000.0)
    assert low.guessed and low.energy_uj == pytest.approx(energy - 2 * INTEL_RANGE, abs=1)


def test_counter_delta_is_exact_when_the_bound_allows_one_count() -> None:
    # 10 J range, 50 W bound, 0.25 s: at most 12.5 J, so 7 J observed can only be 7 J
    assert counter_delta(9 * J, 6 * J, 10 * J, 0.25, 50.0).energy_uj == 7 * J
    # the bound admits 7 J or 17 J: the running mean (68 W x 0.25 s = 17 J) decides
    assert counter_delta(9 * J, 6 * J, 10 * J, 0.25, 80.0, ref_power_w=68.0).energy_uj == 17 * J


def test_counter_delta_backwards_and_jump_are_anomalies() -> None:
    back = counter_delta(1000 * J, 900 * J, INTEL_RANGE, 0.1, 1000.0, ref_power_w=50.0)
    assert back.anomaly and "backwards" in back.anomaly
    assert back.energy_uj == pytest.approx(5 * J)  # 50 W x 0.1 s instead of ~262 kJ
    jump = counter_delta(0, 500 * J, INTEL_RANGE, 0.1, 1000.0)
    assert jump.anomaly and "jumped" in jump.anomaly and jump.energy_uj == 0.0


# ---- discovery -------------------------------------------------------------------------------
def test_absent_powercap_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SensorUnavailable, match="not present"):
        sensor(tmp_path / "powercap")


def test_powercap_without_rapl_zones(tmp_path: Path) -> None:
    (tmp_path / "dtpm").mkdir()
    with pytest.raises(SensorUnavailable, match="modprobe intel_rapl_msr"):
        sensor(tmp_path)


def test_two_sockets_core_psys_and_mmio_not_double_counted(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", 1000 * J)
    zone(tmp_path, "intel-rapl:0:0", "dram", 10 * J)
    zone(tmp_path, "intel-rapl:0:1", "core", 500 * J)
    zone(tmp_path, "intel-rapl:1", "package-1", 2000 * J)
    zone(tmp_path, "intel-rapl:1:0", "dram", 20 * J)
    zone(tmp_path, "intel-rapl:2", "psys", 5000 * J)
    zone(tmp_path, "intel-rapl-mmio:0", "package-0", 1000 * J)
    (tmp_path / "intel-rapl").mkdir()  # the control-type directory, not a zone
    clock = Clock()
    cpu = sensor(tmp_path, "cpu", clock)
    dram = sensor(tmp_path, "dram", clock)
    assert [d.id for d in cpu.devices()] == ["cpu:package-0", "cpu:package-1"]
    assert [d.id for d in dram.devices()] == ["dram:package-0", "dram:package-1"]
    clock.t += 1.0
    set_energy(tmp_path, "intel-rapl:0", 1100 * J)
    set_energy(tmp_path, "intel-rapl:1", 2050 * J)
    set_energy(tmp_path, "intel-rapl:0:0", 13 * J)
    set_energy(tmp_path, "intel-rapl:1:0", 24 * J)
    set_energy(tmp_path, "intel-rapl:0:1", 590 * J)  # core: inside package-0, must not add
    set_energy(tmp_path, "intel-rapl:2", 9000 * J)  # psys: contains everything, must not add
    set_energy(tmp_path, "intel-rapl-mmio:0", 1100 * J)  # same counter via MMIO
    assert cpu.read_counters() == pytest.approx({"cpu:package-0": 100.0, "cpu:package-1": 50.0})
    assert dram.read_counters() == pytest.approx({"dram:package-0": 3.0, "dram:package-1": 4.0})
    notes = " | ".join(cpu.notes())
    assert "psys" in notes and "core" in notes and "intel-rapl-mmio" in notes


def test_no_dram_domain(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0")
    zone(tmp_path, "intel-rapl:0:0", "core")
    assert [d.id for d in sensor(tmp_path, "cpu").devices()] == ["cpu:package-0"]
    with pytest.raises(SensorUnavailable, match="no DRAM domain"):
        sensor(tmp_path, "dram")


def test_amd_energy_hwmon_fallback(tmp_path: Path) -> None:
    h = tmp_path / "hwmon" / "hwmon3"
    h.mkdir(parents=True)
    (h / "name").write_text("amd_energy\n")
    (h / "energy1_label").write_text("Ecore000\n")
    (h / "energy1_input").write_text("5000000\n")
    (h / "energy17_label").write_text("Esocket0\n")
    (h / "energy17_input").write_text("7000000\n")
    clock = Clock()
    s = RaplSensor("cpu", root=str(tmp_path / "powercap"), hwmon_root=str(tmp_path / "hwmon"), clock=clock)
    s.open()
    assert [d.id for d in s.devices()] == ["cpu:package-0"]
    clock.t += 2.0
    (h / "energy17_input").write_text("67000000\n")
    (h / "energy1_input").write_text("65000000\n")
    assert s.read_counters() == pytest.approx({"cpu:package-0": 60.0})


def test_zone_constraints_raise_the_power_bound(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", constraint_0_power_limit_uw=700_000_000)
    default = datafiles.load("rapl.json")["max_power_w"]["package"]
    (dom,) = discover_domains(str(tmp_path), str(tmp_path / "none")).domains
    assert dom.max_power_w == max(default, 1400.0)


# ---- wraps through the sensor ---------------------------------------------------------------
def test_one_wrap_between_reads(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", INTEL_RANGE - 30 * J)
    clock = Clock()
    s = sensor(tmp_path, clock=clock)
    clock.t += 1.0
    set_energy(tmp_path, "intel-rapl:0", 45 * J)
    assert s.read_counters() == {"cpu:package-0": pytest.approx(75.0)}
    assert any("wraps handled" in n for n in s.notes())


def test_many_wraps_kept_exact_by_frequent_polls(tmp_path: Path) -> None:
    rng = 100 * J  # a tiny 100 J range: 300 W wraps it every third of a second
    zone(tmp_path, "intel-rapl:0", "package-0", 0, max_range=rng)
    clock = Clock()
    s = sensor(tmp_path, clock=clock, max_power_w=400.0)
    assert s.min_read_interval_s() == pytest.approx(0.5 * 100 / 400)
    raw, points = 0, []
    for _ in range(100):  # 10 s at 300 W, polled every 0.1 s: 30 wraps
        clock.t += 0.1
        raw = (raw + 30 * J) % rng
        set_energy(tmp_path, "intel-rapl:0", raw)
        pts = s.poll(clock.t)["cpu:package-0"]
        points.extend(pts)
        assert all(w == pytest.approx(300.0) for _, w in pts)
    assert s.read_counters()["cpu:package-0"] == pytest.approx(3000.0)
    assert trapezoid(points) == pytest.approx(3000.0, rel=1e-6)  # step points: the trapezoid is exact
    assert s.domains[0].wraps == 30


def test_many_wraps_in_one_gap_use_the_running_power(tmp_path: Path) -> None:
    rng = 1000 * J
    zone(tmp_path, "intel-rapl:0", "package-0", 0, max_range=rng)
    clock = Clock()
    s = sensor(tmp_path, clock=clock)  # default bound (1000 W): exact below 1 s between reads
    raw = 0
    for _ in range(30):  # 3 s at 250 W, read every 0.1 s: establishes the running mean
        clock.t += 0.1
        raw = (raw + 25 * J) % rng
        set_energy(tmp_path, "intel-rapl:0", raw)
        s.poll(clock.t)
    clock.t += 20.0  # the process stalls: 5000 J, five wraps, up to 15 allowed by the bound
    raw = (raw + 5000 * J) % rng
    set_energy(tmp_path, "intel-rapl:0", raw)
    assert s.read_counters()["cpu:package-0"] == pytest.approx(750.0 + 5000.0)
    assert any("assumed from the running mean" in n for n in s.notes())


def test_backwards_and_jumping_counter_handled_and_reported(tmp_path: Path) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0", 500 * J)
    clock = Clock()
    s = sensor(tmp_path, clock=clock)
    for raw in (510, 520, 530):  # 100 W
        clock.t += 0.1
        set_energy(tmp_path, "intel-rapl:0", raw * J)
        s.poll(clock.t)
    clock.t += 0.1
    set_energy(tmp_path, "intel-rapl:0", 400 * J)  # backwards (driver reset, glitch)
    s.poll(clock.t)
    clock.t += 0.1
    set_energy(tmp_path, "intel-rapl:0", 410 * J)  # normal again after re-basing
    s.poll(clock.t)
    clock.t += 0.1
    set_energy(tmp_path, "intel-rapl:0", 410 * J + 10**15)  # a jump no power explains
    s.poll(clock.t)
    total = s.read_counters()["cpu:package-0"]
    assert total == pytest.approx(30 + 10 + 10 + 10, rel=0.01)  # anomalies replaced by ~100 W x 0.1 s
    notes = " | ".join(s.notes())
    assert "went backwards" in notes and "jumped" in notes


# ---- access --------------------------------------------------------------------------------
def deny_energy_files(monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def fake_open(path: str, flags: int, *args: int) -> int:
        if str(path).endswith("energy_uj"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(rapl.os, "open", fake_open)


def test_unreadable_energy_says_how_to_grant_access(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zone(tmp_path, "intel-rapl:0", "package-0")
    deny_energy_files(monkeypatch)
    with pytest.raises(SensorUnavailable) as err:
        sensor(tmp_path)
    msg = str(err.value)
    assert "readable only by root" in msg and "chmod o+r" in msg and "CVE-2020-8694" in msg


# ---- the real machine ---------------------------------------------------------------------
@pytest.mark.rapl
def test_real_powercap() -> None:
    path = "/sys/class/powercap/intel-rapl:0/energy_uj"
    if not os.path.exists(path):
        pytest.skip("no RAPL powercap zones on this machine (VM, container or non-RAPL CPU)")
    if not os.access(path, os.R_OK):
        pytest.skip(f"{path} is not readable by this user (root-only since CVE-2020-8694)")
    s = RaplSensor("cpu")
    s.open()
    try:
        t0 = time.monotonic()
        s.poll(t0)
        time.sleep(0.3)
        points = s.poll(time.monotonic())
        assert points, "no power points from RAPL"
        for pts in points.values():
            watts = pts[-1][1]
            assert 0.0 < watts < 2000.0
        counters = s.read_counters()
        assert counters and all(v > 0 for v in counters.values())
    finally:
        s.close()
