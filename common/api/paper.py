"""paper_service's paper trading API: order and basket bodies, list queries and their
cursors, the answers, the routes.

Amounts, prices and quantities are exact decimals: a body may give them as JSON numbers
(read through their shortest repr: ``0.1`` is ``0.1``) or decimal strings, and every answer
gives them as decimal strings (``"8962.50"``), as the ledger keeps them (docs/PAPER.md).
Bodies are validated at the gateway and again in the service, where ``paper.checks`` checks
them once more (422 naming the field: ``quantity``, ``legs[1].strike``). The bounds repeat
``paper.checks`` and ``paper.money`` (``common`` imports no other library).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from common.api import cursors
from common.api.auth import FullMatch
from common.api.cursors import CursorField, encode_cursor
from common.api.data import NoQuery
from common.api.errors import ErrorSchema
from common.api.messages import check_instrument_kind, validate_expiry
from common.api.routes import RouteSpec, Upstream
from common.api.strategies import SIDES, STRATEGY_ID_PATTERN, bracketed
from common.messages import PRODUCT_PATTERN
from common.messages.enums import OptionType

CLIENT_ORDER_ID_PATTERN = "^[A-Za-z0-9._:-]{1,64}$"
"""``paper.checks``' client order id."""
PREFIX_PATTERN = "^[A-Za-z0-9._:-]{1,60}$"
"""A basket's ``client_order_id_prefix``: the legs are ``{prefix}-1`` … ``{prefix}-8``."""
ORDER_ID_PATTERN = "^po_[A-Za-z0-9_-]{22}$"
"""``paper.ids.order_id``: ``po_`` and 22 base64url characters."""
ORDER_TYPES = ("MARKET", "LIMIT")
STATES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELLED", "REJECTED")
MIN_LEGS, MAX_LEGS = 2, 8
"""A basket's legs (``paper.checks.MAX_LEGS``)."""
MAX_AMOUNT = Decimal(10) ** 9
"""A quantity or price at most (``paper.money``), with at most ``PLACES`` decimals."""
PLACES = 8
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
"""Rows per page; the service reads one more to know whether a page follows."""
PRODUCT_MAX = 32

_WIRE_EXAMPLE = "2026-12-06T09:41:00.123Z"
_ROW_ID = re.compile(r"[A-Za-z0-9._-]{1,80}")


# -- fields --------------------------------------------------------------------------------


