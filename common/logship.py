"""A logging handler that ships each JSON log line to the Redis Stream ``logs``.

The caller never waits on Redis: :meth:`RedisStreamHandler.ship` puts a line
(the console handler's, formatted once; ``configure_logging(shipper=…)``) on a
bounded in-memory queue (:meth:`~RedisStreamHandler.emit` formats a record
first, for the handler used on its own). One sender thread takes up to
``batch`` lines at a time and appends them with one pipelined
``XADD … MAXLEN ~ maxlen`` each, so the stream stays bounded. A full queue
drops the line; an unreachable Redis drops what was taken and pauses the
sender (capped, jittered backoff) while new lines go on queueing and, once the
queue is full, are dropped. Every drop
is counted in ``optionsflow_log_records_dropped_total{reason}``. The console
line is written first, so the service keeps logging to stdout whatever happens
here.

A forked child (a Celery pool process, a gunicorn worker of a preloaded app)
gets a fresh queue and its own sender thread: the parent's thread does not
survive the fork, and the parent ships what it had queued.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import random
import threading
import weakref
from collections.abc import Callable

import redis
from prometheus_client import Counter

from common.names import LOG_STREAM

DROPPED = Counter(
    "optionsflow_log_records_dropped_total",
    "Log records not shipped to the Redis Stream, by reason.",
    ["reason"],
)
SHIPPED = Counter("optionsflow_log_records_shipped_total", "Log records appended to the stream.")

FIELD = "line"
"""The stream entry's one field: the JSON log line."""
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 0.5, 30.0
_LIVE: weakref.WeakSet[RedisStreamHandler] = weakref.WeakSet()


class RedisStreamHandler(logging.Handler):
    """Ship formatted records to ``stream`` through ``connect()``'s client, never blocking."""

    def __init__(
        self,
        connect: Callable[[], redis.Redis],
        *,
        stream: str = LOG_STREAM,
        maxlen: int = 100_000,
        queue_size: int = 10_000,
        batch: int = 200,
    ) -> None:
        super().__init__()
        self._connect = connect
        self._stream = stream
        self._maxlen = maxlen
        self._batch = batch
        self._queue_size = queue_size
        self._start()
        _LIVE.add(self)

    def _start(self) -> None:
        self._queue: queue.Queue[str] = queue.Queue(maxsize=self._queue_size)
        self._stopped = threading.Event()
        self._client: redis.Redis | None = None  # redis-py never shuts a parent's socket
        self._sender = threading.Thread(target=self._run, name="log-shipper", daemon=True)
        self._sender.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is logging's own error path
            self.handleError(record)
            return
        self.ship(line)

    def ship(self, line: str) -> None:
        """Queue an already formatted line (the console handler's, formatted once)."""
        try:
            self._queue.put_nowait(line)
        except queue.Full:
            DROPPED.labels("queue_full").inc()

    def _take(self) -> list[str]:
        try:
            lines = [self._queue.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(lines) < self._batch:
            try:
                lines.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return lines

    def _send(self, lines: list[str]) -> None:
        if self._client is None:
            self._client = self._connect()
        pipe = self._client.pipeline(transaction=False)
        for line in lines:
            pipe.xadd(self._stream, {FIELD: line}, maxlen=self._maxlen, approximate=True)
        pipe.execute()
        SHIPPED.inc(len(lines))

    def _run(self) -> None:
        backoff = _BACKOFF_FIRST_S
        while not (self._stopped.is_set() and self._queue.empty()):
            lines = self._take()
            if not lines:
                continue
            try:
                self._send(lines)
                backoff = _BACKOFF_FIRST_S
            except (redis.RedisError, OSError):
                DROPPED.labels("redis_unavailable").inc(len(lines))
                self._reset_client()
                if self._stopped.wait(random.uniform(0, backoff)):  # full jitter
                    break
                backoff = min(backoff * 2, _BACKOFF_MAX_S)

    def _reset_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                client.close()

    def _after_fork_in_child(self) -> None:
        if not self._stopped.is_set():
            self._start()

    def pending(self) -> int:
        return self._queue.qsize()

    def close(self, timeout: float = 2.0) -> None:
        """Ship what is queued (for up to ``timeout`` seconds), then stop."""
        self._stopped.set()
        self._sender.join(timeout)
        self._reset_client()
        super().close()


def _restart_in_child() -> None:
    for handler in list(_LIVE):
        handler._after_fork_in_child()


os.register_at_fork(after_in_child=_restart_in_child)
