"""Checks of what enters the rules: requests, quotes, owners and instants.

Each failure is an :class:`OrderError` (a ``ValueError``) whose ``field`` names the culprit
as the REST body spells it (``quantity``; ``orders[1].type`` for a basket's second leg),
so the service answers 422 naming it. A quote from the enriched chain's floats is built by
:func:`quote_from_floats` (0 means "no quote" there).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec

from common.messages.fields import PRODUCT_PATTERN
from common.timestamps import parse_expiry, parse_ts
from paper.documents import Instrument, OrderRequest, OrderType, Quote
from paper.money import ZERO, check_price, check_quantity, decimal_from

__all__ = [
    "MAX_LEGS",
    "OrderError",
    "check_currency",
    "check_instant",
    "check_owner",
    "check_quote",
    "check_requests",
    "quote_from_floats",
    "request_from",
]

MAX_LEGS = 8
"""Legs of one basket at most."""
_CLIENT_ORDER_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_PRODUCT = re.compile(PRODUCT_PATTERN)


class OrderError(ValueError):
    """A request (or quote) the rules cannot take: ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def _checked(field: str, check: Any, *args: Any, **kwargs: Any) -> Any:
    """``check(*args)`` with its ``ValueError`` as an :class:`OrderError` of ``field``."""
    try:
        return check(*args, **kwargs)
    except ValueError as exc:
        message = str(exc).removeprefix(f"{field}: ")
        raise OrderError(field, message) from None


def check_owner(owner: Any) -> str:
    """``owner`` if it is a user id (a non-empty string of at most 200 characters)."""
    if not isinstance(owner, str) or not owner or len(owner) > 200:
        raise OrderError("owner", "must be a non-empty string of at most 200 characters")
    return owner


def check_currency(currency: Any, field: str = "currency") -> str:
    """``currency`` if it is an ISO 4217 code (three capitals: INR, USD)."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise OrderError(field, "an ISO 4217 code such as INR or USD")
    return currency


def check_instant(value: Any, field: str = "at") -> str:
    """``value`` if it is a wire timestamp (``2026-11-21T09:41:00.123Z``)."""
    _checked(field, parse_ts, value)
    return str(value)


def check_instrument(instrument: Instrument, prefix: str = "") -> Instrument:
    """``instrument`` if its fields agree: an option has an expiry and a positive strike,
    the underlying no strike (and an expiry only as a future)."""
    if not isinstance(instrument.product, str) or not _PRODUCT.match(instrument.product):
        raise OrderError(f"{prefix}product", f"must match {PRODUCT_PATTERN}")
    if instrument.expiry is not None:
        _checked(f"{prefix}expiry", parse_expiry, instrument.expiry)
    if instrument.option_type is None:
        if instrument.strike is not None:
            raise OrderError(f"{prefix}strike", "only for options (option_type CALL or PUT)")
        return instrument
    if instrument.expiry is None:
        raise OrderError(f"{prefix}expiry", "required for an option")
    if instrument.strike is None:
        raise OrderError(f"{prefix}strike", "required for an option")
    _checked(f"{prefix}strike", check_price, instrument.strike, f"{prefix}strike")
    return instrument


def _check_request(request: OrderRequest, prefix: str) -> None:
    if not _CLIENT_ORDER_ID.fullmatch(request.client_order_id):
        raise OrderError(f"{prefix}client_order_id", "1 to 64 of A-Z a-z 0-9 . _ : -")
    check_currency(request.currency, f"{prefix}currency")
    check_instrument(request.instrument, prefix)
    _checked(f"{prefix}quantity", check_quantity, request.quantity, f"{prefix}quantity")
    field = f"{prefix}limit_price"
    if request.type is OrderType.LIMIT:
        if request.limit_price is None:
            raise OrderError(field, "required for a LIMIT order")
        _checked(field, check_price, request.limit_price, field)
    elif request.limit_price is not None:
        raise OrderError(field, "only for a LIMIT order")


def check_requests(requests: Sequence[OrderRequest]) -> list[OrderRequest]:
    """``requests`` (one order, or a basket's legs) if each is valid and, for a basket, its
    legs are MARKET orders in one currency with distinct client order ids."""
    if isinstance(requests, OrderRequest) or not isinstance(requests, Sequence):
        raise OrderError("orders", "a list of order requests")
    if not 1 <= len(requests) <= MAX_LEGS:
        raise OrderError("orders", f"1 to {MAX_LEGS} orders, got {len(requests)}")
    basket = len(requests) > 1
    seen: set[str] = set()
    for index, request in enumerate(requests):
        prefix = f"orders[{index}]." if basket else ""
        if not isinstance(request, OrderRequest):
            raise OrderError(prefix.rstrip(".") or "orders", "an order request")
        _check_request(request, prefix)
        if not basket:
            continue
        if request.type is not OrderType.MARKET:
            raise OrderError(f"{prefix}type", "a basket's legs are MARKET orders")
        if request.currency != requests[0].currency:
            raise OrderError(f"{prefix}currency", "a basket's legs share one currency")
        if request.client_order_id in seen:
            raise OrderError(f"{prefix}client_order_id", "repeated in the basket")
        seen.add(request.client_order_id)
    return list(requests)


def request_from(payload: Any) -> OrderRequest:
    """An order request from a decoded JSON object (numbers as JSON numbers or decimal
    strings), checked; :class:`OrderError` naming the field otherwise."""
    try:
        request = msgspec.convert(payload, OrderRequest, strict=False)
    except msgspec.ValidationError as exc:
        raise OrderError(_field_of(str(exc)), str(exc)) from None
    _check_request(request, "")
    return request


def _field_of(message: str) -> str:
    """The field msgspec's message names (``… - at `$.quantity```; ``… field `side```)."""
    for marker in ("`$.", "field `"):
        start = message.find(marker)
        if start >= 0:
            rest = message[start + len(marker) :]
            return rest.split("`", 1)[0].split("[", 1)[0].split(".", 1)[0]
    return "body"


def check_quote(quote: Quote, field: str = "quote") -> Quote:
    """``quote`` if its prices are positive (or None), its sizes ≥ 0 and its timestamp a
    wire instant."""
    if not isinstance(quote, Quote):
        raise OrderError(field, "a Quote")
    check_instrument(quote.instrument, f"{field}.")
    for name in ("bid", "ask"):
        price = getattr(quote, name)
        if price is not None:
            _checked(f"{field}.{name}", check_price, price, f"{field}.{name}")
    _checked(f"{field}.underlying", check_price, quote.underlying, f"{field}.underlying")
    for name in ("bid_size", "ask_size"):
        size = getattr(quote, name)
        if size is not None and not (size.is_finite() and size >= ZERO):
            raise OrderError(f"{field}.{name}", "must be a quantity ≥ 0 (None: unlimited)")
    check_instant(quote.timestamp, f"{field}.timestamp")
    return quote


def quote_from_floats(
    instrument: Instrument, bid: float, ask: float, underlying: float, timestamp: str
) -> Quote:
    """A quote from an enriched chain row's floats: 0 (or less) means no quote on that side;
    each float becomes a ``Decimal`` through its shortest repr."""

    def side(value: float, name: str) -> Decimal | None:
        price = decimal_from(value, name)
        return price if price > ZERO else None

    quote = Quote(
        instrument=instrument,
        bid=side(bid, "bid"),
        ask=side(ask, "ask"),
        underlying=decimal_from(underlying, "underlying"),
        timestamp=timestamp,
    )
    return check_quote(quote)
