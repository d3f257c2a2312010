"""Binance spot ``bookTicker``: frames → typed messages → checked quotes; the protocol object.

Protocol note (read 2026-12 from binance/binance-spot-api-docs ``web-socket-streams.md``,
https://github.com/binance/binance-spot-api-docs/blob/master/web-socket-streams.md, and
https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams; public market
data, no key):

- Base ``wss://stream.binance.com:9443`` (or ``:443``; ``wss://data-stream.binance.vision``
  serves market data only). Raw streams at ``/ws/<stream>``, combined streams at
  ``/stream?streams=<s1>/<s2>``, whose events are wrapped ``{"stream": <name>, "data": <raw>}``.
  Stream names are lowercase: ``btcusdt@bookTicker``. We connect to the combined URL, so the
  connection is the subscription and we send no message at all.
- ``<symbol>@bookTicker`` payload (real time, on any change of the best bid or ask):
  ``{"u": 400900217, "s": "BNBUSDT", "b": "25.35190000", "B": "31.21000000",
  "a": "25.36520000", "A": "40.66000000"}``: ``u`` the order book update id, prices and
  quantities as strings. **No event time**: the tick's ``timestamp`` is the receive time.
  ``u`` only grows per symbol, with gaps (it counts every book update, not only the top):
  a quote whose ``u`` is not above the last one seen is dropped as out of order, a jump is
  normal and not a gap.
- The server sends a ping frame every 20 s and disconnects a client that has not answered
  with a pong (a copy of the ping's payload) within a minute; unsolicited pongs are allowed
  but do not keep a connection open.
- Limits: 5 incoming messages a second per connection (pings, pongs and JSON requests all
  count; beyond it the connection is closed and repeat offenders' IPs banned), 1024 streams
  per connection, 300 connections per 5 minutes per IP. A connection lives 24 hours at most;
  a ``serverShutdown`` event (``{"e": "serverShutdown", "E": <ms>}``, in a combined stream
  ``{"stream": "!serverShutdown", "data": {...}}``) announces an earlier close.
- Requests ``{"method": "SUBSCRIBE", "params": [...], "id": 1}`` are answered
  ``{"result": null, "id": 1}``; errors ``{"code": 2, "msg": "Invalid request: …"}``.
- Prices are in USDT, not USD: the tick says ``currency`` ``USD`` and the reference must
  expect the stablecoin basis (a few basis points).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

__all__ = ["BinanceProtocol", "BinanceSession", "BookTicker", "stream_name"]

VENUE = "binance"
QUOTE = "USDT"
ROLLOVER_S = 23.5 * 3600
"""A connection is replaced after this long, before Binance's 24-hour cut."""


class BookTicker(msgspec.Struct, frozen=True):
    """``<symbol>@bookTicker`` data; prices and quantities are decimal strings."""

    u: int
    s: str
    b: str
    B: str
    a: str
    A: str


class _Combined(msgspec.Struct, frozen=True):
    stream: str
    data: BookTicker


class _Envelope(msgspec.Struct, frozen=True):
    """Any other frame: a combined event, a reply, an error or a raw event."""

    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    """Empty when absent (msgspec cannot put ``Raw`` in a union with ``None``)."""
    id: int | str | None = None
    code: int | None = None
    msg: str | None = None
    e: str | None = None


_COMBINED = msgspec.json.Decoder(_Combined)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_TICKER = msgspec.json.Decoder(BookTicker)


def stream_name(product: str) -> str:
    """``btcusdt@bookTicker`` for ``BTC``."""
    return f"{product.lower()}{QUOTE.lower()}@bookTicker"


@dataclass
class BinanceSession:
    """The parser of one connection: it remembers each symbol's last update id."""

    products: dict[str, str]
    """Symbol (``BTCUSDT``) → product (``BTC``)."""
    last_u: dict[str, int] = field(default_factory=dict)

    def parse(self, raw: bytes | str, received_ms: int) -> Parsed:
        """The quote or control of one frame, or why it is rejected."""
        del received_ms  # bookTicker has no time of its own: the connector stamps it
        if len(raw) > MAX_FRAME_BYTES:
            return Rejected(f"frame too large: {len(raw)} > {MAX_FRAME_BYTES} bytes", excerpt(raw))
        try:
            frame = _COMBINED.decode(raw)
        except (ValueError, RecursionError):  # not a book ticker event: the general path
            return self._other(raw)
        return self._ticker(frame.stream, frame.data, raw)

    def _ticker(self, stream: str, ticker: BookTicker, raw: bytes | str) -> Parsed:
        product = self.products.get(ticker.s)
        if product is None or stream != stream_name(product):
            reason = f"unknown symbol {ticker.s!r:.30} on stream {stream!r:.40}"
            return Rejected(reason, excerpt(raw))
        last = self.last_u.get(ticker.s)
        if last is not None and ticker.u <= last:
            return Control(Signal.OUT_OF_ORDER, f"u {ticker.u} after {last}", product)
        quote = check_book(product, ticker.b, ticker.a, None)
        if isinstance(quote, Rejected):
            return Rejected(quote.reason, excerpt(raw))
        self.last_u[ticker.s] = ticker.u
        return quote

    def _other(self, raw: bytes | str) -> Parsed:
        frame = decode(_ENVELOPE, raw)
        if isinstance(frame, str):
            return Rejected(frame, excerpt(raw))
        if frame.code is not None:
            return Control(Signal.VENUE_ERROR, f"{frame.code}: {frame.msg or ''}"[:200])
        if frame.id is not None:
            return Control(Signal.REPLY, f"id {frame.id!r:.40}")
        event = frame.e
        if frame.data:
            inner = decode(_ENVELOPE, frame.data)
            event = None if isinstance(inner, str) else inner.e
        if event == "serverShutdown":
            return Control(Signal.SHUTDOWN, "serverShutdown")
        if frame.stream is not None and frame.stream.endswith("@bookTicker") and frame.data:
            shape: BookTicker | str = decode(_TICKER, frame.data)
            return Rejected(f"book ticker: {shape}", excerpt(raw))
        return Rejected("not a book ticker, reply, error or shutdown event", excerpt(raw))


class BinanceProtocol(ProtocolBase):
    """Binance spot book tickers of ``products`` (``BTC`` → ``BTCUSDT``). The combined-stream
    URL subscribes: no request, no acknowledgement."""

    venue = VENUE
    subscribed_on_open = True
    rollover_s: float | None = ROLLOVER_S

    def url(self, base_url: str) -> str:
        """The combined-stream URL of every product under ``base_url``."""
        streams = "/".join(stream_name(p) for p in self.products)
        return f"{base_url.rstrip('/')}/stream?streams={streams}"

    def session(self) -> BinanceSession:
        return BinanceSession({f"{p}{QUOTE}": p for p in self.products})
