"""logging_service's query: ``GET /logs`` filtered by trace id, service, level and time.

Instants are ISO-8601 (a naive one means UTC). Answers list the filed log
lines, each the JSON object a service wrote (``time``, ``level``, ``service``,
``trace_id``, ``logger``, ``message`` and the line's extra fields). The gateway
serves it as ``GET /api/logs``, to admins only: log lines tell about every user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from common.api.errors import ErrorSchema
from common.api.routes import Priority, RouteSpec, Upstream
from common.tokens import Role

LEVEL_NAMES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MAX_LIMIT = 5000
TRACE_ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
"""The trace ids services accept and create (common.web.tracing)."""


class LogsQuerySchema(Schema):
    trace_id = fields.String(
        validate=validate.Regexp(TRACE_ID_PATTERN, error="1–64 of A-Z a-z 0-9 . _ -"),
        metadata={"description": "Lines of this request or task (the X-Trace-ID header)."},
    )
    service = fields.String(
        validate=validate.Length(1, 64), metadata={"description": "e.g. api_gateway, worker."}
    )
    level = fields.String(
        validate=validate.OneOf(LEVEL_NAMES),
        metadata={
            "description": "The lowest level listed (WARNING: warnings and worse); default: all."
        },
    )
    start = fields.AwareDateTime(
        default_timezone=dt.UTC, metadata={"description": "From this instant (inclusive)."}
    )
    end = fields.AwareDateTime(
        default_timezone=dt.UTC, metadata={"description": "Until this instant (exclusive)."}
    )
    limit = fields.Integer(
        load_default=500,
        validate=validate.Range(1, MAX_LIMIT),
        metadata={"description": f"Lines at most (1–{MAX_LIMIT})."},
    )
    order = fields.String(
        load_default="asc",
        validate=validate.OneOf(("asc", "desc")),
        metadata={"description": "asc: oldest first (following a trace); desc: newest first."},
    )

    @pre_load
    def _upper_level(self, data: Any, **_: Any) -> Any:
        level = data.get("level") if hasattr(data, "get") else None
        if isinstance(level, str):
            data = {**data, "level": level.upper()}
        return data

    @validates_schema
    def _range(self, data: dict[str, Any], **_: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None and start >= end:
            raise ValidationError("end must be after start", "end")


class LogsSchema(Schema):
    count = fields.Integer(required=True, metadata={"description": "Lines in this answer."})
    truncated = fields.Boolean(
        required=True, metadata={"description": "More lines matched than ``limit``."}
    )
    lines = fields.List(fields.Dict(), required=True)


ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec(
        name="logs_query",
        method="GET",
        path="/logs",
        upstream=Upstream.LOGGING,
        summary="Log lines of every service by trace id, service, lowest level and time.",
        responses={
            200: LogsSchema,
            401: ErrorSchema,
            403: ErrorSchema,
            422: ErrorSchema,
            503: ErrorSchema,
        },
        query=LogsQuerySchema,
        auth=True,
        roles=frozenset({Role.ADMIN}),
        # A wide query reads the index for a while: shed under load like history.
        priority=Priority.HEAVY,
        tags=("logs",),
    ),
)
"""The logging routes, as the gateway serves them under ``/api``."""
