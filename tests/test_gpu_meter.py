"""The meter end to end on a real NVIDIA GPU (skipped cleanly where there is none).

Run on a GPU machine: ``pytest tests/test_gpu_meter.py -m gpu -v -s`` (``-s`` prints figures).
"""

from __future__ import annotations

import time

import pytest

import ecometer

pytestmark = pytest.mark.gpu


@pytest.fixture(scope="module")
def cuda():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here: no GPU load can be generated")
    pynvml = pytest.importorskip("pynvml")
    pynvml.nvmlInit()
    handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())  # no CUDA_VISIBLE_DEVICES set
    a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    yield torch, pynvml, handle, a
    pynvml.nvmlShutdown()


def busy(torch, a, seconds: float, duty: float = 1.0, period_s: float = 0.2) -> int:
    """bf16 matmuls for ``seconds``; with ``duty`` < 1, bursts alternate with idle gaps."""
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        burst_end = time.monotonic() + period_s * duty
        while time.monotonic() < burst_end:
            a @ a
            n += 1
            torch.cuda.synchronize()
        if duty < 1.0:
            time.sleep(period_s * (1 - duty))
    return n


def counter_j(pynvml, handle) -> float:
    return pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1000.0


def test_run_total_matches_counter_around_window(cuda):
    torch, pynvml, handle, a = cuda
    torch.cuda.synchronize()
    before = counter_j(pynvml, handle)
    with ecometer.measure("gpu-total", out=None, gpus=[0]) as m:
        work = busy(torch, a, 3.0)
        m.add_work(work, "matmul")
    after = counter_j(pynvml, handle)
    rec = m.record
    gpu = rec.components["gpu"]
    reference = after - before
    err = gpu.energy_j / reference - 1
    dev = rec.devices[0]
    timeline_err = dev["integrated_j"] / dev["counter_j"] - 1
    print(f"\nrun total {gpu.energy_j:.1f} J vs counter around it {reference:.1f} J: {err:+.3%}")
    print(f"integrated timeline vs counter: {timeline_err:+.2%}; method {gpu.method}")
    assert gpu.method == "counter"
    # The meter's reads sit a few ms inside the outer reads. The counter advances about every
    # 100 ms, so the two can differ by one step when an update falls between them.
    assert abs(gpu.energy_j - reference) <= 0.12 * rec.average_power_w + 0.001 * reference
    # The driver's power samples lag the load (Yang et al., SC'24): on a 3 s run that starts
    # from idle the raw integral read 5-10 % low on an H100 (2026-11-23). Totals and the
    # timeline shown are calibrated to the counter; this raw figure is a diagnostic.
    assert abs(timeline_err) < 0.15


def test_phases_partition_bursty_run(cuda):
    torch, pynvml, handle, a = cuda
    with ecometer.measure("gpu-phases", out=None, gpus=[0]) as m:
        for _ in range(3):
            with m.phase("busy"):
                busy(torch, a, 0.6)
            with m.phase("idle"):
                time.sleep(0.6)
    rec = m.record
    busy_j, idle_j = rec.phases["busy"].components["gpu"], rec.phases["idle"].components["gpu"]
    covered = busy_j + idle_j
    print(f"\nbusy {busy_j:.1f} J, idle {idle_j:.1f} J, total {rec.components['gpu'].energy_j:.1f} J")
    # the GPU keeps drawing a power tail after each burst, so "idle" is not idle power
    assert busy_j / rec.phases["busy"].duration_s > 1.2 * idle_j / rec.phases["idle"].duration_s
    assert covered == pytest.approx(rec.components["gpu"].energy_j, rel=0.05)


def test_exact_phase_matches_counter(cuda):
    torch, pynvml, handle, a = cuda
    with ecometer.measure("gpu-exact", out=None, gpus=[0]) as m:
        busy(torch, a, 0.3)
        torch.cuda.synchronize()
        before = counter_j(pynvml, handle)
        with m.phase("window", exact=True):
            busy(torch, a, 1.5, duty=0.5)
        after = counter_j(pynvml, handle)
    window = m.record.phases["window"]
    reference = after - before
    print(f"\nexact 1.5 s window {window.energy_j:.1f} J vs counter around it {reference:.1f} J")
    # equal but for one counter step (about 100 ms of power) when an update falls between reads
    assert abs(window.energy_j - reference) <= 0.12 * window.energy_j / window.duration_s + 0.001 * reference
