"""Enrichment worker: the options math (``worker_enricher.analytics``), later the subscriber and tasks."""
