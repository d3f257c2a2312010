"""Micro-batching: when a batch is due, how it is cut, and chain coalescing under backpressure."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from common.names import Channel
from common.settings import load_settings
from worker_enricher.subscriber.batcher import MAX_BATCH_BYTES, Batcher
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
    b.add(TICK, b"t1", T0)
    b.add(TICK, b"t2", T0)
    b.add(QUOTE, b"q1", T0)  # 3 messages, but no channel holds 3
    assert not b.due(T0, congested=False)
    b.add(TICK, b"t3", T0)
    assert b.due(T0, congested=False)


def test_due_by_bytes() -> None:
    b = make(size=1000)
    b.add(CHAIN, b"x" * (MAX_BATCH_BYTES - 1), T0)
    assert b.pending_bytes == MAX_BATCH_BYTES - 1
    assert not b.due(T0, congested=False)
    b.add(TICK, b"y", T0)  # bytes of every channel count
    assert b.pending_bytes == MAX_BATCH_BYTES
    assert b.due(T0, congested=False)


def test_due_by_time_of_the_first_message() -> None:
    b = make(max_wait_s=0.5)
    b.add(TICK, b"t1", T0)
    b.add(TICK, b"t2", T0 + 0.25)  # a later message does not restart the clock
    assert b.first_at == T0
    assert not b.due(T0 + 0.375, congested=False)
    assert b.due(T0 + 0.5, congested=False)


def test_next_deadline() -> None:
    b = make(max_wait_s=0.5, release_s=0.25)
    assert b.next_deadline(T0) == 0.5  # idle: wake up at most every max_wait_s
    b.add(TICK, b"t1", T0)
    assert b.next_deadline(T0 + 0.125) == 0.375
    assert b.next_deadline(T0 + 0.5) == 0.0
    assert b.next_deadline(T0 + 9) == 0.0  # overdue: never negative
    b.take(T0 + 0.5, congested=False)
    assert b.next_deadline(T0 + 0.5) == 0.5


def test_next_deadline_with_held_chains_is_the_next_release() -> None:
    b = make(max_wait_s=0.5, release_s=0.25)
    b.hold("NIFTY", "2026-11-26", b"c1")
    b.take(T0, congested=True)  # the first release, last_release = T0
    b.hold("NIFTY", "2026-11-26", b"c2")
    assert b.next_deadline(T0 + 0.125) == 0.125
    assert b.next_deadline(T0 + 1) == 0.0


# -- take ---------------------------------------------------------------------------


def test_take_cuts_size_chunks_in_order_and_resets() -> None:
    b = make(size=3)
    ticks = [f"t{i}".encode() for i in range(7)]
    for raw in ticks:
        b.add(TICK, raw, T0)
    b.add(QUOTE, b"q0", T0)
    batches = b.take(T0, congested=False)
    assert batches == [
        (TICK, [b"t0", b"t1", b"t2"]),
        (TICK, [b"t3", b"t4", b"t5"]),
        (TICK, [b"t6"]),
        (QUOTE, [b"q0"]),
    ]
    assert b.pending == {}
    assert b.pending_bytes == 0
    assert b.first_at is None
    assert not b.due(T0 + 3600, congested=False)
    assert b.take(T0, congested=False) == []


def test_take_empty_batcher() -> None:
    assert make().take(T0, congested=False) == []


# -- coalescing ---------------------------------------------------------------------


def test_hold_supersedes_per_product_and_expiry() -> None:
    b = make()
    assert b.hold("NIFTY", "2026-11-26", b"n1") is False
    assert b.hold("NIFTY", "2026-12-03", b"m1") is False  # other expiry
    assert b.hold("BANKNIFTY", "2026-11-26", b"b1") is False  # other product
    assert b.hold("NIFTY", "2026-11-26", b"n2") is True
    assert b.hold("NIFTY", "2026-11-26", b"n3") is True
    assert b.held == {
        ("NIFTY", "2026-11-26"): b"n3",
        ("NIFTY", "2026-12-03"): b"m1",
        ("BANKNIFTY", "2026-11-26"): b"b1",
    }
    assert b.pending == {}  # held chains are not pending
    assert b.pending_bytes == 0


def test_held_chains_go_out_every_release_s_while_congested() -> None:
    b = make(size=10, max_wait_s=0.5, release_s=0.25)
    b.hold("NIFTY", "2026-11-26", b"n1")
    # Nothing was released before: the first held chain goes at once.
    assert b.due(T0, congested=True)
    assert b.take(T0, congested=True) == [(CHAIN, [b"n1"])]
    assert b.last_release == T0
    b.hold("NIFTY", "2026-11-26", b"n2")
    b.hold("NIFTY", "2026-11-26", b"n3")
    b.hold("BANKNIFTY", "2026-11-26", b"b1")
    assert not b.due(T0 + 0.125, congested=True)
    assert b.take(T0 + 0.125, congested=True) == []  # not released early by a take
    assert b.held  # still held
    assert b.due(T0 + 0.25, congested=True)
    assert b.take(T0 + 0.25, congested=True) == [(CHAIN, [b"n3", b"b1"])]
    assert b.held == {}
    assert b.last_release == T0 + 0.25


def test_held_chains_go_out_at_once_when_congestion_ends() -> None:
    b = make(size=10, max_wait_s=0.5, release_s=0.25)
    b.hold("NIFTY", "2026-11-26", b"n0")
    b.take(T0, congested=True)  # a release at T0
    b.hold("NIFTY", "2026-11-26", b"n1")
    assert not b.due(T0 + 0.125, congested=True)
    assert b.due(T0 + 0.125, congested=False)
    assert b.take(T0 + 0.125, congested=False) == [(CHAIN, [b"n1"])]
    assert b.held == {}
    assert not b.due(T0 + 0.125, congested=False)


def test_released_chains_follow_pending_chains_and_are_cut_by_size() -> None:
    b = make(size=2, max_wait_s=0.5, release_s=0.25)
    b.add(CHAIN, b"c-pending", T0)
    for i in range(3):
        b.hold("NIFTY", f"2026-12-0{i + 1}", f"h{i}".encode())
    assert b.take(T0, congested=False) == [
        (CHAIN, [b"c-pending", b"h0"]),
        (CHAIN, [b"h1", b"h2"]),
    ]


def test_add_always_queues_whatever_the_congestion() -> None:
    b = make(size=10)
    b.hold("NIFTY", "2026-11-26", b"held")
    b.add(TICK, b"t1", T0)
    b.add(QUOTE, b"q1", T0)
    b.add(CHAIN, b"c1", T0)  # add() never coalesces; only hold() does
    assert b.pending == {TICK: [b"t1"], QUOTE: [b"q1"], CHAIN: [b"c1"]}
    assert b.pending_bytes == 6


# -- the subscriber's use of the batcher ----------------------------------------------


@pytest.fixture
def subscriber() -> Subscriber:
    """A subscriber whose clients never connect (handle() does no I/O)."""
    settings = dataclasses.replace(load_settings(), redis_url="redis://127.0.0.1:9/0")
    settings = dataclasses.replace(
        settings,
        pipeline=dataclasses.replace(
            settings.pipeline, queue_high_water=10, batch_size=100, instances=1, instance=0
        ),
    )
    return Subscriber(settings)


def _raw(**fields: object) -> bytes:
    return orjson.dumps(fields)


def test_under_backpressure_only_chains_are_held(subscriber: Subscriber) -> None:
    subscriber.depth = 11  # above the high-water mark
    assert subscriber.congested
    tick = _raw(type="underlying", product="NIFTY", price=1.0, volume=1, seq=1)
    quote = _raw(product="NIFTY", expiry="2026-11-26", seq=1)
    chain1 = _raw(product="NIFTY", expiry="2026-11-26", seq=1)
    chain2 = _raw(product="NIFTY", expiry="2026-11-26", seq=2)
    for channel, raw in ((TICK, tick), (QUOTE, quote), (CHAIN, chain1), (CHAIN, chain2)):
        subscriber.handle(channel.value, raw, T0)
    assert subscriber.batcher.pending == {TICK: [tick], QUOTE: [quote]}
    assert subscriber.batcher.held == {("NIFTY", "2026-11-26"): chain2}
    assert subscriber.rejected == {}


def test_without_backpressure_chains_are_queued(subscriber: Subscriber) -> None:
    subscriber.depth = 10  # at the mark: not congested
    chain = _raw(product="NIFTY", expiry="2026-11-26", seq=1)
    subscriber.handle(CHAIN.value.encode(), chain, T0)
    assert subscriber.batcher.pending == {CHAIN: [chain]}
    assert subscriber.batcher.held == {}


def test_bad_envelopes_are_rejected_not_batched(subscriber: Subscriber) -> None:
    subscriber.handle(TICK.value, b"not json", T0)
    subscriber.handle(CHAIN.value, _raw(product="NIFTY", seq=1), T0)
    subscriber.handle("market:unknown", _raw(product="NIFTY", seq=1), T0)  # ignored
    assert subscriber.batcher.pending == {}
    reasons = {ch: [reason for _, reason in items] for ch, items in subscriber.rejected.items()}
    assert list(reasons) == [TICK, CHAIN]
    assert reasons[TICK][0].startswith("not JSON")
    assert reasons[CHAIN] == ["expiry: missing or not a string"]
