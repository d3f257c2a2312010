"""MongoDB adapter on mongomock: indexes, stored shape, error mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import mongomock
import pytest
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from store import StoreError, StoreUnavailable
from store.mongo import DEFAULT_SOCKET_TIMEOUT_MS, MongoStore
from tests.support.chains import EXPIRY
from tests.support.snapshots import candle, small
from tests.unit.store.clients import mongomock_client

Collection = mongomock.collection.Collection


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[mongomock.MongoClient]:
    client = mongomock_client(monkeypatch)
    yield client
    client.close()


@pytest.fixture
def store(client: mongomock.MongoClient) -> MongoStore:
    return MongoStore.from_client(client, "optionsflow_test")


def test_indexes_are_created(store: MongoStore, client: mongomock.MongoClient) -> None:
    db = client["optionsflow_test"]
    chains = db.chains.index_information()
    assert chains["chains_seq"]["key"] == [("product", 1), ("expiry", 1), ("seq", 1)]
    assert chains["chains_seq"]["unique"] is True
    assert chains["chains_range"]["key"] == [("product", 1), ("expiry", 1), ("_ts", 1), ("seq", 1)]
    candles = db.candles.index_information()["candles_key"]
    assert candles["key"] == [("product", 1), ("interval", 1), ("_ts", 1)]
    assert candles["unique"]
    users = db.users.index_information()["users_key"]
    assert users["key"] == [("username_key", 1)]
    assert users["unique"]
    MongoStore.from_client(client, "optionsflow_test")  # a second start-up is a no-op


def test_documents_carry_a_bson_date_that_is_never_returned(
    store: MongoStore, client: mongomock.MongoClient
) -> None:
    store.insert_chains([small(1, minutes=2.5)])
    stored = client["optionsflow_test"].chains.find_one()
    assert stored["_ts"] == dt.datetime(2026, 11, 21, 4, 2, 30)
    assert stored["timestamp"] == "2026-11-21T04:02:30.000Z"
    assert set(store.latest_chain("NIFTY", EXPIRY) or {}) == set(small(1))
    store.create_user("Alice", "h", "viewer")
    assert client["optionsflow_test"].users.find_one()["username_key"] == "alice"


def _raise(exc: Exception) -> Any:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    return fail


def test_only_duplicate_key_errors_are_ignored(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    duplicate = {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"}
    invalid = {"index": 1, "code": 121, "errmsg": "Document failed validation"}
    details = {"writeErrors": [duplicate], "nInserted": 3, "writeConcernErrors": []}
    monkeypatch.setattr(Collection, "insert_many", _raise(BulkWriteError(details)))
    assert store.insert_chains([small(1), small(2)]) == 3

    details = {"writeErrors": [duplicate, invalid], "nInserted": 0, "writeConcernErrors": []}
    monkeypatch.setattr(Collection, "insert_many", _raise(BulkWriteError(details)))
    with pytest.raises(StoreError, match="failed validation") as info:
        store.insert_chains([small(1), small(2)])
    assert not isinstance(info.value, StoreUnavailable)

    concern = {"code": 64, "errmsg": "waiting for replication timed out"}
    details = {"writeErrors": [], "nInserted": 2, "writeConcernErrors": [concern]}
    monkeypatch.setattr(Collection, "insert_many", _raise(BulkWriteError(details)))
    with pytest.raises(StoreUnavailable, match="write concern"):
        store.insert_chains([small(1), small(2)])


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (AutoReconnect("connection closed"), StoreUnavailable),
        (ServerSelectionTimeoutError("no servers"), StoreUnavailable),
        (OperationFailure("not authorized", code=13), StoreError),
    ],
)
def test_driver_errors_map_to_port_errors(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch, error: Exception, expected: type
) -> None:
    for method in ("insert_many", "find", "find_one", "bulk_write", "insert_one", "distinct"):
        monkeypatch.setattr(Collection, method, _raise(error))
    calls = [
        lambda: store.insert_chains([small(1)]),
        lambda: store.chain_history(
            "NIFTY", EXPIRY, dt.datetime(2026, 1, 1), dt.datetime(2027, 1, 1)
        ),
        lambda: store.latest_chain("NIFTY", EXPIRY),
        lambda: store.products(),
        lambda: store.upsert_candles([candle(0, 1.0)]),
        lambda: store.create_user("alice", "h", "viewer"),
        lambda: store.find_user("alice"),
    ]
    for call in calls:
        with pytest.raises(expected) as info:
            call()
        assert type(info.value) is expected


def test_ping_maps_server_selection_timeout(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.ping()
    monkeypatch.setattr(
        mongomock.database.Database, "command", _raise(ServerSelectionTimeoutError("x"))
    )
    with pytest.raises(StoreUnavailable):
        store.ping()


def test_close_leaves_an_injected_client_open(
    store: MongoStore, client: mongomock.MongoClient
) -> None:
    store.close()
    assert client["optionsflow_test"].chains.count_documents({}) == 0


def test_products_use_distinct_not_a_group_over_every_snapshot(
    store: MongoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.insert_chains([small(1), small(2), small(3, expiry="2026-12-31")])
    store.insert_chains([small(4, product="BANKNIFTY"), small(5, expiry="2026-11-19")])
    monkeypatch.setattr(Collection, "aggregate", _raise(AssertionError("a $group pipeline")))
    distinct: list[tuple[str, Any]] = []
    real = Collection.distinct

    def recording(self: Collection, key: str, spec: Any = None, **kw: Any) -> Any:
        distinct.append((key, spec))
        return real(self, key, spec, **kw)

    monkeypatch.setattr(Collection, "distinct", recording)
    assert store.products() == {
        "BANKNIFTY": [EXPIRY],
        "NIFTY": ["2026-11-19", EXPIRY, "2026-12-31"],
    }
    # product, then expiry under one product: prefixes of the (product, expiry, …) indexes
    assert distinct == [
        ("product", None),
        ("expiry", {"product": "BANKNIFTY"}),
        ("expiry", {"product": "NIFTY"}),
    ]


@pytest.mark.parametrize(
    ("url", "socket_timeout_s"),
    [
        ("mongodb://127.0.0.1:1/optionsflow", DEFAULT_SOCKET_TIMEOUT_MS / 1000),
        ("mongodb://127.0.0.1:1/optionsflow?socketTimeoutMS=2500", 2.5),
        ("mongodb://127.0.0.1:1/?sockettimeoutms=700&serverSelectionTimeoutMS=100", 0.7),
    ],
)
def test_a_socket_timeout_is_set_unless_the_url_sets_one(
    monkeypatch: pytest.MonkeyPatch, url: str, socket_timeout_s: float
) -> None:
    # A hung server must not hold a thread forever: pymongo's own default is no timeout.
    monkeypatch.setattr(MongoStore, "_create_indexes", lambda self: None)  # no server here
    store = MongoStore(url)
    try:
        assert store._client.options.pool_options.socket_timeout == socket_timeout_s
    finally:
        store.close()
