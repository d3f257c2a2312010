"""``QueueEmitter`` against a real redis-server: ``emit_many`` publishes, in one round trip,
exactly the messages ``emit`` publishes one by one, and a Redis that cannot be reached is
an error the caller sees (never a dropped message)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis

from common.embedded_redis import free_port
from common.names import SOCKETIO_CHANNEL
from common.queue_emitter import QueueEmitter

pytestmark = pytest.mark.redis

EVENTS = [
    ("order_update", {"id": "po_1", "state": "FILLED", "price": "120.50000000"}),
    ("position_update", {"key": "NIFTY|2026-12-31|24000|CALL", "quantity": "75"}),
    ("account_update", {"currency": "INR", "cash": "9990962.50000000"}),
]


@pytest.fixture
def heard(redis_client: redis.Redis) -> Iterator[redis.client.PubSub]:
    pubsub = redis_client.pubsub()
    pubsub.subscribe(SOCKETIO_CHANNEL)
    assert pubsub.get_message(timeout=5.0)["type"] == "subscribe"  # type: ignore[index]
    yield pubsub
    pubsub.close()


def _published(pubsub: redis.client.PubSub) -> list[dict[str, Any]]:
    """Every message on the queue so far (a PING round trip proves there is no other)."""
    pubsub.ping()
    out: list[dict[str, Any]] = []
    while (reply := pubsub.get_message(timeout=5.0)) is not None:
        if reply["type"] == "pong":
            return out
        out.append(orjson.loads(reply["data"]))
    raise AssertionError("no pong")


def test_emit_many_publishes_what_emit_publishes_in_order(
    redis_url: str, heard: redis.client.PubSub
) -> None:
    emitter = QueueEmitter(redis_url)
    for event, data in EVENTS:
        emitter.emit(event, data, namespace="/", room="user:u1")
    one_by_one = _published(heard)
    emitter.emit_many(EVENTS, namespace="/", room="user:u1")
    together = _published(heard)
    assert together == one_by_one
    assert [(m["event"], m["data"], m["room"], m["method"]) for m in together] == [
        (event, [data], "user:u1", "emit") for event, data in EVENTS
    ]
    emitter.emit_many([], namespace="/", room="user:u1")
    assert _published(heard) == []
    emitter.emit("order_update", EVENTS[0][1], namespace="/", room="user:u2")
    [alone] = _published(heard)  # emit after emit_many publishes at once again
    assert alone["room"] == "user:u2"


def test_an_unreachable_redis_is_an_error_not_a_dropped_message() -> None:
    emitter = QueueEmitter(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(redis.ConnectionError):
        emitter.emit_many(EVENTS, namespace="/", room="user:u1")
    with pytest.raises(redis.ConnectionError):
        emitter.emit("order_update", EVENTS[0][1], namespace="/", room="user:u1")
