"""Sources: the store opened lazily, and not hammered while it cannot be opened."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from analytics_service import sources as sources_module
from analytics_service.sources import OPEN_RETRY_S, Sources
from common.names import latest_chain_key
from storage_service.store import Store, StoreUnavailable
from storage_service.store.sqlite import SqliteStore

pytestmark = pytest.mark.redis


def test_store_open_is_retried_after_a_pause(
    redis_client: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(sources_module.time, "monotonic", lambda: clock[0])
    outcomes: list[Exception | None] = [StoreUnavailable("mongodb: no server"), ValueError("bad")]
    opened: list[Store] = []

    def open_store() -> Store:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        opened.append(SqliteStore(tmp_path / "s.db"))
        return opened[-1]

    src = Sources(redis_client, open_store)
    with pytest.raises(StoreUnavailable, match="no server"):
        src.ping_store()
    clock[0] += OPEN_RETRY_S - 0.1
    with pytest.raises(StoreUnavailable, match="no server"):  # no new attempt yet
        src.ping_store()
    assert len(outcomes) == 1
    clock[0] += 0.1
    with pytest.raises(StoreUnavailable, match="ValueError: bad"):  # a refused URL: 503 too
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
