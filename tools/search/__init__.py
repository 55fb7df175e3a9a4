"""Catalog search: ingest, the Korean/English query understanding, and hybrid retrieval."""
