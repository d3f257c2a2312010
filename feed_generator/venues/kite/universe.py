"""What the Kite connector follows: the chosen options and indexes, their tokens and keys.

:func:`load_universe` reads the instruments dump (``GET /instruments``, parsed by
:mod:`feed_generator.venues.kite.instruments`), prices the chosen underlyings' indexes
from ``/quote`` when their spot is not known yet (so the strikes around the money can be
chosen), and keeps what :func:`~feed_generator.venues.kite.instruments.select` selects.
A :class:`Universe` splits its tokens into the ticker's connections (≤3,000 each) and its
``/quote`` keys into calls of ≤500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from common.messages import OptionType
from feed_generator.venues.kite.client import QUOTE_MAX, KiteRest
from feed_generator.venues.kite.instruments import (
    INDEX_NAMES,
    Instrument,
    parse_instruments,
    select,
)
from feed_generator.venues.kite.normaliser import KiteOption
from feed_generator.venues.kite.packets import IndexPacket
from feed_generator.venues.kite.quotes import parse_quotes, quote_keys
from feed_generator.venues.rejects import Rejected

__all__ = ["QUOTE_URL_BYTES", "Universe", "load_universe"]

QUOTE_URL_BYTES = 7000
"""Longest ``/quote`` query string sent. Kite documents 500 instruments a call, but 500
``i=NFO%3ANIFTY…CE`` keys make a ~14 KB URL, past the 8 KB request line common servers
(nginx's default, aiohttp's) accept; unverified against Kite, so calls stay under 7 KB
(~250 option keys)."""

_SIDES = {"CE": OptionType.CALL, "PE": OptionType.PUT}


@dataclass(frozen=True, slots=True)
class Universe:
    """The followed instruments: ``indices`` maps an index token to its underlying."""

    options: tuple[KiteOption, ...]
    indices: Mapping[int, str]
    keys: Mapping[int, tuple[str, str]]
    """Token → ``(exchange, tradingsymbol)``, the ``/quote`` key."""

    @property
    def tokens(self) -> list[int]:
        """The indexes first (they carry the chains' spot), then the options."""
        return [*self.indices, *(o.token for o in self.options)]

    def __bool__(self) -> bool:
        return bool(self.keys)

    def capped(self, capacity: int) -> Universe:
        """At most ``capacity`` tokens (more cannot be streamed): the indexes, then the options
        nearest the middle of their chain's selected strikes (the money), nearest expiry
        first, taken evenly across the chains."""
        room = max(capacity - len(self.indices), 0)
        if len(self.options) <= room:
            return self
        chains: dict[tuple[str, dt.date], list[float]] = {}
        for o in self.options:
            chains.setdefault((o.product, o.expiry), []).append(o.strike)
        middle = {key: sorted(set(s)) for key, s in chains.items()}

        def rank(o: KiteOption) -> tuple[int, dt.date]:
            strikes = middle[o.product, o.expiry]
            return abs(strikes.index(o.strike) - len(strikes) // 2), o.expiry

        chosen = {o.token for o in sorted(self.options, key=rank)[:room]}
        options = tuple(o for o in self.options if o.token in chosen)
        kept = set(self.indices) | chosen
        return Universe(options, self.indices, {t: k for t, k in self.keys.items() if t in kept})

    def shards(self, per_connection: int, connections: int) -> list[list[int]]:
        """The tokens in groups of ``per_connection``, at most ``connections`` of them."""
        tokens = self.tokens
        groups = [tokens[i : i + per_connection] for i in range(0, len(tokens), per_connection)]
        return groups[:connections]

    def quote_batches(
        self, size: int = QUOTE_MAX, url_bytes: int = QUOTE_URL_BYTES
    ) -> list[list[tuple[str, str]]]:
        """``/quote`` query pairs of every token: at most ``size`` instruments a call, and
        at most ``url_bytes`` of query string (see :data:`QUOTE_URL_BYTES`)."""
        batches: list[list[tuple[str, str]]] = [[]]
        length = 0
        for pair in quote_keys(self.keys[t] for t in self.tokens):
            cost = len(urlencode([pair])) + 1
            if len(batches[-1]) >= size or (batches[-1] and length + cost > url_bytes):
                batches.append([])
                length = 0
            batches[-1].append(pair)
            length += cost
        return batches if batches[0] else []

    @classmethod
    def of(cls, rows: Sequence[Instrument]) -> Universe:
        """The universe of selected ``rows`` (indexes and options)."""
        by_index = {name: underlying for underlying, name in INDEX_NAMES.items()}
        options: list[KiteOption] = []
        indices: dict[int, str] = {}
        keys: dict[int, tuple[str, str]] = {}
        for row in rows:
            side = _SIDES.get(row.instrument_type)
            if row.segment == "INDICES" and row.tradingsymbol in by_index:
                indices[row.instrument_token] = by_index[row.tradingsymbol]
            elif side is not None and row.expiry is not None and row.strike > 0:
                option = KiteOption(
                    row.instrument_token, row.tradingsymbol, row.name, row.expiry, row.strike, side
                )
                options.append(option)
            else:
                continue
            keys[row.instrument_token] = (row.exchange, row.tradingsymbol)
        options.sort(key=lambda o: (o.product, o.expiry, o.strike, o.option_type.value))
        return cls(tuple(options), indices, keys)


async def load_universe(
    rest: KiteRest,
    underlyings: Sequence[str],
    expiries: int,
    strikes_around: int,
    on_reject: Callable[[Rejected], None],
    *,
    spots: Mapping[str, float],
    today: dt.date | None = None,
) -> Universe:
    """The instruments to follow now; ``spots`` are the underlyings' known index prices,
    ``today`` the date in India (expiries before it are gone).

    :class:`~.client.KiteRestError` or :class:`~.client.TokenRefused` when REST fails."""
    # Only the index rows and the chosen underlyings' rows are parsed (a tenth of the dump).
    rows, rejected = parse_instruments(await rest.get("/instruments"), underlyings)
    for reject in rejected:
        on_reject(reject)
    spot = {u: spots[u] for u in underlyings if u in spots}
    missing = {INDEX_NAMES[u] for u in underlyings if u not in spot and u in INDEX_NAMES}
    indexes = [r for r in rows if r.segment == "INDICES" and r.tradingsymbol in missing]
    if indexes:
        packets, bad = parse_quotes(await rest.get("/quote", quote_keys(
            (r.exchange, r.tradingsymbol) for r in indexes)))  # fmt: skip
        for reject in bad:
            on_reject(reject)
        names = {r.instrument_token: r.tradingsymbol for r in indexes}
        by_index = {name: underlying for underlying, name in INDEX_NAMES.items()}
        for packet in packets:
            if isinstance(packet, IndexPacket) and packet.token in names and packet.last_price > 0:
                spot[by_index[names[packet.token]]] = packet.last_price
    chosen = select(rows, underlyings, expiries, strikes_around, spot or None, today=today)
    return Universe.of(chosen)
