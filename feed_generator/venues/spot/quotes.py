"""What both spot sources share: a checked top of book, the parse results, the underlying tick.

A spot venue's frame becomes one of :data:`Parsed`: a :class:`SpotQuote` (a best bid and
ask that passed :func:`check_book`), a :class:`Control` (a subscription acknowledged, a
heartbeat, a server shutdown, a venue error, a frame out of order, a gap) or a
:class:`~feed_generator.venues.deribit.parser.Rejected` with its reason, never an exception.

Prices arrive as decimal strings (``"25.35190000"``). :func:`decimal` accepts only plain
decimals (digits, one optional point): Python's ``float()`` would also take ``"nan"``,
``"inf"``, ``"1e400"`` or ``"1_000"``. A book is refused when a side is zero or missing,
crossed or locked (bid ≥ ask: impossible on one venue's book), or wider than
:data:`MAX_SPREAD_BPS` (a half-empty book whose mid would be a bad print).

:class:`Normaliser` turns a quote into a ``market:underlying`` tick: ``price`` the mid in the
quote currency (USD, or USDT for Binance, published as ``USD``), ``volume`` 0, ``timestamp``
the venue's event time when the frame has one, else the receive time, ``seq`` from its own
counter per product starting at :func:`feed_generator.market.seq_base` of its start.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import msgspec

from feed_generator.market import seq_base
from feed_generator.venues.deribit.normaliser import ms_to_ts
from feed_generator.venues.deribit.parser import EXCERPT
from feed_generator.venues.rejects import Rejected

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_PRICE",
    "MAX_SPREAD_BPS",
    "Control",
    "Normaliser",
    "Parsed",
    "ProtocolBase",
    "Rejected",
    "Signal",
    "SpotQuote",
    "check_book",
    "decimal",
    "decode",
    "excerpt",
]

MAX_FRAME_BYTES = 64 << 10
"""Largest frame accepted: a ticker or book ticker is a few hundred bytes."""
MAX_PRICE = 1e9
"""A price above this (USD per coin) is refused as out of range."""
MAX_SPREAD_BPS = 100.0
"""A book wider than this (basis points of the mid) is refused: BTC and ETH spot books are
a fraction of a basis point wide; a 1 % spread is a broken or emptied book."""
_DECIMAL = re.compile(r"\d{1,12}(?:\.\d{1,16})?", re.ASCII)
T = TypeVar("T")


class Signal(StrEnum):
    """What a non-price frame tells the connector."""

    SUBSCRIBED = "subscribed"
    """The venue confirmed the subscription: the source is live."""
    HEARTBEAT = "heartbeat"
    SHUTDOWN = "shutdown"
    """The server is about to close the connection: open a new one now."""
    VENUE_ERROR = "venue_error"
    """The venue reported an error: end this connection, back off, reconnect."""
    REPLY = "reply"
    """An answer to a request (nothing to do)."""
    OUT_OF_ORDER = "out_of_order"
    """A quote older than one already seen (by the venue's sequence): dropped."""
    GAP = "gap"
    """Messages were missed (``count`` of them, by the venue's trade ids)."""


@dataclass(frozen=True, slots=True)
class Control:
    """A frame that carries no price: its :class:`Signal`, a detail for the logs, the product
    it concerns when it has one and a count (of a gap)."""

    signal: Signal
    detail: str = ""
    product: str | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class SpotQuote:
    """A checked best bid and ask of ``product``, in the quote currency per coin.

    ``event_ms``: the venue's time of the update (ms since the epoch), ``None`` when the
    frame has none (the receive time is used)."""

    product: str
    bid: float
    ask: float
    event_ms: int | None = None

    @property
    def mid(self) -> float:
        return (self.bid + self.ask) / 2.0


Parsed = SpotQuote | Control | Rejected


class ProtocolBase:
    """What every spot protocol object holds (``connector.SpotProtocol`` says what for): the
    products, and the venue's traits as class attributes."""

    venue: str
    subscribed_on_open: bool
    rollover_s: float | None = None

    def __init__(self, products: Sequence[str]) -> None:
        self.products = tuple(p.upper() for p in products)

    def url(self, base_url: str) -> str:
        return base_url

    def subscribe_messages(self) -> list[str]:
        return []


def excerpt(raw: bytes | str) -> str:
    """The start of a frame, kept with its reason in the dead letter."""
    text = raw if isinstance(raw, str) else raw[: EXCERPT * 4].decode("utf-8", "replace")
    return text[:EXCERPT]


def decode(decoder: msgspec.json.Decoder[T], raw: bytes | str | msgspec.Raw) -> T | str:
    """The decoded value, or the reason it is refused (never an exception)."""
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:  # a DecodeError too: first
        return f"wrong shape: {exc}"
    except msgspec.DecodeError as exc:
        return f"not JSON: {exc}"
    except (ValueError, RecursionError) as exc:
        return f"unusable: {exc}"


def decimal(text: str, name: str) -> float | str:
    """A plain decimal string's value, or why it is refused."""
    if not _DECIMAL.fullmatch(text):
        return f"{name} is not a plain decimal: {text[:40]!r}"
    return float(text)


def check_book(product: str, bid_text: str, ask_text: str, event_ms: int | None) -> Parsed:
    """A :class:`SpotQuote` of decimal strings, or a ``Rejected`` saying what is wrong."""
    bid, ask = decimal(bid_text, "bid"), decimal(ask_text, "ask")
    reason: str | None
    if isinstance(bid, str) or isinstance(ask, str):
        reason = bid if isinstance(bid, str) else str(ask)
    else:
        reason = _book_fault(bid, ask)
        if reason is None:
            return SpotQuote(product, bid, ask, event_ms)
    return Rejected(f"{product}: {reason}", f"{product} bid {bid_text!r:.40} ask {ask_text!r:.40}")


def _book_fault(bid: float, ask: float) -> str | None:
    if not (0.0 < bid <= MAX_PRICE and 0.0 < ask <= MAX_PRICE):
        return f"price out of range (0, {MAX_PRICE:g}]: bid {bid:g} ask {ask:g}"
    if bid >= ask:
        return f"crossed or locked book: bid {bid:g} >= ask {ask:g}"
    spread_bps = (ask - bid) / ((ask + bid) / 2.0) * 1e4
    if spread_bps > MAX_SPREAD_BPS:
        return f"spread {spread_bps:.0f} bp over {MAX_SPREAD_BPS:g} bp: bid {bid:g} ask {ask:g}"
    return None


class Normaliser:
    """Quotes → ``market:underlying`` dicts of one venue, numbered per product."""

    def __init__(self, venue: str, start: dt.datetime, currency: str = "USD") -> None:
        self.venue, self.currency = venue, currency
        self._seq_base = seq_base(start)
        self._seq: dict[str, int] = {}

    def underlying(self, quote: SpotQuote, received_ms: int) -> dict[str, Any]:
        """The tick of ``quote``; ``received_ms`` stamps it when the venue gave no time."""
        seq = self._seq.get(quote.product, self._seq_base)
        self._seq[quote.product] = seq + 1
        stamp = quote.event_ms if quote.event_ms is not None else received_ms
        return {
            "type": "underlying",
            "product": quote.product,
            "price": quote.mid,
            "volume": 0,
            "timestamp": ms_to_ts(stamp),
            "seq": seq,
            "venue": self.venue,
            "currency": self.currency,
        }
