"""The per-user limiter's storage: one script per hit, window figures from its memo."""

from __future__ import annotations

import threading
import time

import redis
from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from api_gateway.limitstore import WindowMemoRedisStorage


def _memo(redis_url: str) -> WindowMemoRedisStorage:
    storage = storage_from_string("optionsflow+" + redis_url)
    assert isinstance(storage, WindowMemoRedisStorage)
    return storage


def test_window_figures_match_redis(redis_url: str) -> None:
    storage, plain = _memo(redis_url), RedisStorage(redis_url)
    limiter, reference = FixedWindowRateLimiter(storage), FixedWindowRateLimiter(plain)
    item = RateLimitItemPerMinute(5)
    started = time.time()
    assert [limiter.hit(item, "alice") for _ in range(6)] == [True] * 5 + [False]
    memo_reset, memo_remaining = limiter.get_window_stats(item, "alice")
    real_reset, real_remaining = reference.get_window_stats(item, "alice")
    assert memo_remaining == real_remaining == 0
    assert abs(memo_reset - real_reset) <= 1.0  # Redis' TTL is in whole seconds
    assert started + 59 <= memo_reset <= time.time() + 60


def test_memo_answers_until_forgotten(redis_url: str) -> None:
    storage, other = _memo(redis_url), RedisStorage(redis_url)
    item = RateLimitItemPerMinute(10)
    key = item.key_for("bob")
    assert storage.incr(key, 60) == 1
    other.incr(key, 60)  # another process counts too
    assert storage.get(key) == 1  # this request's own figure, no round trip
    storage.forget()
    assert storage.get(key) == 2  # read from Redis again
    assert storage.get("never-hit") == 0


def test_memo_is_per_thread(redis_url: str) -> None:
    storage = _memo(redis_url)
    storage.incr("carol", 60)
    RedisStorage(redis_url).incr("carol", 60)  # Redis holds 2 now, this thread's memo 1
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(storage.get("carol")))
    thread.start()
    thread.join()
    assert seen == [2]  # read from Redis: the other thread has no memo
    assert storage.get("carol") == 1


def test_a_counter_without_expiry_gets_one(redis_url: str, redis_client: redis.Redis) -> None:
    storage = _memo(redis_url)
    redis_client.set("LIMITS:dave", 3)  # left behind without a TTL
    assert storage.incr("dave", 30) == 4
    assert 0 < redis_client.pttl("LIMITS:dave") <= 30_000
    assert storage.incr("erin", 30) == 1
    assert 29_000 < redis_client.pttl("LIMITS:erin") <= 30_000


def test_clear_drops_the_memo(redis_url: str, redis_client: redis.Redis) -> None:
    storage = _memo(redis_url)
    storage.incr("frank", 60)
    storage.clear("frank")
    assert storage.get("frank") == 0
    assert not redis_client.exists("LIMITS:frank")
