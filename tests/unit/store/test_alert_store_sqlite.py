"""The SQLite alert repository: schema and query plans, one file shared with the main
store, the per-user limit across processes and threads, locking, open_alert_store."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import mongomock
import pytest

from store import StoreUnavailable
from store.alerts import AlertLimitReached, AlertStore, open_alert_store
from store.alerts import mongo as alert_mongo_module
from store.alerts.mongo import MongoAlertStore
from store.alerts.sqlite import (
    ACTIVE_SQL,
    ALERTS_OF_SQL,
    COUNT_SQL,
    FIRST_PAGE_SQL,
    NEXT_PAGE_SQL,
    SqliteAlertStore,
)
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.snapshots import small
from tests.unit.store.test_alert_store_contract import alert, trigger, ts


def test_creates_tables_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "optionsflow.db"
    SqliteAlertStore(path).close()
    SqliteAlertStore(path).close()  # a second start-up finds everything in place
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {
            name: ([c[2] for c in db.execute(f"PRAGMA index_info({name})")], bool(unique))
            for table in ("alerts", "alert_triggers")
            for _, name, unique, *_ in db.execute(f"PRAGMA index_list({table})")
        }
    db.close()
    assert tables == {"alerts", "alert_triggers"}
    assert indexes == {
        "alerts_id": (["id"], True),
        "alerts_owner": (["owner", "created_at", "id"], False),
        "alerts_product": (["product", "active"], False),
        "alert_triggers_id": (["trigger_id"], True),
        "alert_triggers_owner": (["owner", "triggered_at", "trigger_id"], False),
    }


@pytest.mark.parametrize(
    ("sql", "params", "index"),
    [
        (COUNT_SQL, ("alice",), "alerts_owner"),
        (ALERTS_OF_SQL, ("alice",), "alerts_owner"),
        (ACTIVE_SQL, ("NIFTY",), "alerts_product"),
        (FIRST_PAGE_SQL, ("alice", 50), "alert_triggers_owner"),
        (NEXT_PAGE_SQL, ("alice", ts(1), "t", 50), "alert_triggers_owner"),
    ],
)
def test_queries_use_their_index_without_sorting(
    tmp_path: Path, sql: str, params: tuple[Any, ...], index: str
) -> None:
    store = SqliteAlertStore(tmp_path / "optionsflow.db")
    conn = store._connection()
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    store.close()


def test_one_file_serves_the_main_store_and_the_alerts(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    alerts = SqliteAlertStore(path)  # either may open the file first
    main = SqliteStore(path)
    assert alerts.create_alert(alert(1), limit=5) == alert(1)
    assert main.insert_chains([small(1), small(2)]) == 2
    user = main.create_user("alice", "hash", "viewer")
    assert alerts.record_triggers([trigger("t1", 1)]) == 1
    assert main.chain_seqs("NIFTY", EXPIRY) == [1, 2]
    assert main.find_user("alice") == user
    assert alerts.alerts_of("alice") == [alert(1)]
    main.close()
    alerts.close()
    reopened, again = SqliteStore(path), SqliteAlertStore(path)
    assert reopened.chain_seqs("NIFTY", EXPIRY) == [1, 2]
    assert again.triggers_of("alice") == [trigger("t1", 1)]
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    db.close()
    assert tables == {
        "chains", "candles", "users", "sessions", "revoked_access", "alerts", "alert_triggers",
    }  # fmt: skip
    reopened.close()
    again.close()


def test_both_write_to_the_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    main, alerts = SqliteStore(path), SqliteAlertStore(path)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def chains() -> None:
        start.wait(30)
        try:
            for seq in range(0, 200, 10):
                main.insert_chains([small(s) for s in range(seq, seq + 10)])
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    def triggers() -> None:
        start.wait(30)
        try:
            for n in range(0, 200, 10):
                alerts.record_triggers([trigger(f"t{k:03d}", k) for k in range(n, n + 10)])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=chains), threading.Thread(target=triggers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert main.chain_seqs("NIFTY", EXPIRY) == list(range(200))
    assert len(alerts.triggers_of("alice", limit=500)) == 200
    main.close()
    alerts.close()


def _create_from_child(
    store: SqliteAlertStore | None,
    path: Path,
    worker: int,
    go: Any,
    results: Any,
) -> None:
    """Three threads, three creations each, for one owner (limit 7): report the outcomes."""
    store = store or SqliteAlertStore(path)
    outcomes: list[str] = []
    go.wait(60)

    def create(thread: int) -> None:
        for n in range(3):
            try:
                store.create_alert(alert(worker * 100 + thread * 10 + n), limit=7)
                outcomes.append("stored")
            except AlertLimitReached:
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
    """4 processes × 3 threads × 3 creations for one owner, limit 7: 7 stored, 29 refused.
    Forked children inherit the parent's open store (and set its connection aside)."""
    context = multiprocessing.get_context(start_method)
    path = tmp_path / "optionsflow.db"
    parent = SqliteAlertStore(path)
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
    assert len(parent.alerts_of("alice")) == 7
    parent.close()


