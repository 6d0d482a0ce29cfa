"""Benchmarks for ecert: figures, never pass/fail (DESIGN §10).

``python -m bench.run`` (``make bench``) starts its own throwaway servers, measures, prints a
table and writes it to ``bench/results/latest.md``. See ``bench/README.md``.
"""
