"""FLOPs of a plain torch loop, counted in one call.

    from ecometer.integrations.torchloop import count_flops
    with ecometer.measure("train", standard="ecometer-training") as meter:
        flops = count_flops(meter, model)          # hooks on the model; nothing else changes
        for x, y in loader:
            loss = loss_fn(model(x), y); loss.backward(); opt.step(); opt.zero_grad()
        flops.close()                               # optional: the meter's stop does not need it

Every forward pass of ``model`` is counted: in training mode as a training step (forward,
backward, optimizer: from this forward to the next), in eval mode as a forward pass. Samples
are a batch's first dimension, tokens the elements of ``input_ids`` (read from shapes, no
device synchronisation); FLOPs per :class:`ecometer.work.flops.StepFlops` (``method``:
``auto``, ``measured``, ``model``, ``rule``). The work goes to the meter as ``sample``,
``token`` (when there are tokens) and ``flop``, and the meta says how FLOPs were obtained
(``work_estimates.flop``). This module imports nothing heavy; torch only to measure a step.
"""

from __future__ import annotations

from typing import Any

from ecometer.integrations.fit import batch_size_and_tokens, flop_extras, meter_meta
from ecometer.work.estimates import note_estimate
from ecometer.work.flops import StepFlops


class FlopHooks:
    """Forward hooks on one model that count its samples, tokens and FLOPs into a meter."""

    def __init__(self, meter: Any, model: Any, method: str = "auto", count_samples: bool = True) -> None:
        self.meter = meter
        self.model = model
        self.count_samples = count_samples
        self.flops = StepFlops(model, method, name=type(model).__name__)
        self._pending: tuple[int | None, int | None] | None = None  # a training step still running
        self._noted = (0, 0)
        self._forward: tuple[int | None, int | None, str] | None = None  # an evaluation pass under way
        self._handles = [
            model.register_forward_pre_hook(self.on_forward_pre, with_kwargs=True),
            model.register_forward_hook(self.on_forward, with_kwargs=True),
        ]
        self._note()

    def _note(self) -> None:
        note_estimate(meter_meta(self.meter), "flop", self.flops.work_method, **flop_extras(self.flops))

    def on_forward_pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._finish_step()
        samples, tokens = _shape(args, kwargs)
        if not getattr(module, "training", False):
            # one token per sequence (decoding with a cache) costs per token unlike a longer pass: measured apart
            kind = "decode" if tokens and tokens == samples else "forward"
            self._forward = (samples, tokens, kind)
            self.flops.begin(kind)
            return
        self._add(samples, tokens)
        if self.flops.method == "measured" and "train" not in self.flops.per_unit:
            self._pending = (samples, tokens)  # measured from here to the next forward (or close)
            self.flops.begin("train")
        else:
            self._add_flop(self.flops.end(samples, tokens, "train"))

    def on_forward(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        if getattr(module, "training", False) or self._forward is None:
            return  # a training step ends at the next forward (its backward and optimizer step run between)
        (samples, tokens, kind), self._forward = self._forward, None
        self._add(samples, tokens)
        self._add_flop(self.flops.end(samples, tokens, kind))

    def _finish_step(self) -> None:
        if self._pending is not None:
            samples, tokens = self._pending
            self._pending = None
            self._add_flop(self.flops.end(samples, tokens, "train"))

    def _add(self, samples: int | None, tokens: int | None) -> None:
        if not self.count_samples or not getattr(self.meter, "running", True):
            return
        if samples:
            self.meter.add_work(samples, "sample")
        if tokens:
            self.meter.add_work(tokens, "token")

    def _add_flop(self, flop: float) -> None:
        if flop and getattr(self.meter, "running", True):
            self.meter.add_work(flop, "flop")
        state = (len(self.flops.per_unit), len(self.flops.problems))
        if state != self._noted:  # the meta changes only when a step was measured or a problem said
            self._noted = state
            self._note()

    def close(self) -> None:
        """Count the last training step and remove the hooks (idempotent)."""
        self._finish_step()
        self.flops.close()
        for h in self._handles:
            h.remove()
        self._handles = []

    def __enter__(self) -> FlopHooks:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _shape(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int | None, int | None]:
    """(samples, tokens) of a forward call's inputs, read from shapes."""
    first = args[0] if len(args) == 1 and not kwargs else None
    if first is not None and hasattr(first, "shape") and len(first.shape):  # one tensor: the common case, fast
        return int(first.shape[0]), None
    samples, tokens = batch_size_and_tokens(kwargs if kwargs else args)
    if samples is None and args:
        samples, tokens = batch_size_and_tokens(args)
    return samples, tokens


def count_flops(meter: Any, model: Any, *, method: str = "auto", count_samples: bool = True) -> FlopHooks:
    """Count ``model``'s samples, tokens and FLOPs into ``meter`` from now on (see the module doc).

    ``count_samples=False`` counts FLOPs only (when the loop already counts its samples).
    Returns the hooks; :meth:`FlopHooks.close` counts the last training step and removes them.
    """
    return FlopHooks(meter, model, method, count_samples)


__all__ = ["FlopHooks", "count_flops"]
