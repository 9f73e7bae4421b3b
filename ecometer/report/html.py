"""A self-contained HTML report of one run, and the PNG charts beside it.

The page has no script and loads nothing: charts are embedded as base64 ``data:`` URIs and
a Content-Security-Policy forbids everything else, so the file can be mailed or attached to
a CI run and opened anywhere. Every string that comes from a record (run name, phase names,
metadata, warnings, host facts) is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecometer.checks.text import display_text
from ecometer.files.atomic import write_atomic
from ecometer.record.model import RunRecord
from ecometer.record.quantities import estimate, footprint_data
from ecometer.record.units import count, fmt, number
from ecometer.report import charts, label
from ecometer.report.figures import (
    QuantityValue,
    component_energy,
    data_problems,
    footprint_assumptions,
    headline,
    ordered_components,
    per_unit,
    site_description,
    work_unit,
)
from ecometer.report.grades import GradeView, grade_view, metric_title, probability_text
from ecometer.report.style import grade_colour, text_colour_on
from ecometer.report.text import interval_text, relative, value_text
from ecometer.work.estimates import describe as describe_work

log = logging.getLogger("ecometer.report")

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;background:#f4f5f7;color:#1d1d1f}
main{max-width:1080px;margin:0 auto;padding:24px;box-sizing:border-box}
header h1{margin:0 0 4px;font-size:26px;overflow-wrap:anywhere}
.sub{color:#555;margin:0}
section{background:#fff;border-radius:10px;padding:18px 22px;margin:18px 0;box-shadow:0 1px 3px rgba(0,0,0,.08);min-width:0}
h2{font-size:18px;margin:0 0 12px}h3{font-size:15px;margin:16px 0 8px}
.top{display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap}
.top .label{flex:0 1 300px;min-width:0}.top .label img{width:100%;max-width:300px}
.top .figs{flex:1 1 520px;min-width:0}
.top:not(.rated) .label{flex-basis:100%}.top:not(.rated) .label img{max-width:260px}
.answer{font-size:17px;margin:0 0 10px;line-height:1.5}
img.chart{max-width:100%;height:auto;display:block;margin:8px 0}
.wide{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e5e5e5;vertical-align:top;overflow-wrap:break-word}
table.kv td,td.free{overflow-wrap:anywhere}
.nw{white-space:nowrap}
th{background:#fafafa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.claim{color:#333}
.badge{display:inline-block;padding:1px 8px;border-radius:4px;font-weight:700}
.badge.indicative{background:#fff;color:#444;border:2px dashed #8c8c8c}
.status-ok{background:#d9f2e0;color:#11652e}.status-failed{background:#fde0e0;color:#9b1c1c}
.status-interrupted,.status-running{background:#fff1cc;color:#7a5a00}
.method{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;background:#f0f0f3;padding:1px 5px;border-radius:3px}
table.kv th{width:28%}
.warn li{color:#7a4b00}.muted{color:#666;font-size:13px}
.odds{font-size:13px;white-space:nowrap}
details{margin:4px 0;font-size:14px}details>summary{cursor:pointer;color:#333}
details>div{margin:4px 0 8px 18px;color:#444;font-size:13px;overflow-wrap:anywhere}
td details{margin:0}td details>summary{color:#666;font-size:13px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}
"""

METHOD_HELP = {
    "counter": "read from a hardware energy counter",
    "integrated": "measured power integrated over time",
    "modelled": "estimated from a model (utilisation × power curve, PUE/WUE/EWIF factors)",
    "constant": "a fixed value",
    "user": "given by the user",
    "reported": "reported by another tool or a published source",
}

#: what each claim of an interval means, for the headline table's legend
CLAIM_HELP = {
    "95 % interval": "propagated from its inputs' distributions (Monte Carlo): the true value lies inside with that "
    "probability (95 %, or the coverage written)",
    "stated bound": "a bound stated by the sensor or the source: the whole range the value can take",
    "coverage not stated": "a range without a stated probability (a record written before schema 2, or a worst-case envelope)",
}

