"""A model's FLOPs, step by step, for the user: measured once, then scaled; or a stated formula.

:class:`StepFlops` counts one model's training steps (forward, backward, optimizer) and
forward passes. Methods (``method=``):

- ``"measured"``: the first step of each kind runs under torch's
  :class:`~torch.utils.flop_counter.FlopCounterMode`; later steps are scaled from it by their
  tokens (samples when a batch has no tokens). After the first step, counting costs one
  multiplication per step: the accelerator is never synchronised;
- ``"model"``: the framework's own count (transformers' ``floating_point_ops``);
- ``"rule"``: the dense-transformer rule, 6 x parameters per token (or sample) for a training
  step, 2 x for a forward pass. Refused for a model with convolutions, where weights are reused
  across positions and the rule does not hold;
- ``"auto"``: ``measured`` where torch has the FLOP counter, else ``model``, else ``rule``.

Each is an estimate with the bounds of :data:`ecometer.work.estimates.FLOP_METHODS`, written to
the record's meta (``work_estimates``). A model whose parameters cannot all be counted (lazy
modules not yet materialised) is said once in the log and in the meta, and its countable
parameters are used.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ecometer.errors import InputError
from ecometer.work.estimates import FLOP_METHODS, WorkMethod, model_method

log = logging.getLogger("ecometer.work")

METHODS = ("auto", "measured", "model", "rule")
#: FLOP per parameter per token (or sample): a training step (2 forward + 4 backward), a forward pass
RULE_FACTOR = {"train": 6.0, "forward": 2.0, "decode": 2.0}


@dataclass
class ParamCount:
    """Parameters of a model: those that could be counted, and what could not (said once)."""

    counted: int = 0
    uncounted: list[str] = field(default_factory=list)
    has_conv: bool = False


def count_parameters(model: Any) -> ParamCount:
    """Count ``model``'s parameters; lazy (uninitialised) parameters are listed, not counted."""
    out = ParamCount()
    named = getattr(model, "named_parameters", None)
    if named is None:
        out.uncounted.append(f"{type(model).__name__} has no named_parameters()")
        return out
    for name, p in named():
        try:
            out.counted += int(p.numel())
        except (ValueError, RuntimeError):  # torch.nn.UninitializedParameter: shape not known yet
            out.uncounted.append(name)
    modules = getattr(model, "modules", None)
    if modules is not None:
        out.has_conv = any("Conv" in type(m).__name__ for m in modules())
    return out


def flop_counter_available() -> bool:
    """Whether torch's FLOP counter can be imported here."""
    try:
        from torch.utils.flop_counter import FlopCounterMode  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_method(method: str, model: Any) -> str:
    """The method ``auto`` stands for with this model (or ``method`` itself, validated)."""
    if method not in METHODS:
        raise InputError(f"flops method {method!r}: expected one of {', '.join(METHODS)}")
    if method != "auto":
        return method
    if flop_counter_available():
        return "measured"
    return "model" if model_flop_per_token(model) is not None else "rule"


def model_flop_per_token(model: Any) -> float | None:
    """Training FLOP per token by the framework's own count, or None where it has none.

    transformers: a model's ``floating_point_ops`` (4.x) or the Trainer's formula on
    ``num_parameters(exclude_embeddings=True)`` (5.x): 6 x non-embedding parameters per token.
    """
    fpo = getattr(model, "floating_point_ops", None)
    if callable(fpo):
        key = getattr(model, "main_input_name", "input_ids")
        return float(fpo({key: _Numel(1)}))
    num = getattr(model, "num_parameters", None)
    if callable(num):
        return 6.0 * float(num(exclude_embeddings=True))
    return None


def embedding_split(model: Any) -> tuple[int, int] | None:
    """(embedding, non-embedding) parameters of a transformers model, or None for another model."""
    num = getattr(model, "num_parameters", None)
    if not callable(num):
        return None
    total, rest = int(num()), int(num(exclude_embeddings=True))
    return total - rest, rest


class _Numel:
    """Stands for an input of ``n`` elements where a framework's formula only reads its size."""

    def __init__(self, n: int) -> None:
        self.n = n

    def numel(self) -> int:
        return self.n


