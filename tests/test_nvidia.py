"""NVIDIA sensor logic against a fake NVML module, and CUDA_VISIBLE_DEVICES parsing."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from types import SimpleNamespace

import pytest
from conftest import FakeClock as Clock

from ecometer.errors import GPULost, InputError, SensorUnavailable
from ecometer.sensors import gpu_select as gs
from ecometer.sensors.nvidia import NvmlSensor, constants, detect_gpus

WALL0 = 1_700_000_000.0  # the fake wall clock = monotonic + WALL0
NO_SUCH_PID = 2**22 + 12345  # above Linux's largest pid_max: exists in no PID namespace here


# ---------------------------------------------------------------------------- fake NVML
class FakeNVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return f"NVML error {self.value}"


@dataclass
class FakeGpu:
    uuid: str
    name: str = "NVIDIA H100 80GB HBM3"
    power: object = 100.0  # watts, or a function of the monotonic time
    counter: bool = True
    counter_mj: int | None = None  # fixed counter value (None: integral of power)
    counter_error: int | None = None
    buffer: bool = True
    instant: bool = True
    usage: bool = True
    limit_mw: int = 700_000
    mig: bool = False
    migs: list[tuple[str, int, int]] = field(default_factory=list)  # (uuid, gi, ci)
    proc_util: list[tuple[int, int]] | None = field(default_factory=list)  # (pid, smUtil); None = unsupported
    procs: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, used memory bytes)
    ts_base: float | None = None  # buffer timestamps' clock origin (None: wall clock)

    def watts(self, t: float) -> float:
        return float(self.power(t)) if callable(self.power) else float(self.power)


class FakeNvml:
    """A stand-in for the ``pynvml`` module: the calls and constants NvmlSensor uses."""

    NVMLError = FakeNVMLError
    NVML_SUCCESS = 0
    NVML_ERROR_INVALID_ARGUMENT = 2
    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_ERROR_NO_PERMISSION = 4
    NVML_ERROR_NOT_FOUND = 6
    NVML_ERROR_DRIVER_NOT_LOADED = 9
    NVML_ERROR_LIBRARY_NOT_FOUND = 12
    NVML_ERROR_FUNCTION_NOT_FOUND = 13
    NVML_ERROR_GPU_IS_LOST = 15
    NVML_TOTAL_POWER_SAMPLES = 0
    NVML_FI_DEV_POWER_INSTANT = 186
    NVML_VALUE_TYPE_DOUBLE = 0
    NVML_VALUE_TYPE_UNSIGNED_INT = 1
    NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3
    NVML_DEVICE_MIG_ENABLE = 1

    def __init__(self, gpus: list[FakeGpu], clock: Clock, init_error: int | None = None) -> None:
        self.gpus = gpus
        self.clock = clock
        self.init_error = init_error
        self.inits = 0
        self.shutdowns = 0
        self.calls: dict[str, int] = {}
        self.span_s = 2.4
        self.t0 = clock.t

    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def _gpu(self, h: object) -> FakeGpu:
        return self.gpus[h[1]] if isinstance(h, tuple) else self.gpus[h]

    def energy_j(self, g: FakeGpu, t: float) -> float:
        """Exact integral of the power since the fake's creation (midpoint rule, fine grid)."""
        n = 4000
        dt = (t - self.t0) / n
        return sum(g.watts(self.t0 + (i + 0.5) * dt) for i in range(n)) * dt

    # -- library
    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise FakeNVMLError(self.init_error)
        self.inits += 1

    def nvmlShutdown(self) -> None:
        self.shutdowns += 1

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.65.06"

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetUUID(self, h: object) -> str:
        if isinstance(h, tuple):
            return self._gpu(h).migs[h[2]][0]
        return self._gpu(h).uuid

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return self._gpu(h).name.encode()  # older bindings return bytes

    def nvmlDeviceGetEnforcedPowerLimit(self, h: int) -> int:
        return self._gpu(h).limit_mw

    def nvmlDeviceGetMigMode(self, h: int) -> list[int]:
        return [1 if self._gpu(h).mig else 0, 0]

    def nvmlDeviceGetMaxMigDeviceCount(self, h: int) -> int:
        return 7 if self._gpu(h).mig else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, h: int, i: int) -> tuple:
        if i >= len(self._gpu(h).migs):
            raise FakeNVMLError(self.NVML_ERROR_NOT_FOUND)
        return ("mig", h, i)

    def nvmlDeviceGetGpuInstanceId(self, mh: tuple) -> int:
        return self._gpu(mh).migs[mh[2]][1]

    def nvmlDeviceGetComputeInstanceId(self, mh: tuple) -> int:
        return self._gpu(mh).migs[mh[2]][2]

    # -- energy and power
    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> int:
        self._count("energy")
        g = self._gpu(h)
        if not g.counter:
            raise FakeNVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        if g.counter_error is not None:
            raise FakeNVMLError(g.counter_error)
        if g.counter_mj is not None:
            return g.counter_mj
        return 5_000_000 + round(1000 * self.energy_j(g, self.clock.t))

    def nvmlDeviceGetFieldValues(self, h: int, fields: list[int]) -> list:
        self._count("fields")
        g = self._gpu(h)
        assert fields == [self.NVML_FI_DEV_POWER_INSTANT]
        ok = self.NVML_SUCCESS if g.instant else self.NVML_ERROR_NOT_SUPPORTED
        value = SimpleNamespace(uiVal=round(1000 * g.watts(self.clock.t)))
        return [
            SimpleNamespace(fieldId=fields[0], nvmlReturn=ok, valueType=self.NVML_VALUE_TYPE_UNSIGNED_INT, value=value)
        ]

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        self._count("usage")
        g = self._gpu(h)
        if not g.usage:
            raise FakeNVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        return round(1000 * g.watts(self.clock.t))

    def nvmlDeviceGetSamples(self, h: int, kind: int, last_ts: int) -> tuple:
        """20 ms samples on the fake clock, the last ``span_s`` seconds, newer than ``last_ts``."""
        self._count("samples")
        g = self._gpu(h)
        assert kind == self.NVML_TOTAL_POWER_SAMPLES
        if not g.buffer:
            raise FakeNVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        base = WALL0 if g.ts_base is None else g.ts_base
        k_end = int(round(self.clock.t / 0.02, 6))
        k_start = int(round((self.clock.t - self.span_s) / 0.02, 6)) + 1
        out = []
        for k in range(k_start, k_end + 1):
            t = k * 0.02
            ts = round((t + base) * 1e6)
            if ts > last_ts:
                value = SimpleNamespace(uiVal=round(1000 * g.watts(t)))
                out.append(SimpleNamespace(timeStamp=ts, sampleValue=value))
        if not out:
            raise FakeNVMLError(self.NVML_ERROR_NOT_FOUND)
        return self.NVML_VALUE_TYPE_UNSIGNED_INT, out

    # -- processes
    def nvmlDeviceGetProcessUtilization(self, h: int, last_ts: int) -> list:
        g = self._gpu(h)
        if g.proc_util is None:
            raise FakeNVMLError(self.NVML_ERROR_NOT_SUPPORTED)
        ts = round(self.clock.wall() * 1e6)
        out = [SimpleNamespace(pid=p, timeStamp=ts, smUtil=u, memUtil=0) for p, u in g.proc_util if ts > last_ts]
        if not out:
            raise FakeNVMLError(self.NVML_ERROR_NOT_FOUND)
        return out

    def nvmlDeviceGetComputeRunningProcesses(self, h: int) -> list:
        return [SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in self._gpu(h).procs]


