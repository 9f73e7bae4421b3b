"""Live metrics of a running meter for Prometheus, over plain HTTP (no extra dependency).

    meter = ecometer.Meter("train", site="us-average").start()
    exporter = serve(meter)                     # http://127.0.0.1:9464/metrics
    ...
    meter.stop(); exporter.close()

The text exposition format 0.0.4 is served at ``/metrics``:

==============================================================  =======  ==========================
metric                                                          type     unit
==============================================================  =======  ==========================
``ecometer_up``                                                 gauge    1 while the meter runs
``ecometer_run_info{name,scope,version,...}``                   gauge    always 1
``ecometer_elapsed_seconds``                                    gauge    s
``ecometer_power_watts{component,device}``                      gauge    W (power now)
``ecometer_energy_joules_total{component,device}``              counter  J since the run started
``ecometer_energy_low_joules{component,device}``                gauge    J, low end of its interval
``ecometer_energy_high_joules{component,device}``               gauge    J, high end of its interval
``ecometer_energy_coverage_ratio{component,device}``            gauge    probability the interval claims
``ecometer_work_total{unit}``                                   counter  work units counted
``ecometer_water_litres_total{kind="onsite"|"offsite"}``        counter  L, when the meter has a site
``ecometer_water_low_litres{kind}`` / ``_high_litres{kind}``    gauge    L, its interval
``ecometer_water_coverage_ratio{kind}``                         gauge    probability the interval claims
``ecometer_carbon_grams_total``                                 counter  g CO2e, when the site has a grid
``ecometer_carbon_low_grams`` / ``ecometer_carbon_high_grams``  gauge    g CO2e, its interval
``ecometer_carbon_coverage_ratio``                              gauge    probability the interval claims
==============================================================  =======  ==========================

**Bounds.** Every figure with an interval is served the way the report shows it: the central
value under the metric's existing name (unchanged, so dashboards and ``rate()`` keep working),
and beside it ``<name>_low_<unit>`` and ``<name>_high_<unit>`` gauges with the *same labels*
(``ecometer_energy_high_joules - ecometer_energy_low_joules`` needs no ``ignoring()``), plus
``<name>_coverage_ratio``: the probability that ``low..high`` holds the true value (``1`` for a
stated bound such as a sensor's datasheet accuracy, ``0.95`` for an interval propagated by Monte
Carlo). Where an interval states no coverage (a worst-case envelope) the coverage series is
absent, not ``NaN``. The bounds are gauges, not counters: a live estimate's interval may move
either way. Bounds do not add: summing ``_high`` over devices gives the worst case in which every
device errs high together; the record states the run's combined interval. A device's energy
bounds are its sensor's stated relative uncertainty (the one the record's component is built
from) applied to its energy so far, while the meter runs and after it stops (then, for a
meter that kept no sensor statements, the record component's own interval). Water and carbon
bounds are those of :func:`ecometer.impact.compute` applied to the energy so far with its
interval (one error per sensor shared by its devices, sensors independent, as in the record).

Energy counters never go backwards (a live estimate corrected down by the next counter
reading is held until the measurement catches up), so ``rate()`` stays meaningful. Water
and carbon come from :func:`ecometer.impact.compute` applied to the energy so far (the
site's annual factors; central values).

Given the job's total (``serve(meter, total_work=N)`` or ``total_s=``; ``ecometer run
--prometheus ... --total-work N``), the exporter also serves a forecast of the job's end,
remade at most every 10 s: ``ecometer_forecast_ready`` (1 when ready), and when ready
``ecometer_forecast_energy_joules`` (J), ``ecometer_forecast_duration_seconds`` (s),
``ecometer_forecast_water_litres{kind="onsite"|"offsite"}`` (L) and
``ecometer_forecast_carbon_grams`` (g CO2e) with a site, each with its bounds named and
labelled like the live ones (``ecometer_forecast_energy_low_joules``, ``..._high_joules``,
``..._coverage_ratio``: one gauge per bound, so a ``sum()`` never adds a low to a high),
``ecometer_forecast_observed_ratio`` (the fraction of the job seen) and
``ecometer_forecast_coverage_ratio`` (all gauges).

The server binds to loopback unless another address is passed explicitly, and answers only
``GET``/``HEAD`` of ``/metrics`` and ``/``. Its threads, queue and time per connection are
bounded (:mod:`ecometer.integrations.bounded_http`: 4 workers, 10 s per connection, backlog 128).
"""

