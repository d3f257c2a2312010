"""POST /auth/refresh and /auth/logout: rotation, reuse detection, revocation, forged tokens."""

from __future__ import annotations

import base64
import datetime as dt
import json
import sqlite3
from collections.abc import Callable

import jwt
import pytest
import redis
from flask.testing import FlaskClient

from auth_service.keys import SigningKeys
from auth_service.state import AuthState
from auth_service.tokens import Role, TokenService, TokenType
from common.names import access_revoked_key
from tests.unit.auth_service.support import bearer, conforms, tokens_for

pytestmark = pytest.mark.redis


def _refresh(client: FlaskClient, token: str) -> tuple[int, dict[str, object]]:
    resp = client.post("/auth/refresh", json={"refresh_token": token})
    return resp.status_code, conforms("auth_refresh", resp)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_refresh_rotates_the_pair(client: FlaskClient, state: AuthState) -> None:
    first = tokens_for(client, "alice")
    status, second = _refresh(client, first["refresh_token"])
    assert status == 200
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    old = state.tokens.verify(first["refresh_token"], TokenType.REFRESH)
    new = state.tokens.verify(str(second["refresh_token"]), TokenType.REFRESH)
    assert (new.sub, new.family) == (old.sub, old.family)
    status, third = _refresh(client, str(second["refresh_token"]))
    assert status == 200
    assert third["refresh_token"] != second["refresh_token"]


def test_reused_refresh_token_revokes_the_family(client: FlaskClient) -> None:
    first = tokens_for(client, "alice")
    _, second = _refresh(client, first["refresh_token"])
    status, body = _refresh(client, first["refresh_token"])
    assert status == 401
    assert body["error"]["code"] == "token_reused"  # type: ignore[index]
    # The thief or the owner holds the newest token: neither may use it now.
    status, body = _refresh(client, str(second["refresh_token"]))
    assert status == 401
    assert body["error"]["code"] == "invalid_token"  # type: ignore[index]


def test_other_sessions_survive_a_reuse(client: FlaskClient) -> None:
    phone = tokens_for(client, "alice")
    laptop = conforms(
        "auth_login",
        client.post("/auth/login", json={"username": "alice", "password": "correct horse battery"}),
    )
    _refresh(client, phone["refresh_token"])
    assert _refresh(client, phone["refresh_token"])[0] == 401
    assert _refresh(client, laptop["refresh_token"])[0] == 200


def _sql(state: AuthState, statement: str, *params: str) -> None:
    """Change a user in the app's SQLite store (the port has no delete or role change)."""
    with sqlite3.connect(state.settings.store_url.removeprefix("sqlite:///")) as conn:
        conn.execute(statement, params)
    conn.close()


def test_refresh_issues_the_users_current_role(client: FlaskClient, state: AuthState) -> None:
    first = tokens_for(client, "alice")
    _sql(state, "UPDATE users SET role = 'admin' WHERE username = ?", "alice")
    status, second = _refresh(client, first["refresh_token"])
    assert status == 200
    for token, kind in ((second["access_token"], TokenType.ACCESS),
                        (second["refresh_token"], TokenType.REFRESH)):  # fmt: skip
        assert state.tokens.verify(str(token), kind).role is Role.ADMIN


