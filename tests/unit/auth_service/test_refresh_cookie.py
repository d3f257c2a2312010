"""The browser flow: the refresh token in an HttpOnly cookie, CSRF-checked refresh and logout."""

from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from auth_service.routes.sessions import (
    COOKIE_PATHS,
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    csrf_token,
)
from auth_service.state import AuthState
from auth_service.tokens import TokenType
from tests.unit.auth_service.support import PASSWORD, bearer, conforms, register

pytestmark = pytest.mark.redis


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    """A client that sends only the cookies a test gives it (paths are the gateway's)."""
    return app.test_client(use_cookies=False)


def _cookies(resp: TestResponse) -> dict[tuple[str, str], Any]:
    """(name, path) → the morsel of every Set-Cookie of ``resp``."""
    found = {}
    for header in resp.headers.getlist("Set-Cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[(name, morsel["path"])] = morsel
    return found


def _browser_login(client: FlaskClient, username: str = "alice") -> tuple[dict[str, Any], str, str]:
    """Register and log in as the dashboard does: (answer, refresh cookie, CSRF token)."""
    assert register(client, username).status_code == 201
    resp = client.post(
        "/auth/login", json={"username": username, "password": PASSWORD, "refresh_cookie": True}
    )
    assert resp.status_code == 200
    body = conforms("auth_login", resp)
    cookies = _cookies(resp)
    return body, cookies[(REFRESH_COOKIE, COOKIE_PATHS[0])].value, cookies[(CSRF_COOKIE, "/")].value


def _send(refresh: str, csrf: str | None, **extra: str) -> dict[str, str]:
    headers = {"Cookie": f"{REFRESH_COOKIE}={refresh}; {CSRF_COOKIE}={csrf or ''}", **extra}
    if csrf is not None:
        headers[CSRF_HEADER] = csrf
    return headers


def test_login_sets_the_cookies_and_keeps_the_refresh_token_out_of_the_answer(
    browser: FlaskClient, state: AuthState
) -> None:
    assert register(browser, "alice").status_code == 201
    resp = browser.post(
        "/auth/login", json={"username": "alice", "password": PASSWORD, "refresh_cookie": True}
    )
    body = conforms("auth_login", resp)
    assert set(body) == {"access_token", "token_type", "expires_in"}  # no refresh_token
    cookies = _cookies(resp)
    assert set(cookies) == {
        (REFRESH_COOKIE, "/api/auth/refresh"), (REFRESH_COOKIE, "/api/auth/logout"),
        (CSRF_COOKIE, "/"),
    }  # fmt: skip
    for path in COOKIE_PATHS:
        refresh = cookies[(REFRESH_COOKIE, path)]
        assert (refresh["httponly"], refresh["secure"], refresh["samesite"]) == (
            True, True, "Strict",
        )  # fmt: skip
        assert 7 * 86_400 - 5 <= int(refresh["max-age"]) <= 7 * 86_400
        claims = state.tokens.verify(refresh.value, TokenType.REFRESH)
        assert claims.sub == state.tokens.verify(body["access_token"], TokenType.ACCESS).sub
    csrf = cookies[(CSRF_COOKIE, "/")]
    assert (csrf["httponly"], csrf["secure"], csrf["samesite"]) == ("", True, "Strict")
    family = state.tokens.verify(cookies[(REFRESH_COOKIE, COOKIE_PATHS[0])].value,
                                 TokenType.REFRESH).family  # fmt: skip
    assert family is not None
    assert csrf.value == csrf_token(state.tokens.keys, family)


def test_a_login_without_the_flag_answers_the_pair_and_sets_no_cookie(
    browser: FlaskClient,
) -> None:
    assert register(browser, "alice").status_code == 201
    resp = browser.post("/auth/login", json={"username": "alice", "password": PASSWORD})
    assert "refresh_token" in conforms("auth_login", resp)
    assert resp.headers.getlist("Set-Cookie") == []


def test_refresh_with_the_cookie_and_its_csrf_token_rotates_it(
    browser: FlaskClient, state: AuthState
) -> None:
    _, refresh, csrf = _browser_login(browser)
    resp = browser.post(
        "/auth/refresh",
        json={},
        headers=_send(refresh, csrf, **{"Sec-Fetch-Site": "same-origin"}),
    )
    body = conforms("auth_refresh", resp)
    assert resp.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in"}
    new = _cookies(resp)[(REFRESH_COOKIE, COOKIE_PATHS[0])].value
    assert new != refresh
    assert _cookies(resp)[(CSRF_COOKIE, "/")].value == csrf  # one per family
    # the old cookie is spent: presenting it again is reuse
    again = browser.post("/auth/refresh", json={}, headers=_send(refresh, csrf))
    assert (again.status_code, conforms("auth_refresh", again)["error"]["code"]) == (
        401, "token_reused",
    )  # fmt: skip
    assert (REFRESH_COOKIE, COOKIE_PATHS[0]) in _cookies(again)  # cleared
    assert _cookies(again)[(REFRESH_COOKIE, COOKIE_PATHS[0])]["max-age"] == "0"


@pytest.mark.parametrize(
    ("csrf", "extra"),
    [
        (None, {}),  # no header
        ("", {}),
        ("not-the-token", {}),
        ("OTHER", {}),  # another family's token (filled in below)
        ("RIGHT", {"Sec-Fetch-Site": "cross-site"}),  # the right token from another site
        ("RIGHT", {"Sec-Fetch-Site": "same-site"}),
    ],
)
def test_refresh_with_the_cookie_but_without_the_right_csrf_token_is_403(
    browser: FlaskClient, state: AuthState, csrf: str | None, extra: dict[str, str]
) -> None:
    _, refresh, right = _browser_login(browser)
    _, _, other = _browser_login(browser, "bob")
    sent = {"RIGHT": right, "OTHER": other}.get(csrf or "", csrf)
    resp = browser.post("/auth/refresh", json={}, headers=_send(refresh, sent, **extra))
    assert resp.status_code == 403
    assert conforms("auth_refresh", resp)["error"]["code"] == "csrf"
    assert resp.headers.getlist("Set-Cookie") == []
    # nothing was spent: the right request still works
    assert browser.post("/auth/refresh", json={}, headers=_send(refresh, right)).status_code == 200


def test_refresh_without_body_or_cookie_is_401(browser: FlaskClient) -> None:
    resp = browser.post("/auth/refresh", json={}, headers={CSRF_HEADER: "x"})
    assert resp.status_code == 401
    assert conforms("auth_refresh", resp)["error"]["message"] == "missing refresh token"


def test_logout_with_the_cookie_revokes_the_family_and_clears_the_cookies(
    browser: FlaskClient, state: AuthState
) -> None:
    body, refresh, csrf = _browser_login(browser)
    access = state.tokens.verify(body["access_token"], TokenType.ACCESS)
    refused = browser.post(
        "/auth/logout", headers={**_send(refresh, "wrong"), **bearer(body["access_token"])}
    )
    assert refused.status_code == 403
    assert not state.sessions.is_revoked(access.jti)  # a refused logout changes nothing
    resp = browser.post(
        "/auth/logout", headers={**_send(refresh, csrf), **bearer(body["access_token"])}
    )
    assert resp.status_code == 204
    cleared = _cookies(resp)
    assert {k for k, m in cleared.items() if m["max-age"] == "0"} == {
        (REFRESH_COOKIE, "/api/auth/refresh"), (REFRESH_COOKIE, "/api/auth/logout"),
        (CSRF_COOKIE, "/"),
    }  # fmt: skip
    assert state.sessions.is_revoked(access.jti)
    after = browser.post("/auth/refresh", json={}, headers=_send(refresh, csrf))
    assert (after.status_code, conforms("auth_refresh", after)["error"]["message"]) == (
        401, "session revoked",
    )  # fmt: skip


def test_the_secure_attribute_follows_the_setting(auth_env: pytest.MonkeyPatch) -> None:
    from tests.unit.auth_service.support import running_app

    auth_env.setenv("REFRESH_COOKIE_SECURE", "false")
    with running_app() as app:
        client = app.test_client(use_cookies=False)
        _, _, _ = _browser_login(client)
        assert register(client, "bob").status_code == 201
        resp = client.post(
            "/auth/login", json={"username": "bob", "password": PASSWORD, "refresh_cookie": True}
        )
        assert {m["secure"] for m in _cookies(resp).values()} == {""}
        assert {m["samesite"] for m in _cookies(resp).values()} == {"Strict"}
