"""GuardedStore: a timeout and a circuit breaker around a real SQLite store with injected faults."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest

from common.settings import Settings
from storage_service.guard import (
    HISTORY_TIMEOUT_FACTOR,
    CircuitState,
    GuardedStore,
    StoreGuards,
)
from store import StoreError, StoreUnavailable
from tests.support.chains import EXPIRY
from tests.support.clock import FakeClock
from tests.support.processes import wait_until
from tests.support.snapshots import at
from tests.unit.storage_service.read_api.faults import FaultyStore, Mode
from tests.unit.storage_service.read_api.support import sample, store_calls

TIMEOUT_S = 0.1
RESET_S = 0.3
HANG_S = 30.0
"""A SLOW call's hang when nothing releases it: far past every timeout here."""


@pytest.fixture
def clock() -> FakeClock:
    """The breaker's clock: a test moves it past the reset instead of sleeping."""
    return FakeClock()


@pytest.fixture
def guard(faulty: FaultyStore, clock: FakeClock) -> Iterator[GuardedStore]:
    guarded = GuardedStore(
        lambda: faulty, timeout_s=TIMEOUT_S, fail_max=3, reset_s=RESET_S, clock=clock
    )
    yield guarded
    faulty.mode = Mode.OK
    guarded.close()


def _circuit_gauge() -> float:
    return sample("optionsflow_circuit_state", circuit="store")


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


def test_a_slow_call_fails_at_the_timeout_while_the_call_still_hangs(
    guard: GuardedStore, faulty: FaultyStore
) -> None:
    faulty.mode, faulty.delay_s = Mode.SLOW, HANG_S
    timeouts = store_calls("products", "timeout")
    with pytest.raises(StoreUnavailable, match="took longer than 100 ms"):
        guard.products()
    assert faulty.hanging == 1  # answered while the call is still held: it did not wait for it
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

    faulty.mode, faulty.delay_s = Mode.SLOW, HANG_S  # a call reaching the store would hang
    with pytest.raises(StoreUnavailable, match="circuit open"):
        guard.products()
    assert faulty.calls["products"] == reached  # refused without asking the store
    assert store_calls("products", "rejected") == rejected + 1


def test_after_the_reset_one_trial_call_closes_or_reopens_it(
    guard: GuardedStore, faulty: FaultyStore, clock: FakeClock
) -> None:
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 3)
    clock.advance(RESET_S - 0.01)
    _fail(guard, 1)  # not yet: refused without a call
    assert faulty.calls["products"] == 3
    clock.advance(0.01)
    _fail(guard, 1)  # the trial call fails: open again at once
    assert guard.state is CircuitState.OPEN
    assert faulty.calls["products"] == 4

    clock.advance(RESET_S)
    faulty.mode = Mode.OK
    assert "NIFTY" in guard.products()
    assert guard.state is CircuitState.CLOSED
    assert _circuit_gauge() == 0
    assert faulty.calls["products"] == 5


def test_refused_arguments_do_not_count(guard: GuardedStore, faulty: FaultyStore) -> None:
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 2)
    faulty.mode = Mode.OK
    for _ in range(5):
        with pytest.raises(ValueError, match="limit"):
            guard.chain_history("NIFTY", EXPIRY, at(0), at(3), limit=0)
    faulty.mode = Mode.UNAVAILABLE
    assert guard.state is CircuitState.CLOSED  # neither a failure nor a success
    _fail(guard, 1)
    assert guard.state is CircuitState.OPEN  # the third failure in a row


def test_errors_of_the_store_itself_count_like_outages(guard: GuardedStore) -> None:
    # Bad credentials, a failed query: the store keeps failing, so the circuit opens.
    for _ in range(3):
        with pytest.raises(StoreError, match="refused"):
            guard.run("refusing", _refuse)
    assert guard.state is CircuitState.OPEN
    with pytest.raises(StoreUnavailable, match="circuit open"):
        guard.run("refusing", _refuse)