def test_refresh_of_a_deleted_user_is_refused_and_revokes_the_family(
    client: FlaskClient, state: AuthState
) -> None:
    first = tokens_for(client, "alice")
    _sql(state, "DELETE FROM users WHERE username = ?", "alice")
    status, body = _refresh(client, first["refresh_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_token")  # type: ignore[index]
    assert body["error"]["message"] == "session revoked"  # type: ignore[index]
    # registered again (a new id): the old session does not come back
    second = tokens_for(client, "alice")
    assert _refresh(client, first["refresh_token"])[0] == 401
    assert _refresh(client, second["refresh_token"])[0] == 200


def test_a_session_ends_refresh_ttl_after_the_login(client: FlaskClient, state: AuthState) -> None:
    start = dt.datetime.now(dt.UTC)
    clock = [start]
    state.tokens.clock = lambda: clock[0]
    pair: dict[str, object] = dict(tokens_for(client, "alice"))
    for day in (2, 4, 6):  # each refresh used to grant another 7 days
        clock[0] = start + dt.timedelta(days=day)
        status, pair = _refresh(client, str(pair["refresh_token"]))
        assert status == 200
    claims = state.tokens.verify(str(pair["refresh_token"]), TokenType.REFRESH)
    assert claims.exp == int(start.timestamp()) + 7 * 86_400
    clock[0] = start + dt.timedelta(days=7, minutes=1)
    status, body = _refresh(client, str(pair["refresh_token"]))
    assert (status, body["error"]["code"]) == (401, "invalid_token")  # type: ignore[index]


def test_logout_revokes_access_and_refresh(
    client: FlaskClient, state: AuthState, redis_client: redis.Redis
) -> None:
    pair = tokens_for(client, "alice")
    access = state.tokens.verify(pair["access_token"], TokenType.ACCESS)
    assert not state.sessions.is_revoked(access.jti)
    resp = client.post(
        "/auth/logout",
        json={"refresh_token": pair["refresh_token"]},
        headers=bearer(pair["access_token"]),
    )
    assert resp.status_code == 204
    assert conforms("auth_logout", resp) is None
    assert state.sessions.is_revoked(access.jti)
    ttl = redis_client.pttl(access_revoked_key(access.jti))
    assert 880_000 < ttl <= 900_000  # kept until the token would have expired anyway
    status, body = _refresh(client, pair["refresh_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_token")  # type: ignore[index]
    again = client.post("/auth/logout", headers=bearer(pair["access_token"]))
    assert again.status_code == 401
    assert conforms("auth_logout", again)["error"]["code"] == "invalid_token"


def test_logout_without_body_keeps_the_refresh_session(
    client: FlaskClient, state: AuthState
) -> None:
    pair = tokens_for(client, "alice")
    resp = client.post("/auth/logout", headers=bearer(pair["access_token"]))
    assert resp.status_code == 204
    jti = state.tokens.verify(pair["access_token"], TokenType.ACCESS).jti
    assert state.sessions.is_revoked(jti)
    assert _refresh(client, pair["refresh_token"])[0] == 200


def test_logout_with_another_users_refresh_token_changes_nothing(
    client: FlaskClient, state: AuthState
) -> None:
    alice, bob = tokens_for(client, "alice"), tokens_for(client, "bob")
    resp = client.post(
        "/auth/logout",
        json={"refresh_token": bob["refresh_token"]},
        headers=bearer(alice["access_token"]),
    )
    assert resp.status_code == 401
    assert conforms("auth_logout", resp)["error"] == {
        "code": "invalid_token",
        "message": "refresh token belongs to another user",
        "fields": {},
        "trace_id": resp.headers["X-Trace-ID"],
    }
    jti = state.tokens.verify(alice["access_token"], TokenType.ACCESS).jti
    assert not state.sessions.is_revoked(jti)
    assert _refresh(client, bob["refresh_token"])[0] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWxpY2U6cHc="},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
    ],
)
def test_logout_needs_a_valid_bearer_token(client: FlaskClient, headers: dict[str, str]) -> None:
    resp = client.post("/auth/logout", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert conforms("auth_logout", resp)["error"]["code"] == "invalid_token"


def test_logout_refuses_a_refresh_token_as_bearer(client: FlaskClient) -> None:
    pair = tokens_for(client, "alice")
    resp = client.post("/auth/logout", headers=bearer(pair["refresh_token"]))
    assert resp.status_code == 401
    assert conforms("auth_logout", resp)["error"]["message"] == "wrong token type: expected access"


def test_logout_body_is_validated(client: FlaskClient) -> None:
    pair = tokens_for(client, "alice")
    headers = bearer(pair["access_token"])
    resp = client.post("/auth/logout", json={"refresh": "x"}, headers=headers)
    assert resp.status_code == 422
    assert conforms("auth_logout", resp)["error"]["fields"] == {"refresh": ["Unknown field."]}
    resp = client.post("/auth/logout", json=["x"], headers=headers)
    assert resp.status_code == 400
    assert conforms("auth_logout", resp)["error"]["code"] == "bad_request"


# -- forged, expired and misused tokens ----------------------------------------------------

Forge = Callable[[TokenService, SigningKeys, dict[str, str]], str]


def _tampered(tokens: TokenService, other: SigningKeys, pair: dict[str, str]) -> str:
    header, payload, signature = pair["refresh_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"


def _other_key(tokens: TokenService, other: SigningKeys, pair: dict[str, str]) -> str:
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    # Same kid as the real key, so only the signature can give it away.
    return jwt.encode(
        claims, other.private_key, algorithm="RS256", headers={"kid": tokens.keys.kid}
    )


def _expired(tokens: TokenService, other: SigningKeys, pair: dict[str, str]) -> str:
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    issuer = TokenService(tokens.keys, clock=lambda: past)  # a token issued 8 days ago
    if claims["type"] == "access":
        return issuer.issue_access(claims["sub"], Role(claims["role"]))
    return issuer.issue_refresh(claims["sub"], Role(claims["role"]))


def _alg_none(tokens: TokenService, other: SigningKeys, pair: dict[str, str]) -> str:
    claims = jwt.decode(pair["refresh_token"], options={"verify_signature": False})
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(claims).encode())}."


