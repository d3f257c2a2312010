"""Runs the stream consumers in one process per log directory.

Several gunicorn workers may serve ``/logs``; only the one holding the log
directory's lock (``collector.lock``, an ``flock``) collects, so one process
appends to the files. When it exits the lock is released and another worker
takes over within ``retry_s``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import redis

from logging_service.collector import Sink, StreamConsumer

log = logging.getLogger(__name__)


class Collector:
    def __init__(
        self,
        connect: Callable[[], redis.Redis],
        sinks: Sequence[Sink],
        lock_path: Path,
        *,
        retry_s: float = 5.0,
        claim_idle_ms: int = 60_000,
    ) -> None:
        self._connect = connect
        self._sinks = sinks
        self._lock_path = lock_path
        self._retry_s = retry_s
        self._claim_idle_ms = claim_idle_ms
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock_file: IO[bytes] | None = None
        self.consumer = f"{socket.gethostname()}:{lock_path.parent.resolve()}"
        """Stable across restarts on this host and directory: a restarted collector
        re-reads its own pending entries first."""

    @property
    def leading(self) -> bool:
        return self._lock_file is not None

    def start(self) -> None:
        thread = threading.Thread(target=self._lead, name="log-collector", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _try_lock(self) -> bool:
        handle = self._lock_path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def _lead(self) -> None:
        while not self._try_lock():
            if self._stop.wait(self._retry_s):
                return
        log.info("collecting", extra={"consumer": self.consumer, "pid": os.getpid()})
        for sink in self._sinks:
            consumer = StreamConsumer(
                self._connect, sink, self.consumer, claim_idle_ms=self._claim_idle_ms
            )
            thread = threading.Thread(
                target=consumer.run, args=(self._stop,), name=f"log-{sink.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None
