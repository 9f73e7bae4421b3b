"""The NVML sensor against a real NVIDIA GPU (skipped cleanly where there is none).

Run on a GPU machine: ``.venv/bin/pytest tests/test_gpu_real.py -m gpu -v -s`` (``-s`` shows
the measured figures). Load tests need torch with CUDA and are skipped without it.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import pytest

from ecometer.errors import SensorUnavailable
from ecometer.sensors.nvidia import NvmlSensor, detect_gpus

pytestmark = pytest.mark.gpu


def _open(**kw) -> NvmlSensor:
    sensor = NvmlSensor(**kw)
    try:
        sensor.open()
    except SensorUnavailable as exc:
        pytest.skip(str(exc))
    return sensor


@pytest.fixture
def sensor():
    s = _open()
    yield s
    s.close()


@pytest.fixture(scope="module")
def torch_cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here: no GPU load can be generated")
    return torch


class Load:
    """fp16 matmuls on cuda:0, synchronised in short chunks so wall time tracks GPU time."""

    def __init__(self, torch) -> None:
        self.torch = torch
        self.a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
        self.b = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
        torch.cuda.synchronize()

    def busy(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(5):
                self.a @ self.b
            self.torch.cuda.synchronize()

    def enqueue(self, n: int) -> None:
        for _ in range(n):
            self.a @ self.b


def _integrate(points: list[tuple[float, float]], t0: float, t1: float) -> float:
    """Trapezoid integral of the points over [t0, t1] (linear inside, held at the ends)."""

    def at(t: float) -> float:
        if t <= points[0][0]:
            return points[0][1]
        if t >= points[-1][0]:
            return points[-1][1]
        for (ta, wa), (tb, wb) in zip(points, points[1:], strict=False):
            if ta <= t <= tb:
                return wa + (wb - wa) * (t - ta) / (tb - ta)
        raise AssertionError("unreachable")

    inner = [(t, w) for t, w in points if t0 < t < t1]
    seq = [(t0, at(t0)), *inner, (t1, at(t1))]
    return sum((tb - ta) * (wa + wb) / 2 for (ta, wa), (tb, wb) in zip(seq, seq[1:], strict=False))


class Poller:
    """Polls a sensor from a thread every ``interval`` s, as the meter's sampler will."""

    def __init__(self, sensor: NvmlSensor, interval: float = 0.1) -> None:
        self.sensor, self.interval = sensor, interval
        self.points: dict[str, list[tuple[float, float]]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _take(self, out: dict[str, list[tuple[float, float]]]) -> None:
        for k, v in out.items():
            self.points.setdefault(k, []).extend(v)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._take(self.sensor.poll(time.monotonic()))

    def __enter__(self) -> Poller:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._take(self.sensor.poll(time.monotonic(), force=True))


def test_detect_gpus_describes_devices() -> None:
    sensor, lines = detect_gpus()
    if sensor is None:
        pytest.skip(lines[0])
    try:
        print("\n".join(lines))
        assert lines[0].startswith("NVML: ")
        for d in sensor.devices():
            assert d.facts["uuid"].startswith(("GPU-", "MIG-"))
            assert any(line.startswith(f"{d.id}: ") for line in lines)
    finally:
        sensor.close()


def test_devices_and_sources(sensor: NvmlSensor) -> None:
    for d in sensor.devices():
        f = d.facts
        print(d.to_dict())
        assert f["power_source"] in ("sample_buffer", "instant_field", "power_usage_1s_average")
        assert f["driver_version"]
        if f["counter_supported"]:
            assert f["energy_method"] == "counter"
    idle = sensor.read_counters()
    assert set(idle) == {d.id for d in sensor.devices()}
    assert all(v >= 0 for v in idle.values())


def test_counter_advances_under_load(sensor: NvmlSensor, torch_cuda) -> None:
    dev = "gpu:0"
    if sensor.device_methods().get(dev) != "counter":
        pytest.skip(f"{dev} has no energy counter")
    load = Load(torch_cuda)
    t0 = time.monotonic()
    e0 = sensor.read_counters()[dev]
    load.busy(1.5)
    e1 = sensor.read_counters()[dev]
    t1 = time.monotonic()
    watts = (e1 - e0) / (t1 - t0)
    limit = sensor.devices()[0].facts["power_limit_w"] or 1000.0
    print(f"counter: {e1 - e0:.1f} J over {t1 - t0:.2f} s = {watts:.0f} W (limit {limit:g} W)")
    assert e1 > e0
    assert 20.0 < watts < 1.2 * limit


def test_integrated_timeline_close_to_counter(sensor: NvmlSensor, torch_cuda) -> None:
    """A bursty ~3 s load: the polled timeline integrates to within a few % of the counter."""
    dev = "gpu:0"
    if sensor.device_methods().get(dev) != "counter":
        pytest.skip(f"{dev} has no energy counter to compare against")
    load = Load(torch_cuda)
    with Poller(sensor) as poller:
        load.busy(0.6)  # the window opens and closes while the GPU is busy, so the ~100 ms
        load.enqueue(100)  # counter update period shifts the window rather than cutting a burst
        ta = time.monotonic()
        e0 = sensor.read_counters()[dev]
        t0 = (ta + time.monotonic()) / 2
        torch_cuda.cuda.synchronize()
        for _ in range(10):  # bursts: ~200 ms busy, ~100 ms idle
            load.busy(0.2)
            time.sleep(0.1)
        load.busy(0.3)
        load.enqueue(100)
        ta = time.monotonic()
        e1 = sensor.read_counters()[dev]
        t1 = (ta + time.monotonic()) / 2
        torch_cuda.cuda.synchronize()
        time.sleep(0.05)
    points = poller.points[dev]
    counter = e1 - e0
    timeline = _integrate(points, t0, t1)
    error = timeline / counter - 1
    print(
        f"window {t1 - t0:.2f} s: counter {counter:.1f} J, timeline {timeline:.1f} J ({error:+.2%}), {len(points)} points"
    )
    assert points[0][0] < t0 and points[-1][0] > t1 - 0.1
    assert abs(error) < 0.05


class _NoCounter:
    """The real pynvml, except that the energy counter is NotSupported (a pre-Volta GPU / vGPU)."""

    def __init__(self, module) -> None:
        self._m = module

    def __getattr__(self, name: str):
        return getattr(self._m, name)

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        raise self._m.NVMLError(self._m.NVML_ERROR_NOT_SUPPORTED)


def test_integrated_fallback_matches_counter(sensor: NvmlSensor, torch_cuda) -> None:
    """Without a counter the sensor integrates its own samples: close to the counter, never 0 J."""
    dev = "gpu:0"
    if sensor.device_methods().get(dev) != "counter":
        pytest.skip(f"{dev} has no energy counter to compare against")
    import pynvml

    fallback = _open(nvml=_NoCounter(pynvml))
    try:
        assert fallback.method == "integrated"
        assert any("no usable energy counter" in n for n in fallback.notes())
        load = Load(torch_cuda)
        with Poller(sensor), Poller(fallback):
            load.busy(0.6)
            load.enqueue(100)
            c0, i0 = sensor.read_counters()[dev], fallback.read_counters()[dev]
            torch_cuda.cuda.synchronize()
            for _ in range(10):
                load.busy(0.2)
                time.sleep(0.1)
            load.busy(0.3)
            load.enqueue(100)
            c1, i1 = sensor.read_counters()[dev], fallback.read_counters()[dev]
            torch_cuda.cuda.synchronize()
        counter, integrated = c1 - c0, i1 - i0
        error = integrated / counter - 1
        print(f"counter {counter:.1f} J, integrated fallback {integrated:.1f} J ({error:+.2%})")
        assert integrated > 0
        assert abs(error) < 0.05
    finally:
        fallback.close()


def test_sample_buffer_spacing(sensor: NvmlSensor) -> None:
    if sensor.devices()[0].facts["power_source"] != "sample_buffer":
        pytest.skip("gpu:0 has no driver power sample buffer")
    got: list[tuple[float, float]] = []
    for _ in range(8):
        time.sleep(0.2)
        now = time.monotonic()
        pts = sensor.poll(now, force=True).get("gpu:0", [])
        assert all(t <= now for t, _ in pts)
        got.extend(pts)
    ts = [t for t, _ in got]
    assert ts == sorted(set(ts))
    spacing = statistics.median(b - a for a, b in zip(ts[1:], ts[2:], strict=False))
    print(f"sample buffer: {len(ts)} points over {ts[-1] - ts[0]:.2f} s, median spacing {spacing * 1000:.1f} ms")
    assert 0.010 <= spacing <= 0.040
    assert time.monotonic() - ts[-1] < 0.5  # converted to the monotonic clock, and fresh


def test_poll_and_counter_costs(sensor: NvmlSensor) -> None:
    n = 50
    t = time.perf_counter()
    for _ in range(n):
        sensor.poll(time.monotonic(), force=True)
        time.sleep(0.005)
    forced = (time.perf_counter() - t - n * 0.005) / n
    t = time.perf_counter()
    for _ in range(n):
        sensor.poll(time.monotonic())
    lazy = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(10):
        sensor.read_counters()
    counter = (time.perf_counter() - t) / 10
    gpus = len(sensor.devices())
    print(
        f"per poll: forced {forced * 1e3:.3f} ms, rate-limited {lazy * 1e3:.3f} ms; "
        f"read_counters {counter * 1e3:.2f} ms ({gpus} GPU(s))"
    )
    assert forced < 0.005 * gpus
    assert lazy < forced or lazy < 1e-4 * gpus


def test_cuda_visible_devices_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    base = _open()
    try:
        devs = base.devices()
        if any(d.facts["mig_mode"] == "enabled" for d in devs):
            pytest.skip("MIG enabled: index/UUID mapping checked in the unit tests only")
        last = devs[-1].facts
    finally:
        base.close()
    for env in (
        last["uuid"],
        last["uuid"][:12],
        str(last["cuda_index"]) if not os.environ.get("CUDA_VISIBLE_DEVICES") else None,
    ):
        if env is None:
            continue
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
        s = _open()
        try:
            (d,) = s.devices()
            assert d.id == "gpu:0"
            assert d.facts["uuid"] == last["uuid"] and d.facts["nvml_index"] == last["nvml_index"]
        finally:
            s.close()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(SensorUnavailable, match="empty"):
        NvmlSensor().open()


def test_cuda_indices_agree_with_torch(sensor: NvmlSensor, torch_cuda) -> None:
    for d in sensor.devices():
        if d.facts["mig_mode"] == "enabled":
            pytest.skip("MIG enabled")
        props = torch_cuda.cuda.get_device_properties(d.facts["cuda_index"])
        torch_uuid = str(getattr(props, "uuid", "")).lower().removeprefix("gpu-")
        if not torch_uuid:
            pytest.skip("this torch exposes no device UUID")
        assert d.facts["uuid"].lower().removeprefix("gpu-") == torch_uuid


def test_process_share_works_or_says_unsupported(torch_cuda) -> None:
    s = _open(scope="process")
    try:
        load = Load(torch_cuda)
        load.busy(2.5)
        share = s.share(time.monotonic())
        text = s.attribution() or ""
        notes = " ".join(s.notes())
        print(f"share {share}; {text}")
        assert set(share) == {d.id for d in s.devices()}
        assert all(0.0 <= v <= 1.0 for v in share.values())
        if "gpu:0: SM utilisation" in text:
            assert share["gpu:0"] > 0.0  # this process drove the load
        else:
            assert "per-process utilisation is not available" in notes or "PID namespace" in notes or share["gpu:0"] > 0
    finally:
        s.close()