def _access_token(tokens: TokenService, other: SigningKeys, pair: dict[str, str]) -> str:
    return pair["access_token"]


def _garbage(tokens: TokenService, other: SigningKeys, pair: dict[str, str]) -> str:
    return "abc"


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (_tampered, "bad signature"),
        (_other_key, "bad signature"),
        (_expired, "token expired"),
        (_alg_none, "algorithm not allowed"),
        (_access_token, "wrong token type: expected refresh"),
        (_garbage, "malformed token"),
    ],
)
def test_refresh_rejects_bad_tokens(
    client: FlaskClient, state: AuthState, other_keys: SigningKeys, forge: Forge, message: str
) -> None:
    pair = tokens_for(client, "alice")
    status, body = _refresh(client, forge(state.tokens, other_keys, pair))
    assert status == 401
    assert body["error"]["code"] == "invalid_token"  # type: ignore[index]
    assert body["error"]["message"] == message  # type: ignore[index]
    assert _refresh(client, pair["refresh_token"])[0] == 200  # the real session is untouched


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (_tampered, "bad signature"),
        (_alg_none, "algorithm not allowed"),
        (_other_key, "bad signature"),
        (_expired, "token expired"),
    ],
)
def test_logout_rejects_forged_bearer_tokens(
    client: FlaskClient, state: AuthState, other_keys: SigningKeys, forge: Forge, message: str
) -> None:
    pair = tokens_for(client, "alice")
    as_access = {"refresh_token": pair["access_token"], "access_token": pair["access_token"]}
    forged = forge(state.tokens, other_keys, as_access)
    assert jwt.decode(forged, options={"verify_signature": False})["type"] == "access"
    resp = client.post("/auth/logout", headers=bearer(forged))
    assert resp.status_code == 401
    error = conforms("auth_logout", resp)["error"]
    assert (error["code"], error["message"]) == ("invalid_token", message)


def test_logout_with_a_bad_refresh_token_changes_nothing(
    client: FlaskClient, state: AuthState
) -> None:
    pair = tokens_for(client, "alice")
    resp = client.post(
        "/auth/logout", json={"refresh_token": "garbage"}, headers=bearer(pair["access_token"])
    )
    assert resp.status_code == 401
    assert conforms("auth_logout", resp)["error"]["message"] == "malformed token"
    jti = state.tokens.verify(pair["access_token"], TokenType.ACCESS).jti
    assert not state.sessions.is_revoked(jti)
