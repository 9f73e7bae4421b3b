"""A power timeline of bounded size for runs of any length.

Energy (J) is added per channel over time intervals; it is kept in fixed-width buckets.
When the bucket count would exceed ``max_buckets``, neighbouring buckets are merged and the
width doubles, so memory stays bounded while the energy in the timeline stays exact: the
sum over buckets always equals the energy added. The power of a bucket is its energy over
its width (W). Work counted (:meth:`BucketTimeline.add_work`) is kept in the same buckets,
so the record shows how the job progressed over time.
"""

from __future__ import annotations

from ecometer.record.model import Timeline


class BucketTimeline:
    """Per-channel energy in equal-width time buckets, starting at ``t0`` (monotonic s)."""

    def __init__(self, t0: float, bucket_s: float = 0.1, max_buckets: int = 2048) -> None:
        if bucket_s <= 0 or max_buckets < 4:
            raise ValueError("bucket_s must be > 0 and max_buckets >= 4")
        self.t0 = t0
        self.bucket_s = bucket_s
        self.max_buckets = max_buckets - (max_buckets % 2)
        self._energy: dict[str, list[float]] = {}
        self._work: dict[str, list[float]] = {}  # units of work per bucket, per unit
        self._n = 0  # number of buckets in use (covering up to the latest time added)

    def add(self, channel: str, t_start: float, t_end: float, energy_j: float) -> None:
        """Spread ``energy_j`` uniformly over ``[t_start, t_end)`` for ``channel``."""
        a = max(t_start - self.t0, 0.0)
        b = max(t_end - self.t0, 0.0)
        if b <= a:
            if energy_j:
                self._deposit(channel, self._index(a), energy_j)
            return
        while b > self.bucket_s * self.max_buckets:
            self._coarsen()
        rate = energy_j / (b - a)
        i = int(a // self.bucket_s)
        while a < b:
            edge = min((i + 1) * self.bucket_s, b)
            self._deposit(channel, i, rate * (edge - a))
            a = edge
            i += 1

    def add_work(self, unit: str, t: float, amount: float) -> None:
        """Count ``amount`` units of work done at ``t`` (monotonic s) in the bucket holding ``t``."""
        self._deposit(unit, self._index(max(t - self.t0, 0.0)), amount, self._work)

    def _index(self, offset: float) -> int:
        while offset >= self.bucket_s * self.max_buckets:
            self._coarsen()
        return int(offset // self.bucket_s)

    def _deposit(self, channel: str, index: int, amount: float, store: dict[str, list[float]] | None = None) -> None:
        index = min(index, self.max_buckets - 1)
        series = (self._energy if store is None else store).setdefault(channel, [])
        if len(series) <= index:
            series.extend([0.0] * (index + 1 - len(series)))
        series[index] += amount
        self._n = max(self._n, index + 1)

    def _coarsen(self) -> None:
        for store in (self._energy, self._work):
            for channel, series in store.items():
                if len(series) % 2:
                    series.append(0.0)
                store[channel] = [series[i] + series[i + 1] for i in range(0, len(series), 2)]
        self._n = (self._n + 1) // 2
        self.bucket_s *= 2.0

    def energy_j(self, channel: str) -> float:
        return sum(self._energy.get(channel, ()))

    def channels(self) -> list[str]:
        return list(self._energy)

    def to_record(self, until: float) -> Timeline:
        """Average power per bucket (W) at bucket mid-points, up to ``until`` (monotonic s).

        The last bucket's power uses the part of it that has elapsed.
        """
        span = max(until - self.t0, 0.0)
        n = self._n
        t_s: list[float] = []
        widths: list[float] = []
        for i in range(n):
            start = i * self.bucket_s
            width = min(self.bucket_s, span - start) if span > start else self.bucket_s
            width = max(width, 1e-9)
            t_s.append(start + width / 2.0)
            widths.append(width)
        power: dict[str, list[float | None]] = {}
        for channel, series in self._energy.items():
            power[channel] = [(series[i] / widths[i]) if i < len(series) else 0.0 for i in range(n)]
        work = {unit: [series[i] if i < len(series) else 0.0 for i in range(n)] for unit, series in self._work.items()}
        return Timeline(t_s=t_s, power_w=power, bucket_s=self.bucket_s, work=work)
