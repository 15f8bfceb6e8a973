"""Benchmarks of the platform's foundation against bare baselines (not tests)."""