#: summary length of a folded derivation (characters)
FOLD_SUMMARY = 90


def esc(value: Any) -> str:
    """Any value as escaped HTML text (quotes included; hidden characters shown as escapes, see
    :func:`~ecometer.checks.text.display_text`)."""
    return html.escape(display_text(value, multiline=True), quote=True)


@dataclass
class ReportFiles:
    """What :func:`write_report` wrote: the HTML page and each PNG by chart name."""

    html: Path
    pngs: dict[str, Path] = field(default_factory=dict)


def render_charts(record: RunRecord) -> dict[str, bytes]:
    """PNG bytes of every chart that applies to ``record`` (name -> bytes), in page order."""
    out: dict[str, bytes] = {}
    view = grade_view(record)
    if view is not None:
        out["grade"] = label.grade_label(view, title=record.name)
    out["timeline"] = charts.power_timeline(record)
    out["breakdown"] = charts.breakdown(record)
    unit_png = charts.per_unit(record)
    if unit_png is not None:
        out["per_unit"] = unit_png
    phases_png = charts.phase_energy(record)
    if phases_png is not None:
        out["phases"] = phases_png
    return out


def write_report(record: RunRecord, out_dir: str | Path) -> ReportFiles:
    """Write ``report.html`` and one PNG per chart into ``out_dir`` (created if needed)."""
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    images = render_charts(record)
    files = ReportFiles(html=target / "report.html")
    for name, data in images.items():  # each file atomically: a full disk leaves no truncated PNG
        files.pngs[name] = write_atomic(target / f"{name}.png", data)
    write_atomic(files.html, render_html(record, images).encode("utf-8"))
    log.debug("report written to %s", target)
    return files


# ---- page pieces --------------------------------------------------------------------------
def _img(images: dict[str, bytes], name: str, alt: str, cls: str = "chart") -> str:
    data = images.get(name)
    if data is None:
        return ""
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img class="{cls}" alt="{esc(alt)}" src="data:image/png;base64,{b64}">'


def _method(method: str) -> str:
    base = method.split(" ")[0]
    tip = METHOD_HELP.get(base, "")
    return f'<span class="method" title="{esc(tip)}">{esc(method)}</span>'


def _wide(table: str) -> str:
    """A table that scrolls inside its section on a narrow screen instead of widening the page."""
    return f"<div class='wide'>{table}</div>"


def _fold(text: str, summary: str | None = None) -> str:
    """A derivation folded away: ``summary`` (default: the start of ``text``) opens to the whole text."""
    text = " ".join(str(text).split())
    if summary is None:
        if len(text) <= FOLD_SUMMARY:
            return f"<div class='muted'>{esc(text)}</div>"
        cut = text[:FOLD_SUMMARY].rsplit(" ", 1)[0]
        summary = cut + " …"
    return f"<details><summary>{esc(summary)}</summary><div>{esc(text)}</div></details>"


def _claim(f: QuantityValue) -> str:
    key = "95 % interval" if f.claim.endswith("% interval") else f.claim
    tip = CLAIM_HELP.get(key, "")
    shape = f" ({f.distribution})" if f.distribution and not f.exact and f.distribution != "exact" else ""
    return f"<td class='claim' title='{esc(tip + shape)}'>{esc(f.claim)}</td>"


def _figure_rows(figs: list[QuantityValue]) -> str:
    """Figure, value, interval (and its relative half-width), what the interval claims, method."""
    rows = []
    for f in figs:
        interval = interval_text(f)
        width = f" <span class='muted nw'>({esc(relative(f))})</span>" if interval else ""
        notes = "".join(f"<div class='muted'>{esc(n)}</div>" for n in f.problems)
        rows.append(
            f"<tr><td>{esc(f.label)}{notes}</td><td class='num nw'>{esc(value_text(f))}</td>"
            f"<td class='num'><span class='nw'>{esc(interval or '—')}</span>{width}</td>{_claim(f)}"
            f"<td>{_method(f.method)}</td></tr>"
        )
    head = "<tr><th>Figure</th><th>Value</th><th>Interval</th><th>Coverage</th><th>Method</th></tr>"
    return _wide(f"<table>{head}{''.join(rows)}</table>")


