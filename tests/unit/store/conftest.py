"""The ``store`` fixture: every contract test runs on each adapter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from store import Store
from store.mongo import MongoStore
from store.sqlite import SqliteStore
from tests.unit.store.clients import live_mongo, mongomock_client


@pytest.fixture(params=["sqlite", "mongomock", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def store(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Store]:
    """A fresh, empty store of each adapter."""
    if request.param == "sqlite":
        sqlite_store = SqliteStore(tmp_path_factory.mktemp("store") / "optionsflow.db")
        yield sqlite_store
        sqlite_store.close()
    elif request.param == "mongomock":
        client = mongomock_client(monkeypatch)
        yield MongoStore.from_client(client, "optionsflow_test")
        client.close()
    else:
        yield from live_mongo(MongoStore.from_client)
