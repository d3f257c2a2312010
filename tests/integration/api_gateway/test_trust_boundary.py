"""Issue 16, the closed trust boundary, with real processes: auth, storage, analytics,
logging, alert and paper_service under gunicorn answer only the gateway, which presents
``SERVICE_TOKEN``; a direct caller is refused whatever ``X-Forwarded-For`` it invents, and
cannot read the logs; the socket gateway's JWKS fetch presents the credential too."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from common.embedded_redis import EmbeddedRedis
from common.redis_client import redis_db_url
from common.settings import load_settings
from common.web.servicecred import SERVICE_TOKEN_HEADER
from socket_gateway.jwksfetch import jwks_fetcher
from tests.integration.api_gateway.conftest import SERVICE_TOKEN, Stack, start_stack

pytestmark = pytest.mark.redis

TRUST_DB = 4
"""A database of the session's Redis for this module alone (its login windows)."""
INTERNAL = (
    "auth_service", "storage_service", "analytics_service", "logging_service", "alert_service",
    "paper_service",
)  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Stack]:
    started = start_stack(
        tmp_path_factory.mktemp("trust-stack"),
        redis_db_url(redis_server.url, TRUST_DB),
        {"LOGIN_LIMIT_IP": "4/minute", "LOGIN_LIMIT_USER": "100/minute"},
        services=INTERNAL,
    )
    try:
        started.create_admin("root")
        yield started
    finally:
        started.procs.close()


def _url(stack: Stack, service: str) -> str:
    return stack.procs.env[service.upper().replace("_SERVICE", "_SERVICE_URL")]


def _call(
    url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, json.loads(raw) if raw else None


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("auth_service", "/auth/jwks.json"),
        ("storage_service", "/products"),
        ("analytics_service", "/analytics/NIFTY/series"),
        ("logging_service", "/logs"),
        ("alert_service", "/alerts"),
        ("paper_service", "/strategies"),
    ],
)
def test_a_direct_caller_is_refused_by_every_internal_service(
    stack: Stack, service: str, path: str
) -> None:
    url = _url(stack, service) + path
    for headers in ({}, {SERVICE_TOKEN_HEADER: "not-the-token-" + "x" * 32}):
        status, body = _call(url, headers=headers)
        assert status == 401, (service, headers, body)
        assert body["error"]["code"] == "service_credential_required"
    # The orchestrator's probes and Prometheus need no credential.
    for open_path in ("/healthz", "/readyz", "/metrics"):
        req = urllib.request.Request(_url(stack, service) + open_path)
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200, (service, open_path)


def test_a_fresh_forwarded_for_each_time_no_longer_escapes_the_login_limit(stack: Stack) -> None:
    """Before: 4 logins per minute per IP, and each direct call claiming a new address in
    X-Forwarded-For (PROXY_HOPS=1) got a window of its own: all 10 were checked against the
    password (invalid_credentials), none rate limited. Now none reaches the password check."""
    auth = _url(stack, "auth_service") + "/auth/login"
    creds = {"username": "victim", "password": "wrong-password-1"}
    answers = [
        _call(auth, "POST", creds, {"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(10)
    ]
    assert [(status, body["error"]["code"]) for status, body in answers] == [
        (401, "service_credential_required")
    ] * 10


def test_forwarded_for_is_honoured_from_the_gateway_alone(stack: Stack) -> None:
    """With the credential (as the gateway sends it), the last X-Forwarded-For entry is the
    client: 4 attempts per minute from one address, then 429; another address is counted
    apart."""
    auth = _url(stack, "auth_service") + "/auth/login"
    creds = {"username": "nobody", "password": "wrong-password-1"}

    def attempt(ip: str) -> int:
        return _call(
            auth, "POST", creds, {SERVICE_TOKEN_HEADER: SERVICE_TOKEN, "X-Forwarded-For": ip}
        )[0]

    assert [attempt("203.0.113.7") for _ in range(5)] == [401, 401, 401, 401, 429]
    assert attempt("203.0.113.8") == 401


def test_the_gateway_presents_the_credential_on_every_route(stack: Stack) -> None:
    pair = stack.login("trader")
    status, products = stack.json("GET", "/api/products", token=pair["access_token"])
    assert status == 200, products  # storage, reached with the JWKS auth gave the gateway
    status, body = stack.json("GET", "/readyz")
    assert status == 200, body


def _sign_in(stack: Stack, username: str) -> str:
    body = {"username": username, "password": "correct-horse-1"}
    status, pair = stack.json("POST", "/api/auth/login", body=body)
    assert status == 200, pair
    return str(pair["access_token"])


def test_logs_are_for_admins_through_the_gateway_and_nobody_directly(stack: Stack) -> None:
    # The gateway's logins all come from 127.0.0.1 (4 a minute): sign in without registering.
    admin, user = _sign_in(stack, "root"), _sign_in(stack, "trader")
    assert stack.json("GET", "/api/logs?limit=5", token=admin)[0] == 200
    assert stack.json("GET", "/api/logs?limit=5", token=user)[0] == 403
    direct = _url(stack, "logging_service") + "/logs?limit=5"
    assert _call(direct)[0] == 401
    assert _call(direct, headers={"X-User-Role": "admin"})[0] == 401
    # Even with the credential, the service wants the gateway's word that the caller is admin.
    assert _call(direct, headers={SERVICE_TOKEN_HEADER: SERVICE_TOKEN})[0] == 403
    as_admin = {SERVICE_TOKEN_HEADER: SERVICE_TOKEN, "X-User-Role": "admin"}
    assert _call(direct, headers=as_admin)[0] == 200


def test_the_socket_gateway_fetches_the_jwks_with_the_credential(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SERVICE_TOKEN_FILE", raising=False)
    monkeypatch.setenv("SERVICE_TOKEN", SERVICE_TOKEN)
    settings = load_settings()
    http = dataclasses.replace(settings.http, auth_url=_url(stack, "auth_service"))
    document = jwks_fetcher(dataclasses.replace(settings, http=http))()
    assert [key["kty"] for key in document["keys"]] == ["RSA"]
    without = dataclasses.replace(settings.trust, service_token=None)
    with pytest.raises(RuntimeError, match="JWKS answered 401"):
        jwks_fetcher(dataclasses.replace(settings, http=http, trust=without))()
