"""The store failing behind the app: stale copies, 503 with Retry-After, readiness."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import pytest
import redis
from flask import Flask

from common.api.data import ChainResponse, HistoryResponse, ProductsResponse
from common.settings import Settings, SettingsError
from storage_service import create_app
from storage_service.guard import CircuitState
from storage_service.routes.products import PRODUCTS_FRESH_S
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain
from tests.support.snapshots import T0, wire
from tests.unit.storage_service.read_api.conftest import AppFactory
from tests.unit.storage_service.read_api.faults import FaultyStore, Mode
from tests.unit.storage_service.read_api.support import context

HISTORY = f"/data/chain/NIFTY/history?expiry={EXPIRY}&start={wire(0)}&end={wire(60)}&limit=4"


def _expire_cache(app: Flask) -> None:
    """Move the cache's clock past every entry's freshness (the listing's 30 s included)."""
    cache = context(app).cache
    real = cache.clock
    cache.clock = lambda: real() + max(PRODUCTS_FRESH_S, context(app).settings.http.cache_ttl_s) + 1


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        (HISTORY, HistoryResponse),
        ("/products", ProductsResponse),
        (f"/data/chain/NIFTY?expiry={EXPIRY}", ChainResponse),  # rebuilt from the store
    ],
)
@pytest.mark.parametrize("fault", [Mode.UNAVAILABLE, Mode.ERROR])
def test_an_expired_copy_is_served_stale_while_the_store_fails(
    app: Flask, faulty: FaultyStore, path: str, schema: Any, fault: Mode
) -> None:
    client = app.test_client()
    fresh = client.get(path)
    assert fresh.status_code == 200
    _expire_cache(app)
    faulty.mode = fault

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

    first = client.get(HISTORY)  # a failure of each circuit: the product listing, the page
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"  # the circuit is not open yet
    assert first.get_json()["error"]["code"] == "unavailable"

    client.get(HISTORY)
    client.get(HISTORY)  # the third failure of each opens both circuits
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
    assert ready.get_json()["checks"]["store"] == "error: StoreUnavailable"  # text: the log
    assert ready.get_json()["checks"]["redis"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_redis_url_is_required(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        create_app(dataclasses.replace(settings, redis_url=None))


def test_a_failing_store_with_nothing_cached_is_503_not_500(
    make_app: AppFactory, faulty: FaultyStore
) -> None:
    app = make_app(breaker_fail_max=2, breaker_reset_s=30.0)
    client = app.test_client()
    faulty.mode = Mode.ERROR  # e.g. MongoDB refusing the credentials: no retry will help soon

    first = client.get("/products")
    assert first.status_code == 503
    assert first.headers["Retry-After"] == "1"
    error = first.get_json()["error"]
    assert error["code"] == "unavailable"
    assert "Authentication" not in error["message"]  # the server's words stay in the log

    client.get("/products")  # the second failure opens the circuit
    reached = faulty.calls["products"]
    resp = client.get("/products")
    assert resp.status_code == 503
    assert 29 <= int(resp.headers["Retry-After"]) <= 30
    assert "circuit open" in resp.get_json()["error"]["message"]
    assert faulty.calls["products"] == reached


def test_a_default_window_page_is_served_stale_after_its_step_has_passed(
    make_app: AppFactory, faulty: FaultyStore
) -> None:
    now = [T0 + dt.timedelta(minutes=30)]
    app = make_app(clock=lambda: now[0], cache_ttl_s=5)
    client = app.test_client()
    path = f"/data/chain/NIFTY/history?expiry={EXPIRY}&fields=spot_price&limit=50"
    fresh = client.get(path)
    assert fresh.status_code == 200
    faulty.mode = Mode.UNAVAILABLE
    now[0] += dt.timedelta(minutes=3)  # 36 steps later: the default window has moved on

    stale = client.get(path)

    assert stale.status_code == 200
    assert (stale.headers["X-Cache"], stale.headers["X-Data-Stale"]) == ("stale", "true")
    assert stale.get_json() == {"stale": True, **fresh.get_json()}  # its own window, echoed
    faulty.mode = Mode.OK
    rebuilt = client.get(path).get_json()
    assert rebuilt["end"] == "2026-11-21T04:33:00.000Z"
    assert "stale" not in rebuilt


def test_slow_history_reads_do_not_open_the_circuit_of_light_calls(
    make_app: AppFactory, faulty: FaultyStore
) -> None:
    app = make_app(store_timeout_ms=250, breaker_fail_max=2, breaker_reset_s=30.0)
    client = app.test_client()
    assert client.get("/products").status_code == 200  # the listing history checks, cached
    faulty.only, faulty.mode, faulty.delay_s = frozenset({"chain_history"}), Mode.SLOW, 2.0

    for minute in range(3):  # different pages: nothing cached, each reaches the store
        path = f"/data/chain/NIFTY/history?expiry={EXPIRY}&start={wire(minute)}&end={wire(60)}"
        resp = client.get(path)
        assert resp.status_code == 503
    assert "circuit open" in resp.get_json()["error"]["message"]
    assert 29 <= int(resp.headers["Retry-After"]) <= 30
    assert faulty.calls["chain_history"] == 2
    assert context(app).history_store.state is CircuitState.OPEN

    assert context(app).store.state is CircuitState.CLOSED
    _expire_cache(app)
    products = client.get("/products")
    assert (products.status_code, products.headers["X-Cache"]) == (200, "miss")
    chain = client.get(f"/data/chain/NIFTY?expiry={EXPIRY}")
    assert (chain.status_code, chain.headers["X-Cache"]) == (200, "miss")  # from the store
    assert client.get("/readyz").status_code == 200


def test_the_product_listing_stays_fresh_longer_than_history_pages(
    app: Flask, faulty: FaultyStore
) -> None:
    client = app.test_client()
    assert client.get("/products").headers["X-Cache"] == "miss"
    assert client.get(HISTORY).headers["X-Cache"] == "miss"
    cache = context(app).cache
    real = cache.clock
    cache.clock = lambda: real() + context(app).settings.http.cache_ttl_s + 1
    assert client.get(HISTORY).headers["X-Cache"] == "miss"
    assert client.get("/products").headers["X-Cache"] == "hit"
    cache.clock = lambda: real() + PRODUCTS_FRESH_S + 1
    assert client.get("/products").headers["X-Cache"] == "miss"
    assert faulty.calls["products"] == 2


def test_an_omitted_expiry_during_an_outage_comes_from_the_workers_index_never_a_scan(
    make_app: AppFactory, faulty: FaultyStore, redis_client: redis.Redis
) -> None:
    app = make_app(clock=lambda: dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC))
    put_chain(redis_client, "NIFTY", EXPIRY, b'{"expiry":"%s"}' % EXPIRY.encode())
    faulty.mode = Mode.UNAVAILABLE
    client = app.test_client()
    redis_client.config_resetstat()

    for _ in range(5):
        assert client.get("/data/chain/NIFTY").get_json() == {"expiry": EXPIRY}
        for product in ("SENSEX", "FINNIFTY", "MIDCPNIFTY"):  # unknown: 503, the store is down
            assert client.get(f"/data/chain/{product}").status_code == 503

    stats = redis_client.info("commandstats")
    assert "cmdstat_scan" not in stats  # the keyspace is never scanned
    assert stats["cmdstat_zrange"]["calls"] == 20  # one index read per request


def test_waits_shorter_than_store_calls_are_warned_of_at_start(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="storage_service"):
        make_app(store_timeout_ms=500, lock_wait_ms=1000)  # history may take 1000 ms: fine
    assert [r for r in caplog.records if "CACHE_LOCK" in r.getMessage()] == []
    with caplog.at_level(logging.WARNING, logger="storage_service"):
        make_app(store_timeout_ms=2000, lock_wait_ms=1000)
    warned = [r.getMessage() for r in caplog.records if "CACHE_LOCK" in r.getMessage()]
    assert any("CACHE_LOCK_WAIT_MS=1000 is below STORE_TIMEOUT_MS=2000" in m for m in warned)
    assert any("CACHE_LOCK_TTL_MS=3000 is below the history timeout" in m for m in warned)
