"""paper_service's strategy API: the legs, the evaluation, templates, saved strategies.

Bodies are validated twice, by these schemas at the gateway and in the service (types,
bounds, unknown fields, the fields of one leg that go together, one product per
strategy: 422 naming the field as ``legs[2].strike``, ``dates[0]``), then in the service
by the strategy math against the live chains (``optionsmath.strategy``: a strike the
chain does not list, a date past the first expiry, … with the same names). The choices and
bounds below repeat ``optionsmath.strategy`` (``common`` imports no other library);
``tests/unit/paper_service`` pins them to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api.alerts import Number
from common.api.auth import FullMatch
from common.api.data import Instant, NoQuery
from common.api.errors import ErrorSchema
from common.api.messages import check_instrument_kind, validate_expiry
from common.api.routes import Priority, RouteSpec, Upstream
from common.messages import PRODUCT_PATTERN
from common.messages.enums import OptionType

SIDES = ("BUY", "SELL")
"""``optionsmath.strategy.Side``'s values."""
TEMPLATES = (
    "straddle", "strangle", "bull_call_spread", "bear_call_spread", "bull_put_spread",
    "bear_put_spread", "iron_condor", "butterfly", "calendar",
)  # fmt: skip
"""``optionsmath.strategy.Template``'s values."""
MAX_LEGS = 12
"""Legs of one strategy at most (the math takes up to ``optionsmath.strategy.MAX_LEGS``)."""
MAX_DATES = 4
"""Dated curves one evaluation may ask for (the math takes up to its ``MAX_DATES``)."""
MIN_POINTS, MAX_POINTS, DEFAULT_POINTS = 51, 1001, 201
"""Evenly spaced spots of the payoff curves (strikes, breakevens and spot are added)."""
MAX_QUANTITY = 1e9
"""Units of the underlying one leg may hold."""
MAX_WIDTH = 50
"""A template's width in listed strikes at most."""
NAME_MAX, NOTE_MAX, PRODUCT_MAX = 80, 280, 32
STRATEGY_ID_PATTERN = "^st_[A-Za-z0-9_-]{22}$"
"""``st_`` and ``secrets.token_urlsafe(16)``."""
MODEL = "sticky strike; PoP under the Breeden–Litzenberger density of the first expiry's smile"
"""The ``model`` sentence of every evaluation."""

_WIRE_EXAMPLE = "2026-12-06T09:41:00.123Z"


def bracketed(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as one level named as the math names fields: list items
    in brackets (``{"legs": {2: {"strike": [...]}}}`` → ``{"legs[2].strike": [...]}``), a
    nested ``_schema`` message under its parent's name."""
    if not isinstance(messages, Mapping):
        items = messages if isinstance(messages, list) else [messages]
        return {prefix or "_schema": [str(m) for m in items]}
    out: dict[str, list[str]] = {}
    for key, value in messages.items():
        if isinstance(key, int):
            name = f"{prefix}[{key}]"
        elif key == "_schema" and prefix:
            name = prefix
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        for field, found in bracketed(value, name).items():
            out.setdefault(field, []).extend(found)
    return out


class _Bracketed(Schema):
    """A body whose errors name list items in brackets (:func:`bracketed`)."""

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        raise ValidationError(bracketed(error.messages)) from error


# -- legs ----------------------------------------------------------------------------------


class LegSchema(Schema):
    """One leg: an option (``option_type`` CALL or PUT with its ``expiry`` and listed
    ``strike``) or the underlying (``option_type``, ``strike`` and ``expiry`` null)."""

    product = fields.String(
        required=True,
        validate=[validate.Length(1, PRODUCT_MAX), validate.Regexp(PRODUCT_PATTERN)],
        metadata={"description": "A product the platform serves; one per strategy.",
                  "example": "NIFTY"},
    )  # fmt: skip
    expiry = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate_expiry,
        metadata={"description": "YYYY-MM-DD of an option; null for the underlying.",
                  "example": "2026-12-10"},
    )  # fmt: skip
    strike = Number(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0.0, min_inclusive=False),
        metadata={"description": "A strike the expiry's chain lists; null for the underlying.",
                  "example": 24000},
    )  # fmt: skip
    option_type = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([t.value for t in OptionType]),
        metadata={"description": "CALL or PUT; null: the underlying itself."},
    )
    side = fields.String(
        required=True,
        validate=validate.OneOf(SIDES),
        metadata={"description": "BUY (pays the price) or SELL (receives it)."},
    )
    quantity = Number(
        required=True,
        validate=validate.Range(min=0.0, min_inclusive=False, max=MAX_QUANTITY),
        metadata={"description": "Units of the underlying (not contracts): NIFTY's lot is 75.",
                  "example": 75},
    )  # fmt: skip
    price = Number(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=0.0),
        metadata={"description": "Entry price per unit; null: the live mid (the underlying: "
                  "the live spot)."},
    )  # fmt: skip

    @validates_schema(skip_on_field_errors=True)
    def _kind(self, data: dict[str, Any], **_: Any) -> None:
        check_instrument_kind(data, "leg")


