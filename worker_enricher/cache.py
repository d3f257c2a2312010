"""The ``latest:*`` cache and the ``enriched:*`` broadcast of enriched payloads."""

from __future__ import annotations

from typing import Any

from common.names import LATEST_ORDER_KEY, Channel
from common.timestamps import parse_ts
from worker_enricher.scripts import Scripts


def epoch_ms(timestamp: str) -> int:
    """Milliseconds since 1970 of a wire timestamp."""
    return int(parse_ts(timestamp).timestamp() * 1000 + 0.5)


def keep_newest(
    pipe: Any, scripts: Scripts, *, key: str, message: dict[str, Any], payload: bytes, ttl_s: int
) -> None:
    """Queue on ``pipe``: keep ``payload`` at ``key`` unless a newer (timestamp, seq) is there."""
    scripts.latest(
        keys=[key, LATEST_ORDER_KEY],
        args=[epoch_ms(message["timestamp"]), message["seq"], payload, ttl_s],
        client=pipe,
    )


def cache_and_publish(
    pipe: Any,
    scripts: Scripts,
    *,
    key: str,
    channel: Channel,
    message: dict[str, Any],
    payload: bytes,
    ttl_s: int,
) -> None:
    """Queue on ``pipe``: keep ``payload`` under ``key`` if it is the newest, and publish it.

    Every payload is published, in the order tasks finish; the cache keeps only
    the newest by (timestamp, seq), whatever the order.
    """
    keep_newest(pipe, scripts, key=key, message=message, payload=payload, ttl_s=ttl_s)
    pipe.publish(channel.value, payload)
