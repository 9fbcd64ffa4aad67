"""Benchmarks: each `python -m bench.<name>` (or `make bench`) prints its figures beside the
bare view's and the ratio. See docs/performance.md for the figures and how to read them."""
