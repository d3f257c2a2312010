"""SQLite adapter: schema and indexes, pragmas, locking, threads and processes."""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from store import StoreError, StoreUnavailable
from store import sqlite as sqlite_module
from store.sqlite import _HISTORY_SQL, _LATEST_SQL, SqliteStore
from tests.support.chains import EXPIRY
from tests.support.snapshots import at, candle, small


def test_creates_directory_tables_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "store.db"
    SqliteStore(path).close()
    SqliteStore(path).close()  # a second start-up finds everything in place
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        unique = {
            name: [c[2] for c in db.execute(f"PRAGMA index_info({name})")]
            for table in ("chains", "candles", "users")
            for _, name, is_unique, *_ in db.execute(f"PRAGMA index_list({table})")
            if is_unique
        }
        columns = [r[2] for r in db.execute("PRAGMA index_info(chains_range)")]
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    db.close()
    assert tables == {"chains", "candles", "users", "sessions", "revoked_access"}
    assert unique["chains_seq"] == ["product", "expiry", "seq"]
    assert unique["candles_key"] == ["product", "interval", "start_ms"]
    assert unique["users_key"] == ["username_key"]
    assert columns == ["product", "expiry", "ts", "seq"]
    assert mode == "wal"


def test_queries_use_the_range_index(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    conn = store._connection()
    for sql, params in (
        (_HISTORY_SQL, ("NIFTY", EXPIRY, 0, 10, 0, 0, 5)),
        (_LATEST_SQL, ("NIFTY", EXPIRY)),
    ):
        plan = " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "USING INDEX chains_range" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
    store.close()


def test_connection_pragmas(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db", busy_timeout_ms=1234)
    conn = store._connection()
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_locked_database_is_unavailable_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path, busy_timeout_ms=100)
    assert store.insert_chains([small(1)]) == 1
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.insert_chains([small(2), small(3)])  # after its 100 ms busy timeout
        with pytest.raises(StoreUnavailable):
            store.upsert_candles([candle(0, 1.0)])
        with pytest.raises(StoreUnavailable):
            store.create_user("alice", "h", "viewer")
        assert store.chain_seqs("NIFTY", EXPIRY) == [1]  # WAL: readers go on
    finally:
        blocker.rollback()
        blocker.close()
    assert store.insert_chains([small(2), small(3)]) == 2
    assert store.chain_seqs("NIFTY", EXPIRY) == [1, 2, 3]
    assert store.find_user("alice") is None
    store.close()


def test_a_write_waits_for_a_lock_released_within_its_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path, busy_timeout_ms=60_000)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN EXCLUSIVE")
    begun = threading.Event()
    conn = store._connection()
    # The write's BEGIN IMMEDIATE starts (and meets the lock) before the blocker lets go.
    conn.set_trace_callback(lambda sql: begun.set() if sql == "BEGIN IMMEDIATE" else None)

    def release() -> None:
        begun.wait(30)
        blocker.rollback()

    releaser = threading.Thread(target=release)
    releaser.start()
    try:
        assert store.insert_chains([small(1), small(2)]) == 2  # waited, then wrote
    finally:
        begun.set()
        releaser.join(30)
        conn.set_trace_callback(None)
        blocker.close()
    assert store.chain_seqs("NIFTY", EXPIRY) == [1, 2]
    store.close()


def test_processes_opening_a_new_file_at_once_all_open_it(tmp_path: Path) -> None:
    """Opening a new file switches it to WAL while another opener writes the schema: SQLite
    answered one of them "database is locked" at once (1 round in ~50 of 2 openers; an
    auth_service request failed 503 beside the deny-list keeper opening its own store)."""
    failures: list[str] = []
    for n in range(60):
        path = tmp_path / f"new-{n}.db"
        start = threading.Barrier(6)

        def open_it(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                SqliteStore(path).close()
            except StoreError as exc:
                failures.append(str(exc))

        openers = [threading.Thread(target=open_it) for _ in range(6)]
        for t in openers:
            t.start()
        for t in openers:
            t.join(30)
    assert failures == []


def test_unopenable_file_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "store.db").mkdir()  # a directory where the file should be
    with pytest.raises(StoreUnavailable, match="unable to open"):
        SqliteStore(tmp_path / "store.db")


def test_rejects_memory_and_bad_timeouts(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="file path"):
        SqliteStore(":memory:")
    with pytest.raises(ValueError, match="busy_timeout_ms"):
        SqliteStore(tmp_path / "x.db", busy_timeout_ms=-1)


def test_threads_share_a_store(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.db")
    counts: list[int] = []
    errors: list[BaseException] = []

    def write(first: int) -> None:
        try:
            docs = [small(seq, minutes=seq % 7) for seq in range(first, first + 120)]
            counts.extend(store.insert_chains(docs[i : i + 10]) for i in range(0, 120, 10))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(60 * k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert store.chain_seqs("NIFTY", EXPIRY) == list(range(300))
    assert sum(counts) == 300
    store.close()
    with pytest.raises(StoreError, match="closed") as info:
        store.ping()
    assert not isinstance(info.value, StoreUnavailable)


def _write_from_child(
    store: SqliteStore | None,
    path: Path,
    first: int,
    results: multiprocessing.SimpleQueue[tuple[int, int]],
) -> None:
    """Insert seqs first..first+299 in shuffled batches of 25; report how many were new."""
    store = store or SqliteStore(path)
    seqs = list(range(first, first + 300))
    random.Random(first).shuffle(seqs)
    docs = [small(seq, minutes=seq % 11) for seq in seqs]
    inserted = sum(store.insert_chains(docs[i : i + 25]) for i in range(0, 300, 25))
    results.put((inserted, len(sqlite_module._INHERITED)))


@pytest.mark.parametrize("opened_by", ["parent", "children"])
def test_processes_write_each_seq_exactly_once(tmp_path: Path, opened_by: str) -> None:
    """Four forked writers, overlapping seqs; the parent's connection must not be reused."""
    context = multiprocessing.get_context("fork")
    path = tmp_path / "store.db"
    store = None
    if opened_by == "parent":
        store = SqliteStore(path)
        store.insert_chains([small(0)])  # the parent holds an open connection when forking
    results: multiprocessing.SimpleQueue[tuple[int, int]] = context.SimpleQueue()
    procs = [
        context.Process(target=_write_from_child, args=(store, path, 150 * k, results))
        for k in range(4)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    reports = [results.get() for _ in procs]
    assert sum(inserted for inserted, _ in reports) == 750 - (1 if store else 0)
    # a child set the parent's connection aside and opened its own
    assert {inherited for _, inherited in reports} == {1 if store else 0}
    reader = store or SqliteStore(path)
    assert reader.chain_seqs("NIFTY", EXPIRY) == list(range(750))
    assert len(reader.chain_history("NIFTY", EXPIRY, at(0), at(11), limit=5000)) == 750
    reader.close()
