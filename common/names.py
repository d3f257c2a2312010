"""Channel names and Redis keys: the contract every service shares, in one place."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Redis Pub/Sub channels. The values are a fixed contract and never change."""

    MARKET_UNDERLYING = "market:underlying"
    MARKET_OPTION_QUOTE = "market:option_quote"
    MARKET_OPTION_CHAIN = "market:option_chain"
    ENRICHED_UNDERLYING = "enriched:underlying"
    ENRICHED_OPTION_CHAIN = "enriched:option_chain"


MARKET_CHANNELS: tuple[Channel, ...] = (
    Channel.MARKET_UNDERLYING,
    Channel.MARKET_OPTION_QUOTE,
    Channel.MARKET_OPTION_CHAIN,
)


def raw_stream_key(channel: Channel) -> str:
    """The Redis Stream holding every message published on the market ``channel``: the
    same name (keys and Pub/Sub channels are separate namespaces). Written by
    ``common/rawfeed.py`` only, read by the subscriber's consumer group."""
    return channel.value


SUBSCRIBER_GROUP = "subscriber"
"""The consumer group of the subscriber instances on each raw stream; they share its entries."""


def seq_last_key(channel: Channel) -> str:
    """Hash: product → the last ``seq`` the subscribers' sequence check passed on ``channel``
    (in stream order, whichever instance read it), so a restart never hides a gap."""
    return f"subscriber:seq:{channel.value}"


def seq_checked_key(channel: Channel) -> str:
    """String: the stream ID up to which every entry of ``channel``'s raw stream has been
    through the sequence check (or was trimmed)."""
    return f"subscriber:checked:{channel.value}"


LOG_STREAM = "logs"

SOCKETIO_CHANNEL = "optionsflow:socketio"
"""Pub/Sub channel of the Socket.IO message queue between socket_gateway instances
(Pub/Sub ignores database numbers: the name keeps it apart)."""


def user_room(user_id: str) -> str:
    """The Socket.IO room of one user's connections (every connection joins its own): where
    the workers emit the ``alert`` events of that user's alerts."""
    return f"user:{user_id}"


def alert_version_key(product: str) -> str:
    """String: a random token alert_service sets whenever an alert of ``product`` is
    created, changed or deleted; a worker holding another token reads the product's
    active alerts from the store again (a lost key is a change too)."""
    return f"alerts:version:{product}"


def paper_version_key(product: str) -> str:
    """String: a random token paper_service sets whenever a resting (limit) paper order of
    ``product`` is placed or cancelled; a worker holding another token (or none) reads the
    product's open limit orders from the store again."""
    return f"paper:version:{product}"


def alert_state_key(product: str, kind: str) -> str:
    """Hash: the evaluation state of ``product``'s alerts of one kind (``spot``: evaluated
    on ticks; ``chain``: the others) — each rule's previous value, last trigger,
    ``change_pct`` samples, the newest data evaluated — written only by a worker that read
    the generation it replaces (worker_enricher/alerting/)."""
    return f"alerts:state:{product}:{kind}"


ALERT_OUTBOX_STREAM = "alerts:outbox"
"""Stream: each trigger, written by the script that writes the state deciding it and
deleted once delivered (Socket.IO event, history, webhook task); an entry left by a worker
that died is delivered by another's sweep (worker_enricher/alerting/delivery.py)."""


def deadletter_key(channel: str) -> str:
    """Redis list holding messages of ``channel`` that failed validation."""
    return f"deadletter:{channel}"


# ``latest:*``: written by the workers only (the LATEST script, worker_enricher/scripts.py),
# read through common/latest.py only. Each write sets its entry to expire at an instant
# D = Redis's now + LATEST_TTL_S (PXAT) and scores the two indexes with that same D.


def latest_chain_key(product: str, expiry: str) -> str:
    """Newest enriched chain of (product, expiry), stored as the API's exact bytes; lives
    ``LATEST_TTL_S`` from its last write."""
    return f"latest:chain:{product}:{expiry}"


def latest_underlying_key(product: str) -> str:
    """Newest enriched underlying tick of ``product``; lives ``LATEST_TTL_S`` from its last
    write."""
    return f"latest:underlying:{product}"


