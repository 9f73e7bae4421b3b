"""Energy accounting: turns sensor samples into joules.

Owns the cumulative energy curves of each device (:mod:`~ecometer.energy.curves`), the one rule
for hardware energy counters (plausibility, wrap-around, bridging gaps;
:mod:`~ecometer.energy.counters`) and the record's power timeline
(:mod:`~ecometer.energy.timeline`). Pure arithmetic: no threads, no hardware.

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`, :mod:`ecometer.record`.
"""
