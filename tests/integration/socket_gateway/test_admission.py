"""What a session costs before and after it authenticates, against a real socket_gateway
process (eventlet) with the real auth_service behind the real api_gateway: Engine.IO
sessions counted and limited from the handshake and closed when they miss the
deadline to authenticate, browser origins from the allow-list, and subscribe /
unsubscribe rate limited with a snapshot only for a new subscription (issue 16)."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
import socketio
import websocket

from common.embedded_redis import EmbeddedRedis
from common.redis_client import make_redis
from common.timestamps import now_ts
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.latest import put_chain, put_underlying
from tests.support.processes import free_port, wait_until
from tests.support.sioclient import Client, recording_client

PER_IP, MAX_PENDING, AUTH_TIMEOUT_S = 4, 6, 6
RATE_HZ, BURST = 0.2, 5
"""Low limits, so that a few dozen handshakes or events cross them."""
HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


@dataclass
class Gateway:
    stack: Stack
    url: str
    port: int
    dashboard_port: int
    """The API gateway's port: the dashboard's origin is on it."""

    def open_fds(self) -> int:
        """File descriptors the gateway process holds (a websocket holds one)."""
        return len(os.listdir(f"/proc/{self.stack.procs.procs['socket-admission'].pid}/fd"))

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket.io/?EIO=4&transport=websocket"

    def sessions(self, state: str) -> float:
        """``optionsflow_socket_sessions{state=...}`` from the gateway's /metrics."""
        status, _, body = self.get("/metrics")
        assert status == 200
        prefix = f'optionsflow_socket_sessions{{state="{state}"}} '
        found = [ln for ln in body.decode().splitlines() if ln.startswith(prefix)]
        return float(found[0].removeprefix(prefix)) if found else 0.0

    def get(
        self, path: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One GET from the loopback address ``source`` (any 127.x address is ours)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                          source_address=(source, 0))  # fmt: skip
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("admission")
    stack = start_stack(tmp, redis_server.url, services=("auth_service",))
    try:
        dashboard_port = int(stack.url.rsplit(":", 1)[1])
        port = free_port()
        env = {
            "SOCKET_MAX_CONN_PER_IP": str(PER_IP), "SOCKET_MAX_PENDING": str(MAX_PENDING),
            "SOCKET_AUTH_TIMEOUT_S": str(AUTH_TIMEOUT_S), "SOCKET_SUBSCRIBE_RATE_HZ": str(RATE_HZ),
            "SOCKET_SUBSCRIBE_BURST": str(BURST), "API_GATEWAY_PORT": str(dashboard_port),
            "LOG_LEVEL": "INFO",
        }  # fmt: skip
        url = stack.procs.socket_gateway(port, name="socket-admission", env=env)
        yield Gateway(stack, url, port, dashboard_port)
    finally:
        stack.procs.close()


def _connect(url: str, token: str) -> Client:
    client, error = recording_client(url, token)
    if error is not None:
        raise error
    return client


def _no_pending(gw: Gateway) -> None:
    """Start from no pending session (an earlier test's end after its deadline)."""
    assert wait_until(lambda: gw.sessions("pending") == 0, AUTH_TIMEOUT_S + 10)


def _idle_fds(gw: Gateway) -> int:
    """The gateway's open fds with no session left (an earlier test's connections, closing
    asynchronously, gone): the same count three reads in a row."""
    assert wait_until(lambda: gw.sessions("total") == 0, AUTH_TIMEOUT_S + 10)
    reads: list[int] = []

    def steady() -> bool:
        reads.append(gw.open_fds())
        return len(reads) >= 3 and len(set(reads[-3:])) == 1

    assert wait_until(steady, 10, interval=0.3)
    return reads[-1]


def _closed_by_server(ws: websocket.WebSocket) -> bool:
    """Read until the server ends the session: its CLOSE packet ("1") or the socket's end."""
    try:
        while True:
            frame = ws.recv()
            if frame in ("1", "", b""):
                return True
    except websocket.WebSocketTimeoutException:
        return False
    except (websocket.WebSocketConnectionClosedException, OSError):
        return True


