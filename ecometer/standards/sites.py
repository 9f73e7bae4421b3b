"""Footprints for scoring: a site's footprint, with a water figure the corpus reports kept.

Water metrics are graded from a reported figure when a corpus entry has one (the
publisher measured or modelled it), else from the site the record is scored at.
"""

from __future__ import annotations

import logging
from typing import Any

from ecometer.record.model import RunRecord
from ecometer.standards.reported import FOOTPRINT, reported_water

log = logging.getLogger(__name__)


def reference_site(std: Any) -> Any:
    """The :class:`~ecometer.impact.Site` a standard names as its reference (``reference_site``)."""
    from ecometer.errors import InputError
    from ecometer.impact import Site

    if not std.reference_site:
        raise InputError(
            f"{std.name} {std.version} names no reference site (standard.reference_site): grade at the run's "
            "site (--site ...) instead"
        )
    return Site.preset(std.reference_site)


def attach_footprint(record: RunRecord, site: Any) -> None:
    """Attach ``record``'s footprint at ``site``; a reported water figure replaces the site's."""
    from ecometer.impact import footprint

    data = footprint(record, site=site).to_dict()
    water = reported_water(record)
    if water is not None:
        data["water"]["total_l"] = {"central": water, "low": water, "high": water}
        for key in ("onsite_l", "offsite_l", "withdrawal_l", "onsite_withdrawal_l", "offsite_withdrawal_l"):
            data["water"].pop(key, None)  # the split of a reported total is unknown
        intensity = data.get("intensity")
        if isinstance(intensity, dict):  # water per joule of the site no longer describes the water graded
            for key in [k for k in intensity if k.startswith("water_")]:
                intensity.pop(key)
        data.setdefault("warnings", []).append("total water is the corpus's reported figure, not the site's")
        log.info("record %r: water graded from the reported figure, not the site", record.name)
    record.attach(FOOTPRINT, data)
