"""Benchmarks: see bench/README.md; `make bench` runs them all through bench/report.py."""
