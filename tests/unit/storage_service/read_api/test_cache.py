"""ResponseCache on a real Redis: freshness, one rebuilder under the lock, stale copies."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import redis

from common.names import cache_lock_key
from storage_service.cache import Answer, ResponseCache, mark_stale
from storage_service.metrics import CacheResult
from store import StoreError, StoreUnavailable
from tests.support.clock import FakeClock
from tests.support.processes import wait_until
from tests.unit.storage_service.read_api.support import cache_requests

KEY = "cache:test:page"


@pytest.fixture
def cache(redis_client: redis.Redis) -> ResponseCache:
    return ResponseCache(redis_client, fresh_s=5, keep_s=60, lock_ttl_ms=2000, lock_wait_ms=300)


def _builder(body: bytes) -> tuple[Callable[[], bytes], list[bytes]]:
    calls: list[bytes] = []

    def build() -> bytes:
        calls.append(body)
        return body

    return build, calls


def _outage() -> bytes:
    raise StoreUnavailable("down")


def test_mark_stale_puts_the_flag_first() -> None:
    assert mark_stale(b'{"a":1,"b":[2]}') == b'{"stale":true,"a":1,"b":[2]}'
    assert mark_stale(b"{}") == b'{"stale":true}'
    with pytest.raises(ValueError, match="JSON object"):
        mark_stale(b"[1]")


def test_a_miss_is_built_once_then_served_fresh_and_kept_for_the_stale_ttl(
    cache: ResponseCache, redis_client: redis.Redis
) -> None:
    build, calls = _builder(b'{"n":1}')
    assert cache.fetch("test", KEY, build) == Answer(b'{"n":1}', CacheResult.MISS)
    assert cache.fetch("test", KEY, build) == Answer(b'{"n":1}', CacheResult.HIT)
    assert len(calls) == 1
    assert 59_000 < redis_client.pttl(KEY) <= 60_000
    assert redis_client.exists(cache_lock_key(KEY)) == 0


def test_an_expired_entry_is_rebuilt(cache: ResponseCache) -> None:
    cache.fetch("test", KEY, _builder(b'{"n":1}')[0])
    real = cache.clock
    cache.clock = lambda: real() + 5.001
    assert cache.fetch("test", KEY, _builder(b'{"n":2}')[0]) == Answer(b'{"n":2}', CacheResult.MISS)


def test_concurrent_misses_make_one_build_and_share_its_body(redis_client: redis.Redis) -> None:
    polling: set[int] = set()

    def sleep(seconds: float) -> None:  # a waiter's pause between looks at the entry
        polling.add(threading.get_ident())
        time.sleep(seconds)

    # Locks and waits far longer than the test: only the one build may end the waits.
    cache = ResponseCache(
        redis_client, fresh_s=5, keep_s=60, lock_ttl_ms=30_000, lock_wait_ms=10_000, sleep=sleep
    )
    others_waited: list[bool] = []

    def build() -> bytes:
        others_waited.append(wait_until(lambda: len(polling) == 7, 10))
        return b'{"n":1}'

    answers: list[Answer] = []
    barrier = threading.Barrier(8)

    def fetch() -> None:
        barrier.wait()
        answers.append(cache.fetch("test", KEY, build))

    threads = [threading.Thread(target=fetch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert others_waited == [True]  # one build, while the seven others waited for it
    assert sorted(a.result for a in answers) == [CacheResult.HIT] * 7 + [CacheResult.MISS]
    assert {a.body for a in answers} == {b'{"n":1}'}


def test_store_failure_serves_the_expired_copy_marked_stale(cache: ResponseCache) -> None:
    cache.fetch("test", KEY, _builder(b'{"n":1}')[0])
    assert cache.invalidate(KEY)
    stale = cache_requests("test", "stale")
    assert cache.fetch("test", KEY, _outage) == Answer(b'{"stale":true,"n":1}', CacheResult.STALE)
    assert cache_requests("test", "stale") == stale + 1


def test_store_failure_with_nothing_cached_goes_on(cache: ResponseCache) -> None:
    unavailable = cache_requests("test", "unavailable")
    with pytest.raises(StoreUnavailable, match="down"):
        cache.fetch("test", KEY, _outage)
    assert cache_requests("test", "unavailable") == unavailable + 1
    assert cache.invalidate(KEY) is False


def test_a_holder_that_never_writes_leaves_waiters_a_stale_copy_or_503(
    redis_client: redis.Redis,
) -> None:
    clock = FakeClock()
    cache = ResponseCache(
        redis_client, fresh_s=5, keep_s=60, lock_ttl_ms=2000, lock_wait_ms=300,
        wait_clock=clock, sleep=clock.sleep,
    )  # fmt: skip
    redis_client.set(cache_lock_key(KEY), "someone-else", px=60_000)  # a stuck rebuilder
    build, calls = _builder(b'{"n":9}')
    with pytest.raises(StoreUnavailable, match="did not finish within 300 ms"):
        cache.fetch("test", KEY, build)
    assert clock.elapsed == pytest.approx(0.3)  # its own wait, not the holder's lock
    assert len(clock.sleeps) > 3  # looking again between pauses
    assert redis_client.exists(cache_lock_key(KEY))  # still held: the waiter gave up first
    redis_client.set(KEY, b'0\n{"n":1}')  # an expired copy
    assert cache.fetch("test", KEY, build) == Answer(b'{"stale":true,"n":1}', CacheResult.STALE)
    assert calls == []


def test_a_crashed_holders_lock_expires_and_a_waiter_rebuilds(redis_client: redis.Redis) -> None:
    # A waiter that gives up only after 10 s, far past the crashed holder's 100 ms lock.
    cache = ResponseCache(redis_client, fresh_s=5, keep_s=60, lock_ttl_ms=2000, lock_wait_ms=10_000)
    redis_client.set(cache_lock_key(KEY), "crashed", px=100)
    build, calls = _builder(b'{"n":1}')
    answer = cache.fetch("test", KEY, build)
    assert answer == Answer(b'{"n":1}', CacheResult.MISS)
    assert calls == [b'{"n":1}']


def test_only_the_owner_releases_the_lock(cache: ResponseCache, redis_client: redis.Redis) -> None:
    def slow_build() -> bytes:
        # Our lock expired mid-build and another request took it.
        redis_client.set(cache_lock_key(KEY), "next-holder", px=10_000)
        return b'{"n":1}'

    cache.fetch("test", KEY, slow_build)
    assert redis_client.get(cache_lock_key(KEY)) == b"next-holder"


def _refusal() -> bytes:
    raise StoreError("mongodb: not authorized")


def test_a_failing_store_serves_the_expired_copy_too(cache: ResponseCache) -> None:
    cache.fetch("test", KEY, _builder(b'{"n":1}')[0])
    assert cache.invalidate(KEY)
    assert cache.fetch("test", KEY, _refusal) == Answer(b'{"stale":true,"n":1}', CacheResult.STALE)
    with pytest.raises(StoreError, match="not authorized"):
        cache.fetch("test", "cache:test:other", _refusal)


def test_a_body_over_the_size_cap_is_served_but_not_cached(
    redis_client: redis.Redis,
) -> None:
    cache = ResponseCache(
        redis_client, fresh_s=5, keep_s=60, lock_ttl_ms=2000, lock_wait_ms=300, max_body_bytes=16
    )
    build, calls = _builder(b'{"n":"' + b"x" * 20 + b'"}')
    bypass = cache_requests("test", "bypass")
    first, again = cache.fetch("test", KEY, build), cache.fetch("test", KEY, build)
    assert first == again == Answer(b'{"n":"' + b"x" * 20 + b'"}', CacheResult.BYPASS)
    assert len(calls) == 2
    assert redis_client.exists(KEY, cache_lock_key(KEY)) == 0
    assert cache_requests("test", "bypass") == bypass + 2
    small = cache.fetch("test", "cache:test:small", _builder(b'{"n":1}')[0])
    assert small.result is CacheResult.MISS


def test_new_bytes_are_limited_per_keep_window(redis_client: redis.Redis) -> None:
    cache = ResponseCache(
        redis_client, fresh_s=5, keep_s=3600, lock_ttl_ms=2000, lock_wait_ms=300, budget_bytes=100
    )
    body = b'{"n":"' + b"x" * 40 + b'"}'  # 48 bytes; 64 with the record's header
    assert cache.fetch("test", "cache:test:a", _builder(body)[0]).result is CacheResult.MISS
    assert cache.fetch("test", "cache:test:b", _builder(body)[0]).result is CacheResult.BYPASS
    assert redis_client.exists("cache:test:b") == 0
    assert cache.invalidate("cache:test:a")  # now 52 bytes ("0 0" for a header)
    # Replacing an entry counts only its growth (12 bytes), so it still fits: 76 of 100.
    assert cache.fetch("test", "cache:test:a", _builder(body)[0]).result is CacheResult.MISS
    assert cache.fetch("test", "cache:test:c", _builder(b'{"n":2}')[0]).result is CacheResult.MISS
    assert cache.fetch("test", "cache:test:d", _builder(b'{"n":3}')[0]).result is CacheResult.BYPASS
    budget = list(redis_client.scan_iter("cache-budget:*"))
    assert len(budget) == 1
    assert int(redis_client.get(budget[0]) or 0) == 99  # 64 + 12 + 23
    assert 3_600_000 < redis_client.pttl(budget[0]) <= 7_200_000


def test_an_entry_of_an_older_version_is_an_expired_copy(cache: ResponseCache) -> None:
    cache.fetch("test", KEY, _builder(b'{"v":1}')[0], version=1)
    assert cache.fetch("test", KEY, _outage, version=1) == Answer(b'{"v":1}', CacheResult.HIT)
    assert cache.fetch("test", KEY, _outage, version=2) == Answer(
        b'{"stale":true,"v":1}', CacheResult.STALE
    )
    rebuilt = cache.fetch("test", KEY, _builder(b'{"v":2}')[0], version=2)
    assert rebuilt == Answer(b'{"v":2}', CacheResult.MISS)
    # An entry of a newer version serves an older ask (another process's clock ran ahead).
    assert cache.fetch("test", KEY, _outage, version=1) == Answer(b'{"v":2}', CacheResult.HIT)


def test_a_fetch_may_keep_its_entry_fresh_longer(cache: ResponseCache) -> None:
    cache.fetch("test", KEY, _builder(b'{"n":1}')[0], fresh_s=30)
    real = cache.clock
    cache.clock = lambda: real() + 29
    assert cache.fetch("test", KEY, _outage).result is CacheResult.HIT
    cache.clock = lambda: real() + 31
    assert cache.fetch("test", KEY, _outage).result is CacheResult.STALE
