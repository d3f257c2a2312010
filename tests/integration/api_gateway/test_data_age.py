"""The newest data's age through the real gateway and storage_service: an answer whose
origin timestamp is older than its product's ``stale_after_s`` is marked (body members and
headers), whichever process answered it (the gateway from ``latest:*``, or storage_service
from the store), and a fresh one is not."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis

from common.redis_client import make_redis
from common.timestamps import format_ts
from optionsmath import enrich_chain
from store import open_store
from tests.integration.api_gateway.conftest import Stack
from tests.support.chains import build_chain
from tests.support.latest import put_chain

EXPIRY = "2099-12-31"


def _chain(product: str, age_s: float, seq: int = 7) -> bytes:
    """A real enriched chain of ``product`` whose origin is ``age_s`` seconds ago."""
    origin = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s)
    raw = build_chain(seq=seq, product=product, expiry=EXPIRY, timestamp=format_ts(origin))
    return orjson.dumps(enrich_chain(raw, processed_at=format_ts(origin)))


@pytest.fixture
def client(stack: Stack) -> Iterator[redis.Redis]:
    found = make_redis(stack.redis_url)
    yield found
    found.close()


@pytest.fixture
def token(stack: Stack) -> str:
    return str(stack.login("age-reader")["access_token"])


def _get(stack: Stack, path: str, token: str) -> tuple[dict[str, str], bytes, Any]:
    status, headers, body = stack.request("GET", path, token=token)
    assert status == 200, body
    return headers, body, json.loads(body)


def test_a_two_minute_old_chain_is_marked_and_a_fresh_one_is_not(
    stack: Stack, client: redis.Redis, token: str
) -> None:
    old = _chain("NIFTY", 120.0)
    put_chain(client, "NIFTY", EXPIRY, old)
    headers, body, doc = _get(stack, f"/api/data/chain/NIFTY?expiry={EXPIRY}", token)
    assert headers["X-Cache"] == "hit"  # the gateway's own read of latest:*
    assert headers["X-Data-Age-Stale"] == "true"
    assert headers["X-Data-Age-Limit"] == "5"
    assert 120.0 <= float(headers["X-Data-Age"]) < 180.0
    assert doc["data_age_stale"] is True
    assert doc["data_age_s"] == float(headers["X-Data-Age"])
    assert body.endswith(old[1:])  # the workers' bytes, the two members in front
    assert "X-Data-Stale" not in headers
    assert "stale" not in doc

    fresh = _chain("NIFTY", 0.0, seq=8)
    put_chain(client, "NIFTY", EXPIRY, fresh)
    headers, body, _ = _get(stack, f"/api/data/chain/NIFTY?expiry={EXPIRY}", token)
    assert body == fresh  # the exact bytes
    assert "X-Data-Age-Stale" not in headers
    assert 0.0 <= float(headers["X-Data-Age"]) < 5.0


def test_the_limit_is_the_products(stack: Stack, client: redis.Redis, token: str) -> None:
    # 7 s old: past NIFTY's 5 s (a chain a second), within BTC's 10 s (Deribit's)
    for product in ("NIFTY", "BTC"):
        put_chain(client, product, EXPIRY, _chain(product, 7.0))
    nifty, _, nifty_doc = _get(stack, f"/api/data/chain/NIFTY?expiry={EXPIRY}", token)
    btc, _, btc_doc = _get(stack, f"/api/data/chain/BTC?expiry={EXPIRY}", token)
    assert (nifty["X-Data-Age-Limit"], nifty.get("X-Data-Age-Stale")) == ("5", "true")
    assert nifty_doc["data_age_stale"] is True
    assert (btc["X-Data-Age-Limit"], btc.get("X-Data-Age-Stale")) == ("10", None)
    assert "data_age_stale" not in btc_doc
    assert float(btc["X-Data-Age"]) >= 7.0


def test_a_chain_from_the_store_is_marked_through_the_gateway(
    stack: Stack, client: redis.Redis, token: str
) -> None:
    old = orjson.loads(_chain("BANKNIFTY", 120.0))
    store = open_store(stack.store_url)
    try:
        store.insert_chains([old])
    finally:
        store.close()
    client.delete(f"cache:chain:BANKNIFTY:{EXPIRY}")
    # Nothing in latest:*: the gateway forwards, storage_service reads the store and dates
    # the answer; the gateway passes its headers back.
    headers, _, doc = _get(stack, f"/api/data/chain/BANKNIFTY?expiry={EXPIRY}", token)
    assert headers["X-Cache"] == "miss"
    assert headers["X-Data-Age-Stale"] == "true"
    assert headers["X-Data-Age-Limit"] == "5"
    assert 120.0 <= float(headers["X-Data-Age"]) < 180.0
    assert doc["data_age_stale"] is True
    assert doc["seq"] == old["seq"]
    assert {k: v for k, v in doc.items() if not k.startswith("data_age")} == old
