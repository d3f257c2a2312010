"""Latest data answered by the gateway from Redis (``RouteSpec.edge_key``): a hit is the
cached bytes after every check, anything else goes to the service."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json

import pytest
import redis
from flask import Flask
from limits.storage import RedisStorage

from api_gateway import create_app
from api_gateway.edge import EDGE_READS
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.latest import Entry
from common.names import access_revoked_key
from common.settings import Settings
from tests.support.latest import put_underlying
from tests.unit.api_gateway.conftest import ROUTES

CACHED = b'{"product": "NIFTY", "seq": 7, "note": "exact bytes, spacing kept"}'


def _auth(keys: SigningKeys, sub: str = "u1") -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenService(keys).issue_access(sub, Role.USER)}"}


def _reads(result: str) -> float:
    return EDGE_READS.labels("echo_edge", result)._value.get()


def test_a_hit_is_the_cached_bytes_with_the_gateways_headers(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    put_underlying(redis_client, "NIFTY", CACHED)
    hits = _reads("hit")
    resp = gateway.test_client().get(
        "/api/data/edge/NIFTY", headers={**_auth(signing_keys), "X-Trace-ID": "edge-1"}
    )
    assert resp.status_code == 200
    assert resp.data == CACHED  # not the stub's echo
    assert resp.content_type == "application/json"
    assert resp.headers["X-Cache"] == "hit"
    assert resp.headers["X-Trace-ID"] == "edge-1"
    assert resp.headers["X-RateLimit-Limit"] == "1000"
    assert resp.headers["X-RateLimit-Remaining"] == "999"
    assert _reads("hit") == hits + 1


def test_a_miss_or_no_key_is_forwarded(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    client = gateway.test_client()
    misses = _reads("miss")
    resp = client.get("/api/data/edge/NIFTY", headers=_auth(signing_keys))
    assert resp.status_code == 200
    assert resp.get_json()["path"] == "/data/edge/NIFTY"  # the service answered
    assert _reads("miss") == misses + 1
    put_underlying(redis_client, "NIFTY", CACHED)
    resp = client.get("/api/data/edge/NIFTY?n=3", headers=_auth(signing_keys))
    assert resp.get_json()["path"] == "/data/edge/NIFTY?n=3"  # edge_key gave None


def test_checks_come_first(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    put_underlying(redis_client, "NIFTY", CACHED)
    put_underlying(redis_client, "nifty", CACHED)
    client = gateway.test_client()
    assert client.get("/api/data/edge/NIFTY").status_code == 401
    bad = client.get("/api/data/edge/nifty", headers=_auth(signing_keys))
    assert bad.status_code == 422
    assert list(bad.get_json()["error"]["fields"]) == ["product"]
    bad = client.get("/api/data/edge/NIFTY?n=0", headers=_auth(signing_keys))
    assert bad.status_code == 422
    assert list(bad.get_json()["error"]["fields"]) == ["n"]


def _gets(client: redis.Redis) -> int:
    """GET commands Redis has run so far."""
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_get", {}).get("calls", 0))


def test_nothing_is_read_for_a_request_refused_by_a_check(
    gateway_settings: Settings, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    http = dataclasses.replace(gateway_settings.http, rate_limit_user="1/minute")
    app = create_app(dataclasses.replace(gateway_settings, http=http), routes=ROUTES)
    put_underlying(redis_client, "NIFTY", CACHED)
    client = app.test_client()
    assert client.get("/api/data/edge/NIFTY", headers=_auth(signing_keys)).data == CACHED
    before = _gets(redis_client)
    throttled = client.get("/api/data/edge/NIFTY", headers=_auth(signing_keys))
    assert throttled.status_code == 429  # the limit wins over a cached answer
    invalid = client.get("/api/data/edge/NIFTY?bogus=1", headers=_auth(signing_keys, "u2"))
    assert invalid.status_code == 422
    assert _gets(redis_client) == before  # neither read the cached chain


def test_the_limit_headers_come_from_the_hit_itself(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def no_read(*_args: object) -> None:
        raise AssertionError("a window read after the hit")

    monkeypatch.setattr(RedisStorage, "get", no_read)
    monkeypatch.setattr(RedisStorage, "get_expiry", no_read)
    put_underlying(redis_client, "NIFTY", CACHED)
    client = gateway.test_client()
    remaining = [
        client.get("/api/data/edge/NIFTY", headers=_auth(signing_keys)).headers[
            "X-RateLimit-Remaining"
        ]
        for _ in range(3)
    ]
    assert remaining == ["999", "998", "997"]


def test_an_error_reading_the_key_is_forwarded(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    redis_client.hset(Entry("NIFTY").key, "not", "a string")  # GET answers WRONGTYPE
    errors = _reads("error")
    resp = gateway.test_client().get("/api/data/edge/NIFTY", headers=_auth(signing_keys))
    assert resp.status_code == 200
    assert resp.get_json()["path"] == "/data/edge/NIFTY"
    assert _reads("error") == errors + 1


def test_a_revoked_token_gets_no_cached_answer(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    put_underlying(redis_client, "NIFTY", CACHED)
    token = TokenService(signing_keys).issue_access("u9", Role.USER)
    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
    redis_client.set(access_revoked_key(jti), 1)
    client = gateway.test_client()
    for path in ("/api/data/edge/NIFTY", "/api/data/edge/NIFTY?n=2"):  # hit, and forwarded
        resp = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 401, path
        assert resp.get_json()["error"]["code"] == "token_revoked"


def test_a_hit_is_dated_against_its_products_limit(
    gateway_settings: Settings, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    origin = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC).timestamp()
    now = [origin + 7.25]  # 7.25 s after the origin: stale for NIFTY (5 s), not for BTC (10 s)
    client = create_app(gateway_settings, routes=ROUTES, clock=lambda: now[0]).test_client()
    for product in ("NIFTY", "BTC"):
        body = b'{"product":"%s","timestamp":"2026-12-02T10:00:00.000Z","seq":7}' % product.encode()
        put_underlying(redis_client, product, body)

    nifty = client.get("/api/data/edge/NIFTY", headers=_auth(signing_keys))
    btc = client.get("/api/data/edge/BTC", headers=_auth(signing_keys))

    assert nifty.data == (
        b'{"data_age_stale":true,"data_age_s":7.25,'
        b'"product":"NIFTY","timestamp":"2026-12-02T10:00:00.000Z","seq":7}'
    )
    assert (nifty.headers["X-Data-Age"], nifty.headers["X-Data-Age-Limit"]) == ("7.250", "5")
    assert nifty.headers["X-Data-Age-Stale"] == "true"
    assert "X-Data-Stale" not in nifty.headers  # the cache's notion: not involved
    assert btc.data == b'{"product":"BTC","timestamp":"2026-12-02T10:00:00.000Z","seq":7}'
    assert (btc.headers["X-Data-Age"], btc.headers["X-Data-Age-Limit"]) == ("7.250", "10")
    assert "X-Data-Age-Stale" not in btc.headers
    now[0] = origin + 10.5
    late = client.get("/api/data/edge/BTC", headers=_auth(signing_keys))
    assert late.headers["X-Data-Age-Stale"] == "true"
    assert late.get_json()["data_age_s"] == 10.5


def test_a_hit_without_an_origin_timestamp_has_no_age(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    put_underlying(redis_client, "NIFTY", CACHED)
    resp = gateway.test_client().get("/api/data/edge/NIFTY", headers=_auth(signing_keys))
    assert resp.data == CACHED
    assert not {"X-Data-Age", "X-Data-Age-Stale"} & set(resp.headers.keys())
