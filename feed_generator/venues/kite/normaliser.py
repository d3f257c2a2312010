"""Kite packets → OptionsFlow ``market:*`` messages (JSON-ready dicts), and the chains.

- an index packet (``NIFTY 50``, token segment 9) → ``market:underlying`` of its
  underlying (``NIFTY``), ``volume`` 0 (an index trades nothing);
- a tradable packet of a followed option → ``market:option_quote``: ``symbol`` the
  tradingsymbol (``NIFTY24DEC24000CE``), ``bid``/``ask`` the best depth level (0 when that
  side is empty), ``last`` the last traded price, ``volume`` the day's traded quantity and
  ``oi`` the open interest, both in units of the underlying as Kite counts them; prices in
  rupees (the decoder divided the paise). A quote-mode packet (no depth, no OI) or an LTP
  packet updates what it carries and keeps the rest from the option's last full packet (and
  is left out before the first: a quote with no book would read as bid 0 / ask 0);
- every message has ``venue`` ``kite``, ``currency`` ``INR``, ``timestamp`` the packet's
  exchange time (epoch seconds; the wall clock when the packet has none), and options
  ``expiry_ts``: the expiry date at 15:30 IST (NSE's close), 10:00 UTC;
- :meth:`Normaliser.chains` makes one ``market:option_chain`` per (underlying, expiry)
  from the newest quote of every option, rows aligned to the sorted strikes (a side not
  quoted yet is zeros), ``spot_price`` the newest index price; no chain before the index
  has a price. Kite sends no forward: the enrichment uses the product's conventions.

``seq`` is numbered here, per (channel, product), from :func:`feed_generator.market.seq_base`
of the start instant, as the Deribit normaliser does. A packet of a token not followed is
refused with the reason (a stray subscription must not create a product).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from common.messages import OptionType
from common.names import Channel
from common.timestamps import format_ts
from feed_generator.market import seq_base
from feed_generator.venues.deribit.normaliser import ms_to_ts
from feed_generator.venues.kite.packets import (
    FullPacket,
    IndexPacket,
    LtpPacket,
    Packet,
    QuotePacket,
)
from feed_generator.venues.kite.quotes import IST
from feed_generator.venues.rejects import Rejected

__all__ = ["CURRENCY", "EXPIRY_TIME_IST", "VENUE", "KiteOption", "Normaliser"]

VENUE = "kite"
CURRENCY = "INR"
EXPIRY_TIME_IST = dt.time(15, 30)
"""NSE index options expire at the close, 15:30 IST, on their expiry date."""
UNDERLYING, QUOTE, CHAIN = (
    Channel.MARKET_UNDERLYING, Channel.MARKET_OPTION_QUOTE, Channel.MARKET_OPTION_CHAIN
)  # fmt: skip
"""The channels, looked up once: an enum member read through its class costs ~0.7 µs."""
_ROW = ("bid", "ask", "last", "volume", "oi")
_ZEROS = dict.fromkeys(_ROW, 0)
Output = tuple[Channel, dict[str, Any]] | Rejected


@dataclass(frozen=True, slots=True)
class KiteOption:
    """A followed option: its ticker ``token`` and what the messages say of it."""

    token: int
    symbol: str
    """Kite's tradingsymbol, e.g. ``NIFTY24DEC24000CE``."""
    product: str
    """The underlying, e.g. ``NIFTY`` (the instruments dump's ``name``)."""
    expiry: dt.date
    strike: float
    """Rupees."""
    option_type: OptionType

    @property
    def expiry_ts(self) -> str:
        """The expiry instant (15:30 IST) as a wire timestamp."""
        return format_ts(dt.datetime.combine(self.expiry, EXPIRY_TIME_IST, tzinfo=IST))


