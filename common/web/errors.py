"""One error shape for every service: ``{"error": {"code", "message", "fields"}}``.

Handlers turn :class:`ApiError`, werkzeug's HTTP exceptions (including
webargs/flask-smorest validation errors and Flask-Limiter's 429) and anything
unexpected into that shape, so no route answers HTML or a bare traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response
from marshmallow import ValidationError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from common.jsonlog import current_trace_id
from common.web.responses import json_response

log = logging.getLogger(__name__)

FieldErrors = dict[str, list[str]]

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable ``code``, a message and per-field errors."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        fields: Mapping[str, list[str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.fields: FieldErrors = dict(fields or {})
        self.headers = dict(headers or {})


def flatten_messages(messages: Any, prefix: str = "") -> FieldErrors:
    """marshmallow/webargs messages (nested by location and field) → ``{"a.b": [..]}``.

    The request location (``query``, ``json``, ``view_args``…) is dropped: the
    field name is what a client needs.
    """
    if isinstance(messages, list | tuple):
        return {prefix or "_schema": [str(m) for m in messages]}
    if not isinstance(messages, Mapping):
        return {prefix or "_schema": [str(messages)]}
    out: FieldErrors = {}
    for key, value in messages.items():
        name = str(key)
        if not prefix and name in {"query", "json", "form", "headers", "view_args", "path"}:
            out.update(flatten_messages(value, ""))
            continue
        out.update(flatten_messages(value, f"{prefix}.{name}" if prefix else name))
    return out


def error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message, "fields": error.fields}
    trace_id = current_trace_id()
    if trace_id:
        body["trace_id"] = trace_id
    return json_response({"error": body}, error.status, error.headers)


def http_api_error(exc: HTTPException) -> ApiError:
    """The :class:`ApiError` equivalent of a werkzeug HTTP exception (webargs messages kept)."""
    status = exc.code or 500
    data = getattr(exc, "data", None)
    fields: FieldErrors = {}
    if isinstance(data, Mapping) and "messages" in data:  # webargs / flask-smorest
        fields = flatten_messages(data["messages"])
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    message = exc.description or exc.name
    if fields:
        message = "invalid request: " + ", ".join(sorted(fields))
    return ApiError(status, message, fields=fields, headers=headers)


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc)

    @app.errorhandler(ValidationError)
    def _validation(exc: ValidationError) -> Response:
        fields = flatten_messages(exc.messages)
        return error_response(
            ApiError(422, "invalid request: " + ", ".join(sorted(fields)), fields=fields)
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        return error_response(http_api_error(exc))

    @app.errorhandler(RedisError)
    def _redis(exc: RedisError) -> Response:
        log.error("redis unavailable", extra={"error": f"{type(exc).__name__}: {exc}"})
        return error_response(ApiError(503, "cache unavailable", headers={"Retry-After": "1"}))

    @app.errorhandler(RecursionError)
    @app.errorhandler(UnicodeDecodeError)
    def _undecodable(exc: Exception) -> Response:
        # a body nested too deep for the JSON parser, a query string that is not UTF-8
        return error_response(ApiError(400, "malformed request: cannot be decoded"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error", extra={"error": type(exc).__name__})
        return error_response(ApiError(500, "internal error"))
