"""Benchmarks over the whole pipeline: organisms built with a known ground truth, then scored
(localization, blind audit)."""
