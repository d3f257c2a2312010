"""common/rawfeed.py: every raw message into its stream and onto its channel, atomically, on a
real redis-server."""

from __future__ import annotations

import threading

import pytest
import redis

from common.names import MARKET_CHANNELS, Channel, raw_stream_key
from common.rawfeed import PUBLISH_RAW_LUA, STREAM_FIELD, RawMessage, publish_raw
from tests.support.pubsub import Collector

pytestmark = pytest.mark.redis

TICK, QUOTE, CHAIN = (c.value for c in MARKET_CHANNELS)


def _stream(client: redis.Redis, channel: str) -> list[bytes]:
    return [fields[STREAM_FIELD] for _, fields in client.xrange(channel)]


def _batch(tag: str, n: int) -> list[RawMessage]:
    channels = (TICK, QUOTE, CHAIN)
    return [(channels[i % 3], f'{{"tag": "{tag}", "seq": {i}}}'.encode()) for i in range(n)]


def test_every_message_goes_to_its_stream_and_its_channel_in_order(
    redis_url: str, redis_client: redis.Redis
) -> None:
    collector = Collector(redis_url)
    batch = [*_batch("a", 30), (CHAIN, '{"product": "NIFTY ☂", "seq": 99}'.encode())]
    receivers = publish_raw(redis_client, batch, maxlen=10_000)
    received = collector.stop()

    assert receivers == len(batch)  # one subscriber: one delivery per message
    assert received == [(c, d.decode()) for c, d in batch]
    for channel in (TICK, QUOTE, CHAIN):
        assert _stream(redis_client, channel) == [d for c, d in batch if c == channel]
    assert raw_stream_key(Channel.MARKET_OPTION_CHAIN) == CHAIN


def test_an_empty_batch_sends_nothing(redis_client: redis.Redis) -> None:
    redis_client.config_resetstat()
    assert publish_raw(redis_client, [], maxlen=1_000) == 0
    assert "cmdstat_evalsha" not in redis_client.info("commandstats")


def test_maxlen_bounds_each_stream_and_keeps_the_newest(redis_client: redis.Redis) -> None:
    batch = [(QUOTE, b'{"seq": %d}' % i) for i in range(5_000)]
    for start in range(0, len(batch), 500):
        publish_raw(redis_client, batch[start : start + 500], maxlen=1_000)
    length = redis_client.xlen(QUOTE)
    # MAXLEN ~ trims whole nodes of (by default) 100 entries: never below the bound, and
    # above it by less than a node.
    assert 1_000 <= length < 1_100
    assert _stream(redis_client, QUOTE) == [d for _, d in batch[-length:]]


def test_a_flushed_script_cache_is_refilled_on_the_next_batch(redis_client: redis.Redis) -> None:
    publish_raw(redis_client, _batch("before", 3), maxlen=1_000)
    redis_client.script_flush()  # what a restarted Redis looks like to the publisher
    assert publish_raw(redis_client, _batch("after", 3), maxlen=1_000) == 0
    assert _stream(redis_client, TICK) == [b'{"tag": "before", "seq": 0}',
                                           b'{"tag": "after", "seq": 0}']  # fmt: skip


def test_an_error_is_raised_and_the_connection_stays_usable(redis_client: redis.Redis) -> None:
    redis_client.set(QUOTE, b"not a stream")
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        publish_raw(redis_client, [(TICK, b'{"seq": 1}'), (QUOTE, b'{"seq": 2}')], maxlen=1_000)
    # A script is not rolled back: the message before the failing command stays written.
    assert _stream(redis_client, TICK) == [b'{"seq": 1}']
    redis_client.delete(QUOTE)
    assert publish_raw(redis_client, [(QUOTE, b'{"seq": 3}')], maxlen=1_000) == 0
    assert _stream(redis_client, QUOTE) == [b'{"seq": 3}']


def test_concurrent_batches_are_never_interleaved_and_both_orders_agree(
    redis_url: str, redis_client: redis.Redis
) -> None:
    """Atomic: each batch is one script, so the stream and Pub/Sub see the same order, every
    batch whole; a plain pipeline of the same commands would interleave."""
    collector = Collector(redis_url, [TICK])
    start = threading.Barrier(4)

    def publisher(tag: str) -> None:
        client = redis.Redis.from_url(redis_url)
        start.wait()
        for i in range(20):
            publish_raw(client, [(TICK, f"{tag}{i}:{j}".encode()) for j in range(50)],
                        maxlen=1_000_000)  # fmt: skip
        client.close()

    threads = [threading.Thread(target=publisher, args=(tag,)) for tag in "wxyz"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pubsub = [d for _, d in collector.stop()]
    stream = [d.decode() for d in _stream(redis_client, TICK)]

    assert len(stream) == 4 * 20 * 50
    assert pubsub == stream
    for offset in range(0, len(stream), 50):  # in runs of one batch each, in its order
        batch = stream[offset : offset + 50]
        prefix = batch[0].split(":")[0]
        assert batch == [f"{prefix}:{j}" for j in range(50)]


def test_the_script_as_a_third_party_calls_it(redis_url: str, redis_client: redis.Redis) -> None:
    """docs/PIPELINE.md: EVAL <script> <number of channels> <channels…> <maxlen> then
    (channel index from 1, JSON) per message."""
    collector = Collector(redis_url)
    receivers = redis_client.eval(
        PUBLISH_RAW_LUA, 2, CHAIN, TICK, 1000, 2, b'{"seq": 1}', 1, b'{"seq": 2}', 2, b'{"seq": 3}'
    )
    assert receivers == 3
    assert collector.stop() == [(TICK, '{"seq": 1}'), (CHAIN, '{"seq": 2}'), (TICK, '{"seq": 3}')]
    assert _stream(redis_client, TICK) == [b'{"seq": 1}', b'{"seq": 3}']
    assert _stream(redis_client, CHAIN) == [b'{"seq": 2}']
