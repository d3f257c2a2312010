"""create_app: configuration refusals, health, JWKS, routes matching the shared table, logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

import auth_service
from auth_service import create_app
from auth_service.keys import SigningKeys
from auth_service.limits import storage_uri
from auth_service.state import AuthState, auth_state
from auth_service.tokens import Role, TokenType
from common.api.auth import ROUTES
from common.embedded_redis import free_port
from common.settings import SettingsError
from store import Store, StoreUnavailable, open_store
from store.lazy import OPEN_RETRY_S
from tests.support.clock import FakeClock
from tests.support.stalled import StalledServer, stalled_server
from tests.unit.auth_service.support import (
    PASSWORD,
    bearer,
    conforms,
    login,
    running_app,
    tokens_for,
)

pytestmark = pytest.mark.redis


def test_redis_url_is_required(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.delenv("REDIS_URL")
    with pytest.raises(SettingsError, match=r"^REDIS_URL: must be set for auth_service"):
        create_app()


def test_production_without_keys_refuses_to_start(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.setenv("ENV", "production")
    auth_env.delenv("JWT_PRIVATE_KEY_PATH")
    with pytest.raises(SettingsError) as refused:
        create_app()
    assert str(refused.value).startswith(
        "JWT_PRIVATE_KEY_PATH and JWT_PUBLIC_KEY_PATH must be set in production"
    )


def test_production_with_keys_starts(
    auth_env: pytest.MonkeyPatch, signing_keys: SigningKeys
) -> None:
    auth_env.setenv("ENV", "production")
    auth_env.setenv("SERVICE_TOKEN", "production-service-token-0123456789")  # required there
    with running_app() as app:
        assert auth_state(app).tokens.keys.kid == signing_keys.kid


def test_state_is_typed_in_extensions(app: Flask, state: AuthState) -> None:
    assert isinstance(app.extensions["auth_service"], AuthState)
    assert state.settings.redis_url == auth_state(app).settings.redis_url
    with pytest.raises(RuntimeError, match="not an auth_service app"):
        auth_state(Flask("other"))


def test_health_and_readiness(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"redis": "ok", "store": "ok"}}


def test_redis_down_is_503_not_500(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    with running_app() as app:
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["checks"]["redis"].startswith("error: ConnectionError")
        resp = login(client, "alice")  # the limiter cannot count: refuse rather than guess
        assert resp.status_code == 503
        error = conforms("auth_login", resp)["error"]
        assert (error["code"], error["message"]) == ("unavailable", "session store unavailable")
        assert resp.headers["Retry-After"] == "1"


@pytest.fixture
def mongo_down(auth_env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """STORE_URL on a MongoDB port nothing listens on (server selection gives up in 0.2 s)."""
    port = free_port()
    auth_env.setenv("STORE_URL", f"mongodb://127.0.0.1:{port}/x?serverSelectionTimeoutMS=200")
    return auth_env


def test_starts_and_answers_503_while_the_store_is_down(mongo_down: pytest.MonkeyPatch) -> None:
    with running_app() as app:  # the store is not opened at start-up
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 503
        checks = ready.get_json()["checks"]
        assert checks["redis"] == "ok"
        assert checks["store"].startswith("error: StoreUnavailable")
        for resp in (
            login(client, "alice"),
            client.post("/auth/register", json={"username": "alice", "password": PASSWORD}),
        ):
            assert resp.status_code == 503
            error = conforms("auth_login", resp)["error"]
            assert (error["code"], error["message"]) == ("unavailable", "user store unavailable")
            assert resp.headers["Retry-After"] == "1"
        # the JWKS and a refresh token that does not verify need no store
        assert client.get("/auth/jwks.json").status_code == 200
        bad = client.post("/auth/refresh", json={"refresh_token": "abc"})
        assert (bad.status_code, bad.get_json()["error"]["code"]) == (401, "invalid_token")


def test_store_down_answers_at_once_between_attempts(
    mongo_down: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[str] = []

    def counted(url: str) -> Store:
        attempts.append(url)
        return open_store(url)

    monkeypatch.setattr(auth_service, "open_store", counted)
    with running_app() as app:
        clock = FakeClock()
        auth_state(app).lazy_store.clock = clock
        client = app.test_client()
        assert login(client, "alice").status_code == 503  # tries: server selection, 0.2 s
        assert len(attempts) == 1
        for _ in range(5):
            assert login(client, "alice").status_code == 503
        assert len(attempts) == 1  # within the back-off: answered without a new attempt
        clock.advance(OPEN_RETRY_S)
        assert login(client, "alice").status_code == 503
        assert len(attempts) == 2  # after it: tried again


@pytest.fixture
def hung_redis() -> Iterator[StalledServer]:
    """A Redis whose server accepts connections and never answers; they are counted."""
    with stalled_server() as stalled:
        yield stalled


@pytest.mark.timeout(120)
def test_a_hung_redis_fails_a_request_after_one_retry(
    auth_env: pytest.MonkeyPatch, hung_redis: StalledServer, signing_keys: SigningKeys
) -> None:
    auth_env.setenv("REDIS_URL", hung_redis.url)
    with running_app() as app:
        auth_state(app).keeper.stop()  # its own checks would add connections to the count
        client = app.test_client()
        access = auth_state(app).tokens.issue_access("id-1", Role.USER)
        requests = [
            ("/auth/login", {"username": "alice", "password": PASSWORD}, {}),  # the limits'
            # the sessions' client (the deny-list; refresh no longer touches Redis)
            ("/auth/logout", {}, {"Authorization": f"Bearer {access}"}),
        ]
        for path, body, headers in requests:
            before = hung_redis.connections
            resp = client.post(path, json=body, headers=headers)
            assert resp.status_code == 503
            assert resp.get_json()["error"]["code"] == "unavailable"
            # 1 s timeouts and one retry: a retried connect handshake nests inside the
            # command's retry, (1 + retries)² = 4 connections at most, each ending at its
            # timeout; redis-py's default retries would take minutes
            assert 1 < hung_redis.connections - before <= 4, path
        sessions = auth_state(app).redis.connection_pool.connection_kwargs
        assert sessions["socket_timeout"] == sessions["socket_connect_timeout"] == 1.0


def test_store_down_is_503(
    client: FlaskClient, state: AuthState, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(username: str) -> None:
        raise StoreUnavailable("database is locked")

    monkeypatch.setattr(state.store, "find_user", down)
    resp = login(client, "alice")
    assert resp.status_code == 503
    error = conforms("auth_login", resp)["error"]
    assert (error["code"], error["message"]) == ("unavailable", "user store unavailable")
    assert resp.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("redis_url", "storage"),
    [
        ("redis://127.0.0.1:6390/0", "redis://127.0.0.1:6390/0"),
        ("unix:///run/redis.sock?db=0", "redis+unix:///run/redis.sock?db=0"),
    ],
)
def test_limit_storage_uri(redis_url: str, storage: str) -> None:
    assert storage_uri(redis_url) == storage


def test_jwks(client: FlaskClient, signing_keys: SigningKeys) -> None:
    resp = client.get("/auth/jwks.json")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "public, max-age=300"
    assert conforms("auth_jwks", resp) == {"keys": [signing_keys.jwk()]}
    jwk = resp.get_json()["keys"][0]
    assert (jwk["kty"], jwk["alg"], jwk["use"], jwk["kid"]) == (
        "RSA",
        "RS256",
        "sig",
        signing_keys.kid,
    )
    assert client.get("/auth/jwks.json?kid=x").status_code == 422


def test_routes_are_the_shared_table(app: Flask) -> None:
    served = {
        (method, rule.rule, rule.endpoint.rpartition(".")[2])
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/auth")
        for method in rule.methods or ()
        if method not in {"HEAD", "OPTIONS"}
    }
    assert served == {(spec.method, spec.path, spec.name) for spec in ROUTES}


def test_wrong_method_is_405_in_the_error_shape(client: FlaskClient) -> None:
    resp = client.get("/auth/login")
    assert resp.status_code == 405
    assert resp.get_json()["error"]["code"] == "method_not_allowed"


def test_passwords_and_tokens_are_never_logged(
    client: FlaskClient, state: AuthState, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pair = tokens_for(client, "alice")
    login(client, "alice", "wrong password 123")
    refreshed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})  # reuse
    client.post("/auth/logout", headers=bearer(pair["access_token"]))
    secrets = [
        PASSWORD,
        "wrong password 123",
        pair["access_token"],
        pair["refresh_token"],
        refreshed.get_json()["refresh_token"],
        state.tokens.verify(pair["access_token"], TokenType.ACCESS).jti,
    ]
    # Signatures are the secret part of a token: look for them alone too.
    secrets += [token.rpartition(".")[2] for token in secrets[2:5]]
    records = [f"{r.getMessage()} {r.__dict__}" for r in caplog.records]
    assert any("request" in r for r in records)  # the access log was captured
    leaks = [s for s in secrets if any(s in r for r in records)]
    assert leaks == []
