"""Per-country water factors of thermal generation from cooling shares (``cooling_water.json``).

A thermal source's factor in a country (L per kWh generated) is the sum over cooling types
(once-through fresh, recirculating, once-through sea water, dry) of the country's share of that
cooling type for the source (MESSAGEix-Nexus, from the Platts WEPP database) times the factor of
the technology with that cooling (Macknick et al. 2012 as tabulated in GCAM). A country absent
from MESSAGEix, or without plants of a source, takes the unweighted mean shares of the others.
"""

from __future__ import annotations

import functools

from ecometer.files import datafiles

KINDS = ("consumption", "withdrawal")


def covered(country: str) -> bool:
    """Whether MESSAGEix has cooling shares for ``country`` (ISO alpha-3)."""
    return country in datafiles.load("cooling_water")["countries"]


@functools.cache
def source_factors(country: str | None, kind: str) -> dict[str, float]:
    """L/kWh per generation source except hydropower (``kind``: consumption or withdrawal)."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {KINDS}")
    data = datafiles.load("cooling_water")
    own = data["countries"].get(country or "", {})
    out = {}
    for key, by_cooling in data["factors_l_per_kwh"].items():
        shares = own.get(key) or data["world_mean_shares"][key]
        out[key] = sum(share * float(by_cooling[c][kind]) for c, share in shares.items())
    for key, row in data["other_factors_l_per_kwh"].items():
        out[key] = float(row[kind])
    return out
