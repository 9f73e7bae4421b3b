"""Files: bounded text reads, atomic writes and the data files shipped in ``ecometer/data/``.

The bottom of the house. May import: :mod:`ecometer.errors` only.
"""
