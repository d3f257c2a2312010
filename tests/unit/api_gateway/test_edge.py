"""Latest data answered by the gateway from Redis (``RouteSpec.edge_key``): a hit is the
cached bytes after every check, anything else goes to the service."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from flask import Flask

from api_gateway.edge import EDGE_READS
from api_gateway.proxy import REDIS_EXTENSION
from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.names import access_revoked_key

CACHED = b'{"product": "NIFTY", "seq": 7, "note": "exact bytes, spacing kept"}'


def _auth(keys: SigningKeys, sub: str = "u1") -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenService(keys).issue_access(sub, Role.USER)}"}


def _reads(result: str) -> float:
    return EDGE_READS.labels("echo_edge", result)._value.get()


def test_a_hit_is_the_cached_bytes_with_the_gateways_headers(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    redis_client.set("edge:NIFTY", CACHED)
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
    redis_client.set("edge:NIFTY", CACHED)
    resp = client.get("/api/data/edge/NIFTY?n=3", headers=_auth(signing_keys))
    assert resp.get_json()["path"] == "/data/edge/NIFTY?n=3"  # edge_key gave None


def test_checks_come_first(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    redis_client.set("edge:NIFTY", CACHED)
    redis_client.set("edge:nifty", CACHED)
    client = gateway.test_client()
    assert client.get("/api/data/edge/NIFTY").status_code == 401
    bad = client.get("/api/data/edge/nifty", headers=_auth(signing_keys))
    assert bad.status_code == 422
    assert list(bad.get_json()["error"]["fields"]) == ["product"]
    bad = client.get("/api/data/edge/NIFTY?n=0", headers=_auth(signing_keys))
    assert bad.status_code == 422
    assert list(bad.get_json()["error"]["fields"]) == ["n"]


def _failing_get(name: str) -> bytes:
    raise redis.ConnectionError(f"lost while reading {name}")


def test_the_read_shares_the_deny_list_round_trip(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    redis_client.set("edge:NIFTY", CACHED)
    monkeypatch.setattr(gateway.extensions[REDIS_EXTENSION], "get", _failing_get)
    resp = gateway.test_client().get("/api/data/edge/NIFTY", headers=_auth(signing_keys))
    assert resp.data == CACHED  # read with the deny-list check, no GET of its own


def test_the_validated_key_is_read_when_the_raw_one_differs(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    redis_client.set("edge:NIFTY:07", b'{"wrong": "raw key"}')
    redis_client.set("edge:NIFTY:7", CACHED)
    resp = gateway.test_client().get("/api/data/edge/NIFTY?v=07", headers=_auth(signing_keys))
    assert resp.data == CACHED


def test_a_redis_error_on_the_read_is_forwarded(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    redis_client.set("edge:NIFTY:7", CACHED)
    monkeypatch.setattr(gateway.extensions[REDIS_EXTENSION], "get", _failing_get)
    errors = _reads("error")
    resp = gateway.test_client().get("/api/data/edge/NIFTY?v=07", headers=_auth(signing_keys))
    assert resp.status_code == 200
    assert resp.get_json()["path"] == "/data/edge/NIFTY?v=07"
    assert _reads("error") == errors + 1


def test_a_revoked_token_gets_no_cached_answer(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    redis_client.set("edge:NIFTY", CACHED)
    token = TokenService(signing_keys).issue_access("u9", Role.USER)
    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
    redis_client.set(access_revoked_key(jti), 1)
    resp = gateway.test_client().get(
        "/api/data/edge/NIFTY", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] == "token_revoked"