def test_the_store_is_opened_on_first_use_and_again_after_a_failed_open(
    faulty: FaultyStore,
) -> None:
    attempts: list[int] = []

    def opener() -> FaultyStore:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise StoreUnavailable("connection refused")
        return faulty

    guard = GuardedStore(opener, timeout_s=TIMEOUT_S, fail_max=3, reset_s=RESET_S)
    try:
        assert attempts == []  # constructing it does not touch the store
        with pytest.raises(StoreUnavailable, match="StoreUnavailable"):
            guard.ping()
        guard.ping()
        guard.ping()
        assert len(attempts) == 2
    finally:
        guard.close()


def test_half_open_lets_exactly_one_trial_call_through(faulty: FaultyStore) -> None:
    clock = FakeClock()
    guard = GuardedStore(lambda: faulty, timeout_s=HANG_S, fail_max=1, reset_s=RESET_S, clock=clock)
    try:
        faulty.mode = Mode.UNAVAILABLE
        _fail(guard, 1)
        clock.advance(RESET_S)  # due for a trial
        faulty.mode, faulty.delay_s = Mode.SLOW, HANG_S  # the trial hangs until released
        reached = faulty.calls["products"]
        barrier = threading.Barrier(8)
        outcomes: list[str] = []

        def call() -> None:
            barrier.wait(5)
            try:
                guard.products()
                outcomes.append("ok")
            except StoreUnavailable as exc:
                outcomes.append("refused" if "circuit open" in str(exc) else str(exc))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        # refused at once, not queued behind the trial: all while the trial still hangs (the
        # trial's thread may reach the store after the refusals, on a loaded machine)
        assert wait_until(lambda: len(outcomes) == 7 and faulty.hanging == 1, 10), outcomes
        assert (outcomes, faulty.hanging) == (["refused"] * 7, 1)
        faulty.release.set()
        for thread in threads:
            thread.join(10)

        assert faulty.calls["products"] - reached == 1
        assert sorted(outcomes) == ["ok"] + ["refused"] * 7
        assert guard.state is CircuitState.CLOSED  # the trial succeeded
    finally:
        faulty.mode = Mode.OK
        guard.close()


def test_a_trial_that_times_out_reopens_the_circuit(
    guard: GuardedStore, faulty: FaultyStore, clock: FakeClock
) -> None:
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 3)
    clock.advance(RESET_S)
    faulty.mode, faulty.delay_s = Mode.SLOW, HANG_S
    with pytest.raises(StoreUnavailable, match="took longer"):
        guard.products()
    assert guard.state is CircuitState.OPEN
    assert guard.retry_after_s() == 1


def test_a_trial_refused_for_its_arguments_frees_the_slot(
    guard: GuardedStore, faulty: FaultyStore, clock: FakeClock
) -> None:
    faulty.mode = Mode.UNAVAILABLE
    _fail(guard, 3)
    clock.advance(RESET_S)
    faulty.mode = Mode.OK
    with pytest.raises(ValueError, match="limit"):
        guard.chain_history("NIFTY", EXPIRY, at(0), at(3), limit=0)
    assert guard.state is CircuitState.HALF_OPEN  # it said nothing about the store
    assert guard.products()["NIFTY"]  # the next call is the trial
    assert guard.state is CircuitState.CLOSED


def test_history_and_light_calls_have_separate_circuits(
    faulty: FaultyStore, settings: Settings
) -> None:
    http = dataclasses.replace(
        settings.http, store_timeout_ms=250, breaker_fail_max=2, breaker_reset_s=30.0
    )
    guards = StoreGuards.from_settings(lambda: faulty, http)
    try:
        assert guards.light.timeout_s == 0.25
        assert guards.history.timeout_s == 0.25 * HISTORY_TIMEOUT_FACTOR
        faulty.mode, faulty.delay_s = Mode.SLOW, HANG_S
        for _ in range(2):
            with pytest.raises(StoreUnavailable, match="took longer"):
                guards.history.chain_history("NIFTY", EXPIRY, at(0), at(3))
        assert guards.history.state is CircuitState.OPEN
        assert sample("optionsflow_circuit_state", circuit="history") == 2
        faulty.mode = Mode.OK
        assert guards.light.state is CircuitState.CLOSED
        assert "NIFTY" in guards.light.products()
        assert guards.light.latest_chain("NIFTY", EXPIRY) is not None
        assert sample("optionsflow_circuit_state", circuit="store") == 0
    finally:
        guards.close()