def test_sessions_that_never_authenticate_are_limited_per_address_and_closed(
    gateway: Gateway,
) -> None:
    """60 Engine.IO handshakes held without a Socket.IO connect, from one address: only
    SOCKET_MAX_CONN_PER_IP are accepted (before: every one, as only authenticated
    connections counted), and those are closed once SOCKET_AUTH_TIMEOUT_S has passed."""
    _no_pending(gateway)
    idle_fds = _idle_fds(gateway)
    held: list[websocket.WebSocket] = []
    refused: list[websocket.WebSocketBadStatusException] = []
    try:
        for _ in range(60):
            try:
                ws = websocket.create_connection(gateway.ws_url, timeout=10)
            except websocket.WebSocketBadStatusException as exc:
                refused.append(exc)
                continue
            held.append(ws)
            assert ws.recv().startswith('0{"sid"')  # Engine.IO's OPEN: a session
        assert len(held) == PER_IP
        assert {r.status_code for r in refused} == {401}
        assert {orjson.loads(r.resp_body or b"null")["code"] for r in refused} == {
            "too_many_connections"
        }
        assert gateway.sessions("pending") == PER_IP
        assert gateway.open_fds() >= idle_fds + PER_IP
        # an authenticated client from the same address is refused too while they last
        token = gateway.stack.login("admission-1")["access_token"]
        with pytest.raises(socketio.exceptions.ConnectionError):
            _connect(gateway.url, token)
        # The deadline closes them, and their connections end although these clients read
        # nothing (the server's socket timeout alone would hold them 45 s).
        assert wait_until(lambda: gateway.sessions("pending") == 0, AUTH_TIMEOUT_S + 15)
        assert wait_until(lambda: gateway.open_fds() <= idle_fds + 1, 10)
        for ws in held:  # Engine.IO's CLOSE was sent first
            ws.settimeout(10)
            assert _closed_by_server(ws)
        # An authenticated connection is not held to the deadline.
        client = _connect(gateway.url, token)
        assert gateway.sessions("pending") == 0
        assert gateway.sessions("total") == 1
        ws = websocket.create_connection(gateway.ws_url, timeout=10)  # one pending beside it
        held.append(ws)
        ws.recv()
        ws.settimeout(AUTH_TIMEOUT_S + 15)
        assert _closed_by_server(ws)  # closed on its deadline ...
        assert client.sio.connected  # ... while the authenticated one, older, stays
        client.sio.disconnect()
    finally:
        for ws in held:
            ws.close()


def test_sessions_waiting_to_authenticate_are_limited_in_total(gateway: Gateway) -> None:
    """Handshakes from many addresses, one each: SOCKET_MAX_PENDING sessions at most wait
    to authenticate at once; the per-address limit alone would let every one in."""
    _no_pending(gateway)
    answers = [gateway.get(HANDSHAKE, source=f"127.0.0.{10 + i}") for i in range(MAX_PENDING + 4)]
    assert [status for status, _, _ in answers] == [200] * MAX_PENDING + [401] * 4
    assert {orjson.loads(body)["code"] for status, _, body in answers if status == 401} == {
        "too_many_pending"
    }
    assert gateway.sessions("pending") == MAX_PENDING
    # long-polling sessions that never poll again are closed on their deadline as well
    assert wait_until(lambda: gateway.sessions("pending") == 0, AUTH_TIMEOUT_S + 10)
    assert gateway.sessions("total") == 0
    status, _, _ = gateway.get(HANDSHAKE, source="127.0.0.10")
    assert status == 200  # the places came free


def test_only_the_dashboards_origin_may_connect_from_a_browser(gateway: Gateway) -> None:
    """Unset SOCKET_CORS_ORIGINS allows the dashboard's own origin (the host the browser
    addressed, on the API gateway's port, or this gateway's own origin); before, any origin
    was reflected with credentials allowed."""
    _no_pending(gateway)
    dashboard = f"http://127.0.0.1:{gateway.dashboard_port}"
    same = f"http://127.0.0.1:{gateway.port}"
    for origin in (dashboard, same):
        status, headers, body = gateway.get(HANDSHAKE, source="127.0.0.30",
                                            headers={"Origin": origin})  # fmt: skip
        assert status == 200, body
        assert body.startswith(b'0{"sid"')
        assert headers["access-control-allow-origin"] == origin
        assert "access-control-allow-credentials" not in headers
    foreign = (
        "https://evil.example", f"http://evil.example:{gateway.dashboard_port}",
        f"http://localhost:{gateway.dashboard_port}", "http://127.0.0.1:1", "null",
    )  # fmt: skip
    for origin in foreign:
        status, headers, body = gateway.get(HANDSHAKE, source="127.0.0.31",
                                            headers={"Origin": origin})  # fmt: skip
        assert status == 400, origin
        assert b"Not an accepted origin" in body
        assert "access-control-allow-origin" not in headers
    ws_headers = ["Origin: https://evil.example"]
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(gateway.ws_url, timeout=10, header=ws_headers,
                                    suppress_origin=True)  # fmt: skip
    assert refused.value.status_code == 400
    assert gateway.sessions("pending") == 2  # the two allowed handshakes only