class Normaliser:
    """Packets → ``market:*`` dicts; ``wall`` gives the aware UTC now."""

    def __init__(self, start: dt.datetime, wall: Callable[[], dt.datetime]) -> None:
        self._wall = wall
        self._seq_base = seq_base(start)
        self._seq: dict[tuple[Channel, str], int] = {}
        self.options: dict[int, KiteOption] = {}
        self.indices: dict[int, str] = {}
        """Index token → the underlying it prices (256265 → ``NIFTY``)."""
        self._static: dict[int, tuple[str, str, str, float, str, str]] = {}
        """Option token → what its quotes always say (symbol … expiry_ts), made once."""
        self._last_epoch, self._last_stamp = 0, ""
        self.spots: dict[str, float] = {}
        """Underlying → the newest index price (rupees): the chains' ``spot_price``."""
        self._quotes: dict[int, dict[str, Any]] = {}
        """Option token → its newest ``market:option_quote`` dict."""

    def next_seq(self, channel: Channel, product: str) -> int:
        key = (channel, product)
        seq = self._seq.get(key, self._seq_base)
        self._seq[key] = seq + 1
        return seq

    def set_instruments(self, options: Iterable[KiteOption], indices: Mapping[int, str]) -> None:
        """Follow these options and indexes; the quotes of options no longer followed go."""
        self.options = {o.token: o for o in options}
        self.indices = dict(indices)
        self._static = {
            token: (o.symbol, o.product, o.expiry.isoformat(), o.strike, o.option_type.value,
                    o.expiry_ts)
            for token, o in self.options.items()
        }  # fmt: skip
        self._quotes = {t: q for t, q in self._quotes.items() if t in self.options}

    def _stamp(self, epoch_s: int | None) -> str:
        """The wire timestamp of ``epoch_s`` (the last one is kept: a frame's packets share
        their second); the wall clock's now without one."""
        if not epoch_s:
            return format_ts(self._wall())
        if epoch_s != self._last_epoch:
            self._last_epoch, self._last_stamp = epoch_s, ms_to_ts(epoch_s * 1000)
        return self._last_stamp

    def packets(self, packets: Iterable[Packet]) -> list[Output]:
        """The message (or refusal) of each packet, in order; a quote-mode or LTP packet of an
        option not yet seen in full (no depth, no OI to keep) gives nothing."""
        out: list[Output] = []
        static, indices = self._static, self.indices
        for packet in packets:
            token = packet.token
            if token in static:
                quote = self._quote(token, packet)
                if quote is not None:
                    out.append(quote)
            elif token in indices:
                out.append(self._underlying(indices[token], packet))
            else:
                out.append(Rejected(f"token {token} is not followed", repr(packet)[:200]))
        return out

    def _underlying(self, product: str, packet: Packet) -> Output:
        if isinstance(packet, IndexPacket):
            stamp = self._stamp(packet.exchange_ts)
        elif isinstance(packet, LtpPacket):
            stamp = self._stamp(None)
        else:
            return Rejected(
                f"index token {packet.token} sent a tradable packet", repr(packet)[:200]
            )
        if packet.last_price <= 0:
            return Rejected(f"index token {packet.token}: no price", repr(packet)[:200])
        self.spots[product] = packet.last_price
        message = {
            "type": "underlying",
            "product": product,
            "price": packet.last_price,
            "volume": 0,
            "timestamp": stamp,
            "seq": self.next_seq(UNDERLYING, product),
            "venue": VENUE,
            "currency": CURRENCY,
        }
        return UNDERLYING, message

    def _quote(self, token: int, packet: Packet) -> Output | None:
        """The quote of an option's packet: a full packet's book and OI, or a partial packet's
        fields over the option's previous quote (none before one: ``None``)."""
        before = self._quotes.get(token)
        stamp: int | None = None
        if type(packet) is FullPacket:  # almost every packet: the fast path first
            bids, asks = packet.bids, packet.asks
            bid = bids[0].price if bids and bids[0].quantity > 0 else 0.0
            ask = asks[0].price if asks and asks[0].quantity > 0 else 0.0
            last, volume, oi, stamp = (
                packet.last_price,
                packet.volume,
                packet.oi,
                packet.exchange_ts,
            )
        elif isinstance(packet, IndexPacket):
            return Rejected(f"option token {token} sent an index packet", repr(packet)[:200])
        elif before is None:
            return None
        else:
            bid, ask, oi, volume = before["bid"], before["ask"], before["oi"], before["volume"]
            last = packet.last_price
            if isinstance(packet, QuotePacket):
                volume = packet.volume
        symbol, product, expiry, strike, side, expiry_ts = self._static[token]
        message = {
            "symbol": symbol,
            "product": product,
            "expiry": expiry,
            "strike": strike,
            "option_type": side,
            "bid": bid,
            "ask": ask,
            "last": last,
            "volume": volume,
            "oi": oi,
            "timestamp": self._stamp(stamp),
            "seq": self.next_seq(QUOTE, product),
            "venue": VENUE,
            "currency": CURRENCY,
            "expiry_ts": expiry_ts,
        }
        self._quotes[token] = message
        return QUOTE, message

    def chains(self) -> list[dict[str, Any]]:
        """One chain per (underlying, expiry) not expired now whose underlying has a spot."""
        now = format_ts(self._wall())
        groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for quote in self._quotes.values():
            if quote["expiry_ts"] > now and quote["product"] in self.spots:
                groups.setdefault((quote["product"], quote["expiry"]), []).append(quote)
        return [self._chain(product, expiry, q) for (product, expiry), q in sorted(groups.items())]

    def _chain(self, product: str, expiry: str, quotes: list[dict[str, Any]]) -> dict[str, Any]:
        strikes = sorted({q["strike"] for q in quotes})
        by_key = {(q["strike"], q["option_type"]): q for q in quotes}

        def rows(side: OptionType) -> list[dict[str, Any]]:
            out = []
            for strike in strikes:
                q = by_key.get((strike, side.value), _ZEROS)
                out.append({"strike": strike, "bid": q["bid"], "ask": q["ask"],
                            "last": q["last"], "volume": q["volume"], "oi": q["oi"]})  # fmt: skip
            return out

        newest = max(q["timestamp"] for q in quotes)
        return {
            "product": product,
            "expiry": expiry,
            "spot_price": self.spots[product],
            "strikes": strikes,
            "calls": rows(OptionType.CALL),
            "puts": rows(OptionType.PUT),
            "timestamp": newest,
            "seq": self.next_seq(CHAIN, product),
            "venue": VENUE,
            "currency": CURRENCY,
            "expiry_ts": quotes[0]["expiry_ts"],
        }
