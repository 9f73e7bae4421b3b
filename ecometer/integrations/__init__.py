"""Integrations with the tools ML jobs already use.

Each module imports its framework (torch, transformers, lightning) only inside the functions
that need it, so importing :mod:`ecometer` or this package stays cheap:

* :mod:`ecometer.integrations.distributed`: one record for a ``torch.distributed`` or MPI job
  (:func:`~ecometer.integrations.distributed.measure_distributed`);
* :mod:`ecometer.integrations.hf`: a Hugging Face ``transformers`` ``TrainerCallback``;
* :mod:`ecometer.integrations.lightning`: a PyTorch Lightning ``Callback``;
* :mod:`ecometer.integrations.prometheus`: live metrics over HTTP for Prometheus.
"""
