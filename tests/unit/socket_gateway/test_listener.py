"""The enriched listener on a real redis-server, through a proxy that can make its
connection go silent (half-open: no bytes, no FIN, no RST). Time is an injected clock;
the test waits on conditions, never on elapsed time."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import orjson
import pytest
import redis

from common.names import Channel
from common.redis_client import make_redis
from socket_gateway.fanout import Update
from socket_gateway.listener import EnrichedListener
from socket_gateway.metrics import LISTENER_RECONNECTS
from tests.support.processes import wait_until
from tests.support.proxy import SilenceableProxy, silenceable_proxy

pytestmark = pytest.mark.redis

PING_S, DEAD_S = 10.0, 20.0
CHAIN = Channel.ENRICHED_OPTION_CHAIN.value


@dataclass
class Running:
    listener: EnrichedListener
    proxy: SilenceableProxy
    now: list[float]
    offered: list[Update] = field(default_factory=list)
    resyncs: list[int] = field(default_factory=list)
    """The listener's calls of its ``resync``, each the connection count when called."""
    failing: list[Exception] = field(default_factory=list)
    """What the next ``resync`` calls raise, in turn."""

    def resync(self) -> int:
        self.resyncs.append(self.proxy.connections)
        if self.failing:
            raise self.failing.pop(0)
        return 3

    def advance(self, seconds: float) -> None:
        self.now[0] += seconds


def _chain(seq: int) -> bytes:
    return orjson.dumps({"product": "NIFTY", "expiry": "2099-12-31", "seq": seq})


def _subscribers(client: redis.Redis) -> int:
    return int(dict(client.pubsub_numsub(CHAIN))[CHAIN.encode()])


def _silent_reconnects() -> float:
    return float(LISTENER_RECONNECTS.labels("silent")._value.get())


@pytest.fixture
def running(redis_url: str) -> Iterator[Running]:
    now = [1000.0]
    with silenceable_proxy(redis_url) as (proxy, url):
        offered: list[Update] = []
        holder: list[Running] = []
        listener = EnrichedListener(
            lambda: make_redis(url, socket_timeout=5.0, retries=0),
            offered.append,
            lambda _room: True,
            deadletter_max=10,
            clock=lambda: now[0],
            silent_ping_s=PING_S,
            silent_dead_s=DEAD_S,
            poll_s=0.02,
            resync=lambda: holder[0].resync(),
        )
        holder.append(Running(listener, proxy, now, offered))
        thread = threading.Thread(target=listener.run, name="listener", daemon=True)
        thread.start()
        try:
            yield holder[0]
        finally:
            listener.stop()
            thread.join(timeout=10.0)
            assert not thread.is_alive()


def _delivered(running: Running, client: redis.Redis, seq: int) -> Callable[[], bool]:
    client.publish(CHAIN, _chain(seq))
    return lambda: any(u.payload["seq"] == seq for u in running.offered)


def test_a_silent_connection_is_pinged_then_dropped_and_the_listener_recovers(
    running: Running, redis_client: redis.Redis
) -> None:
    assert wait_until(lambda: _subscribers(redis_client) == 1, timeout=10)
    assert wait_until(_delivered(running, redis_client, 1), timeout=10)
    before = _silent_reconnects()

    running.proxy.silence()  # Redis still counts the subscriber; nothing gets through
    running.advance(PING_S + 1)
    # the listener asks: its PING leaves, no pong comes back
    assert wait_until(lambda: b"PING" in running.proxy.swallowed(), timeout=10)
    assert running.proxy.connections == 1
    assert _silent_reconnects() == before

    running.advance(DEAD_S - PING_S)  # 21 s of silence: lost, whatever the socket says
    assert wait_until(lambda: running.proxy.connections == 2, timeout=10)
    assert _silent_reconnects() == before + 1
    # subscribed again on the new connection (the silenced one is still open in Redis)
    assert wait_until(lambda: _subscribers(redis_client) == 2, timeout=10)
    assert wait_until(_delivered(running, redis_client, 2), timeout=10)
    assert [u.payload["seq"] for u in running.offered] == [1, 2]
    assert running.offered[-1].room == "chain:NIFTY:2099-12-31"


def test_a_quiet_connection_that_answers_the_ping_is_kept(
    running: Running, redis_client: redis.Redis
) -> None:
    assert wait_until(lambda: _subscribers(redis_client) == 1, timeout=10)
    started = running.now[0]
    assert wait_until(lambda: running.listener.last_heard == started, timeout=10)

    running.advance(PING_S + 1)  # quiet: no updates published, the link is fine
    pinged_at = running.now[0]
    # the pong is heard at the advanced time, so the silence starts again from there
    assert wait_until(lambda: running.listener.last_heard == pinged_at, timeout=10)
    running.advance(DEAD_S - PING_S)  # 21 s after the last update, 10 s after the pong
    assert wait_until(_delivered(running, redis_client, 1), timeout=10)
    assert running.proxy.connections == 1  # the same connection all along
    assert running.listener.last_heard == running.now[0]


def _drop(running: Running, redis_client: redis.Redis, connections: int) -> None:
    """The listener's connection lost (silenced past the dead limit); subscribed again on
    connection number ``connections``."""
    running.proxy.silence()
    running.advance(PING_S + 1)
    assert wait_until(lambda: b"PING" in running.proxy.swallowed(), timeout=10)
    running.advance(DEAD_S - PING_S)
    assert wait_until(lambda: running.proxy.connections == connections, timeout=10)
    assert wait_until(lambda: _subscribers(redis_client) == connections, timeout=10)


def test_the_rooms_are_resynchronised_once_after_each_lost_connection(
    running: Running, redis_client: redis.Redis
) -> None:
    """Updates published while the listener was away never reach it (Pub/Sub): subscribed
    again, it has the rooms resynchronised from the cache, once; never on the first
    subscription, when no update was missed. A failed resync is logged, the updates still
    flow, and the next lost connection tries again."""
    assert wait_until(lambda: _subscribers(redis_client) == 1, timeout=10)
    assert wait_until(_delivered(running, redis_client, 1), timeout=10)
    assert running.resyncs == []  # the first subscription missed nothing

    _drop(running, redis_client, 2)
    assert wait_until(lambda: running.resyncs == [2], timeout=10)  # on the new connection
    assert wait_until(_delivered(running, redis_client, 2), timeout=10)
    assert running.resyncs == [2]  # once

    running.failing.append(redis.ConnectionError("the cache is not there yet"))
    _drop(running, redis_client, 3)
    assert wait_until(lambda: running.resyncs == [2, 3], timeout=10)
    assert wait_until(_delivered(running, redis_client, 3), timeout=10)  # listening all the same
    assert running.proxy.connections == 3  # the failed resync did not cost the connection

    _drop(running, redis_client, 4)
    assert wait_until(lambda: running.resyncs == [2, 3, 4], timeout=10)
    assert [u.payload["seq"] for u in running.offered] == [1, 2, 3]
