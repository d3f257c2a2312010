"""Entry point of the worker: ``celery -A worker_enricher.celery_app worker -Q enrich``."""

from __future__ import annotations

import logging

from celery import signals

from common.observability import setup_service
from common.settings import load_settings
from worker_enricher.celery_config import make_celery

settings = load_settings()
app = make_celery(settings)
app.set_current()
app.set_default()


@signals.setup_logging.connect  # type: ignore[untyped-decorator]
def _json_logging(**_: object) -> None:
    setup_service("worker", settings)
    if settings.log_level != "DEBUG":  # a line per task at 150 tasks/s would drown the rest
        logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
