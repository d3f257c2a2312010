"""Sources: the store opened lazily, and not hammered while it cannot be opened."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from analytics_service.sources import OPEN_RETRY_S, Sources
from store import Store, StoreUnavailable
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain
from tests.unit.analytics_service.support import at, handmade

pytestmark = pytest.mark.redis


def test_store_open_is_retried_after_a_pause(redis_client: redis.Redis, tmp_path: Path) -> None:
    clock = [1000.0]
    outcomes: list[Exception | None] = [StoreUnavailable("mongodb: no server"), ValueError("bad")]
    opened: list[Store] = []

    def open_store() -> Store:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        opened.append(SqliteStore(tmp_path / "s.db"))
        return opened[-1]

    src = Sources(redis_client, open_store, monotonic=lambda: clock[0])
    # the error's type only: an adapter's message may quote the URL and its credentials
    with pytest.raises(StoreUnavailable, match="StoreUnavailable"):
        src.ping_store()
    clock[0] += OPEN_RETRY_S - 0.1
    with pytest.raises(StoreUnavailable, match="StoreUnavailable"):  # no new attempt yet
        src.ping_store()
    assert len(outcomes) == 1
    clock[0] += 0.1
    with pytest.raises(StoreUnavailable, match="ValueError"):  # a refused URL: 503 too
        src.ping_store()
    clock[0] += OPEN_RETRY_S
    src.ping_store()
    assert src.store is opened[0]
    assert len(opened) == 1
    src.close()


def test_redis_expiries_must_be_dates(redis_client: redis.Redis, tmp_path: Path) -> None:
    src = Sources(redis_client, lambda: SqliteStore(tmp_path / "s.db"))
    for expiry in ("2026-11-26", "junk", "2026-13-01"):
        put_chain(redis_client, "NIFTY", expiry, b"{}")
    put_chain(redis_client, "NIFTYX", "2026-12-31", b"{}")
    assert src.expiries("NIFTY") == ["2026-11-26"]
    src.close()


def test_expiries_come_from_the_workers_index_never_a_scan(
    app: Flask, client: FlaskClient, redis_client: redis.Redis
) -> None:
    for product in ("NIFTY", "BANKNIFTY"):
        put_chain(redis_client, product, EXPIRY, orjson.dumps(handmade(at(0), 1, 0.2)))
    redis_client.config_resetstat()
    for product in ("NIFTY", "NIFTY", "BANKNIFTY"):
        body = client.get(f"/analytics/{product}/term-structure").get_json()
        assert [p["expiry"] for p in body["points"]] == [EXPIRY]
    put_chain(redis_client, "NIFTY", "2026-12-31", orjson.dumps(handmade(at(0), 1, 0.2)))
    assert src_expiries(app, "NIFTY") == [EXPIRY, "2026-12-31"]  # a new expiry: at once
    assert "cmdstat_scan" not in redis_client.info("commandstats")


def src_expiries(app: Flask, product: str) -> list[str]:
    src: Sources = app.extensions["analytics"]
    return src.expiries(product)
