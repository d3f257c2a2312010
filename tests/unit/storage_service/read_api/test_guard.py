"""GuardedStore: a timeout and a circuit breaker around a real SQLite store with injected faults."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from storage_service.store import StoreError, StoreUnavailable
from storage_service.store.guard import CircuitState, GuardedStore
from tests.support.chains import EXPIRY
from tests.unit.storage_service.factories import at
from tests.unit.storage_service.read_api.faults import FaultyStore, Mode
from tests.unit.storage_service.read_api.support import sample, store_calls

TIMEOUT_S = 0.1
RESET_S = 0.3


@pytest.fixture
def guard(faulty: FaultyStore) -> Iterator[GuardedStore]:
    guarded = GuardedStore(lambda: faulty, timeout_s=TIMEOUT_S, fail_max=3, reset_s=RESET_S)
    yield guarded
    faulty.mode = Mode.OK
    guarded.close()


def _circuit_gauge() -> float:
    return sample("optionsflow_circuit_state")


def _refuse(_store: object) -> None:
    raise StoreError("refused")


def _fail(guard: GuardedStore, times: int) -> None:
    for _ in range(times):
        with pytest.raises(StoreUnavailable):
            guard.products()


def test_calls_pass_through_when_the_store_answers(
    guard: GuardedStore, faulty: FaultyStore
) -> None:
    ok = store_calls("chain_history", "ok")
    rows = guard.chain_history("NIFTY", EXPIRY, at(0), at(3), fields=["pcr_oi"], limit=2)
    assert [(r["seq"], sorted(r)) for r in rows] == [
        (1, ["expiry", "pcr_oi", "product", "seq", "timestamp"]),
        (2, ["expiry", "pcr_oi", "product", "seq", "timestamp"]),
    ]
    assert guard.products()["NIFTY"][1] == EXPIRY
    assert store_calls("chain_history", "ok") == ok + 1
    assert guard.state is CircuitState.CLOSED


def test_a_slow_call_fails_after_the_timeout_not_after_the_sleep(
    guard: GuardedStore, faulty: FaultyStore
) -> None:
    faulty.mode, faulty.delay_s = Mode.SLOW, 3.0
    timeouts = store_calls("products", "timeout")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="took longer than 100 ms"):
        guard.products()
    elapsed = time.monotonic() - started
    assert TIMEOUT_S <= elapsed < 1.5  # far from the 3 s sleep, with room for a busy VM
    assert store_calls("products", "timeout") == timeouts + 1
    assert guard.state is CircuitState.CLOSED  # one failure of three


def test_failures_open_the_circuit_and_calls_then_fail_fast(
    guard: GuardedStore, faulty: FaultyStore
) -> None:
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 3)
    assert guard.state is CircuitState.OPEN
    assert _circuit_gauge() == 2
    assert guard.retry_after_s() == 1  # ceil(0.3 s)
    reached, rejected = faulty.calls["products"], store_calls("products", "rejected")

    faulty.mode = Mode.SLOW  # a call reaching the store would now take 2 s
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="circuit open"):
        guard.products()
    assert time.monotonic() - started < TIMEOUT_S  # no wait at all, let alone the 2 s sleep
    assert faulty.calls["products"] == reached
    assert store_calls("products", "rejected") == rejected + 1


def test_after_the_reset_one_trial_call_closes_or_reopens_it(
    guard: GuardedStore, faulty: FaultyStore
) -> None:
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 3)
    time.sleep(RESET_S + 0.05)
    _fail(guard, 1)  # the trial call fails: open again at once
    assert guard.state is CircuitState.OPEN
    assert faulty.calls["products"] == 4

    time.sleep(RESET_S + 0.05)
    faulty.mode = Mode.OK
    assert "NIFTY" in guard.products()
    assert guard.state is CircuitState.CLOSED
    assert _circuit_gauge() == 0
    assert faulty.calls["products"] == 5


def test_errors_of_a_store_that_answered_do_not_count(
    guard: GuardedStore, faulty: FaultyStore
) -> None:
    for _ in range(5):
        with pytest.raises(ValueError, match="limit"):
            guard.chain_history("NIFTY", EXPIRY, at(0), at(3), limit=0)
        with pytest.raises(StoreError):
            guard.run("refusing", _refuse)
    assert guard.state is CircuitState.CLOSED
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 2)
    assert guard.state is CircuitState.CLOSED  # two failures of three: the errors did not count
    _fail(guard, 1)
    assert guard.state is CircuitState.OPEN


def test_the_store_is_opened_on_first_use_and_again_after_a_failed_open(
    faulty: FaultyStore,
) -> None:
    attempts = []

    def opener() -> FaultyStore:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise StoreUnavailable("connection refused")
        return faulty

    guard = GuardedStore(opener, timeout_s=TIMEOUT_S, fail_max=3, reset_s=RESET_S)
    try:
        assert attempts == []  # constructing it does not touch the store
        with pytest.raises(StoreUnavailable, match="refused"):
            guard.ping()
        guard.ping()
        guard.ping()
        assert len(attempts) == 2
    finally:
        guard.close()
