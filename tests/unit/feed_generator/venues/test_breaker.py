"""The REST circuit breaker on a fake clock: opens after N failures, one trial, closes."""

from __future__ import annotations

import pytest

from feed_generator.venues.breaker import CircuitOpenError, CircuitState, RestBreaker
from tests.support.clock import FakeClock


class Endpoint:
    """A REST call that fails while ``down`` and counts the calls that reached it."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.down:
            raise ConnectionError("refused")
        return "snapshot"


def _state(breaker: RestBreaker) -> CircuitState:
    """Read through a call, so that mypy does not narrow the property between reads."""
    return breaker.state


def _trip(breaker: RestBreaker, endpoint: Endpoint, times: int) -> None:
    for _ in range(times):
        with pytest.raises(ConnectionError):
            breaker.call(endpoint)


def test_opens_after_fail_max_consecutive_failures() -> None:
    clock = FakeClock()
    breaker, endpoint = RestBreaker("rest", fail_max=3, reset_s=10.0, clock=clock), Endpoint()
    _trip(breaker, endpoint, 2)
    assert _state(breaker) is CircuitState.CLOSED
    assert breaker.failures == 2
    _trip(breaker, endpoint, 1)  # the third failure trips it, and the caller sees the error
    assert _state(breaker) is CircuitState.OPEN
    with pytest.raises(CircuitOpenError) as refused:
        breaker.call(endpoint)
    assert endpoint.calls == 3  # the refused call never reached the endpoint
    assert refused.value.retry_after_s == pytest.approx(10.0)


def test_a_success_resets_the_failure_count() -> None:
    breaker, endpoint = RestBreaker("rest", fail_max=2, clock=FakeClock()), Endpoint()
    _trip(breaker, endpoint, 1)
    endpoint.down = False
    assert breaker.call(endpoint) == "snapshot"
    endpoint.down = True
    _trip(breaker, endpoint, 1)
    assert _state(breaker) is CircuitState.CLOSED


def test_half_open_trial_success_closes() -> None:
    clock = FakeClock()
    breaker, endpoint = RestBreaker("rest", fail_max=1, reset_s=10.0, clock=clock), Endpoint()
    _trip(breaker, endpoint, 1)
    clock.advance(9.9)
    assert _state(breaker) is CircuitState.OPEN
    assert breaker.retry_after_s() == pytest.approx(0.1)
    clock.advance(0.1)
    assert _state(breaker) is CircuitState.HALF_OPEN
    endpoint.down = False
    assert breaker.call(endpoint) == "snapshot"
    assert _state(breaker) is CircuitState.CLOSED
    assert breaker.retry_after_s() == 0.0


def test_half_open_trial_failure_opens_for_another_period() -> None:
    clock = FakeClock()
    breaker, endpoint = RestBreaker("rest", fail_max=2, reset_s=5.0, clock=clock), Endpoint()
    _trip(breaker, endpoint, 2)
    clock.advance(5.0)
    _trip(breaker, endpoint, 1)  # the one trial fails: open again at once
    assert _state(breaker) is CircuitState.OPEN
    assert breaker.retry_after_s() == pytest.approx(5.0)
    with pytest.raises(CircuitOpenError):
        breaker.call(endpoint)
    assert endpoint.calls == 3


def test_openings_are_counted_from_closed_and_from_a_failed_trial() -> None:
    clock = FakeClock()
    breaker, endpoint = RestBreaker("rest", fail_max=2, reset_s=5.0, clock=clock), Endpoint()
    assert breaker.opened == 0
    _trip(breaker, endpoint, 1)
    assert breaker.opened == 0
    _trip(breaker, endpoint, 1)
    assert breaker.opened == 1
    with pytest.raises(CircuitOpenError):  # refused calls do not open it again
        breaker.call(endpoint)
    assert breaker.opened == 1
    clock.advance(5.0)
    _trip(breaker, endpoint, 1)  # the trial fails
    assert breaker.opened == 2
    clock.advance(5.0)
    endpoint.down = False
    assert breaker.call(endpoint) == "snapshot"  # closed again: the count stays
    assert (_state(breaker), breaker.opened) == (CircuitState.CLOSED, 2)


def test_excluded_errors_do_not_count() -> None:
    def bad_request() -> str:
        raise ValueError("invalid params")

    breaker = RestBreaker("rest", fail_max=1, exclude=(ValueError,), clock=FakeClock())
    for _ in range(3):
        with pytest.raises(ValueError, match="invalid"):
            breaker.call(bad_request)
    assert _state(breaker) is CircuitState.CLOSED


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="fail_max"):
        RestBreaker("rest", fail_max=0)
