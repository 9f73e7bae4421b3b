"""Figures a publisher reported (corpus entries): the method name, whether a record is one, its
publisher, and the reported water footprint.

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


def is_reported(record: RunRecord) -> bool:
    """Whether the record's energy is a published figure (every component ``reported``)."""
    return bool(record.components) and all(c.method == REPORTED for c in record.components.values())


def reported_source(record: RunRecord) -> str:
    """Who published a reported record's figures (empty for a measured record)."""
    comps = [c.source for c in record.components.values() if c.method == REPORTED and c.source]
    return comps[0] if comps else ""


def reported_publisher(record: RunRecord) -> str:
    """The publisher of a reported record's figures (or its whole source line when unnamed)."""
    source = record.attachments.get(REPORTED, {}).get("source") or {}
    return str(source.get("publisher") or reported_source(record) or "a publisher")
