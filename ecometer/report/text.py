"""Plain-text summaries of a run (for terminals) and markdown tables (for comparisons)."""

from __future__ import annotations

from ecometer.record import RunRecord
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
from ecometer.report.grades import grade_view
from ecometer.units import count, fmt, fmt_range, kwh, number


def relative(fig: QuantityValue) -> str:
    """Half-width of the uncertainty in percent, or ``exact``."""
    if fig.low == fig.high:
        return "exact"
    if fig.central == 0:
        return "n/a"
    return f"±{number(100 * (fig.high - fig.low) / (2 * abs(fig.central)), 2)} %"


def summary(record: RunRecord) -> str:
    """A few lines: status, duration, energy per component, water, carbon, per unit, grade."""
    lines = [f"{record.name}: {record.status}, {fmt('time', record.duration_s)}"]
    e = it_energy(record)
    lines.append(f"  IT energy  {fmt_range('energy', e.central, e.low, e.high)} = {number(kwh(e.central))} kWh")
    for name in ordered_components(record):
        c = component_energy(record, name)
        lines.append(f"    {name.upper():<5} {fmt('energy', c.central):>10}  {relative(c):>9}  {c.method}")
    fac = footprint_figure(record, "facility_energy_j")
    if fac is not None:
        lines.append(f"  facility   {fmt_range('energy', fac.central, fac.low, fac.high)} (with the site's PUE)")
    water = footprint_figure(record, "water_total_l")
    if water is not None:
        parts = []
        for key, label in (("water_onsite_l", "on-site"), ("water_offsite_l", "off-site")):
            f = footprint_figure(record, key)
            if f is not None:
                parts.append(f"{fmt('water', f.central)} {label}")
        site = site_description(record).get("name")
        tail = f" at {site}" if site else ""
        lines.append(f"  water      {fmt_range('water', water.central, water.low, water.high)} consumed{tail}")
        if parts:
            lines.append(f"             ({' + '.join(parts)})")
    carbon = footprint_figure(record, "carbon_g")
    if carbon is not None:
        lines.append(f"  carbon     {fmt_range('carbon', carbon.central, carbon.low, carbon.high)}")
    wu = work_unit(record)
    if wu is not None:
        per = {f.key: f for f in per_unit(record)}
        bits = [fmt("energy", per["it_energy_j_per_unit"].central)]
        if "water_total_l_per_unit" in per:
            bits.append(f"{fmt('water', per['water_total_l_per_unit'].central)} water")
        if "carbon_g_per_unit" in per:
            bits.append(fmt("carbon", per["carbon_g_per_unit"].central))
        lines.append(f"  per {wu[0]}: {', '.join(bits)}  ({count(wu[1])} counted)")
    view = grade_view(record)
    if view is not None:
        verdict = "" if view.passed is None else ("; hard limits passed" if view.passed else "; FAILED hard limits")
        if view.grade is not None:
            lines.append(f"  grade      {view.grade} ({view.standard}){verdict}")
        else:
            hint = f", indicative {view.indicative}" if view.indicative else ""
            lines.append(f"  grade      not rated ({view.standard}{hint}){verdict}")
            lines += [f"             - {reason}" for reason in view.not_rated]
    if record.warnings:
        lines.append(f"  {len(record.warnings)} warning(s); see the record or the report")
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table; ``|`` in cells is escaped, newlines flattened."""

    def cell(text: str) -> str:
        return " ".join(str(text).split()).replace("|", "\\|")

    out = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(out)
