"""Consumers of the Redis Stream ``logs``: one consumer group per sink (the archive and
index; Elasticsearch when configured), so each sink acknowledges at its own pace
and a sink that is down loses nothing but what the stream's bound trims.

A consumer acknowledges entries only once its sink has filed them. After a
restart it first re-reads what it had been given and not acknowledged (its
pending entries), then new ones; entries left pending by a consumer that is gone
are claimed after ``claim_idle_ms``. Filing is idempotent (entries are keyed by
their stream id), so a line redelivered after a crash is not indexed twice.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import redis

from common.logship import FIELD
from common.names import LOG_STREAM
from logging_service.metrics import FAILURES, FILED, LAG, PENDING, TRIMMED
from logging_service.records import Record, parse

log = logging.getLogger(__name__)

_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.2, 10.0
_FIELD = FIELD.encode()


class SinkError(Exception):
    """A sink could not file a batch, or some of it; what it did not file stays pending
    and is retried after a back-off."""


class Sink(Protocol):
    name: str
    """Also the consumer group's name."""

    def file(self, records: Sequence[Record]) -> Sequence[str]:
        """Store ``records``; the ids that may be acknowledged (raise to retry them all)."""
        ...


class StreamConsumer:
    """Feed ``sink`` from ``stream`` through the consumer group named after it."""

    def __init__(
        self,
        connect: Callable[[], redis.Redis],
        sink: Sink,
        consumer: str,
        *,
        stream: str = LOG_STREAM,
        batch: int = 500,
        block_ms: int = 1000,
        claim_idle_ms: int = 60_000,
        stats_every_s: float = 5.0,
    ) -> None:
        self._connect = connect
        self._client: redis.Redis | None = None
        self.sink = sink
        self.consumer = consumer
        self.stream = stream
        self._batch = batch
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._stats_every_s = stats_every_s
        self._own_pending = True  # re-read what this consumer was given before a restart
        self._next_claim = 0.0
        self._next_stats = 0.0

    @property
    def group(self) -> str:
        return self.sink.name

    def _redis(self) -> redis.Redis:
        if self._client is None:
            client = self._connect()
            try:  # from the stream's start: lines written before the group existed count
                client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._client = client
        return self._client

    def step(self) -> int:
        """Read one batch, file it, acknowledge it; the number of entries handled."""
        client = self._redis()
        now = time.monotonic()
        if now >= self._next_stats:
            self._next_stats = now + self._stats_every_s
            self._update_stats(client)
        if now >= self._next_claim:
            self._next_claim = now + self._claim_idle_ms / 2000
            claimed = self._claim(client)
            if claimed:
                return claimed
        if self._own_pending:
            entries = self._read(client, "0", block=None)
            if entries:
                return self._file(client, entries)
            self._own_pending = False
        return self._file(client, self._read(client, ">", block=self._block_ms))

    def _read(self, client: redis.Redis, start: str, block: int | None) -> list[Any]:
        reply: Any = client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self._batch, block=block
        )
        return list(reply[0][1]) if reply else []  # [[stream, [(id, fields), …]]]

    def _claim(self, client: redis.Redis) -> int:
        """Take over entries another consumer of the group left pending too long."""
        reply = client.xautoclaim(
            self.stream, self.group, self.consumer, self._claim_idle_ms, "0-0", count=self._batch
        )
        entries, deleted = list(reply[1]), list(reply[2]) if len(reply) > 2 else []
        handled = self._file(client, entries) if entries else 0
        if deleted:  # claimed ids whose entries the stream had trimmed: nothing left to file
            client.xack(self.stream, self.group, *deleted)
            TRIMMED.labels(self.group).inc(len(deleted))
        return handled + len(deleted)

    def _file(self, client: redis.Redis, entries: Sequence[Any]) -> int:
        if not entries:
            return 0
        records, gone = [], []
        for raw_id, fields in entries:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            line = (fields or {}).get(_FIELD)
            if line is None:  # pending, but trimmed from the stream since (MAXLEN)
                gone.append(entry_id)
            else:
                records.append(parse(entry_id, line.decode("utf-8", "replace")))
        try:
            done = list(self.sink.file(records)) if records else []
        except Exception as exc:
            FAILURES.labels(self.group).inc()
            self._own_pending = True  # they stay pending: read them again after the back-off
            raise SinkError(f"{self.group}: {type(exc).__name__}: {exc}") from exc
        if done or gone:
            client.xack(self.stream, self.group, *done, *gone)
        FILED.labels(self.group).inc(len(done))
        TRIMMED.labels(self.group).inc(len(gone))
        if len(done) < len(records):  # refused for now (a throttled Elasticsearch): back off
            FAILURES.labels(self.group).inc()
            self._own_pending = True
            raise SinkError(f"{self.group}: {len(records) - len(done)} lines refused for now")
        return len(entries)

    def _update_stats(self, client: redis.Redis) -> None:
        for group in client.xinfo_groups(self.stream):
            name = group["name"]
            if (name.decode() if isinstance(name, bytes) else name) == self.group:
                LAG.labels(self.group).set(group.get("lag") or 0)
                PENDING.labels(self.group).set(group.get("pending") or 0)

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop`` is set, backing off (capped, jittered) on failures."""
        backoff = _BACKOFF_FIRST_S
        while not stop.is_set():
            try:
                self.step()
            except SinkError as exc:
                log.warning("sink failed; retrying", extra={"sink": self.group, "error": str(exc)})
            except (redis.RedisError, OSError) as exc:
                self._reset(exc)
            else:
                backoff = _BACKOFF_FIRST_S
                continue
            stop.wait(random.uniform(backoff / 2, backoff))
            backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _reset(self, exc: BaseException) -> None:
        log.warning("redis unavailable", extra={"sink": self.group, "error": str(exc)})
        client, self._client = self._client, None
        self._own_pending = True
        if client is not None:
            client.close()
