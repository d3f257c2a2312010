"""Micro-batching: when a batch is due, how it is cut, and chain coalescing under backpressure."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from common.names import Channel
from common.settings import load_settings
from worker_enricher.subscriber.batcher import MAX_BATCH_BYTES, Batcher
from worker_enricher.subscriber.seqcheck import Mode
from worker_enricher.subscriber.service import Subscriber

TICK = Channel.MARKET_UNDERLYING
QUOTE = Channel.MARKET_OPTION_QUOTE
CHAIN = Channel.MARKET_OPTION_CHAIN
T0 = 1_000.0  # monotonic seconds; binary-exact offsets below keep comparisons exact


def make(size: int = 3, max_wait_s: float = 0.5, release_s: float = 0.25) -> Batcher:
    return Batcher(size, max_wait_s, release_s)


# -- due ----------------------------------------------------------------------------


def test_nothing_pending_is_never_due() -> None:
    b = make()
    assert not b.due(T0, congested=False)
    assert not b.due(T0 + 3600, congested=True)


def test_due_by_size_of_one_channel() -> None:
    b = make(size=3)
    b.add(TICK, b"t1", T0, b"id-t1")
    b.add(TICK, b"t2", T0, b"id-t2")
    b.add(QUOTE, b"q1", T0, b"id-q1")  # 3 messages, but no channel holds 3
    assert not b.due(T0, congested=False)
    b.add(TICK, b"t3", T0, b"id-t3")
    assert b.due(T0, congested=False)


def test_due_by_bytes() -> None:
    b = make(size=1000)
    b.add(CHAIN, b"x" * (MAX_BATCH_BYTES - 1), T0, b"1-0")
    assert b.pending_bytes == MAX_BATCH_BYTES - 1
    assert not b.due(T0, congested=False)
    b.add(TICK, b"y", T0, b"id-y")  # bytes of every channel count
    assert b.pending_bytes == MAX_BATCH_BYTES
    assert b.due(T0, congested=False)


def test_due_by_time_of_the_first_message() -> None:
    b = make(max_wait_s=0.5)
    b.add(TICK, b"t1", T0, b"id-t1")
    b.add(TICK, b"t2", T0 + 0.25, b"id-t2")  # a later message does not restart the clock
    assert b.first_at == T0
    assert not b.due(T0 + 0.375, congested=False)
    assert b.due(T0 + 0.5, congested=False)


def test_due_as_soon_as_the_reader_is_drained() -> None:
    b = make(size=100, max_wait_s=60.0)
    assert not b.due(T0, congested=False, drained=True)  # nothing pending: nothing to send
    b.add(TICK, b"t1", T0, b"id-t1")
    assert not b.due(T0, congested=False, drained=False)  # more to read: the batch grows
    assert b.due(T0, congested=False, drained=True)  # nothing more to read: it goes now
    assert b.take(T0, congested=False) == [(TICK, [b"t1"], [b"id-t1"])]
    assert not b.due(T0, congested=False, drained=True)


def test_under_load_a_batch_grows_to_its_size_bound() -> None:
    b = make(size=3, max_wait_s=60.0)
    for i in range(2):
        b.add(TICK, b"t%d" % i, T0, b"id-t%d" % i)
        assert not b.due(T0, congested=False, drained=False)
    b.add(TICK, b"t2", T0, b"id-t2")
    assert b.due(T0, congested=False, drained=False)
    assert [len(batch.raws) for batch in b.take(T0, congested=False)] == [3]


def test_congested_a_drained_reader_does_not_cut_small_batches() -> None:
    b = make(size=3, max_wait_s=0.5)
    b.add(TICK, b"t1", T0, b"id-t1")
    assert not b.due(T0, congested=True, drained=True)  # the workers are behind: let it grow
    assert b.due(T0 + 0.5, congested=True, drained=True)  # the time bound still holds


def test_next_deadline() -> None:
    b = make(max_wait_s=0.5, release_s=0.25)
    assert b.next_deadline(T0) == 0.5  # idle: wake up at most every max_wait_s
    b.add(TICK, b"t1", T0, b"id-t1")
    assert b.next_deadline(T0 + 0.125) == 0.375
    assert b.next_deadline(T0 + 0.5) == 0.0
    assert b.next_deadline(T0 + 9) == 0.0  # overdue: never negative
    b.take(T0 + 0.5, congested=False)
    assert b.next_deadline(T0 + 0.5) == 0.5


def test_next_deadline_with_held_chains_is_the_next_release() -> None:
    b = make(max_wait_s=0.5, release_s=0.25)
    b.hold("NIFTY", "2026-11-26", b"c1", b"1-1")
    b.take(T0, congested=True)  # the first release, last_release = T0
    b.hold("NIFTY", "2026-11-26", b"c2", b"1-2")
    assert b.next_deadline(T0 + 0.125) == 0.125
    assert b.next_deadline(T0 + 1) == 0.0


# -- take ---------------------------------------------------------------------------


def test_take_cuts_size_chunks_in_order_and_resets() -> None:
    b = make(size=3)
    ticks = [f"t{i}".encode() for i in range(7)]
    for raw in ticks:
        b.add(TICK, raw, T0, b"id-" + raw)
    b.add(QUOTE, b"q0", T0, b"id-q0")
    batches = b.take(T0, congested=False)
    assert batches == [
        (TICK, [b"t0", b"t1", b"t2"], [b"id-t0", b"id-t1", b"id-t2"]),
        (TICK, [b"t3", b"t4", b"t5"], [b"id-t3", b"id-t4", b"id-t5"]),
        (TICK, [b"t6"], [b"id-t6"]),
        (QUOTE, [b"q0"], [b"id-q0"]),
    ]
    assert b.pending == b.pending_ids == {}
    assert b.pending_bytes == 0
    assert b.first_at is None
    assert not b.due(T0 + 3600, congested=False)
    assert b.take(T0, congested=False) == []


def test_take_empty_batcher() -> None:
    assert make().take(T0, congested=False) == []


# -- coalescing ---------------------------------------------------------------------


def test_hold_supersedes_per_product_and_expiry_and_names_the_entry_it_replaced() -> None:
    b = make()
    assert b.hold("NIFTY", "2026-11-26", b"n1", b"1-1") is None
    assert b.hold("NIFTY", "2026-12-03", b"m1", b"1-2") is None  # other expiry
    assert b.hold("BANKNIFTY", "2026-11-26", b"b1", b"1-3") is None  # other product
    assert b.hold("NIFTY", "2026-11-26", b"n2", b"1-4") == b"1-1"
    assert b.hold("NIFTY", "2026-11-26", b"n3", b"1-5") == b"1-4"
    assert b.held == {
        ("NIFTY", "2026-11-26"): (b"n3", b"1-5"),
        ("NIFTY", "2026-12-03"): (b"m1", b"1-2"),
        ("BANKNIFTY", "2026-11-26"): (b"b1", b"1-3"),
    }
    assert b.pending == {}  # held chains are not pending
    assert b.pending_bytes == 0


def test_held_chains_go_out_every_release_s_while_congested() -> None:
    b = make(size=10, max_wait_s=0.5, release_s=0.25)
    b.hold("NIFTY", "2026-11-26", b"n1", b"1-1")
    # Nothing was released before: the first held chain goes at once.
    assert b.due(T0, congested=True)
    assert b.take(T0, congested=True) == [(CHAIN, [b"n1"], [b"1-1"])]
    assert b.last_release == T0
    b.hold("NIFTY", "2026-11-26", b"n2", b"1-2")
    b.hold("NIFTY", "2026-11-26", b"n3", b"1-3")
    b.hold("BANKNIFTY", "2026-11-26", b"b1", b"1-4")
    assert not b.due(T0 + 0.125, congested=True)
    assert b.take(T0 + 0.125, congested=True) == []  # not released early by a take
    assert b.held  # still held
    assert b.due(T0 + 0.25, congested=True)
    assert b.take(T0 + 0.25, congested=True) == [(CHAIN, [b"n3", b"b1"], [b"1-3", b"1-4"])]
    assert b.held == {}
    assert b.last_release == T0 + 0.25


def test_held_chains_go_out_at_once_when_congestion_ends() -> None:
    b = make(size=10, max_wait_s=0.5, release_s=0.25)
    b.hold("NIFTY", "2026-11-26", b"n0", b"1-0")
    b.take(T0, congested=True)  # a release at T0
    b.hold("NIFTY", "2026-11-26", b"n1", b"1-1")
    assert not b.due(T0 + 0.125, congested=True)
    assert b.due(T0 + 0.125, congested=False)
    assert b.take(T0 + 0.125, congested=False) == [(CHAIN, [b"n1"], [b"1-1"])]
    assert b.held == {}
    assert not b.due(T0 + 0.125, congested=False)


def test_released_chains_follow_pending_chains_and_are_cut_by_size() -> None:
    b = make(size=2, max_wait_s=0.5, release_s=0.25)
    b.add(CHAIN, b"c-pending", T0, b"id-c-pending")
    for i in range(3):
        b.hold("NIFTY", f"2026-12-0{i + 1}", f"h{i}".encode(), f"2-{i}".encode())
    assert b.take(T0, congested=False) == [
        (CHAIN, [b"c-pending", b"h0"], [b"id-c-pending", b"2-0"]),
        (CHAIN, [b"h1", b"h2"], [b"2-1", b"2-2"]),
    ]


def test_add_always_queues_whatever_the_congestion() -> None:
    b = make(size=10)
    b.hold("NIFTY", "2026-11-26", b"held", b"1-0")
    b.add(TICK, b"t1", T0, b"id-t1")
    b.add(QUOTE, b"q1", T0, b"id-q1")
    b.add(CHAIN, b"c1", T0, b"id-c1")  # add() never coalesces; only hold() does
    assert b.pending == {TICK: [b"t1"], QUOTE: [b"q1"], CHAIN: [b"c1"]}
    assert b.pending_bytes == 6


# -- the subscriber's use of the batcher ----------------------------------------------


@pytest.fixture
def subscriber() -> Subscriber:
    """A subscriber whose clients never connect (take() does no I/O)."""
    settings = dataclasses.replace(load_settings(), redis_url="redis://127.0.0.1:9/0")
    settings = dataclasses.replace(
        settings,
        pipeline=dataclasses.replace(settings.pipeline, queue_high_water=10, batch_size=100),
    )
    return Subscriber(settings)


def _raw(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_under_backpressure_only_chains_are_held_and_a_superseded_one_is_done(
    subscriber: Subscriber,
) -> None:
    subscriber.depth = 11  # above the high-water mark
    assert subscriber.congested
    tick = _raw(type="underlying", product="NIFTY", price=1.0, volume=1, seq=1)
    quote = _raw(product="NIFTY", expiry="2026-11-26", seq=1)
    chain1 = _raw(product="NIFTY", expiry="2026-11-26", seq=1)
    chain2 = _raw(product="NIFTY", expiry="2026-11-26", seq=2)
    subscriber.take(TICK, [(b"1-0", tick)], Mode.RUN, T0)
    subscriber.take(QUOTE, [(b"1-0", quote)], Mode.RUN, T0)
    subscriber.take(CHAIN, [(b"1-0", chain1), (b"1-1", chain2)], Mode.RUN, T0)
    assert subscriber.batcher.pending == {TICK: [tick], QUOTE: [quote]}
    assert subscriber.batcher.held == {("NIFTY", "2026-11-26"): (chain2, b"1-1")}
    assert subscriber.rejected == {}
    assert subscriber.to_ack == {CHAIN: [b"1-0"]}  # acknowledged once through the check
    assert subscriber.unchecked[CHAIN] == {b"1-0", b"1-1"}
    assert [(r.channel, r.mode, r.entries) for r in subscriber.waiting][-1] == (
        CHAIN, Mode.RUN, [(b"1-0", "NIFTY", 1), (b"1-1", "NIFTY", 2)])  # fmt: skip


def test_without_backpressure_chains_are_queued(subscriber: Subscriber) -> None:
    subscriber.depth = 10  # at the mark: not congested
    chain = _raw(product="NIFTY", expiry="2026-11-26", seq=1)
    subscriber.take(CHAIN, [(b"7-0", chain)], Mode.RUN, T0)
    assert subscriber.batcher.pending == {CHAIN: [chain]}
    assert subscriber.batcher.pending_ids == {CHAIN: [b"7-0"]}
    assert subscriber.batcher.held == {}


def test_bad_envelopes_are_rejected_not_batched_and_still_go_through_the_check(
    subscriber: Subscriber,
) -> None:
    subscriber.take(TICK, [(b"1-0", b"not json")], Mode.RUN, T0)
    subscriber.take(CHAIN, [(b"2-0", _raw(product="NIFTY", seq=1))], Mode.RUN, T0)
    assert subscriber.batcher.pending == {}
    reasons = {ch: [reason for _, reason in items] for ch, items in subscriber.rejected.items()}
    assert list(reasons) == [TICK, CHAIN]
    assert reasons[TICK][0].startswith("not JSON")
    assert reasons[CHAIN] == ["expiry: missing or not a string"]
    assert subscriber.rejected_ids == {TICK: [b"1-0"], CHAIN: [b"2-0"]}
    assert [r.entries for r in subscriber.waiting] == [[(b"1-0", None, None)],
                                                        [(b"2-0", None, None)]]  # fmt: skip


def test_an_entry_already_in_hand_is_not_taken_twice(subscriber: Subscriber) -> None:
    tick = _raw(product="NIFTY", seq=1)
    subscriber.take(TICK, [(b"1-0", tick)], Mode.RUN, T0)
    subscriber.take(TICK, [(b"1-0", tick), (b"1-1", _raw(product="NIFTY", seq=2))],
                    Mode.EACH, T0)  # fmt: skip
    assert subscriber.batcher.pending_ids == {TICK: [b"1-0", b"1-1"]}
