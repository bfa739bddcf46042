"""Benchmarks: `make bench` (or `python -m bench [NAME ...] [--quick]`).

Each `bench_<name>.py` module defines `run(quick: bool) -> list[Result]`. Results
are printed as one table and written to bench/RESULTS.md, which is committed
with the code so that the last measured numbers travel with it.
"""
