"""The policies behind a session's admission, without a server: the Engine.IO session book,
the subscribe token bucket, the dashboard-origin check and SOCKET_CORS_ORIGINS."""

from __future__ import annotations

import pytest

from common.settings import SettingsError, load_settings
from socket_gateway.origins import cors_policy, dashboard_origin
from socket_gateway.ratelimit import TokenBucket
from socket_gateway.sessions import EngineSessions, SessionRefusal


def _book(**kw: float) -> EngineSessions:
    limits = {"per_ip": 2, "max_sessions": 5, "max_pending": 3, "auth_timeout_s": 10.0, **kw}
    return EngineSessions(
        per_ip=int(limits["per_ip"]), max_sessions=int(limits["max_sessions"]),
        max_pending=int(limits["max_pending"]), auth_timeout_s=limits["auth_timeout_s"],
    )  # fmt: skip


def _code(refusal: SessionRefusal | None) -> str | None:
    return refusal.code if refusal is not None else None


def test_sessions_count_per_address_and_in_total_from_the_handshake() -> None:
    book = _book()
    assert book.open("a1", "10.0.0.1", 0.0) is None
    assert book.open("a2", "10.0.0.1", 0.0) is None
    refusal = book.open("a3", "10.0.0.1", 0.0)
    assert refusal is not None
    assert refusal.body() == {
        "code": "too_many_connections", "message": "at most 2 connections per client address"
    }  # fmt: skip
    assert book.open("b1", "10.0.0.2", 0.0) is None
    refusal = book.open("c1", "10.0.0.3", 0.0)  # three pending already
    assert _code(refusal) == "too_many_pending"
    book.authenticated("a1")
    book.authenticated("a2")  # authenticated sessions leave the pending count, not the total
    assert (book.total, book.pending, book.of_ip("10.0.0.1")) == (3, 1, 2)
    assert book.open("c1", "10.0.0.3", 0.0) is None
    assert book.open("d1", "10.0.0.4", 0.0) is None
    refusal = book.open("e1", "10.0.0.5", 0.0)  # five sessions: the instance is full
    assert refusal == SessionRefusal("too_many_connections", "this gateway is full; try another")
    book.close("a1")
    book.close("a1")  # twice, or unknown: no error, nothing counted twice
    book.close("nobody")
    assert (book.total, book.of_ip("10.0.0.1")) == (4, 1)
    refusal = book.open("a3", "10.0.0.1", 1.0)  # a place, but b1, c1, d1 still pending
    assert _code(refusal) == "too_many_pending"
    book.authenticated("b1")
    assert book.open("a3", "10.0.0.1", 1.0) is None


def test_pending_sessions_are_due_in_order_and_a_left_namespace_restarts_the_clock() -> None:
    book = _book(max_pending=10, max_sessions=10, per_ip=10)
    for i, at in enumerate((0.0, 1.0, 2.0)):
        book.open(f"s{i}", "10.0.0.1", at)
    book.authenticated("s1")
    assert book.overdue(9.9) == []
    assert book.overdue(10.0) == ["s0"]
    assert book.overdue(12.5) == ["s0", "s2"]  # s1 authenticated: no deadline
    book.unauthenticated("s1", 5.0)  # its connection ended, the session stayed
    book.unauthenticated("s1", 8.0)  # said again: the first deadline holds
    assert book.overdue(14.9) == ["s0", "s2"]
    assert book.overdue(15.0) == ["s0", "s2", "s1"]
    book.unauthenticated("gone", 5.0)  # an unknown session is not added
    assert book.total == 3
    assert book.forget_missing({"s2"}) == 2
    assert (book.total, book.pending, book.overdue(100.0)) == (1, 1, ["s2"])


