"""The relocation benchmark's parts: fetching releases, ground truth, baselines, scoring, reporting.

``bench/relocation.py`` is the entry point; see its docstring for what the benchmark measures.
"""
