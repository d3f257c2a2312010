"""The newest chain and underlying: ``latest:*`` bytes first, the store as the chain's fallback."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from flask import Flask

from common.api.data import ChainResponse, ProductsResponse, UnderlyingResponse
from common.latest import LatestReader
from common.settings import Settings
from storage_service import create_app
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain, put_underlying
from tests.support.messages import TICK
from tests.support.snapshots import EXPIRY_2, enriched, small
from tests.unit.storage_service.read_api.conftest import AppFactory
from tests.unit.storage_service.read_api.faults import FaultyStore
from tests.unit.storage_service.read_api.support import (
    N_SNAPSHOTS,
    NOW,
    PAST_EXPIRY,
    cache_requests,
    context,
    error_fields,
    store_calls,
)


def _underlying() -> dict[str, Any]:
    candle = {"start": "2026-11-21T04:00:00.000Z", "open": 24000.0, "high": 24020.0,
              "low": 23990.0, "close": 24012.5, "volume": 1200}  # fmt: skip
    return {**TICK, "ohlc_1min": candle, "ohlc_5min": candle, "ohlc_15min": candle,
            "volume_1min": 1200, "processed_at": "2026-11-21T04:00:00.130Z"}  # fmt: skip


def test_latest_chain_is_the_workers_bytes_exactly(
    app: Flask, redis_client: redis.Redis, faulty: FaultyStore
) -> None:
    newer = enriched(N_SNAPSHOTS + 5, minutes=40)  # newer than anything in the store
    payload = orjson.dumps(newer)
    put_chain(redis_client, "NIFTY", EXPIRY, payload)
    hits = cache_requests("chain", "hit")

    resp = app.test_client().get(f"/data/chain/NIFTY?expiry={EXPIRY}")

    assert resp.status_code == 200
    assert resp.data == payload
    assert resp.mimetype == "application/json"
    assert resp.headers["X-Cache"] == "hit"
    assert "X-Data-Stale" not in resp.headers
    # newer's origin is ten minutes after the app's clock: age 0 (never negative), fresh
    assert (resp.headers["X-Data-Age"], resp.headers["X-Data-Age-Limit"]) == ("0.000", "5")
    assert "X-Data-Age-Stale" not in resp.headers
    assert ChainResponse().validate(resp.get_json()) == {}
    assert faulty.calls["latest_chain"] == 0
    assert cache_requests("chain", "hit") == hits + 1


def test_latest_chain_miss_falls_back_to_the_store_into_its_own_key(
    app: Flask, redis_client: redis.Redis, faulty: FaultyStore, snapshots: list[dict[str, Any]]
) -> None:
    client = app.test_client()
    first = client.get(f"/data/chain/NIFTY?expiry={EXPIRY}")
    again = client.get(f"/data/chain/NIFTY?expiry={EXPIRY}")

    assert first.status_code == again.status_code == 200
    # The store's newest chain is from T0 + 11 min, 19 min before the app's clock: too old
    # for NIFTY's 5 s, so the bytes come marked (in front, the rest untouched).
    marked = b'{"data_age_stale":true,"data_age_s":1140.0,' + orjson.dumps(snapshots[-1])[1:]
    assert first.data == again.data == marked
    assert first.headers["X-Data-Age"] == "1140.000"
    assert first.headers["X-Data-Age-Limit"] == "5"
    assert first.headers["X-Data-Age-Stale"] == "true"
    assert "X-Data-Stale" not in first.headers  # not a cached copy served for a failing store
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert faulty.calls["latest_chain"] == 1
    assert ChainResponse().validate(first.get_json()) == {}
    assert LatestReader(redis_client).chain("NIFTY", EXPIRY) is None  # the workers' entry


@pytest.mark.parametrize(
    ("today", "expiry"),
    [
        (dt.date(2026, 11, 19), PAST_EXPIRY),  # expiring today still counts
        (dt.date(2026, 11, 21), EXPIRY),
        (dt.date(2026, 11, 27), EXPIRY_2),
    ],
)
def test_expiry_omitted_means_the_nearest_on_or_after_today(
    make_app: AppFactory, redis_client: redis.Redis, today: dt.date, expiry: str
) -> None:
    for listed in (PAST_EXPIRY, EXPIRY, EXPIRY_2):
        put_chain(redis_client, "NIFTY", listed, b'{"expiry":"%s"}' % listed.encode())
    now = dt.datetime.combine(today, dt.time(23, 59), tzinfo=dt.UTC)
    resp = make_app(clock=lambda: now).test_client().get("/data/chain/NIFTY")
    assert resp.status_code == 200
    assert resp.get_json() == {"expiry": expiry}


def test_expiry_omitted_with_every_expiry_past_or_unknown_product_is_404(
    make_app: AppFactory,
) -> None:
    later = make_app(clock=lambda: dt.datetime(2027, 1, 1, tzinfo=dt.UTC)).test_client()
    gone = later.get("/data/chain/NIFTY")
    assert gone.status_code == 404
    assert gone.get_json()["error"]["code"] == "not_found"
    assert later.get("/data/chain/SENSEX").status_code == 404


def test_unknown_expiry_is_404_without_asking_the_store(app: Flask, faulty: FaultyStore) -> None:
    resp = app.test_client().get("/data/chain/NIFTY?expiry=2030-01-31")
    assert resp.status_code == 404
    assert faulty.calls["latest_chain"] == 0
    assert faulty.calls["products"] == 1


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/data/chain/nifty", "product"),
        ("/data/chain/NIFTY%0A", "product"),
        ("/data/chain/NIFTY?expiry=2026-13-01", "expiry"),
        ("/data/chain/NIFTY?expiry=26-11-2026", "expiry"),
        ("/data/chain/NIFTY?expiry=2026-11-26&strike=24000", "strike"),
        ("/data/underlying/nifty", "product"),
        ("/data/underlying/NIFTY?expiry=2026-11-26", "expiry"),
        ("/products?all=1", "all"),
    ],
)
def test_invalid_requests_are_422_naming_the_field(app: Flask, path: str, field: str) -> None:
    resp = app.test_client().get(path)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_error"
    assert error_fields(resp.get_json()) == [field]


def test_underlying_comes_from_latest_only(
    app: Flask, redis_client: redis.Redis, faulty: FaultyStore
) -> None:
    payload = orjson.dumps(_underlying())
    put_underlying(redis_client, "NIFTY", payload)
    client = app.test_client()

    found = client.get("/data/underlying/NIFTY")
    missing = client.get("/data/underlying/BANKNIFTY")

    assert found.status_code == 200
    # TICK is from 04:00:00.125, the app's clock says 04:30: marked stale in front.
    assert found.data == b'{"data_age_stale":true,"data_age_s":1799.875,' + payload[1:]
    assert (found.headers["X-Data-Age"], found.headers["X-Data-Age-Stale"]) == (
        "1799.875",
        "true",
    )
    assert found.headers["X-Cache"] == "hit"
    assert UnderlyingResponse().validate(found.get_json()) == {}
    assert missing.status_code == 404
    assert sum(faulty.calls.values()) == 0


def test_products_are_sorted_with_their_expiries(app: Flask) -> None:
    calls = store_calls("products", "ok")
    resp = app.test_client().get("/products")
    assert resp.status_code == 200
    synthetic = {"venue": "synthetic", "currency": "INR"}
    assert resp.get_json() == {
        "products": [
            {"product": "BANKNIFTY", "expiries": [EXPIRY], **synthetic},
            {"product": "NIFTY", "expiries": [PAST_EXPIRY, EXPIRY, EXPIRY_2], **synthetic},
        ]
    }
    assert ProductsResponse().validate(resp.get_json()) == {}
    assert resp.headers["X-Cache"] == "miss"
    assert store_calls("products", "ok") == calls + 1


def test_each_product_carries_its_venue_and_currency(app: Flask, sqlite_store: SqliteStore) -> None:
    sqlite_store.insert_chains([
        small(1, product="BTC", expiry="2026-11-27"),
        small(2, product="ETH", expiry="2026-11-22"),
        small(3, product="ETH", expiry="2026-11-27"),
        small(4, product="NEWCOIN", expiry="2026-11-27"),
    ])  # fmt: skip
    resp = app.test_client().get("/products")
    listed = {row["product"]: row for row in resp.get_json()["products"]}
    assert list(listed) == ["BANKNIFTY", "BTC", "ETH", "NEWCOIN", "NIFTY"]
    assert listed["BTC"] == {
        "product": "BTC", "expiries": ["2026-11-27"], "venue": "deribit", "currency": "USD"
    }  # fmt: skip
    assert listed["ETH"]["expiries"] == ["2026-11-22", "2026-11-27"]
    assert (listed["ETH"]["venue"], listed["ETH"]["currency"]) == ("deribit", "USD")
    # a product the conventions do not know gets the default ones: the synthetic market's
    assert (listed["NEWCOIN"]["venue"], listed["NEWCOIN"]["currency"]) == ("synthetic", "INR")
    assert ProductsResponse().validate(resp.get_json()) == {}


def test_an_empty_listing_is_not_kept_fresh(
    settings: Settings, tmp_path: Path, snapshots: list[dict[str, Any]]
) -> None:
    store = SqliteStore(tmp_path / "empty.db")  # a fresh start: nothing stored yet
    app = create_app(settings, store=store, clock=lambda: NOW)
    try:
        client = app.test_client()
        assert client.get("/products").get_json() == {"products": []}
        store.insert_chains(snapshots)  # the first chains land
        listed = client.get("/products")  # at once, not PRODUCTS_FRESH_S later
        assert listed.headers["X-Cache"] == "miss"
        assert [p["product"] for p in listed.get_json()["products"]] == ["NIFTY"]
        assert client.get("/products").headers["X-Cache"] == "hit"  # a real listing is kept
    finally:
        context(app).close()
