"""The store failing behind the app: stale copies, 503 with Retry-After, readiness."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from flask import Flask

from common.api.data import ChainResponse, HistoryResponse, ProductsResponse
from common.settings import Settings, SettingsError
from storage_service import create_app
from tests.support.chains import EXPIRY
from tests.unit.storage_service.factories import wire
from tests.unit.storage_service.read_api.conftest import AppFactory
from tests.unit.storage_service.read_api.faults import FaultyStore, Mode
from tests.unit.storage_service.read_api.support import context

HISTORY = f"/data/chain/NIFTY/history?expiry={EXPIRY}&start={wire(0)}&end={wire(60)}&limit=4"


def _expire_cache(app: Flask) -> None:
    cache = context(app).cache
    real = cache.clock
    cache.clock = lambda: real() + context(app).settings.http.cache_ttl_s + 1


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (HISTORY, HistoryResponse),
        ("/products", ProductsResponse),
        (f"/data/chain/NIFTY?expiry={EXPIRY}", ChainResponse),  # rebuilt from the store
    ],
)
def test_an_expired_copy_is_served_stale_while_the_store_fails(
    app: Flask, faulty: FaultyStore, path: str, schema: Any
) -> None:
    client = app.test_client()
    fresh = client.get(path)
    assert fresh.status_code == 200
    _expire_cache(app)
    faulty.mode = Mode.UNAVAILABLE

    stale = client.get(path)

    assert stale.status_code == 200
    assert stale.headers["X-Data-Stale"] == "true"
    assert stale.headers["X-Cache"] == "stale"
    assert stale.get_json() == {"stale": True, **fresh.get_json()}
    assert stale.data == b'{"stale":true,' + fresh.data[1:]
    assert schema().validate(stale.get_json()) == {}


def test_nothing_cached_is_503_with_retry_after(make_app: AppFactory, faulty: FaultyStore) -> None:
    app = make_app(breaker_fail_max=3, breaker_reset_s=30.0)
    client = app.test_client()
    faulty.mode = Mode.UNAVAILABLE

    first = client.get(HISTORY)  # two failures: the product listing, then the page
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"  # the circuit is not open yet
    assert first.get_json()["error"]["code"] == "unavailable"

    client.get(HISTORY)  # the third failure opens the circuit
    reached = sum(faulty.calls.values())
    for path in (HISTORY, "/products", "/data/chain/NIFTY"):
        resp = client.get(path)
        assert resp.status_code == 503, path
        assert 29 <= int(resp.headers["Retry-After"]) <= 30
        assert "circuit open" in resp.get_json()["error"]["message"]
    assert sum(faulty.calls.values()) == reached  # failed fast, without touching the store


def test_readiness_names_the_failing_store_while_health_stays_ok(
    app: Flask, faulty: FaultyStore
) -> None:
    client = app.test_client()
    assert client.get("/readyz").get_json() == {
        "status": "ready", "checks": {"redis": "ok", "store": "ok"},
    }  # fmt: skip
    faulty.mode = Mode.UNAVAILABLE
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["store"] == "error: StoreUnavailable: injected outage"
    assert ready.get_json()["checks"]["redis"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_redis_url_is_required(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        create_app(dataclasses.replace(settings, redis_url=None))
