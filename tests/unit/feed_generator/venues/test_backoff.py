"""Capped exponential backoff with full jitter: bounds per attempt, the cap, the reset."""

from __future__ import annotations

import random

import pytest

from feed_generator.venues.backoff import Backoff


def test_each_wait_lies_within_its_attempts_ceiling() -> None:
    backoff = Backoff(base=0.5, cap=8.0, rng=random.Random(7))
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for attempt, ceiling in enumerate(ceilings):
        assert backoff.ceiling() == ceiling
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceiling
        assert backoff.attempt == attempt + 1


def test_the_jitter_is_full_and_reproducible() -> None:
    """Seeded: the same draws as random.uniform over [0, ceiling]."""
    reference = random.Random(42)
    expected = [reference.uniform(0.0, min(10.0, 1.0 * 2**n)) for n in range(6)]
    backoff = Backoff(base=1.0, cap=10.0, rng=random.Random(42))
    assert [backoff.next_delay() for _ in range(6)] == expected


def test_the_cap_holds_over_many_failures() -> None:
    backoff = Backoff(base=0.1, cap=5.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(2000)]
    assert max(delays) <= 5.0
    assert backoff.ceiling() == 5.0
    # Full jitter spreads the capped waits over the whole range, not near the cap only.
    late = delays[100:]
    assert min(late) < 0.5
    assert max(late) > 4.5


def test_reset_starts_again_from_base() -> None:
    backoff = Backoff(base=0.25, cap=4.0, rng=random.Random(3))
    for _ in range(5):
        backoff.next_delay()
    assert backoff.ceiling() == 4.0
    backoff.reset()
    assert backoff.attempt == 0
    assert backoff.ceiling() == 0.25
    assert backoff.next_delay() <= 0.25


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 5.0)])
def test_bad_parameters_are_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="base"):
        Backoff(base=base, cap=cap)
