"""Routes for some roles only: ``GET /api/logs`` (the gateway's real route table) answers
403 to a user's token before validating or forwarding anything, forwards an admin's to
logging_service, and keeps 401 for a missing or bad token."""

from __future__ import annotations

import base64
import dataclasses
import json

import orjson
import pytest
import redis
from flask import Flask

from api_gateway import create_app
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.api.logs import ROUTES as LOGS_ROUTES
from common.api.routes import Priority, RouteSpec, Upstream
from common.names import access_revoked_key
from common.settings import Settings
from tests.support.processes import free_port


def _auth(keys: SigningKeys, role: Role, sub: str = "u1") -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenService(keys).issue_access(sub, role)}"}


@pytest.fixture
def public_gateway(gateway_settings: Settings) -> Flask:
    """The gateway with its real route table, every service being the echoing stub."""
    return create_app(gateway_settings)


def _without_logging_service(settings: Settings) -> Flask:
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    http = dataclasses.replace(settings.http, logging_url=nobody)
    return create_app(dataclasses.replace(settings, http=http))


def test_an_admin_token_is_forwarded_to_logging_service(
    public_gateway: Flask, signing_keys: SigningKeys
) -> None:
    resp = public_gateway.test_client().get(
        "/api/logs?trace_id=trace-7&level=warning&order=desc",
        headers={**_auth(signing_keys, Role.ADMIN, "root"), "X-Trace-ID": "trace-asking"},
    )
    assert resp.status_code == 200, resp.get_json()
    seen = resp.get_json()
    assert seen["path"] == "/logs?trace_id=trace-7&level=warning&order=desc"  # as sent
    assert seen["headers"]["X-User-Id"] == "root"
    assert seen["headers"]["X-User-Role"] == "admin"
    assert seen["headers"]["X-Trace-Id"] == "trace-asking"
    assert "Authorization" not in seen["headers"]


def test_a_user_token_is_403_in_the_error_shape(
    public_gateway: Flask, signing_keys: SigningKeys
) -> None:
    resp = public_gateway.test_client().get(
        "/api/logs?trace_id=trace-7",
        headers={**_auth(signing_keys, Role.USER), "X-Trace-ID": "trace-refused"},
    )
    assert resp.status_code == 403
    assert resp.get_json() == {
        "error": {
            "code": "forbidden",
            "message": "this route needs the admin role",
            "fields": {},
            "trace_id": "trace-refused",
        }
    }
    assert "WWW-Authenticate" not in resp.headers  # authenticated; re-authenticating won't help
    # refused before validation: a user learns nothing about the route's parameters
    bad = public_gateway.test_client().get(
        "/api/logs?level=LOUD", headers=_auth(signing_keys, Role.USER)
    )
    assert bad.status_code == 403


def test_the_role_is_checked_before_anything_is_forwarded(
    gateway_settings: Settings, signing_keys: SigningKeys
) -> None:
    client = _without_logging_service(gateway_settings).test_client()
    assert client.get("/api/logs", headers=_auth(signing_keys, Role.USER)).status_code == 403
    forwarded = client.get("/api/logs", headers=_auth(signing_keys, Role.ADMIN))
    assert forwarded.status_code == 502
    assert forwarded.get_json()["error"]["code"] == "upstream_unavailable"


def test_no_or_a_bad_token_stays_401(
    public_gateway: Flask, signing_keys: SigningKeys, other_keys: SigningKeys
) -> None:
    client = public_gateway.test_client()
    missing = client.get("/api/logs")
    assert missing.status_code == 401
    assert missing.get_json()["error"]["code"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    foreign = client.get("/api/logs", headers=_auth(other_keys, Role.ADMIN))
    assert foreign.status_code == 401
    assert foreign.get_json()["error"]["code"] == "invalid_token"


def test_a_revoked_admin_token_is_401_not_forwarded(
    public_gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    headers = _auth(signing_keys, Role.ADMIN)
    client = public_gateway.test_client()
    assert client.get("/api/logs", headers=headers).status_code == 200
    token = headers["Authorization"].split()[1]
    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
    redis_client.set(access_revoked_key(jti), "1", ex=60)
    resp = client.get("/api/logs", headers=headers)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_revoked"


def test_an_admin_token_is_validated_like_any_other(
    public_gateway: Flask, signing_keys: SigningKeys
) -> None:
    resp = public_gateway.test_client().get(
        "/api/logs?level=LOUD", headers=_auth(signing_keys, Role.ADMIN)
    )
    assert resp.status_code == 422
    assert list(resp.get_json()["error"]["fields"]) == ["level"]


def test_routes_without_roles_take_any_role(
    public_gateway: Flask, signing_keys: SigningKeys
) -> None:
    client = public_gateway.test_client()
    for role in Role:
        resp = client.get("/api/analytics/NIFTY/surface", headers=_auth(signing_keys, role))
        assert resp.status_code == 200, role


def test_the_document_tells_which_routes_need_a_role(public_gateway: Flask) -> None:
    doc = orjson.loads(public_gateway.test_client().get("/api/openapi.json").data)
    op = doc["paths"]["/api/logs"]["get"]
    assert op["operationId"] == "logs_query"
    assert op["tags"] == ["logs"]
    assert op["security"] == [{"bearerAuth": []}]
    assert "admin" in op["description"]
    assert {"200", "401", "403", "422", "503"} <= set(op["responses"])
    assert op["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert {p["name"] for p in op["parameters"]} == {
        "trace_id", "service", "level", "start", "end", "limit", "order",
    }  # fmt: skip
    others = [
        (path, method)
        for path, ops in doc["paths"].items()
        for method, other in ops.items()
        if method != "parameters" and path != "/api/logs" and "403" in other["responses"]
    ]
    # refresh and logout answer 403 to a cookie request without its CSRF token (issue 16)
    assert others == [("/api/auth/refresh", "post"), ("/api/auth/logout", "post")]


def test_the_logs_route_is_admin_only_and_shed_under_load() -> None:
    (spec,) = LOGS_ROUTES
    assert (spec.method, spec.path, spec.upstream) == ("GET", "/logs", Upstream.LOGGING)
    assert spec.auth
    assert spec.roles == frozenset({Role.ADMIN})
    assert spec.priority is Priority.HEAVY
    assert spec.allows(Role.ADMIN)
    assert not spec.allows(Role.USER)


def test_a_role_needs_authentication() -> None:
    base = RouteSpec("x", "GET", "/x", Upstream.LOGGING, "X", {200: None})
    assert base.allows(Role.USER)  # no roles: any authenticated token
    with pytest.raises(ValueError, match="roles"):
        dataclasses.replace(base, auth=False, roles=frozenset({Role.ADMIN}))
    with pytest.raises(ValueError, match="roles"):
        dataclasses.replace(base, roles=frozenset())


def test_readiness_does_not_wait_for_logging_service(gateway_settings: Settings) -> None:
    resp = _without_logging_service(gateway_settings).test_client().get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert set(resp.get_json()["checks"]) == {
        "redis", "auth", "storage", "analytics", "alerts", "paper",
    }  # fmt: skip
