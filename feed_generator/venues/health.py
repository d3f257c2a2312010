"""Feed health per venue and product: state, last message age, message rate, counters.

A connector owns one :class:`FeedHealth` and tells it what happens (a message of
a product, a reconnect, a resync from a REST snapshot, a dead letter, a state
change); :meth:`FeedHealth.snapshot` returns a :class:`VenueHealth` struct, the
shape (defined in :mod:`common.feeds`, the wire contract with its readers) that
``feed_generator/venues/healthpub.py`` writes to Redis at ``feed:health:{venue}``
and the gateway serves at ``GET /api/feeds``. Ages and rates are measured on the injected
monotonic ``clock``; ``at`` stamps the snapshot on the wall clock so a reader can
age it further.

Messages per second are counted over a sliding ``window_s`` in buckets of a tenth
of it (memory stays constant at any message rate); until a window has passed
since the start the rate is taken over the time elapsed.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from common.feeds import FeedState, ProductHealth, VenueHealth
from common.names import feed_health_key
from common.timestamps import format_ts

__all__ = ["FeedHealth", "FeedState", "ProductHealth", "VenueHealth", "health_key"]

_BUCKETS = 10


def health_key(venue: str) -> str:
    """The Redis key of a venue's health snapshot (:func:`common.names.feed_health_key`)."""
    return feed_health_key(venue)


@dataclass(slots=True)
class _Rate:
    """Counts in ``_BUCKETS`` buckets spanning ``window_s``; the rate over the window."""

    window_s: float
    buckets: deque[tuple[int, int]] = field(default_factory=deque)

    def add(self, now: float, n: int) -> None:
        index = math.floor(now * _BUCKETS / self.window_s)
        if self.buckets and self.buckets[-1][0] == index:
            self.buckets[-1] = (index, self.buckets[-1][1] + n)
        else:
            self.buckets.append((index, n))
        self._expire(index)

    def _expire(self, index: int) -> None:
        while self.buckets and self.buckets[0][0] <= index - _BUCKETS:
            self.buckets.popleft()

    def per_s(self, now: float, elapsed: float) -> float:
        self._expire(math.floor(now * _BUCKETS / self.window_s))
        span = min(self.window_s, max(elapsed, self.window_s / _BUCKETS))
        return sum(n for _, n in self.buckets) / span


@dataclass(slots=True)
class _Product:
    rate: _Rate
    last_at: float | None = None
    messages: int = 0
    dead_letters: int = 0


class FeedHealth:
    """The health tracker of one venue; thread-safe (the reader and the REST poller share it).

    ``clock``: monotonic seconds; ``wall``: the aware UTC now, for the snapshot's ``at``.
    """

    def __init__(
        self,
        venue: str,
        *,
        window_s: float = 10.0,
        session: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        if window_s <= 0:
            raise ValueError("window_s must be positive")
        self.venue = venue
        self.session = session
        self._window_s = window_s
        self._clock, self._wall = clock, wall
        self._started = self._state_at = clock()
        self._state = FeedState.CONNECTING
        self._products: dict[str, _Product] = {}
        self._reconnects = self._resyncs = self._unattributed_dead = 0
        self._lock = threading.Lock()

    @property
    def state(self) -> FeedState:
        return self._state

    def set_state(self, state: FeedState) -> None:
        """Enter ``state``; the state's age restarts only on a change."""
        with self._lock:
            if state is not self._state:
                self._state, self._state_at = state, self._clock()

    def _product(self, product: str) -> _Product:
        entry = self._products.get(product)
        if entry is None:
            entry = self._products[product] = _Product(_Rate(self._window_s))
        return entry

    def on_message(self, product: str, count: int = 1) -> None:
        """``count`` normalised messages of ``product`` were published."""
        with self._lock:
            now = self._clock()
            entry = self._product(product)
            entry.rate.add(now, count)
            entry.messages += count
            entry.last_at = now

    def on_reconnect(self) -> None:
        with self._lock:
            self._reconnects += 1

    def on_resync(self) -> None:
        """A REST snapshot re-synchronised the products (after a (re)connection)."""
        with self._lock:
            self._resyncs += 1

    def on_dead_letter(self, product: str | None = None) -> None:
        """A frame was rejected; ``product`` when it could be told."""
        with self._lock:
            if product is None:
                self._unattributed_dead += 1
            else:
                self._product(product).dead_letters += 1

    def snapshot(self) -> VenueHealth:
        """The venue's health now."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._started
            products = [
                ProductHealth(
                    product=name,
                    last_message_age_s=None if p.last_at is None else now - p.last_at,
                    messages_per_s=p.rate.per_s(now, elapsed),
                    messages=p.messages,
                    dead_letters=p.dead_letters,
                )
                for name, p in sorted(self._products.items())
            ]
            ages = [p.last_message_age_s for p in products if p.last_message_age_s is not None]
            return VenueHealth(
                venue=self.venue,
                state=self._state,
                state_age_s=now - self._state_at,
                at=format_ts(self._wall()),
                last_message_age_s=min(ages) if ages else None,
                messages_per_s=sum(p.messages_per_s for p in products),
                messages=sum(p.messages for p in products),
                reconnects=self._reconnects,
                resyncs=self._resyncs,
                dead_letters=self._unattributed_dead + sum(p.dead_letters for p in products),
                products=products,
                session=self.session,
            )
