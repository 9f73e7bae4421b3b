"""Impact: what a run's IT energy means at a site.

Facility energy, water (on-site and off-site, consumed and withdrawn) and carbon, with the
assumptions and their uncertainty stated:

    site = ecometer.Site.preset("us-average")          # or Site(pue=..., wue=..., country=...)
    fp = ecometer.footprint(record, site=site)          # or footprint(energy_kwh=..., site=...)
    fp.water.total_l, fp.water.total_l.low, fp.carbon_g, fp.assumptions
    fp.water.total_l.coverage, fp.water.total_l.basis   # 0.95, what the interval rests on

Every figure is an :class:`ecometer.Estimate`, propagated from the inputs' stated
distributions (see :mod:`ecometer.impact.propagation`). :func:`ecometer.footprint` is the plain
function :func:`ecometer.impact.compute.footprint`; this package holds its parts.

Importing this package registers the decoder for ``record.footprint``. Grid factors come from
ecometer's own data files, loaded the first time a country is used: no CodeCarbon, no pandas.

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`, :mod:`ecometer.record`.
"""

from __future__ import annotations

from ecometer.impact.compute import Footprint, footprint
from ecometer.impact.site import Site
from ecometer.record.model import register_attachment

__all__ = ["Site", "footprint", "Footprint"]

register_attachment("footprint", Footprint.from_dict)
