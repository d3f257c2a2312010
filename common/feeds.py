"""Feed health in Redis: the snapshot each venue's connector writes, and the one reader of it.

The writer is ``feed_generator/venues/healthpub.py``: every ``HEALTH_INTERVAL_S`` it
stores each venue's :class:`VenueHealth` as JSON at ``feed:health:{venue}``, set to
expire at ``D`` = Redis's now + ``HEALTH_TTL_S`` (``PXAT``), and scores the venue in
the index ``feed:venues`` with that same ``D``, so a reader lists the venues without
scanning keys, and a connector that died disappears within ``HEALTH_TTL_S``.

A reader also ages a snapshot by its ``at`` on its own clock: older than
``STALE_AFTER_S`` (a few missed periods, the writer being stuck but its entry not
yet expired) the feed is shown ``stale`` and ``down``; a product whose last message
is older than ``PRODUCT_STALE_S`` is shown ``stale``. api_gateway serves the result
at ``GET /api/feeds`` (through storage_service).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from enum import StrEnum
from typing import cast

import msgspec
import redis

from common.messages.enums import SourceState
from common.names import FEED_VENUES_KEY, feed_health_key
from common.timestamps import parse_ts

__all__ = [
    "HEALTH_INTERVAL_S",
    "HEALTH_TTL_S",
    "PRODUCT_STALE_S",
    "STALE_AFTER_S",
    "FeedReader",
    "FeedState",
    "FeedStatus",
    "FeedsAnswer",
    "ProductHealth",
    "ProductStatus",
    "SourceStatus",
    "VenueHealth",
    "judge",
]

log = logging.getLogger(__name__)

HEALTH_INTERVAL_S = 2.0
"""Seconds between two snapshots of a venue's health."""
HEALTH_TTL_S = 5 * HEALTH_INTERVAL_S
"""Seconds a snapshot lives in Redis after it was written."""
STALE_AFTER_S = 3 * HEALTH_INTERVAL_S
"""A snapshot older than this (seconds, by its ``at``) shows its feed stale and down."""
PRODUCT_STALE_S = 10.0
"""A product without a message for longer than this (seconds) is shown stale."""


class FeedState(StrEnum):
    """A venue's connection state, as a dashboard shows it."""

    CONNECTING = "connecting"
    """Starting or reconnecting; no data yet on this connection."""
    LIVE = "live"
    """Streaming."""
    DEGRADED = "degraded"
    """The stream is down; REST polling keeps the chains alive at a slower pace."""
    DOWN = "down"
    """Neither stream nor REST delivers."""


class SourceStatus(msgspec.Struct, kw_only=True):
    """One source of a reference price (the ``reference`` venue's products): its state, last
    price and the seconds since it last updated (``None``: not known)."""

    source: str
    state: SourceState
    price: float | None
    age_s: float | None


class ProductHealth(msgspec.Struct, kw_only=True):
    """One product of a venue: ``last_message_age_s`` is ``None`` before its first message."""

    product: str
    last_message_age_s: float | None
    messages_per_s: float
    messages: int
    dead_letters: int
    sources: list[SourceStatus] | None = None
    """The ``reference`` venue: each source of the product's reference price; else ``None``."""


class VenueHealth(msgspec.Struct, kw_only=True):
    """One venue's health at ``at`` (ISO-8601 UTC); ages in seconds, rates per second."""

    venue: str
    state: FeedState
    state_age_s: float
    """Seconds in the current state."""
    at: str
    last_message_age_s: float | None
    messages_per_s: float
    messages: int
    reconnects: int
    resyncs: int
    dead_letters: int
    products: list[ProductHealth]
    session: str | None = None
    """The synthetic market's session mode (``simulated`` / ``exchange``); ``None`` for venues."""
    detail: str | None = None
    """Why the state is what it is, when the connector knows more than the state says:
    ``token_expired`` (Kite refused the access token; paused until a new one is set)."""


class ProductStatus(msgspec.Struct, kw_only=True):
    """One product of a feed as a reader sees it now; ages in seconds, rates per second."""

    product: str
    stale: bool
    """No message for ``PRODUCT_STALE_S``, none yet, its feed is stale, or it lists its
    reference price's sources and none is live."""
    last_message_age_s: float | None
    messages_per_s: float
    messages: int
    dead_letters: int
    sources: list[SourceStatus] | None = None
    """The ``reference`` venue: each source's state, its age grown by the snapshot's."""


