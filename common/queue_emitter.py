"""Emits to the Socket.IO message queue that fail loudly (the workers and paper_service).

``socketio.RedisManager`` (write-only) publishes an emit to the channel the socket gateways
listen on, but when Redis cannot be reached it logs and drops the message. A caller that
must know (the alert outbox leaves its trigger for the sweep; paper_service logs the lost
event) gets the Redis error instead: this manager publishes the same message, once, and
raises ``redis.RedisError`` on failure. :meth:`QueueEmitter.emit_many` publishes several
emits to one room in one round trip (a paper fill's order, position and account updates),
each message exactly as ``emit`` builds it; the messages are encoded with orjson.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import orjson
import socketio

from common.names import SOCKETIO_CHANNEL

__all__ = ["QueueEmitter"]


class _Orjson:
    """The ``json`` module python-socketio's managers call, as orjson (bytes out)."""

    @staticmethod
    def dumps(data: Any) -> bytes:
        return orjson.dumps(data)

    @staticmethod
    def loads(data: bytes | str) -> Any:
        return orjson.loads(data)


class QueueEmitter(socketio.RedisManager):  # type: ignore[misc]
    """A write-only Redis manager whose publish raises ``redis.RedisError`` on failure."""

    def __init__(self, redis_url: str) -> None:
        super().__init__(redis_url, channel=SOCKETIO_CHANNEL, write_only=True, json=_Orjson)
        self._batch = threading.local()

    def _publish(self, data: Any) -> Any:  # python-socketio 5.18's hook for one publish
        held: list[Any] | None = getattr(self._batch, "held", None)
        if held is not None:  # inside emit_many: published together at its end
            held.append(data)
            return None
        if not self.connected:
            self._redis_connect()
        return self.redis.publish(self.channel, self.json.dumps(data))

    def emit_many(self, events: Sequence[tuple[str, Any]], *, namespace: str, room: str) -> None:
        """Emit each (event, data) to ``room``, in order, in one pipeline (one round trip)."""
        held: list[Any] = []
        self._batch.held = held
        try:
            for event, data in events:
                self.emit(event, data, namespace=namespace, room=room)
        finally:
            self._batch.held = None
        if not held:
            return
        if not self.connected:
            self._redis_connect()
        pipe = self.redis.pipeline(transaction=False)
        for data in held:
            pipe.publish(self.channel, self.json.dumps(data))
        pipe.execute()
