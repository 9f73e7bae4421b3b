"""Units: the one place where SI figures are converted, for standards and for people to read.

Inside ecometer every figure is SI (J, W, s, L, g CO2e); these convert at the edges only. The
factors are definitions of units (1 Wh = 3,600 J), not measured constants.

- conversion factors (``J_PER_KWH`` ...);
- :data:`UNITS`: the display units a standard may state thresholds in, with :func:`to_si` and
  :func:`from_si`;
- :func:`pick_scale` and :func:`fmt`: one readable scale for a chart axis or a table cell;
- :func:`relative_text`: the one way an uncertainty is written relative to its figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecometer.record.estimate import Estimate

# energy
J_PER_WH = 3600.0  # 1 W x 1 h
J_PER_KWH = 1e3 * J_PER_WH  # 3.6e6 J
J_PER_MWH = 1e6 * J_PER_WH  # 3.6e9 J

# volume (the litre is the water unit inside ecometer)
L_PER_ML = 1e-3  # millilitre (mL)
L_PER_M3 = 1e3
L_PER_MEGALITRE = 1e6  # megalitre (ML)

# mass (the gram CO2e is the carbon unit inside ecometer)
G_PER_MG = 1e-3
G_PER_KG = 1e3
G_PER_T = 1e6

# time
S_PER_MIN = 60.0
S_PER_H = 3600.0

if TYPE_CHECKING:
    from ecometer.record.estimate import Estimate


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


#: quantity kind -> [(factor from the SI unit, symbol)], largest first
SCALES: dict[str, list[tuple[float, str]]] = {
    "energy": [(1e9, "GJ"), (1e6, "MJ"), (1e3, "kJ"), (1.0, "J"), (1e-3, "mJ")],
    "power": [(1e6, "MW"), (1e3, "kW"), (1.0, "W"), (1e-3, "mW")],
    "water": [(1e3, "m³"), (1.0, "L"), (1e-3, "mL"), (1e-6, "µL"), (1e-9, "nL")],
    "carbon": [(1e6, "t CO2e"), (1e3, "kg CO2e"), (1.0, "g CO2e"), (1e-3, "mg CO2e"), (1e-6, "µg CO2e")],
    "time": [(S_PER_H, "h"), (S_PER_MIN, "min"), (1.0, "s"), (1e-3, "ms"), (1e-6, "µs")],
}

#: SI unit of each kind (what the record stores)
SI_UNIT = {"energy": "J", "power": "W", "water": "L", "carbon": "g CO2e", "time": "s"}


@dataclass(frozen=True)
class Scale:
    """Multiply an SI value by ``1 / factor`` to express it in ``symbol``."""

    factor: float
    symbol: str

    def __call__(self, value: float) -> float:
        return value / self.factor


def pick_scale(kind: str, values: list[float] | tuple[float, ...] | float) -> Scale:
    """The largest scale of ``kind`` not bigger than the largest magnitude among ``values``.

    Minutes and hours are used for time only from 2 min / 2 h, so that short runs stay in s.
    """
    if kind not in SCALES:
        return Scale(1.0, kind)
    vals = [values] if isinstance(values, (int, float)) else list(values)
    finite = [abs(v) for v in vals if v is not None and math.isfinite(v)]
    top = max(finite, default=0.0)
    options = SCALES[kind]
    if top == 0.0:
        return Scale(1.0, SI_UNIT[kind])
    for factor, symbol in options:
        threshold = factor * (2.0 if kind == "time" and factor > 1.0 else 1.0)
        if top >= threshold:
            return Scale(factor, symbol)
    factor, symbol = options[-1]
    return Scale(factor, symbol)


def number(value: float, digits: int = 3) -> str:
    """``value`` with about ``digits`` significant figures, no exponent for everyday sizes."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    mag = math.floor(math.log10(abs(value)))
    value = round(value, digits - 1 - mag)  # 9.9996 -> 10.0: the magnitude after rounding decides
    if value == 0:
        return "0"
    mag = math.floor(math.log10(abs(value)))
    if mag >= 6 or mag < -4:
        return f"{value:.{max(digits - 1, 0)}e}"
    decimals = max(digits - 1 - mag, 0)
    return f"{value:,.{decimals}f}"


def count(value: float) -> str:
    """A count of work: exact with thousands separators when whole (``16,384``), else 3 figures."""
    if isinstance(value, (int, float)) and math.isfinite(value) and float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return number(value)


def fmt(kind: str, value: float | None, digits: int = 3) -> str:
    """One SI value of ``kind`` written with a readable scale, e.g. ``fmt("energy", 12500)`` -> ``12.5 kJ``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    scale = pick_scale(kind, value)
    return f"{number(scale(value), digits)} {scale.symbol}"


def fmt_range(kind: str, central: float, low: float, high: float, digits: int = 3) -> str:
    """``central unit (low–high unit)`` in one scale chosen for ``central``; bounds omitted when equal."""
    scale = pick_scale(kind, central if central else max(abs(low), abs(high)))
    text = f"{number(scale(central), digits)} {scale.symbol}"
    if low != high:
        text += f" ({number(scale(low), digits)}–{number(scale(high), digits)} {scale.symbol})"
    return text


def relative_text(central: float, low: float, high: float) -> str:
    """The one way ecometer writes an interval relative to its central value: ``±5 %`` when it is
    symmetric (to the figure shown), else ``-36/+41 %``; ``exact`` when it has no width, ``n/a``
    when the central value is zero or not finite."""
    if low == high:
        return "exact"
    if not central or not all(math.isfinite(v) for v in (central, low, high)):
        return "n/a"
    with_overflow = 100 * (central - low) / abs(central), 100 * (high - central) / abs(central)
    if not all(math.isfinite(v) for v in with_overflow):
        return "n/a"
    down, up = (_percent(v) for v in with_overflow)
    return f"±{up} %" if down == up else f"-{down}/+{up} %"


def _percent(value: float) -> str:
    """A percentage to two significant figures, no trailing zeros: ``5``, ``0.45``, ``36``, ``1,500``."""
    v = abs(float(number(value, 2).replace(",", "")))
    return f"{v:,.0f}" if v >= 10 else f"{v:g}"


def kwh(energy_j: float) -> float:
    """Joules to kilowatt-hours."""
    return energy_j / J_PER_KWH
