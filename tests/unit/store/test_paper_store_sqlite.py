"""The SQLite paper repository: schema and query plans, one file shared with the main store
and the alerts, a failed write rolled back whole, locking, several processes placing at
once (the same client order id: one order and one fill; more than the cash: never spent
twice), open_paper_store."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path
from typing import Any

import msgspec
import pytest

from paper.documents import Change, OrderState
from paper.rules import AccountRules
from store import StoreError, StoreUnavailable
from store.alerts.sqlite import SqliteAlertStore
from store.paper import open_paper_store
from store.paper.sqlite import (
    EXPIRING_SQL,
    OPEN_ORDERS_SQL,
    ORDERS_IN_STATE_SQL,
    ORDERS_SQL,
    TRADES_BEFORE_SQL,
    TRADES_SQL,
    SqlitePaperStore,
)
from store.sqlite import SqliteStore
from tests.unit.paper.factories import AT, call, clock, dec, put, quote, request, ts
from tests.unit.store.test_paper_store_contract import RULES, invariant

CALL, PUT = call(24000), put(23000)
CALL_QUOTE = quote(CALL, "119.5", "120.5")
_NEWEST = " ORDER BY created_at DESC, id DESC LIMIT ?"
_BEFORE = " AND (created_at, id) < (?, ?)"


def test_creates_tables_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "optionsflow.db"
    SqlitePaperStore(path, clock=clock).close()
    SqlitePaperStore(path, clock=clock).close()  # a second start-up finds everything in place
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        indexes = {
            name: ([c[2] for c in db.execute(f"PRAGMA index_info({name})")], bool(unique))
            for table in tables
            for _, name, unique, *_ in db.execute(f"PRAGMA index_list({table})")
            if not name.startswith("sqlite_autoindex")
        }
    db.close()
    assert tables == {"paper_orders", "paper_trades", "paper_positions", "paper_wallets"}
    assert indexes == {
        "paper_orders_client": (["owner", "client_order_id"], True),
        "paper_orders_owner": (["owner", "created_at", "id"], False),
        "paper_orders_state": (["owner", "state", "created_at", "id"], False),
        "paper_orders_open": (["product", "open", "created_at", "id"], False),
        "paper_trades_owner": (["owner", "at", "id"], False),
        "paper_trades_order": (["order_id"], False),
        "paper_positions_expiry": (["product", "expiry", "open"], False),
    }


@pytest.mark.parametrize(
    ("sql", "params", "index"),
    [
        (ORDERS_SQL + _NEWEST, ("alice", 50), "paper_orders_owner"),
        (ORDERS_SQL + _BEFORE + _NEWEST, ("alice", AT, "po_x", 50), "paper_orders_owner"),
        (ORDERS_IN_STATE_SQL + _NEWEST, ("alice", "NEW", 50), "paper_orders_state"),
        (OPEN_ORDERS_SQL, ("NIFTY",), "paper_orders_open"),
        (TRADES_SQL, ("alice", 50), "paper_trades_owner"),
        (TRADES_BEFORE_SQL, ("alice", AT, "po_x", 50), "paper_trades_owner"),
        (EXPIRING_SQL, ("NIFTY", "2026-12-31"), "paper_positions_expiry"),
    ],
)
def test_queries_use_their_index_without_sorting(
    tmp_path: Path, sql: str, params: tuple[Any, ...], index: str
) -> None:
    store = SqlitePaperStore(tmp_path / "optionsflow.db", clock=clock)
    conn = store._connection()
    plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    store.close()


def test_one_file_serves_the_main_store_the_alerts_and_paper_trading(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    paper, main, alerts = (
        SqlitePaperStore(path, RULES, clock=clock),
        SqliteStore(path),
        SqliteAlertStore(path),
    )
    placed = paper.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    main.create_user("alice", "hash", "viewer")
    for store in (paper, main, alerts):
        store.close()
    again = SqlitePaperStore(path, RULES, clock=clock)
    assert again.orders("alice") == list(placed.orders)
    assert SqliteStore(path).find_user("alice") is not None
    again.close()


def test_a_write_failing_midway_is_rolled_back_whole(tmp_path: Path) -> None:
    store = SqlitePaperStore(tmp_path / "optionsflow.db", RULES, clock=clock)

    def fail(step: str) -> None:
        if step == "after_trades":
            raise RuntimeError("disk on fire")

    store.checkpoint = fail
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    store.checkpoint = lambda step: None
    assert (store.orders("alice"), store.trades("alice"), store.positions("alice")) == ([], [], [])
    assert store.wallets("alice") == []
    assert store.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT).changed
    assert invariant(store)
    store.close()


def test_the_unique_indexes_refuse_a_second_fill_or_order_and_roll_the_write_back(
    tmp_path: Path,
) -> None:
    """The last line: were a decision ever to repeat a fill, or give a client order id a
    second order, the write fails whole."""
    store = SqlitePaperStore(tmp_path / "optionsflow.db", RULES, clock=clock)
    placed = store.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    (order,) = placed.orders
    changed = msgspec.structs.replace(order, reason="changed", updated_at=ts(1))
    again = Change(orders=(changed,), trades=placed.trades)
    refused = pytest.raises(StoreError, match=r"UNIQUE constraint failed: paper_trades\.id")
    with refused, store._write() as conn:
        store._apply(conn, again)
    twin = msgspec.structs.replace(order, id="po_other")
    refused = pytest.raises(StoreError, match=r"paper_orders\.owner, paper_orders\.client_order")
    with refused, store._write() as conn:
        store._apply(conn, Change(orders=(twin,)))
    assert store.orders("alice") == [order]  # neither write left anything
    assert store.trades("alice") == list(placed.trades)
    store.close()


def test_a_locked_file_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    store = SqlitePaperStore(path, RULES, busy_timeout_ms=100, clock=clock)
    store.wallet("alice", "INR")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreUnavailable, match="locked"):
        store.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.orders("alice") == []
    assert store.place("alice", [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], at=AT).changed
    store.close()


def test_open_paper_store_picks_sqlite_from_the_url(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    store = open_paper_store(f"sqlite:///{path}?busy_timeout_ms=250", RULES)
    assert isinstance(store, SqlitePaperStore)
    assert (store.path, store.busy_timeout_ms, store.rules) == (path, 250, RULES)
    store.close()
    with pytest.raises(ValueError, match="STORE_URL"):
        open_paper_store("postgres://db", RULES)


# -- processes ---------------------------------------------------------------------------


def _place_from_child(path: Path, client_ids: list[str], go: Any, results: Any) -> None:
    """Two threads, each placing every client id of ``client_ids``: report what each saw."""
    store = SqlitePaperStore(path, AccountRules(start_cash={"INR": dec(50_000)}), clock=clock)
    seen: list[str] = []
    go.wait(60)

    def place() -> None:
        for client_id in client_ids:
            try:
                done = store.place("alice", [request(client_id, CALL, "BUY", 75)], [CALL_QUOTE])
                seen.append(f"{done.orders[0].state.value}:{done.changed}")
            except BaseException as exc:  # reported to the parent
                seen.append(repr(exc))

    threads = [threading.Thread(target=place) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    store.close()
    results.put(seen)


def _run_children(path: Path, ids_per_child: list[list[str]]) -> list[str]:
    context = multiprocessing.get_context("spawn")
    go, results = context.Event(), context.SimpleQueue()
    procs = [
        context.Process(target=_place_from_child, args=(path, ids, go, results))
        for ids in ids_per_child
    ]
    for proc in procs:
        proc.start()
    go.set()
    reports = [results.get() for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    return sorted(outcome for report in reports for outcome in report)


def test_processes_placing_the_same_client_order_id_make_one_order_and_one_fill(
    tmp_path: Path,
) -> None:
    path = tmp_path / "optionsflow.db"
    SqlitePaperStore(path, clock=clock).close()
    outcomes = _run_children(path, [["same"]] * 4)  # 4 processes × 2 threads
    assert outcomes == ["FILLED:False"] * 7 + ["FILLED:True"]
    store = SqlitePaperStore(path, AccountRules(start_cash={"INR": dec(50_000)}), clock=clock)
    assert len(store.orders("alice")) == 1
    assert len(store.trades("alice")) == 1
    assert store.wallet("alice", "INR").cash == dec("40962.50")  # 50,000 − 9037.50, once
    store.close()


def test_processes_placing_more_than_the_cash_never_spend_it_twice(tmp_path: Path) -> None:
    path = tmp_path / "optionsflow.db"
    SqlitePaperStore(path, clock=clock).close()
    # 4 processes × 2 threads × 2 ids each (each id from both threads): 8 orders of 9037.50
    outcomes = _run_children(path, [[f"p{n}a", f"p{n}b"] for n in range(4)])
    placed = [o for o in outcomes if o.endswith(":True")]
    assert sorted(placed) == ["FILLED:True"] * 5 + ["REJECTED:True"] * 3
    store = SqlitePaperStore(path, AccountRules(start_cash={"INR": dec(50_000)}), clock=clock)
    assert store.wallet("alice", "INR").cash == dec("4812.50")  # 50,000 − 5 × 9037.50
    assert len(store.orders("alice", OrderState.FILLED)) == 5
    assert len(store.trades("alice")) == 5
    assert invariant(store)
    store.close()
