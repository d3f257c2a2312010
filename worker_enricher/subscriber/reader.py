"""A Pub/Sub reader thread that blocks on the socket, so every message is read whole.

redis-py's non-blocking ``get_message(timeout=t)`` reads the rest of a message
that has only partly arrived with the same timeout; when that expires it
reconnects and resubscribes on its own, and the messages already buffered are
lost without a word. A large chain split across TCP reads on a busy machine is
enough. Here one thread reads with blocking calls (no timeout on a message in
flight) and hands messages over through a queue; the batching thread waits on
the queue with its deadlines instead.
"""

from __future__ import annotations

import logging
import threading
import uuid
from queue import Empty, Queue
from typing import Any

import redis

log = logging.getLogger(__name__)

Message = tuple[bytes, bytes]
"""``(channel, data)``."""


class PubSubReader:
    """Subscribes ``channels`` on its own connection; :meth:`get` returns what arrived."""

    def __init__(self, client: redis.Redis, channels: list[str]) -> None:
        self.client = client
        self.control = f"optionsflow:reader-stop:{uuid.uuid4().hex}".encode()
        self.pubsub: Any = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.pubsub.subscribe(*channels, self.control)
        # queue.Queue, not SimpleQueue: SimpleQueue.get(timeout=…) in the main thread
        # was seen blocking for good after SIGTERM arrived during the wait (CPython
        # 3.11), so the subscriber never stopped; Queue waits on a Condition.
        self.inbox: Queue[Message | BaseException] = Queue()
        self.thread = threading.Thread(target=self._read, name="pubsub-reader", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while True:
                message = self.pubsub.get_message(timeout=None)  # blocks; never times out
                if message is None:
                    continue
                if message["channel"] == self.control:
                    return
                self.inbox.put((message["channel"], message["data"]))
        except BaseException as exc:  # handed to the consumer, which reconnects
            self.inbox.put(exc)

    def get(self, timeout: float) -> Message | None:
        """The next message, waiting up to ``timeout`` s (0: only what is queued); None if none.

        Raises the reader's error (a lost connection) once the messages before it are taken.
        """
        try:
            item = self.inbox.get(timeout=timeout) if timeout > 0 else self.inbox.get_nowait()
        except Empty:
            return None
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop the thread (through its control channel) and close the connection."""
        if self.thread.is_alive():
            try:
                self.client.publish(self.control.decode(), b"stop")
            except redis.RedisError as exc:
                log.warning("reader stop not delivered", extra={"error": str(exc)})
            self.thread.join(timeout=2.0)
        self.pubsub.close()
