"""Deribit venue messages → OptionsFlow ``market:*`` messages (JSON-ready dicts).

- product ``BTC``/``ETH`` (the option's base currency; linear ``_USDC`` options are
  refused: their prices are not in the coin);
- ``expiry`` YYYY-MM-DD and ``expiry_ts`` from the instrument's
  ``expiration_timestamp`` when known, else the name's date at 08:00 UTC;
- option prices are quoted in the coin: bid/ask/last/mark in USD are the coin
  price × the row's ``underlying_price``, which is also the row's ``forward``
  (``forward_source`` ``venue``); ``mark_iv``, ``bid_iv`` and ``ask_iv`` percent → decimal,
  ``bid_iv``/``ask_iv`` only when positive and their side has a price: Deribit sends 0 for
  a side with no order or a price no volatility gives (at or below intrinsic value);
- volume (24 h) and open interest are in coins, as Deribit sends them (fractional:
  BTC options trade in 0.1 BTC); a whole amount goes out as an integer;
- ``venue`` ``deribit``, ``currency`` ``USD``; ``timestamp`` the venue's own
  timestamp of the update (the origin).

``seq`` is assigned here, as the synthetic :class:`feed_generator.market.Market`
does at its source: one counter per (channel, product), starting at
:func:`feed_generator.market.seq_base` of the normaliser's start instant, so a
later run continues above an earlier one. The publisher sends what it is given.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from common.messages import ForwardSource, OptionType, wire_quantity
from common.names import Channel
from common.timestamps import format_ts
from feed_generator.market import seq_base
from feed_generator.venues.deribit.instruments import OptionName
from feed_generator.venues.deribit.messages import BookSummary, Instrument, PriceIndex, Ticker
from feed_generator.venues.deribit.parser import Rejected

VENUE = "deribit"
CURRENCY = "USD"
MAX_INSTRUMENTS = 20_000
"""Instruments whose ``expiry_ts`` is kept ready (Deribit lists a few thousand options)."""


def ms_to_ts(millis: int) -> str:
    """The wire timestamp of ``millis`` (non-negative) since the Unix epoch."""
    seconds, ms = divmod(millis, 1000)
    return f"{_second_prefix(seconds)}{ms:03d}Z"


@functools.lru_cache(maxsize=64)
def _second_prefix(seconds: int) -> str:
    """``2026-12-05T12:00:00.``: a second's timestamp up to its milliseconds. Cached: the
    updates of a tick share their second (formatting a datetime costs ~2 µs)."""
    return format_ts(dt.datetime.fromtimestamp(seconds, dt.UTC))[:-4]


@dataclass(frozen=True, slots=True)
class VenueQuote:
    """The fields of one option update, from a ticker or a book summary row (coin prices)."""

    option: OptionName
    timestamp_ms: int
    bid: float
    ask: float
    last: float
    mark: float
    mark_iv_pct: float | None
    bid_iv_pct: float | None
    ask_iv_pct: float | None
    underlying_price: float
    volume: float
    open_interest: float


def from_ticker(ticker: Ticker, option: OptionName) -> VenueQuote:
    return VenueQuote(
        option,
        ticker.timestamp,
        ticker.best_bid_price or 0.0,
        ticker.best_ask_price or 0.0,
        ticker.last_price or 0.0,
        ticker.mark_price,
        ticker.mark_iv,
        ticker.bid_iv,
        ticker.ask_iv,
        ticker.underlying_price,
        (ticker.stats.volume or 0.0) if ticker.stats else 0.0,
        ticker.open_interest,
    )


def from_summary(row: BookSummary, option: OptionName) -> VenueQuote:
    return VenueQuote(
        option,
        row.creation_timestamp,
        row.bid_price or 0.0,
        row.ask_price or 0.0,
        row.last or 0.0,
        row.mark_price,
        row.mark_iv,
        row.bid_iv,
        row.ask_iv,
        row.underlying_price,
        row.volume or 0.0,
        row.open_interest,
    )


class Normaliser:
    """Turns venue messages into ``market:*`` dicts, numbering them per (channel, product)."""

    def __init__(self, start: dt.datetime, currencies: Iterable[str] = ("BTC", "ETH")) -> None:
        self.currencies = frozenset(c.upper() for c in currencies)
        """The coins configured (``DERIBIT_CURRENCIES``): an option of another is refused, so a
        stray ticker cannot make a product the platform has no conventions for."""
        self._seq_base = seq_base(start)
        self._seq: dict[tuple[Channel, str], int] = {}
        self.expiries: dict[str, int] = {}
        """Instrument name → ``expiration_timestamp`` (ms), from ``get_instruments``."""
        self._expiry_ts: dict[str, str] = {}
        """Instrument name → its ``expiry_ts``, made once per instrument listing."""

    def next_seq(self, channel: Channel, product: str) -> int:
        key = (channel, product)
        seq = self._seq.get(key, self._seq_base)
        self._seq[key] = seq + 1
        return seq

    def set_instruments(self, rows: Iterable[tuple[Instrument, OptionName]]) -> None:
        """Replace the known instruments (a refresh drops the expired ones)."""
        self.expiries = {row.instrument_name: row.expiration_timestamp for row, _ in rows}
        self._expiry_ts = {}

    def underlying(self, index: PriceIndex, product: str) -> dict[str, Any]:
        """``market:underlying`` of a price index update (an index trades no volume)."""
        return {
            "type": "underlying",
            "product": product,
            "price": index.price,
            "volume": 0,
            "timestamp": ms_to_ts(index.timestamp),
            "seq": self.next_seq(Channel.MARKET_UNDERLYING, product),
            "venue": VENUE,
            "currency": CURRENCY,
        }

    def expiry_ts(self, option: OptionName) -> str:
        stamp = self._expiry_ts.get(option.name)
        if stamp is None:
            millis = self.expiries.get(option.name)
            stamp = format_ts(option.expiry_instant) if millis is None else ms_to_ts(millis)
            if len(self._expiry_ts) < MAX_INSTRUMENTS:  # names from the stream are untrusted
                self._expiry_ts[option.name] = stamp
        return stamp

    def quote(self, quote: VenueQuote) -> dict[str, Any] | Rejected:
        """``market:option_quote`` of one option update, prices in USD."""
        option = quote.option
        if option.quote is not None:
            return Rejected(f"linear option not supported: {option.name}", option.name)
        if option.base not in self.currencies:
            coins = ", ".join(sorted(self.currencies))
            return Rejected(f"{option.base} is not a configured currency ({coins})", option.name)
        usd = quote.underlying_price
        if not math.isfinite(usd * (quote.bid + quote.ask + quote.last + quote.mark)):
            # The parser's ranges make this impossible; the encoder would write NaN as null.
            return Rejected(f"non-finite price of {option.name}", option.name)
        message: dict[str, Any] = {
            "symbol": option.name,
            "product": option.base,
            "expiry": option.expiry.isoformat(),
            "strike": option.strike,
            "option_type": option.option_type.value,
            "bid": quote.bid * usd,
            "ask": quote.ask * usd,
            "last": quote.last * usd,
            "volume": wire_quantity(quote.volume),
            "oi": wire_quantity(quote.open_interest),
            "timestamp": ms_to_ts(quote.timestamp_ms),
            "seq": self.next_seq(Channel.MARKET_OPTION_QUOTE, option.base),
            "venue": VENUE,
            "currency": CURRENCY,
            "expiry_ts": self.expiry_ts(option),
            "forward": usd,
            "forward_source": ForwardSource.VENUE.value,
            "mark": quote.mark * usd,
        }
        if quote.mark_iv_pct is not None:
            message["mark_iv"] = quote.mark_iv_pct / 100.0
        # A 0 is Deribit's "none" for a side (no order, or no volatility gives its price).
        if quote.bid_iv_pct and quote.bid > 0:
            message["bid_iv"] = quote.bid_iv_pct / 100.0
        if quote.ask_iv_pct and quote.ask > 0:
            message["ask_iv"] = quote.ask_iv_pct / 100.0
        return message


ROW_FIELDS = ("bid", "ask", "last", "volume", "oi")
VENUE_IVS = ("mark_iv", "bid_iv", "ask_iv")
"""The venue's IVs a quote may carry onto its chain row, in the row's field order."""
_EMPTY_ROW = {"bid": 0.0, "ask": 0.0, "last": 0.0, "volume": 0, "oi": 0}


class ChainAssembler:
    """Keeps the newest quote of every option and builds one ``market:option_chain`` per
    (product, expiry) on :meth:`assemble`; the caller chooses the cadence."""

    def __init__(self, normaliser: Normaliser) -> None:
        self.normaliser = normaliser
        self.spots: dict[str, float] = {}
        """Product → the newest index price (USD): the chains' ``spot_price``."""
        self._quotes: dict[tuple[str, str], dict[tuple[float, str], dict[str, Any]]] = {}

    def add_quote(self, message: dict[str, Any]) -> None:
        """Remember a ``market:option_quote`` dict (from :meth:`Normaliser.quote`)."""
        key = (message["product"], message["expiry"])
        self._quotes.setdefault(key, {})[(message["strike"], message["option_type"])] = message

    def add_index(self, message: dict[str, Any]) -> None:
        """Remember a ``market:underlying`` dict's price as its product's spot."""
        self.spots[message["product"]] = message["price"]

    def retain(self, names: set[str]) -> None:
        """Forget the quotes of instruments not in ``names`` (expired or delisted)."""
        for key, quotes in list(self._quotes.items()):
            kept = {k: q for k, q in quotes.items() if q["symbol"] in names}
            if kept:
                self._quotes[key] = kept
            else:
                del self._quotes[key]

    def assemble(self, now: dt.datetime) -> list[dict[str, Any]]:
        """One chain per (product, expiry) not expired at ``now`` (aware), rows aligned to
        sorted strikes, a missing side as zeros; ``timestamp`` the newest quote's."""
        stamp = format_ts(now)
        chains = []
        for (product, expiry), quotes in sorted(self._quotes.items()):
            newest = max(quotes.values(), key=lambda q: q["timestamp"])
            if newest["expiry_ts"] <= stamp:
                continue
            chains.append(self._chain(product, expiry, quotes, newest))
        return chains

    def _chain(
        self,
        product: str,
        expiry: str,
        quotes: dict[tuple[float, str], dict[str, Any]],
        newest: dict[str, Any],
    ) -> dict[str, Any]:
        strikes = sorted({strike for strike, _ in quotes})
        sides: dict[str, list[dict[str, Any]]] = {
            OptionType.CALL.value: [],
            OptionType.PUT.value: [],
        }
        for side, rows in sides.items():
            for strike in strikes:
                quote = quotes.get((strike, side))
                row: dict[str, Any] = {"strike": strike}
                if quote is None:
                    row.update(_EMPTY_ROW)
                else:
                    row.update({field: quote[field] for field in ROW_FIELDS})
                    row["mark"] = quote["mark"]
                    row.update({field: quote[field] for field in VENUE_IVS if field in quote})
                rows.append(row)
        # Without an index yet (REST-only start), the forward stands in for the spot.
        spot = self.spots.get(product, newest["forward"])
        return {
            "product": product,
            "expiry": expiry,
            "spot_price": spot,
            "strikes": strikes,
            "calls": sides[OptionType.CALL.value],
            "puts": sides[OptionType.PUT.value],
            "timestamp": newest["timestamp"],
            "seq": self.normaliser.next_seq(Channel.MARKET_OPTION_CHAIN, product),
            "venue": VENUE,
            "currency": CURRENCY,
            "expiry_ts": newest["expiry_ts"],
            "forward": newest["forward"],
            "forward_source": ForwardSource.VENUE.value,
        }
