"""Integrations with the tools ML jobs already use.

Neither :mod:`ecometer` nor this package imports the modules below, so both stay cheap to import;
import the module you need explicitly. :mod:`~ecometer.integrations.hf` and
:mod:`~ecometer.integrations.lightning` import their framework (``transformers``,
``lightning`` or ``pytorch_lightning``, and so torch) at module level, since their callbacks
subclass the framework's; import them only where it is installed. ``prometheus`` needs only
the standard library. (Distributed jobs: :mod:`ecometer.distributed`.)

* :mod:`ecometer.integrations.hf`: a Hugging Face ``transformers`` ``TrainerCallback``;
* :mod:`ecometer.integrations.lightning`: a PyTorch Lightning ``Callback``;
* :mod:`ecometer.integrations.torchloop`: ``count_flops(meter, model)``, samples, tokens and FLOPs
  of a plain torch loop (training steps, evaluation and generation passes) in one call;
* :mod:`ecometer.integrations.prometheus`: live metrics over HTTP for Prometheus.

On top of the house. May import every stage below and :mod:`ecometer.api`.
"""
