"""Benchmarks of byos against the official cloud SDKs and obstore (run ``python benchmarks/bench.py``)."""
