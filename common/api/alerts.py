"""alert_service's REST API: the alert bodies, the answers, the history cursor, the routes.

Bodies are validated twice: by these schemas at the gateway and in the service (types,
ranges, unknown fields: 422 naming the field), then in the service by the rule's own checks
(``alerts.rules.check_rule``: fields that must agree with each other), the product
registry and the webhook destination rule. The choices and bounds below repeat
``alerts.rules`` (``common`` imports no other library); ``tests/unit/alert_service``
pins them to it.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, pre_load, validate

from common.api import cursors
from common.api.auth import FullMatch
from common.api.cursors import CursorField
from common.api.cursors import encode_cursor as encode_cursor  # the routes page with it
from common.api.data import NoQuery
from common.api.errors import ErrorSchema
from common.api.messages import validate_expiry
from common.api.routes import Priority, RouteSpec, Upstream
from common.messages import PRODUCT_PATTERN
from common.messages.enums import OptionType

METRICS = (
    "spot", "atm_iv", "iv", "pcr_oi", "pcr_volume", "max_pain_strike", "oi_change",
    "atm_straddle_price", "risk_reversal_25d", "net_gex", "gex_flip",
)  # fmt: skip
"""``alerts.rules.Metric``'s values."""
OPS = ("above", "below", "crosses_above", "crosses_below", "change_pct")
"""``alerts.rules.Op``'s values."""
MAX_COOLDOWN_S = 7 * 86_400
MAX_WINDOW_S = 86_400
DEFAULT_COOLDOWN_S = 300
NOTE_MAX = 280
PRODUCT_MAX = 32
WEBHOOK_URL_MAX = 2048
"""``alerts.destinations.MAX_URL_LENGTH``."""

ALERT_ID_PATTERN = "^al_[A-Za-z0-9_-]{22}$"
"""``al_`` and ``secrets.token_urlsafe(16)``."""
HISTORY_DEFAULT_LIMIT = 50
HISTORY_MAX_LIMIT = 200
"""Triggers per history page at most; the service reads one more to know whether a page
follows (within the store port's ``MAX_TRIGGER_PAGE``)."""

_WIRE_EXAMPLE = "2026-12-06T09:41:00.123Z"
_TRIGGER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


# -- fields --------------------------------------------------------------------------------


class Number(fields.Float):
    """A JSON number (not a numeric string, not a boolean), finite, loaded as a float."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(allow_nan=False, **kwargs)

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Flag(fields.Boolean):
    """A JSON ``true`` or ``false``, nothing else (no ``1``, no ``"yes"``)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def decode_cursor(cursor: str) -> tuple[str, str]:
    """(triggered_at, trigger_id) of a cursor from :func:`encode_cursor`; ``ValueError``
    otherwise."""
    return cursors.decode_cursor(cursor, _TRIGGER_ID)


def _choice(values: tuple[str, ...], description: str, **kw: Any) -> fields.String:
    return fields.String(
        validate=validate.OneOf(values), metadata={"description": description}, **kw
    )


def _rule_fields(required: bool) -> dict[str, fields.Field[Any]]:
    """The rule's fields (``alerts.rules.AlertRule`` but id, owner, product, active)."""
    need = {"required": True} if required else {}
    return {
        "metric": _choice(METRICS, "What the alert watches (docs/API.md, Alerts).", **need),
        "op": _choice(OPS, "How the metric is compared with value.", **need),
        "value": Number(
            metadata={"description": "The threshold; for change_pct a move in percent (> 0)."},
            **need,
        ),
        "expiry": fields.String(
            allow_none=True,
            validate=validate_expiry,
            metadata={"description": "YYYY-MM-DD; null: the nearest expiry (not for spot)."},
        ),
        "strike": Number(
            allow_none=True,
            validate=validate.Range(min=0.0, min_inclusive=False),
            metadata={"description": "Required for iv and oi_change, else null."},
        ),
        "option_type": fields.String(
            allow_none=True,
            validate=validate.OneOf([t.value for t in OptionType]),
            metadata={"description": "CALL or PUT: required for iv and oi_change, else null."},
        ),
        "cooldown_s": fields.Integer(
            strict=True,
            validate=validate.Range(0, MAX_COOLDOWN_S),
            metadata={
                "description": f"Seconds without a repeat after a trigger "
                f"(default {DEFAULT_COOLDOWN_S})."
            },
        ),
        "window_s": fields.Integer(
            strict=True,
            allow_none=True,
            validate=validate.Range(60, MAX_WINDOW_S),
            metadata={
                "description": "change_pct only: the move is against the value this "
                "many seconds ago (60–86400)."
            },
        ),
        "webhook_url": fields.String(
            allow_none=True,
            validate=validate.Length(max=WEBHOOK_URL_MAX),
            metadata={
                "description": "http(s) URL POSTed each trigger, signed with "
                "webhook_secret; its host must be public."
            },
        ),
        "note": fields.String(
            allow_none=True,
            validate=validate.Length(max=NOTE_MAX),
            metadata={"description": f"Free text, at most {NOTE_MAX} characters."},
        ),
    }