class FeedStatus(msgspec.Struct, kw_only=True):
    """One venue's feed as a reader sees it now: its last snapshot aged by ``snapshot_age_s``.

    Ages in seconds (now, not at the snapshot), rates per second, counters since the
    connector started."""

    venue: str
    state: FeedState
    """``down`` when the snapshot is stale, else the state the connector reported."""
    reported_state: FeedState
    """The state in the last snapshot."""
    stale: bool
    """The snapshot is older than ``STALE_AFTER_S``: the connector stopped reporting."""
    snapshot_age_s: float
    at: str
    """When the connector took the snapshot (ISO-8601 UTC)."""
    state_age_s: float
    last_message_age_s: float | None
    messages_per_s: float
    messages: int
    reconnects: int
    resyncs: int
    dead_letters: int
    session: str | None
    products: list[ProductStatus]
    detail: str | None = None
    """The connector's reason for its state (``token_expired``), as in :class:`VenueHealth`."""


class FeedsAnswer(msgspec.Struct, kw_only=True):
    """``GET /api/feeds``: every venue with a health snapshot in Redis, sorted by name."""

    feeds: list[FeedStatus]


_decoder = msgspec.json.Decoder(VenueHealth)


def _aged(age: float | None, by: float) -> float | None:
    return None if age is None else age + by


def _aged_source(source: SourceStatus, by: float) -> SourceStatus:
    return msgspec.structs.replace(source, age_s=_aged(source.age_s, by))


def judge(
    health: VenueHealth,
    now: dt.datetime,
    *,
    stale_after_s: float = STALE_AFTER_S,
    product_stale_s: float = PRODUCT_STALE_S,
) -> FeedStatus:
    """``health`` as seen at ``now`` (aware UTC): ages grown by the snapshot's age, staleness."""
    # A writer's clock slightly ahead of the reader's must not make ages shrink.
    by = max(0.0, (now - parse_ts(health.at)).total_seconds())
    stale = by > stale_after_s
    products = []
    for p in health.products:
        age = _aged(p.last_message_age_s, by)
        fresh = age is not None and age <= product_stale_s and not stale
        sources = None if p.sources is None else [_aged_source(s, by) for s in p.sources]
        if sources is not None and all(s.state is not SourceState.LIVE for s in sources):
            fresh = False  # a reference price without a live source keeps only its last value
        products.append(
            ProductStatus(
                product=p.product,
                stale=not fresh,
                last_message_age_s=age,
                messages_per_s=p.messages_per_s,
                messages=p.messages,
                dead_letters=p.dead_letters,
                sources=sources,
            )
        )
    return FeedStatus(
        venue=health.venue,
        state=FeedState.DOWN if stale else health.state,
        reported_state=health.state,
        stale=stale,
        snapshot_age_s=by,
        at=health.at,
        state_age_s=health.state_age_s + by,
        last_message_age_s=_aged(health.last_message_age_s, by),
        messages_per_s=health.messages_per_s,
        messages=health.messages,
        reconnects=health.reconnects,
        resyncs=health.resyncs,
        dead_letters=health.dead_letters,
        session=health.session,
        products=products,
        detail=health.detail,
    )


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class FeedReader:
    """Reads of ``feed:*`` through ``client`` (bytes replies); ``redis.RedisError`` goes to the
    caller. ``clock``: the aware UTC now, against which snapshots are aged."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
        stale_after_s: float = STALE_AFTER_S,
        product_stale_s: float = PRODUCT_STALE_S,
    ) -> None:
        self.client = client
        self.clock = clock
        self.stale_after_s = stale_after_s
        self.product_stale_s = product_stale_s

    def venues(self) -> list[str]:
        """The venues whose snapshot has not expired (Redis's clock), sorted; one round trip."""
        pipe = self.client.pipeline(transaction=False)
        pipe.time()
        pipe.zrange(FEED_VENUES_KEY, 0, -1, withscores=True)
        (seconds, micros), scored = pipe.execute()
        now_ms = seconds * 1000 + micros // 1000
        names = (m.decode() if isinstance(m, bytes) else str(m) for m, s in scored if s > now_ms)
        return sorted(names)

    def snapshots(self) -> list[VenueHealth]:
        """Every live venue's last snapshot, by venue; an undecodable one is logged and left out."""
        names = self.venues()
        if not names:
            return []
        raws = cast(list[bytes | None], self.client.mget([feed_health_key(n) for n in names]))
        found = []
        for name, raw in zip(names, raws, strict=True):
            if raw is None:  # expired between the two round trips
                continue
            try:
                health = _decoder.decode(raw)
                parse_ts(health.at)  # judged against it later: refused here, not there
            except (msgspec.DecodeError, ValueError) as exc:
                log.warning("bad feed health", extra={"venue": name, "error": str(exc)})
            else:
                found.append(health)
        return found

    def statuses(self) -> FeedsAnswer:
        """Every live venue's feed as seen now (see :func:`judge`)."""
        now = self.clock()
        return FeedsAnswer(
            feeds=[
                judge(
                    h,
                    now,
                    stale_after_s=self.stale_after_s,
                    product_stale_s=self.product_stale_s,
                )
                for h in self.snapshots()
            ]
        )
