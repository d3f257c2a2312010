"""The ``latest:*`` cache, its index of live entries, and the ``enriched:*`` broadcast of
enriched payloads. Readers go through :mod:`common.latest`."""

from __future__ import annotations

from typing import Any

import redis

from common.latest import Entry
from common.names import LATEST_ORDER_KEY, LATEST_PRODUCTS_KEY, Channel, latest_expiries_key
from common.timestamps import parse_ts
from worker_enricher.scripts import Scripts, register_scripts


def epoch_ms(timestamp: str) -> int:
    """Milliseconds since 1970 of a wire timestamp."""
    return int(parse_ts(timestamp).timestamp() * 1000 + 0.5)


def keep_newest(
    pipe: Any, scripts: Scripts, *, entry: Entry, message: dict[str, Any], payload: bytes,
    ttl_s: int,
) -> None:  # fmt: skip
    """Queue on ``pipe``: keep ``payload`` as ``entry`` for ``ttl_s`` seconds unless a newer
    (timestamp, seq) is there, and mark it live in the index until then."""
    keys = [entry.key, LATEST_ORDER_KEY, LATEST_PRODUCTS_KEY]
    args: list[Any] = [epoch_ms(message["timestamp"]), message["seq"], payload, ttl_s]
    args.append(entry.product)
    if entry.expiry is not None:
        keys.append(latest_expiries_key(entry.product))
        args.append(entry.expiry)
    scripts.latest(keys=keys, args=args, client=pipe)


def put_latest(
    client: redis.Redis, entry: Entry, payload: bytes, *, timestamp: str, seq: int, ttl_s: int
) -> bool:
    """Keep ``payload`` as ``entry`` as :func:`keep_newest` does, in a round trip of its own
    (benchmarks and tests that need live entries without the pipeline); True when stored."""
    pipe = client.pipeline(transaction=False)
    message = {"timestamp": timestamp, "seq": seq}
    scripts = register_scripts(client)
    keep_newest(pipe, scripts, entry=entry, message=message, payload=payload,
                ttl_s=ttl_s)  # fmt: skip
    (stored,) = scripts.execute(pipe)
    return bool(stored)


def cache_and_publish(
    pipe: Any,
    scripts: Scripts,
    *,
    entry: Entry,
    channel: Channel,
    message: dict[str, Any],
    payload: bytes,
    ttl_s: int,
) -> None:
    """Queue on ``pipe``: keep ``payload`` as ``entry`` if it is the newest, and publish it.

    Every payload is published, in the order tasks finish; the cache keeps only
    the newest by (timestamp, seq), whatever the order.
    """
    keep_newest(pipe, scripts, entry=entry, message=message, payload=payload, ttl_s=ttl_s)
    pipe.publish(channel.value, payload)
