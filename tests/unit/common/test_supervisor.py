"""The supervisor's restart schedule: capped exponential backoff on a fake clock."""

from __future__ import annotations

import pytest

from common.supervisor import Backoff, Program, RestartPlan, Supervisor
from tests.support.clock import FakeClock


def test_backoff_doubles_from_the_first_delay_up_to_the_cap() -> None:
    backoff = Backoff(first_s=0.5, cap_s=30.0)
    assert [backoff.delay(n) for n in range(1, 10)] == [
        0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0,
    ]  # fmt: skip
    assert backoff.delay(10_000) == 30.0  # no overflow after days of failures


def test_a_program_that_dies_at_once_waits_longer_each_time() -> None:
    clock = FakeClock()
    plan = RestartPlan(Backoff(first_s=0.5, cap_s=4.0, stable_s=60.0))
    plan.started("worker", clock())
    seen = []
    for _ in range(6):
        clock.advance(0.1)  # it dies 0.1 s after each start
        attempt, delay = plan.exited("worker", clock())
        assert plan.due_now(clock()) == []  # not before its delay
        assert plan.next_due() == pytest.approx(clock() + delay)
        clock.advance(delay)
        assert plan.due_now(clock()) == ["worker"]
        plan.started("worker", clock())
        assert plan.due_now(clock()) == []
        seen.append((attempt, delay))
    assert seen == [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (6, 4.0)]


def test_a_stable_run_starts_the_count_again() -> None:
    clock = FakeClock()
    plan = RestartPlan(Backoff(first_s=0.5, cap_s=30.0, stable_s=60.0))
    plan.started("feed", clock())
    for _ in range(3):
        clock.advance(1.0)
        plan.exited("feed", clock())
        plan.started("feed", clock())
    clock.advance(59.9)  # not quite stable: the fourth in a row
    assert plan.exited("feed", clock()) == (4, 4.0)
    plan.started("feed", clock())
    clock.advance(60.0)
    assert plan.exited("feed", clock()) == (1, 0.5)


def test_programs_are_tracked_apart() -> None:
    plan = RestartPlan(Backoff(first_s=1.0))
    plan.started("a", 0.0)
    plan.started("b", 0.0)
    assert plan.exited("a", 1.0) == (1, 1.0)
    assert plan.exited("a", 1.5) == (2, 2.0)  # a again, before its restart
    assert plan.exited("b", 2.0) == (1, 1.0)
    assert sorted(plan.due_now(3.5)) == ["a", "b"]


def test_program_names_must_be_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        Supervisor([Program("a", ["true"]), Program("a", ["false"])])
