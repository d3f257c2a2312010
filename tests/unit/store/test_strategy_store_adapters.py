"""The strategy repository's adapters apart: SQLite (schema and query plans, one file with
the main store, the count and insert in one immediate transaction, the limit across
processes and threads), MongoDB on mongomock (indexes, stored shape, the slots of the
per-user limit), and open_strategy_store."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mongomock
import pytest
from bson.errors import InvalidDocument
from pymongo.errors import AutoReconnect, WriteError

from store import StoreError, StoreUnavailable
from store.mongo_slots import RESERVATION_GRACE_S
from store.sqlite import SqliteStore
from store.strategies import StrategyLimitReached, StrategyStore, open_strategy_store
from store.strategies import mongo as strategy_mongo_module
from store.strategies.mongo import MongoStrategyStore
from store.strategies.sqlite import COUNT_SQL, OF_OWNER_SQL, ONE_SQL, SqliteStrategyStore
from tests.support.clock import FakeClock
from tests.unit.store.clients import mongomock_client
from tests.unit.store.test_strategy_store_contract import strategy

Collection = mongomock.collection.Collection
NOW = 1_796_000_000.0

# -- SQLite --------------------------------------------------------------------------


def test_creates_the_table_and_indexes_beside_the_main_stores(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "optionsflow.db"
    strategies = SqliteStrategyStore(path)
    main = SqliteStore(path)
    strategies.create_strategy(strategy(1), limit=5)
    user = main.create_user("alice", "hash", "viewer")
    main.close()
    strategies.close()
    again = SqliteStrategyStore(path)  # a second start-up finds everything in place
    assert again.strategies_of("alice") == [strategy(1)]
    again.close()
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {
            name: ([c[2] for c in db.execute(f"PRAGMA index_info({name})")], bool(unique))
            for _, name, unique, *_ in db.execute("PRAGMA index_list(strategies)")
        }
    db.close()
    assert {"strategies", "users", "chains"} <= tables
    assert indexes == {
        "strategies_id": (["id"], True),
        "strategies_owner": (["owner", "created_at", "id"], False),
    }
    assert user["username"] == "alice"


@pytest.mark.parametrize(
    ("sql", "params", "index"),
    [
        (COUNT_SQL, ("alice",), "strategies_owner"),
        (OF_OWNER_SQL, ("alice",), "strategies_owner"),
        (ONE_SQL, ("st_x", "alice"), "strategies_id"),
    ],
)
def test_queries_use_their_index_without_sorting(
    tmp_path: Path, sql: str, params: tuple[Any, ...], index: str
) -> None:
    store = SqliteStrategyStore(tmp_path / "optionsflow.db")
    conn = store._connection()
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    store.close()


def test_the_count_and_the_insert_are_one_immediate_transaction(tmp_path: Path) -> None:
    store = SqliteStrategyStore(tmp_path / "optionsflow.db")
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    store.create_strategy(strategy(1), limit=5)
    assert [s.split(" (")[0].split(" WHERE")[0] for s in statements] == [
        "BEGIN IMMEDIATE", "SELECT count(*) FROM strategies", "INSERT INTO strategies", "COMMIT",
    ]  # fmt: skip
    store.close()


def test_a_locked_file_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    store = SqliteStrategyStore(path, busy_timeout_ms=100)
    store.create_strategy(strategy(1), limit=5)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.create_strategy(strategy(2), limit=5)  # after its 100 ms busy timeout
        with pytest.raises(StoreUnavailable):
            store.delete_strategy("alice", strategy(1)["id"])
    finally:
        blocker.rollback()
        blocker.close()
    assert store.strategies_of("alice") == [strategy(1)]
    store.close()


def _create_from_child(
    store: SqliteStrategyStore | None, path: Path, worker: int, go: Any, results: Any
) -> None:
    """Three threads, three creations each, for one owner (limit 7): report the outcomes."""
    store = store or SqliteStrategyStore(path)
    outcomes: list[str] = []
    go.wait(60)

    def create(thread: int) -> None:
        for n in range(3):
            try:
                store.create_strategy(strategy(worker * 100 + thread * 10 + n), limit=7)
                outcomes.append("stored")
            except StrategyLimitReached:
                outcomes.append("refused")
            except BaseException as exc:  # reported to the parent
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=create, args=(t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    results.put(outcomes)


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_processes_and_threads_creating_at_once_store_exactly_the_limit(
    tmp_path: Path, start_method: str
) -> None:
    """4 processes × 3 threads × 3 creations for one owner, limit 7: 7 stored, 29 refused."""
    context = multiprocessing.get_context(start_method)
    path = tmp_path / "optionsflow.db"
    parent = SqliteStrategyStore(path)
    parent.ping()  # the parent holds an open connection when forking
    inherited = parent if start_method == "fork" else None
    go = context.Event()
    results = context.SimpleQueue()
    procs = [
        context.Process(target=_create_from_child, args=(inherited, path, w, go, results))
        for w in range(4)
    ]
    for proc in procs:
        proc.start()
    go.set()
    reports = [results.get() for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    outcomes = sorted(o for report in reports for o in report)
    assert outcomes == ["refused"] * 29 + ["stored"] * 7
    assert len(parent.strategies_of("alice")) == 7
    parent.close()


def test_open_strategy_store_reads_the_store_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_strategy_store(f"sqlite:///{tmp_path}/abs.db?busy_timeout_ms=250")
    assert isinstance(store, SqliteStrategyStore)
    assert isinstance(store, StrategyStore)
    assert (store.path, store.busy_timeout_ms) == (tmp_path / "abs.db", 250)
    store.close()
    calls: list[tuple[str, dict[str, Any]]] = []

    def client(url: str, **options: Any) -> mongomock.MongoClient:
        calls.append((url, options))
        return mongomock.MongoClient(url, **options)

    monkeypatch.setattr(strategy_mongo_module, "MongoClient", client)
    mongo = open_strategy_store("mongodb://u:p@db.example:27017/analytics?socketTimeoutMS=700")
    assert isinstance(mongo, MongoStrategyStore)
    assert mongo.database_name == "analytics"
    assert calls[0][0] == "mongodb://u:p@db.example:27017/analytics?socketTimeoutMS=700"
    mongo.close()


@pytest.mark.parametrize("url", ["postgresql://admin:s3cret@db/x", "", "sqlite:///"])
def test_unusable_urls_name_store_url(url: str) -> None:
    with pytest.raises(ValueError, match="STORE_URL") as info:
        open_strategy_store(url)
    assert "s3cret" not in str(info.value)


# -- MongoDB -------------------------------------------------------------------------


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[mongomock.MongoClient]:
    client = mongomock_client(monkeypatch)
    yield client
    client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def mongo(client: mongomock.MongoClient, clock: FakeClock) -> MongoStrategyStore:
    store = MongoStrategyStore.from_client(client, "optionsflow_test")
    store.clock = clock
    return store


def _slots(client: mongomock.MongoClient, owner: str = "alice") -> list[dict[str, Any]]:
    quota = client["optionsflow_test"].strategy_quotas.find_one({"_id": owner})
    return [] if quota is None else list(quota["slots"])


def _failing(
    monkeypatch: pytest.MonkeyPatch, method: str, collection: str, error: Exception
) -> None:
    """``Collection.<method>`` of ``collection`` raises ``error``."""
    real: Callable[..., Any] = getattr(Collection, method)

    def failing(self: Collection, *args: Any, **kwargs: Any) -> Any:
        if self.name != collection:
            return real(self, *args, **kwargs)
        raise error

    monkeypatch.setattr(Collection, method, failing)


def test_the_index_and_the_stored_shape(
    mongo: MongoStrategyStore, client: mongomock.MongoClient
) -> None:
    db = client["optionsflow_test"]
    index = db.strategies.index_information()["strategies_owner"]
    assert index["key"] == [("owner", 1), ("created_at", 1), ("id", 1)]
    mongo.create_strategy(strategy(1), limit=5)
    assert db.strategies.find_one() == {"_id": strategy(1)["id"], **strategy(1)}
    assert _slots(client) == [{"id": strategy(1)["id"], "at": NOW}]
    mongo.delete_strategy("alice", strategy(1)["id"])
    assert _slots(client) == []
    MongoStrategyStore.from_client(client, "optionsflow_test")  # a second start-up: a no-op


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (WriteError("Document failed validation", code=121), StoreError),
        (InvalidDocument("key '$x' must not start with '$'"), ValueError),
    ],
)
def test_a_failed_insert_gives_its_slot_back(
    mongo: MongoStrategyStore,
    client: mongomock.MongoClient,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    raised: type[Exception],
) -> None:
    mongo.create_strategy(strategy(1), limit=2)
    _failing(monkeypatch, "insert_one", "strategies", error)
    with pytest.raises(raised) as info:
        mongo.create_strategy(strategy(2), limit=2)
    assert not isinstance(info.value, StoreUnavailable | StrategyLimitReached)
    assert [slot["id"] for slot in _slots(client)] == [strategy(1)["id"]]
    monkeypatch.undo()
    mongo.create_strategy(strategy(3), limit=2)


def test_an_insert_of_unknown_outcome_keeps_its_slot_until_the_grace_has_passed(
    mongo: MongoStrategyStore,
    client: mongomock.MongoClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _failing(monkeypatch, "insert_one", "strategies", AutoReconnect("connection reset"))
    with pytest.raises(StoreUnavailable):
        mongo.create_strategy(strategy(1), limit=1)
    monkeypatch.undo()
    assert mongo.strategies_of("alice") == []
    assert _slots(client) == [{"id": strategy(1)["id"], "at": NOW}]  # it may have been stored
    clock.advance(RESERVATION_GRACE_S - 1)
    with pytest.raises(StrategyLimitReached):
        mongo.create_strategy(strategy(2), limit=1)
    clock.advance(2)
    with caplog.at_level(logging.WARNING, logger="store.strategies.mongo"):
        mongo.create_strategy(strategy(2), limit=1)  # the lost slot reclaimed
    assert [(r.message, r.__dict__["owner"], r.__dict__["slots"]) for r in caplog.records] == [
        ("strategy slots reclaimed", "alice", 1),
    ]  # fmt: skip
    assert _slots(client) == [{"id": strategy(2)["id"], "at": NOW + RESERVATION_GRACE_S + 1}]


def test_a_deletion_whose_slot_is_not_released_is_reclaimed_later(
    mongo: MongoStrategyStore,
    client: mongomock.MongoClient,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mongo.create_strategy(strategy(1), limit=1)
    _failing(monkeypatch, "update_one", "strategy_quotas", AutoReconnect("connection reset"))
    assert mongo.delete_strategy("alice", strategy(1)["id"]) == strategy(1)  # deleted anyway
    monkeypatch.undo()
    assert len(_slots(client)) == 1
    with pytest.raises(StrategyLimitReached):
        mongo.create_strategy(strategy(2), limit=1)
    clock.advance(RESERVATION_GRACE_S + 1)
    mongo.create_strategy(strategy(2), limit=1)
    assert [slot["id"] for slot in _slots(client)] == [strategy(2)["id"]]


def test_a_replace_of_a_strategy_deleted_meanwhile_is_none(
    mongo: MongoStrategyStore, client: mongomock.MongoClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    mongo.create_strategy(strategy(1), limit=5)
    real_replace = Collection.replace_one

    def replace_one(self: Collection, *args: Any, **kw: Any) -> Any:
        client["optionsflow_test"].strategies.delete_one({"_id": strategy(1)["id"]})
        return real_replace(self, *args, **kw)

    monkeypatch.setattr(Collection, "replace_one", replace_one)
    assert mongo.replace_strategy("alice", {**strategy(1), "name": "x"}) is None
    assert mongo.strategies_of("alice") == []