from __future__ import annotations

import ipaddress
import logging
import math
import re
import socket
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any

from ecometer._version import __version__
from ecometer.checks.text import display_text
from ecometer.errors import InputError, NotApplicable, RecordError
from ecometer.integrations.bounded_http import BoundedHTTPServer
from ecometer.record.estimate import Estimate, sum_estimates
from ecometer.record.quantities import QUANTITIES

log = logging.getLogger("ecometer.prometheus")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")

#: metric names, from the quantity registry (ecometer.record.quantities)
_ENERGY = QUANTITIES["it_energy_j"].prometheus[0]  # type: ignore[index]
_WATER = QUANTITIES["water_onsite_l"].prometheus[0]  # type: ignore[index]
_CARBON = QUANTITIES["carbon_g"].prometheus[0]  # type: ignore[index]
#: the footprint quantities exported, in exposition order
EXPORTED_FOOTPRINT = [(q, q.prometheus) for q in QUANTITIES.values() if q.footprint is not None and q.prometheus]


# ---- exposition text ----------------------------------------------------------------------
def escape_label(value: str) -> str:
    """A label value for the text format: hidden characters shown as escapes (names from records,
    :func:`~ecometer.checks.text.display_text`), then backslash, double quote and newline escaped."""
    return display_text(value, multiline=True).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it (``+Inf``, ``-Inf``, ``NaN`` included)."""
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


def bound_names(name: str) -> tuple[str, str, str]:
    """The low, high and coverage metric names beside ``name`` (``ecometer_energy_joules_total`` ->
    ``ecometer_energy_low_joules``, ``ecometer_energy_high_joules``, ``ecometer_energy_coverage_ratio``)."""
    base, unit = name.removesuffix("_total").rsplit("_", 1)
    return f"{base}_low_{unit}", f"{base}_high_{unit}", f"{base}_coverage_ratio"


class _Family:
    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help = name, kind, help_text
        self.samples: list[tuple[dict[str, str], float]] = []

    def add(self, value: float, **labels: str) -> None:
        self.samples.append((labels, value))

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for labels, value in self.samples:
            if labels:
                body = ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items())
                out.append(f"{self.name}{{{body}}} {format_value(value)}")
            else:
                out.append(f"{self.name} {format_value(value)}")
        return out


# ---- reading the meter ----------------------------------------------------------------------
def _inner(meter: Any) -> Any:
    """The :class:`~ecometer.measuring.meter.Meter` doing the measuring (a DistributedMeter holds one)."""
    inner = getattr(meter, "meter", None)
    return inner if inner is not None and hasattr(inner, "live") else meter


def _device_readings(meter: Any) -> dict[str, tuple[str, float, float]]:
    """Per device: (component, watts now, joules so far) of a running meter."""
    m = _inner(meter)
    fn = getattr(m, "live_devices", None)
    if callable(fn):  # the meter's own per-device view
        return {d: (str(v["component"]), float(v["power_w"]), float(v["energy_j"])) for d, v in fn().items()}
    live = m.live()
    return {f"{c}:all": (c, live.power_w.get(c, 0.0), live.energy_j.get(c, 0.0)) for c in live.energy_j}


def _live_relative(meter: Any) -> dict[str, Estimate]:
    """Per device: its sensor's stated relative uncertainty, as an estimate around 1.

    From ``Meter.live_devices()`` (what the sensor said when the run started; the exporter
    never calls a sensor itself). Devices whose sensor stated none are left out.
    """
    out: dict[str, Estimate] = {}
    fn = getattr(_inner(meter), "live_devices", None)
    for channel, device in (fn() if callable(fn) else {}).items():
        unc = device.get("uncertainty")
        if isinstance(unc, Estimate) and math.isfinite(unc.low) and math.isfinite(unc.high):
            out[channel] = unc
    return out


def _record_relative(record: Any) -> dict[str, Estimate]:
    """Per component of a finished record: its interval relative to its energy (an estimate around 1)."""
    out: dict[str, Estimate] = {}
    for comp in record.components.values():
        e, unc = comp.energy_j, comp.uncertainty
        if isinstance(unc, Estimate) and math.isfinite(e) and e > 0 and math.isfinite(unc.low) and math.isfinite(unc.high):
            out[comp.name] = unc.replace(central=1.0, low=min(unc.low / e, 1.0), high=max(unc.high / e, 1.0))
    return out


def _bounded(central: float, rel: Estimate | None) -> Estimate | None:
    """``central`` with the relative interval ``rel`` (``None`` without one)."""
    if rel is None or not math.isfinite(central):
        return None
    return rel.scaled(central) if central >= 0 else None


class _Bounds:
    """The low, high and coverage families beside one metric."""

    def __init__(self, name: str, what: str, unit: str) -> None:
        low, high, cov = bound_names(name)
        self.low = _Family(low, "gauge", f"Low end of the interval of {what} ({unit}); see {cov}.")
        self.high = _Family(high, "gauge", f"High end of the interval of {what} ({unit}); see {cov}.")
        self.coverage = _Family(
            cov,
            "gauge",
            f"Probability that the low..high interval of {what} holds the true value "
            "(1: a stated bound, 0.95: a propagated interval); absent when the interval states none.",
        )

    def add(self, est: Estimate, central: float, **labels: str) -> None:
        self.low.add(min(est.low, central), **labels)
        self.high.add(max(est.high, central), **labels)
        if est.coverage is not None:
            self.coverage.add(est.coverage, **labels)

    def families(self) -> list[_Family]:
        return [f for f in (self.low, self.high, self.coverage) if f.samples]


def _work(meter: Any) -> dict[str, float]:
    fn = getattr(_inner(meter), "live_work", None)
    return dict(fn()) if callable(fn) else {}


class MetricsState:
    """What one exporter remembers between scrapes: counters that must not go backwards."""

    def __init__(self) -> None:
        self._high: dict[tuple[str, ...], float] = {}
        self._lock = threading.Lock()
        self._footprint_failed = False

    def monotonic(self, key: tuple[str, ...], value: float) -> float:
        with self._lock:
            best = max(self._high.get(key, 0.0), value if math.isfinite(value) else 0.0)
            self._high[key] = best
            return best

    def footprint_failed(self, exc: Exception) -> None:
        if not self._footprint_failed:
            self._footprint_failed = True
            log.warning("water and carbon are not exported: the footprint failed (%s)", exc)


def render(meter: Any, state: MetricsState | None = None, labels: Mapping[str, str] | None = None) -> str:
    """The meter's metrics in the text exposition format 0.0.4.

    ``labels`` are added to ``ecometer_run_info`` (e.g. ``{"job": "pretrain", "node": "n17"}``).
    """
    state = state or MetricsState()
    running = bool(getattr(meter, "running", False))
    record = getattr(meter, "record", None)
    up = _Family("ecometer_up", "gauge", "Whether the ecometer meter is running (1) or not (0).")
    up.add(1.0 if running else 0.0)
    info = _Family("ecometer_run_info", "gauge", "The metered run; the value is always 1.")
    run_labels = {
        "name": str(getattr(meter, "name", "run")),
        "scope": str(getattr(meter, "scope", "")),
        "version": __version__,
    }
    dist_info = getattr(meter, "info", None)
    if dist_info is not None and hasattr(dist_info, "rank"):
        run_labels.update(rank=str(dist_info.rank), world_size=str(dist_info.world_size), node=dist_info.hostname)
    for key, value in (labels or {}).items():
        run_labels[key] = str(value)
    info.add(1.0, **run_labels)
    elapsed = _Family("ecometer_elapsed_seconds", "gauge", "Seconds since the run started.")
    power = _Family("ecometer_power_watts", "gauge", "Power drawn now, by component and device (W).")
    energy = _Family(
        _ENERGY, "counter", "Energy used since the run started, by component and device (J)."
    )
    work = _Family("ecometer_work_total", "counter", "Work units counted since the run started, by unit.")

    readings: dict[str, tuple[str, float, float]] = {}
    units: dict[str, float] = {}
    relative: dict[str, Estimate] = {}
    if running:
        readings = _device_readings(meter)
        units = _work(meter)
        elapsed.add(float(_inner(meter).live().elapsed_s))
        relative = _live_relative(meter)
    elif record is not None:
        for comp in record.components.values():
            for device, joules in comp.devices.items():
                readings[device] = (comp.name, 0.0, joules)
        units = dict(record.work)
        elapsed.add(float(record.duration_s))
        relative = {**_record_relative(record), **_live_relative(meter)}  # a device's own sensor first
    bounds = _Bounds(_ENERGY, "the energy used since the run started", "J")
    per_component: dict[str, list[Estimate]] = {}
    for device, (component, watts, joules) in sorted(readings.items()):
        power.add(max(watts, 0.0), component=component, device=device)
        j = state.monotonic(("energy", component, device), joules)
        energy.add(j, component=component, device=device)
        est = _bounded(j, relative.get(device) or relative.get(component))
        if est is not None:
            bounds.add(est, j, component=component, device=device)
        per_component.setdefault(component, []).append(est if est is not None else Estimate.exact(j))
    families = [up, info, elapsed, power, energy, *bounds.families(), work]
    for unit, amount in sorted(units.items()):
        work.add(state.monotonic(("work", unit), amount), unit=unit)

    site = getattr(meter, "site", None)
    if site is not None and (running or record is not None):
        families.extend(_impact(site, _run_energy(per_component), state))
    lines: list[str] = []
    for family in families:
        lines.extend(family.lines())
    return "\n".join(lines) + "\n"


#: help text of the exporter's footprint metric families
_FOOTPRINT_HELP = {
    _WATER: "Water consumed for the energy used so far (L): on-site cooling and off-site electricity generation.",
    _CARBON: "Carbon emitted for the energy used so far (g CO2e).",
}


#: what each footprint metric family measures, for the help text of its bounds
_FOOTPRINT_WHAT = {_WATER: ("the water consumed so far", "L"), _CARBON: ("the carbon emitted so far", "g CO2e")}


def _run_energy(per_component: dict[str, list[Estimate]]) -> Estimate:
    """The run's energy so far with its interval: one sensor error shared by the devices of a
    component (their bounds add), components independent (as in the record)."""
    parts = []
    for ests in per_component.values():
        central = math.fsum(e.central for e in ests)
        low, high = math.fsum(e.low for e in ests), math.fsum(e.high for e in ests)
        claims = {(e.coverage, e.distribution) for e in ests if not e.is_exact}
        coverage, shape = claims.pop() if len(claims) == 1 else (None, "envelope")
        parts.append(Estimate(central, low, high, coverage=coverage, distribution=shape if low < high else "exact"))
    if not parts:
        return Estimate.exact(0.0)
    try:
        return parts[0] if len(parts) == 1 else sum_estimates(parts)
    except (OverflowError, ValueError):  # bounds out of range: water and carbon without an interval
        return Estimate.exact(math.fsum(p.central for p in parts))


def _impact(site: Any, energy: Estimate, state: MetricsState) -> list[_Family]:
    try:
        from ecometer.impact import footprint

        fp = footprint(energy_j=energy, site=site).to_dict()
    except Exception as exc:  # noqa: BLE001 - metrics must keep flowing without water and carbon
        state.footprint_failed(exc)
        return []
    families: dict[str, _Family] = {}
    bounds: dict[str, _Bounds] = {}
    for q, (name, labels) in EXPORTED_FOOTPRINT:
        try:
            est = q.from_footprint(fp)
        except NotApplicable:  # no grid carbon intensity at this site: no carbon metric
            continue
        est = _stored(fp, q.footprint or (), est)
        family = families.setdefault(name, _Family(name, "counter", _FOOTPRINT_HELP[name]))
        central = state.monotonic((q.name,), float(est.central))
        family.add(central, **dict(labels))
        if not est.is_exact:
            what, unit = _FOOTPRINT_WHAT[name]
            bounds.setdefault(name, _Bounds(name, what, unit)).add(est, central, **dict(labels))
    out = list(families.values())
    for b in bounds.values():
        out.extend(b.families())
    return out


def _stored(fp: dict[str, Any], path: tuple[str, ...], est: Estimate) -> Estimate:
    """The footprint figure at ``path`` as stored, with the coverage it states (``est`` if unreadable)."""
    node: Any = fp
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    try:
        return Estimate.from_dict(node)
    except RecordError:
        return est


# ---- the HTTP server ---------------------------------------------------------------------------
def parse_address(text: str, default_host: str = DEFAULT_HOST) -> tuple[str, int]:
    """``"127.0.0.1:9464"``, ``"[::1]:9464"``, ``":9464"`` or ``"9464"`` -> (host, port)."""
    value = str(text).strip()
    host, port_text = default_host, value
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1 :].startswith(":"):
            raise InputError(f"--prometheus {text!r}: expected [IPv6]:PORT, e.g. [::1]:9464")
        host, port_text = value[1:end], value[end + 2 :]
    elif ":" in value:
        host_part, port_text = value.rsplit(":", 1)
        host = host_part or default_host
        if ":" in host:
            raise InputError(f"--prometheus {text!r}: write an IPv6 address in brackets, e.g. [::1]:9464")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise InputError(f"--prometheus {text!r}: expected HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:9464")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone (fe80::1%eth0) is not the address
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return (mapped or address).is_loopback


class _Server(BoundedHTTPServer):
    exporter: Exporter


class _Handler(BaseHTTPRequestHandler):
    server_version = "ecometer"
    sys_version = ""

    def _reply(self, body: bool) -> None:
        exporter: Exporter = self.server.exporter  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            try:
                payload = exporter.render().encode("utf-8")
            except Exception as exc:  # noqa: BLE001 - answer 500, keep serving
                log.warning("rendering metrics failed: %s", exc)
                self.send_error(500, "rendering metrics failed")
                return
            ctype = CONTENT_TYPE
            status = 200
        elif path == "/":
            payload = b"ecometer exporter: metrics at /metrics\n"
            ctype, status = "text/plain; charset=utf-8", 200
        else:
            self.send_error(404, "not found: metrics are at /metrics")
            return
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._reply(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        log.debug("%s %s", self.address_string(), format % args)


class Exporter:
    """A running metrics endpoint; :meth:`close` stops it. Also a context manager."""

    def __init__(
        self, meter: Any, host: str, port: int, labels: Mapping[str, str] | None = None, total: Any = None
    ) -> None:
        for key in labels or {}:
            if not _LABEL_NAME.match(key) or key.startswith("__"):
                raise InputError(
                    f"label name {key!r}: expected letters, digits and _ (not starting with a digit or __)"
                )
        self.meter = meter
        self.labels = dict(labels or {})
        self.forecast = _live_forecast(meter, total or {})
        self.state = MetricsState()
        self.scrapes = 0
        self.final_scrapes = 0  # scrapes that served a stopped meter's final record
        self.render_s = 0.0
        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(_Server):
            address_family = family

        try:
            self.server = Server((host, port), _Handler)
        except OSError as exc:
            raise InputError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from None
        self.server.exporter = self
        self.host = host
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve, name="ecometer-prometheus", daemon=True)
        self._thread.start()
        if not is_loopback(host):
            log.warning("serving metrics on %s:%s: reachable from other machines", host, self.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def render(self) -> str:
        t0 = time.perf_counter()
        final = not getattr(self.meter, "running", False) and getattr(self.meter, "record", None) is not None
        text = render(self.meter, self.state, self.labels)
        if self.forecast is not None:
            text += "".join(line + "\n" for family in forecast_families(self.forecast.get()) for line in family.lines())
        self.render_s += time.perf_counter() - t0
        self.scrapes += 1
        self.final_scrapes += final
        return text

    def close(self) -> None:
        """Stop serving and free the port."""
        self.server.stop()
        self._thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> Exporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def serve(
    meter: Any,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    labels: Mapping[str, str] | None = None,
    total_work: float | None = None,
    total_s: float | None = None,
    unit: str | None = None,
) -> Exporter:
    """Serve ``meter``'s live metrics at ``http://host:port/metrics`` from a daemon thread.

    Binds to loopback by default; any other ``host`` (``"0.0.0.0"``, an interface address)
    must be passed explicitly and logs a warning. ``port=0`` picks a free port (see
    :attr:`Exporter.port`). Works before the meter starts (``ecometer_up 0``) and after it
    stops (the record's final figures).

    ``total_work`` (of ``unit``) or ``total_s``: the whole job; the exporter then serves
    forecast gauges (``ecometer_forecast_*``), the forecast remade at most every
    :data:`FORECAST_EVERY_S` seconds.
    """
    total = {k: v for k, v in (("total_work", total_work), ("total_s", total_s)) if v is not None}
    if total and unit is not None:
        total["unit"] = unit
    return Exporter(meter, host, port, labels, total)


# ---- forecast gauges ----------------------------------------------------------------------------
FORECAST_EVERY_S = 10.0  #: the exporter's forecast is remade at most this often (each costs 15-40 ms)


def forecast_families(fc: Any) -> list[_Family]:
    """Gauges of a forecast of the job's end (``fc`` None or not ready: ``ecometer_forecast_ready 0`` only)."""
    ready = _Family("ecometer_forecast_ready", "gauge", "Whether a forecast of the job's end is ready (1) or not (0).")
    ready.add(1.0 if fc is not None and fc.ready else 0.0)
    if fc is None or not fc.ready:
        return [ready]
    gauges = [
        ("ecometer_forecast_energy_joules", "the IT energy at the job's end", "J", fc.energy_j, {}),
        ("ecometer_forecast_duration_seconds", "the job's duration", "s", fc.duration_s, {}),
        ("ecometer_forecast_water_litres", "the water consumed by the job's end", "L", fc.water_onsite_l, {"kind": "onsite"}),
        ("ecometer_forecast_water_litres", "", "L", fc.water_offsite_l, {"kind": "offsite"}),
        ("ecometer_forecast_carbon_grams", "the carbon emitted by the job's end", "g CO2e", fc.carbon_g, {}),
    ]  # fmt: skip
    out = [ready]
    families: dict[str, tuple[_Family, _Bounds]] = {}
    for name, what, unit, figure, labels in gauges:
        if figure is None:
            continue
        if name not in families:
            families[name] = (
                _Family(name, "gauge", f"Forecast of {what} ({unit}); see its low and high."),
                _Bounds(name, f"the forecast of {what}", unit),
            )
        central, bounds = families[name]
        central.add(float(figure.central), **labels)
        bounds.add(figure, float(figure.central), **labels)
    for central, bounds in families.values():
        out += [central, *bounds.families()]
    observed = _Family("ecometer_forecast_observed_ratio", "gauge", "Fraction of the job the forecast rests on.")
    observed.add(float(fc.basis.get("observed_fraction", 0.0)))
    coverage = _Family("ecometer_forecast_coverage_ratio", "gauge", "Probability the forecast's intervals claim.")
    coverage.add(float(fc.coverage))
    return [*out, observed, coverage]


def _live_forecast(meter: Any, total: dict[str, Any]) -> Any:
    if not total:
        return None
    from ecometer.forecast.live import LiveForecast  # imports numpy: only when a total is given

    return LiveForecast(meter, every_s=FORECAST_EVERY_S, **total)


__all__ = ["Exporter", "MetricsState", "escape_label", "format_value", "parse_address", "render", "serve"]
