"""Numerical rules for propagating uncertainty without random draws (and without numpy).

:mod:`ecometer.stats.grid`: independent estimates combined on quantile grids (a deterministic
numerical convolution), for the figures a meter computes at stop.
"""
