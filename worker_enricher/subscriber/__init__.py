"""The Pub/Sub subscriber: market messages in, Celery micro-batches out."""