def _kv_table(data: dict[str, Any]) -> str:
    if not data:
        return "<p class='muted'>none</p>"
    rows = []
    for k, v in data.items():
        text = for_people(k, v)
        rows.append(f"<tr><th>{esc(k)}</th><td>{esc(text)}</td></tr>")
    return _wide(f"<table class='kv'>{''.join(rows)}</table>")


def _site_table(site: dict[str, Any]) -> str:
    """The footprint's site: set values only, estimates as ``central (low–high)``, profiles summarised.

    Sources are not repeated here: the assumptions below name them.
    """
    rows: dict[str, Any] = {}
    for key, value in site.items():
        if value is None or key == "provenance":
            continue
        est = estimate(value) if isinstance(value, dict) else None
        if est is not None:
            c, lo, hi = est.central, est.low, est.high
            rows[key] = number(c, 4) if lo == hi else f"{number(c, 4)} ({number(lo, 4)} – {number(hi, 4)})"
        elif isinstance(value, list):
            rows[key] = f"profile of {len(value)} values"
        else:
            rows[key] = value
    return _kv_table(rows)


def _grade_badge(grade: str | None, labels: list[str]) -> str:
    if grade is None:
        return "<span class='muted'>—</span>"
    colour = grade_colour(grade, labels)
    return f"<span class='badge' style='background:{colour};color:{text_colour_on(colour)}'>{esc(grade)}</span>"


def _indicative_badge(grade: str) -> str:
    return f"<span class='badge indicative' title='where the value falls; the run is not rated'>{esc(grade)}</span>"


def _stable_text(stable: bool | None, most_likely: str | None, probabilities: dict[str, float] | None,
                 confidence: float | None) -> str:  # fmt: skip
    """``yes`` / ``no``: with probabilities, whether the most likely grade's probability reaches the
    stated confidence (the meaning of "stable"), shown as ``yes (≥ 90 %)``; else the stored word."""
    if probabilities and most_likely in probabilities and confidence is not None:
        ok = probabilities[most_likely] >= confidence
        return f"{'yes' if ok else 'no'} ({'≥' if ok else '<'} {100 * confidence:.0f} %)"
    if stable is None:
        return ""
    return "yes" if stable else "no: near a band edge"