class StepFlops:
    """FLOPs of one model's steps (``"train"``) and forward passes (``"forward"``; ``"decode"``: one
    token per sequence, as generation with a cache does).

    Call :meth:`begin` before a step and :meth:`end` after it with the step's samples and
    tokens; ``end`` returns the step's FLOPs (0 when they cannot be counted, said once).
    """

    def __init__(self, model: Any, method: str = "auto", name: str = "model") -> None:
        self.model = model
        self.name = name
        self.method = resolve_method(method, model)
        self.per_unit: dict[str, tuple[str, float]] = {}  # kind -> (per "token"/"sample", FLOP)
        self.problems: list[str] = []
        self._mode: Any = None
        self._mode_kind: str | None = None
        self._params: ParamCount | None = None

    @property
    def work_method(self) -> WorkMethod:
        if self.method == "model":
            split = embedding_split(self.model)
            if split is not None:
                return model_method(*split)
        return FLOP_METHODS[self.method]

    # ---- a step ----------------------------------------------------------------------
    def begin(self, kind: str = "train") -> None:
        """Start a step of ``kind``; the first ``measured`` one runs under the FLOP counter."""
        if self.method != "measured" or kind in self.per_unit or self._mode is not None:
            return
        from torch.utils.flop_counter import FlopCounterMode

        self._mode = FlopCounterMode(display=False)
        self._mode.__enter__()
        self._mode_kind = kind

    @property
    def measuring(self) -> bool:
        return self._mode is not None

    def end(self, samples: int | None, tokens: int | None, kind: str = "train") -> float:
        """The FLOPs of the step of ``kind`` that just ended (samples and tokens it did)."""
        basis, n = ("token", tokens) if tokens else ("sample", samples)
        if self._mode is not None and self._mode_kind == kind:
            total = self._close()
            if n:
                self.per_unit[kind] = (basis, total / n)
            return total
        if not n:
            return 0.0
        if kind not in self.per_unit:
            ratio = self._formula(kind, basis)
            if ratio is None:
                return 0.0
            self.per_unit[kind] = (basis, ratio)
        unit, ratio = self.per_unit[kind]
        if unit != basis:  # a step without tokens after steps with them: scale by nothing known
            self._problem(f"{self.name}: a {kind} step had no {unit}s to scale its FLOPs by; not counted")
            return 0.0
        return ratio * n

    def close(self) -> None:
        """Leave the FLOP counter if a measured step is still open (it is then not used)."""
        if self._mode is not None:
            self._close()

    def _close(self) -> float:
        mode, self._mode, self._mode_kind = self._mode, None, None
        mode.__exit__(None, None, None)
        return float(mode.get_total_flops())

    # ---- formulas --------------------------------------------------------------------------
    def _formula(self, kind: str, basis: str) -> float | None:
        """FLOP per token/sample by the model's own count or the rule (None: cannot count)."""
        if self.method == "model":
            per_token = model_flop_per_token(self.model)
            if per_token is None or basis != "token":
                self._problem(f"{self.name}: the model gives no FLOP count of its own for {basis}s; not counted")
                return None
            return per_token if kind == "train" else per_token / 3.0
        params = self.params()
        if params.has_conv:
            self._problem(
                f"{self.name}: the dense-transformer rule does not hold for a model with convolutions; "
                "no FLOPs counted (use method='measured')"
            )
            return None
        if not params.counted:
            self._problem(f"{self.name}: no parameter could be counted; no FLOPs counted")
            return None
        return RULE_FACTOR[kind] * params.counted

    def params(self) -> ParamCount:
        """The model's parameter count (computed once; uncounted ones said once)."""
        if self._params is None:
            self._params = count_parameters(self.model)
            if self._params.uncounted:
                shown = ", ".join(self._params.uncounted[:5]) + (" ..." if len(self._params.uncounted) > 5 else "")
                self._problem(
                    f"{self.name}: {len(self._params.uncounted)} parameter(s) cannot be counted (not materialised: "
                    f"{shown}); FLOPs by rule count the {self._params.counted:,} that can"
                )
        return self._params

    def _problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)
            log.warning("%s", text)

    def meta(self) -> dict[str, Any]:
        """What goes into ``record.meta["work_estimates"]["flop"]`` for this counter."""
        extra: dict[str, Any] = {}
        if self.per_unit:
            extra["per_unit"] = {kind: {"per": unit, "flop": value} for kind, (unit, value) in self.per_unit.items()}
        if self.problems:
            extra["problems"] = list(self.problems)
        return self.work_method.to_meta(**extra)


__all__ = [
    "METHODS",
    "RULE_FACTOR",
    "ParamCount",
    "StepFlops",
    "count_parameters",
    "model_flop_per_token",
    "resolve_method",
]
