"""Benchmarks: `make bench` runs every `bench_*.py` here and prints one line each.

Each line has our figure, the peer's figure measured side by side in the same run, and
their ratio. These are measurements, not tests: they never run in CI.
"""
