"""Error tracking with sentry-sdk when ``SENTRY_DSN`` is set; nothing is loaded or sent
without it.

Errors reach Sentry through the logging integration: every service logs an
unexpected exception with ``log.exception`` (the Flask error handler, task
failures), and an ERROR record becomes an event, INFO and WARNING ones its
breadcrumbs. The Flask and Celery integrations add request and task context.
Each event is tagged with the service and, when the failing work had one, its
trace id, so an event leads to ``GET /logs?trace_id=…``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import warnings
from typing import Any

from common.jsonlog import current_trace_id
from common.settings import Settings

log = logging.getLogger(__name__)


def tag_trace_id(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """``before_send``: the trace id of the work that failed, as the tag ``trace_id``."""
    record = hint.get("log_record")
    trace_id = getattr(record, "trace_id", None) or current_trace_id()
    if trace_id:
        event.setdefault("tags", {})["trace_id"] = trace_id
    return event


def init_sentry(service: str, settings: Settings) -> bool:
    """Start sentry-sdk for ``service`` if ``SENTRY_DSN`` is set; whether it did."""
    if not settings.sentry_dsn:
        return False
    with warnings.catch_warnings():  # sentry-sdk probes for eventlet, which warns on import
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import sentry_sdk
        from sentry_sdk.integrations.celery import CeleryIntegration
        from sentry_sdk.integrations.flask import FlaskIntegration
        from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.env.value,
        release=f"optionsflow@{importlib.metadata.version('optionsflow')}",
        traces_sample_rate=settings.observability.sentry_traces_sample_rate,
        send_default_pii=False,
        integrations=[
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
            FlaskIntegration(),
            CeleryIntegration(),
        ],
        before_send=tag_trace_id,  # type: ignore[arg-type]  # sentry's Event is a TypedDict
    )
    sentry_sdk.set_tag("service", service)
    log.info("error tracking on", extra={"environment": settings.env.value})
    return True
