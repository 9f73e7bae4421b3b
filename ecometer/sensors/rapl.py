"""RAPL energy counters through Linux powercap (Intel, and AMD Zen on Linux >= 5.8).

What is counted (device ids ``cpu:package-N`` and ``dram:package-N``):

* ``intel-rapl:N`` zones named ``package-N`` (or ``package-N-die-M`` on multi-die parts):
  the whole package, cores and uncore included. Their subzones ``core`` and ``uncore``
  (``intel-rapl:N:M``) are *inside* the package and are never added to it.
* a subzone named ``dram`` sits under its package in sysfs (a quirk of the driver) but
  counts separate energy, the DIMMs of that socket: it is the DRAM sensor's device
  ``dram:package-N``, never added to the package.
* ``psys`` (the platform domain of client parts) contains the package and more: excluded.
* ``intel-rapl-mmio`` / ``intel-rapl-tpmi`` zones are other interfaces to the same counters:
  only one interface is used (``intel-rapl`` first), so nothing is counted twice.
* without powercap RAPL zones, AMD's ``amd_energy`` hwmon driver (``Esocket*`` channels,
  removed from Linux 5.13) is used if present.

Counters (``energy_uj``) wrap at ``max_energy_range_uj``. Between two reads ``dt`` apart
the counter may have wrapped ``k`` times only if ``d + k x range <= P_max x dt`` with
``d`` the modular difference and ``P_max`` the domain's plausible maximum power
(``ecometer/data/rapl.json``, or the zone's own constraints if higher). When only ``k = 0``
fits, the energy is exact whatever the wrap. When several ``k`` fit (reads further apart
than :meth:`RaplSensor.min_read_interval_s`, e.g. a stalled process), ``k`` is chosen from
the domain's running mean power and the choice is reported in the notes; without a
running mean the fewest wraps are assumed (a lower bound). A difference that no number
of wraps explains (counter going backwards, or jumping beyond ``P_max``) is replaced by
the running mean power x ``dt``, re-based and reported. The sampler's :meth:`poll` reads
the counters at every tick, which keeps every interval far inside the safe range.

Since the November 2020 fix for the PLATYPUS power side channel (CVE-2020-8694)
``energy_uj`` is readable only by root; :meth:`RaplSensor.open` then raises
:class:`SensorUnavailable` saying how to grant access.
"""

from __future__ import annotations

import glob
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ecometer.errors import SensorUnavailable
from ecometer.files import datafiles
from ecometer.record.estimate import Estimate
from ecometer.sensors.base import Device, Sensor, check_scope, declared_factor
from ecometer.sensors.cpu_model import read_cpuinfo
from ecometer.sensors.memory import memory_share
from ecometer.sensors.model import step_points
from ecometer.sensors.usage import PROCESS_ATTRIBUTION, HostUsage, ShareTracker, close_fd

log = logging.getLogger("ecometer.sensors")

POWERCAP_ROOT = "/sys/class/powercap"
HWMON_ROOT = "/sys/class/hwmon"
INTERFACES = ("intel-rapl", "intel-rapl-tpmi", "intel-rapl-mmio")
_ZONE = re.compile(r"^(?P<ctl>intel-rapl(?:-tpmi|-mmio)?):(?P<i>\d+)(?::(?P<j>\d+))?$")
_KIND = {"cpu": "package", "dram": "dram"}
_MAX_NOTES = 20


# ---- wrap arithmetic ---------------------------------------------------------------------
@dataclass(frozen=True)
class CounterDelta:
    """Energy between two raw counter reads and how it was inferred."""

    energy_uj: float
    wraps: int  # wraps assumed between the two reads
    k_max: int  # most extra wraps the power bound allowed (0: exact)
    guessed: bool  # the wrap count (or the energy) was chosen, not implied
    anomaly: str | None = None


