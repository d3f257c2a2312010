"""Where encoded messages go: Redis Pub/Sub through pipelines, and capture files.

A batch is a list of :data:`Encoded` triples ``(offset, channel, json)``; every
sink receives each batch once. :class:`RedisSink` sends a batch as one write of
``PUBLISH`` commands (chunked) and reads their replies, as a non-transactional
pipeline does but packed in one join (a tenth of redis-py's cost per command),
so a loop iteration costs one round trip.
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
from redis.connection import Connection

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
    """Publishes batches with pipelines; survives Redis outages by dropping and backing off."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        chunk: int = 2000,
        backoff_base: float = 0.2,
        backoff_cap: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
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
        packed = b"".join([
            _PUBLISH % (len(c := channel.encode()), c, len(d := data.encode()), d)
            for _, channel, data in batch
        ])  # fmt: skip
        pool = self.client.connection_pool
        conn = pool.get_connection()
        try:
            # The client's own retry policy applies, as it does to a pipeline (none for
            # publishing_client): a failed attempt disconnects, so no reply is left unread.
            receivers = conn.retry.call_with_retry(
                lambda: _round_trip(conn, packed, len(batch)),
                lambda _: conn.disconnect(),  # type: ignore[no-untyped-call]
            )
        finally:
            pool.release(conn)
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


_PUBLISH = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
"""One ``PUBLISH channel message`` in RESP: lengths in bytes, then the bytes."""


def _round_trip(conn: Connection, packed: bytes, count: int) -> int:
    """Send ``count`` packed ``PUBLISH`` commands, read every reply; the sum of subscribers.

    An error reply (``OOM``, ``NOAUTH``, ...) is raised once all replies are read, so the
    connection stays in step with the server.
    """
    conn.send_packed_command([packed])  # type: ignore[no-untyped-call]
    read = conn.read_response
    receivers = 0
    error: redis.ResponseError | None = None
    for _ in range(count):
        try:
            receivers += int(read())
        except redis.ResponseError as exc:
            error = error or exc
    if error is not None:
        raise error
    return receivers


class CaptureSink:
    """Records every batch to a capture file."""

    def __init__(self, writer: CaptureWriter) -> None:
        self.writer = writer

    def send(self, batch: Sequence[Encoded]) -> None:
        for offset, channel, data in batch:
            self.writer.write(offset, channel, data)

    def close(self) -> None:
        self.writer.close()