def latest_expiries_key(product: str) -> str:
    """Sorted set: expiry → the instant (ms since 1970, Redis's clock) its ``latest:chain``
    entry expires; live while that is after Redis's ``TIME``, so nobody scans keys.

    Each chain write trims the past members and sets the set to expire with its last one.
    """
    return f"latest:expiries:{product}"


LATEST_PRODUCTS_KEY = "latest:products"
"""Sorted set: product → the latest instant (ms, Redis's clock) one of its ``latest:*``
entries (a chain or the underlying) expires; trimmed and expired like ``latest:expiries:*``."""


# ``feed:*``: written by each venue's health publisher only (feed_generator/venues/healthpub.py),
# read through common/feeds.py only. Each write sets the snapshot to expire at an instant
# D = Redis's now + HEALTH_TTL_S (PXAT) and scores the venue in ``feed:venues`` with that D.


def feed_health_key(venue: str) -> str:
    """A venue's newest :class:`common.feeds.VenueHealth` snapshot (JSON); lives
    ``HEALTH_TTL_S`` from its last write."""
    return f"feed:health:{venue}"


FEED_VENUES_KEY = "feed:venues"
"""Sorted set: venue → the instant (ms since 1970, Redis's clock) its ``feed:health`` entry
expires; live while that is after Redis's ``TIME``. Each write trims the past members and
sets the set to expire with its last one."""


def candle_key(interval: str, product: str) -> str:
    """Open candle of ``product`` for ``interval`` (``1min``, ``5min``, ``15min``)."""
    return f"candle:{interval}:{product}"


ENRICH_QUEUE = "enrich"
"""The Celery queue of the enrichment tasks (its Redis list has the same name)."""

ALERT_QUEUE = "alerts"
"""The Celery queue of the alert delivery tasks (``optionsflow.alerts.*``: webhooks), served
by a worker of its own so that a slow receiver never holds up enrichment."""

LATEST_ORDER_KEY = "meta:latest-order"
"""Hash: ``latest:*`` key → ``"{timestamp_ms}:{seq}"`` of the payload it holds."""

SPOT_KEY = "meta:spot"
"""Hash: product → ``"{price}|{timestamp_ms}"`` of the newest underlying tick."""

CLOSED_CANDLES_KEY = "candles:closed"
"""Hash of closed candles not yet persisted: ``{product}|{interval}|{start_ms}`` → OHLCV."""


def previous_chains_key(product: str, expiry: str) -> str:
    """Sorted set of the last raw chains of (product, expiry), scored by ``seq``."""
    return f"prev:chain:{product}:{expiry}"


def seen_ticks_key(product: str) -> str:
    """Sorted set of the newest applied tick seqs of ``product`` (replays are not re-counted)."""
    return f"ticks:seen:{product}"


def iv_points_key(product: str) -> str:
    """Hash: ``{expiry}|{strike}|{CALL|PUT}`` → ``"{timestamp_ms}|{iv}"`` from option quotes."""
    return f"iv:points:{product}"


def iv_surface_key(product: str) -> str:
    """The IV surface of ``product`` (strike × expiry grid) as JSON."""
    return f"iv:surface:{product}"


def access_revoked_key(jti: str) -> str:
    """Deny-list entry of an access token; expires when the token does."""
    return f"auth:access:revoked:{jti}"


DENY_LIST_MARK_KEY = "auth:access:revoked:rebuilt"
"""Present while the deny-list in Redis is whole: auth_service writes it (the ``run_id`` of
the server) after writing the deny-list back from the store into a Redis that lost it. A
gateway that has seen it and then finds it gone refuses tokens (503) until it is back
(``common/access.py``)."""


def cache_key(kind: str, *parts: str) -> str:
    """A cache-aside entry of the storage service, e.g. ``cache:history:NIFTY:2026-11-26:…``.

    Separate from ``latest:*``, which only the workers write.
    """
    return ":".join(("cache", kind, *parts))


def cache_lock_key(key: str) -> str:
    """The rebuild lock of the cache entry ``key`` (one rebuilder at a time)."""
    return f"lock:{key}"


def cache_budget_key(window: int) -> str:
    """Bytes the storage service cached in keep window ``window`` (epoch ms // STALE_TTL ms)."""
    return f"cache-budget:{window}"
