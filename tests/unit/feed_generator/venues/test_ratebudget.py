"""The local credit budget on a fake clock: spend, refill, cap, waits, drain."""

from __future__ import annotations

import pytest

from feed_generator.venues.ratebudget import DERIBIT_NON_MATCHING, BudgetLimits, RateBudget
from tests.support.clock import FakeClock


def test_deribit_defaults_allow_a_burst_of_100_then_20_per_second() -> None:
    clock = FakeClock()
    budget = RateBudget(DERIBIT_NON_MATCHING, clock=clock)
    assert sum(budget.try_acquire() for _ in range(150)) == 100
    assert budget.wait_time() == pytest.approx(0.05)  # 500 credits at 10,000/s
    clock.advance(1.0)
    assert sum(budget.try_acquire() for _ in range(50)) == 20


def test_a_refused_request_takes_nothing() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=10, refill_per_s=2), clock=clock)
    assert budget.try_acquire(8)
    assert not budget.try_acquire(3)
    assert budget.credits == pytest.approx(2)
    assert budget.wait_time(3) == pytest.approx(0.5)
    clock.advance(0.5)
    assert budget.try_acquire(3)
    assert budget.credits == pytest.approx(0)


def test_refill_stops_at_the_maximum() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=10, refill_per_s=100), clock=clock)
    budget.try_acquire(10)
    clock.advance(60.0)
    assert budget.credits == 10
    assert budget.wait_time(10) == 0.0


def test_acquire_sleeps_exactly_until_the_credits_are_there() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=4, refill_per_s=2, default_cost=2), clock=clock)
    waits = [budget.acquire(sleep=clock.sleep) for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert clock.elapsed == pytest.approx(2.0)


def test_each_refusal_counts_the_wait_it_implies() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=2, refill_per_s=1), clock=clock)
    assert budget.try_acquire()
    assert budget.try_acquire()
    assert budget.waited_s == 0.0
    assert not budget.try_acquire()  # empty: 1 credit is 1 s away
    assert budget.waited_s == 1.0
    clock.advance(1.0)
    assert budget.try_acquire()
    assert budget.waited_s == 1.0  # a grant adds nothing
    clock.advance(0.5)
    assert not budget.try_acquire(1.0)  # 0.5 credits there: 0.5 s to wait
    assert budget.waited_s == 1.5


def test_requests_waiting_together_each_count() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=1, refill_per_s=1), clock=clock)
    assert budget.try_acquire()
    assert not budget.try_acquire()  # A waits 1 s
    assert not budget.try_acquire()  # so does B
    clock.advance(1.0)
    assert budget.try_acquire()  # A gets the credit
    assert not budget.try_acquire()  # B waits another second
    clock.advance(1.0)
    assert budget.try_acquire()
    assert budget.waited_s == 3.0  # A 1 s, B 2 s


def test_acquire_adds_its_sleeps_to_the_waited_seconds() -> None:
    clock = FakeClock()
    budget = RateBudget(BudgetLimits(max_credits=4, refill_per_s=2, default_cost=2), clock=clock)
    waits = [budget.acquire(sleep=clock.sleep) for _ in range(4)]
    assert budget.waited_s == pytest.approx(sum(waits)) == pytest.approx(2.0)


def test_drain_mirrors_a_venue_refusal() -> None:
    clock = FakeClock()
    budget = RateBudget(DERIBIT_NON_MATCHING, clock=clock)
    budget.drain()
    assert not budget.try_acquire()
    assert budget.wait_time() == pytest.approx(0.05)


@pytest.mark.parametrize("cost", [0, -1, 50_001])
def test_impossible_costs_are_refused(cost: float) -> None:
    budget = RateBudget(DERIBIT_NON_MATCHING, clock=FakeClock())
    with pytest.raises(ValueError, match="cost"):
        budget.try_acquire(cost)


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        BudgetLimits(max_credits=0, refill_per_s=1)
    with pytest.raises(ValueError, match="more than the bucket"):
        BudgetLimits(max_credits=1, refill_per_s=1, default_cost=2)