def check_one_product(legs: list[dict[str, Any]]) -> None:
    """``ValidationError`` naming ``legs[i].product`` of the first leg whose product is not
    the first leg's."""
    for i, leg in enumerate(legs[1:], start=1):
        if leg["product"] != legs[0]["product"]:
            raise ValidationError(
                f"Every leg is of one product ({legs[0]['product']}), not {leg['product']}.",
                f"legs[{i}].product",
            )


def _legs(description: str) -> fields.List[Any]:
    return fields.List(
        fields.Nested(LegSchema),
        required=True,
        validate=validate.Length(1, MAX_LEGS),
        metadata={"description": description},
    )


class EvaluateBody(_Bracketed):
    """``POST /strategies/evaluate``."""

    legs = _legs(f"1 to {MAX_LEGS} legs of one product.")
    dates = fields.List(
        Instant(),
        load_default=list,
        validate=validate.Length(0, MAX_DATES),
        metadata={"description": f"0 to {MAX_DATES} instants strictly between now and the "
                  "first expiry, each with a P&L curve of its own."},
    )  # fmt: skip
    points = fields.Integer(
        strict=True,
        load_default=None,
        validate=validate.Range(MIN_POINTS, MAX_POINTS),
        metadata={"description": f"Evenly spaced spots of the curves ({MIN_POINTS}–"
                  f"{MAX_POINTS}, default {DEFAULT_POINTS}); every strike, breakeven and spot "
                  "is added."},
    )  # fmt: skip

    @validates_schema(skip_on_field_errors=True)
    def _one_product(self, data: dict[str, Any], **_: Any) -> None:
        check_one_product(data["legs"])


class StrategyBody(_Bracketed):
    """``POST /strategies`` and ``PUT /strategies/{strategy_id}`` (a whole replacement)."""

    name = fields.String(
        required=True,
        validate=validate.Length(1, NAME_MAX),
        metadata={"description": f"1 to {NAME_MAX} characters.", "example": "Weekly condor"},
    )
    legs = _legs(f"1 to {MAX_LEGS} legs of one product (checked as evaluate checks them, "
                 "without the live chain).")  # fmt: skip
    note = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": f"Free text, at most {NOTE_MAX} characters."},
    )

    @validates_schema(skip_on_field_errors=True)
    def _one_product(self, data: dict[str, Any], **_: Any) -> None:
        check_one_product(data["legs"])


class TemplateQuery(Schema):
    """``GET /strategies/templates/{product}``."""

    name = fields.String(
        required=True,
        validate=validate.OneOf(TEMPLATES),
        metadata={"description": "The strategy to build around the ATM strike."},
    )
    expiry = fields.String(
        load_default=None,
        validate=validate_expiry,
        metadata={"description": "YYYY-MM-DD; default the nearest live expiry not yet expired."},
    )
    far_expiry = fields.String(
        load_default=None,
        validate=validate_expiry,
        metadata={"description": "calendar only: the later expiry (default the next live one)."},
    )
    quantity = fields.Float(
        load_default=None,
        allow_nan=False,
        validate=validate.Range(min=0.0, min_inclusive=False, max=MAX_QUANTITY),
        metadata={"description": "Units per leg (a butterfly's body twice that); default one "
                  "contract of the product (NIFTY 75)."},
    )  # fmt: skip
    width = fields.Integer(
        load_default=1,
        validate=validate.Range(1, MAX_WIDTH),
        metadata={"description": "Distance between the legs in listed strikes."},
    )
    option_type = fields.String(
        load_default=OptionType.CALL.value,
        validate=validate.OneOf([t.value for t in OptionType]),
        metadata={"description": "butterfly and calendar: CALL or PUT."},
    )
    reverse = fields.Boolean(
        load_default=False,
        metadata={"description": "true turns every side over (a short straddle)."},
    )


