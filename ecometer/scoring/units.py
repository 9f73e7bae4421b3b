"""Display units a standard may use, and how each converts from the SI unit used inside.

Inside ecometer every figure is SI: joules, watts, litres, grams CO2e, seconds. A standard
states its thresholds in a display unit (kWh, mL, kg ...); this one table converts between
them. The factors are definitions of the units (1 kWh = 3.6e6 J), not measured constants.
"""

from __future__ import annotations

from dataclasses import dataclass

#: dimension name -> the SI unit figures of that dimension are held in
SI_UNITS: dict[str, str] = {
    "energy": "J",
    "volume": "L",
    "mass": "g",
    "power": "W",
    "ratio": "1",
    "water_intensity": "L/J",
    "rate": "1/J",
}


@dataclass(frozen=True)
class Unit:
    """A display unit: ``value_si = value_display * factor``."""

    name: str
    dimension: str
    factor: float


_J_PER_WH = 3600.0

UNITS: dict[str, Unit] = {
    u.name: u
    for u in (
        # energy (SI: joule)
        Unit("mJ", "energy", 1e-3),
        Unit("J", "energy", 1.0),
        Unit("kJ", "energy", 1e3),
        Unit("MJ", "energy", 1e6),
        Unit("Wh", "energy", _J_PER_WH),
        Unit("kWh", "energy", _J_PER_WH * 1e3),
        Unit("MWh", "energy", _J_PER_WH * 1e6),
        # volume of water (SI inside ecometer: litre)
        Unit("mL", "volume", 1e-3),
        Unit("L", "volume", 1.0),
        Unit("m3", "volume", 1e3),
        # mass of CO2e (gram)
        Unit("mg", "mass", 1e-3),
        Unit("g", "mass", 1.0),
        Unit("kg", "mass", 1e3),
        Unit("t", "mass", 1e6),
        # power (watt)
        Unit("mW", "power", 1e-3),
        Unit("W", "power", 1.0),
        Unit("kW", "power", 1e3),
        # dimensionless ratio (PUE)
        Unit("1", "ratio", 1.0),
        # water per energy (WUE); SI inside: litre per joule
        Unit("L/kWh", "water_intensity", 1.0 / (_J_PER_WH * 1e3)),
        Unit("L/MWh", "water_intensity", 1.0 / (_J_PER_WH * 1e6)),
        Unit("mL/kWh", "water_intensity", 1e-3 / (_J_PER_WH * 1e3)),
        # work done per energy (throughput per joule)
        Unit("1/J", "rate", 1.0),
        Unit("1/kJ", "rate", 1e-3),
        Unit("1/Wh", "rate", 1.0 / _J_PER_WH),
        Unit("1/kWh", "rate", 1.0 / (_J_PER_WH * 1e3)),
    )
}


def units_of(dimension: str) -> list[str]:
    """Names of the display units of one dimension, in table order."""
    return [u.name for u in UNITS.values() if u.dimension == dimension]


def from_si(value: float, unit: str) -> float:
    """Convert ``value`` from the SI unit of ``unit``'s dimension into ``unit``."""
    return value / UNITS[unit].factor


def to_si(value: float, unit: str) -> float:
    """Convert ``value`` given in ``unit`` into the SI unit of its dimension."""
    return value * UNITS[unit].factor


def format_count(n: float) -> str:
    """``1000`` -> ``"1,000"``; ``1e9`` -> ``"1e9"``; ``2.5`` -> ``"2.5"``."""
    if float(n).is_integer() and abs(n) < 1e7:
        return f"{int(n):,}"
    mantissa, exponent = f"{n:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"
