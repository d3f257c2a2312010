"""POST /auth/login: RS256 token pairs, one answer for every bad credential, hash upgrades."""

from __future__ import annotations

import dataclasses
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient

from auth_service import accounts
from auth_service.passwords import needs_rehash, verify_dummy, verify_password
from auth_service.state import EXTENSION, AuthState
from auth_service.tokens import Role, TokenType
from storage_service.store import Store
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


class UpgradingStore:
    """The real store plus the optional ``update_password_hash`` capability."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.updates: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def update_password_hash(self, user_id: str, password_hash: str) -> None:
        self.updates.append((user_id, password_hash))


def _with_store(app: Flask, state: AuthState, store: object) -> None:
    app.extensions[EXTENSION] = dataclasses.replace(state, store=store)  # type: ignore[arg-type]


def test_outdated_hash_is_upgraded_on_login(
    app: Flask, client: FlaskClient, state: AuthState
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    assert needs_rehash(weak)
    user = state.store.create_user("old", weak, "user")
    upgrading = UpgradingStore(state.store)
    _with_store(app, state, upgrading)

    assert login(client, "old").status_code == 200
    assert [uid for uid, _ in upgrading.updates] == [user["id"]]
    new_hash = upgrading.updates[0][1]
    assert not needs_rehash(new_hash)
    assert verify_password(new_hash, PASSWORD)

    assert login(client, "old", "wrong password").status_code == 401
    assert len(upgrading.updates) == 1  # a failed login never rewrites the hash


def test_outdated_hash_still_logs_in_when_the_store_cannot_update(
    client: FlaskClient, state: AuthState
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    state.store.create_user("old", weak, "user")
    assert not isinstance(state.store, accounts.PasswordHashUpdater)
    assert login(client, "old").status_code == 200
