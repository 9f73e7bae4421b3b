"""Sensors: read power and energy from hardware or model it.

Owns the sensor protocol (:mod:`~ecometer.sensors.base`), NVIDIA GPUs through NVML
(:mod:`~ecometer.sensors.nvml_device` maps NVML once; :mod:`~ecometer.sensors.nvidia` keeps the
policy), Intel/AMD RAPL (:mod:`~ecometer.sensors.rapl`), the CPU and DRAM utilisation models
(:mod:`~ecometer.sensors.cpu_model`, :mod:`~ecometer.sensors.memory`), the replay sensor for
tests (:mod:`~ecometer.sensors.replay`) and discovery (:mod:`~ecometer.sensors.discover`).

May import: :mod:`ecometer.errors`, :mod:`ecometer.files`, :mod:`ecometer.record`,
:mod:`ecometer.energy`.
"""
