"""Benchmarks, run by `fragrance-ai bench ...`; results go to bench/results as JSON and PNG."""
