"""Dead-letter lists: a malformed message is kept with its reason; the consumer goes on."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from prometheus_client import Counter

from common.names import deadletter_key
from common.timestamps import now_ts

log = logging.getLogger(__name__)

PAYLOAD_KEPT = 4096
"""Characters of a rejected payload kept in its entry; huge payloads are cut, their size noted."""

DEADLETTERS = Counter(
    "optionsflow_deadletter_total",
    "Messages rejected into deadletter:{channel}",
    ["channel", "stage"],
)


def deadletter_entry(channel: str, raw: bytes | str, reason: str, stage: str) -> bytes:
    """The JSON entry stored for one rejected message."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    entry: dict[str, Any] = {
        "channel": channel,
        "stage": stage,
        "reason": reason,
        "received_at": now_ts(),
        "size": len(raw) if isinstance(raw, bytes) else len(raw.encode()),
        "payload": text[:PAYLOAD_KEPT],
        "truncated": len(text) > PAYLOAD_KEPT,
    }
    return orjson.dumps(entry)


def push_deadletters(
    client: Any, channel: str, rejected: list[tuple[bytes | str, str]], stage: str, keep: int
) -> None:
    """Push ``(raw, reason)`` pairs to ``deadletter:{channel}``, newest first, ``keep`` at most.

    ``client`` is a Redis client or pipeline; a pipeline is left for its owner to execute.
    """
    if not rejected:
        return
    key = deadletter_key(channel)
    entries = [deadletter_entry(channel, raw, reason, stage) for raw, reason in rejected]
    client.lpush(key, *entries)
    client.ltrim(key, 0, keep - 1)
    DEADLETTERS.labels(channel, stage).inc(len(rejected))
    for raw, reason in rejected[:10]:  # a flood is summarised, not logged line by line
        log.warning(
            "message dead-lettered",
            extra={"channel": channel, "stage": stage, "reason": reason, "size": len(raw)},
        )
    if len(rejected) > 10:
        log.warning(
            "messages dead-lettered",
            extra={"channel": channel, "stage": stage, "count": len(rejected)},
        )