def _assessment_section(view: GradeView) -> str:
    rows = []
    for m in view.metrics:
        value = "n/a" if m.value is None else number(m.value)
        bounds = ""
        if m.low is not None and m.high is not None and m.low != m.high:
            bounds = f"{number(m.low)} – {number(m.high)}"
        nxt = ""
        if m.to_next_pct is not None:
            nxt = f"{number(m.to_next_pct, 2)} % better" + (f" for {m.next_grade}" if m.next_grade else "")
        if m.grade:
            grade_cell = _grade_badge(m.grade, view.labels)
        elif m.indicative:
            grade_cell = _indicative_badge(m.indicative) + " <span class='muted'>indicative</span>"
        else:
            grade_cell = f"<span class='muted'>{esc(m.reason or 'not applied')}</span>"
        unit = m.label or m.unit
        odds = probability_text(m.probabilities, view.labels)
        stable = _stable_text(m.stable, m.most_likely or m.grade, m.probabilities, m.confidence or view.confidence)
        rows.append(
            f"<tr><td title='{esc(m.name)}'>{esc(metric_title(m.name))}</td><td class='num'>{esc(value)} {esc(unit)}</td><td class='num'>{esc(bounds)}</td>"
            f"<td>{grade_cell}</td><td class='odds'>{esc(odds)}</td><td>{esc(stable)}</td><td>{esc(nxt)}</td></tr>"
        )
    head = (
        "<tr><th>Metric</th><th>Value</th><th>Interval</th><th>Grade</th><th>Probability</th><th>Stable</th>"
        "<th>To next grade</th></tr>"
    )
    if view.grade is not None:
        heading = _grade_badge(view.grade, view.labels)
    elif view.indicative is not None:
        heading = f"not rated (indicative {_indicative_badge(view.indicative)})"
    else:
        heading = "not rated"
    odds = probability_text(view.probabilities, view.labels)
    if odds:
        heading += f" <span class='odds muted'>{esc(odds)}</span>"
    about = esc(view.title + " — " if view.title else "") + esc(view.standard)
    if view.class_name:
        about += f", class {esc(view.class_name)}"
    if view.confidence is not None:
        about += f"; a grade is stable when its probability is at least {100 * view.confidence:.0f} %"
    not_rated = "".join(f"<li>{esc(r)}</li>" for r in view.not_rated)
    steps = "".join(f"<li>{esc(t)}</li>" for t in view.to_be_rated)
    limits = "".join(
        f"<tr><td>{esc(lim.rule or lim.name)}</td><td class='num'>{esc(number(lim.value) if lim.value is not None else 'n/a')} "
        f"{esc(lim.unit if lim.unit != '1' else '')}</td><td>{esc(lim.status)}</td><td class='muted'>{esc(lim.reason)}</td></tr>"
        for lim in view.limits
    )
    verdict = ""
    if view.passed is not None:
        verdict = "<p>Hard limits: <b>passed</b></p>" if view.passed else "<p>Hard limits: <b>FAILED</b></p>"
    failures = "".join(f"<li>{esc(f)}</li>" for f in view.failures)
    notes = "".join(f"<li>{esc(n)}</li>" for n in view.notes)
    return (
        f"<section id='grade'><h2>Grade: {heading}</h2><p class='muted'>against {about}</p>"
        + (f"<p><b>Not rated</b> because:</p><ul class='warn'>{not_rated}</ul>" if not_rated else "")
        + (f"<p>To be rated:</p><ul>{steps}</ul>" if steps else "")
        + _wide(f"<table>{head}{''.join(rows)}</table>")
        + verdict
        + (
            _wide(f"<table><tr><th>Hard limit</th><th>Value</th><th>Status</th><th></th></tr>{limits}</table>")
            if limits
            else ""
        )
        + (f"<ul class='warn'>{failures}</ul>" if failures else "")
        + (f"<ul class='muted'>{notes}</ul>" if notes else "")
        + "</section>"
    )


def _components_table(record: RunRecord) -> str:
    rows = []
    for name in ordered_components(record):
        c = record.components[name]
        f = component_energy(record, name)
        notes = "".join(_fold(n) for n in c.notes)
        rows.append(
            f"<tr><td>{esc(name.upper())}</td><td class='num nw'>{esc(value_text(f))}</td>"
            f"<td class='num'>{esc(interval_text(f) or '—')}</td>{_claim(f)}<td>{_method(c.method)}</td>"
            f"<td>{esc(c.source)}</td><td>{esc(c.attribution or 'whole device')}</td></tr>"
            + (f"<tr><td></td><td colspan='6'>{notes}</td></tr>" if notes else "")
        )
    head = (
        "<tr><th>Component</th><th>Energy</th><th>Interval</th><th>Coverage</th><th>Method</th><th>Source</th>"
        "<th>Attribution</th></tr>"
    )
    return _wide(f"<table>{head}{''.join(rows)}</table>")


def phase_depths(record: RunRecord) -> dict[str, int]:
    """The nesting depth of each phase (0: top level), from the timeline's spans (0 where none says)."""
    depths: dict[str, int] = {}
    for sp in record.timeline.spans:
        depths[sp.name] = min(depths.get(sp.name, sp.depth), sp.depth)
    return {p.name: depths.get(p.name, 0) for p in record.phases.values()}