class DecimalAmount(fields.Field[Decimal]):
    """A positive amount, exact: a JSON number (through its shortest repr) or a decimal
    string, at most 10⁹ with at most 8 decimals; loaded as a ``Decimal``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValidationError("A number or a decimal string.")
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except InvalidOperation:
            raise ValidationError("A number or a decimal string.") from None
        if not number.is_finite() or not Decimal(0) < number <= MAX_AMOUNT:
            raise ValidationError(f"Must be greater than 0 and at most {MAX_AMOUNT}.")
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -PLACES:
            raise ValidationError(f"At most {PLACES} decimal places.")
        return number

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else str(value)


def decode_cursor(cursor: str) -> tuple[str, str]:
    """(at, id) of a cursor from :func:`encode_cursor` (an order's or a trade's); ``ValueError``
    otherwise."""
    return cursors.decode_cursor(cursor, _ROW_ID)


# -- bodies --------------------------------------------------------------------------------


def _client_order_id(required: bool) -> fields.String:
    presence: dict[str, Any] = {"required": True} if required else {"load_default": None}
    return fields.String(
        **presence,
        validate=FullMatch(CLIENT_ORDER_ID_PATTERN, error="1 to 64 of A-Z a-z 0-9 . _ : -"),
        metadata={"description": "The caller's id of the order: the same id again answers the "
                  "stored order (idempotent).", "example": "c-20261206-0001"},
    )  # fmt: skip


class _Instrument(Schema):
    """An option (CALL/PUT with its expiry and a strike its chain lists) or the underlying
    (``option_type``, ``expiry`` and ``strike`` null: the spot)."""

    product = fields.String(
        required=True,
        validate=[validate.Length(1, PRODUCT_MAX), validate.Regexp(PRODUCT_PATTERN)],
        metadata={"example": "NIFTY"},
    )
    expiry = fields.String(load_default=None, allow_none=True, validate=validate_expiry,
                           metadata={"example": "2026-12-10"})  # fmt: skip
    strike = DecimalAmount(load_default=None, allow_none=True, metadata={"example": 24000})
    option_type = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf([t.value for t in OptionType]),
        metadata={"description": "CALL or PUT; null: the underlying."},
    )
    side = fields.String(required=True, validate=validate.OneOf(SIDES))
    quantity = DecimalAmount(
        required=True,
        metadata={"description": "Units of the underlying (not contracts), a multiple of the "
                  "product's lot (NIFTY 75).", "example": 75},
    )  # fmt: skip

    @validates_schema(skip_on_field_errors=True)
    def _kind(self, data: dict[str, Any], **_: Any) -> None:
        check_instrument_kind(data, "order")


class OrderBody(_Instrument):
    """``POST /paper/orders``."""

    client_order_id = _client_order_id(required=True)
    type = fields.String(load_default="MARKET", validate=validate.OneOf(ORDER_TYPES))
    limit_price = DecimalAmount(
        load_default=None, allow_none=True, metadata={"description": "LIMIT orders only."}
    )

    @validates_schema(skip_on_field_errors=True)
    def _limit(self, data: dict[str, Any], **_: Any) -> None:
        if data["type"] == "LIMIT" and data["limit_price"] is None:
            raise ValidationError("Required for a LIMIT order.", "limit_price")
        if data["type"] == "MARKET" and data["limit_price"] is not None:
            raise ValidationError("Only for a LIMIT order.", "limit_price")


class BasketLeg(_Instrument):
    """A basket's leg: a MARKET order."""

    client_order_id = _client_order_id(required=False)


def check_leg_ids(legs: list[dict[str, Any]], prefix: str | None) -> None:
    """Either ``client_order_id_prefix`` or every leg's own ``client_order_id``, distinct."""
    given = [leg.get("client_order_id") for leg in legs]
    if prefix is not None:
        for i, cid in enumerate(given):
            if cid is not None:
                raise ValidationError("Not with client_order_id_prefix.",
                                      f"legs[{i}].client_order_id")  # fmt: skip
        return
    for i, cid in enumerate(given):
        if cid is None:
            raise ValidationError("Required without client_order_id_prefix.",
                                  f"legs[{i}].client_order_id")  # fmt: skip
        if cid in given[:i]:
            raise ValidationError("Repeated in the basket.", f"legs[{i}].client_order_id")


class BasketBody(Schema):
    """``POST /paper/baskets``: 2 to 8 MARKET legs in one currency, all filled or none."""

    client_order_id_prefix = fields.String(
        load_default=None,
        validate=FullMatch(PREFIX_PATTERN, error="1 to 60 of A-Z a-z 0-9 . _ : -"),
        metadata={"description": "The legs' ids are {prefix}-1, {prefix}-2, … (else each leg "
                  "names its own client_order_id)."},
    )  # fmt: skip
    legs = fields.List(fields.Nested(BasketLeg), required=True,
                       validate=validate.Length(MIN_LEGS, MAX_LEGS))  # fmt: skip

    def handle_error(self, error: ValidationError, data: Any, *, many: bool, **kwargs: Any) -> None:
        raise ValidationError(bracketed(error.messages)) from error

    @validates_schema(skip_on_field_errors=True)
    def _ids(self, data: dict[str, Any], **_: Any) -> None:
        check_leg_ids(data["legs"], data["client_order_id_prefix"])


class PlaceStrategyBody(Schema):
    """``POST /paper/strategies/{strategy_id}/place``: the saved legs as a basket."""

    client_order_id_prefix = fields.String(
        required=True,
        validate=FullMatch(PREFIX_PATTERN, error="1 to 60 of A-Z a-z 0-9 . _ : -"),
        metadata={"description": "The legs' ids are {prefix}-1, {prefix}-2, …"},
    )


