"""Kite's REST ``GET /quote`` answer → the ticker's packet types, or a :class:`Rejected`.

``/quote?i=EXCHANGE:TRADINGSYMBOL&i=…`` (up to 500 instruments) answers
``{"status": "success", "data": {"NFO:NIFTY…CE": {…}, …}}``; each entry carries
``instrument_token``, ``timestamp`` and ``last_trade_time`` (``YYYY-MM-DD HH:MM:SS``, IST),
``last_price``, ``last_quantity``, ``average_price``, ``volume``, ``buy_quantity``,
``sell_quantity``, ``oi``, ``oi_day_high``, ``oi_day_low``, ``ohlc`` {open, high, low,
close} and ``depth`` {buy, sell: five ``{price, quantity, orders}`` each}
(kite.trade/docs/connect/v3/market-quotes). Prices are rupees here, not paise. An index
entry (``NSE:NIFTY 50``) has no depth and no OI. Each entry becomes the packet the ticker
would have sent in full mode — :class:`~.packets.FullPacket` for a tradable instrument,
:class:`~.packets.IndexPacket` for an index — so REST and stream share one normaliser.
Entries are untrusted: the ranges are the decoder's (negative, beyond ``MAX_PRICE``,
crossed top of book), checked per entry; one bad entry never spoils the others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec

from feed_generator.venues.kite.packets import (
    MAX_PRICE,
    SEGMENT_INDICES,
    DepthLevel,
    FullPacket,
    IndexPacket,
    Packet,
)
from feed_generator.venues.rejects import Rejected

__all__ = ["IST", "parse_quotes", "quote_keys"]

IST = ZoneInfo("Asia/Kolkata")
Price = Annotated[float, msgspec.Meta(ge=0, le=MAX_PRICE)]
Units = Annotated[int, msgspec.Meta(ge=0)]


class _Level(msgspec.Struct, frozen=True):
    price: Price = 0.0
    quantity: Units = 0
    orders: Units = 0


class _Depth(msgspec.Struct, frozen=True):
    buy: list[_Level] = []
    sell: list[_Level] = []


class _Ohlc(msgspec.Struct, frozen=True):
    open: Price = 0.0
    high: Price = 0.0
    low: Price = 0.0
    close: Price = 0.0


class _Quote(msgspec.Struct, frozen=True):
    instrument_token: Annotated[int, msgspec.Meta(ge=0, lt=2**32)]
    last_price: Price
    timestamp: str | None = None
    last_trade_time: str | None = None
    last_quantity: Units = 0
    average_price: Price = 0.0
    volume: Units = 0
    buy_quantity: Units = 0
    sell_quantity: Units = 0
    oi: Annotated[float, msgspec.Meta(ge=0)] = 0
    oi_day_high: Annotated[float, msgspec.Meta(ge=0)] = 0
    oi_day_low: Annotated[float, msgspec.Meta(ge=0)] = 0
    net_change: float = 0.0
    ohlc: _Ohlc = _Ohlc()
    depth: _Depth | None = None


class _Envelope(msgspec.Struct, frozen=True):
    status: str
    data: dict[str, msgspec.Raw] = {}


_ENVELOPE = msgspec.json.Decoder(_Envelope)
_QUOTE = msgspec.json.Decoder(_Quote)


def quote_keys(instruments: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``/quote``'s query pairs ``("i", "EXCHANGE:SYMBOL")`` of ``(exchange, symbol)``s."""
    return [("i", f"{exchange}:{symbol}") for exchange, symbol in instruments]


def ist_epoch(text: str | None) -> int:
    """Epoch seconds of Kite's ``YYYY-MM-DD HH:MM:SS`` (IST); 0 when absent."""
    if not text:
        return 0
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IST)
    return int(moment.timestamp())


def parse_quotes(body: bytes) -> tuple[list[Packet], list[Rejected]]:
    """The packets of a ``/quote`` answer, and a :class:`Rejected` per refused entry."""
    try:
        envelope = _ENVELOPE.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        return [], [Rejected(f"quote answer refused: {exc}", body[:200].decode("utf-8", "replace"))]
    if envelope.status != "success":
        return [], [Rejected(f"quote answer status {envelope.status!r:.40}", "")]
    packets: list[Packet] = []
    rejected: list[Rejected] = []
    for key, raw in envelope.data.items():
        try:
            packets.append(_packet(_QUOTE.decode(raw)))
        except (msgspec.DecodeError, RecursionError, ValueError) as exc:
            rejected.append(Rejected(f"quote {key[:60]}: {exc}", bytes(raw)[:200].decode()))
    return packets, rejected


def _packet(q: _Quote) -> Packet:
    """The packet ``q`` stands for; ``ValueError`` with the reason when it cannot be one."""
    stamp = ist_epoch(q.timestamp)
    o = q.ohlc
    if o.high < o.low:
        raise ValueError(f"high {o.high} below low {o.low}")
    if q.instrument_token & 0xFF == SEGMENT_INDICES:
        change = q.last_price - o.close if o.close else q.net_change
        return IndexPacket(
            q.instrument_token, q.last_price, o.high, o.low, o.open, o.close, change, stamp or None
        )
    depth = q.depth or _Depth()
    bids = tuple(DepthLevel(lv.quantity, lv.price, lv.orders) for lv in depth.buy[:5])
    asks = tuple(DepthLevel(lv.quantity, lv.price, lv.orders) for lv in depth.sell[:5])
    if bids and asks and 0 < asks[0].price < bids[0].price:
        raise ValueError(f"crossed book: bid {bids[0].price} > ask {asks[0].price}")
    return FullPacket(
        q.instrument_token, q.last_price, q.last_quantity, q.average_price, q.volume,
        q.buy_quantity, q.sell_quantity, o.open, o.high, o.low, o.close,
        ist_epoch(q.last_trade_time), int(q.oi), int(q.oi_day_high), int(q.oi_day_low), stamp,
        bids, asks,
    )  # fmt: skip