class StrategyIdPath(Schema):
    """The ``<strategy_id>`` path parameter."""

    strategy_id = fields.String(
        required=True,
        validate=FullMatch(STRATEGY_ID_PATTERN, error="Not a strategy id (st_ and 22 characters)."),
        metadata={"example": "st_8kV1n0dQmZxT3yYqLwR2aA"},
    )


# -- answers -------------------------------------------------------------------------------


def _nullable(field: type[fields.Field[Any]], description: str) -> fields.Field[Any]:
    return field(required=True, allow_none=True, metadata={"description": description})


def _numbers(description: str) -> fields.List[Any]:
    return fields.List(fields.Float(), required=True, metadata={"description": description})


class LegOut(Schema):
    """A leg as answered: every member present (null where the leg has none)."""

    product = fields.String(required=True)
    expiry = _nullable(fields.String, "YYYY-MM-DD; null for the underlying.")
    strike = _nullable(fields.Float, "null for the underlying.")
    option_type = _nullable(fields.String, "CALL, PUT, or null for the underlying.")
    side = fields.String(required=True, validate=validate.OneOf(SIDES))
    quantity = fields.Float(required=True)
    price = _nullable(fields.Float, "Per unit (null in a template: the live mid at evaluation).")


class ValuedLeg(LegOut):
    price = fields.Float(required=True, metadata={"description": "The price used per unit."})
    iv = _nullable(fields.Float, "The IV the leg is valued at (decimal); null: the underlying.")


class GreeksSchema(Schema):
    delta = fields.Float(required=True, metadata={"description": "Per unit of underlying."})
    gamma = fields.Float(required=True, metadata={"description": "Per unit of underlying."})
    theta = fields.Float(required=True, metadata={"description": "Per calendar day."})
    vega = fields.Float(required=True, metadata={"description": "Per vol point."})


class DatedCurveSchema(Schema):
    at = fields.String(required=True, metadata={"example": _WIRE_EXAMPLE})
    pnl = _numbers("The P&L at each of payoff.spots at that instant.")


class PayoffSchema(Schema):
    spots = _numbers("Increasing; every strike, breakeven and spot among them.")
    expiry = _numbers("The P&L at the first expiry.")
    today = _numbers("The P&L now.")
    dates = fields.List(fields.Nested(DatedCurveSchema), required=True)


class DensitySchema(Schema):
    spots = _numbers("payoff.spots.")
    risk_neutral = _numbers("The smile's density at each spot (per unit of underlying).")
    lognormal = _numbers("The lognormal's at ATM IV, at each spot.")
    outside_mass = fields.Float(
        required=True,
        metadata={"description": "The risk-neutral probability below and above the spots."},
    )


class EvaluationSchema(Schema):
    """``POST /strategies/evaluate``'s answer; amounts in ``currency``."""

    product = fields.String(required=True)
    currency = fields.String(required=True, metadata={"example": "INR"})
    spot = fields.Float(required=True, metadata={"description": "The newest chain's spot."})
    as_of = fields.String(required=True, metadata={"description": "The newest chain's time."})
    valued_at = fields.String(required=True, metadata={"description": "The valuation's now."})
    stale = fields.Boolean(required=True, metadata={"description": "A chain used is stale."})
    expiry = fields.String(required=True, metadata={"description": "The first expiry."})
    expires_at = fields.String(required=True, metadata={"example": _WIRE_EXAMPLE})
    legs = fields.List(fields.Nested(ValuedLeg), required=True)
    net_premium = fields.Float(
        required=True, metadata={"description": "Σ ±quantity·price: > 0 paid, < 0 received."}
    )
    breakevens = _numbers("Spots where the P&L at the first expiry is zero.")
    max_profit = _nullable(fields.Float, "null: unbounded.")
    max_loss = _nullable(fields.Float, "A positive amount; null: unbounded.")
    limits_exact = fields.Boolean(required=True)
    greeks = fields.Nested(GreeksSchema, required=True)
    pop = fields.Float(required=True, metadata={"description": "P(P&L at expiry > 0)."})
    pop_lognormal = fields.Float(required=True)
    atm_iv = fields.Float(required=True)
    payoff = fields.Nested(PayoffSchema, required=True)
    density = fields.Nested(DensitySchema, required=True)
    model = fields.String(required=True, metadata={"example": MODEL})


