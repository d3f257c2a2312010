"""Prometheus series of the venue connectors (shown on the connector's ``/metrics``).

Definitions only: the connector that updates them comes with the venue wiring. Names
follow the project's ``optionsflow_*`` scheme; labels stay low-cardinality (venue,
product, a short reason), never an instrument name.
"""

from __future__ import annotations

from enum import IntEnum

from prometheus_client import Counter, Gauge

from feed_generator.venues.health import FeedState

__all__ = [
    "FEED_CIRCUIT_OPEN",
    "FEED_LAST_MESSAGE",
    "FEED_MESSAGES",
    "FEED_RATE_WAIT",
    "FEED_RECONNECTS",
    "FEED_REJECTED",
    "FEED_RESYNCS",
    "FEED_STATE",
    "StateLevel",
    "state_level",
]


class StateLevel(IntEnum):
    """``FEED_STATE``'s value: higher is worse, so an alert can say ``> 1``."""

    LIVE = 0
    CONNECTING = 1
    DEGRADED = 2
    DOWN = 3


def state_level(state: FeedState) -> StateLevel:
    """The gauge value of ``state``."""
    return StateLevel[state.name]


FEED_MESSAGES = Counter(
    "optionsflow_feed_messages_total",
    "Normalised messages a venue connector published, by venue, product and channel.",
    ["venue", "product", "channel"],
)
FEED_LAST_MESSAGE = Gauge(
    "optionsflow_feed_last_message_timestamp_seconds",
    "Unix time of a product's newest published message (age = time() - value).",
    ["venue", "product"],
)
FEED_STATE = Gauge(
    "optionsflow_feed_state",
    "A venue connector's state: 0 live, 1 connecting, 2 degraded (REST only), 3 down.",
    ["venue"],
)
FEED_RECONNECTS = Counter(
    "optionsflow_feed_reconnects_total",
    "Stream reconnections by venue and cause (error, closed, silent, rate_limited).",
    ["venue", "cause"],
)
FEED_RESYNCS = Counter(
    "optionsflow_feed_resyncs_total",
    "REST snapshots that re-synchronised a venue's products after a (re)connection.",
    ["venue"],
)
FEED_REJECTED = Counter(
    "optionsflow_feed_rejected_frames_total",
    "Venue frames dead-lettered instead of published, by venue and reason.",
    ["venue", "reason"],
)
FEED_CIRCUIT_OPEN = Counter(
    "optionsflow_feed_circuit_open_total",
    "Times a venue's REST circuit breaker opened.",
    ["venue"],
)
FEED_RATE_WAIT = Counter(
    "optionsflow_feed_rate_wait_seconds_total",
    "Seconds a venue connector waited for its local rate budget.",
    ["venue"],
)
