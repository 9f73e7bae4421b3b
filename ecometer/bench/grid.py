"""The parameter grid of a bench: parameters, configurations, the command of each, the order.

``--param batch_size=8,32 --param precision=fp32,bf16`` makes four configurations (the
cartesian product, in the order given). ``{batch_size}`` in the command's arguments is
replaced by the configuration's value (only names declared with ``--param``: other braces are
left alone, as hyperfine does). A parameter that no argument uses is a warning (it would
label configurations that run the same command), except :data:`POWER_LIMIT`, which the bench
itself applies through NVML.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ecometer.commands.run import parse_meta
from ecometer.errors import UsageError
from ecometer.measuring.paths import safe_name

#: the parameter the bench applies itself: the GPU power limit (W), set through NVML
POWER_LIMIT = "power_limit_w"
ORDERS = ("fixed", "interleaved", "random")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Param:
    """A parameter and its values, typed as ``--meta`` types them (``8`` an int, ``bf16`` text)."""

    name: str
    values: tuple[Any, ...]
    texts: tuple[str, ...]  # the values as given, for the command line


def parse_param(text: str) -> Param:
    """``"batch_size=8,32,128"`` -> a :class:`Param`; a clear error for anything else."""
    name, sep, values = text.partition("=")
    name = name.strip()
    if not sep or not _NAME.match(name):
        raise UsageError(f"--param {text!r}: expected NAME=V1,V2,... with NAME a word of letters, digits and _")
    texts = tuple(v.strip() for v in values.split(","))
    if not values.strip() or any(not t for t in texts):
        raise UsageError(f"--param {text!r}: a value is empty; expected NAME=V1,V2,...")
    dupes = sorted({t for t in texts if texts.count(t) > 1})
    if dupes:
        raise UsageError(f"--param {name}: value(s) {', '.join(dupes)} given twice")
    typed = tuple(parse_meta([f"{name}={t}"])[name] for t in texts)
    if name == POWER_LIMIT:
        bad = [t for t, v in zip(texts, typed, strict=True) if isinstance(v, bool) or not isinstance(v, (int, float))]
        if bad or any(v <= 0 for v in typed):
            raise UsageError(f"--param {POWER_LIMIT}: expected watts > 0, found {', '.join(bad or texts)}")
    return Param(name, typed, texts)


#: most values a scan may make
MAX_SCAN = 1000


def scan_param(name: str, low: str, high: str, step: str = "1") -> Param:
    """hyperfine's ``--parameter-scan``: ``low``, ``low + step``, ... up to ``high`` (integers
    stay integers; a step that does not land on ``high`` stops below it)."""
    try:
        nums = [int(v) for v in (low, high, step)]
    except ValueError:
        try:
            nums = [float(v) for v in (low, high, step)]  # type: ignore[misc]
        except ValueError:
            raise UsageError(f"--param-scan {name} {low} {high} (step {step}): expected numbers") from None
    lo, hi, d = nums
    if not all(map(math.isfinite, nums)) or d <= 0 or hi < lo or (hi - lo) / d >= MAX_SCAN:
        raise UsageError(f"--param-scan {name} {low} {high} (step {step}): expected MIN <= MAX, a step > 0 "
                         f"and at most {MAX_SCAN} values")  # fmt: skip
    count = int((hi - lo) / d + 1e-9) + 1
    values = [lo + i * d for i in range(count)]
    if isinstance(d, float) or isinstance(lo, float):
        values = [round(v, 12) for v in values]
    return parse_param(f"{name}={','.join(repr(v) if isinstance(v, float) else str(v) for v in values)}")


def parse_params(items: Iterable[str], scans: Iterable[Sequence[str]] = ()) -> list[Param]:
    """``--param`` texts and ``--param-scan`` (name, min, max[, step]) tuples, each name once."""
    params = [parse_param(t) for t in items] + [scan_param(*s) for s in scans]
    names = [p.name for p in params]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--param {', '.join(twice)} given twice; give each parameter once with all its values")
    return params


@dataclass(frozen=True)
class Config:
    """One configuration: its parameter values (typed, and as text for the command)."""

    index: int
    values: dict[str, Any]
    texts: dict[str, str]

    @property
    def label(self) -> str:
        """``"batch_size=8, precision=fp32"`` (``"default"`` without parameters)."""
        return ", ".join(f"{k}={v}" for k, v in self.texts.items()) or "default"

    @property
    def key(self) -> str:
        """A file-name-safe id, unique in its bench: ``"c01-batch_size-8_precision-fp32"``."""
        tail = "_".join(f"{k}-{v}" for k, v in self.texts.items())
        return f"c{self.index + 1:02d}" + (f"-{safe_name(tail)}" if tail else "")


def configurations(params: Sequence[Param]) -> list[Config]:
    """The cartesian product of the parameters' values, the first parameter varying slowest."""
    combos = itertools.product(*(range(len(p.values)) for p in params)) if params else [()]
    out = []
    for i, combo in enumerate(combos):
        values = {p.name: p.values[j] for p, j in zip(params, combo, strict=True)}
        texts = {p.name: p.texts[j] for p, j in zip(params, combo, strict=True)}
        out.append(Config(i, values, texts))
    return out


def _pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    names = sorted(names, key=len, reverse=True)
    return re.compile(r"\{(" + "|".join(map(re.escape, names)) + r")\}") if names else None


def command_for(template: Sequence[str], config: Config) -> list[str]:
    """The command of ``config``: each ``{name}`` of a declared parameter replaced by its value."""
    pattern = _pattern(config.texts)
    if pattern is None:
        return list(template)
    return [pattern.sub(lambda m: config.texts[m.group(1)], arg) for arg in template]


def unused_params(template: Sequence[str], params: Sequence[Param]) -> list[str]:
    """Parameters that no argument of ``template`` names (:data:`POWER_LIMIT` is the bench's own)."""
    used = {m.group(1) for arg in template for m in re.finditer(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", arg)}
    return [p.name for p in params if p.name not in used and p.name != POWER_LIMIT]


def check_order(order: str) -> str:
    if order not in ORDERS:
        raise UsageError(f"order {order!r}: expected one of {', '.join(ORDERS)}")
    return order


def round_order(configs: Sequence[Config], order: str, seed: int, round_no: int) -> list[Config]:
    """The configurations of one round, in the bench's order: as given (``interleaved``) or
    a fresh permutation per round drawn from ``seed`` (``random``; the same seed, the same order)."""
    out = list(configs)
    if order == "random":
        random.Random(f"ecometer-bench:{seed}:{round_no}").shuffle(out)
    return out
