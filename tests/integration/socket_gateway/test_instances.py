"""Two real socket_gateway processes (eventlet) on one Redis, with the real auth_service
behind the real api_gateway: tokens, limits, snapshots and updates as a browser sees them."""

from __future__ import annotations

import datetime as dt
import signal
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import socketio

from common.embedded_redis import EmbeddedRedis
from common.names import SOCKETIO_CHANNEL, Channel
from common.redis_client import make_redis
from common.timestamps import format_ts, now_ts
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.latest import put_chain, put_underlying
from tests.support.processes import free_port, wait_until
from tests.support.sioclient import recording_client

CHAIN = {
    "product": "NIFTY",
    "expiry": "2099-12-31",
    "seq": 1,
    "timestamp": "2026-12-02T10:00:00.000Z",
}
TICK = {"product": "NIFTY", "price": 24_000.0, "seq": 1, "timestamp": "2026-12-02T10:00:00.000Z"}


@dataclass
class Sockets:
    stack: Stack
    urls: list[str]


@pytest.fixture(scope="module")
def sockets(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Sockets]:
    tmp: Path = tmp_path_factory.mktemp("sockets")
    stack = start_stack(tmp, redis_server.url)
    try:
        env = {"SOCKET_MAX_CONN_PER_IP": "3", "SOCKET_MAX_SUBSCRIPTIONS": "4", "LOG_LEVEL": "INFO"}
        urls = [
            stack.procs.socket_gateway(free_port(), name=f"socket{i}", env=env) for i in range(2)
        ]
        yield Sockets(stack, urls)
    finally:
        stack.procs.close()


def test_a_client_on_each_instance_gets_the_same_update(sockets: Sockets) -> None:
    redis = make_redis(sockets.stack.redis_url)
    fresh = {"timestamp": now_ts()}  # (older than NIFTY's 5 s, it would come marked stale)
    chain = {**CHAIN, **fresh}
    put_chain(redis, "NIFTY", "2099-12-31", orjson.dumps(chain))
    put_underlying(redis, "NIFTY", orjson.dumps({**TICK, **fresh}))
    clients = []
    for i, url in enumerate(sockets.urls):
        token = sockets.stack.login(f"viewer{i}")["access_token"]
        client, error = recording_client(url, token)
        assert error is None
        clients.append(client)
        ack = client.sio.call("subscribe", {"product": "NIFTY", "expiry": "2099-12-31"}, timeout=5)
        assert ack["ok"] is True
    for client in clients:  # the cached snapshot first
        assert wait_until(lambda c=client: c.of("chain_update") and c.of("underlying_update"), 5)
        assert client.of("chain_update") == [chain]
    newer = {**chain, "seq": 2, "spot_price": 24_010.0, "timestamp": now_ts()}
    redis.publish(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps(newer))
    for client in clients:
        assert wait_until(lambda c=client: len(c.of("chain_update")) == 2, 5)
        assert client.of("chain_update")[-1] == newer
    # anything emitted through the message queue reaches the clients of both instances
    queue = socketio.RedisManager(
        sockets.stack.redis_url, channel=SOCKETIO_CHANNEL, write_only=True
    )
    queue.emit("notice", {"text": "market closes early"}, namespace="/")
    # After the notice on the queue, so its arrival shows the notice and any copy came first.
    queue.emit("marker", {}, namespace="/")
    for client in clients:
        assert wait_until(lambda c=client: c.of("marker"), 5)
        # once each, not once per instance
        assert client.of("notice") == [{"text": "market closes early"}]
    for client in clients:
        client.sio.disconnect()
    redis.close()


def test_old_data_comes_marked_stale(sockets: Sockets) -> None:
    """A snapshot and an update whose origin is two minutes old (a pipeline that stalled
    and caught up, a Redis restart) carry ``data_age_stale`` and their age."""
    redis = make_redis(sockets.stack.redis_url)
    old = format_ts(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))
    chain = {**CHAIN, "expiry": "2099-12-24", "timestamp": old}
    put_chain(redis, "NIFTY", "2099-12-24", orjson.dumps(chain))
    put_underlying(redis, "NIFTY", orjson.dumps({**TICK, "timestamp": now_ts()}))
    client, error = recording_client(
        sockets.urls[1], sockets.stack.login("viewer-old")["access_token"]
    )
    assert error is None
    ack = client.sio.call("subscribe", {"product": "NIFTY", "expiry": "2099-12-24"}, timeout=5)
    assert ack["ok"] is True
    assert wait_until(lambda: client.of("chain_update") and client.of("underlying_update"), 5)
    (snapshot,) = client.of("chain_update")
    assert snapshot["data_age_stale"] is True
    assert 120.0 <= snapshot["data_age_s"] < 180.0
    assert {k: v for k, v in snapshot.items() if not k.startswith("data_age")} == chain
    assert "data_age_stale" not in client.of("underlying_update")[0]  # its tick is fresh
    redis.publish(
        Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps({**chain, "seq": 2, "timestamp": old})
    )
    assert wait_until(lambda: len(client.of("chain_update")) == 2, 5)
    update = client.of("chain_update")[-1]
    assert (update["seq"], update["data_age_stale"]) == (2, True)
    assert update["data_age_s"] >= snapshot["data_age_s"]
    client.sio.disconnect()
    redis.close()


def test_bad_tokens_and_over_limit_connections_are_refused(sockets: Sockets) -> None:
    url = sockets.urls[0]
    for token in (None, "not-a-token", sockets.stack.login("viewer9")["access_token"][:-3] + "abc"):
        client, error = recording_client(url, token)
        assert error is not None
        refusal = client.of("connect_error")[0]
        assert refusal["data"]["code"] in {"unauthorized", "invalid_token"}, refusal
        assert refusal["message"] == refusal["data"]["message"]
    token = sockets.stack.login("viewer10")["access_token"]
    # Sessions count from their handshake: the refused clients' must have ended first.
    assert wait_until(lambda: _sessions(url) == 0, 10)
    held = [recording_client(url, token) for _ in range(3)]
    assert [e for _, e in held] == [None, None, None]
    # The fourth is refused at its handshake (401); over long-polling the client reads why.
    client, error = recording_client(url, token, transports=("polling",))
    assert error is not None
    assert client.of("connect_error")[0] == {
        "code": "too_many_connections",
        "message": "at most 3 connections per client address",
    }
    other, error = recording_client(sockets.urls[1], token)  # the limit is per instance
    assert error is None
    for c, _ in [*held, (other, None)]:
        c.sio.disconnect()


def _sessions(url: str) -> float:
    """The Engine.IO sessions ``url``'s gateway holds (its /metrics)."""
    with urllib.request.urlopen(url + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    prefix = 'optionsflow_socket_sessions{state="total"} '
    (line,) = [ln for ln in text.splitlines() if ln.startswith(prefix)]
    return float(line.removeprefix(prefix))


def test_sigterm_closes_the_clients_and_stops(sockets: Sockets) -> None:
    port = free_port()
    url = sockets.stack.procs.socket_gateway(port, name="socket-stopping")
    token = sockets.stack.login("viewer20")["access_token"]
    client, error = recording_client(url, token)
    assert error is None
    sockets.stack.procs.kill("socket-stopping", signal.SIGTERM)
    assert sockets.stack.procs.wait("socket-stopping", 15) == 0  # not held by the websocket
    assert wait_until(lambda: not client.sio.connected, 5)
