"""Login limits per username and per client IP: 429 before any password is checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import pytest
import redis
from flask.testing import FlaskClient

from auth_service import accounts, passwords
from auth_service.sessions import DENY_LIST_REBUILT_KEY
from common.web.servicecred import SERVICE_TOKEN_HEADER
from tests.unit.auth_service.support import PASSWORD, conforms, login, register, running_app

GATEWAY_TOKEN = "gateway-service-token-0123456789abcdef"

pytestmark = pytest.mark.redis


@pytest.fixture
def limited(auth_env: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    """A client of an app allowing 3 logins per username and 6 attempts per IP a minute."""
    auth_env.setenv("LOGIN_LIMIT_USER", "3/minute")
    auth_env.setenv("LOGIN_LIMIT_IP", "6/minute")
    with running_app() as app:
        yield app.test_client()


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password verification and dummy verification, in order."""
    calls: list[str] = []

    def verify(password_hash: str, password: str) -> bool:
        calls.append("verify")
        return passwords.verify_password(password_hash, password)

    def dummy(password: str) -> bool:
        calls.append("dummy")
        return passwords.verify_dummy(password)

    monkeypatch.setattr(accounts, "verify_password", verify)
    monkeypatch.setattr(accounts, "verify_dummy", dummy)
    return calls


def test_per_username_limit_refuses_even_the_right_password(
    limited: FlaskClient, verifications: list[str]
) -> None:
    register(limited, "alice")
    codes = [
        login(limited, name, "wrong password").status_code for name in ("alice", "Alice", "ALICE")
    ]
    assert codes == [401, 401, 401]
    assert verifications == ["verify"] * 3

    resp = login(limited, "alice")  # the right password, over the limit
    assert resp.status_code == 429
    error = conforms("auth_login", resp)["error"]
    assert (error["code"], error["message"]) == (
        "rate_limited",
        "too many login attempts for this username; retry later",
    )
    assert 1 <= int(resp.headers["Retry-After"]) <= 60
    assert (resp.headers["X-RateLimit-Limit"], resp.headers["X-RateLimit-Remaining"]) == ("3", "0")
    assert verifications == ["verify"] * 3  # refused before the password was looked at

    assert login(limited, "bob").status_code == 401  # another name has its own budget


def test_per_ip_limit_spans_usernames_and_register(
    limited: FlaskClient, verifications: list[str]
) -> None:
    codes = [login(limited, f"user{i}").status_code for i in range(5)]
    assert codes == [401] * 5
    assert register(limited, "carol").status_code == 201  # the 6th attempt from this IP
    resp = login(limited, "user9")
    assert resp.status_code == 429
    assert conforms("auth_login", resp)["error"]["message"] == (
        "too many attempts from this address; retry later"
    )
    assert verifications == ["dummy"] * 5
    resp = register(limited, "dave")
    assert resp.status_code == 429
    assert conforms("auth_register", resp)["error"]["code"] == "rate_limited"
    assert "Retry-After" in resp.headers

    elsewhere = login(limited, "user9", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert elsewhere.status_code == 401


def test_limit_headers_on_an_accepted_login(limited: FlaskClient) -> None:
    register(limited, "alice")
    resp = login(limited, "alice")
    assert resp.status_code == 200
    assert resp.headers["X-RateLimit-Limit"] == "3"
    assert resp.headers["X-RateLimit-Remaining"] == "2"
    assert int(resp.headers["X-RateLimit-Reset"]) > 0
    assert "Retry-After" not in resp.headers  # only refusals carry it


def test_client_ip_comes_from_the_trusted_proxy_hop(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.setenv("LOGIN_LIMIT_IP", "2/minute")
    auth_env.setenv("PROXY_HOPS", "1")
    auth_env.setenv("SERVICE_TOKEN", GATEWAY_TOKEN)  # forwarding headers count from the gateway
    with running_app() as app:
        client = app.test_client()

        def attempt(forwarded_for: str) -> int:
            headers = {"X-Forwarded-For": forwarded_for, SERVICE_TOKEN_HEADER: GATEWAY_TOKEN}
            return login(client, "nobody", headers=headers).status_code

        assert [attempt("203.0.113.7") for _ in range(3)] == [401, 401, 429]
        assert attempt("198.51.100.1") == 401  # the gateway's other client
        # A client cannot escape by prepending its own entry: only the last hop is trusted.
        assert attempt("1.2.3.4, 203.0.113.7") == 429


def test_invalid_body_does_not_key_the_username_limit(limited: FlaskClient) -> None:
    # A body without a well-formed name is keyed by IP (and refused before any password check).
    for _ in range(3):
        assert (
            limited.post("/auth/login", json={"username": "x" * 40, "password": "p"}).status_code
            == 422
        )
    register(limited, "alice")
    assert login(limited, "alice").status_code == 200


def test_limit_keys_live_under_their_own_prefix(
    limited: FlaskClient, redis_client: redis.Redis
) -> None:
    login(limited, "alice", PASSWORD)
    keys = sorted(k.decode() for k in cast(list[bytes], redis_client.keys("*")))
    # but the mark of the app's deny-list keeper (auth_service.sessions), written at start
    keys = [k for k in keys if k != DENY_LIST_REBUILT_KEY]
    assert keys
    assert all(k.startswith("ratelimit:auth:") for k in keys)
    assert any("user:alice" in k for k in keys)
    assert any("ip:127.0.0.1" in k for k in keys)
