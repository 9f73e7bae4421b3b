"""Display units: the only place where SI figures are converted for people to read.

Inside ecometer every figure is SI (J, W, s, L, g CO2e). A chart axis or a table cell picks
one readable scale for a set of values (``kJ`` for thousands of joules, ``mL`` for
thousandths of a litre) with :func:`pick_scale`, and :func:`fmt` writes one value with the
scale that suits it. These are definitions of units, not shipped constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecometer.units import J_PER_KWH, S_PER_H, S_PER_MIN

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


def kwh(energy_j: float) -> float:
    """Joules to kilowatt-hours."""
    return energy_j / J_PER_KWH