# -- request schemas -----------------------------------------------------------------------


_PRODUCT = fields.String(
    required=True,
    validate=[validate.Length(1, PRODUCT_MAX), validate.Regexp(PRODUCT_PATTERN)],
    metadata={"description": "A product the platform serves.", "example": "NIFTY"},
)

AlertCreateBody: type[Schema] = Schema.from_dict(
    {"product": _PRODUCT, **_rule_fields(required=True)}, name="AlertCreateBody"
)
"""``POST /alerts``: product, metric, op and value required; unknown fields refused."""


class _PatchBase(Schema):
    @pre_load
    def _product_is_fixed(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and "product" in data:
            raise ValidationError(
                "Cannot change: an alert watches one product (delete it, create another).",
                "product",
            )
        return data


AlertPatchBody: type[Schema] = type(
    "AlertPatchBody",
    (_PatchBase,),
    {
        **_rule_fields(required=False),
        "active": Flag(metadata={"description": "false pauses the alert, true resumes it."}),
        "__doc__": "``PATCH /alerts/{alert_id}``: any rule field but product, and active.",
        "__module__": __name__,
    },
)


class AlertIdPath(Schema):
    """The ``<alert_id>`` path parameter."""

    alert_id = fields.String(
        required=True,
        validate=FullMatch(ALERT_ID_PATTERN, error="Not an alert id (al_ and 22 characters)."),
        metadata={"example": "al_8kV1n0dQmZxT3yYqLwR2aA"},
    )


class HistoryQuery(Schema):
    limit = fields.Integer(
        load_default=HISTORY_DEFAULT_LIMIT,
        validate=validate.Range(1, HISTORY_MAX_LIMIT),
        metadata={"description": f"Triggers per page (1–{HISTORY_MAX_LIMIT})."},
    )
    cursor = CursorField(
        decode_cursor,
        load_default=None,
        metadata={"description": "The next of the previous page (opaque)."},
    )


# -- response schemas ----------------------------------------------------------------------


def _wire(description: str) -> fields.String:
    return fields.String(
        required=True, metadata={"description": description, "example": _WIRE_EXAMPLE}
    )


def _nullable(field: type[fields.Field[Any]], description: str) -> fields.Field[Any]:
    return field(required=True, allow_none=True, metadata={"description": description})


class AlertSchema(Schema):
    """An alert as stored and answered to its owner."""

    id = fields.String(required=True, metadata={"example": "al_8kV1n0dQmZxT3yYqLwR2aA"})
    owner = fields.String(required=True, metadata={"description": "The owner's user id."})
    product = fields.String(required=True, metadata={"example": "NIFTY"})
    metric = _choice(METRICS, "What the alert watches.", required=True)
    op = _choice(OPS, "How the metric is compared with value.", required=True)
    value = fields.Float(required=True)
    expiry = _nullable(fields.String, "YYYY-MM-DD; null: the nearest expiry.")
    strike = _nullable(fields.Float, "The option's strike (iv, oi_change).")
    option_type = _nullable(fields.String, "CALL or PUT (iv, oi_change).")
    cooldown_s = fields.Integer(required=True)
    window_s = _nullable(fields.Integer, "change_pct's window in seconds.")
    active = fields.Boolean(required=True)
    webhook_url = _nullable(fields.String, "Where each trigger is POSTed.")
    webhook_secret = _nullable(
        fields.String,
        "64 hex digits, made by the service when the alert gets a webhook_url: the key of the "
        "webhook's X-OptionsFlow-Signature (HMAC-SHA256).",
    )
    note = _nullable(fields.String, "The owner's note.")
    created_at = _wire("When the alert was created.")
    updated_at = _wire("When it last changed.")


class AlertListSchema(Schema):
    alerts = fields.List(
        fields.Nested(AlertSchema),
        required=True,
        metadata={"description": "The caller's alerts, oldest first."},
    )


class TriggerSchema(Schema):
    """One trigger of an alert (the Socket.IO ``alert`` event carries the same document)."""

    class Meta:
        unknown = INCLUDE  # written by the workers: a member they add is passed on

    trigger_id = fields.String(required=True)
    alert_id = fields.String(required=True)
    owner = fields.String(required=True)
    product = fields.String(required=True)
    expiry = _nullable(fields.String, "The expiry evaluated.")
    metric = fields.String(required=True)
    op = fields.String(required=True)
    strike = _nullable(fields.Float, "The option's strike (iv, oi_change).")
    option_type = _nullable(fields.String, "CALL or PUT.")
    value = _nullable(fields.Float, "The metric's value that triggered the alert.")
    threshold = fields.Float(required=True, metadata={"description": "The alert's value."})
    timestamp = _wire("Origin timestamp of the triggering data.")
    triggered_at = _wire("When the evaluation decided it.")
    note = _nullable(fields.String, "The alert's note.")


class TriggerPageSchema(Schema):
    triggers = fields.List(
        fields.Nested(TriggerSchema),
        required=True,
        metadata={"description": "The caller's triggers, newest first."},
    )
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Cursor of the next page; null on the last page."},
    )


