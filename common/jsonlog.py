"""Structured JSON logging with a ``service`` name and a per-request ``trace_id``.

Every record is one JSON object per line. The trace id lives in a context
variable, so it follows a request or a task through threads-per-request and
eventlet green threads alike; :func:`trace` sets it for a block of work.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import IO

from pythonjsonlogger.json import JsonFormatter

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)


def new_trace_id() -> str:
    return uuid.uuid4().hex


def current_trace_id() -> str | None:
    return _trace_id.get()


def bind_trace_id(trace_id: str) -> contextvars.Token[str | None]:
    """Attach ``trace_id`` to the current context until :func:`reset_trace_id` with the token."""
    return _trace_id.set(trace_id)


def reset_trace_id(token: contextvars.Token[str | None]) -> None:
    _trace_id.reset(token)


@contextlib.contextmanager
def trace(trace_id: str | None = None) -> Iterator[str]:
    """Run a block with ``trace_id`` (a new one when omitted) attached to every log line."""
    tid = trace_id or new_trace_id()
    token = _trace_id.set(tid)
    try:
        yield tid
    finally:
        _trace_id.reset(token)


class _ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        if getattr(record, "trace_id", None) is None:
            record.trace_id = _trace_id.get()
        return True


def json_formatter() -> logging.Formatter:
    """One JSON object per record: time, level, service, trace_id, logger, message, extras."""
    return JsonFormatter(
        "{levelname}{service}{trace_id}{name}{message}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO-8601 UTC with microseconds
    )


def configure_logging(
    service: str,
    level: str = "INFO",
    stream: IO[str] | None = None,
    extra_handlers: tuple[logging.Handler, ...] = (),
) -> None:
    """Send every log record of this process to ``stream`` (stderr) as one JSON line,
    and to each of ``extra_handlers`` (the Redis Stream shipper) in the same form."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if old not in extra_handlers:
            old.close()
    for handler in (logging.StreamHandler(stream or sys.stderr), *extra_handlers):
        handler.addFilter(_ContextFilter(service))
        handler.setFormatter(json_formatter())
        root.addHandler(handler)
    root.setLevel(level)
