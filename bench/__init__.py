"""Benchmarks: the load benchmark of issue 7 (`python -m bench`, `make bench`: simulated
chargers, fleet / throughput / storm scenarios, ours against a baseline server) and
channel_layers.py (channels-redis core against pub/sub)."""
