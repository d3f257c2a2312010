"""open_store: STORE_URL parsing and adapter choice."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import mongomock
import pytest
from pymongo import MongoClient

from store import Store, StoreUnavailable, open_store
from store import mongo as mongo_module
from store.mongo import MongoStore
from store.sqlite import SqliteStore
from tests.support.snapshots import small


def test_sqlite_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///var/x.db")
    assert isinstance(store, SqliteStore)
    assert isinstance(store, Store)
    assert store.path == Path("var/x.db")
    assert store.busy_timeout_ms == 5000
    assert (tmp_path / "var" / "x.db").is_file()
    store.close()


def test_sqlite_absolute_path_and_timeout(tmp_path: Path) -> None:
    assert str(tmp_path).startswith("/")
    store = open_store(f"sqlite:///{tmp_path}/abs.db?busy_timeout_ms=250")
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "abs.db"
    assert store.busy_timeout_ms == 250
    assert (tmp_path / "abs.db").is_file()
    store.close()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://db/optionsflow",
        "redis://localhost:6379/0",
        "var/optionsflow.db",
        "",
        "sqlite://var/x.db",
        "sqlite:///",
        "sqlite:///x.db?timeout=5",
        "sqlite:///x.db?busy_timeout_ms=soon",
        "mongodb://",
    ],
)
def test_unusable_urls_name_store_url(url: str) -> None:
    with pytest.raises(ValueError, match="STORE_URL"):
        open_store(url)


def test_unknown_scheme_does_not_echo_credentials() -> None:
    with pytest.raises(ValueError, match="STORE_URL") as info:
        open_store("postgresql://admin:s3cret@db/optionsflow")
    assert "s3cret" not in str(info.value)


@pytest.fixture
def mongo_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Make MongoStore build mongomock clients, recording the URL and options."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def client(url: str, **options: Any) -> mongomock.MongoClient:
        calls.append((url, options))
        return mongomock.MongoClient(url.replace("mongodb+srv://", "mongodb://"), **options)

    monkeypatch.setattr(mongo_module, "MongoClient", client)
    return calls


@pytest.mark.parametrize(
    ("url", "database"),
    [
        ("mongodb://db.example:27017", "optionsflow"),
        ("mongodb://db.example:27017/", "optionsflow"),
        ("mongodb://u:p@db1,db2/analytics?replicaSet=rs0", "analytics"),
        ("mongodb+srv://cluster.example.net/prod", "prod"),
    ],
)
def test_mongodb_urls(
    mongo_calls: list[tuple[str, dict[str, Any]]], url: str, database: str
) -> None:
    store = open_store(url)
    assert isinstance(store, MongoStore)
    assert store.database_name == database
    assert mongo_calls[0][0] == url
    assert mongo_calls[0][1]["serverSelectionTimeoutMS"] == 5000
    store.close()


def test_timeouts_in_the_url_win(mongo_calls: list[tuple[str, dict[str, Any]]]) -> None:
    open_store("mongodb://db.example/?serverSelectionTimeoutMS=900").close()
    assert "serverSelectionTimeoutMS" not in mongo_calls[0][1]
    assert mongo_calls[0][1]["connectTimeoutMS"] == 5000


@pytest.mark.timeout(60)
def test_unreachable_mongodb_is_unavailable() -> None:
    # the URL's 300 ms server selection (see test_timeouts_in_the_url_win), then 503
    with pytest.raises(StoreUnavailable, match="mongodb"):
        open_store("mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300")


@pytest.mark.mongodb
def test_live_mongodb_from_url() -> None:
    url = os.environ.get("MONGO_URL")
    if not url:
        pytest.skip("MONGO_URL is not set: no live MongoDB")
    name = f"optionsflow_test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(url, database=name)
    try:
        store.ping()
        assert store.insert_chains([small(1)]) == 1
    finally:
        store.close()
        admin: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=5000)
        admin.drop_database(name)
        admin.close()
