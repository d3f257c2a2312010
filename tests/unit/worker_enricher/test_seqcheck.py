"""The sequence check on a real redis-server: what each seq means per (channel, product), its
state kept in Redis across restarts, and stream order kept whichever instance checks first."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import orjson
import pytest
import redis

from common.names import (
    SUBSCRIBER_GROUP,
    Channel,
    raw_stream_key,
    seq_checked_key,
    seq_last_key,
)
from common.rawfeed import publish_raw
from worker_enricher.subscriber.seqcheck import MAX_GAP, Checked, Mode, SequenceCheck, Step
from worker_enricher.subscriber.streams import RawStreams

pytestmark = pytest.mark.redis

TICKS = Channel.MARKET_UNDERLYING
CHAINS = Channel.MARKET_OPTION_CHAIN

Msg = tuple[str, int]


def _publish(client: redis.Redis, channel: Channel, messages: Sequence[Msg]) -> list[bytes]:
    """Publish (product, seq) messages on ``channel``; their stream entry IDs, in order."""
    before = client.xrevrange(raw_stream_key(channel), count=1)
    publish_raw(client, [(channel.value, orjson.dumps({"product": p, "seq": s}))
                         for p, s in messages], maxlen=1_000_000)  # fmt: skip
    start = b"(" + before[0][0] if before else b"-"
    return [i for i, _ in client.xrange(raw_stream_key(channel), min=start)]


def _entries(ids: Sequence[bytes], messages: Sequence[Msg]) -> list[tuple[bytes, str, int]]:
    return [(i, p, s) for i, (p, s) in zip(ids, messages, strict=True)]


def _one(check: SequenceCheck, channel: Channel, mode: Mode, entries: Sequence[object]) -> Checked:
    (result,) = check.check_all([(channel, mode, entries)])  # type: ignore[list-item]
    return result


def _steps(result: Checked) -> dict[Step, int]:
    return {step: n for step, n in result.steps.items() if n}


def _classify(redis_client: redis.Redis, messages: Sequence[Msg]) -> list[tuple[Step, int]]:
    """Publish and check ``messages`` one run each; (step, missing) per message."""
    check = SequenceCheck(redis_client)
    ids = _publish(redis_client, TICKS, messages)
    out = []
    for entry in _entries(ids, messages):
        result = _one(check, TICKS, Mode.RUN, [entry])
        assert result.settled == 1
        ((step, _),) = _steps(result).items()
        out.append((step, result.missing))
    return out


def test_first_next_gap_repeat(redis_client: redis.Redis) -> None:
    seqs = [10, 11, 13, 20, 21, 21, 15, 22]
    got = _classify(redis_client, [("NIFTY", s) for s in seqs])
    assert got == [(Step.FIRST, 0), (Step.NEXT, 0), (Step.GAP, 1), (Step.GAP, 6), (Step.NEXT, 0),
                   (Step.REPEAT, 0), (Step.REPEAT, 0), (Step.NEXT, 0)]  # fmt: skip
    assert redis_client.hgetall(seq_last_key(TICKS)) == {b"NIFTY": b"22"}


def test_a_publisher_restart_is_a_reset_and_seqs_keep_every_digit(
    redis_client: redis.Redis,
) -> None:
    run1 = 1_796_490_758_159_791  # the feed numbers a run from its start in microseconds
    run2 = run1 + 90_000_000  # restarted 90 s later
    got = _classify(redis_client, [("NIFTY", run1), ("NIFTY", run1 + 1), ("NIFTY", run2),
                                   ("NIFTY", run2 + 1), ("NIFTY", 7)])  # fmt: skip
    assert got == [(Step.FIRST, 0), (Step.NEXT, 0), (Step.RESET, 0), (Step.NEXT, 0),
                   (Step.RESET, 0)]  # fmt: skip
    assert redis_client.hget(seq_last_key(TICKS), "NIFTY") == b"7"


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (MAX_GAP, (Step.GAP, MAX_GAP - 1)),
        (MAX_GAP + 1, (Step.RESET, 0)),
        (-MAX_GAP, (Step.REPEAT, 0)),
        (-MAX_GAP - 1, (Step.RESET, 0)),
    ],
)
def test_max_gap_boundary(
    redis_client: redis.Redis, delta: int, expected: tuple[Step, int]
) -> None:
    start = 10 * MAX_GAP
    assert _classify(redis_client, [("NIFTY", start), ("NIFTY", start + delta)])[1] == expected


def test_channels_and_products_are_independent_and_one_run_counts_them_all(
    redis_client: redis.Redis,
) -> None:
    check = SequenceCheck(redis_client)
    ticks = [("NIFTY", 100), ("TCS", 7), ("NIFTY", 101), ("TCS", 9), ("NIFTY", 101)]
    chains = [("NIFTY", 3), ("NIFTY", 4)]
    tick_ids = _publish(redis_client, TICKS, ticks)
    chain_ids = _publish(redis_client, CHAINS, chains)
    first, second = check.check_all([(TICKS, Mode.RUN, _entries(tick_ids, ticks)),
                                     (CHAINS, Mode.RUN, _entries(chain_ids, chains))])  # fmt: skip
    assert (first.settled, _steps(first), first.missing) == (
        5, {Step.FIRST: 2, Step.NEXT: 1, Step.GAP: 1, Step.REPEAT: 1}, 1)  # fmt: skip
    assert first.gaps == [("TCS", 9, 1)]
    assert _steps(second) == {Step.FIRST: 1, Step.NEXT: 1}
    assert redis_client.get(seq_checked_key(TICKS)) == tick_ids[-1]


def test_the_state_outlives_the_checker_so_a_gap_across_a_restart_is_counted(
    redis_client: redis.Redis,
) -> None:
    before = [("NIFTY", 1), ("NIFTY", 2)]
    _one(SequenceCheck(redis_client), TICKS, Mode.RUN,
         _entries(_publish(redis_client, TICKS, before), before))  # fmt: skip
    after = [("NIFTY", 6), ("NIFTY", 7)]  # 3, 4, 5 were lost while it was down
    result = _one(SequenceCheck(redis_client), TICKS, Mode.RUN,
                  _entries(_publish(redis_client, TICKS, after), after))  # fmt: skip
    assert (_steps(result), result.missing) == ({Step.GAP: 1, Step.NEXT: 1}, 3)


def test_a_run_waits_for_the_run_before_it_so_no_false_gap(redis_client: redis.Redis) -> None:
    """Instance B checks its run before A checks the run read just before: B waits."""
    messages = [("NIFTY", s) for s in range(1, 9)]
    ids = _publish(redis_client, TICKS, messages)
    a_run, b_run = _entries(ids[:4], messages[:4]), _entries(ids[4:], messages[4:])
    a, b = SequenceCheck(redis_client), SequenceCheck(redis_client)
    _one(a, TICKS, Mode.FORCE, a_run[:1])  # what came before: seq 1 checked
    a_run = a_run[1:]

    early = _one(b, TICKS, Mode.RUN, b_run)
    assert (early.settled, _steps(early)) == (0, {})  # nothing counted, nothing moved
    assert redis_client.get(seq_checked_key(TICKS)) == ids[0]
    assert _steps(_one(a, TICKS, Mode.RUN, a_run)) == {Step.NEXT: 3}
    late = _one(b, TICKS, Mode.RUN, b_run)
    assert (late.settled, _steps(late), late.missing) == (4, {Step.NEXT: 4}, 0)


def test_a_real_gap_at_a_run_boundary_is_still_counted(redis_client: redis.Redis) -> None:
    messages = [("NIFTY", 1), ("NIFTY", 2), ("NIFTY", 5), ("NIFTY", 6)]  # 3 and 4 never sent
    ids = _publish(redis_client, TICKS, messages)
    check = SequenceCheck(redis_client)
    _one(check, TICKS, Mode.RUN, _entries(ids[:1], messages[:1]))
    assert _one(check, TICKS, Mode.RUN, _entries(ids[2:], messages[2:])).settled == 0
    _one(check, TICKS, Mode.RUN, _entries(ids[1:2], messages[1:2]))
    result = _one(check, TICKS, Mode.RUN, _entries(ids[2:], messages[2:]))
    assert (_steps(result), result.missing, result.gaps) == (
        {Step.GAP: 1, Step.NEXT: 1}, 2, [("NIFTY", 5, 2)])  # fmt: skip


def test_entries_checked_before_are_skipped_when_delivered_again(redis_client: redis.Redis) -> None:
    messages = [("NIFTY", 1), ("NIFTY", 2), ("NIFTY", 3)]
    entries = _entries(_publish(redis_client, TICKS, messages), messages)
    check = SequenceCheck(redis_client)
    _one(check, TICKS, Mode.RUN, entries[:2])
    again = _one(check, TICKS, Mode.EACH, entries)  # claimed after its reader died
    assert (again.settled, again.skipped, _steps(again)) == (3, 2, {Step.NEXT: 1})


def test_claimed_entries_each_wait_for_the_one_before(redis_client: redis.Redis) -> None:
    """Claimed entries are not contiguous: only those whose predecessor is checked go."""
    messages = [("NIFTY", s) for s in range(1, 6)]
    entries = _entries(_publish(redis_client, TICKS, messages), messages)
    check = SequenceCheck(redis_client)
    _one(check, TICKS, Mode.RUN, entries[:1])
    # Claimed: 2, 3 and 5; 4 is still with a live reader, unchecked.
    result = _one(check, TICKS, Mode.EACH, [entries[1], entries[2], entries[4]])
    assert (result.settled, _steps(result)) == (2, {Step.NEXT: 2})
    assert _one(check, TICKS, Mode.EACH, [entries[4]]).settled == 0
    _one(check, TICKS, Mode.RUN, [entries[3]])
    assert _steps(_one(check, TICKS, Mode.EACH, [entries[4]])) == {Step.NEXT: 1}


def test_force_checks_whatever_waits_before(redis_client: redis.Redis) -> None:
    messages = [("NIFTY", 1), ("NIFTY", 2), ("NIFTY", 3)]
    entries = _entries(_publish(redis_client, TICKS, messages), messages)
    check = SequenceCheck(redis_client)
    _one(check, TICKS, Mode.RUN, entries[:1])
    assert _one(check, TICKS, Mode.RUN, entries[2:]).settled == 0
    forced = _one(check, TICKS, Mode.FORCE, entries[2:])
    assert (forced.settled, _steps(forced), forced.missing) == (1, {Step.GAP: 1}, 1)
    late = _one(check, TICKS, Mode.RUN, entries[1:2])  # before the cursor now: skipped
    assert (late.settled, late.skipped) == (1, 1)


def test_trimmed_entries_never_hold_the_check_up_and_count_as_missing(
    redis_client: redis.Redis,
) -> None:
    messages = [("NIFTY", s) for s in range(1, 11)]
    ids = _publish(redis_client, TICKS, messages)
    check = SequenceCheck(redis_client)
    _one(check, TICKS, Mode.RUN, _entries(ids[:2], messages[:2]))
    # 3..7 trimmed before anyone read them (MAXLEN while the subscribers were down).
    redis_client.xtrim(raw_stream_key(TICKS), minid=ids[7], approximate=False)
    result = _one(check, TICKS, Mode.RUN, _entries(ids[7:], messages[7:]))
    assert (result.settled, _steps(result), result.missing) == (3, {Step.GAP: 1, Step.NEXT: 2}, 5)


def test_an_entry_without_an_envelope_moves_the_cursor(redis_client: redis.Redis) -> None:
    ids = _publish(redis_client, TICKS, [("NIFTY", 1), ("NIFTY", 2)])
    check = SequenceCheck(redis_client)
    assert _one(check, TICKS, Mode.RUN, [(ids[0], None, None)]).settled == 1
    assert _steps(_one(check, TICKS, Mode.RUN, [(ids[1], "NIFTY", 2)])) == {Step.FIRST: 1}


def test_a_flushed_script_cache_is_loaded_again(redis_client: redis.Redis) -> None:
    ids = _publish(redis_client, TICKS, [("NIFTY", 1)])
    redis_client.script_flush()
    assert _one(SequenceCheck(redis_client), TICKS, Mode.RUN, [(ids[0], "NIFTY", 1)]).settled == 1


def test_two_readers_of_one_group_checking_in_either_order_see_no_gap(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """Two consumers read alternate runs of one group; every other pair of runs is checked in
    the opposite order of the reads (the later run first: it waits, and its reader retries).
    Every message is NEXT, none a gap or a repeat."""
    RawStreams(redis_client, "setup", count=1, claim_idle_ms=1000).ensure_groups()
    assert redis_client.xinfo_groups(raw_stream_key(TICKS))[0]["name"] == SUBSCRIBER_GROUP.encode()
    messages = [(p, s) for s in range(1, 101) for p in ("NIFTY", "TCS")]
    _publish(redis_client, TICKS, messages)
    turns = 20  # runs of 10 entries
    reads = [threading.Event() for _ in range(turns + 1)]
    attempted = [threading.Event() for _ in range(turns + 1)]
    reads[0].set()
    totals: dict[str, dict[Step | str, int]] = {}

    def reader(name: str, mine: range) -> None:
        client = redis.Redis.from_url(redis_url)
        streams = RawStreams(client, name, count=10, claim_idle_ms=60_000)
        check = SequenceCheck(client)
        counts: dict[Step | str, int] = {step: 0 for step in Step} | {"waited": 0}
        for turn in mine:
            assert reads[turn].wait(10)
            ((_, got),) = streams.read(None)
            reads[turn + 1].set()
            run = [(i, m["product"], m["seq"]) for i, d in got for m in [orjson.loads(d)]]
            if turn % 4 == 0:  # the other reader checks the run after this one first
                assert attempted[turn + 1].wait(10)
            while run:
                result = _one(check, TICKS, Mode.RUN, run)
                attempted[turn].set()
                counts["waited"] += result.settled == 0
                for step, n in result.steps.items():
                    counts[step] += n
                run = run[result.settled :]
        totals[name] = counts
        client.close()

    threads = [threading.Thread(target=reader, args=("a", range(0, turns, 2))),
               threading.Thread(target=reader, args=("b", range(1, turns, 2)))]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    merged = {key: totals["a"][key] + totals["b"][key] for key in totals["a"]}
    assert merged.pop("waited") >= turns // 4  # the later run did go first, and waited
    assert merged == {Step.FIRST: 2, Step.NEXT: 198, Step.GAP: 0, Step.REPEAT: 0, Step.RESET: 0}
