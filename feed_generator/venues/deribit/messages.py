"""Deribit's wire frames as msgspec structs: the JSON-RPC envelope and the payloads we use.

Unknown fields are ignored (the venue adds fields over time; refusing them would
dead-letter a whole feed after a harmless API change), but every field we read is
typed and range-checked by the decoder: prices are finite and non-negative, IVs
(percent) and amounts too. The payloads of ``params``/``result`` stay
``msgspec.Raw`` in the envelope and are decoded by their own decoder once the
channel or method is known (:mod:`.parser`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, Struct

MAX_PRICE = 1e12
"""Largest price we believe (coin or USD): above it a frame is hostile, not a market."""
MAX_IV = 10_000.0
"""Largest IV in percent we believe."""

MAX_MILLIS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last instant a wire timestamp can name."""
Millis = Annotated[int, Meta(ge=0, le=MAX_MILLIS)]
"""Milliseconds since the Unix epoch."""
Price = Annotated[float, Meta(ge=0, le=MAX_PRICE)]
PositivePrice = Annotated[float, Meta(gt=0, le=MAX_PRICE)]
Amount = Annotated[float, Meta(ge=0, le=MAX_PRICE)]
IvPercent = Annotated[float, Meta(ge=0, le=MAX_IV)]
Name = Annotated[str, Meta(min_length=1, max_length=64)]


class Frame(Struct, frozen=True):
    """A JSON-RPC 2.0 frame: a reply (``id`` with ``result`` or ``error``) or a notification
    (``method`` with ``params``, no ``id``). REST replies carry the same envelope."""

    jsonrpc: Literal["2.0"]
    id: int | None = None
    method: str | None = None
    params: msgspec.Raw = msgspec.Raw()
    """Empty when absent (msgspec cannot put ``Raw`` in a union with ``None``)."""
    result: msgspec.Raw = msgspec.Raw()
    """Empty when absent; a JSON ``null`` result is the raw bytes ``null``."""
    error: RpcError | None = None
    usIn: int | None = None  # noqa: N815 - the venue's field names
    usOut: int | None = None  # noqa: N815
    usDiff: int | None = None  # noqa: N815
    testnet: bool | None = None


class RpcError(Struct, frozen=True):
    """An error reply's ``error``: ``code`` (10028 too_many_requests …), ``message``."""

    code: int
    message: str = ""
    data: msgspec.Raw = msgspec.Raw()


class Subscription(Struct, frozen=True):
    """``params`` of a ``subscription`` notification."""

    channel: Name
    data: msgspec.Raw


class Heartbeat(Struct, frozen=True):
    """``params`` of a ``heartbeat`` notification; ``test_request`` must be answered with
    ``public/test``."""

    type: Literal["heartbeat", "test_request"]


class Stats(Struct, frozen=True):
    """A ticker's 24 h statistics; volume in coins (options)."""

    volume: Amount | None = None
    high: Price | None = None
    low: Price | None = None
    price_change: float | None = None


class Greeks(Struct, frozen=True):
    delta: float | None = None
    gamma: float | None = None
    vega: float | None = None
    theta: float | None = None
    rho: float | None = None


class Ticker(Struct, frozen=True):
    """``ticker.{instrument}.{interval}`` data of an option; prices in the coin, IV in percent,
    open interest in coins, ``underlying_price`` the USD forward the venue prices it on."""

    instrument_name: Name
    timestamp: Millis
    mark_price: Price
    underlying_price: PositivePrice
    open_interest: Amount = 0.0
    state: str = "open"
    best_bid_price: Price | None = None
    best_ask_price: Price | None = None
    best_bid_amount: Amount | None = None
    best_ask_amount: Amount | None = None
    last_price: Price | None = None
    mark_iv: IvPercent | None = None
    bid_iv: IvPercent | None = None
    ask_iv: IvPercent | None = None
    underlying_index: str | None = None
    index_price: PositivePrice | None = None
    interest_rate: float | None = None
    stats: Stats | None = None
    greeks: Greeks | None = None


class TickerParams(Struct, frozen=True):
    """``params`` of a ticker notification, its ``data`` typed."""

    channel: Name
    data: Ticker


class TickerNotification(Struct, frozen=True):
    """A whole ``ticker`` notification frame, decoded in one pass: the parser's fast path for
    the frame that makes almost all of the traffic. The envelope's fields mirror
    :class:`Frame`, so a frame that decodes here also decodes there."""

    jsonrpc: Literal["2.0"]
    method: Literal["subscription"]
    params: TickerParams
    id: int | None = None
    result: msgspec.Raw = msgspec.Raw()
    error: RpcError | None = None
    usIn: int | None = None  # noqa: N815 - the venue's field names
    usOut: int | None = None  # noqa: N815
    usDiff: int | None = None  # noqa: N815
    testnet: bool | None = None


class PriceIndex(Struct, frozen=True):
    """``deribit_price_index.{index_name}`` data: the USD index of a coin."""

    index_name: Name
    price: PositivePrice
    timestamp: Millis


class Instrument(Struct, frozen=True):
    """One row of ``public/get_instruments``."""

    instrument_name: Name
    expiration_timestamp: Millis
    kind: str = "option"
    strike: PositivePrice | None = None
    option_type: Literal["call", "put"] | None = None
    base_currency: str | None = None
    quote_currency: str | None = None
    settlement_currency: str | None = None
    contract_size: Amount | None = None
    tick_size: Amount | None = None
    min_trade_amount: Amount | None = None
    is_active: bool = True
    creation_timestamp: Millis | None = None


class BookSummary(Struct, frozen=True):
    """One row of ``public/get_book_summary_by_currency`` (kind option): prices in the coin,
    volume (24 h) and open interest in coins, IVs in percent. ``bid_iv``/``ask_iv`` are not in
    the documented schema (only ``mark_iv``); rows that carry them anyway are read, as
    nautilus_trader's ``DeribitBookSummaryRaw`` does."""

    instrument_name: Name
    creation_timestamp: Millis
    mark_price: Price
    underlying_price: PositivePrice
    bid_price: Price | None = None
    ask_price: Price | None = None
    mid_price: Price | None = None
    last: Price | None = None
    open_interest: Amount = 0.0
    volume: Amount | None = None
    mark_iv: IvPercent | None = None
    bid_iv: IvPercent | None = None
    ask_iv: IvPercent | None = None
    underlying_index: str | None = None
    interest_rate: float | None = None
    base_currency: str | None = None
    quote_currency: str | None = None


VenueMessage = Ticker | PriceIndex | Heartbeat | Instrument | BookSummary