def uuid(n: int) -> str:
    return f"GPU-{n:08x}-1111-2222-3333-44444444444{n % 10}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(autouse=True)
def _no_cuda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)


def make(fakes: list[FakeGpu], clock: Clock, **kw) -> tuple[NvmlSensor, FakeNvml]:
    nv = FakeNvml(fakes, clock)
    s = NvmlSensor(nvml=nv, clock=clock.mono, wall_clock=clock.wall, **kw)
    return s, nv


def drive(s: NvmlSensor, clock: Clock, seconds: float, step: float = 0.1) -> dict[str, list[tuple[float, float]]]:
    """Poll every ``step`` s for ``seconds``; all points per device."""
    got: dict[str, list[tuple[float, float]]] = {}
    for _ in range(round(seconds / step)):
        clock.advance(step)
        for k, v in s.poll(clock.mono()).items():
            got.setdefault(k, []).extend(v)
    return got


def trapezoid(points: list[tuple[float, float]]) -> float:
    return sum((t1 - t0) * (w0 + w1) / 2 for (t0, w0), (t1, w1) in zip(points, points[1:], strict=False))


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# ---------------------------------------------------------------------------- gpu_select
PHYS = [gs.PhysicalGpu(i, uuid(i), "NVIDIA H100") for i in range(4)]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (None, None),
        ("", []),
        ("0,1", [0, 1]),
        (" 2 , 0", [2, 0]),
        ("1gpu,2ampere", [1, 2]),
        ("+1", [1]),
        ("0,2,-1,1", [0, 2]),
        ("0,x,1", [0]),
        ("x,0", []),
        ("0,1,0", []),
        ("GPU-ab,GPU-cd", ["GPU-ab", "GPU-cd"]),
        ("GPU-ab,0,GPU-cd", ["GPU-ab"]),
        ("GPU-ab,GPU-ab", []),
        ("MIG-x,GPU-ab", ["MIG-x"]),
    ],
)
def test_parse_cuda_visible_devices(env: str | None, expected: list | None) -> None:
    assert gs.parse_cuda_visible_devices(env) == expected


