"""How far the subscribers' consumer group is behind each raw stream, read at scrape time.

Served with the subscriber's metrics; every instance reports the same group, so
queries take ``max``. Read from Redis when Prometheus scrapes (one pipeline),
nothing per message. A Redis that does not answer yields none of these series
for that scrape.

- lag in seconds: the newest entry's ID time minus the last delivered entry's,
  so 0 when the group has been handed everything (any Redis);
- lag in entries: entries not yet delivered to the group (``XINFO GROUPS`` ``lag``,
  Redis 7 or later; absent before, or while Redis cannot tell);
- pending entries and the age of the oldest (its ID time to Redis's ``TIME``):
  delivered, not yet acknowledged; an old one is a reader that died and whose
  entries nobody has claimed yet;
- the stream's length and its bound (``RAW_STREAM_MAXLEN``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.names import MARKET_CHANNELS, SUBSCRIBER_GROUP, Channel, raw_stream_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backlog:
    length: int
    lag_s: float
    lag_entries: int | None
    pending: int
    oldest_pending_s: float


def _ms(entry_id: bytes | str | None) -> int:
    if not entry_id:
        return 0
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


def _key(mapping: Mapping[Any, Any], name: str) -> Any:
    return mapping.get(name, mapping.get(name.encode()))


def read_backlog(client: redis.Redis) -> dict[Channel, Backlog]:
    """The group's backlog on every raw stream that exists and has the group, in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for channel in MARKET_CHANNELS:
        key = raw_stream_key(channel)
        pipe.xinfo_stream(key)
        pipe.xinfo_groups(key)
        pipe.xpending(key, SUBSCRIBER_GROUP)
    replies = pipe.execute(raise_on_error=False)
    if isinstance(replies[0], Exception):
        raise replies[0]
    seconds, micros = replies[0]
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    out: dict[Channel, Backlog] = {}
    for i, channel in enumerate(MARKET_CHANNELS):
        stream, groups, pending = replies[1 + 3 * i : 4 + 3 * i]
        if any(isinstance(r, Exception) for r in (stream, groups, pending)):
            continue  # no stream or no group yet: nothing behind
        group = next((g for g in groups if _text(_key(g, "name")) == SUBSCRIBER_GROUP), None)
        if group is None:
            continue
        newest = _ms(_key(stream, "last-generated-id"))
        delivered = _ms(_key(group, "last-delivered-id"))
        lag_entries = _key(group, "lag")
        count = int(_key(pending, "pending") or 0)
        oldest = _ms(_key(pending, "min")) if count else now_ms
        out[channel] = Backlog(
            length=int(_key(stream, "length")),
            lag_s=max(0, newest - delivered) / 1000,
            lag_entries=None if lag_entries is None else int(lag_entries),
            pending=count,
            oldest_pending_s=max(0, now_ms - oldest) / 1000,
        )
    return out


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StreamBacklogCollector(Collector):
    """The backlog series, read at each scrape with ``client`` (short timeouts, no retries)."""

    def __init__(self, client: redis.Redis, maxlen: int) -> None:
        self.client = client
        self.maxlen = maxlen

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # read at collect time only: registering must not reach Redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog = read_backlog(self.client)
        except (redis.RedisError, OSError) as exc:
            log.warning("stream backlog unknown", extra={"error": str(exc)})
            return
        families = {
            "length": GaugeMetricFamily("optionsflow_subscriber_stream_length",
                                        "Entries in the raw stream", labels=["channel"]),
            "lag_s": GaugeMetricFamily(
                "optionsflow_subscriber_stream_lag_seconds",
                "The newest entry's time minus the last one delivered to the subscribers' group",
                labels=["channel"]),
            "lag_entries": GaugeMetricFamily(
                "optionsflow_subscriber_stream_lag_entries",
                "Entries not yet delivered to the subscribers' group (Redis 7 or later)",
                labels=["channel"]),
            "pending": GaugeMetricFamily(
                "optionsflow_subscriber_stream_pending",
                "Entries delivered to a subscriber and not yet acknowledged", labels=["channel"]),
            "oldest_pending_s": GaugeMetricFamily(
                "optionsflow_subscriber_stream_oldest_pending_seconds",
                "Age (from its publishing) of the oldest entry not yet acknowledged",
                labels=["channel"]),
        }  # fmt: skip
        for channel, b in backlog.items():
            for name, family in families.items():
                value = getattr(b, name)
                if value is not None:
                    family.add_metric([channel.value], float(value))
        yield from families.values()
        yield GaugeMetricFamily(
            "optionsflow_subscriber_stream_maxlen",
            "Entries each raw stream keeps at most (RAW_STREAM_MAXLEN)",
            value=float(self.maxlen),
        )