def test_the_bucket_allows_a_burst_then_its_rate() -> None:
    bucket = TokenBucket(rate_hz=2.0, burst=3, now=100.0)
    assert [bucket.take(100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(100.0) == pytest.approx(0.5)  # one token in half a second
    assert bucket.take(100.25) == pytest.approx(0.25)  # a refused take spends nothing
    assert bucket.take(100.5) == 0.0
    assert bucket.take(100.5) == pytest.approx(0.5)
    assert [bucket.take(200.0) for _ in range(4)][-1] > 0  # refilled to the burst, no more


def test_the_dashboards_origin_is_its_host_on_the_gateways_port_or_this_origin() -> None:
    allowed = dashboard_origin(8000)

    def check(origin: str | None, host: str) -> bool:
        return allowed(origin, {"HTTP_HOST": host})

    assert check("http://127.0.0.1:8000", "127.0.0.1:8002")  # make up
    assert check("http://trader-box:8000", "trader-box:8002")  # compose on a named host
    assert check("https://of.example.com", "of.example.com")  # one origin behind an ingress
    assert check("http://[::1]:8000", "[::1]:8002")
    assert not check("http://localhost:8000", "127.0.0.1:8002")  # another host name
    assert not check("http://127.0.0.1:8001", "127.0.0.1:8002")  # another port
    assert not check("https://evil.example", "127.0.0.1:8002")
    assert not check("null", "127.0.0.1:8002")
    assert not check("file://x", "x")
    assert not check(None, "127.0.0.1:8002")
    assert not allowed("http://127.0.0.1:8000", {})  # no Host: nothing to compare
    assert dashboard_origin(80)("http://box", {"HTTP_HOST": "box:8002"})  # default port


def test_cors_origins_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOCKET_CORS_ORIGINS", raising=False)
    settings = load_settings()
    assert settings.socket.cors_origins == ()
    assert callable(cors_policy(settings))
    monkeypatch.setenv("SOCKET_CORS_ORIGINS", " https://App.Example.com/ ,http://localhost:8000")
    settings = load_settings()
    assert cors_policy(settings) == ["https://app.example.com", "http://localhost:8000"]
    monkeypatch.setenv("SOCKET_CORS_ORIGINS", "http://localhost:8000,*")
    assert cors_policy(load_settings()) == "*"
    for bad in ("localhost:8000", "https://a.example/path", "ftp://a.example", "https://"):
        monkeypatch.setenv("SOCKET_CORS_ORIGINS", bad)
        with pytest.raises(SettingsError, match="SOCKET_CORS_ORIGINS"):
            load_settings()


class _FakeSession:
    def __init__(self) -> None:
        self.closed_with: list[dict[str, object]] = []

    def close(self, **kw: object) -> None:
        self.closed_with.append(kw)


class _FakeConnection:
    def __init__(self) -> None:
        self.shut: list[int] = []

    def shutdown(self, how: int) -> None:
        self.shut.append(how)


class _FakeInput:
    def __init__(self, connection: _FakeConnection) -> None:
        self.connection = connection

    def get_socket(self) -> _FakeConnection:
        return self.connection


class _FakeEngine:
    """What HandshakeGuard uses of engineio.Server: handlers, on, handle_request, sockets."""

    class reason:  # noqa: N801  (engineio's spelling)
        SERVER_DISCONNECT = "server disconnect"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.handlers: dict[str, object] = {
            "connect": lambda sid, environ: self.calls.append(("connect", sid)),
            "disconnect": lambda sid, reason: self.calls.append(("disconnect", sid)),
        }
        self.sockets: dict[str, _FakeSession] = {}

    def on(self, event: str, handler: object) -> None:
        self.handlers[event] = handler

    def handle_request(self, environ: dict[str, object], start_response: object) -> list[bytes]:
        return [b"handled"]


def test_the_guard_refuses_counts_and_closes_overdue_sessions() -> None:
    from socket_gateway.handshake import HandshakeGuard

    now = [0.0]
    guard = HandshakeGuard(_book(per_ip=1, auth_timeout_s=5.0), clock=lambda: now[0])
    eio = _FakeEngine()
    guard.install(eio)
    connect, disconnect = eio.handlers["connect"], eio.handlers["disconnect"]
    assert callable(connect) and callable(disconnect)  # noqa: PT018
    ws = _FakeConnection()
    environ = {
        "REMOTE_ADDR": "10.0.0.1",
        "HTTP_UPGRADE": "websocket",
        "eventlet.input": _FakeInput(ws),
    }
    s1 = eio.sockets["s1"] = _FakeSession()
    assert connect("s1", environ) is None  # counted, then python-socketio's handler
    assert connect("s2", {"REMOTE_ADDR": "10.0.0.1"}) == {
        "code": "too_many_connections", "message": "at most 1 connections per client address"
    }  # fmt: skip
    assert eio.calls == [("connect", "s1")]  # the refused one never reached Socket.IO
    polling = _FakeSession()
    eio.sockets["p1"] = polling
    assert connect("p1", {"REMOTE_ADDR": "10.0.0.2"}) is None
    disconnect("p1", "transport close")  # ended by the client: forgotten after Socket.IO
    assert eio.calls[-1] == ("disconnect", "p1")
    assert guard.sessions.total == 1
    now[0] = 4.9
    assert guard.sweep() == []
    now[0] = 5.0
    assert guard.sweep() == ["s1"]
    assert s1.closed_with == [{"wait": False, "abort": False, "reason": "server disconnect"}]
    assert "s1" not in eio.sockets
    assert ws.shut == [0]  # socket.SHUT_RD: its reader wakes, the request ends
    assert guard.sessions.total == 0
    # a long-polling session's upgrade request notes its websocket's socket
    eio.sockets["p2"] = _FakeSession()
    connect("p2", {"REMOTE_ADDR": "10.0.0.3"})
    upgraded = _FakeConnection()
    upgrade = {"QUERY_STRING": "EIO=4&transport=websocket&sid=p2", "HTTP_UPGRADE": "WebSocket",
               "eventlet.input": _FakeInput(upgraded)}  # fmt: skip
    assert eio.handle_request(upgrade, None) == [b"handled"]
    now[0] = 10.0
    assert guard.sweep() == ["p2"]
    assert upgraded.shut == [0]
