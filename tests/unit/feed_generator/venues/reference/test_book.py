"""The reference book on explicit monotonic times: median of the live sources, quarantine after
the window and back after agreeing as long, stale on silence, down with the venue, and the
last good value held (with its timestamp) when nothing trustworthy is left."""

from __future__ import annotations

import pytest

from common.messages.enums import SourceState
from feed_generator.venues.reference.book import ProductBook, ProductState, Rules, Transition

LIVE, STALE, DOWN, QUAR = (SourceState.LIVE, SourceState.STALE, SourceState.DOWN,
                           SourceState.QUARANTINED)  # fmt: skip
RULES = Rules(deviation_bps=50.0, window_s=5.0, stale_after_s=5.0)


def stamp(second: float) -> str:
    """A wire timestamp ``second`` seconds after 12:00:00 (to the millisecond)."""
    ms = round(second * 1000)
    return f"2026-12-05T12:{ms // 60_000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}Z"


def feed(book: ProductBook, t: float, **prices: float) -> list[Transition]:
    """Each named source prices at ``t`` (received and stamped then); then one evaluation."""
    for name, price in prices.items():
        book.update(name, name, price, stamp(t), t)
    return book.evaluate(t)


def state_of(book: ProductBook) -> ProductState | None:
    return book.state


def states(book: ProductBook) -> dict[str, SourceState | None]:
    return {name: s.state for name, s in book.sources.items()}


@pytest.mark.parametrize(
    ("prices", "expected"),
    [
        ({"a": 100.0}, 100.0),
        ({"a": 100.0, "b": 100.4}, 100.2),  # 40 bps apart: they agree, their mean
        ({"a": 100.0, "b": 100.2, "c": 100.3}, 100.2),  # median of three
        ({"a": 100.0, "b": 100.2, "c": 100.3, "d": 100.1}, 100.15),  # mean of the middle two
        ({"a": 100.0, "b": 100.1, "c": 109.0}, 100.1),  # an outlier is outside the median at once
    ],
)
def test_the_reference_is_the_median_of_the_live_sources(
    prices: dict[str, float], expected: float
) -> None:
    book = ProductBook("BTC", RULES)
    feed(book, 0.0, **prices)
    assert book.reference is not None
    assert book.reference.price == pytest.approx(expected, rel=1e-12)
    assert book.state is ProductState.LIVE
    assert book.reference.timestamp == stamp(0.0)


def test_two_sources_that_disagree_hold_the_last_good_value_and_are_suspect() -> None:
    book = ProductBook("BTC", RULES)
    feed(book, 0.0, a=100.0, b=100.2)
    # 60 bps apart at t=1: no majority against either; the reference of t=0 is held.
    changes = feed(book, 1.0, a=100.0, b=100.6)
    assert book.reference is not None
    assert book.reference.price == pytest.approx(100.1)
    assert book.reference.timestamp == stamp(0.0)
    assert book.state is ProductState.SUSPECT
    assert changes == [Transition("BTC", None, "live", "suspect", "the two live sources disagree")]
    # Two are no majority: neither is ever quarantined, however long they disagree.
    for t in range(2, 30):
        feed(book, float(t), a=100.0, b=100.6)
    assert states(book) == {"a": LIVE, "b": LIVE}
    assert book.reference.price == pytest.approx(100.1)
    feed(book, 30.0, a=100.0, b=100.2)
    assert book.reference.price == pytest.approx(100.1)
    assert state_of(book) is ProductState.LIVE
    assert book.reference.timestamp == stamp(30.0)


def test_three_sources_without_a_majority_are_suspect_and_none_is_quarantined() -> None:
    book = ProductBook("BTC", RULES)
    feed(book, 0.0, a=100.0, b=100.1, c=100.2)
    for t in range(1, 12):  # median 101: a and c are ~99 bps off, b alone agrees
        feed(book, float(t), a=100.0, b=101.0, c=102.0)
    assert states(book) == {"a": LIVE, "b": LIVE, "c": LIVE}
    assert book.state is ProductState.SUSPECT
    assert book.reference is not None
    assert (book.reference.price, book.reference.timestamp) == (100.1, stamp(0.0))


def test_a_drifting_source_is_quarantined_after_the_window_and_never_followed() -> None:
    book = ProductBook("BTC", RULES)
    references = []
    transitions: list[Transition] = []
    for step in range(0, 41):  # every 0.5 s; c drifts 5 bps a step away from 100
        t = step * 0.5
        transitions += feed(book, t, a=100.0, b=100.02, c=100.0 * (1 + 5e-4 * step))
        assert book.reference is not None
        references.append(book.reference.price)
    # c is off by more than 50 bps from step 11 (55 bps, t=5.5) and quarantined 5 s later.
    (quarantine,) = [x for x in transitions if x.after == "quarantined"]
    assert quarantine.source == "c"
    assert book.sources["c"].quarantined
    assert max(references) == pytest.approx(100.02)  # the median: never c
    book2 = ProductBook("BTC", RULES)
    for step in range(0, 31):
        t = step * 0.5
        feed(book2, t, a=100.0, b=100.02, c=100.0 * (1 + 5e-4 * step))
        off = step >= 11
        expected = QUAR if off and t >= 5.5 + 5.0 else LIVE
        assert book2.sources["c"].state is expected, t