def test_visible_unset_means_all_in_nvml_order() -> None:
    sel = gs.visible_gpus(list(reversed(PHYS)), env=None)
    assert [(g.cuda_index, g.nvml_index) for g in sel.gpus] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert sel.notes == []


def test_visible_empty_string_means_no_gpu() -> None:
    sel = gs.visible_gpus(PHYS, env="")
    assert sel.gpus == []
    assert "empty" in sel.notes[0]


def test_visible_indices_reorder_and_stop_at_invalid() -> None:
    sel = gs.visible_gpus(PHYS, env="3,1,-1,0")
    assert [(g.cuda_index, g.nvml_index, g.uuid) for g in sel.gpus] == [(0, 3, uuid(3)), (1, 1, uuid(1))]
    assert "'-1'" in sel.notes[0] and "every entry after it" in sel.notes[0]


def test_visible_out_of_range_index_stops_list() -> None:
    sel = gs.visible_gpus(PHYS[:2], env="1,5,0")
    assert [g.nvml_index for g in sel.gpus] == [1]
    assert "out of range" in sel.notes[0]


def test_visible_repeated_index_gives_no_gpu() -> None:
    sel = gs.visible_gpus(PHYS, env="1,1")
    assert sel.gpus == [] and "twice" in sel.notes[0]
    assert gs.visible_gpus(PHYS, env="q,1").notes[0].startswith("CUDA_VISIBLE_DEVICES='q,1': its first entry")


def test_visible_uuid_full_and_prefix() -> None:
    full = uuid(2)
    sel = gs.visible_gpus(PHYS, env=f"{full},{uuid(0)[:12]}")
    assert [g.nvml_index for g in sel.gpus] == [2, 0]
    assert [g.cuda_index for g in sel.gpus] == [0, 1]


def test_visible_uuid_ambiguous_or_unknown_stops() -> None:
    phys = [gs.PhysicalGpu(0, "GPU-abc1"), gs.PhysicalGpu(1, "GPU-abc2"), gs.PhysicalGpu(2, "GPU-ffff")]
    sel = gs.visible_gpus(phys, env="GPU-ff,GPU-abc,GPU-abc1")
    assert [g.nvml_index for g in sel.gpus] == [2]
    assert "ambiguous" in sel.notes[-1]
    sel = gs.visible_gpus(phys, env="GPU-abc2,GPU-0000,GPU-ffff")
    assert [g.nvml_index for g in sel.gpus] == [1]
    assert "matches no GPU" in sel.notes[-1]


def test_visible_same_gpu_through_two_prefixes_gives_no_gpu() -> None:
    sel = gs.visible_gpus(PHYS, env=f"{uuid(1)},{uuid(1)[:12]}")
    assert sel.gpus == [] and "twice" in sel.notes[-1]


def test_visible_mig_new_and_old_forms() -> None:
    migs = [gs.MigInstance("MIG-aaaa-1", 1, 3, 0), gs.MigInstance("MIG-bbbb-2", 1, 5, 0)]
    sel = gs.visible_gpus(PHYS, migs, env="MIG-bbbb,MIG-aaaa-1")
    assert [(g.cuda_index, g.nvml_index, g.mig_uuid) for g in sel.gpus] == [(0, 1, "MIG-bbbb-2"), (1, 1, "MIG-aaaa-1")]
    assert all(g.uuid == uuid(1) for g in sel.gpus)
    sel = gs.visible_gpus(PHYS, migs, env=f"MIG-{uuid(1)}/5/0")
    assert [g.mig_uuid for g in sel.gpus] == ["MIG-bbbb-2"]
    sel = gs.visible_gpus(PHYS, migs, env=f"MIG-{uuid(1)}/9/0")
    assert sel.gpus == [] and "does not list" in sel.notes[-1]


def test_visible_order_note_for_mixed_models() -> None:
    phys = [gs.PhysicalGpu(0, uuid(0), "NVIDIA A100"), gs.PhysicalGpu(1, uuid(1), "NVIDIA H100")]
    assert any("CUDA_DEVICE_ORDER" in n for n in gs.visible_gpus(phys, env="0").notes)
    assert gs.visible_gpus(phys, env="0", device_order="PCI_BUS_ID").notes == []
    assert gs.visible_gpus(PHYS, env="0").notes == []  # identical models: same order either way


def test_choose_requests() -> None:
    vis = gs.visible_gpus(PHYS, env="2,3").gpus
    assert gs.choose(vis, "auto") == vis
    assert [g.nvml_index for g in gs.choose(vis, [1])] == [3]
    assert [g.nvml_index for g in gs.choose(vis, ["cuda:0", "1"])] == [2, 3]
    assert [g.nvml_index for g in gs.choose(vis, [uuid(3)[:12]])] == [3]
    with pytest.raises(InputError, match=r"CUDA index 2 .*valid choices: 0 \(GPU-"):
        gs.choose(vis, [2])
    with pytest.raises(InputError, match="matches no GPU"):
        gs.choose(vis, [uuid(0)])
    with pytest.raises(InputError, match="already"):
        gs.choose(vis, [0, "cuda:0"])
    with pytest.raises(InputError, match="neither"):
        gs.choose(vis, ["gpu0"])


