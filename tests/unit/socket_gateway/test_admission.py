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
