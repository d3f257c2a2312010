"""The browser's refresh cookie through the real gateway: every Set-Cookie comes back apart,
the Cookie and X-CSRF-Token headers reach auth_service, a cookie refresh without the CSRF
token is 403 (gunicorn processes on 127.0.0.1, a private Redis)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from common.embedded_redis import EmbeddedRedis
from tests.integration.api_gateway.conftest import Stack, start_stack

pytestmark = [pytest.mark.redis, pytest.mark.timeout(120)]

PASSWORD = "correct-horse-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with EmbeddedRedis() as server:
        started = start_stack(
            tmp_path_factory.mktemp("cookie"), server.url, services=("auth_service",)
        )
        yield started
        started.procs.close()


def _post(
    stack: Stack, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, list[str], Any]:
    """POST to the gateway: (status, each Set-Cookie header, JSON body or None)."""
    where = urlsplit(stack.url)
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body),
                     {"Content-Type": "application/json", **(headers or {})})  # fmt: skip
        resp = conn.getresponse()
        raw = resp.read()
        return (
            resp.status,
            resp.headers.get_all("Set-Cookie") or [],
            json.loads(raw) if raw else None,
        )
    finally:
        conn.close()


def _jar(set_cookies: list[str]) -> dict[tuple[str, str], Any]:
    found = {}
    for header in set_cookies:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[(name, morsel["path"])] = morsel
    return found


def test_the_refresh_cookie_works_through_the_gateway(stack: Stack, tmp_path: Path) -> None:
    _post(stack, "/api/auth/register", {"username": "alice", "password": PASSWORD})
    status, set_cookies, body = _post(
        stack,
        "/api/auth/login",
        {"username": "alice", "password": PASSWORD, "refresh_cookie": True},
    )
    assert status == 200, body
    assert "refresh_token" not in body
    jar = _jar(set_cookies)
    assert len(set_cookies) == 3  # each apart: a joined header would lose all but one
    refresh = jar[("optionsflow_refresh", "/api/auth/refresh")]
    assert (refresh["httponly"], refresh["samesite"], refresh["secure"]) == (True, "Strict", True)
    csrf = jar[("optionsflow_csrf", "/")].value
    cookie = f"optionsflow_refresh={refresh.value}; optionsflow_csrf={csrf}"

    status, set_cookies, answer = _post(stack, "/api/auth/refresh", {}, {"Cookie": cookie})
    assert (status, answer["error"]["code"]) == (403, "csrf")
    status, set_cookies, answer = _post(
        stack, "/api/auth/refresh", {}, {"Cookie": cookie, "X-CSRF-Token": csrf,
                                         "Sec-Fetch-Site": "cross-site"}
    )  # fmt: skip
    assert (status, answer["error"]["code"]) == (403, "csrf")
    status, set_cookies, answer = _post(
        stack, "/api/auth/refresh", {}, {"Cookie": cookie, "X-CSRF-Token": csrf}
    )
    assert status == 200, answer
    assert "refresh_token" not in answer
    rotated = _jar(set_cookies)[("optionsflow_refresh", "/api/auth/logout")].value
    assert rotated != refresh.value

    cookie = f"optionsflow_refresh={rotated}; optionsflow_csrf={csrf}"
    status, set_cookies, _ = _post(
        stack, "/api/auth/logout", {},
        {"Cookie": cookie, "X-CSRF-Token": csrf,
         "Authorization": f"Bearer {answer['access_token']}"},
    )  # fmt: skip
    assert status == 204
    assert {m["max-age"] for m in _jar(set_cookies).values()} == {"0"}
    assert len(set_cookies) == 3
    status, _, answer = _post(
        stack, "/api/auth/refresh", {}, {"Cookie": cookie, "X-CSRF-Token": csrf}
    )
    assert (status, answer["error"]["message"]) == (401, "session revoked")
