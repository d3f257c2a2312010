"""The live quotes paper orders fill against: the newest enriched chains in ``latest:*``.

One MGET reads the chains of every expiry the orders name (the spot, the underlying's
quote, is any live chain's: the newest of the product's); ``paper.market.chain_quote``
gives each instrument's quote. A chain older than its product's ``stale_after_s`` fills
nothing: a MARKET order on it is refused (:class:`StaleMarket`, a 409 placing nothing, so
the same client order id can be sent again once the market is live), a LIMIT order rests
on it with no side quoted (its margin checked on the chain's underlying) for the workers
to fill on a live chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson

from common.latest import Entry, LatestReader, stamp_age
from common.products import ConventionsRegistry
from paper.documents import Instrument, OrderRequest, OrderType, Quote
from paper.market import chain_quote
from paper_service.market import NoLiveChain

__all__ = ["MarketQuote", "StaleMarket", "live_quote_of", "live_quotes", "order_quotes"]


class StaleMarket(Exception):  # noqa: N818  # read as a state, like NoLiveChain
    """A MARKET order on a stale chain: a 409 naming ``field``, nothing placed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class MarketQuote:
    """An instrument's quote in its newest chain, and whether that chain is stale."""

    __slots__ = ("age_s", "quote", "stale")

    def __init__(self, quote: Quote | None, stale: bool, age_s: float | None) -> None:
        self.quote, self.stale, self.age_s = quote, stale, age_s


_PARSED: dict[Entry, tuple[bytes, dict[str, Any] | None]] = {}
"""Each entry's last chain bytes and what they parsed to: a chain changes a few times a
second, orders come many times more often, and equal bytes parse to the same chain (the
parsed chains are only read). One entry per (product, expiry) served, so it stays small."""


def _chain(entry: Entry, body: bytes | None) -> dict[str, Any] | None:
    if body is None:
        return None
    seen = _PARSED.get(entry)
    if seen is not None and seen[0] == body:
        return seen[1]
    parsed = orjson.loads(body)
    chain = parsed if isinstance(parsed, dict) else None
    _PARSED[entry] = (body, chain)
    return chain


def _newest(chains: Sequence[dict[str, Any] | None]) -> dict[str, Any] | None:
    live = [c for c in chains if c is not None]
    return max(live, key=lambda c: str(c.get("timestamp", ""))) if live else None


def live_quotes(
    reader: LatestReader,
    registry: ConventionsRegistry,
    instruments: Sequence[Instrument],
    now: dt.datetime,
) -> list[tuple[dict[str, Any] | None, MarketQuote]]:
    """Each instrument's chain (None: not live) and quote (None: the chain does not list
    it), read in one MGET (and one read of the live expiries for the spot)."""
    spot_products = sorted({i.product for i in instruments if i.expiry is None})
    every = {p: reader.expiries(p) for p in spot_products}
    entries = sorted({Entry(i.product, i.expiry) for i in instruments if i.expiry is not None})
    entries += [Entry(p, e) for p in spot_products for e in every[p] if Entry(p, e) not in entries]
    bodies = reader.get_many(entries)
    chains = {e: _chain(e, b) for e, b in zip(entries, bodies, strict=True)}
    answer = []
    for instrument in instruments:
        if instrument.expiry is None:
            chain = _newest(
                [chains[Entry(instrument.product, e)] for e in every[instrument.product]]
            )
        else:
            chain = chains[Entry(instrument.product, instrument.expiry)]
        answer.append((chain, live_quote_of(chain, instrument, registry, now)))
    return answer


def live_quote_of(
    chain: dict[str, Any] | None,
    instrument: Instrument,
    registry: ConventionsRegistry,
    now: dt.datetime,
) -> MarketQuote:
    """``instrument``'s quote in ``chain`` at ``now``."""
    if chain is None:
        return MarketQuote(None, stale=False, age_s=None)
    limit = registry.get(instrument.product).stale_after_s
    age = stamp_age(chain.get("timestamp"), now.timestamp(), limit)
    quote = chain_quote(chain, instrument)
    return MarketQuote(quote, stale=age is None or age.stale, age_s=age.age_s if age else None)


def order_quotes(
    reader: LatestReader,
    registry: ConventionsRegistry,
    requests: Sequence[OrderRequest],
    now: dt.datetime,
    prefixes: Sequence[str],
) -> list[Quote]:
    """The quotes to place ``requests`` against (``prefixes`` name their fields):
    :class:`NoLiveChain` (404) without a live chain or a listed strike,
    :class:`StaleMarket` (409) for a MARKET order on a stale chain; a LIMIT order's quote
    on a stale chain has no side (it rests)."""
    quotes = []
    for (chain, market), request, prefix in zip(
        live_quotes(reader, registry, [r.instrument for r in requests], now),
        requests,
        prefixes,
        strict=True,
    ):
        label = request.instrument.label
        if chain is None:
            field = f"{prefix}expiry" if request.expiry is not None else f"{prefix}product"
            raise NoLiveChain(field, f"no live chain for {label}")
        if market.quote is None:
            raise NoLiveChain(f"{prefix}strike", f"the live chain does not list {label}")
        quote = market.quote
        if market.stale:
            age = "of unknown age" if market.age_s is None else f"{market.age_s:g} s old"
            limit = registry.get(request.product).stale_after_s
            if request.type is OrderType.MARKET:
                raise StaleMarket(
                    f"{prefix}expiry" if request.expiry else f"{prefix}product",
                    f"the chain of {label} is stale ({age}, limit {limit:g} s): nothing filled;"
                    " send the same client_order_id again once the market is live",
                )
            quote = Quote(instrument=quote.instrument, bid=None, ask=None,
                          underlying=quote.underlying, timestamp=quote.timestamp)  # fmt: skip
        quotes.append(quote)
    return quotes
