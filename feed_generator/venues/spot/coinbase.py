"""Coinbase Exchange ``ticker`` + ``heartbeat``: frames → checked quotes; the protocol object.

Protocol note (read 2026-12 from https://docs.cdp.coinbase.com/exchange/websocket-feed/overview
and https://docs.cdp.coinbase.com/exchange/websocket-feed/channels; public market data, no key):

- ``wss://ws-feed.exchange.coinbase.com`` (sandbox ``wss://ws-feed-public.sandbox.exchange.
  coinbase.com``). JSON messages, each with a ``type``; new types may appear at any time and
  are to be ignored. A client must send ``subscribe`` within 5 seconds or is disconnected:
  ``{"type": "subscribe", "product_ids": ["BTC-USD", "ETH-USD"], "channels": ["ticker",
  "heartbeat"]}``. The server answers ``{"type": "subscriptions", "channels": [{"name":
  "ticker", "product_ids": [...]}, ...]}``; failures are ``{"type": "error", "message": …,
  "reason": …}`` (e.g. "Failed to subscribe").
- ``ticker`` (on every match, cascades batched): ``type, sequence, product_id, price,
  open_24h, volume_24h, low_24h, high_24h, volume_30d, best_bid, best_bid_size, best_ask,
  best_ask_size, side, time, trade_id, last_size``; numbers as strings except ``sequence`` and
  ``trade_id``. ``time`` (ISO-8601, microseconds) is the tick's ``timestamp``.
- ``heartbeat`` (every second per product): ``{"type": "heartbeat", "sequence": 90,
  "last_trade_id": 20, "product_id": "BTC-USD", "time": "2014-11-07T08:19:28.464459Z"}``:
  "sequence numbers and last trade IDs that can be used to verify that no messages were
  missed". A client on public forums reports ``last_trade_id`` always 0; 0 never counts.
- Sequence numbers grow per product over all its messages, so the ticker channel alone
  sees them jump: a jump is not a gap; a ``sequence`` not above the last ticker's is out of
  order (dropped). A gap is told by trade ids: when a heartbeat's ``last_trade_id`` is above
  the newest ticker's ``trade_id`` and still is at the next heartbeat, the tickers of those
  trades were missed (counted; the next ticker carries the whole top of book again, so
  nothing is resynchronised).
- Rate limits: 8 requests a second per IP (bursts of 20), 100 client messages a second.
  There is no connection age limit; only the heartbeat tells a silent connection.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import msgspec

from feed_generator.venues.spot.quotes import (
    MAX_FRAME_BYTES,
    Control,
    Parsed,
    ProtocolBase,
    Rejected,
    Signal,
    check_book,
    decode,
    excerpt,
)

__all__ = ["CoinbaseProtocol", "CoinbaseSession", "Heartbeat", "Ticker", "parse_time_ms"]

VENUE = "coinbase"
QUOTE = "USD"
FUTURE_TOLERANCE_MS = 60_000
"""A ``time`` further ahead of our clock than this is refused (a broken or hostile frame)."""
MAX_AGE_MS = 86_400_000
"""A ``time`` older than a day is refused: a ticker is sent when a trade happens."""
_TIME = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z", re.ASCII)


class Ticker(msgspec.Struct, frozen=True):
    """The fields of a ``ticker`` message we use (the others are ignored)."""

    sequence: int
    product_id: str
    time: str
    best_bid: str
    best_ask: str
    trade_id: int = 0
    price: str | None = None


class Heartbeat(msgspec.Struct, frozen=True):
    sequence: int
    product_id: str
    last_trade_id: int = 0
    time: str = ""


class _Channel(msgspec.Struct, frozen=True):
    name: str
    product_ids: list[str] = []


class _Message(msgspec.Struct, frozen=True):
    """The envelope: ``type`` first, the rest decoded once the type is known."""

    type: str
    channels: list[_Channel] = []
    message: str = ""
    reason: str = ""


class _ForProduct(Protocol):
    @property
    def product_id(self) -> str: ...


M = TypeVar("M", bound=_ForProduct)
_TYPE = msgspec.json.Decoder(_Message)
_TICKER = msgspec.json.Decoder(Ticker)
_HEARTBEAT = msgspec.json.Decoder(Heartbeat)


def parse_time_ms(text: str) -> int | None:
    """Milliseconds since the epoch of ``2022-10-19T23:28:22.061769Z``; ``None`` if malformed."""
    match = _TIME.fullmatch(text)
    if match is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(match[1]).replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    millis = int((match[2] or "0").ljust(3, "0")[:3])
    return int(moment.timestamp()) * 1000 + millis


@dataclass
class CoinbaseSession:
    """The parser of one connection: per product, the last ticker's sequence and trade id and
    the trade id a heartbeat announced (checked at the next one)."""

    products: dict[str, str]
    """Product id (``BTC-USD``) → product (``BTC``)."""
    last_sequence: dict[str, int] = field(default_factory=dict)
    last_trade: dict[str, int] = field(default_factory=dict)
    announced: dict[str, int] = field(default_factory=dict)

    def parse(self, raw: bytes | str, received_ms: int) -> Parsed:
        """The quote or control of one frame, or why it is rejected."""
        if len(raw) > MAX_FRAME_BYTES:
            return Rejected(f"frame too large: {len(raw)} > {MAX_FRAME_BYTES} bytes", excerpt(raw))
        head = decode(_TYPE, raw)
        if isinstance(head, str):
            return Rejected(head, excerpt(raw))
        if head.type == "ticker":
            return self._ticker(raw, received_ms)
        if head.type == "heartbeat":
            return self._heartbeat(raw)
        if head.type == "subscriptions":
            return self._subscriptions(head)
        if head.type == "error":
            return Control(Signal.VENUE_ERROR, f"{head.message}: {head.reason}"[:200])
        return Control(Signal.REPLY, f"ignored type {head.type!r:.40}")

    def _decoded(
        self, decoder: msgspec.json.Decoder[M], raw: bytes | str, what: str
    ) -> tuple[M, str] | Rejected:
        """The message and its product, or why it is refused."""
        message = decode(decoder, raw)
        if isinstance(message, str):
            return Rejected(f"{what}: {message}", excerpt(raw))
        product = self.products.get(message.product_id)
        if product is None:
            return Rejected(f"unknown product {message.product_id!r:.30}", excerpt(raw))
        return message, product

    def _ticker(self, raw: bytes | str, received_ms: int) -> Parsed:
        decoded = self._decoded(_TICKER, raw, "ticker")
        if isinstance(decoded, Rejected):
            return decoded
        ticker, product = decoded
        event_ms = parse_time_ms(ticker.time)
        if event_ms is None or not (
            received_ms - MAX_AGE_MS <= event_ms <= received_ms + FUTURE_TOLERANCE_MS
        ):
            return Rejected(f"ticker time unusable: {ticker.time!r:.40}", excerpt(raw))
        last = self.last_sequence.get(product)
        if last is not None and ticker.sequence <= last:
            return Control(Signal.OUT_OF_ORDER, f"sequence {ticker.sequence} after {last}", product)
        quote = check_book(product, ticker.best_bid, ticker.best_ask, event_ms)
        if isinstance(quote, Rejected):
            return Rejected(quote.reason, excerpt(raw))
        self.last_sequence[product] = ticker.sequence
        self.last_trade[product] = max(ticker.trade_id, self.last_trade.get(product, 0))
        return quote

    def _heartbeat(self, raw: bytes | str) -> Parsed:
        decoded = self._decoded(_HEARTBEAT, raw, "heartbeat")
        if isinstance(decoded, Rejected):
            return decoded
        beat, product = decoded
        seen = self.last_trade.get(product)
        pending = self.announced.pop(product, None)
        missed = 0
        if seen is not None and pending is not None and pending > seen:
            missed, detail = pending - seen, f"trades {seen + 1}..{pending} not seen"
            seen = self.last_trade[product] = pending  # counted once
        if seen is not None and beat.last_trade_id > seen:
            self.announced[product] = beat.last_trade_id  # judged at the next heartbeat
        if missed:
            return Control(Signal.GAP, detail, product, missed)
        return Control(Signal.HEARTBEAT, product=product)

    def _subscriptions(self, head: _Message) -> Control:
        wanted = set(self.products)
        got = {c.name: set(c.product_ids) for c in head.channels}
        missing = [n for n in ("ticker", "heartbeat") if not wanted <= got.get(n, set())]
        if missing:
            return Control(Signal.VENUE_ERROR, f"not subscribed to {', '.join(missing)}")
        return Control(Signal.SUBSCRIBED, "ticker, heartbeat")


class CoinbaseProtocol(ProtocolBase):
    """Coinbase Exchange tickers and heartbeats of ``products`` (``BTC`` → ``BTC-USD``), live
    only once the ``subscriptions`` reply confirms both channels; no connection age limit."""

    venue = VENUE
    subscribed_on_open = False

    def product_ids(self) -> list[str]:
        return [f"{p}-{QUOTE}" for p in self.products]

    def subscribe_messages(self) -> list[str]:
        """The one ``subscribe`` message (sent at once: 5 s without one and the feed closes)."""
        message = {
            "type": "subscribe",
            "product_ids": self.product_ids(),
            "channels": ["ticker", "heartbeat"],
        }
        return [msgspec.json.encode(message).decode()]

    def session(self) -> CoinbaseSession:
        return CoinbaseSession({pid: pid.split("-")[0] for pid in self.product_ids()})
