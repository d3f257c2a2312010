"""Where the analytics read their data: the store for history and closed candles,
Redis for the newest chains (``latest:*``, through :mod:`common.latest`), the cached
surface and the candles still forming.

The store is opened on first use, not at start-up, so the service starts (and
answers 503 for the store's routes) while the store is down.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import orjson
import redis

from analytics_service.calc.candles import (
    STORE_INTERVAL,
    Candle,
    aggregate,
    from_closed_field,
    from_open_hash,
    from_store,
    merge,
)
from analytics_service.calc.expiries import is_expiry
from analytics_service.calc.resample import Interval, ceil_to, floor_to
from analytics_service.calc.times import from_ms, to_ms
from common import latest
from common.names import CLOSED_CANDLES_KEY, candle_key, iv_surface_key
from store import Store
from store.lazy import LazyStore

log = logging.getLogger(__name__)

OPEN_RETRY_S = 2.0
"""After the store failed to open, requests answer 503 at once for this long."""
PRODUCTS_TTL_S = 5.0
"""How long the store's product listing is reused: listing scans the whole chain index."""


class Sources:
    """The data of one service process: a Redis client and the store (opened lazily)."""

    def __init__(
        self,
        redis_client: redis.Redis,
        open_store: Callable[[], Store],
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        products_ttl_s: float = PRODUCTS_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock`` gives instants (what is expired, what is recent); ``monotonic`` times the
        pause after a failed store open (seconds)."""
        self.redis = redis_client
        self.latest = latest.LatestReader(redis_client)
        self.clock = clock
        """The current instant (replaceable in tests)."""
        self._store = LazyStore(open_store, retry_s=OPEN_RETRY_S, clock=monotonic)
        self.products_ttl_s = products_ttl_s
        """How long the store's product listing is reused (0: never)."""
        self._products: tuple[float, dict[str, list[str]]] | None = None

    # -- the store -----------------------------------------------------------------------

    @property
    def store(self) -> Store:
        """The store, opened on first use; ``StoreUnavailable`` while it cannot be
        (see :class:`~store.lazy.LazyStore`)."""
        return self._store.get()

    def ping_store(self) -> None:
        """Readiness: return if the store answers."""
        self.store.ping()

    def close(self) -> None:
        """Close the store (if opened) and the Redis client."""
        self._store.close()
        self.redis.close()

    # -- products and expiries -----------------------------------------------------------

    def _stored_products(self) -> dict[str, list[str]]:
        cached = self._products
        if cached is not None and time.monotonic() - cached[0] < self.products_ttl_s:
            return cached[1]
        listing = self.store.products()
        self._products = (time.monotonic(), listing)
        return listing

    def expiries(self, product: str) -> list[str]:
        """Every expiry of ``product`` stored, or live in ``latest:*`` (the workers' index:
        a new expiry shows at once), ascending."""
        stored = self._stored_products().get(product, [])
        live = [e for e in self.latest.expiries(product) if is_expiry(e)]
        return sorted(set(stored).union(live))

    def has_expiry(self, product: str, expiry: str) -> bool:
        if expiry in self._stored_products().get(product, []):
            return True
        return self.latest.exists(latest.chain(product, expiry))

    def has_underlying(self, product: str) -> bool:
        """Whether Redis holds a tick or an open candle of ``product`` (no chain needed)."""
        pipe = self.redis.pipeline(transaction=False)
        tick = latest.queue_exists(pipe, [latest.underlying(product)])
        pipe.exists(candle_key("1min", product))
        replies = pipe.execute()
        return bool(tick.result(replies) or replies[-1])

    # -- chains --------------------------------------------------------------------------

    def latest_chain(self, product: str, expiry: str) -> dict[str, Any] | None:
        """The newest enriched chain: Redis's ``latest:chain`` entry, else the store's newest."""
        payload = self.latest.chain(product, expiry)
        if payload is not None:
            try:
                chain = orjson.loads(payload)
            except orjson.JSONDecodeError:
                log.warning("unreadable latest chain in Redis", extra={"product": product})
            else:
                if isinstance(chain, dict):
                    return chain
        return self.store.latest_chain(product, expiry)

    def chain_at(
        self, product: str, expiry: str, at_ms: int, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """The newest stored snapshot with ``timestamp <= at_ms``, or ``None``."""
        return self.store.chain_at(product, expiry, from_ms(at_ms), fields=fields)

    def cached_surface(self, product: str) -> dict[str, Any] | None:
        """The surface the worker keeps in ``iv:surface:{product}``, or ``None``."""
        payload = cast(bytes | None, self.redis.get(iv_surface_key(product)))
        if payload is None:
            return None
        try:
            surface = orjson.loads(payload)
        except orjson.JSONDecodeError:
            log.warning("unreadable surface in Redis", extra={"product": product})
            return None
        return surface if isinstance(surface, dict) else None

    # -- candles -------------------------------------------------------------------------

    def closed_candles(
        self, product: str, interval: str, start_ms: int, end_ms: int
    ) -> list[tuple[int, Candle]]:
        """Closed candles starting in ``[start_ms, end_ms)``: stored ones, and those the
        worker closed but has not stored yet (they win: they are newer), ascending."""
        stored = self.store.candles(product, interval, from_ms(start_ms), from_ms(end_ms))
        pending = []
        pattern = f"{product}|{interval}|*"
        for field, value in self.redis.hscan_iter(CLOSED_CANDLES_KEY, match=pattern, count=1000):
            try:
                _, _, start, candle = from_closed_field(field, value)
            except ValueError:
                continue
            if start_ms <= start < end_ms:
                pending.append((start, candle))
        return merge(map(from_store, stored), pending)

    def open_candle(self, product: str, interval: str) -> tuple[int, Candle] | None:
        """The candle still forming in ``candle:{interval}:{product}``, or ``None``."""
        fields = cast(dict[bytes, bytes], self.redis.hgetall(candle_key(interval, product)))
        return from_open_hash(fields) if fields else None

    def candles(
        self, product: str, interval: Interval, start_ms: int, end_ms: int
    ) -> tuple[list[tuple[int, Candle]], tuple[int, Candle] | None]:
        """(closed candles of ``interval`` starting in ``[start_ms, end_ms)``, the open one).

        1-hour candles are built from the 15-minute ones. An hour is closed only once it
        has ended; the one still forming (that of the 15-minute candle forming in Redis,
        else the current hour) is the open 1-hour candle, built from its quarters so far.
        """
        stored_interval = STORE_INTERVAL[interval]
        if interval is not Interval.ONE_HOUR:
            closed = self.closed_candles(product, stored_interval, start_ms, end_ms)
            forming = self.open_candle(product, stored_interval)
            if forming is not None:
                closed = [c for c in closed if c[0] != forming[0]]
            return closed, forming
        width = interval.ms
        quarters = self.closed_candles(
            product, stored_interval, ceil_to(start_ms, width), ceil_to(end_ms, width)
        )
        forming_quarter = self.open_candle(product, stored_interval)
        now = to_ms(self.clock())
        # Without the forming quarter (the worker is between quarters, or down) the hour
        # is still the current one: its stored quarters are not the whole hour.
        hour = floor_to(now if forming_quarter is None else forming_quarter[0], width)
        in_hour = [c for c in quarters if floor_to(c[0], width) == hour]
        parts = merge(in_hour, [] if forming_quarter is None else [forming_quarter])
        forming = aggregate(parts, width)[0] if parts else None
        ended = [c for c in quarters if _hour_closed(floor_to(c[0], width), hour, width, now)]
        return aggregate(ended, width), forming


def _hour_closed(start: int, forming: int, width: int, now: int) -> bool:
    """Whether the hour starting at ``start`` (ms) is over and not the one still forming."""
    return start != forming and start + width <= now
