"""LazyStore: opened on first use, retried after a pause while it cannot be opened."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from store import Store, StoreUnavailable
from store.lazy import OPEN_RETRY_S, LazyStore
from store.sqlite import SqliteStore


def test_open_is_retried_after_a_pause_then_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    outcomes: list[Exception | None] = [StoreUnavailable("mongodb: no server"), ValueError("bad")]
    opened: list[Store] = []

    def open_store() -> Store:
        outcome = outcomes.pop(0) if outcomes else None
        if outcome is not None:
            raise outcome
        opened.append(SqliteStore(tmp_path / "users.db"))
        return opened[-1]

    lazy = LazyStore(open_store)
    assert opened == []  # nothing opened before a request needs it
    with pytest.raises(StoreUnavailable, match="StoreUnavailable"):
        lazy.get()
    clock[0] += OPEN_RETRY_S - 0.01
    with pytest.raises(StoreUnavailable):  # no new attempt yet
        lazy.ping()
    assert len(outcomes) == 1
    clock[0] += 0.01
    with pytest.raises(StoreUnavailable, match="ValueError"):  # a refused URL: 503 as well
        lazy.get()
    clock[0] += OPEN_RETRY_S
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
        release.wait(5)
        return SqliteStore(tmp_path / "slow.db")

    lazy = LazyStore(slow_open)
    opener = threading.Thread(target=lazy.get)
    opener.start()
    started.wait(5)
    began = time.perf_counter()
    with pytest.raises(StoreUnavailable, match="opening"):
        lazy.get()  # answered at once, not after the attempt in flight
    assert time.perf_counter() - began < 1.0
    release.set()
    opener.join(5)
    assert isinstance(lazy.get(), SqliteStore)
    lazy.close()


def test_any_failure_to_open_is_unavailable_and_paused(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [50.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    calls: list[int] = []

    def broken() -> Store:
        calls.append(1)
        raise TypeError("an adapter bug, or a driver error the adapter did not translate")

    lazy = LazyStore(broken, retry_s=1.0)
    for _ in range(3):
        with pytest.raises(StoreUnavailable, match="TypeError"):
            lazy.get()
    assert len(calls) == 1
