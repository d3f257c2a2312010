"""Breaker: the circuit's states (pybreaker's) on a fake clock, without threads or a store."""

from __future__ import annotations

import pytest

from storage_service.breaker import Breaker, CircuitOpen, CircuitState, Outcome
from tests.unit.storage_service.read_api.support import sample


@pytest.fixture
def now() -> list[float]:
    return [1000.0]


@pytest.fixture
def breaker(now: list[float]) -> Breaker:
    return Breaker("test", fail_max=2, reset_s=10.0, clock=lambda: now[0])


def _fail(breaker: Breaker, times: int) -> None:
    for _ in range(times):
        breaker.record(Outcome.FAILURE, trial=breaker.admit())


def test_consecutive_failures_open_it_and_a_success_resets_the_count(breaker: Breaker) -> None:
    _fail(breaker, 1)
    breaker.record(Outcome.SUCCESS, trial=breaker.admit())
    _fail(breaker, 1)
    breaker.record(Outcome.NEUTRAL, trial=breaker.admit())  # neither resets nor counts
    assert breaker.state is CircuitState.CLOSED
    _fail(breaker, 1)
    assert breaker.state is CircuitState.OPEN
    with pytest.raises(CircuitOpen):
        breaker.admit()


def test_one_trial_at_a_time_once_the_reset_has_passed(breaker: Breaker, now: list[float]) -> None:
    _fail(breaker, 2)
    now[0] += 9.5
    assert breaker.retry_after_s() == 1
    now[0] += 0.5
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.admit() is True
    for _ in range(3):
        with pytest.raises(CircuitOpen):
            breaker.admit()
    breaker.record(Outcome.FAILURE, trial=True)
    assert breaker.state is CircuitState.OPEN
    assert breaker.retry_after_s() == 10

    now[0] += 10
    assert breaker.admit() is True
    breaker.record(Outcome.SUCCESS, trial=True)
    assert breaker.state is CircuitState.CLOSED
    assert breaker.admit() is False


def test_calls_let_in_before_it_opened_do_not_decide(breaker: Breaker, now: list[float]) -> None:
    late = [breaker.admit() for _ in range(3)]  # in flight while it opens
    _fail(breaker, 2)
    breaker.record(Outcome.SUCCESS, trial=late[0])
    assert breaker.state is CircuitState.OPEN
    now[0] += 10
    assert breaker.admit() is True
    breaker.record(Outcome.FAILURE, trial=late[1])  # not the trial: ignored
    assert breaker.state is CircuitState.HALF_OPEN
    with pytest.raises(CircuitOpen):
        breaker.admit()  # the trial is still in flight


def test_a_neutral_trial_frees_the_slot_and_decides_nothing(
    breaker: Breaker, now: list[float]
) -> None:
    # pybreaker's `exclude` would count it as a success and close the circuit.
    _fail(breaker, 2)
    assert sample("optionsflow_circuit_state", circuit="test") == 2
    now[0] += 10
    assert breaker.admit() is True
    assert sample("optionsflow_circuit_state", circuit="test") == 1
    breaker.record(Outcome.NEUTRAL, trial=True)
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.admit() is True  # the next call is the trial
    breaker.record(Outcome.SUCCESS, trial=True)
    assert breaker.state is CircuitState.CLOSED
    assert sample("optionsflow_circuit_state", circuit="test") == 0


def test_a_call_from_before_the_circuit_opened_does_not_count_after_it_closed(
    breaker: Breaker, now: list[float]
) -> None:
    _, old_epoch = breaker.admit_with_epoch()  # a slow call, let in while closed
    _fail(breaker, 2)  # the circuit opens meanwhile
    now[0] += 10.0
    trial, epoch = breaker.admit_with_epoch()
    assert trial is True
    breaker.record(Outcome.SUCCESS, trial=True, epoch=epoch)  # closed again
    breaker.record(Outcome.FAILURE, trial=False, epoch=old_epoch)  # the slow call ends
    _fail(breaker, 1)
    assert breaker.state is CircuitState.CLOSED  # 1 failure of this period of 2 allowed
