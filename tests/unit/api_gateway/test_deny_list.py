"""The deny-list after Redis lost it (issue 16): a gateway that has seen the list whole
refuses tokens with 503 until auth_service has written it back, instead of letting a
logged-out token through for that second."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from flask import Flask

from auth_service.keys import SigningKeys
from auth_service.tokens import Role, TokenService
from common.access import DenyList, DenyListLost
from common.names import DENY_LIST_MARK_KEY, access_revoked_key
from tests.support.latest import put_underlying

ROUTES = ("/api/data/echo/NIFTY", "/api/data/edge/NIFTY")
"""A forwarded route and one the gateway answers from Redis (its check shares the read)."""


def _token(keys: SigningKeys) -> tuple[str, dict[str, str]]:
    token = TokenService(keys).issue_access("u1", Role.USER)
    jti = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["jti"]
    return jti, {"Authorization": f"Bearer {token}"}


def _statuses(gateway: Flask, headers: dict[str, str]) -> list[int]:
    client = gateway.test_client()
    return [client.get(url, headers=headers).status_code for url in ROUTES]


def test_a_logged_out_token_is_refused_while_the_list_is_lost(
    gateway: Flask, signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    put_underlying(redis_client, "NIFTY", b'{"product": "NIFTY"}')
    jti, headers = _token(signing_keys)
    # A first start: nothing marked yet, tokens judged by their entries.
    assert _statuses(gateway, headers) == [200, 200]
    redis_client.set(DENY_LIST_MARK_KEY, "run-1")  # auth_service marked the list whole
    redis_client.set(access_revoked_key(jti), "1", ex=60)  # logged out
    assert _statuses(gateway, headers) == [401, 401]

    redis_client.flushdb()  # Redis back empty: the entry and the mark are gone
    put_underlying(redis_client, "NIFTY", b'{"product": "NIFTY"}')
    client = gateway.test_client()
    for url in ROUTES:
        resp = client.get(url, headers=headers)
        assert resp.status_code == 503, url  # was 200: the logged-out token passed
        assert resp.headers["Retry-After"] == "1"
        assert resp.get_json()["error"]["code"] == "unavailable"
        assert resp.headers.get("X-Cache") is None  # nothing cached was served

    # auth_service writes the list back from the store, then the mark.
    redis_client.set(access_revoked_key(jti), "1", ex=60)
    redis_client.set(DENY_LIST_MARK_KEY, "run-2")
    assert _statuses(gateway, headers) == [401, 401]
    _, other = _token(signing_keys)
    assert _statuses(gateway, other) == [200, 200]


def test_the_judgement() -> None:
    deny = DenyList()
    assert deny.judge([None, None]) is False  # never marked: a first start
    assert deny.judge([b"1", None]) is True
    assert deny.judge([None, b"run-1"]) is False
    assert deny.seen_mark
    assert deny.judge([b"1", b"run-1"]) is True
    with pytest.raises(DenyListLost):
        deny.judge([None, None])
    with pytest.raises(DenyListLost):
        deny.judge([b"1", None])  # an entry without the mark: the list may be partial
    assert isinstance(DenyListLost("x"), redis.ConnectionError)  # 503 wherever Redis is