class TemplateSchema(Schema):
    legs = fields.List(fields.Nested(LegOut), required=True)


class StrategySchema(Schema):
    """A saved strategy as stored and answered to its owner."""

    id = fields.String(required=True, metadata={"example": "st_8kV1n0dQmZxT3yYqLwR2aA"})
    owner = fields.String(required=True)
    name = fields.String(required=True)
    legs = fields.List(fields.Nested(LegOut), required=True)
    note = _nullable(fields.String, "The owner's note.")
    created_at = fields.String(required=True, metadata={"example": _WIRE_EXAMPLE})
    updated_at = fields.String(required=True, metadata={"example": _WIRE_EXAMPLE})


class StrategyListSchema(Schema):
    strategies = fields.List(
        fields.Nested(StrategySchema),
        required=True,
        metadata={"description": "The caller's strategies, oldest first."},
    )


# -- routes --------------------------------------------------------------------------------

_ANSWERS: dict[int, type[Schema] | None] = {
    401: ErrorSchema,  # the gateway: missing or invalid access token
    422: ErrorSchema,
    429: ErrorSchema,  # the gateway: rate limited
    503: ErrorSchema,  # Redis or the store unavailable
}


def _route(
    name: str, method: str, path: str, summary: str, ok: dict[int, type[Schema] | None],
    *, body: type[Schema] | None = None, query: type[Schema] | None = None,
    extra: tuple[int, ...] = (), priority: Priority = Priority.LIVE,
) -> RouteSpec:  # fmt: skip
    responses = {**ok, **_ANSWERS, **dict.fromkeys(extra, ErrorSchema)}
    if body is not None:
        responses.update({400: ErrorSchema, 413: ErrorSchema})
    return RouteSpec(
        name=f"strategies_{name}", method=method, path=path, upstream=Upstream.PAPER,
        summary=summary, responses=responses, query=query, body=body, priority=priority,
        tags=("strategies",),
    )  # fmt: skip


_ONE = "/strategies/<strategy_id>"

ROUTES: tuple[RouteSpec, ...] = (
    _route("evaluate", "POST", "/strategies/evaluate", "Value legs on the live chains: payoff, "
           "breakevens, limits, Greeks, probability of profit.", {200: EvaluationSchema},
           body=EvaluateBody, extra=(404,), priority=Priority.HEAVY),
    _route("templates", "GET", "/strategies/templates/<product>", "A strategy's legs around "
           "the live ATM strike (prices null).", {200: TemplateSchema}, query=TemplateQuery,
           extra=(404,)),
    _route("create", "POST", "/strategies", "Save a strategy.", {201: StrategySchema},
           body=StrategyBody, extra=(409,)),
    _route("list", "GET", "/strategies", "The caller's saved strategies, oldest first.",
           {200: StrategyListSchema}, query=NoQuery),
    _route("get", "GET", _ONE, "One of the caller's strategies.", {200: StrategySchema},
           query=NoQuery, extra=(404,)),
    _route("replace", "PUT", _ONE, "Replace a strategy's name, legs and note.",
           {200: StrategySchema}, body=StrategyBody, extra=(404,)),
    _route("delete", "DELETE", _ONE, "Delete a strategy.", {204: None}, query=NoQuery,
           extra=(404,)),
)  # fmt: skip
"""The strategy routes, as the gateway serves them under ``/api``."""

__all__ = [
    "DEFAULT_POINTS", "MAX_DATES", "MAX_LEGS", "MAX_POINTS", "MIN_POINTS", "MODEL", "ROUTES",
    "SIDES", "STRATEGY_ID_PATTERN", "TEMPLATES", "EvaluateBody", "EvaluationSchema",
    "LegSchema", "StrategyBody", "StrategyIdPath", "TemplateQuery", "bracketed",
]  # fmt: skip
