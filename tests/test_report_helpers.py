"""Synthetic records for the report tests (no meter needed), plus checks of the helpers themselves."""

from __future__ import annotations

import math

from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, Phase, RunRecord, Span, Timeline


def make_record(
    name: str = "train-demo",
    *,
    seconds: int = 20,
    gpu_w: float = 250.0,
    cpu_w: float = 40.0,
    samples: float | None = 1000.0,
    footprint: bool = True,
    assessment: dict | None = None,
    meta: dict | None = None,
) -> RunRecord:
    """A finished record with a 10 Hz timeline, two phases and, optionally, a footprint."""
    t = [i * 0.1 + 0.05 for i in range(seconds * 10)]
    gpu = [gpu_w * (0.6 + 0.4 * math.sin(x / 2.0) ** 2) for x in t]
    cpu = [cpu_w * (0.8 + 0.2 * math.cos(x)) for x in t]
    dram = [5.0 for _ in t]
    e_gpu = sum(gpu) * 0.1
    e_cpu = sum(cpu) * 0.1
    e_dram = sum(dram) * 0.1
    half = seconds / 2
    rec = RunRecord(
        name=name,
        status="ok",
        started_at="2025-01-01T00:00:00Z",
        ended_at="2025-01-01T00:00:20Z",
        duration_s=float(seconds),
        components={
            "gpu": Component("gpu", e_gpu, "counter", Estimate.relative(e_gpu, 0.05, 0.05), {"gpu:0": e_gpu}, "nvml"),
            "cpu": Component("cpu", e_cpu, "modelled", Estimate.relative(e_cpu, 0.3, 0.3), {"cpu": e_cpu}, "model"),
            "dram": Component("dram", e_dram, "modelled", Estimate.relative(e_dram, 0.5, 0.5), {}, "model"),
        },
        phases={
            "load": Phase("load", (e_gpu + e_cpu) * 0.3, half, 1, {"gpu": e_gpu * 0.3, "cpu": e_cpu * 0.3}),
            "train": Phase("train", (e_gpu + e_cpu) * 0.7, half, 1, {"gpu": e_gpu * 0.7, "cpu": e_cpu * 0.7}),
            "forward": Phase("forward", e_gpu * 0.3, half / 2, 5, {"gpu": e_gpu * 0.3}),
        },
        timeline=Timeline(
            t_s=t,
            power_w={"gpu:0": gpu, "cpu": cpu, "dram": dram},
            spans=[Span("load", 0.0, half, 0), Span("train", half, float(seconds), 0)]
            + [Span("forward", half + i, half + i + 0.5, 1) for i in range(5)],
            bucket_s=0.1,
        ),
        host={"hostname": "box", "cpu_model": "Test CPU", "os": "Linux"},
        devices=[{"id": "gpu:0", "model": "Test GPU"}],
        meta=dict(meta or {}),
        warnings=["cpu power is modelled: no RAPL"],
        ecometer_version="0.0.test",
    )
    if samples is not None:
        rec.work = {"sample": samples}
        rec.work_unit = "sample"
    if footprint:
        e = rec.energy_j
        kwh = e / 3.6e6
        rec.attachments["footprint"] = {
            "facility_energy_j": {"central": e * 1.17, "low": e * 1.05, "high": e * 1.3},
            "water": {
                "onsite_l": {"central": kwh * 0.55, "low": kwh * 0.3, "high": kwh * 0.9},
                "offsite_l": {"central": kwh * 3.68, "low": kwh * 1.4, "high": kwh * 5.1},
                "total_l": {"central": kwh * 4.23, "low": kwh * 1.9, "high": kwh * 5.8},
                "withdrawal_l": None,
            },
            "carbon_g": {"central": kwh * 390, "low": kwh * 300, "high": kwh * 480},
            "site": {"name": "us-average", "pue": 1.17, "wue_l_per_kwh": 0.55},
            "assumptions": ["PUE 1.17 (Li et al. 2023, Table 1)", "EWIF 3.142 L/kWh (U.S. average)"],
        }
    if assessment is not None:
        rec.attachments["assessment"] = assessment
    return rec


def letter_assessment(grade: str = "C") -> dict:
    return {
        "standard": {"name": "ecometer-training", "version": "1"},
        "grade": grade,
        "labels": list("ABCDEFG"),
        "metrics": [
            {"name": "energy_per_sample", "value": 5.2, "unit": "J/sample", "grade": grade, "stable": True},
            {"name": "water_per_sample", "value": 0.006, "unit": "mL/sample", "grade": "B", "stable": False},
        ],
        "passed": True,
    }


def test_make_record_is_consistent():
    rec = make_record()
    assert math.isclose(rec.energy_j, sum(c.energy_j for c in rec.components.values()))
    assert RunRecord.from_dict(rec.to_dict()).energy_j == rec.energy_j