def test_repeated_subscribes_are_rate_limited_and_get_no_second_snapshot(
    gateway: Gateway,
) -> None:
    """30 subscribes of one (product, expiry) as fast as the acks come: one snapshot, and
    past the burst a rate_limited error naming the limit; the connection stays. Before:
    a snapshot for every subscribe and no limit."""
    redis = make_redis(gateway.stack.redis_url)
    fresh = now_ts()
    chain = {"product": "NIFTY", "expiry": "2099-12-31", "seq": 1, "timestamp": fresh}
    put_chain(redis, "NIFTY", "2099-12-31", orjson.dumps(chain))
    put_underlying(redis, "NIFTY", orjson.dumps({"product": "NIFTY", "price": 24_000.0,
                                                 "seq": 1, "timestamp": fresh}))  # fmt: skip
    redis.close()
    client = _connect(gateway.url, gateway.stack.login("admission-2")["access_token"])
    sub = {"product": "NIFTY", "expiry": "2099-12-31"}
    acks = [client.sio.call("subscribe", sub, timeout=10) for _ in range(30)]
    assert acks[0] == {"ok": True, "rooms": ["chain:NIFTY:2099-12-31", "underlying:NIFTY"]}
    # (the client runs each event's handler in a thread of its own: let them land)
    assert wait_until(lambda: client.of("chain_update") and client.of("underlying_update"), 5)
    assert len(client.of("chain_update")) == 1  # the snapshot of the new subscription only
    assert len(client.of("underlying_update")) == 1
    ok = [a for a in acks if a["ok"]]
    limited = [a for a in acks if not a["ok"]]
    assert len(ok) >= BURST  # (a slow machine may refill a token or two meanwhile)
    assert len(limited) >= 20
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert limited[0]["error"]["message"].startswith(
        f"at most {RATE_HZ:g} subscribe/unsubscribe a second per connection (bursts of {BURST})"
    )
    unsubscribe = client.sio.call("unsubscribe", sub, timeout=10)  # shares the bucket
    assert unsubscribe["error"]["code"] == "rate_limited"
    assert wait_until(lambda: len(client.of("error")) == len(limited) + 1, 5)
    assert {e["code"] for e in client.of("error")} == {"rate_limited"}
    assert len(client.of("chain_update")) == 1
    assert client.sio.connected  # limited, not disconnected
    client.sio.disconnect()


def test_a_session_upgraded_to_a_websocket_is_closed_on_its_deadline_too(
    gateway: Gateway,
) -> None:
    """A long-polling handshake upgraded to a websocket (a second request, which the
    handshake's hook does not see) and then left silent: closed at its deadline, and its
    connection ends though the client reads nothing."""
    _no_pending(gateway)
    idle_fds = _idle_fds(gateway)
    status, _, body = gateway.get(HANDSHAKE)
    assert status == 200
    sid = orjson.loads(body[1:])["sid"]
    ws = websocket.create_connection(f"{gateway.ws_url}&sid={sid}", timeout=10)
    try:
        ws.send("2probe")
        assert ws.recv() == "3probe"
        ws.send("5")  # the upgrade: the session now lives on this websocket
        assert gateway.open_fds() >= idle_fds + 1
        assert wait_until(lambda: gateway.sessions("pending") == 0, AUTH_TIMEOUT_S + 15)
        assert wait_until(lambda: gateway.open_fds() <= idle_fds, 10)
        ws.settimeout(10)
        assert _closed_by_server(ws)
    finally:
        ws.close()