def test_a_locked_file_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    store = SqliteAlertStore(path, busy_timeout_ms=100)
    store.create_alert(alert(1), limit=5)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.create_alert(alert(2), limit=5)  # after its 100 ms busy timeout
        with pytest.raises(StoreUnavailable):
            store.record_triggers([trigger("t1", 1)])
        with pytest.raises(StoreUnavailable):
            store.delete_alert("alice", alert(1)["id"])
    finally:
        blocker.rollback()
        blocker.close()
    assert store.alerts_of("alice") == [alert(1)]
    store.create_alert(alert(2), limit=5)
    assert [doc["id"] for doc in store.alerts_of("alice")] == [alert(1)["id"], alert(2)["id"]]
    store.close()


def test_the_count_and_the_insert_are_one_immediate_transaction(tmp_path: Path) -> None:
    store = SqliteAlertStore(tmp_path / "optionsflow.db")
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    store.create_alert(alert(1), limit=5)
    assert [s.split(" (")[0].split(" WHERE")[0] for s in statements] == [
        "BEGIN IMMEDIATE", "SELECT count(*) FROM alerts", "INSERT INTO alerts", "COMMIT",
    ]  # fmt: skip
    store.close()


def test_open_alert_store_reads_the_store_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_alert_store("sqlite:///var/x.db")
    assert isinstance(store, SqliteAlertStore)
    assert isinstance(store, AlertStore)
    assert (store.path, store.busy_timeout_ms) == (Path("var/x.db"), 5000)
    store.close()
    store = open_alert_store(f"sqlite:///{tmp_path}/abs.db?busy_timeout_ms=250")
    assert isinstance(store, SqliteAlertStore)
    assert (store.path, store.busy_timeout_ms) == (tmp_path / "abs.db", 250)
    store.close()

    calls: list[tuple[str, dict[str, Any]]] = []

    def client(url: str, **options: Any) -> mongomock.MongoClient:
        calls.append((url, options))
        return mongomock.MongoClient(url, **options)

    monkeypatch.setattr(alert_mongo_module, "MongoClient", client)
    store = open_alert_store("mongodb://u:p@db.example:27017/analytics?socketTimeoutMS=700")
    assert isinstance(store, MongoAlertStore)
    assert store.database_name == "analytics"
    assert calls[0][1] == {"tz_aware": False, "serverSelectionTimeoutMS": 5000,
                           "connectTimeoutMS": 5000}  # fmt: skip
    store.close()


@pytest.mark.parametrize(
    "url", ["postgresql://admin:s3cret@db/x", "", "sqlite:///", "sqlite:///x.db?timeout=5"]
)
def test_unusable_urls_name_store_url(url: str) -> None:
    with pytest.raises(ValueError, match="STORE_URL") as info:
        open_alert_store(url)
    assert "s3cret" not in str(info.value)