@pytest.mark.parametrize("bad", ["all", 3, [1.5], [True], None])
def test_check_request_rejects_bad_forms(bad: object) -> None:
    with pytest.raises(InputError, match="gpus"):
        gs.check_request(bad)


# ---------------------------------------------------------------------------- open
def test_missing_bindings_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes 'import pynvml' raise ImportError
    with pytest.raises(SensorUnavailable, match=r"^NVML: .*pip install nvidia-ml-py"):
        NvmlSensor().open()


@pytest.mark.parametrize(("code", "words"), [(12, "libnvidia-ml"), (9, "driver is not loaded"), (999, "nvidia-smi")])
def test_init_failure_is_unavailable(clock: Clock, code: int, words: str) -> None:
    nv = FakeNvml([FakeGpu(uuid(0))], clock, init_error=code)
    with pytest.raises(SensorUnavailable, match=words):
        NvmlSensor(nvml=nv).open()
    assert nv.shutdowns == 0


def test_no_gpu_is_unavailable(clock: Clock) -> None:
    s, nv = make([], clock)
    with pytest.raises(SensorUnavailable, match="no NVIDIA GPU"):
        s.open()
    assert nv.shutdowns == nv.inits == 1


def test_empty_cuda_visible_devices_is_unavailable(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    s, nv = make([FakeGpu(uuid(0))], clock)
    with pytest.raises(SensorUnavailable, match="set but empty"):
        s.open()
    assert nv.shutdowns == 1


def test_bad_request_is_input_error_and_releases_nvml(clock: Clock) -> None:
    s, nv = make([FakeGpu(uuid(0))], clock, gpus=[3])
    with pytest.raises(InputError, match="valid choices"):
        s.open()
    assert nv.shutdowns == nv.inits == 1


def test_constructor_checks_arguments() -> None:
    with pytest.raises(InputError, match="scope"):
        NvmlSensor(scope="host")
    with pytest.raises(InputError, match="buffer_interval_s"):
        NvmlSensor(buffer_interval_s=5)


def test_devices_follow_cuda_visible_devices(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0")
    s, _ = make([FakeGpu(uuid(i), limit_mw=300_000 + i) for i in range(3)], clock)
    s.open()
    devs = s.devices()
    assert [d.id for d in devs] == ["gpu:0", "gpu:1"]
    f = devs[0].facts
    assert (f["nvml_index"], f["uuid"], f["cuda_index"]) == (2, uuid(2), 0)
    assert f["name"] == devs[0].model == "NVIDIA H100 80GB HBM3"  # bytes decoded
    assert f["power_limit_w"] == pytest.approx(300.002)
    assert f["driver_version"] == "580.65.06"
    assert (f["mig_mode"], f["counter_supported"], f["energy_method"]) == ("disabled", True, "counter")
    assert f["power_source"] == "sample_buffer"
    assert "serial" not in json.dumps(devs[0].to_dict())
    s.close()


def test_close_is_idempotent(clock: Clock) -> None:
    s, nv = make([FakeGpu(uuid(0))], clock)
    s.open()
    s.close()
    s.close()
    assert nv.inits == nv.shutdowns == 1


# ---------------------------------------------------------------------------- energy
def test_counter_joules_since_open(clock: Clock) -> None:
    g = FakeGpu(uuid(0), power=lambda t: 150 + 50 * (t % 1.0))
    s, nv = make([g], clock)
    clock.advance(5)  # energy before open must not count
    s.open()
    e0 = nv.energy_j(g, clock.t)
    drive(s, clock, 3.0)
    got = s.read_counters()
    assert s.method == "counter"
    assert got["gpu:0"] == pytest.approx(nv.energy_j(g, clock.t) - e0, abs=2e-3)
    assert got["gpu:0"] > 400
    s.close()


def test_read_counters_before_open_is_none() -> None:
    assert NvmlSensor().read_counters() is None


def test_no_counter_is_integrated_not_zero(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    g = FakeGpu(uuid(0), counter=False, power=lambda t: 80 + 40 * t)  # linear ramp: trapezoid is exact
    s, nv = make([g], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    t_open = clock.t
    pts = drive(s, clock, 2.0)
    e = s.read_counters()["gpu:0"]
    assert s.method == "integrated"
    assert s.devices()[0].facts["energy_method"] == "integrated"
    assert e == pytest.approx(nv.energy_j(g, clock.t) - nv.energy_j(g, t_open), rel=1e-6)
    assert e > 0
    assert trapezoid(pts["gpu:0"]) == pytest.approx(e, rel=1e-6)  # timeline and energy agree
    warns = [w for w in warnings_of(caplog) if "no usable energy counter" in w]
    assert len(warns) == 1
    assert any("integrated" in n for n in s.notes())
    unc = s.uncertainty()
    assert 1 - unc.low == pytest.approx(constants()["uncertainty"]["integrated"]["rel_low"])
    assert 1 - unc.low > 0.05
    s.close()


def test_mixed_counter_and_integrated(clock: Clock) -> None:
    with_c, without = FakeGpu(uuid(0), power=200.0), FakeGpu(uuid(1), counter=False, power=90.0)
    s, _ = make([with_c, without], clock)
    s.open()
    drive(s, clock, 1.0)
    got = s.read_counters()
    assert s.method == "integrated"
    assert s.device_methods() == {"gpu:0": "counter", "gpu:1": "integrated"}
    assert got["gpu:0"] == pytest.approx(200.0, abs=1e-3)
    assert got["gpu:1"] == pytest.approx(90.0, rel=1e-6)
    assert "conservative" in s.uncertainty().basis


def test_counter_backwards_is_bridged(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    g = FakeGpu(uuid(0), power=100.0, counter_mj=9_000_000)
    s, _ = make([g], clock, buffer_interval_s=0)
    caplog.set_level(logging.WARNING)
    s.open()
    drive(s, clock, 1.0)
    g.counter_mj = 9_100_000  # +100 J in 1 s
    assert s.read_counters()["gpu:0"] == pytest.approx(100.0)
    drive(s, clock, 1.0)
    g.counter_mj = 40_000  # driver reset: the counter restarted
    after_reset = s.read_counters()["gpu:0"]
    assert after_reset == pytest.approx(200.0, rel=1e-6)  # the interval bridged with 100 W x 1 s
    drive(s, clock, 1.0)
    g.counter_mj = 140_000
    assert s.read_counters()["gpu:0"] == pytest.approx(300.0, rel=1e-6)
    assert sum("went backwards" in w for w in warnings_of(caplog)) == 1
    assert any("reset" in n for n in s.notes())


def test_counter_error_is_bridged_without_double_counting(clock: Clock) -> None:
    g = FakeGpu(uuid(0), power=100.0)
    s, _ = make([g], clock, buffer_interval_s=0)
    s.open()
    drive(s, clock, 1.0)
    g.counter_error = 15  # GPU is lost, for a while
    provisional = s.read_counters()["gpu:0"]
    assert provisional == pytest.approx(100.0, rel=1e-6)
    drive(s, clock, 1.0)
    g.counter_error = None
    assert s.read_counters()["gpu:0"] == pytest.approx(200.0, abs=1e-3)
    assert any("counter failed" in n for n in s.notes())


def test_stuck_counter_switches_to_integrated(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    g = FakeGpu(uuid(0), power=60.0, counter_mj=123)  # a vGPU whose counter never moves
    s, _ = make([g], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    drive(s, clock, 1.0)
    assert s.read_counters()["gpu:0"] == 0.0  # too early to tell
    drive(s, clock, 2.0)
    e = s.read_counters()["gpu:0"]
    assert e == pytest.approx(180.0, rel=1e-3)
    assert s.method == "integrated"
    assert any("has not moved" in w for w in warnings_of(caplog))


def test_stuck_counter_fallback_is_recorded_per_device(clock: Clock) -> None:
    stuck, fine = FakeGpu(uuid(0), power=60.0, counter_mj=123), FakeGpu(uuid(1), power=100.0)
    s, _ = make([stuck, fine], clock)
    s.open()
    assert s.method == "counter"
    drive(s, clock, 3.0)
    s.read_counters()
    assert s.method == "integrated"  # derived from the devices, not set on the sensor
    with pytest.raises(AttributeError):
        s.method = "counter"  # type: ignore[misc]
    assert s.device_methods() == {"gpu:0": "integrated", "gpu:1": "counter"}
    history = s.method_history()
    assert [(m.method, m.since_s) for m in history["gpu:0"]] == [("counter", 0.0), ("integrated", pytest.approx(3.0))]
    assert [m.method for m in history["gpu:1"]] == ["counter"]
    facts = {d.id: d.facts for d in s.devices()}
    assert facts["gpu:0"]["energy_method"] == "integrated"
    assert facts["gpu:0"]["energy_method_changes"] == [
        {"method": "integrated", "at_s": pytest.approx(3.0), "why": "energy counter stuck"}
    ]
    assert "energy_method_changes" not in facts["gpu:1"]
    assert any(n.startswith("gpu:0: energy integrated from 3.0 s after open on") for n in s.notes())


def test_counter_jump_is_bridged(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    g = FakeGpu(uuid(0), power=100.0, counter_mj=1_000_000)
    s, _ = make([g], clock, buffer_interval_s=0)
    caplog.set_level(logging.WARNING)
    s.open()
    drive(s, clock, 1.0)
    g.counter_mj = 1_000_000 + 10**12  # a garbage reading: 1e9 J in 1 s
    assert s.read_counters()["gpu:0"] == pytest.approx(100.0, rel=1e-6)  # bridged with 100 W x 1 s
    drive(s, clock, 1.0)
    g.counter_mj += 100_000
    assert s.read_counters()["gpu:0"] == pytest.approx(200.0, rel=1e-6)  # re-based: the counter's again
    assert any("jumped by" in w for w in warnings_of(caplog))
    assert any("jump(s) bridged" in n for n in s.notes())


def test_binding_without_nvmlerror_is_refused(clock: Clock) -> None:
    """No catch-all: without the binding's NVMLError, nothing would tell NVML errors from bugs."""
    nv = FakeNvml([FakeGpu(uuid(0))], clock)
    nv.NVMLError = None  # type: ignore[assignment]
    with pytest.raises(SensorUnavailable, match="no NVMLError"):
        NvmlSensor(nvml=nv, clock=clock.mono, wall_clock=clock.wall).open()
    assert nv.inits == 0


def test_programming_errors_surface(clock: Clock) -> None:
    """A non-NVML exception from the binding is not taken for 'unsupported'."""
    nv = FakeNvml([FakeGpu(uuid(0), buffer=False)], clock)

    def broken(h: int, fields: list[int]) -> list:
        raise KeyError("field table")

    nv.nvmlDeviceGetFieldValues = broken  # type: ignore[method-assign]
    with pytest.raises(KeyError, match="field table"):
        NvmlSensor(nvml=nv, clock=clock.mono, wall_clock=clock.wall).open()
    assert nv.shutdowns == nv.inits == 1  # still closed cleanly


# ---------------------------------------------------------------------------- power timeline
def test_buffer_points_on_monotonic_clock_without_duplicates(clock: Clock) -> None:
    s, _ = make([FakeGpu(uuid(0), counter=False, power=lambda t: 100 + 10 * t)], clock)
    s.open()
    t_open = clock.t
    pts = drive(s, clock, 2.0, step=0.3)["gpu:0"]
    ts = [t for t, _ in pts]
    assert ts == sorted(set(ts))
    assert ts[0] == pytest.approx(t_open)
    assert t_open < ts[1] and ts[-1] == pytest.approx(clock.t)
    gaps = [b - a for a, b in zip(ts[1:], ts[2:], strict=False)]
    assert min(gaps) == pytest.approx(0.02, abs=1e-5) and max(gaps) == pytest.approx(0.02, abs=1e-5)
    for t, w in pts[1:]:
        assert w == pytest.approx(100 + 10 * t, abs=1e-3)  # the right value at the right time


def test_buffer_pull_is_rate_limited_for_counter_gpus(clock: Clock) -> None:
    s, nv = make([FakeGpu(uuid(0))], clock)
    s.open()
    pulls = nv.calls["samples"]
    got = []
    for _ in range(8):
        clock.advance(0.125)
        got.append(bool(s.poll(clock.mono())))
    # the first poll carries the point taken at open; the buffer is pulled at 0.5 s and 1.0 s
    assert got == [True, False, False, True, False, False, False, True]
    assert nv.calls["samples"] - pulls == 2
    clock.advance(0.1)
    forced = s.poll(clock.mono(), force=True)["gpu:0"]
    assert forced[-1][0] == pytest.approx(clock.t)
    assert s.cost_hint is not None and s.cost_hint >= 0
    assert any("pulled every 0.5 s" in n for n in s.notes())


def test_late_poll_loses_samples_and_says_so(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    s, _ = make([FakeGpu(uuid(0), counter=False)], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    clock.advance(3.4)
    pts = s.poll(clock.mono())["gpu:0"]
    assert pts[1][0] == pytest.approx(clock.t - 2.4 + 0.02)  # only the buffer's span survived
    assert any("samples were lost" in w for w in warnings_of(caplog))
    assert any("lost to late polls" in n for n in s.notes())


def test_non_wall_clock_timestamps_are_aligned(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    s, _ = make([FakeGpu(uuid(0), counter=False, ts_base=0.0)], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    pts = drive(s, clock, 1.0)["gpu:0"]
    assert pts[-1][0] == pytest.approx(clock.t)
    assert all(b[0] > a[0] for a, b in zip(pts, pts[1:], strict=False))
    assert any("not on the wall clock" in w for w in warnings_of(caplog))


def test_instant_field_when_no_buffer(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    s, nv = make([FakeGpu(uuid(0), buffer=False, power=lambda t: 50 + t)], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    pts = drive(s, clock, 1.0)["gpu:0"]
    assert len(pts) == 11  # open point + one per poll
    assert pts[-1] == (pytest.approx(clock.t), pytest.approx(50 + clock.t, abs=1e-3))
    assert s.devices()[0].facts["power_source"] == "instant_field"
    assert "usage" not in nv.calls  # never the 1 s average
    assert sum("instant power field" in w for w in warnings_of(caplog)) == 1


def test_power_usage_is_last_resort_and_loud(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    s, _ = make([FakeGpu(uuid(0), buffer=False, instant=False, counter=False, power=70.0)], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    drive(s, clock, 1.0)
    assert s.read_counters()["gpu:0"] == pytest.approx(70.0, rel=1e-6)
    assert any("1-second AVERAGE" in w and "ENERGY" in w for w in warnings_of(caplog))
    unc = s.uncertainty()
    entry = constants()["uncertainty"]["integrated_power_usage"]
    assert unc.high - 1 == pytest.approx(entry["rel_high"])
    assert unc.high - 1 > 1 - unc.low
    assert (unc.distribution, unc.coverage) == ("triangular", 1.0)  # asymmetric stated bound, mode at the reading


def test_no_power_reading_and_no_counter_is_excluded(clock: Clock) -> None:
    bare = FakeGpu(uuid(1), buffer=False, instant=False, usage=False, counter=False)
    s, _ = make([FakeGpu(uuid(0)), bare], clock)
    s.open()
    assert [d.id for d in s.devices()] == ["gpu:0"]
    assert any("NOT measured" in n for n in s.notes())
    s2, _ = make([bare], clock)
    with pytest.raises(SensorUnavailable, match="neither|no selected GPU"):
        s2.open()


def test_missing_constants_in_bindings(clock: Clock) -> None:
    nv = FakeNvml([FakeGpu(uuid(0))], clock)
    nv.NVML_TOTAL_POWER_SAMPLES = None  # an old nvidia-ml-py
    nv.NVML_FI_DEV_POWER_INSTANT = None
    s = NvmlSensor(nvml=nv, clock=clock.mono, wall_clock=clock.wall)
    s.open()
    assert s.devices()[0].facts["power_source"] == "power_usage_1s_average"
    assert s.method == "counter"  # energy still from the counter
    assert any("upgrade nvidia-ml-py" in n for n in s.notes())


def test_points_never_go_back_in_time(clock: Clock) -> None:
    s, _ = make([FakeGpu(uuid(0)), FakeGpu(uuid(1), counter=False)], clock)
    s.open()
    last: dict[str, float] = {}
    for i in range(40):
        clock.advance(0.07)
        out = s.poll(clock.mono(), force=(i % 7 == 0))
        if i % 5 == 0:
            s.read_counters()  # may sample integrated GPUs between polls
        for dev, pts in out.items():
            for t, _ in pts:
                assert t > last.get(dev, float("-inf"))
                assert t <= clock.mono()
                last[dev] = t


# ---------------------------------------------------------------------------- MIG
def test_mig_instances_measure_parent_once(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = FakeGpu(uuid(0), mig=True, migs=[("MIG-aaaa-0001", 1, 0), ("MIG-bbbb-0002", 2, 0)])
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-aaaa,MIG-bbbb")
    s, _ = make([parent, FakeGpu(uuid(1))], clock)
    s.open()
    devs = s.devices()
    assert [d.id for d in devs] == ["gpu:0"]
    f = devs[0].facts
    assert f["mig_instances"] == ["MIG-aaaa-0001", "MIG-bbbb-0002"] and f["cuda_indices"] == [0, 1]
    assert (f["mig_mode"], f["nvml_index"]) == ("enabled", 0)
    notes = " ".join(s.notes())
    assert "no energy counter or power reading per MIG instance" in notes and "measured once" in notes


# ---------------------------------------------------------------------------- process scope
def test_machine_scope_share_is_one(clock: Clock) -> None:
    s, _ = make([FakeGpu(uuid(0))], clock)
    s.open()
    assert s.share(clock.mono()) == {"gpu:0": 1.0}
    assert s.attribution() is None


def test_process_share_from_sm_utilisation(clock: Clock) -> None:
    me = os.getpid()
    g = FakeGpu(uuid(0), proc_util=[(me, 30), (1, 10)], procs=[(me, 1000), (1, 3000)])
    s, _ = make([g], clock, scope="process")
    s.open()
    clock.advance(0.5)
    assert s.share(clock.mono()) == {"gpu:0": pytest.approx(0.75)}
    g.proc_util = [(me, 10), (1, 30)]
    clock.advance(0.5)
    assert s.share(clock.mono())["gpu:0"] == pytest.approx(0.75)  # cached within the interval
    clock.advance(0.6)
    assert s.share(clock.mono())["gpu:0"] == pytest.approx(0.25)
    text = s.attribution()
    assert "not a measurement" in text and "SM utilisation" in text


def test_process_share_idle_gpu_uses_memory(clock: Clock) -> None:
    me = os.getpid()
    g = FakeGpu(uuid(0), proc_util=[], procs=[(me, 1000), (1, 3000)])
    s, _ = make([g], clock, scope="process")
    s.open()
    assert s.share(clock.mono())["gpu:0"] == pytest.approx(0.25)
    g.procs = []
    clock.advance(2)
    assert s.share(clock.mono())["gpu:0"] == 0.0  # nobody on it: not this process's GPU


def test_process_share_unsupported_falls_back_to_memory(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    me = os.getpid()
    g = FakeGpu(uuid(0), proc_util=None, procs=[(me, 1000), (1, None)])
    s, _ = make([g], clock, scope="process")
    caplog.set_level(logging.WARNING)
    s.open()
    assert s.share(clock.mono())["gpu:0"] == pytest.approx(0.5)  # memory unknown: process count
    assert any("per-process utilisation is not available" in w for w in warnings_of(caplog))


def test_process_share_foreign_pid_namespace(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    g = FakeGpu(uuid(0), proc_util=[(NO_SUCH_PID, 50)], procs=[(NO_SUCH_PID, 1000)])
    s, _ = make([g], clock, scope="process")
    caplog.set_level(logging.WARNING)
    s.open()
    assert s.share(clock.mono())["gpu:0"] == 1.0
    assert any("PID namespace" in w for w in warnings_of(caplog))


# ---------------------------------------------------------------------------- detect, data
def test_detect_gpus(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    sensor, lines = detect_gpus(nvml=FakeNvml([FakeGpu(uuid(0))], clock))
    assert sensor is not None and sensor.method == "counter"
    assert lines[0].startswith("NVML: 1 GPU(s), driver 580.65.06")
    assert any(line.startswith("gpu:0: NVIDIA H100") and "energy counter" in line for line in lines)
    sensor.close()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    sensor, lines = detect_gpus(nvml=FakeNvml([FakeGpu(uuid(0))], clock))
    assert sensor is None and "empty" in lines[0]


def test_data_file_entries_cite_sources() -> None:
    data = json.loads(resources.files("ecometer").joinpath("data/nvml.json").read_text())
    # source, year and licence of every entry (all data files): tests/test_provenance.py
    assert "2312.02741" in data["uncertainty"]["counter"]["source"]
    assert NvmlSensor().max_poll_interval_s == data["sampling"]["max_poll_interval_s"]["value"]


# ---------------------------------------------------------------------------- through the meter
def test_record_says_when_a_gpu_fell_back(clock: Clock) -> None:
    from ecometer.measuring.meter import Meter

    s, _ = make([FakeGpu(uuid(0), power=60.0, counter_mj=123), FakeGpu(uuid(1), power=100.0)], clock)
    meter = Meter("nvml", sensors=[s], clock=clock.mono, background=False, out=None, counter_interval_s=1.0)
    meter.start()
    for _ in range(50):
        clock.advance(0.1)
        meter.sample_now()
    rec = meter.stop()
    gpu = rec.components["gpu"]
    assert gpu.method == "integrated"
    assert gpu.devices["gpu:0"] == pytest.approx(60.0 * 5, rel=1e-3)  # the stuck counter's 0 J never counts
    assert gpu.devices["gpu:1"] == pytest.approx(100.0 * 5, rel=1e-3)
    (info,) = [i for i in rec.sensors if i.name == "nvml"]
    facts = {d["id"]: d for d in info.devices}
    (change,) = facts["gpu:0"]["energy_method_changes"]
    assert change["method"] == "integrated" and change["why"] == "energy counter stuck"
    assert 2.0 <= change["at_s"] <= 3.0
    assert facts["gpu:1"]["energy_method"] == "counter" and "energy_method_changes" not in facts["gpu:1"]
    again = type(rec).from_dict(json.loads(rec.to_json()))  # survives the record file
    (info,) = [i for i in again.sensors if i.name == "nvml"]
    assert info.devices[0]["energy_method_changes"][0]["why"] == "energy counter stuck"


def test_failing_listing_call_is_unavailable_and_closes(clock: Clock) -> None:
    nv = FakeNvml([FakeGpu(uuid(0))], clock)

    def lost(h: int) -> str:
        raise FakeNVMLError(nv.NVML_ERROR_GPU_IS_LOST)

    nv.nvmlDeviceGetUUID = lost  # type: ignore[method-assign]
    with pytest.raises(SensorUnavailable, match=r"^NVML: listing the GPUs failed \(nvmlDeviceGetUUID: ") as info:
        NvmlSensor(nvml=nv, clock=clock.mono, wall_clock=clock.wall).open()
    assert isinstance(info.value.__cause__, GPULost)
    assert nv.shutdowns == nv.inits == 1


def test_instant_power_failure_mid_run_is_counted(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    g = FakeGpu(uuid(0), buffer=False, power=50.0)
    s, nv = make([g], clock)
    caplog.set_level(logging.WARNING)
    s.open()
    drive(s, clock, 0.3)
    g.instant = False  # the field starts failing
    drive(s, clock, 0.3)
    assert any("reading the power of gpu:0 failed" in w for w in warnings_of(caplog))
    assert any("3 power reading(s) failed" in n for n in s.notes())
