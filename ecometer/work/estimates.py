"""How a work count was obtained, and its interval: a work count can be an estimate too.

A count the job made itself (samples, tokens, ``add_work(n, "flop")``) is exact. A count
ecometer derived (FLOPs from a measured step, from the framework's own formula, or from the
dense-transformer rule) is an estimate: the record keeps, per unit, the method and its
relative bounds in ``record.meta["work_estimates"][unit]``, so the interval scales with
whatever total the record (or a merge of records) ends up with. :func:`work_estimate` reads
it back as an :class:`~ecometer.Estimate`; a FLOP estimate never reads as a measurement.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from ecometer.errors import RecordError
from ecometer.record.estimate import Estimate
from ecometer.record.model import RunRecord

#: the meta key holding work-count estimates, per unit
META_KEY = "work_estimates"


@dataclass(frozen=True)
class WorkMethod:
    """A way of counting work that is not a direct count: its name, relative bounds, basis.

    The true count lies in ``[count x (1 - rel_low), count x (1 + rel_high)]`` (a stated
    bound: uniform, coverage 1.0).
    """

    name: str
    rel_low: float
    rel_high: float
    basis: str

    def to_meta(self, **extra: Any) -> dict[str, Any]:
        return {
            "method": self.name,
            "rel_low": self.rel_low,
            "rel_high": self.rel_high,
            "distribution": "uniform",
            "basis": self.basis,
            **extra,
        }


#: FLOP-counting methods; bounds checked on held-out models in tests/test_flops.py
FLOP_METHODS: dict[str, WorkMethod] = {
    "measured": WorkMethod(
        "measured",
        0.05,
        0.05,
        "one step's matrix-multiply, convolution and attention FLOPs counted by torch's FlopCounterMode, "
        "scaled to every other step by its tokens (or samples); elementwise and optimizer FLOPs are not "
        "counted (the model-FLOP convention); +/-5 % bounds the scaling error when batch shapes vary "
        "(a one-token decoding pass is measured apart from longer passes; attention over a cache that "
        "grows well beyond the model's width is not)",
    ),
    "model": WorkMethod(
        "model",
        0.0,
        1.0,
        "the framework's own count (transformers: floating_point_ops, 6 x non-embedding parameters x "
        "tokens); it leaves out the output projection (the embedding matrix, when tied) and attention, so "
        "the model FLOPs lie between 1 and 1.5 x (1 + embedding / non-embedding parameters) times it "
        "(the bound is set per model: see model_method)",
    ),
    "rule": WorkMethod(
        "rule",
        0.35,
        0.5,
        "dense-transformer rule: 6 x parameters per token (or sample) for a training step, 2 x for a "
        "forward pass; attention adds FLOPs the rule leaves out, layers that need no input gradient "
        "(the first) do fewer: the model FLOPs lie between 0.65 and 1.5 times it",
    ),
}


def model_method(embedding: int, non_embedding: int) -> WorkMethod:
    """The ``model`` method's bounds for one model: its count leaves out the output projection
    (at most the embedding parameters' worth) and attention (at most half the rest, as the rule)."""
    if non_embedding <= 0:
        return FLOP_METHODS["model"]
    high = 1.5 * (1.0 + embedding / non_embedding) - 1.0
    base = FLOP_METHODS["model"]
    basis = f"{base.basis}; this model: {embedding:,} embedding and {non_embedding:,} other parameters"
    return WorkMethod("model", 0.0, round(high, 4), basis)


def note_estimate(meta: MutableMapping[str, Any], unit: str, method: WorkMethod, **extra: Any) -> None:
    """Record in ``meta`` that the ``unit`` count is an estimate obtained by ``method``.

    Raises :class:`~ecometer.errors.RecordError` when the same unit was already noted with
    another method (a record holds one method per unit: counts obtained two ways are not summed).
    """
    table = meta.setdefault(META_KEY, {})
    old = table.get(unit)
    if old is not None and old.get("method") != method.name:
        raise RecordError(
            f"work {unit!r} is already counted by method {old.get('method')!r}; cannot add counts by {method.name!r}"
        )
    table[unit] = method.to_meta(**extra)


def stored_method(meta: Mapping[str, Any], unit: str) -> dict[str, Any] | None:
    """The stored estimate entry of ``unit`` (``None`` when the count is exact)."""
    table = meta.get(META_KEY)
    entry = table.get(unit) if isinstance(table, Mapping) else None
    return entry if isinstance(entry, Mapping) else None


def work_estimate(record: RunRecord, unit: str) -> Estimate:
    """The ``unit`` count of ``record`` as an :class:`~ecometer.Estimate`: exact for a direct
    count, with the stored method's bounds for an estimated one. Raises ``KeyError`` when
    the record counted no ``unit``; :class:`RecordError` for a malformed entry."""
    count = float(record.work[unit])
    entry = stored_method(record.meta, unit)
    if entry is None:
        return Estimate.exact(count, basis="counted")
    try:
        lo, hi = float(entry["rel_low"]), float(entry["rel_high"])
        method = str(entry["method"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordError(f"record {record.name!r}: meta.{META_KEY}.{unit} is malformed ({exc})") from None
    if not (0.0 <= lo < 1.0 and hi >= 0.0):
        raise RecordError(f"record {record.name!r}: meta.{META_KEY}.{unit}: bounds {lo}, {hi} out of range")
    basis = f"estimated ({method}): {entry.get('basis', '')}".rstrip(": ")
    return Estimate.relative(count, lo, hi, distribution="uniform", coverage=1.0, basis=basis)


def describe(record: RunRecord, unit: str) -> str:
    """``"counted"`` or ``"estimated (measured step, -5 %/+5 %)"``: how a count was obtained."""
    entry = stored_method(record.meta, unit)
    if entry is None:
        return "counted"
    lo, hi = float(entry.get("rel_low", 0)), float(entry.get("rel_high", 0))
    return f"estimated ({entry.get('method')}, -{lo:.0%}/+{hi:.0%})"


__all__ = [
    "FLOP_METHODS",
    "META_KEY",
    "WorkMethod",
    "describe",
    "model_method",
    "note_estimate",
    "stored_method",
    "work_estimate",
]
