"""LazyStore: opened on first use, retried after a pause while it cannot be opened."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from store import Store, StoreUnavailable
from store.lazy import OPEN_RETRY_S, LazyStore
from store.sqlite import SqliteStore
from tests.support.clock import FakeClock


def test_open_is_retried_after_a_pause_then_kept(tmp_path: Path) -> None:
    clock = FakeClock()
    outcomes: list[Exception | None] = [StoreUnavailable("mongodb: no server"), ValueError("bad")]
    opened: list[Store] = []

    def open_store() -> Store:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        opened.append(SqliteStore(tmp_path / "users.db"))
        return opened[-1]

    lazy = LazyStore(open_store, clock=clock)
    assert opened == []  # nothing opened before a request needs it
    with pytest.raises(StoreUnavailable, match="StoreUnavailable"):
        lazy.get()
    clock.advance(OPEN_RETRY_S - 0.01)
    with pytest.raises(StoreUnavailable):  # no new attempt yet
        lazy.ping()
    assert len(outcomes) == 1
    clock.advance(0.01)
    with pytest.raises(StoreUnavailable, match="ValueError"):  # a refused URL: 503 as well
        lazy.get()
    clock.advance(OPEN_RETRY_S)
    lazy.ping()
    assert lazy.get() is opened[0]
    assert lazy.get().create_user("alice", "hash", "user")["username"] == "alice"
    assert len(opened) == 1
    lazy.close()
    lazy.close()  # idempotent


def test_a_store_being_opened_does_not_hold_other_requests(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_open() -> Store:
        started.set()
        release.wait(30)  # held until the test has its answer
        return SqliteStore(tmp_path / "slow.db")

    lazy = LazyStore(slow_open)
    opener = threading.Thread(target=lazy.get)
    opener.start()
    assert started.wait(5)
    with pytest.raises(StoreUnavailable, match="opening"):
        lazy.get()  # answered at once, not after the attempt in flight
    assert opener.is_alive()  # the attempt was still held when the answer came
    release.set()
    opener.join(5)
    assert isinstance(lazy.get(), SqliteStore)
    lazy.close()


def test_any_failure_to_open_is_unavailable_and_paused() -> None:
    clock = FakeClock()
    calls: list[int] = []

    def broken() -> Store:
        calls.append(1)
        raise TypeError("an adapter bug, or a driver error the adapter did not translate")

    lazy = LazyStore(broken, retry_s=1.0, clock=clock)
    for _ in range(3):
        with pytest.raises(StoreUnavailable, match="TypeError"):
            lazy.get()
    assert len(calls) == 1
