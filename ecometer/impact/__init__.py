"""Footprint of a run: facility energy, water (on-site and off-site, consumed and withdrawn)
and carbon, with the assumptions and their uncertainty stated.

    site = ecometer.Site.preset("us-average")          # or Site(pue=..., wue=..., country=...)
    fp = ecometer.footprint(record, site=site)          # or footprint(energy_kwh=..., site=...)
    fp.water.total_l, fp.water.total_l.low, fp.carbon_g, fp.assumptions
    fp.water.total_l.coverage, fp.water.total_l.basis   # 0.95, what the interval rests on
    ecometer.footprint(record, site=site, bounds="envelope")  # every low / every high together

Every figure is an :class:`ecometer.Estimate`, propagated by Monte Carlo from the inputs'
stated distributions (see :mod:`ecometer.footprint.propagation`).

``ecometer.footprint`` is this package and, called, the :func:`footprint` function: both
``ecometer.footprint(record, site=...)`` and ``ecometer.footprint.Site`` work, however the
package was first imported.

Importing this package registers the decoder for ``record.footprint``. Grid factors come from
ecometer's own data files (published national factors, and a generation mix per country copied
from a pinned CodeCarbon), loaded the first time a country is used: no CodeCarbon, no pandas.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ecometer.footprint.compute import Footprint, footprint
from ecometer.footprint.site import Site
from ecometer.record import register_attachment

__all__ = ["Site", "footprint", "Footprint"]

register_attachment("footprint", Footprint.from_dict)


class _FootprintPackage(types.ModuleType):
    """The package object, callable as :func:`footprint` (``ecometer.footprint(record, site=...)``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Footprint:
        return footprint(*args, **kwargs)


sys.modules[__name__].__class__ = _FootprintPackage