class OrdersQuery(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(STATES))
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = CursorField(
        decode_cursor, load_default=None, metadata={"description": "The previous page's next."}
    )


class TradesQuery(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = CursorField(
        decode_cursor, load_default=None, metadata={"description": "The previous page's next."}
    )


class OrderIdPath(Schema):
    """The ``<order_id>`` path parameter."""

    order_id = fields.String(
        required=True,
        validate=FullMatch(ORDER_ID_PATTERN, error="Not an order id (po_ and 22 characters)."),
        metadata={"example": "po_Qm7d1m1o2yH4Zt2n8w0GkA"},
    )


# -- answers -------------------------------------------------------------------------------


def _text(description: str, nullable: bool = False) -> fields.String:
    return fields.String(required=True, allow_none=nullable,
                         metadata={"description": description})  # fmt: skip


def _amount(description: str, nullable: bool = False) -> fields.String:
    return _text(f"{description} (a decimal string)", nullable)


class _InstrumentOut(Schema):
    product = _text("The product.")
    expiry = _text("YYYY-MM-DD; null for the spot.", nullable=True)
    strike = _amount("null for the underlying", nullable=True)
    option_type = _text("CALL, PUT, or null for the underlying.", nullable=True)


class TradeSchema(_InstrumentOut):
    """A fill (or a settlement at expiry)."""

    id = _text("po_….000001 for a fill.")
    owner = _text("The owner's user id.")
    kind = _text("FILL or SETTLEMENT.")
    order_id = _text("null for a settlement.", nullable=True)
    client_order_id = _text("The order's client_order_id.", nullable=True)
    currency = _text("INR, USD.")
    side = _text("BUY or SELL.")
    quantity = _amount("Units")
    price = _amount("Per unit")
    notional = _amount("quantity × price, rounded to the minor unit")
    fee = _amount("The fee paid")
    realized_pnl = _amount("What the fill realised")
    market_ts = _text("The quote's instant.")
    at = _text("When it was recorded.")


class OrderSchema(_InstrumentOut):
    """An order as stored; ``fills`` only in placement answers."""

    id = _text("po_ and 22 characters.")
    owner = _text("The owner's user id.")
    client_order_id = _text("The caller's id.")
    currency = _text("The product's quote currency.")
    side = _text("BUY or SELL.")
    quantity = _amount("Units")
    type = _text("MARKET or LIMIT.")
    limit_price = _amount("LIMIT orders", nullable=True)
    state = _text("NEW, PARTIALLY_FILLED, FILLED, CANCELLED or REJECTED.")
    reason = _text("Why REJECTED or CANCELLED.", nullable=True)
    filled_quantity = _amount("Units filled")
    average_price = _amount("The fills' mean price", nullable=True)
    basket_id = _text("pb_…: a basket's legs share it.", nullable=True)
    market_ts = _text("The last quote it was decided on.", nullable=True)
    created_at = _text(_WIRE_EXAMPLE)
    updated_at = _text(_WIRE_EXAMPLE)
    fills = fields.List(fields.Nested(TradeSchema), metadata={"description": "Its trades."})


class BasketSchema(Schema):
    orders = fields.List(fields.Nested(OrderSchema), required=True)


class OrderPageSchema(Schema):
    orders = fields.List(fields.Nested(OrderSchema), required=True)
    next = _text("The cursor of the next page; null on the last.", nullable=True)


class TradePageSchema(Schema):
    trades = fields.List(fields.Nested(TradeSchema), required=True)
    next = _text("The cursor of the next page; null on the last.", nullable=True)


class PositionSchema(_InstrumentOut):
    currency = _text("INR, USD.")
    quantity = _amount("Signed units (negative: short)")
    cost = _amount("The signed cost basis")
    average_cost = _amount("cost / quantity")
    realized_pnl = _amount("Realised over its life")
    margin = _amount("What it blocks")
    mark = _amount("The live mid; null without a quote (valued at cost)", nullable=True)
    value = _amount("quantity × mark")
    unrealized_pnl = _amount("value − cost")
    stale = fields.Boolean(required=True, metadata={"description": "Its chain is stale."})
    updated_at = _text(_WIRE_EXAMPLE)


class PositionListSchema(Schema):
    positions = fields.List(fields.Nested(PositionSchema), required=True)


class AccountSchema(Schema):
    currency = _text("INR, USD.")
    cash = _amount("Cash")
    margin_used = _amount("Blocked by short positions")
    free = _amount("cash − margin_used: the buying power")
    equity = _amount("cash + Σ position value")
    realized_pnl = _amount("Realised")
    unrealized_pnl = _amount("Σ positions' unrealised")
    fees = _amount("Fees paid")


class AccountListSchema(Schema):
    accounts = fields.List(fields.Nested(AccountSchema), required=True,
                           metadata={"description": "One per currency, by currency."})  # fmt: skip


# -- routes --------------------------------------------------------------------------------

_ANSWERS: dict[int, type[Schema] | None] = {
    401: ErrorSchema, 422: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema,
}  # fmt: skip


def _route(
    name: str, method: str, path: str, summary: str, ok: dict[int, type[Schema] | None],
    *, body: type[Schema] | None = None, query: type[Schema] | None = None,
    extra: tuple[int, ...] = (),
) -> RouteSpec:  # fmt: skip
    responses = {**ok, **_ANSWERS, **dict.fromkeys(extra, ErrorSchema)}
    if body is not None:
        responses.update({400: ErrorSchema, 413: ErrorSchema})
    return RouteSpec(
        name=f"paper_{name}", method=method, path=path, upstream=Upstream.PAPER,
        summary=summary, responses=responses, query=query, body=body, tags=("paper",),
    )  # fmt: skip


_ONE = "/paper/orders/<order_id>"

ROUTES: tuple[RouteSpec, ...] = (
    _route("place", "POST", "/paper/orders", "Place a paper order (201; 200: the stored "
           "order of a client_order_id sent before).", {201: OrderSchema, 200: OrderSchema},
           body=OrderBody, extra=(404, 409)),
    _route("basket", "POST", "/paper/baskets", "Place 2 to 8 MARKET legs: all filled or "
           "none.", {201: BasketSchema, 200: BasketSchema}, body=BasketBody, extra=(404, 409)),
    _route("place_strategy", "POST", "/paper/strategies/<strategy_id>/place", "Place a saved "
           "strategy as a basket.", {201: BasketSchema, 200: BasketSchema},
           body=PlaceStrategyBody, extra=(404, 409)),
    _route("orders", "GET", "/paper/orders", "The caller's orders, newest first.",
           {200: OrderPageSchema}, query=OrdersQuery),
    _route("order", "GET", _ONE, "One of the caller's orders.", {200: OrderSchema},
           query=NoQuery, extra=(404,)),
    _route("cancel", "DELETE", _ONE, "Cancel an open limit order.", {200: OrderSchema},
           query=NoQuery, extra=(404, 409)),
    _route("positions", "GET", "/paper/positions", "Open positions marked to the live market.",
           {200: PositionListSchema}, query=NoQuery),
    _route("account", "GET", "/paper/account", "The account per currency, marked live.",
           {200: AccountListSchema}, query=NoQuery),
    _route("trades", "GET", "/paper/trades", "The caller's fills, newest first.",
           {200: TradePageSchema}, query=TradesQuery),
    _route("trades_csv", "GET", "/paper/trades.csv", "The same rows as CSV (an attachment).",
           {200: None}, query=TradesQuery),
)  # fmt: skip
"""The paper trading routes, as the gateway serves them under ``/api``."""

__all__ = [
    "CLIENT_ORDER_ID_PATTERN", "MAX_LEGS", "ORDER_ID_PATTERN", "ROUTES", "STRATEGY_ID_PATTERN",
    "BasketBody", "DecimalAmount", "OrderBody", "OrderIdPath", "OrdersQuery",
    "PlaceStrategyBody", "TradesQuery", "decode_cursor", "encode_cursor",
]  # fmt: skip
