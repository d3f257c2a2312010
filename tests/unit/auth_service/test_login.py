"""POST /auth/login: RS256 token pairs, one answer for every bad credential, hash upgrades."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from auth_service import accounts
from auth_service.passwords import needs_rehash, verify_dummy, verify_password
from auth_service.state import AuthState
from auth_service.tokens import Role, TokenType
from store import StoreError, StoreUnavailable
from store.sqlite import SqliteStore
from tests.unit.auth_service.support import PASSWORD, conforms, login, register, running_app

pytestmark = pytest.mark.redis


def _jwks_key(client: FlaskClient, token: str) -> jwt.PyJWK:
    kid = jwt.get_unverified_header(token)["kid"]
    keys = {k["kid"]: k for k in client.get("/auth/jwks.json").get_json()["keys"]}
    assert kid in keys
    return jwt.PyJWK(keys[kid])


def test_login_returns_a_pair_verifiable_with_the_jwks(client: FlaskClient) -> None:
    user = register(client, "alice").get_json()
    resp = login(client, "ALICE")  # names compare case-insensitively
    assert resp.status_code == 200
    pair = conforms("auth_login", resp)
    assert (pair["token_type"], pair["expires_in"]) == ("Bearer", 900)

    access = jwt.decode(
        pair["access_token"], _jwks_key(client, pair["access_token"]), algorithms=["RS256"]
    )
    assert (access["sub"], access["role"], access["type"]) == (user["id"], "user", "access")
    assert access["exp"] - access["iat"] == 900
    refresh = jwt.decode(
        pair["refresh_token"], _jwks_key(client, pair["refresh_token"]), algorithms=["RS256"]
    )
    assert (refresh["sub"], refresh["type"]) == (user["id"], "refresh")
    assert refresh["exp"] - refresh["iat"] == 7 * 86_400


def test_ttls_come_from_settings(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.setenv("ACCESS_TTL_S", "60")
    with running_app() as app:
        client = app.test_client()
        register(client, "alice")
        pair = login(client, "alice").get_json()
    assert pair["expires_in"] == 60
    payload = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert payload["exp"] - payload["iat"] == 60


def test_admin_role_is_carried_in_the_token(client: FlaskClient, state: AuthState) -> None:
    accounts.register(state.store, "root", PASSWORD, Role.ADMIN)
    pair = login(client, "root").get_json()
    claims = state.tokens.verify(pair["access_token"], TokenType.ACCESS)
    assert claims.role is Role.ADMIN


def test_unknown_user_and_wrong_password_answer_alike(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(client, "alice")
    dummy_calls: list[str] = []

    def counting_dummy(password: str) -> bool:
        dummy_calls.append(password)
        return verify_dummy(password)

    monkeypatch.setattr(accounts, "verify_dummy", counting_dummy)
    trace = {"X-Trace-ID": "same-trace"}
    wrong = login(client, "alice", "wrong password", headers=trace)
    unknown = login(client, "nobody", "wrong password", headers=trace)
    assert (wrong.status_code, unknown.status_code) == (401, 401)
    assert wrong.get_data() == unknown.get_data()
    assert conforms("auth_login", wrong) == {
        "error": {
            "code": "invalid_credentials",
            "message": "invalid username or password",
            "fields": {},
            "trace_id": "same-trace",
        }
    }
    # The unknown user still cost one hash verification; the known one did not need it.
    assert dummy_calls == ["wrong password"]


def test_short_password_is_401_not_422(client: FlaskClient) -> None:
    register(client, "alice")
    resp = login(client, "alice", "short")
    assert resp.status_code == 401
    assert conforms("auth_login", resp)["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"username": "alice"}, ["password"]),
        ({"username": "a b", "password": PASSWORD}, ["username"]),
        ({"username": "alice", "password": ""}, ["password"]),
        ({"username": "alice", "password": PASSWORD, "otp": "1"}, ["otp"]),
    ],
)
def test_invalid_login_body_is_422(
    client: FlaskClient, body: dict[str, Any], fields: list[str]
) -> None:
    resp = client.post("/auth/login", json=body)
    assert resp.status_code == 422
    assert sorted(conforms("auth_login", resp)["error"]["fields"]) == fields


def _weak_hash(password: str = PASSWORD) -> str:
    """A hash made with weaker Argon2 parameters than today's."""
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(password)
    assert needs_rehash(weak)
    return weak


def test_outdated_hash_is_upgraded_on_login(client: FlaskClient, state: AuthState) -> None:
    assert isinstance(state.store, SqliteStore)  # the app's real store, no wrapper
    weak = _weak_hash()
    user = state.store.create_user("old", weak, "user")

    assert login(client, "old", "wrong password").status_code == 401
    assert state.store.find_user("old") == user  # a failed login never rewrites the hash

    assert login(client, "OLD").status_code == 200
    stored = state.store.find_user("old")
    assert stored is not None
    upgraded = stored["password_hash"]
    assert upgraded != weak
    assert verify_password(upgraded, PASSWORD)
    assert not needs_rehash(upgraded)
    assert stored == {**user, "password_hash": upgraded}  # nothing else changed

    assert login(client, "old").status_code == 200
    assert state.store.find_user("old") == stored  # an up-to-date hash is left alone


def _raise_unavailable(user_id: str, password_hash: str) -> bool:
    raise StoreUnavailable("sqlite: database is locked")


def _raise_error(user_id: str, password_hash: str) -> bool:
    raise StoreError(f"mongodb: write failed for {password_hash}")


def _no_such_user(user_id: str, password_hash: str) -> bool:
    return False


@pytest.mark.parametrize("update", [_raise_unavailable, _raise_error, _no_such_user])
def test_outdated_hash_still_logs_in_when_the_store_cannot_update(
    client: FlaskClient,
    state: AuthState,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    update: Callable[[str, str], bool],
) -> None:
    weak = _weak_hash()
    user = state.store.create_user("old", weak, "user")
    attempts: list[str] = []

    def failing_update(user_id: str, password_hash: str) -> bool:
        attempts.append(password_hash)
        return update(user_id, password_hash)

    monkeypatch.setattr(state.store, "update_password_hash", failing_update)
    with caplog.at_level(logging.INFO, logger=accounts.__name__):
        assert login(client, "old").status_code == 200

    assert len(attempts) == 1
    assert state.store.find_user("old") == user  # the old hash stays, and still works
    warnings = [r for r in caplog.records if r.name == accounts.__name__]
    assert [r.levelno for r in warnings] == [logging.WARNING]
    assert warnings[0].__dict__["user_id"] == user["id"]
    logged = repr(warnings[0].__dict__) + warnings[0].getMessage()
    assert weak not in logged
    assert attempts[0] not in logged
    assert "$argon2" not in logged
