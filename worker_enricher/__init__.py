"""Enrichment worker: the options math in ``worker_enricher.analytics``."""
