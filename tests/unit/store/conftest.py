"""The ``store`` fixture: every contract test runs on each adapter."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from pymongo import MongoClient

from store import Store
from store.mongo import MongoStore
from store.sqlite import SqliteStore
from tests.unit.store.clients import mongomock_client


def _live_mongo_store() -> Iterator[Store]:
    url = os.environ.get("MONGO_URL")
    if not url:
        pytest.skip("MONGO_URL is not set: no live MongoDB to run the contract against")
    name = f"optionsflow_test_{uuid.uuid4().hex[:12]}"
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        yield MongoStore.from_client(client, name)
    finally:
        client.drop_database(name)
        client.close()


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
        yield from _live_mongo_store()
