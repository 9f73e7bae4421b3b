"""A Hugging Face ``transformers`` callback that meters a whole ``Trainer.train()``.

    from ecometer.integrations.hf import EcometerCallback
    cb = EcometerCallback(name="finetune", site="us-average", standard="ecometer-training")
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[cb])
    trainer.train()
    cb.record.energy_j, cb.path            # also in trainer.state.log_history[-1]

* metered from ``on_train_begin`` to ``on_train_end``; epochs are phases ``"epoch"`` (read
  exactly at their boundaries) and optimizer steps phases ``"step"`` (two clock reads
  each: the GPU is never synchronised per step);
* work: samples (the batch dimension) and tokens (elements of ``input_ids``, padding
  included) of every training forward pass, read from tensor shapes by a forward pre-hook on
  the model (no device synchronisation); ``work_unit`` says which one per-work figures use.
  If the model's forward receives no tensor the hook can read, a step counts
  ``per_device_train_batch_size x gradient_accumulation_steps`` samples (an estimate, noted);
* training FLOPs (work ``"flop"``, ``flops="auto"``): the first optimizer step runs under torch's
  FLOP counter and later steps are scaled by their tokens; the record says how
  (``meta.work_estimates.flop``: method, bounds, FLOPs per token) and keeps the Trainer's own
  ``total_flos`` beside it (``meta.trainer_total_flos``);
* multi-process jobs (``torchrun``, ``accelerate launch``) are metered as one job through
  :func:`~ecometer.measure_distributed` (``distributed="auto"``);
* the record goes to ``<output_dir>/ecometer-<name>.json`` (``out="auto"``; a later
  ``train()`` into the same folder writes ``ecometer-<name>.2.json``, ``.3.json``..., never
  over an earlier record) with the
  footprint and the assessment when ``site``/``standard`` are given; a summary (energy,
  per-work energy, grade, record path) is logged as the Trainer logs its own figures: into
  ``trainer.state.log_history`` and through every callback's ``on_log`` (the console, TensorBoard,
  W&B...); the library also says, in one line on stderr, where the record went and what is modelled;
* optimizer steps are counted as work ``"step"``; past warm-up and at each epoch's end the
  job's end is forecast (total: ``state.max_steps``): ``ecometer/forecast_energy_j`` (with
  ``_low``/``_high``), duration, water, carbon and the observed fraction are logged the same
  way (``state.log_history`` and ``on_log``), one readable line to the ``ecometer.forecast`` log, and every
  forecast into the record (``record.forecasts``).

A run that raises inside ``train()`` gets no ``on_train_end`` from ``transformers``; so when the
callback is given to ``Trainer(callbacks=[...])``, it wraps that trainer's ``train`` (at
``on_init_end``) and, when it raises, stops the meter as ``"failed"`` (``"interrupted"`` for
KeyboardInterrupt) and removes its forward hook: nothing is left running. A callback added
later (``trainer.add_callback``) cannot see the exception: its meter is stopped as ``"failed"``
at the next ``train()``, at interpreter exit (``"interrupted"``), or by :meth:`EcometerCallback.stop`.

This module imports ``transformers`` (and so torch): import it only where they are installed.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any

try:
    from transformers import TrainerCallback
except ImportError as exc:  # the extra is not installed: say which one
    raise ImportError(
        f"ecometer.integrations.hf needs Hugging Face transformers ({exc}): pip install 'ecometer[hf]'"
    ) from exc

from ecometer.forecast.live import StepForecasts
from ecometer.forecast.live import metrics as forecast_metrics
from ecometer.integrations.fit import FitMeter, FitResults, batch_size_and_tokens, meter_meta
from ecometer.record.model import RunRecord
from ecometer.work.flops import StepFlops

log = logging.getLogger("ecometer.integrations.hf")


class EcometerCallback(FitResults, TrainerCallback):
    """Meters ``Trainer.train()``; see the module docstring.

    Args:
        name: run name. site, standard: as for :class:`ecometer.Meter`.
        work_unit: ``"sample"`` or ``"token"``: the unit of per-work figures.
        out: record path, ``"auto"`` (in the trainer's ``output_dir``) or None.
        distributed: ``"auto"`` (one job record over all processes when there are several),
            True, or False (meter the main process only).
        forecast_after_steps, forecast_after_fraction: the job's end is forecast (from
            ``state.max_steps``) at the later of these (steps, fraction of the job) and at each
            epoch's end; see :class:`ecometer.forecast.live.StepForecasts`.
        flops: how training FLOPs are counted (work ``"flop"``): ``"auto"`` (one step measured with
            torch's FLOP counter, then scaled by tokens), ``"measured"``, ``"model"`` (the model's own
            ``floating_point_ops``), ``"rule"`` (6 x parameters x tokens), or None (not counted).
            The record says which, with its bounds (``meta.work_estimates.flop``); the Trainer's own
            ``total_flos`` is kept beside it (``meta.trainer_total_flos``).
        **meter_kwargs: more :class:`ecometer.Meter` arguments (``interval_s``, ``scope``, ``meta``...).
    """

    def __init__(
        self,
        name: str = "train",
        *,
        site: Any = None,
        standard: Any = None,
        work_unit: str = "sample",
        out: Any = "auto",
        distributed: bool | str = "auto",
        forecast_after_steps: int = 50,
        forecast_after_fraction: float = 0.02,
        flops: str | None = "auto",
        **meter_kwargs: Any,
    ) -> None:
        self.flop_method = flops
        self.flops: StepFlops | None = None
        self.forecasts = StepForecasts(forecast_after_steps, forecast_after_fraction)
        self.fit = FitMeter(
            name,
            site=site,
            standard=standard,
            work_unit=work_unit,
            out=out,
            distributed=distributed,
            meter_kwargs=meter_kwargs,
        )
        self._hook: Any = None
        self._handler: Any = None  # the trainer's CallbackHandler: figures go through its on_log
        self._seen_samples = 0
        self._seen_tokens = 0
        self._estimated_steps = 0

    # ---- counting ---------------------------------------------------------------------
    def _forward_pre_hook(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if not getattr(module, "training", False):
            return
        samples, tokens = batch_size_and_tokens(kwargs if kwargs else args)
        if samples is None and args:
            samples, tokens = batch_size_and_tokens(args)
        self._seen_samples += samples or 0
        self._seen_tokens += tokens or 0

    # ---- events -----------------------------------------------------------------------
    def on_init_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        trainer = _calling_trainer(self)
        if trainer is not None:
            guard_train(trainer, self)

    def failed(self, exc: BaseException) -> None:
        """The trainer's ``train()`` raised: stop metering (``"failed"``, or ``"interrupted"``) and remove the hook."""
        if self._hook is None and not self.fit.active:
            return
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        self.stop(status, f"{type(exc).__name__}: {exc}"[:500])

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        self._handler = _callback_handler(sys._getframe(1))
        if self.fit.active or self._hook is not None:  # the last train() raised where we could not see it
            self.stop("failed", "train() ended without on_train_end (it raised)")
        self.fit.start(
            out_dir=getattr(args, "output_dir", None),
            world_size=int(getattr(args, "world_size", 1) or 1),
            is_main=bool(getattr(state, "is_world_process_zero", True)),
        )
        self._seen_samples = self._seen_tokens = self._estimated_steps = 0
        self.forecasts.begin(getattr(state, "max_steps", None), self.fit.name)
        if self.fit.active and model is not None and hasattr(model, "register_forward_pre_hook"):
            self._hook = model.register_forward_pre_hook(self._forward_pre_hook, with_kwargs=True)
        self.flops = None
        if self.fit.active and model is not None and self.flop_method:
            self.flops = StepFlops(model, self.flop_method, name=type(model).__name__)
            self.fit.note_flops(self.flops)

    def on_epoch_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.fit.enter("epoch", exact=True)

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.fit.exit("epoch")
        self._log_forecast(args, state, control, self.forecasts.epoch_end(self.fit))

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.fit.enter("step")
        if self.flops is not None:
            self.flops.begin("train")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        samples, tokens = self._seen_samples, self._seen_tokens
        self._seen_samples = self._seen_tokens = 0
        if not samples and self.fit.active:
            samples = int(args.per_device_train_batch_size) * int(args.gradient_accumulation_steps)
            self._estimated_steps += 1
        self.fit.end_step(self.flops, samples, tokens)
        self._log_forecast(args, state, control, self.forecasts.step(self.fit))

    def _log_forecast(self, args: Any, state: Any, control: Any, fc: Any) -> None:
        if fc is not None:
            self._log(args, state, control, forecast_metrics(fc))

    def _log(self, args: Any, state: Any, control: Any, logs: dict[str, Any]) -> None:
        """``logs`` where ``Trainer.log`` puts its own: ``state.log_history`` and every callback's
        ``on_log`` (the console printer, TensorBoard, W&B...)."""
        if getattr(state, "log_history", None) is not None:
            state.log_history.append({**logs, "step": getattr(state, "global_step", 0)})
        if self._handler is not None:
            self._handler.on_log(args, state, control, dict(logs))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        total_flos = getattr(state, "total_flos", None)
        if self.fit.active and total_flos:
            meter_meta(self.fit.meter)["trainer_total_flos"] = float(total_flos)
        self.stop()
        summary = self.fit.summary()
        if summary:
            self._log(args, state, control, summary)

    def stop(self, status: str = "ok", error: str | None = None) -> RunRecord | None:
        """Stop metering now (``on_train_end`` does it); returns the record."""
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        if self.flops is not None:
            self.flops.close()
            self.fit.note_flops(self.flops)
        if self.fit.active and self._estimated_steps and self.fit.meter is not None:
            note = (
                f"{self._estimated_steps} step(s) counted as per_device_train_batch_size x gradient_accumulation_steps "
                "samples: the model's forward received no tensor to count"
            )
            meter_meta(self.fit.meter)["work_estimated"] = note
        return self.fit.stop(status, error)


