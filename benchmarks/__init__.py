"""Benchmarks for ecometer: real workloads, side by side with CodeCarbon and Zeus, sweeps.

Not part of the installed package. Run from the repository root, e.g.
``python -m benchmarks.side_by_side --smoke``; see benchmarks/README.md.
"""
