"""``X-Trace-ID`` on every request: taken from the caller when well formed, else created,
set for every log line of the request and echoed on the response."""

from __future__ import annotations

import logging
import re
import time
from contextvars import Token

from flask import Flask, Response, g, request

from common.jsonlog import bind_trace_id, current_trace_id, new_trace_id, reset_trace_id

TRACE_HEADER = "X-Trace-ID"
_VALID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")

log = logging.getLogger("access")


def accept_trace_id(value: str | None) -> str:
    """The caller's trace id if it is 1–64 of ``[A-Za-z0-9._-]``, else a new one."""
    if value and _VALID.match(value):
        return value
    return new_trace_id()


def install_tracing(app: Flask, *, access_log: bool = True) -> None:
    @app.before_request
    def _start() -> None:
        g.trace_token = bind_trace_id(accept_trace_id(request.headers.get(TRACE_HEADER)))
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        trace_id = current_trace_id()
        if trace_id:
            response.headers[TRACE_HEADER] = trace_id
        if access_log and "started" in g:
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.started) * 1000, 3),
                },
            )
        return response

    @app.teardown_request
    def _reset(_exc: BaseException | None) -> None:
        token: Token[str | None] | None = g.pop("trace_token", None)
        if token is not None:
            reset_trace_id(token)
