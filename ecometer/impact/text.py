"""Human-readable footprint: a short aligned table with units chosen to fit the numbers."""

from __future__ import annotations

from typing import Any

from ecometer.record.estimate import Estimate
from ecometer.record.units import G_PER_KG, G_PER_MG, J_PER_KWH, J_PER_MWH, J_PER_WH, L_PER_MEGALITRE, L_PER_ML


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _pick(value: float, units: list[tuple[float, str, float]]) -> tuple[float, str]:
    """(divisor, unit) of the largest unit in which ``value`` reads at least that unit's threshold."""
    for div, unit, threshold in units:
        if abs(value) / div >= threshold:
            return div, unit
    return units[-1][0], units[-1][1]


# (divisor from SI, unit, smallest reading shown in that unit)
ENERGY_UNITS = [(J_PER_MWH, "MWh", 1.0), (J_PER_KWH, "kWh", 1.0), (J_PER_WH, "Wh", 1.0), (1.0, "J", 0.0)]
WATER_UNITS = [(L_PER_MEGALITRE, "ML", 0.1), (1.0, "L", 0.1), (L_PER_ML, "mL", 0.0)]
CARBON_UNITS = [(G_PER_KG, "kg CO2e", 1.0), (1.0, "g CO2e", 1.0), (G_PER_MG, "mg CO2e", 0.0)]


def claim(fig: Estimate) -> str:
    """What an interval claims, briefly: ``95 %``, ``stated bound``, ``envelope``, ``coverage not stated``."""
    if fig.distribution == "envelope":
        return "envelope"
    if fig.coverage is None:
        return "coverage not stated"
    if fig.coverage >= 1.0:
        return "stated bound"
    return f"{fig.coverage:.0%}"


def fmt(fig: Estimate | None, units: list[tuple[float, str, float]]) -> tuple[str, str]:
    """(central with unit, range with unit and what it claims) of a figure, in one unit chosen
    from its central value."""
    if fig is None:
        return "not computed", ""
    div, unit = _pick(fig.central, units)
    central = f"{_num(fig.central / div)} {unit}"
    if fig.low == fig.high == fig.central:
        return central, "(no range)"
    return central, f"{_num(fig.low / div)} .. {_num(fig.high / div)} {unit} ({claim(fig)})"


def _short(text: str, width: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def format_footprint(fp: Any, *, assumptions: bool = True, warnings: bool = True) -> str:
    """The footprint as an aligned table, then its assumptions and (optionally) warnings."""
    site = fp.site or {}
    rows = [
        ("IT energy", fmt(fp.it_energy_j, ENERGY_UNITS)),
        ("facility energy", fmt(fp.facility_energy_j, ENERGY_UNITS)),
        ("water on-site", fmt(fp.water.onsite_l, WATER_UNITS)),
        ("water off-site", fmt(fp.water.offsite_l, WATER_UNITS)),
        ("water consumed", fmt(fp.water.total_l, WATER_UNITS)),
        ("water withdrawn", fmt(fp.water.withdrawal_l, WATER_UNITS)),
        ("carbon", fmt(fp.carbon_g, CARBON_UNITS)),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1][0]) for r in rows)
    lines = [
        f"footprint at {site.get('name') or _region_label(site)}" + (f" ({site['country']})" if site.get("country") else "")
    ]
    how = "envelope: every input at its low / high together" if fp.bounds == "envelope" else "interval (coverage)"
    lines.append(f"  {'':<{w0}}  {'central':>{w1}}  low .. high {how}")
    for label, (central, rng) in rows:
        lines.append(f"  {label:<{w0}}  {central:>{w1}}  {rng}".rstrip())
    if assumptions:
        lines.append("assumptions:")
        for a in fp.assumptions:
            if a.unit == "J" and isinstance(a.value, (int, float)):
                est = a.estimate
                central, rng = fmt(est, ENERGY_UNITS)
                lines.append(
                    f"  {a.name} = {central}{'' if est.is_exact else ' [' + rng + ']'}  ({_short(a.source, 60)})"
                )
                continue
            if isinstance(a.value, float):
                value = _num(a.value)
            elif a.value is None:
                lines.append(f"  {a.name}: not computed  ({_short(a.note, 90)})")
                continue
            elif isinstance(a.value, (list, dict)):
                value = _short(a.value, 40)
            else:
                value = str(a.value)
            est = a.estimate
            rng = f" [{_num(a.low)} .. {_num(a.high)}, {a.distribution or 'uniform'} {claim(est)}]" if (
                est is not None and not est.is_exact
            ) else ""
            unit = f" {a.unit}" if a.unit else ""
            lines.append(f"  {a.name} = {value}{unit}{rng}  ({_short(a.source, 60)})")
    if warnings:
        lines.extend(f"warning: {w}" for w in fp.warnings)
    return "\n".join(lines)


def _region_label(site: dict) -> str:
    return f"region {site['region']}" if site.get("region") else "custom site"
