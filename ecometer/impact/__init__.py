"""Footprint of a run: facility energy, water (on-site and off-site, consumed and withdrawn)
and carbon, with the assumptions and their uncertainty stated.

    site = ecometer.Site.preset("us-average")          # or Site(pue=..., wue=..., country=...)
    fp = ecometer.footprint(record, site=site)          # or footprint(energy_kwh=..., site=...)
    fp.water.total_l, fp.water.total_l.low, fp.carbon_g, fp.assumptions

Importing this package registers the decoder for ``record.footprint``. It imports no
CodeCarbon: the grid data is loaded the first time a country is used.
"""

from __future__ import annotations

from ecometer.impact.footprint import Footprint, footprint
from ecometer.impact.site import Site
from ecometer.record import register_attachment

__all__ = ["Site", "footprint", "Footprint"]

register_attachment("footprint", Footprint.from_dict)
