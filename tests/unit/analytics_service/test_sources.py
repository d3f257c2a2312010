"""Sources: the store opened lazily, and not hammered while it cannot be opened."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from analytics_service import sources as sources_module
from analytics_service.sources import EXPIRIES_TTL_S, OPEN_RETRY_S, Sources
from common.names import latest_chain_key
from store import Store, StoreUnavailable
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.unit.analytics_service.support import at, handmade

pytestmark = pytest.mark.redis


def test_store_open_is_retried_after_a_pause(
    redis_client: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    outcomes: list[Exception | None] = [StoreUnavailable("mongodb: no server"), ValueError("bad")]
    opened: list[Store] = []

    def open_store() -> Store:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        opened.append(SqliteStore(tmp_path / "s.db"))
        return opened[-1]

    src = Sources(redis_client, open_store)
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
        redis_client.set(latest_chain_key("NIFTY", expiry), b"{}")
    redis_client.set(latest_chain_key("NIFTYX", "2026-12-31"), b"{}")
    assert src.expiries("NIFTY") == ["2026-11-26"]
    src.close()


def test_expiries_scan_redis_once_per_product_in_the_window(
    app: Flask, client: FlaskClient, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    src: Sources = app.extensions["analytics"]
    src.expiries_ttl_s = EXPIRIES_TTL_S  # the conftest turns reuse off; the default here
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    patterns: list[str] = []
    scan_iter = src.redis.scan_iter

    def counted(*args: Any, **kwargs: Any) -> Any:
        patterns.append(kwargs["match"])
        return scan_iter(*args, **kwargs)

    monkeypatch.setattr(src.redis, "scan_iter", counted)  # this client instance only
    for product in ("NIFTY", "BANKNIFTY"):
        chain = handmade(at(0), 1, 0.2)
        redis_client.set(latest_chain_key(product, EXPIRY), orjson.dumps(chain))
    for _ in range(2):
        assert client.get("/analytics/NIFTY/term-structure").status_code == 200
    assert patterns == [latest_chain_key("NIFTY", "*")]  # two requests, one scan
    assert client.get("/analytics/BANKNIFTY/term-structure").status_code == 200
    assert len(patterns) == 2  # per product
    clock[0] += EXPIRIES_TTL_S - 0.1
    assert client.get("/analytics/NIFTY/term-structure").status_code == 200
    assert len(patterns) == 2
    clock[0] += 0.1  # the window has passed: listed again
    assert client.get("/analytics/NIFTY/term-structure").status_code == 200
    assert patterns[2:] == [latest_chain_key("NIFTY", "*")]


def test_expiry_lists_kept_are_bounded(
    redis_client: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources_module, "EXPIRIES_CACHED_MAX", 3)
    src = Sources(redis_client, lambda: SqliteStore(tmp_path / "s.db"))
    for name in ("AAA", "BBB", "CCC", "DDD", "EEE"):  # unknown names are kept too (as [])
        assert src.expiries(name) == []
        assert len(src._expiries) <= 3
    assert "EEE" in src._expiries
    src.close()
