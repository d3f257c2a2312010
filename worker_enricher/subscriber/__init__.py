"""The subscriber: the raw market streams in (a consumer group), Celery micro-batches out."""