def counter_delta(
    prev_uj: float,
    cur_uj: float,
    modulus_uj: float,
    dt_s: float,
    max_power_w: float,
    ref_power_w: float | None = None,
) -> CounterDelta:
    """Energy (uJ) between reads ``prev_uj`` and ``cur_uj`` of a counter wrapping at ``modulus_uj``.

    ``dt_s`` seconds apart; ``max_power_w`` bounds the plausible energy; ``ref_power_w`` (the
    running mean power) picks the wrap count when the bound allows several.
    """
    m = float(modulus_uj)
    bound = max(max_power_w, 0.0) * max(dt_s, 0.0) * 1e6
    base = 1 if cur_uj < prev_uj else 0
    d = cur_uj - prev_uj + base * m
    if d > bound:
        est = ref_power_w * dt_s * 1e6 if ref_power_w is not None else 0.0
        if base:
            what = f"went backwards by {(prev_uj - cur_uj) / 1e6:.3f} J"
        else:
            what = f"jumped by {d / 1e6:.3f} J"
        ref = f"{ref_power_w:.1f} W running mean" if ref_power_w is not None else "0 W (no running mean yet)"
        anomaly = (
            f"counter {what} in {dt_s:.3f} s, which no number of wraps explains below {max_power_w:g} W; "
            f"that interval was replaced by {ref} and the counter re-based"
        )
        return CounterDelta(est, 0, 0, True, anomaly)
    k_max = int((bound - d) // m) if m > 0 else 0
    if k_max <= 0:
        return CounterDelta(d, base, 0, False)
    if ref_power_w is None:
        k = 0
    else:
        k = min(max(round((ref_power_w * dt_s * 1e6 - d) / m), 0), k_max)
    return CounterDelta(d + k * m, base + k, k_max, True)


# ---- discovery ---------------------------------------------------------------------------
@dataclass
class RaplDomain:
    """One counted energy domain and its running state (energies in J, times in s)."""

    device_id: str
    zone: str
    energy_path: str
    kind: str  # "package" | "dram"
    modulus_uj: float
    max_power_w: float
    fd: int | None = None
    last_raw: int | None = None
    last_t: float = 0.0
    cum_j: float = 0.0
    ref_power_w: float | None = None
    point_t: float = 0.0
    point_cum_j: float = 0.0
    wraps: int = 0
    guessed: int = 0


@dataclass
class Discovery:
    domains: list[RaplDomain] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    interface: str | None = None
    reason: str = ""


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return None


def _read_int(path: str) -> int | None:
    text = _read_text(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _zone_max_power(zdir: str, kind: str, defaults: dict[str, float]) -> float:
    """The larger of the data-file bound and the zone's own constraints (W)."""
    best = float(defaults[kind])
    for path in glob.glob(os.path.join(zdir, "constraint_*_max_power_uw")):
        v = _read_int(path)
        if v and v > 0:
            best = max(best, v / 1e6)
    for path in glob.glob(os.path.join(zdir, "constraint_*_power_limit_uw")):
        v = _read_int(path)
        if v and v > 0:
            best = max(best, 2.0 * v / 1e6)
    return best


def discover_domains(
    root: str = POWERCAP_ROOT, hwmon_root: str = HWMON_ROOT, defaults: dict[str, float] | None = None
) -> Discovery:
    """Package and DRAM domains under ``root`` (or ``amd_energy`` under ``hwmon_root``)."""
    if defaults is None:
        mp = datafiles.load("rapl.json")["max_power_w"]
        defaults = {"package": float(mp["package"]), "dram": float(mp["dram"])}
    out = Discovery()
    zones: dict[str, list[tuple[int, int | None]]] = {}
    if os.path.isdir(root):
        for entry in os.listdir(root):
            m = _ZONE.match(entry)
            if m:
                j = m.group("j")
                zones.setdefault(m.group("ctl"), []).append((int(m.group("i")), int(j) if j is not None else None))
        if not zones:
            out.reason = (
                f"RAPL: {root} has no intel-rapl zones (the intel_rapl_msr driver is not loaded, or the CPU has no "
                "RAPL: try `sudo modprobe intel_rapl_msr`)"
            )
    else:
        out.reason = f"RAPL: {root} not present (VM or container: hypervisors do not expose RAPL)"
    ctl = next((c for c in INTERFACES if c in zones), None)
    out.interface = ctl
    for other in INTERFACES:
        if other in zones and other != ctl:
            out.excluded.append(f"{other}:* zones are another interface to the same counters as {ctl}:*; not used")
    if ctl is not None:
        names: dict[int, str] = {}
        for i, j in sorted(zones[ctl], key=lambda z: (z[0], -1 if z[1] is None else z[1])):
            zone = f"{ctl}:{i}" if j is None else f"{ctl}:{i}:{j}"
            zdir = os.path.join(root, zone)
            name = _read_text(os.path.join(zdir, "name")) or "?"
            if j is None:
                names[i] = name
                if name.startswith("package"):
                    kind, dev = "package", f"cpu:{name}"
                elif name == "dram":
                    kind, dev = "dram", f"dram:{zone.replace(':', '-')}"
                elif name == "psys":
                    out.excluded.append(f"{zone} (psys, the platform domain: contains the package and more) excluded")
                    continue
                else:
                    out.excluded.append(f"{zone} ({name}) is not a package or DRAM domain; excluded")
                    continue
            else:
                parent = names.get(i, f"{ctl}:{i}")
                if name == "dram":
                    kind, dev = "dram", f"dram:{parent}"
                else:
                    out.excluded.append(f"{zone} ({name}) is inside {parent}; not added to it")
                    continue
            modulus = _read_int(os.path.join(zdir, "max_energy_range_uj"))
            if not modulus or modulus <= 0:
                out.excluded.append(f"{zone} ({name}) has no readable max_energy_range_uj; excluded")
                continue
            out.domains.append(
                RaplDomain(
                    dev,
                    zone,
                    os.path.join(zdir, "energy_uj"),
                    kind,
                    float(modulus),
                    _zone_max_power(zdir, kind, defaults),
                )
            )
    if not out.domains:
        hw = _discover_amd_energy(hwmon_root, defaults)
        if hw.domains:
            hw.excluded = out.excluded + hw.excluded
            return hw
    return out


def _discover_amd_energy(hwmon_root: str, defaults: dict[str, float]) -> Discovery:
    out = Discovery()
    for hdir in sorted(glob.glob(os.path.join(hwmon_root, "hwmon*"))):
        if _read_text(os.path.join(hdir, "name")) != "amd_energy":
            continue
        cores = 0
        for label_path in sorted(glob.glob(os.path.join(hdir, "energy*_label"))):
            label = _read_text(label_path) or ""
            m = re.fullmatch(r"Esocket(\d+)", label)
            if not m:
                cores += label.startswith("Ecore")
                continue
            inp = label_path[: -len("_label")] + "_input"
            zone = f"{os.path.basename(hdir)}/{os.path.basename(inp)}"
            # the driver accumulates the 32-bit MSR into a 64-bit value: no wrap in practice
            out.domains.append(
                RaplDomain(f"cpu:package-{m.group(1)}", zone, inp, "package", 2.0**64, defaults["package"])
            )
        if cores:
            out.excluded.append(
                f"{os.path.basename(hdir)}: {cores} per-core amd_energy channels are inside the sockets"
            )
        out.interface = "amd_energy"
    return out


def grant_hint(path: str, root: str = POWERCAP_ROOT) -> str:
    """How to make RAPL counters readable without root."""
    if "intel-rapl" in path:
        pattern = f"{root}/intel-rapl:*/energy_uj"
    else:
        pattern = os.path.join(os.path.dirname(path), "energy*_input")
    return (
        f"RAPL: {path} is readable only by root (restricted since the November 2020 fix for the PLATYPUS power "
        f"side channel, CVE-2020-8694). Grant read access with `sudo chmod o+r {pattern}` (until reboot), or "
        f"persistently with a systemd-tmpfiles rule `z {pattern} 0444 - - -` (or a udev rule, or chgrp to a "
        "group such as powercap plus chmod g+r), or run as root; this opens the side channel to local users, "
        "so do it on machines you trust"
    )


# ---- the sensor ----------------------------------------------------------------------------
class RaplSensor(Sensor):
    """RAPL package (``component="cpu"``) or DRAM (``component="dram"``) energy counters.

    ``RaplSensor(component="cpu", *, scope="machine", root="/sys/class/powercap",
    hwmon_root="/sys/class/hwmon", max_power_w=None, clock=time.monotonic, usage=None,
    vendor=None)``. ``max_power_w`` overrides the plausible maximum power of every domain
    (tests); ``usage`` shares a :class:`~ecometer.sensors.usage.HostUsage` for process
    shares; ``vendor`` (``/proc/cpuinfo`` ``vendor_id``) picks the uncertainty.
    """

    name = "rapl"
    method = "counter"
    pollable = True

    def __init__(
        self,
        component: str = "cpu",
        *,
        scope: str = "machine",
        root: str = POWERCAP_ROOT,
        hwmon_root: str = HWMON_ROOT,
        max_power_w: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        usage: HostUsage | None = None,
        vendor: str | None = None,
    ) -> None:
        if component not in _KIND:
            raise ValueError(f"RaplSensor component {component!r}: expected 'cpu' or 'dram'")
        self.component = component
        self.name = "rapl" if component == "cpu" else "rapl-dram"
        self.scope = check_scope(scope)
        self.root = root
        self.hwmon_root = hwmon_root
        self._max_power = max_power_w
        self._clock = clock
        self._usage = usage
        self._vendor = vendor
        self._data = datafiles.load("rapl.json")
        self.domains: list[RaplDomain] = []
        self.discovery: Discovery | None = None
        self._notes: dict[str, int] = {}
        self._read_failed: set[str] = set()  # devices whose failed read was logged
        self._lock = threading.Lock()
        self._shares: ShareTracker | None = None
        self._last_poll_now: float | None = None
        self._model = ""
        self._open = False

    # ---- lifecycle ---------------------------------------------------------------------
    def open(self) -> None:
        if self._open:
            return
        disc = discover_domains(self.root, self.hwmon_root)
        self.discovery = disc
        kind = _KIND[self.component]
        domains = [d for d in disc.domains if d.kind == kind]
        if not domains:
            if disc.domains and kind == "dram":
                raise SensorUnavailable(
                    "RAPL: no DRAM domain (AMD CPUs and most client Intel CPUs have none; "
                    f"found only {', '.join(d.zone for d in disc.domains)})"
                )
            raise SensorUnavailable(disc.reason or f"RAPL: no {kind} domain found under {self.root}")
        if self._max_power is not None:
            for d in domains:
                d.max_power_w = float(self._max_power)
        try:
            for d in domains:
                d.fd = os.open(d.energy_path, os.O_RDONLY)
                os.pread(d.fd, 32, 0)  # some kernels check permission on read, not open
        except PermissionError as exc:
            self._close_fds(domains)
            raise SensorUnavailable(grant_hint(d.energy_path, self.root)) from exc
        except OSError as exc:
            self._close_fds(domains)
            raise SensorUnavailable(f"RAPL: cannot read {d.energy_path}: {exc}") from exc
        t = self._clock()
        for d in domains:
            d.last_raw = self._raw(d)
            d.last_t = d.point_t = t
            d.cum_j = d.point_cum_j = 0.0
        self.domains = domains
        cpu = read_cpuinfo()
        self._model = cpu.model_name
        if self._vendor is None:
            self._vendor = cpu.vendor
        if self.scope == "process":
            if self._usage is None:
                self._usage = HostUsage(self.scope)
            self._usage.acquire()
            self._shares = ShareTracker(self._usage, tree=True)
            self._shares.start(t)
        self._last_poll_now = t
        self._open = True

    @staticmethod
    def _close_fds(domains: list[RaplDomain]) -> None:
        for d in domains:
            close_fd(d.fd)
            d.fd = None

    def close(self) -> None:
        with self._lock:
            self._close_fds(self.domains)
            if self._open and self._usage is not None and self.scope == "process":
                self._usage.release()
            self._open = False

    # ---- reading -----------------------------------------------------------------------
    @staticmethod
    def _raw(d: RaplDomain) -> int:
        assert d.fd is not None
        return int(os.pread(d.fd, 32, 0).split()[0])

    def _note(self, text: str) -> None:
        if text in self._notes or len(self._notes) < _MAX_NOTES:
            self._notes[text] = self._notes.get(text, 0) + 1

    def _read_all(self) -> float:
        """Read every domain, fold wraps into the cumulative energies; returns the read time."""
        tau = float(self._data["reference_power_tau_s"]["value"])
        t = self._clock()
        for d in self.domains:
            if d.fd is None or d.last_raw is None:
                continue
            try:
                raw = self._raw(d)
            except (OSError, ValueError, IndexError) as exc:
                self._note(f"{d.device_id}: reads of {d.energy_path} failed; skipped")
                if d.device_id not in self._read_failed:
                    self._read_failed.add(d.device_id)
                    log.warning(
                        "RAPL: a read of %s failed (%s); skipped (further failures are counted in the notes)",
                        d.energy_path,
                        exc,
                    )
                continue
            dt = t - d.last_t
            if dt <= 0:  # no time has passed: keep the raw value for the next read
                continue
            res = counter_delta(d.last_raw, raw, d.modulus_uj, max(dt, 0.0), d.max_power_w, d.ref_power_w)
            d.cum_j += res.energy_uj / 1e6
            d.wraps += res.wraps
            if res.anomaly:
                self._note(f"{d.device_id}: {res.anomaly}")
            elif res.guessed:
                d.guessed += 1
                how = (
                    "the running mean power"
                    if d.ref_power_w is not None
                    else "no running mean: fewest wraps (a lower bound)"
                )
                log.debug(
                    "RAPL %s: reads %.1f s apart allowed up to %d extra wraps; %d assumed (running mean %s W)",
                    d.device_id,
                    dt,
                    res.k_max,
                    res.wraps,
                    d.ref_power_w,
                )
                self._note(
                    f"{d.device_id}: reads too far apart allowed extra counter wraps; their number was assumed "
                    f"from {how} (read at least every {self.min_read_interval_s():.0f} s to stay exact)"
                )
            elif dt > 0:
                p = res.energy_uj / 1e6 / dt
                a = min(dt / tau, 1.0)
                d.ref_power_w = p if d.ref_power_w is None else d.ref_power_w + a * (p - d.ref_power_w)
            d.last_raw, d.last_t = raw, t
        return t

    def min_read_interval_s(self) -> float:
        """Longest gap (s) between reads that keeps wrap counting exact: read at least this often.

        ``safety x max_energy_range / max_power`` over the counted domains (``inf`` if none).
        With Intel's usual 262 kJ range and a 1000 W bound that is about 131 s; AMD's
        65 kJ range gives about 33 s. The sampler's poll() reads far more often.
        """
        factor = float(self._data["read_safety_factor"]["value"])
        spans = [d.modulus_uj / 1e6 / d.max_power_w for d in self.domains if d.max_power_w > 0]
        return factor * min(spans) if spans else math.inf

    # ---- sensor protocol -----------------------------------------------------------------
    def devices(self) -> list[Device]:
        out = []
        for d in self.domains:
            model = self._model if d.kind == "package" else "DRAM (RAPL)"
            facts = {
                "zone": d.zone,
                "max_energy_range_uj": int(d.modulus_uj) if d.modulus_uj < 2**63 else None,
                "max_power_w": d.max_power_w,
            }
            out.append(Device(d.device_id, model=model, facts=facts))
        return out

    def poll(self, now: float) -> dict[str, list[tuple[float, float]]]:
        with self._lock:
            if not self._open:
                return {}
            t = self._read_all()
            t_prev = self._last_poll_now
            out: dict[str, list[tuple[float, float]]] = {}
            for d in self.domains:
                dt = t - d.point_t
                if dt <= 0 or t_prev is None or now <= t_prev:
                    continue
                watts = (d.cum_j - d.point_cum_j) / dt
                out[d.device_id] = step_points(t_prev, now, watts)
                d.point_t, d.point_cum_j = t, d.cum_j
            if out:
                self._last_poll_now = now
            return out

    def read_counters(self) -> dict[str, float] | None:
        with self._lock:
            if not self._open:
                return None
            self._read_all()
            return {d.device_id: d.cum_j for d in self.domains}

    def share(self, now: float) -> dict[str, float]:
        """Process scope: the tree's share of each domain's energy since the previous call."""
        if self.scope != "process" or self._shares is None:
            return {}
        got = self._shares.update(now)
        iv = got if got is not None else self._shares.last
        if self.component == "cpu":
            value = iv.cpu_share
        else:
            value = memory_share(datafiles.load("memory_power.json"), iv.u, iv.cpu_share, iv.rss_share)
        return {d.device_id: value for d in self.domains}

    def uncertainty(self) -> Estimate:
        table = self._data["uncertainty"]
        vendor = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "amd"}.get(
            self._vendor or "", "other"
        )
        kind = _KIND[self.component]
        entry = {**table[vendor], **table[vendor][kind]}  # the bound per domain, its distribution per vendor
        return declared_factor(entry, table[vendor]["basis"], f"rapl.json uncertainty.{vendor}.{kind}")

    def notes(self) -> list[str]:
        out: list[str] = []
        if self.domains:
            zones = ", ".join(f"{d.zone} -> {d.device_id}" for d in self.domains)
            iface = self.discovery.interface if self.discovery else "?"
            out.append(
                f"RAPL energy counters ({iface}): {zones}; wrap-safe when read at least every "
                f"{self.min_read_interval_s():.0f} s (the sampler reads at every tick)"
            )
        if self.component == "cpu":
            out.append("package energy includes cores and uncore; DRAM is separate and not included")
        else:
            out.append("DRAM domains sit under their package in sysfs but count separate energy (the socket's DIMMs)")
        if self.discovery:
            out.extend(self.discovery.excluded)
        wraps = {d.device_id: d.wraps for d in self.domains if d.wraps}
        if wraps:
            out.append("counter wraps handled: " + ", ".join(f"{k} x{v}" for k, v in wraps.items()))
        out.extend(text if n == 1 else f"{text} (x{n})" for text, n in self._notes.items())
        return out

    def attribution(self) -> str | None:
        if self.scope != "process":
            return None
        if self.component == "cpu":
            return PROCESS_ATTRIBUTION.format(what="RAPL package energy", extra="")
        return (
            "process scope: the RAPL DRAM energy is attributed to this process tree like the memory model does: "
            "its background part by the tree's resident memory over total memory, its activity part by the "
            "tree's share of busy CPU time; an attribution, not a measurement"
        )


__all__ = ["CounterDelta", "RaplDomain", "RaplSensor", "counter_delta", "discover_domains", "grant_hint"]
