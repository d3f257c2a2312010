"""Sequence checks of the subscriber: what each seq means per (channel, product)."""

from __future__ import annotations

import pytest

from worker_enricher.subscriber.sequencer import MAX_GAP, Sequencer, Step

TICKS = "market:underlying"
CHAINS = "market:option_chain"


def test_first_then_next() -> None:
    s = Sequencer()
    assert s.check(TICKS, "NIFTY", 1_000) == (Step.FIRST, 0)
    assert s.check(TICKS, "NIFTY", 1_001) == (Step.NEXT, 0)
    assert s.check(TICKS, "NIFTY", 1_002) == (Step.NEXT, 0)
    assert s.last == {(TICKS, "NIFTY"): 1_002}


def test_first_seq_may_be_zero() -> None:
    s = Sequencer()
    assert s.check(TICKS, "NIFTY", 0) == (Step.FIRST, 0)
    assert s.check(TICKS, "NIFTY", 1) == (Step.NEXT, 0)


def test_gap_counts_the_missing_messages_and_moves_on() -> None:
    s = Sequencer()
    s.check(TICKS, "NIFTY", 10)
    assert s.check(TICKS, "NIFTY", 12) == (Step.GAP, 1)
    assert s.check(TICKS, "NIFTY", 20) == (Step.GAP, 7)  # 13..19
    assert s.check(TICKS, "NIFTY", 21) == (Step.NEXT, 0)  # counted from the gap's end


def test_repeat_and_late_messages_do_not_move_the_last_seq() -> None:
    s = Sequencer()
    s.check(TICKS, "NIFTY", 50)
    assert s.check(TICKS, "NIFTY", 50) == (Step.REPEAT, 0)  # duplicate
    assert s.check(TICKS, "NIFTY", 45) == (Step.REPEAT, 0)  # late
    assert s.last[TICKS, "NIFTY"] == 50
    assert s.check(TICKS, "NIFTY", 51) == (Step.NEXT, 0)


def test_a_publisher_restart_is_a_reset_not_millions_missing() -> None:
    s = Sequencer()
    run1 = 1_763_700_000_000_000  # the feed numbers a run from its start in microseconds
    s.check(TICKS, "NIFTY", run1)
    s.check(TICKS, "NIFTY", run1 + 1)
    run2 = run1 + 90_000_000  # restarted 90 s later
    assert s.check(TICKS, "NIFTY", run2) == (Step.RESET, 0)
    assert s.check(TICKS, "NIFTY", run2 + 1) == (Step.NEXT, 0)


def test_a_jump_far_back_is_a_reset_too() -> None:
    s = Sequencer()
    s.check(TICKS, "NIFTY", 5_000_000)
    assert s.check(TICKS, "NIFTY", 7) == (Step.RESET, 0)
    assert s.check(TICKS, "NIFTY", 8) == (Step.NEXT, 0)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (MAX_GAP, (Step.GAP, MAX_GAP - 1)),
        (MAX_GAP + 1, (Step.RESET, 0)),
        (-MAX_GAP + 1, (Step.REPEAT, 0)),
        (-MAX_GAP, (Step.REPEAT, 0)),  # a step back *beyond* MAX_GAP resets, this one does not
        (-MAX_GAP - 1, (Step.RESET, 0)),
    ],
)
def test_max_gap_boundary(delta: int, expected: tuple[Step, int]) -> None:
    s = Sequencer()
    start = 10 * MAX_GAP
    s.check(TICKS, "NIFTY", start)
    assert s.check(TICKS, "NIFTY", start + delta) == expected
    moved = expected[0] in (Step.GAP, Step.RESET)
    assert s.last[TICKS, "NIFTY"] == (start + delta if moved else start)


def test_channels_and_products_are_independent() -> None:
    s = Sequencer()
    assert s.check(TICKS, "NIFTY", 100) == (Step.FIRST, 0)
    assert s.check(TICKS, "BANKNIFTY", 7) == (Step.FIRST, 0)  # same channel, other product
    assert s.check(CHAINS, "NIFTY", 3) == (Step.FIRST, 0)  # same product, other channel
    assert s.check(TICKS, "NIFTY", 101) == (Step.NEXT, 0)
    assert s.check(TICKS, "BANKNIFTY", 9) == (Step.GAP, 1)
    assert s.check(CHAINS, "NIFTY", 3) == (Step.REPEAT, 0)
    assert s.check(CHAINS, "NIFTY", 4) == (Step.NEXT, 0)
    assert s.last == {(TICKS, "NIFTY"): 101, (TICKS, "BANKNIFTY"): 9, (CHAINS, "NIFTY"): 4}
