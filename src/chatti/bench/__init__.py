"""Benchmarks behind `chatti bench`: figures for docs/performance.md, not tests."""
