"""Where in time a run's energy fell: fractions of the IT energy per hour.

The run's own timeline (summed power of every channel, zero-order hold from each point to
the next) is split at every UTC hour boundary and every local hour boundary of the site, so
that hourly and monthly site factors apply to the energy of the hours it was actually used in.
Local time comes from a ``tzinfo``: an IANA zone (``zoneinfo``, daylight saving time
included) or a fixed UTC offset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from ecometer.errors import FootprintError


@dataclass(frozen=True)
class Slice:
    """A part of the run within one UTC hour and one local hour."""

    utc_hour: int  # POSIX seconds // 3600
    local_hour: int  # 0..23
    local_month: int  # 1..12
    fraction: float  # of the run's IT energy
    seconds: float


@dataclass
class Allocation:
    slices: list[Slice]
    method: str  # "timeline" or "uniform"
    points: int


def parse_timestamp(text: str, what: str) -> datetime:
    """An aware UTC datetime from an ISO string (``Z`` allowed; naive means UTC)."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        stamp = datetime.fromisoformat(s)
    except ValueError:
        raise FootprintError(f"{what} {text!r}: expected an ISO-8601 timestamp such as 2025-06-01T13:05:00Z") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)


def _intervals(record: Any) -> tuple[list[tuple[float, float, float]], str, int]:
    """(start_s, end_s, energy_j) pieces of the run from its timeline, or a uniform one."""
    tl = record.timeline
    duration = float(record.duration_s or 0.0)
    t = [float(x) for x in (tl.t_s or [])]
    if t:
        power = [0.0] * len(t)
        for series in tl.power_w.values():
            for i, v in enumerate(series[: len(t)]):
                if v is not None and math.isfinite(v) and v > 0:
                    power[i] += float(v)
        last_end = duration if duration > t[-1] else t[-1] + float(tl.bucket_s or 0.0)
        ends = t[1:] + [last_end]
        pieces = [(a, b, p * (b - a)) for a, b, p in zip(t, ends, power, strict=True) if b > a]
        if sum(e for _, _, e in pieces) > 0:
            return pieces, "timeline", len(t)
    if duration <= 0:
        return [], "none", 0
    return [(0.0, duration, duration)], "uniform", 0


def fixed_offset(hours: float) -> tzinfo:
    """A fixed-offset zone, local = UTC + ``hours``."""
    return timezone(timedelta(hours=hours))


def _offset_s(zone: tzinfo, posix_s: float) -> float:
    offset = datetime.fromtimestamp(posix_s, tz=timezone.utc).astimezone(zone).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def allocate(record: Any, zone: tzinfo) -> Allocation | None:
    """Fractions of the run's energy per (UTC hour, local hour), or None if the run has no time.

    Local hours and months are read in ``zone`` at each instant, so a run across a daylight
    saving change is split where the local clock jumps.
    """
    if not getattr(record, "started_at", ""):
        return None
    start = parse_timestamp(record.started_at, f"record {record.name!r} started_at").timestamp()
    pieces, method, points = _intervals(record)
    if not pieces:
        return None
    total = sum(e for _, _, e in pieces)
    acc: dict[tuple[int, int, int], list[float]] = {}
    for a, b, energy in pieces:
        rate = energy / (b - a)
        t0 = a  # seconds since start; absolute time only to find the hour boundaries
        while t0 < b:
            now = start + t0
            offset = _offset_s(zone, now)
            next_utc = (math.floor(now / 3600.0) + 1) * 3600.0 - start
            next_local = (math.floor((now + offset) / 3600.0) + 1) * 3600.0 - offset - start
            # a zone's offset changes only at a UTC hour boundary for whole-hour zones, and at a local
            # boundary otherwise: both are cut points, so each slice has one offset throughout
            cut = min(b, max(next_utc, t0), max(next_local, t0))
            if cut <= t0:  # rounding put a boundary on t0 itself: step past it
                cut = min(b, t0 + 1e-6)
            local = datetime.fromtimestamp(now, tz=timezone.utc) + timedelta(seconds=offset)  # wall clock
            key = (int(now // 3600), local.hour, local.month)
            slot = acc.setdefault(key, [0.0, 0.0])
            slot[0] += rate * (cut - t0) / total
            slot[1] += cut - t0
            t0 = cut
    slices = [Slice(k[0], k[1], k[2], v[0], v[1]) for k, v in sorted(acc.items())]
    return Allocation(slices, method, points)
