"""Where encoded messages go: Redis (the raw streams and Pub/Sub), and capture files.

A batch is a list of :data:`Encoded` triples ``(offset, channel, json)``; every
sink receives each batch once. :class:`RedisSink` sends a batch through
:func:`common.rawfeed.publish_raw`: each message into the stream named like its
channel (``MAXLEN ~``) and onto the channel, one script per chunk, packed in one
join, so a loop iteration costs one round trip.
When Redis fails or stalls, the batch is dropped and counted, and the sink
backs off with capped exponential delays and jitter before trying again:
consumers see the loss as a ``seq`` gap. Its client (:func:`publishing_client`)
does not retry and times out after about a second, so a stalled Redis delays
the loop, and with it a stop request, by about that much and never more.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import redis

from common.rawfeed import DEFAULT_RAW_STREAM_MAXLEN, publish_raw
from common.redis_client import make_redis
from feed_generator.capture import CaptureWriter

logger = logging.getLogger(__name__)

Encoded = tuple[float, str, str]
"""``(offset seconds, channel, message JSON)``."""
PUBLISH_TIMEOUT = 1.0
"""Seconds a connect or a reply may take before the batch counts as failed."""


def publishing_client(url: str, *, timeout: float = PUBLISH_TIMEOUT) -> redis.Redis:
    """A client for :class:`RedisSink`: short timeouts and no retries of its own.

    The sink already drops and backs off with jitter; redis-py's retries (and
    its health checks, which retry too) would nest inside that and block the
    loop for minutes on a Redis that accepts connections but never answers.
    """
    return make_redis(url, socket_timeout=timeout, connect_timeout=timeout, retries=0)


class Sink(Protocol):
    def send(self, batch: Sequence[Encoded]) -> None: ...

    def close(self) -> None: ...


class RedisSink:
    """Publishes batches to the raw streams and Pub/Sub; survives Redis outages by dropping and
    backing off. ``maxlen`` bounds each stream (``RAW_STREAM_MAXLEN``)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        maxlen: int = DEFAULT_RAW_STREAM_MAXLEN,
        chunk: int = 2000,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.maxlen = maxlen
        self.chunk = chunk
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.clock = clock
        self.published = 0
        self.dropped = 0
        self.receivers = 0
        """Sum of subscriber counts Redis reported (one per delivery)."""
        self.failures = 0
        self._retry_at = 0.0

    def send(self, batch: Sequence[Encoded]) -> None:
        if not batch:
            return
        if self.failures and self.clock() < self._retry_at:
            self.dropped += len(batch)
            return
        try:
            for start in range(0, len(batch), self.chunk):
                self._publish(batch[start : start + self.chunk])
        except redis.RedisError as exc:
            self._failed(len(batch), exc)
            return
        if self.failures:
            logger.info("redis publishing resumed", extra={"after_failures": self.failures})
            self.failures = 0

    def _publish(self, batch: Sequence[Encoded]) -> None:
        # The client's own retry policy applies (none for publishing_client).
        messages = [(channel, data.encode()) for _, channel, data in batch]
        receivers = publish_raw(self.client, messages, maxlen=self.maxlen)
        self.published += len(batch)
        self.receivers += receivers

    def _failed(self, size: int, exc: Exception) -> None:
        # A chunk may have gone out before the failure; count the batch as dropped anyway.
        self.dropped += size
        self.failures += 1
        delay = min(self.backoff_cap, self.backoff_base * 2 ** min(self.failures - 1, 10))
        delay *= random.uniform(0.5, 1.0)  # jitter: restarts of many publishers spread out
        self._retry_at = self.clock() + delay
        logger.warning(
            "redis publish failed; dropping batch",
            extra={"error": str(exc), "dropped": size, "retry_in_s": round(delay, 3)},
        )

    def close(self) -> None:
        self.client.close()


class CaptureSink:
    """Records every batch to a capture file."""

    def __init__(self, writer: CaptureWriter) -> None:
        self.writer = writer

    def send(self, batch: Sequence[Encoded]) -> None:
        for offset, channel, data in batch:
            self.writer.write(offset, channel, data)

    def close(self) -> None:
        self.writer.close()
