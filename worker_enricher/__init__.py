"""Enrichment worker: the options math in ``optionsmath``."""