def test_a_frozen_source_goes_stale_after_its_limit_and_the_others_carry_on() -> None:
    book = ProductBook("BTC", RULES)
    feed(book, 0.0, a=100.0, b=100.1, c=100.2)
    for t in (1.0, 2.0, 3.0, 4.0, 5.0):
        feed(book, t, a=100.0, b=100.1)
    assert states(book)["c"] is LIVE  # silent exactly 5 s: not yet
    assert book.reference is not None
    assert book.reference.price == pytest.approx(100.1)  # still the median of three
    changes = feed(book, 5.001, a=100.0, b=100.1)
    assert states(book)["c"] is STALE
    assert changes[0] == Transition("BTC", "c", "live", "stale", "silent for 5.001 s")
    assert book.reference is not None
    assert book.reference.price == pytest.approx(100.05)  # the two left agree: their mean


def test_a_flapping_source_moves_neither_the_reference_nor_its_state() -> None:
    book = ProductBook("BTC", RULES)
    for t in range(0, 60):  # c is 1 % off every other second: never 5 s in a row
        feed(book, float(t), a=100.0, b=100.0, c=101.0 if t % 2 else 100.0)
        assert book.reference is not None
        assert book.reference.price == 100.0
    assert states(book) == {"a": LIVE, "b": LIVE, "c": LIVE}


def test_a_quarantined_source_returns_after_agreeing_for_the_window() -> None:
    book = ProductBook("BTC", RULES)
    for second in range(0, 6):
        feed(book, float(second), a=100.0, b=100.0, c=102.0)
    assert states(book)["c"] is QUAR
    # Agreeing briefly, then off again: it stays out (no oscillation).
    for t, c in ((6.0, 100.0), (7.0, 100.0), (8.0, 102.0), (9.0, 100.0)):
        feed(book, t, a=100.0, b=100.0, c=c)
        assert states(book)["c"] is QUAR
    changes: list[Transition] = []
    for t in (10.0, 11.0, 12.0, 13.0, 14.0):  # agreeing since t=9: back at t=14
        changes += feed(book, t, a=100.0, b=100.0, c=100.1)
    assert states(book)["c"] is LIVE
    assert changes == [Transition("BTC", "c", "quarantined", "live",
                                  "agreed with the others for 5.0 s")]  # fmt: skip


def test_with_no_fresh_source_the_last_good_value_is_kept_with_its_timestamp() -> None:
    book = ProductBook("BTC", RULES)
    feed(book, 0.0, a=100.0, b=100.1, c=100.2)
    feed(book, 2.0, a=100.3, b=100.3, c=100.3)
    changes = book.evaluate(7.5)
    assert states(book) == {"a": STALE, "b": STALE, "c": STALE}
    assert book.state is ProductState.STALE
    assert book.reference is not None
    # the value of t=2 with t=2's timestamp, so its age downstream grows from there
    assert (book.reference.price, book.reference.timestamp) == (100.3, stamp(2.0))
    assert changes[-1] == Transition("BTC", None, "live", "stale", "no live source")
    # A lone quarantined source cannot price it either: a bad print is never taken.
    book.sources["c"].quarantined = True
    book.update("c", "c", 150.0, stamp(8.0), 8.0)
    book.evaluate(8.0)
    assert (book.reference.price, book.state) == (100.3, ProductState.STALE)


def test_a_venue_reporting_down_makes_its_sources_down() -> None:
    book = ProductBook("BTC", RULES)
    feed(book, 0.0, a=100.0, b=100.1, c=100.2)
    changes = book.evaluate(1.0, frozenset({"b"}))
    assert states(book) == {"a": LIVE, "b": DOWN, "c": LIVE}
    assert changes == [Transition("BTC", "b", "live", "down", "venue b down")]
    assert book.reference is not None
    assert book.reference.price == pytest.approx(100.1)  # a and c agree: their mean


def test_the_timestamp_never_goes_back_when_the_newest_source_leaves() -> None:
    book = ProductBook("BTC", RULES)
    book.update("a", "a", 100.0, stamp(1.0), 1.0)
    book.update("b", "b", 100.0, stamp(0.5), 1.0)  # b's own clock is behind
    book.evaluate(1.0)
    book.evaluate(3.0, frozenset({"a"}))  # a down: b alone, stamped 0.5
    assert book.reference is not None
    assert book.reference.timestamp == stamp(1.0)


def test_the_next_deadline_is_the_first_source_to_go_stale_or_the_end_of_a_window() -> None:
    book = ProductBook("BTC", RULES)
    assert book.next_deadline() is None
    feed(book, 0.0, a=100.0, b=100.0)
    feed(book, 2.0, a=100.0, b=100.0, c=103.0)
    assert book.next_deadline() == 7.0  # each stale at 2 + 5; c off since 2: out at 2 + 5
    book2 = ProductBook("BTC", RULES)
    feed(book2, 0.0, a=100.0, b=100.0, c=103.0)
    feed(book2, 1.0, a=100.0, b=100.0, c=103.0)
    assert book2.next_deadline() == 5.0  # c off since 0: quarantined at 5
