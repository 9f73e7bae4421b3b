"""A PyTorch Lightning callback that meters a whole ``trainer.fit()``.

    from ecometer.integrations.lightning import EcometerCallback
    cb = EcometerCallback(name="fit", work_unit="sample", site="us-average")
    trainer = lightning.pytorch.Trainer(callbacks=[cb], max_epochs=3)
    trainer.fit(model, datamodule)
    cb.record.energy_j, cb.path

* metered from ``on_fit_start`` to ``on_fit_end`` (``on_exception`` stops it as ``"failed"``);
  training epochs are phases ``"epoch"`` and validation loops ``"validation"`` (read exactly
  at their boundaries), training batches phases ``"step"`` (two clock reads each: the GPU is
  never synchronised per batch);
* work: samples (the batch's first dimension) and tokens (elements of ``input_ids`` when
  the batch is a mapping that has them, padding included), from tensor shapes only;
* training FLOPs (work ``"flop"``, ``flops="auto"``): the first batch runs under torch's FLOP
  counter, later batches are scaled by their tokens (or samples); the record says how;
* multi-process strategies (DDP, FSDP) are metered as one job through
  :func:`~ecometer.measure_distributed` (``distributed="auto"``);
* the record goes to ``<default_root_dir>/ecometer-<name>.json`` (``out="auto"``; later fits:
  ``ecometer-<name>.2.json``..., never over an earlier record) with the
  footprint and assessment when ``site``/``standard`` are given, and its summary is sent to
  the trainer's loggers (``ecometer/energy_j``, ...) from the global-zero process;
* optimizer steps (``trainer.global_step``) are counted as work ``"step"``; past warm-up and
  at each epoch's end the job's end is forecast (total: ``trainer.estimated_stepping_batches``)
  and sent to the loggers (``ecometer/forecast_energy_j`` with ``_low``/``_high``, duration,
  water, carbon, observed fraction), logged as one readable line, and kept in the record.

Works with the ``lightning`` package (``lightning.pytorch``) and, where only it is installed,
with ``pytorch_lightning``. This module imports Lightning (and torch).
"""

from __future__ import annotations

from typing import Any

from ecometer.forecast.live import StepForecasts
from ecometer.forecast.live import metrics as forecast_metrics
from ecometer.integrations.fit import FitMeter, FitResults, batch_size_and_tokens
from ecometer.record.model import RunRecord
from ecometer.work.flops import StepFlops

try:
    from lightning.pytorch.callbacks import Callback
except ImportError:  # the older standalone package
    try:
        from pytorch_lightning.callbacks import Callback  # type: ignore[no-redef]
    except ImportError as exc:  # the extra is not installed: say which one
        raise ImportError(
            f"ecometer.integrations.lightning needs PyTorch Lightning ({exc}): pip install 'ecometer[lightning]'"
        ) from exc


class EcometerCallback(FitResults, Callback):
    """Meters ``trainer.fit()``; see the module docstring (arguments as for the HF callback;
    ``flops``: ``"auto"``, ``"measured"``, ``"rule"`` or None, the LightningModule's training FLOPs)."""

    def __init__(
        self,
        name: str = "fit",
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
        super().__init__()
        self.flop_method = flops
        self.flops: StepFlops | None = None
        self.forecasts = StepForecasts(forecast_after_steps, forecast_after_fraction)
        self._stepped = 0  # trainer.global_step counted so far
        self.fit = FitMeter(
            name,
            site=site,
            standard=standard,
            work_unit=work_unit,
            out=out,
            distributed=distributed,
            meter_kwargs=meter_kwargs,
        )

    # ---- fit --------------------------------------------------------------------------
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        self.fit.start(
            out_dir=getattr(trainer, "default_root_dir", None),
            world_size=int(getattr(trainer, "world_size", 1) or 1),
            is_main=bool(getattr(trainer, "is_global_zero", True)),
        )
        self.flops = None
        if self.fit.active and self.flop_method:
            self.flops = StepFlops(pl_module, self.flop_method, name=type(pl_module).__name__)
            self.fit.note_flops(self.flops)

    def on_fit_end(self, trainer: Any, pl_module: Any) -> None:
        self.stop()
        summary = self.fit.summary()
        if summary and getattr(trainer, "is_global_zero", True):
            metrics = {f"ecometer/{k[len('ecometer_') :]}": v for k, v in summary.items() if _number(v)}
            for logger in getattr(trainer, "loggers", None) or []:
                logger.log_metrics(metrics, step=int(getattr(trainer, "global_step", 0)))

    def on_exception(self, trainer: Any, pl_module: Any, exception: BaseException) -> None:
        status = "interrupted" if isinstance(exception, KeyboardInterrupt) else "failed"
        self.stop(status, f"{type(exception).__name__}: {exception}")

    # ---- epochs, validation, batches -----------------------------------------------------
    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.fit.enter("epoch", exact=True)

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.fit.exit("epoch")
        self._log_forecast(trainer, self.forecasts.epoch_end(self.fit))

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        self._stepped = int(getattr(trainer, "global_step", 0))
        try:
            total = trainer.estimated_stepping_batches
        except Exception:  # noqa: BLE001 - no dataloader length: no forecast, the fit goes on
            total = None
        self.forecasts.begin(total, self.fit.name)

    def _log_forecast(self, trainer: Any, fc: Any) -> None:
        if fc is not None and getattr(trainer, "is_global_zero", True):
            for logger in getattr(trainer, "loggers", None) or []:
                logger.log_metrics(forecast_metrics(fc), step=int(getattr(trainer, "global_step", 0)))

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.fit.enter("validation", exact=True)

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.fit.exit("validation")

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.fit.enter("step")
        if self.flops is not None:
            self.flops.begin("train")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        samples, tokens = batch_size_and_tokens(batch)
        self.fit.end_step(self.flops, samples, tokens)
        step = int(getattr(trainer, "global_step", 0))  # optimizer steps (gradient accumulation counted once)
        fc, self._stepped = self.forecasts.step(self.fit, step - self._stepped), step
        self._log_forecast(trainer, fc)

    def stop(self, status: str = "ok", error: str | None = None) -> RunRecord | None:
        """Stop metering now (``on_fit_end`` does it); returns the record."""
        if self.flops is not None:
            self.flops.close()
            self.fit.note_flops(self.flops)
        return self.fit.stop(status, error)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


__all__ = ["EcometerCallback"]
