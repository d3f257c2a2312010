"""Celery tasks: one per market channel, each taking a micro-batch of raw messages."""