def phase_parents(record: RunRecord) -> dict[str, str]:
    """The phase each nested phase first ran inside (from the timeline's spans)."""
    spans = record.timeline.spans
    parents: dict[str, str] = {}
    for sp in spans:
        if sp.depth == 0 or sp.name in parents:
            continue
        outer = [o for o in spans if o.depth == sp.depth - 1 and o.start_s <= sp.start_s < o.end_s]
        if outer:
            parents[sp.name] = outer[0].name
    return parents


def _phase_order(phases: list[Any], depth: dict[str, int], parents: dict[str, str]) -> list[Any]:
    """Top-level phases by energy, each followed by the phases nested in it (depth first)."""
    children: dict[str, list[Any]] = {}
    roots = []
    for p in sorted(phases, key=lambda p: -p.energy_j):
        parent = parents.get(p.name) if depth.get(p.name, 0) else None
        (children.setdefault(parent, []) if parent is not None else roots).append(p)
    out: list[Any] = []

    def visit(p: Any) -> None:
        if p in out:
            return
        out.append(p)
        for c in children.get(p.name, []):
            visit(c)

    for p in roots:
        visit(p)
    out += [p for p in phases if p not in out]  # nested in a phase that is not listed
    return out


def _phases_table(record: RunRecord) -> str:
    finite = [p for p in record.phases.values() if math.isfinite(p.energy_j)]
    total = record.energy_j if math.isfinite(record.energy_j) and record.energy_j else 1.0
    depth = phase_depths(record)
    ordered = _phase_order(finite, depth, phase_parents(record)) + [
        p for p in record.phases.values() if not math.isfinite(p.energy_j)
    ]
    rows = []
    for p in ordered:
        unc = (
            "exact"
            if p.uncertainty.low == p.uncertainty.high
            else f"{fmt('energy', p.uncertainty.low)} – {fmt('energy', p.uncertainty.high)}"
        )
        level = depth.get(p.name, 0)
        indent = f" style='padding-left:{8 + 18 * level}px'" if level else ""
        nested = " <span class='muted'>(nested)</span>" if level else ""
        rows.append(
            f"<tr><td{indent}>{esc(p.name)}{nested}</td><td class='num'>{p.count}</td>"
            f"<td class='num'>{esc(fmt('time', p.duration_s))}</td>"
            f"<td class='num'>{esc(fmt('energy', p.energy_j))}</td><td class='num'>{esc(unc)}</td>"
            f"<td class='num'>{esc(number(100 * p.energy_j / total, 2))} %</td></tr>"
        )
    head = "<tr><th>Phase</th><th>Count</th><th>Duration</th><th>Energy</th><th>Interval</th><th>Share of IT energy</th></tr>"
    note = ""
    if any(depth.values()):
        top = sum(p.energy_j for p in finite if depth.get(p.name, 0) == 0)
        note = (
            "<p class='muted'>Phases nest: a nested phase's energy is part of the phase around it, so the shares "
            f"add up only over the top-level phases ({number(100 * top / total, 3)} % of the IT energy; the rest "
            "ran outside any phase).</p>"
        )
    return _wide(f"<table>{head}{''.join(rows)}</table>") + note


#: field-name endings whose numbers are SI quantities of a kind :func:`ecometer.record.units.fmt` knows
_FIELD_KINDS = {"_j": "energy", "_s": "time", "_w": "power", "_l": "water"}


