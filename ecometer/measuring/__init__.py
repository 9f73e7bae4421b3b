"""Measuring: the meter and everything that runs while a job is measured.

Owns :class:`~ecometer.measuring.meter.Meter` (configuration and public API), the per-run state
(:mod:`~ecometer.measuring.run`), the one background sampling thread
(:mod:`~ecometer.measuring.sampler`), sensor supervision (:mod:`~ecometer.measuring.supervision`),
signals and exit handling (:mod:`~ecometer.measuring.lifecycle`), device synchronisation
(:mod:`~ecometer.measuring.sync`), host description (:mod:`~ecometer.measuring.hostinfo`) and
the pure record builder (:mod:`~ecometer.measuring.build`). Measuring never judges: it imports
neither :mod:`ecometer.impact` nor :mod:`ecometer.standards`.

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`, :mod:`ecometer.record`,
:mod:`ecometer.energy`, :mod:`ecometer.sensors`, and :mod:`ecometer.forecast` (only for
``Meter.forecast``, on demand).
"""
