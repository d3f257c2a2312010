"""The gateway's own behaviour: forwarding, token checks, validation, rate limits,
load shedding and the OpenAPI document, against a stub service over real HTTP."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import threading
import time

import orjson
import redis
from flask import Flask
from werkzeug.serving import make_server

from api_gateway import create_app
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.names import access_revoked_key
from common.settings import Settings
from tests.support.http import Hold
from tests.support.processes import wait_until
from tests.unit.api_gateway.conftest import ROUTES


def _token(keys: SigningKeys, sub: str = "u1", **kw: object) -> str:
    return TokenService(keys, **kw).issue_access(sub, Role.USER)  # type: ignore[arg-type]


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_forwards_path_query_identity_and_trace(gateway: Flask, signing_keys: SigningKeys) -> None:
    resp = gateway.test_client().get(
        "/api/data/echo/NIFTY?n=5",
        headers={**_auth(_token(signing_keys, "alice")), "X-Trace-ID": "trace-42"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert resp.status_code == 200
    seen = resp.get_json()
    assert seen["path"] == "/data/echo/NIFTY?n=5"
    assert seen["headers"]["X-Trace-Id"] == "trace-42"
    assert seen["headers"]["X-Forwarded-For"] == "10.1.2.3"
    assert seen["headers"]["X-User-Id"] == "alice"
    assert seen["headers"]["X-User-Role"] == "user"
    assert "Authorization" not in seen["headers"]  # only auth_service sees the token
    assert resp.headers["X-Trace-ID"] == "trace-42"
    assert resp.headers["X-Cache"] == "hit"
    assert "X-Secret-Internal" not in resp.headers


def test_post_body_is_forwarded_as_sent(gateway: Flask) -> None:
    resp = gateway.test_client().post("/api/auth/echo", json={"name": "bob"})
    assert resp.status_code == 200
    assert json.loads(resp.get_json()["body"]) == {"name": "bob"}


def test_missing_token_is_401_with_challenge(gateway: Flask) -> None:
    resp = gateway.test_client().get("/api/data/echo/NIFTY")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.get_json()["error"]["code"] == "unauthorized"
    bad = gateway.test_client().get("/api/data/echo/NIFTY", headers={"Authorization": "Basic x"})
    assert bad.get_json()["error"]["code"] == "unauthorized"


def test_bad_tokens_are_rejected(
    gateway: Flask, signing_keys: SigningKeys, other_keys: SigningKeys
) -> None:
    client = gateway.test_client()
    good = _token(signing_keys)
    head, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    tampered = ".".join([head, _b64({**claims, "role": "admin"}), sig])
    alg_none = ".".join([_b64({"alg": "none", "typ": "JWT"}), payload, ""])
    hs256_header = _b64({"alg": "HS256", "typ": "JWT", "kid": signing_keys.kid})
    hs256 = ".".join([hs256_header, payload, sig])
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    expired = _token(signing_keys, clock=lambda: past)
    refresh = TokenService(signing_keys).issue_refresh("u1", Role.USER)
    cases = {
        tampered: "invalid_token",
        alg_none: "invalid_token",
        hs256: "invalid_token",
        _token(other_keys): "invalid_token",  # unknown key id
        expired: "token_expired",
        refresh: "invalid_token",  # a refresh token is not an access token
        "not.a.jwt": "invalid_token",
    }
    for token, code in cases.items():
        resp = client.get("/api/data/echo/NIFTY", headers=_auth(token))
        assert resp.status_code == 401, token
        assert resp.get_json()["error"]["code"] == code, token
    assert client.get("/api/data/echo/NIFTY", headers=_auth(good)).status_code == 200


def test_revoked_access_token_is_rejected(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    token = _token(signing_keys)
    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
    client = gateway.test_client()
    assert client.get("/api/data/echo/NIFTY", headers=_auth(token)).status_code == 200
    redis_client.set(access_revoked_key(jti), "1", ex=60)
    resp = client.get("/api/data/echo/NIFTY", headers=_auth(token))
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_revoked"


def test_validation_names_the_field(gateway: Flask, signing_keys: SigningKeys) -> None:
    client = gateway.test_client()
    headers = _auth(_token(signing_keys))
    cases = {
        "/api/data/echo/nifty": "product",
        "/api/data/echo/NIFTY?n=0": "n",
        "/api/data/echo/NIFTY?n=abc": "n",
        "/api/data/echo/NIFTY?zzz=1": "zzz",
    }
    for url, field in cases.items():
        resp = client.get(url, headers=headers)
        assert resp.status_code == 422, url
        assert list(resp.get_json()["error"]["fields"]) == [field], url
    missing = client.post("/api/auth/echo", json={})
    assert missing.status_code == 422
    assert list(missing.get_json()["error"]["fields"]) == ["name"]
    garbled = client.post("/api/auth/echo", data=b"{not json", content_type="application/json")
    assert garbled.status_code == 400
    assert garbled.get_json()["error"]["code"] == "bad_request"


def test_rate_limit_per_user_then_429_with_retry_after(
    gateway_settings: Settings, signing_keys: SigningKeys
) -> None:
    http = dataclasses.replace(gateway_settings.http, rate_limit_user="3/minute")
    app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
    client = app.test_client()
    alice, bob = _auth(_token(signing_keys, "alice")), _auth(_token(signing_keys, "bob"))
    answers = [client.get("/api/data/echo/NIFTY", headers=alice) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
        answers[0].headers.keys()
    )
    assert answers[3].headers["X-RateLimit-Limit"] == "3"  # the breached limit
    assert answers[3].headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert answers[3].get_json()["error"]["code"] == "rate_limited"
    assert client.get("/api/data/echo/NIFTY", headers=bob).status_code == 200  # per user


def test_rate_limit_per_ip_covers_anonymous_routes(gateway_settings: Settings) -> None:
    http = dataclasses.replace(gateway_settings.http, rate_limit_ip="2/minute")
    app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
    client = app.test_client()
    answers = [client.post("/api/auth/echo", json={"name": "x"}) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "60"  # the end of the one-minute window at most
    assert answers[2].get_json()["error"]["code"] == "rate_limited"
    other = client.post(
        "/api/auth/echo", json={"name": "x"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 200
    assert client.get("/healthz").status_code == 200  # health is never limited


def test_heavy_routes_are_shed_while_live_ones_serve(
    gateway_settings: Settings, signing_keys: SigningKeys, hold: Hold
) -> None:
    http = dataclasses.replace(gateway_settings.http, shed_inflight=1)
    app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
    headers = _auth(_token(signing_keys))
    slow = threading.Thread(
        target=lambda: app.test_client().get("/api/analytics/NIFTY/echo?hold=true", headers=headers)
    )
    slow.start()
    try:
        assert wait_until(lambda: hold.held == 1, 10), "the slow request never reached the service"
        shed = app.test_client().get("/api/analytics/NIFTY/echo", headers=headers)
        assert shed.status_code == 503
        assert shed.headers["Retry-After"] == "1"
        assert shed.get_json()["error"]["code"] == "overloaded"
        live = app.test_client().get("/api/data/echo/NIFTY", headers=headers)
        assert live.status_code == 200
    finally:
        hold.release.set()
        slow.join(10)
    assert app.test_client().get("/api/analytics/NIFTY/echo", headers=headers).status_code == 200


def test_unreachable_service_is_502_not_500(
    gateway_settings: Settings, signing_keys: SigningKeys
) -> None:
    from common.embedded_redis import free_port

    http = dataclasses.replace(gateway_settings.http, storage_url=f"http://127.0.0.1:{free_port()}")
    app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
    resp = app.test_client().get("/api/data/echo/NIFTY", headers=_auth(_token(signing_keys)))
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "upstream_unavailable"
    assert app.test_client().get("/readyz").status_code == 503


def test_openapi_document_and_docs(gateway: Flask) -> None:
    client = gateway.test_client()
    doc = orjson.loads(client.get("/api/openapi.json").data)
    assert doc["openapi"].startswith("3.")
    op = doc["paths"]["/api/data/echo/{product}"]["get"]
    assert op["operationId"] == "echo_live"
    assert op["security"] == [{"bearerAuth": []}]
    assert {"200", "401", "422", "429"} <= set(op["responses"])
    params = {p["name"]: p for p in op["parameters"]}
    assert params["product"]["in"] == "path"
    assert params["n"]["in"] == "query"
    assert "security" not in doc["paths"]["/api/auth/echo"]["post"]
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert b"/api/docs/static/swagger-ui-bundle.js" in page.data
    asset = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()


def test_malformed_token_headers_are_401_not_500(gateway: Flask) -> None:
    payload = _b64({"sub": "u1"})
    for header in ({"alg": "RS256", "kid": 123}, {"alg": "RS256", "kid": "x", "crit": ["foo"]}):
        token = f"{_b64(header)}.{payload}.c2ln"
        resp = gateway.test_client().get("/api/data/echo/NIFTY", headers=_auth(token))
        assert resp.status_code == 401, header
        assert resp.get_json()["error"]["code"] == "invalid_token"


def test_forged_tokens_count_against_the_ip_limit(gateway_settings: Settings) -> None:
    http = dataclasses.replace(gateway_settings.http, rate_limit_ip="3/minute")
    app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
    client = app.test_client()
    codes = [
        client.get("/api/data/echo/NIFTY", headers=_auth("forged.token.x")).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_undecodable_input_is_400(gateway: Flask, signing_keys: SigningKeys) -> None:
    client = gateway.test_client()
    deep = b"[" * 5000 + b"]" * 5000
    for body in (deep, b"[1, 2]", b'"text"', b"", b"\xff\xfe"):
        resp = client.post("/api/auth/echo", data=body, content_type="application/json")
        assert resp.status_code == 400, body[:10]
        assert resp.get_json()["error"]["code"] == "bad_request"
    raw = client.get(
        "/api/data/echo/NIFTY",
        headers=_auth(_token(signing_keys)),
        environ_overrides={"QUERY_STRING": "n=1&x\xff=1"},
    )
    assert raw.status_code == 400


def test_retry_after_only_where_it_means_something(
    gateway: Flask, signing_keys: SigningKeys
) -> None:
    ok = gateway.test_client().get("/api/data/echo/NIFTY", headers=_auth(_token(signing_keys)))
    assert ok.status_code == 200
    assert "Retry-After" not in ok.headers
    assert "X-RateLimit-Retry-After" not in ok.headers
    assert ok.headers["X-RateLimit-Limit"] == "1000"  # the per-user limit's figures


def test_a_cached_token_stops_working_when_its_key_is_withdrawn(
    gateway_settings: Settings, signing_keys: SigningKeys, other_keys: SigningKeys
) -> None:
    published = {"keys": signing_keys}
    stub = Flask("rotating")

    @stub.get("/auth/jwks.json")
    def jwks() -> object:
        return published["keys"].jwks()

    @stub.get("/data/echo/<product>")
    def echo(product: str) -> object:
        return {"path": product}

    server = make_server("127.0.0.1", 0, stub, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        http = dataclasses.replace(
            gateway_settings.http, auth_url=url, storage_url=url, jwks_ttl_s=1
        )
        app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
        client = app.test_client()
        old = _auth(_token(signing_keys))
        assert client.get("/api/data/echo/NIFTY", headers=old).status_code == 200
        assert client.get("/api/data/echo/NIFTY", headers=old).status_code == 200  # cached
        published["keys"] = other_keys  # rotated: the old key is withdrawn
        time.sleep(1.1)  # the JWKS is due again
        withdrawn = client.get("/api/data/echo/NIFTY", headers=old)
        assert withdrawn.status_code == 401
        assert withdrawn.get_json()["error"]["code"] == "invalid_token"
        new = _auth(_token(other_keys))
        assert client.get("/api/data/echo/NIFTY", headers=new).status_code == 200
    finally:
        server.shutdown()
        thread.join(5)
