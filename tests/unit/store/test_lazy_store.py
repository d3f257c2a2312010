"""LazyStore and LazyRepository: opened on first use, retried after a pause while they
cannot be opened; LazyRepository's concurrent first requests share one open."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from store import Store, StoreUnavailable
from store.lazy import OPEN_RETRY_S, LazyRepository, LazyStore
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


class _Repository:
    """A repository that only answers and closes: what LazyRepository needs of one."""

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None


def test_the_store_is_opened_on_first_use_and_retried_after_a_pause() -> None:
    opened: list[int] = []
    now = [0.0]

    def opener() -> _Repository:
        opened.append(1)
        if len(opened) == 1:
            raise OSError("disk full")
        return _Repository()

    lazy = LazyRepository("strategy store", opener, retry_s=1.0, clock=lambda: now[0])
    assert opened == []
    with pytest.raises(StoreUnavailable, match="strategy store unavailable: OSError"):
        lazy.get()
    now[0] = 0.5
    with pytest.raises(StoreUnavailable, match="strategy store unavailable: OSError"):
        lazy.get()  # within the pause: not tried again
    assert len(opened) == 1
    now[0] = 1.0
    store = lazy.get()
    assert lazy.get() is store
    assert len(opened) == 2
    lazy.close()
    assert lazy.get() is not store  # opened again after a close
    assert len(opened) == 3


def test_requests_arriving_while_the_store_opens_wait_for_it() -> None:
    release, started = threading.Event(), threading.Event()
    opened: list[int] = []

    def opener() -> _Repository:
        opened.append(1)
        started.set()
        assert release.wait(5)
        return _Repository()

    lazy = LazyRepository("strategy store", opener, wait_s=5.0)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(lazy.get())) for _ in range(4)]
    threads[0].start()
    assert started.wait(5)
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(got) == 4
    assert len({id(g) for g in got}) == 1
    assert opened == [1]
    opening, finish = threading.Event(), threading.Event()

    def slow_opener() -> _Repository:
        opening.set()
        assert finish.wait(5)
        return _Repository()

    slow = LazyRepository("strategy store", slow_opener, wait_s=0.05)
    first = threading.Thread(target=slow.get)
    first.start()
    assert opening.wait(5)
    with pytest.raises(StoreUnavailable, match="strategy store unavailable: opening"):
        slow.get()  # waited wait_s for the other's attempt, which is still under way
    finish.set()
    first.join(10)
    assert slow.get() is not None