def for_people(key: str, value: Any) -> str:
    """A record field's value as a person reads it: ``memory_bytes 25276182528`` -> ``23.5 GiB``,
    ``energy_j 1234.5`` -> ``1.23 kJ``, large counts with thousands separators."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        if key == "pid" or key.endswith(("_id", "_pid", "port")):
            return str(value)
        if key.endswith("_bytes"):
            return _bytes(float(value))
        for end, kind in _FIELD_KINDS.items():
            if key.endswith(end):
                return fmt(kind, float(value))
        return count(value) if float(value).is_integer() else number(float(value))
    return json.dumps(value, default=str, ensure_ascii=False)


def _bytes(n: float) -> str:
    """``25276182528`` -> ``23.5 GiB`` (binary prefixes, as memory is sold and reported)."""
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(n) >= 1024**power:
            return f"{number(n / 1024**power)} {unit}"
    return f"{count(n)} B"


def _device_cell(key: str, value: Any) -> str:
    return for_people(key, value)


#: the device fields shown as columns; every other field a device states is folded beside them
DEVICE_COLUMNS = {"id": "Device", "model": "Model", "energy_j": "Energy"}


def _devices_table(devices: list[dict[str, Any]]) -> str:
    """One row per device: id, model and energy, then its other fields folded (so the table fits)."""
    if not devices:
        return "<p class='muted'>no device list</p>"
    shown = [k for k in DEVICE_COLUMNS if any(k in d for d in devices)]
    head = "".join(f"<th>{esc(DEVICE_COLUMNS[k])}</th>" for k in shown) + "<th>More</th>"
    body = []
    for d in devices:
        cells = "".join(f"<td class='nw'>{esc(_device_cell(k, d[k]) if k in d else '')}</td>" for k in shown)
        rest = [f"{k}: {_device_cell(k, v)}" for k, v in d.items() if k not in shown]
        more = _fold(" · ".join(rest), f"{len(rest)} more field{'s' if len(rest) != 1 else ''}") if rest else ""
        body.append(f"<tr>{cells}<td class='free'>{more}</td></tr>")
    return _wide(f"<table class='devices'><tr>{head}</tr>{''.join(body)}</table>")


def _head(record: RunRecord) -> list[str]:
    """The document head and the page header (name, status, duration, start, scope)."""
    status = record.status if record.status in ("ok", "failed", "interrupted", "running") else "failed"
    sub = [
        f"<span class='badge status-{status}'>{esc(record.status)}</span>",
        f"duration {esc(fmt('time', record.duration_s))}",
        f"started {esc(record.started_at or '?')}",
        f"scope {esc(record.scope)}",
    ]
    if record.checkpoint:
        sub.append("<b>read from a checkpoint</b>")
    return [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>ecometer report: {esc(record.name)}</title><style>{CSS}</style></head><body><main>",
        f"<header><h1>{esc(record.name)}</h1><p class='sub'>{' · '.join(sub)}</p></header>",
    ]


def _error_section(record: RunRecord) -> list[str]:
    if not record.error:
        return []
    return [f"<section class='warn'><h2>Error</h2><p>{esc(record.error)}</p></section>"]


def _problems_section(record: RunRecord) -> list[str]:
    """What the record holds that cannot be shown as stored (see :func:`figures.data_problems`)."""
    problems = data_problems(record)
    if not problems:
        return []
    items = "".join(f"<li>{esc(p)}</li>" for p in problems)
    return [
        "<section id='problems'><h2>Data problems</h2><p class='muted'>This record holds values that cannot be "
        f"shown as stored; the charts leave them out.</p><ul class='warn'>{items}</ul></section>"
    ]


def _grade_line(view: GradeView | None) -> str:
    """One line under the headline figures: the grade and how likely each grade is (or why there is none)."""
    if view is None:
        return ""
    if view.grade is None:
        why = view.not_rated[0] if view.not_rated else "no metric of the standard applied"
        more = f" (and {len(view.not_rated) - 1} more reason(s) below)" if len(view.not_rated) > 1 else ""
        return f"<p><b>Grade:</b> not rated by {esc(view.standard)}: {esc(why)}{esc(more)}</p>"
    odds = probability_text(view.probabilities, view.labels)
    stable = _stable_text(view.stable, view.most_likely or view.grade, view.probabilities, view.confidence)
    word = "stable" + stable[3:] if stable.startswith("yes") else "not stable" + stable[2:] if stable else ""
    extra = "; ".join(x for x in (odds, word.replace(": near a band edge", " (near a band edge)")) if x)
    return (
        f"<p><b>Grade:</b> {_grade_badge(view.grade, view.labels)} <span class='muted'>{esc(view.standard)}"
        + (f" · {esc(extra)}" if extra else "")
        + "</span></p>"
    )


def _legend() -> str:
    items = "".join(f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in CLAIM_HELP.items())
    methods = "".join(f"<li>{_method(k)}: {esc(v)}</li>" for k, v in METHOD_HELP.items())
    return (
        "<details><summary>What the coverage and method columns mean</summary>"
        f"<div><ul>{items}</ul><ul>{methods}</ul></div></details>"
    )


def _answer(record: RunRecord) -> str:
    """The answer in one line: IT energy, water and carbon (with their intervals), per unit of work."""
    figs = {f.key: f for f in headline(record)}
    parts = []
    for key, what in (("it_energy_j", "IT energy"), ("water_total_l", "water consumed"), ("carbon_g", "carbon")):
        f = figs.get(key)
        if f is not None:
            interval = interval_text(f)
            parts.append(f"<b>{esc(value_text(f))}</b> {what}" + (f" <span class='muted nw'>({esc(interval)})</span>" if interval else ""))
    wu = work_unit(record)
    if wu is not None:
        per = next((f for f in per_unit(record) if f.key == "it_energy_j_per_unit"), None)
        if per is not None:
            parts.append(f"<b>{esc(value_text(per))}</b>")
    return f"<p class='answer'>{' · '.join(parts)}</p>" if parts else ""


def _top_section(record: RunRecord, images: dict[str, bytes], view: GradeView | None) -> str:
    """The answer first (headline figures, the grade or why there is none), the grade label beside
    them (after them on a narrow screen; below them when the run is not rated)."""
    label_html = (
        _img(images, "grade", "grade label", "label") or "<p class='muted'>Not graded: no standard applied.</p>"
    )
    rated = view is not None and view.grade is not None
    return (
        f"<section class='top{' rated' if rated else ''}'><div class='figs'><h2>Headline figures</h2>"
        + _answer(record)
        + _grade_line(view)
        + _figure_rows(headline(record))
        + "<p class='muted'>SI units. Interval: low – high of each figure; coverage: the probability it claims.</p>"
        + _legend()
        + "</div><div class='label'>"
        + label_html
        + "</div></section>"
    )


def _timeline_section(images: dict[str, bytes]) -> str:
    return (
        "<section id='timeline'><h2>Power over time</h2>"
        + _img(images, "timeline", "power timeline per component with phases shaded")
        + "</section>"
    )


def _breakdown_section(record: RunRecord, images: dict[str, bytes]) -> str:
    return (
        "<section id='breakdown'><h2>Energy, water and carbon</h2>"
        + _img(images, "breakdown", "energy, water and carbon breakdown")
        + (
            ""
            if footprint_data(record)
            else "<p class='muted'>No footprint attached: measure with a site for water and carbon.</p>"
        )
        + "</section>"
    )


def _per_unit_section(record: RunRecord, images: dict[str, bytes]) -> str:
    wu = work_unit(record)
    if wu is None:
        return (
            "<section id='per-unit'><h2>Per unit of work</h2><p class='muted'>No work units were counted.</p></section>"
        )
    return (
        f"<section id='per-unit'><h2>Per {esc(wu[0])} ({esc(count(wu[1]))} {esc(describe_work(record, wu[0]))})</h2>"
        + _img(images, "per_unit", f"figures per {wu[0]}")
        + _figure_rows(per_unit(record))
        + "</section>"
    )


def _phases_section(record: RunRecord, images: dict[str, bytes]) -> list[str]:
    if not record.phases:
        return []
    dropped = record.timeline.spans_dropped
    return [
        "<section id='phases'><h2>Phases</h2>"
        + _img(images, "phases", "energy per phase")
        + _phases_table(record)
        + (f"<p class='muted'>{dropped} phase occurrences not stored on the timeline.</p>" if dropped else "")
        + "</section>"
    ]


def _assumption_fold(item: Any, line: str) -> str:
    """One footprint assumption folded: ``name = value unit (low – high): note`` opens to its
    source and derivation; an assumption given as text (``line``) folds after its first words."""
    if not (isinstance(item, dict) and isinstance(item.get("name"), str)):
        return _fold(line)
    value = item.get("value")
    shown = number(value, 4) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
    summary = f"{item['name']} = {shown if shown is not None else '?'} {item.get('unit') or ''}".strip()
    lo, hi = item.get("low"), item.get("high")
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi)) and lo != hi:
        summary += f" ({number(lo, 4)} – {number(hi, 4)})"
    if isinstance(item.get("note"), str) and item["note"]:
        summary += f": {item['note']}"
    if len(summary) > 160:
        summary = summary[:160].rsplit(" ", 1)[0] + " …"
    body = " · ".join(str(item[k]) for k in ("source", "text") if isinstance(item.get(k), str) and item[k])
    return _fold(body or line, summary)


def _footprint_section(record: RunRecord) -> list[str]:
    fp = footprint_data(record)
    if fp is None:
        return []
    items = fp.get("assumptions") if isinstance(fp.get("assumptions"), list) else []
    lines = footprint_assumptions(record) if items else []
    folds = "".join(_assumption_fold(item, line) for item, line in zip(items, lines, strict=False))
    return [
        "<section id='footprint'><h2>Footprint: site and assumptions</h2>"
        + _site_table(site_description(record))
        + "<h3>Assumptions</h3>"
        + (folds or "<p class='muted'>no assumptions listed</p>")
        + "</section>"
    ]


def _warnings_section(record: RunRecord) -> str:
    warnings = "".join(f"<li>{esc(w)}</li>" for w in record.warnings)
    return (
        "<section id='warnings'><h2>Warnings</h2>"
        + (f"<ul class='warn'>{warnings}</ul>" if warnings else "<p class='muted'>none</p>")
        + "</section>"
    )


def _measurement_section(record: RunRecord) -> str:
    """Components, sensors (their notes folded) and what each method means."""
    shown = {n for c in record.components.values() for n in c.notes}  # folded under the components already
    sensors = "".join(
        f"<li><b>{esc(s.name)}</b> ({esc(s.component)}, {_method(s.method)})"
        + "".join(_fold(n) for n in dict.fromkeys(s.notes) if n not in shown)
        + "</li>"
        for s in record.sensors
    )
    return (
        "<section id='measurement'><h2>How it was measured</h2>"
        + _components_table(record)
        + (f"<h3>Sensors</h3><ul>{sensors}</ul>" if sensors else "")
        + "</section>"
    )


def _host_section(record: RunRecord) -> str:
    return (
        "<section id='host'><h2>Host and devices</h2>"
        + _kv_table(record.host)
        + "<h3>Devices</h3>"
        + _devices_table(record.devices)
        + "</section>"
    )


def _footer(record: RunRecord) -> str:
    return (
        f"<footer class='muted'>ecometer {esc(record.ecometer_version or '?')} · record schema {record.schema_version}"
        f" · ended {esc(record.ended_at or '?')}</footer></main></body></html>"
    )


def render_html(record: RunRecord, images: dict[str, bytes] | None = None) -> str:
    """The report page for ``record``; ``images`` (from :func:`render_charts`) are embedded.

    The page leads with what a reader needs: the headline figures, each with its interval, the
    coverage that interval claims and the method behind it, and the grade with the probability
    of each grade. Derivations (footprint assumptions, sensor notes) are folded below.
    """
    images = images if images is not None else render_charts(record)
    view = grade_view(record)
    parts = _head(record) + _error_section(record) + _problems_section(record)
    parts += [
        _top_section(record, images, view),
        _timeline_section(images),
        _breakdown_section(record, images),
        _per_unit_section(record, images),
    ]
    parts += _phases_section(record, images)
    parts += [_assessment_section(view)] if view is not None else []
    parts += _footprint_section(record)
    parts += [
        _warnings_section(record),
        _measurement_section(record),
        _host_section(record),
        "<section id='meta'><h2>Metadata</h2>" + _kv_table(record.meta) + "</section>",
        _footer(record),
    ]
    return "\n".join(parts)
