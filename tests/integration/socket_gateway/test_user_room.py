"""Each connection's own user room (``user:{sub}``), where the workers emit ``alert`` events
through the Redis message queue: two real socket_gateway processes (eventlet) on one
Redis, with the real auth_service behind the real api_gateway."""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import socketio

from common.embedded_redis import EmbeddedRedis
from common.names import SOCKETIO_CHANNEL, user_room
from common.redis_client import make_redis
from common.timestamps import now_ts
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.latest import put_underlying
from tests.support.processes import free_port, wait_until
from tests.support.sioclient import Client, recording_client

TRIGGER = {
    "trigger_id": "0f" * 16,
    "alert_id": "al_AAAAAAAAAAAAAAAAAAAAAA",
    "product": "NIFTY",
    "expiry": "2099-12-31",
    "metric": "iv",
    "op": "crosses_above",
    "strike": 24_000.0,
    "option_type": "CE",
    "value": 0.2531,
    "threshold": 0.25,
    "timestamp": "2026-12-06T09:41:00.123Z",
    "triggered_at": "2026-12-06T09:41:00.140Z",
    "note": None,
}


@dataclass
class Sockets:
    stack: Stack
    urls: list[str]


@pytest.fixture(scope="module")
def sockets(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Sockets]:
    tmp: Path = tmp_path_factory.mktemp("user-room")
    stack = start_stack(tmp, redis_server.url, services=("auth_service",))
    try:
        # One subscription per connection: the user room must not take it.
        env = {"SOCKET_MAX_SUBSCRIPTIONS": "1"}
        urls = [
            stack.procs.socket_gateway(free_port(), name=f"user-room{i}", env=env) for i in range(2)
        ]
        yield Sockets(stack, urls)
    finally:
        stack.procs.close()


def _sub(token: str) -> str:
    """The token's subject (the user id), read from its payload."""
    payload = token.split(".")[1]
    return str(orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])


def _connect(url: str, token: str) -> Client:
    client, error = recording_client(url, token)
    assert error is None
    return client


def _rooms(url: str) -> float:
    """``optionsflow_socket_rooms`` from the gateway's /metrics."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    prefix = "optionsflow_socket_rooms "
    (line,) = [ln for ln in text.splitlines() if ln.startswith(prefix)]
    return float(line.removeprefix(prefix))


def test_an_alert_reaches_every_connection_of_its_user_only(sockets: Sockets) -> None:
    alice = sockets.stack.login("alice")["access_token"]
    bob = sockets.stack.login("bob")["access_token"]
    assert _sub(alice) != _sub(bob)
    alice_clients = [_connect(url, alice) for url in sockets.urls]  # one on each instance
    bob_clients = [_connect(url, bob) for url in sockets.urls]
    queue = socketio.RedisManager(
        sockets.stack.redis_url, channel=SOCKETIO_CHANNEL, write_only=True
    )
    queue.emit("alert", TRIGGER, room=user_room(_sub(alice)), namespace="/")
    # After the alert on the queue, to everyone: its arrival shows the alert came first.
    queue.emit("marker", {}, namespace="/")
    everyone = [*alice_clients, *bob_clients]
    for client in everyone:
        assert wait_until(lambda c=client: c.of("marker"), 5)
    assert [c.of("alert") for c in alice_clients] == [[TRIGGER], [TRIGGER]]  # once each
    assert [c.of("alert") for c in bob_clients] == [[], []]
    bob_trigger = {**TRIGGER, "trigger_id": "1e" * 16, "value": 0.24}
    queue.emit("alert", bob_trigger, room=user_room(_sub(bob)), namespace="/")
    for client in bob_clients:
        assert wait_until(lambda c=client: c.of("alert"), 5)
        assert client.of("alert") == [bob_trigger]
    queue.emit("marker", {}, namespace="/")
    for client in alice_clients:
        assert wait_until(lambda c=client: len(c.of("marker")) == 2, 5)
        assert client.of("alert") == [TRIGGER]
    for client in everyone:
        client.sio.disconnect()


def test_the_user_room_is_no_subscription(sockets: Sockets) -> None:
    """It takes none of the connection's subscription slots (one here) and is not counted
    among the rooms with clients."""
    redis = make_redis(sockets.stack.redis_url)
    put_underlying(
        redis, "NIFTY", orjson.dumps({"product": "NIFTY", "price": 24_000.0, "seq": 1,
                                      "timestamp": now_ts()})
    )  # fmt: skip
    url = sockets.urls[0]
    client = _connect(url, sockets.stack.login("carol")["access_token"])
    assert _rooms(url) == 0.0  # connected, in its user room: no subscription room
    ack = client.sio.call("subscribe", {"product": "NIFTY"}, timeout=5)
    assert ack == {"ok": True, "rooms": ["underlying:NIFTY"]}
    assert _rooms(url) == 1.0
    ack = client.sio.call("subscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, timeout=5)
    assert ack["ok"] is False
    assert ack["error"]["code"] == "too_many_subscriptions"
    ack = client.sio.call("unsubscribe", {"product": "NIFTY"}, timeout=5)
    assert ack["ok"] is True
    assert _rooms(url) == 0.0
    client.sio.disconnect()
    redis.close()
