"""Plain-text summaries of a run (for terminals) and markdown tables (for comparisons)."""

from __future__ import annotations

import math

from ecometer.checks.text import display_text
from ecometer.record.model import RunRecord
from ecometer.record.units import Scale, count, fmt, kwh, number, pick_scale, relative_text
from ecometer.report.figures import (
    QuantityValue,
    component_energy,
    footprint_figure,
    it_energy,
    ordered_components,
    per_unit,
    site_description,
    work_unit,
)
from ecometer.report.grades import grade_view, probability_text
from ecometer.work.estimates import describe as describe_work


def relative(fig: QuantityValue) -> str:
    """The uncertainty relative to the figure: ``±5 %``, ``-35/+40 %`` where it is not symmetric, or ``exact``
    (:func:`ecometer.record.units.relative_text`, the one way ecometer writes it)."""
    return relative_text(fig.central, fig.low, fig.high)


def _scale(fig: QuantityValue) -> tuple[Scale, str]:
    """The display scale chosen for ``fig``'s central value, and its symbol with the per-unit tail."""
    scale = pick_scale(fig.kind, fig.central if fig.central and math.isfinite(fig.central) else fig.high)
    tail = fig.unit.split("/", 1)[1] if "/" in fig.unit else ""
    return scale, (f"{scale.symbol}/{tail}" if tail else scale.symbol)


def value_text(fig: QuantityValue) -> str:
    """``"53.7 kJ"``: the central value in a readable scale (``n/a`` when not a finite number)."""
    scale, symbol = _scale(fig)
    text = number(scale(fig.central))
    return text if text == "n/a" else f"{text} {symbol}"


def interval_text(fig: QuantityValue) -> str:
    """``"50.7 – 56.7 kJ"`` in the central value's scale; empty when exact or not finite."""
    if fig.exact or not all(math.isfinite(v) for v in (fig.central, fig.low, fig.high)):
        return ""
    scale, symbol = _scale(fig)
    return f"{number(scale(fig.low))} – {number(scale(fig.high))} {symbol}"


def short_claim(fig: QuantityValue) -> str:
    """The interval's claim for one line of text: ``95 %``, ``stated bound``, ``coverage not stated``."""
    claim = fig.claim
    return claim.removesuffix(" interval") if claim.endswith("% interval") else claim


def figure_text(fig: QuantityValue) -> str:
    """``"53.7 kJ (50.7–56.7 kJ, 95 %)"``: value, interval and coverage, compactly."""
    interval = interval_text(fig)
    if not interval:
        return value_text(fig)
    return f"{value_text(fig)} ({interval.replace(' – ', '–')}, {short_claim(fig)})"


def summary(record: RunRecord) -> str:
    """A few lines: status, duration, energy per component, water, carbon, per unit, grade."""
    lines = [f"{record.name}: {record.status}, {fmt('time', record.duration_s)}"]
    e = it_energy(record)
    lines.append(f"  IT energy  {figure_text(e)} = {number(kwh(e.central))} kWh")
    for name in ordered_components(record):
        c = component_energy(record, name)
        claim = short_claim(c) if not c.exact else ""
        lines.append(f"    {name.upper():<5} {value_text(c):>10}  {relative(c):>9} {claim:<13} {c.method}".rstrip())
    fac = footprint_figure(record, "facility_energy_j")
    if fac is not None:
        lines.append(f"  facility   {figure_text(fac)} (with the site's PUE)")
    water = footprint_figure(record, "water_total_l")
    if water is not None:
        parts = []
        for key, label in (("water_onsite_l", "on-site"), ("water_offsite_l", "off-site")):
            f = footprint_figure(record, key)
            if f is not None:
                parts.append(f"{fmt('water', f.central)} {label}")
        site = site_description(record).get("name")
        tail = f" at {site}" if site else ""
        lines.append(f"  water      {figure_text(water)} consumed{tail}")
        if parts:
            lines.append(f"             ({' + '.join(parts)})")
    carbon = footprint_figure(record, "carbon_g")
    if carbon is not None:
        lines.append(f"  carbon     {figure_text(carbon)}")
    wu = work_unit(record)
    if wu is not None:
        per = {f.key: f for f in per_unit(record)}
        bits = [fmt("energy", per["it_energy_j_per_unit"].central)]
        if "water_total_l_per_unit" in per:
            bits.append(f"{fmt('water', per['water_total_l_per_unit'].central)} water")
        if "carbon_g_per_unit" in per:
            bits.append(fmt("carbon", per["carbon_g_per_unit"].central))
        lines.append(f"  per {wu[0]}: {', '.join(bits)}  ({count(wu[1])} {describe_work(record, wu[0])})")
    view = grade_view(record)
    if view is not None:
        verdict = "" if view.passed is None else ("; hard limits passed" if view.passed else "; FAILED hard limits")
        odds = probability_text(view.probabilities, view.labels)
        odds = f": {odds}" if odds else ""
        if view.grade is not None:
            lines.append(f"  grade      {view.grade} ({view.standard}{odds}){verdict}")
        else:
            hint = f", indicative {view.indicative}" if view.indicative else ""
            lines.append(f"  grade      not rated ({view.standard}{hint}){verdict}")
            lines += [f"             - {reason}" for reason in view.not_rated]
            lines += [f"             to be rated: {step}" for step in view.to_be_rated]
    if record.warnings:
        lines.append(f"  {len(record.warnings)} warning(s); see the record or the report")
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table; ``|`` in cells is escaped, newlines flattened, hidden
    characters shown as escapes (:func:`~ecometer.checks.text.display_text`)."""

    def cell(text: str) -> str:
        return display_text(" ".join(str(text).split())).replace("|", "\\|")

    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
