"""A cloud region's own published data-centre figures (PUE per campus or geography), where they exist.

Read from ``ecometer/data/cloud_region_efficiency.json`` only when a cloud region is resolved.
A region's figure is the mean of the published figures of the facilities that serve it, bounded
by the smallest and largest of them widened by the publication's rounding (half the last digit):
a stated span (``uniform``, coverage 1), not a statistical interval. Regions without a figure of
their own take their provider's fleet preset, whose spread covers the provider's published regions
(``site_presets.json``).
"""

from __future__ import annotations

from typing import Any

from ecometer.files import datafiles

FIELDS = ("pue",)


def region_figures(key: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Field -> (the region's figure as an Estimate dict, its provenance); empty when none is published."""
    data = datafiles.load("cloud_region_efficiency")
    entry = data["regions"].get(key)
    if entry is None:
        return {}
    half = float(data["rounding"])
    out = {}
    for fname in FIELDS:
        spec = entry.get(fname)
        if spec is None:
            continue
        values = [float(v) for v in spec["values"]]
        central = sum(values) / len(values)
        facilities = ", ".join(spec["campus"]) if isinstance(spec["campus"], list) else spec["campus"]
        src = data["sources"][spec["source"]]
        basis = (
            f"{key}'s own published figure: {facilities} ({', '.join(f'{v:.2f}' for v in values)}); "
            f"span of the facilities widened by the rounding (+-{half:g})"
        )
        estimate = {
            "central": round(central, 4),
            "low": round(min(values) - half, 4),
            "high": round(max(values) + half, 4),
            "distribution": "uniform",
            "coverage": 1.0,
            "basis": basis,
        }
        provenance = {
            "source": src["citation"],
            "source_id": spec["source"],
            "year": src["year"],
            "licence": src["licence"],
            "region": key,
            "note": f"the region's own published figure ({facilities})" + (f"; {spec['note']}" if spec.get("note") else ""),
        }
        out[fname] = (estimate, provenance)
    return out
