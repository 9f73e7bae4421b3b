"""Work counted for the user: training and inference FLOPs, with how each count was obtained.

* :mod:`ecometer.work.estimates`: how a work count was obtained (method, interval), stored in
  ``record.meta["work_estimates"]`` and read back as an :class:`~ecometer.Estimate`;
* :mod:`ecometer.work.flops`: a model's FLOPs step by step (a measured step, the framework's
  own count, or the dense-transformer rule). torch is imported only when a step is measured.

The accounting of work, beside :mod:`ecometer.energy`, the accounting of joules.
May import: :mod:`ecometer.errors`, :mod:`ecometer.files`, :mod:`ecometer.record`.
"""
