"""Display units a standard may use, and how each converts from the SI unit used inside.

Inside ecometer every figure is SI: joules, watts, litres, grams CO2e, seconds. A standard
states its thresholds in a display unit (kWh, mL, kg ...); this one table converts between
them. The factors are definitions of the units (1 kWh = 3.6e6 J), not measured constants.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecometer.units import G_PER_KG, G_PER_MG, G_PER_T, J_PER_KWH, J_PER_MWH, J_PER_WH, L_PER_M3, L_PER_ML

if TYPE_CHECKING:
    from ecometer.record import Estimate


@dataclass(frozen=True)
class Unit:
    """A display unit: ``value_si = value_display * factor``."""

    name: str
    dimension: str
    factor: float


UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        # energy (SI: joule)
        Unit("mJ", "energy", 1e-3),
        Unit("J", "energy", 1.0),
        Unit("kJ", "energy", 1e3),
        Unit("MJ", "energy", 1e6),
        Unit("Wh", "energy", J_PER_WH),
        Unit("kWh", "energy", J_PER_KWH),
        Unit("MWh", "energy", J_PER_MWH),
        # volume of water (SI inside ecometer: litre)
        Unit("mL", "volume", L_PER_ML),
        Unit("L", "volume", 1.0),
        Unit("m3", "volume", L_PER_M3),
        # mass of CO2e (gram)
        Unit("mg", "mass", G_PER_MG),
        Unit("g", "mass", 1.0),
        Unit("kg", "mass", G_PER_KG),
        Unit("t", "mass", G_PER_T),
        # power (watt)
        Unit("mW", "power", 1e-3),
        Unit("W", "power", 1.0),
        Unit("kW", "power", 1e3),
        # dimensionless ratio (PUE)
        Unit("1", "ratio", 1.0),
        # water per energy (WUE); SI inside: litre per joule
        Unit("L/kWh", "water_intensity", 1.0 / J_PER_KWH),
        Unit("L/MWh", "water_intensity", 1.0 / J_PER_MWH),
        Unit("mL/kWh", "water_intensity", L_PER_ML / J_PER_KWH),
        # work done per energy (throughput per joule)
        Unit("1/J", "rate", 1.0),
        Unit("1/kJ", "rate", 1e-3),
        Unit("1/Wh", "rate", 1.0 / J_PER_WH),
        Unit("1/kWh", "rate", 1.0 / J_PER_KWH),
    )
}


def units_of(dimension: str) -> list[str]:
    """Names of the display units of one dimension, in table order."""
    return [u.name for u in UNITS.values() if u.dimension == dimension]


def from_si(value: Estimate, unit: str) -> Estimate:
    """Convert ``value`` (central, low, high) from the SI unit of ``unit``'s dimension into ``unit``."""
    return value.scaled(1.0 / UNITS[unit].factor)


def to_si(value: Estimate, unit: str) -> Estimate:
    """Convert ``value`` (central, low, high) given in ``unit`` into the SI unit of its dimension."""
    return value.scaled(UNITS[unit].factor)


def format_count(n: float) -> str:
    """``1000`` -> ``"1,000"``; ``1e9`` -> ``"1e9"``; ``2.5`` -> ``"2.5"``."""
    if float(n).is_integer() and abs(n) < 1e7:
        return f"{int(n):,}"
    mantissa, exponent = f"{n:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"
