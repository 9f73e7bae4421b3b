"""Figures a publisher reported (corpus entries): the method name and the reported water footprint.

Shared by the table importer (:mod:`~ecometer.standards.tables`), which attaches them, and the
scoring footprint (:mod:`~ecometer.standards.sites`), which grades water from them.
"""

from __future__ import annotations

from typing import Any

from ecometer.record.model import RunRecord

#: the method of a figure copied from a published table (one of the record's METHODS)
REPORTED = "reported"
#: the attachment key of a footprint
FOOTPRINT = "footprint"


def reported_water(record: RunRecord) -> float | None:
    """The total water (L) a corpus entry reports, or None."""
    value = record.attachments.get(REPORTED, {}).get("water_total_l")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def reported_water_footprint(name: str, source: dict[str, str], water_l: float) -> dict[str, Any]:
    """A footprint holding only entry ``name``'s reported water figure (what water quantities read)."""
    return {
        "method": REPORTED,
        "water": {"total_l": {"central": water_l, "low": water_l, "high": water_l}},
        "assumptions": [{"name": "water_total_l", "value": water_l, "unit": "L", "source": source, "note": "reported"}],
    }