# -- routes --------------------------------------------------------------------------------

_ANSWERS: dict[int, type[Schema] | None] = {
    401: ErrorSchema,  # the gateway: missing or invalid access token
    422: ErrorSchema,
    429: ErrorSchema,  # the gateway: rate limited
    503: ErrorSchema,  # the store unavailable
}
_WITH_BODY: dict[int, type[Schema] | None] = {400: ErrorSchema, 413: ErrorSchema}


def _route(
    name: str, method: str, path: str, summary: str, ok: dict[int, type[Schema] | None],
    *, body: type[Schema] | None = None, query: type[Schema] | None = None,
    not_found: bool = False, limit: bool = False,
) -> RouteSpec:  # fmt: skip
    responses = {**ok, **_ANSWERS, **(_WITH_BODY if body is not None else {})}
    if not_found:
        responses[404] = ErrorSchema
    if limit:
        responses[409] = ErrorSchema
    return RouteSpec(
        name=f"alerts_{name}", method=method, path=path, upstream=Upstream.ALERTS,
        summary=summary, responses=responses, query=query, body=body,
        priority=Priority.LIVE, tags=("alerts",),
    )  # fmt: skip


_ONE = "/alerts/<alert_id>"

ROUTES: tuple[RouteSpec, ...] = (
    _route("create", "POST", "/alerts", "Create an alert on a product's metric.",
           {201: AlertSchema}, body=AlertCreateBody, limit=True),
    _route("list", "GET", "/alerts", "The caller's alerts, oldest first.",
           {200: AlertListSchema}, query=NoQuery),
    _route("history", "GET", "/alerts/history", "The caller's triggers, newest first, paged.",
           {200: TriggerPageSchema}, query=HistoryQuery),
    _route("get", "GET", _ONE, "One of the caller's alerts.", {200: AlertSchema},
           query=NoQuery, not_found=True),
    _route("update", "PATCH", _ONE, "Change an alert (merged, then checked whole); "
           "active=false pauses it.", {200: AlertSchema}, body=AlertPatchBody, not_found=True),
    _route("delete", "DELETE", _ONE, "Delete an alert (its triggers stay in the history).",
           {204: None}, query=NoQuery, not_found=True),
)  # fmt: skip
"""The alert routes, as the gateway serves them under ``/api``."""