def _callback_handler(frame: Any) -> Any:
    """The ``CallbackHandler`` whose ``call_event`` called us (``frame``: its frame), or None (then the
    figures only reach ``state.log_history``, and a warning says so)."""
    from transformers.trainer_callback import CallbackHandler

    handler = frame.f_locals.get("self") if frame is not None else None
    if isinstance(handler, CallbackHandler):
        return handler
    log.warning(
        "ecometer: the Trainer's callback handler was not found: ecometer's figures go to state.log_history only, "
        "not to the console, TensorBoard or W&B"
    )
    return None


def _calling_trainer(callback: Any) -> Any:
    """The ``Trainer`` whose ``__init__`` is calling ``callback`` (found on the stack), or None."""
    frame = sys._getframe(1)
    for _ in range(12):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        handler = getattr(owner, "callback_handler", None)
        if handler is not None and callback in getattr(handler, "callbacks", ()):
            return owner
        frame = frame.f_back
    return None


def guard_train(trainer: Any, callback: EcometerCallback) -> None:
    """Wrap ``trainer.train`` so that when it raises, ``callback`` stops its meter and removes its hook."""
    original = trainer.train
    if callback in getattr(original, "ecometer_callbacks", ()):
        return

    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except BaseException as exc:
            for cb in train.ecometer_callbacks:  # type: ignore[attr-defined]
                cb.failed(exc)
            raise

    train.ecometer_callbacks = [*getattr(original, "ecometer_callbacks", ()), callback]  # type: ignore[attr-defined]
    trainer.train = train


__all__ = ["EcometerCallback"]
