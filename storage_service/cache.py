"""Cache-aside on Redis for the read API: fresh entries, one rebuilder per key, stale copies.

An entry is ``b"{fresh_until_ms} {version}\\n" + body``: the JSON body as served,
the wall-clock instant (epoch ms, shared by every process) until which it is
fresh, and a version (the window end of a default-window history page, else 0):
an entry of an older version than asked for counts as expired. Redis keeps it
``keep_s`` (``STALE_TTL_S``) so that, once expired, it can still be served,
marked stale, while the store is failing.

A missing or expired entry is rebuilt by the one request that takes the key's
lock (``SET NX PX`` with a random token, released by its owner only). The
others poll the entry and serve what the winner writes. A waiter that sees the
lock free again without a fresh entry (the winner failed, or crashed and its
lock expired, or its body was not cached) takes the lock itself, so the store
still sees one caller at a time. After ``lock_wait_ms`` a waiter gives up: it
serves the expired copy, marked stale, if there is one, and otherwise raises
:class:`StoreUnavailable` (503) — a slow store is not handed a queue of
identical reads.

Bodies over ``max_body_bytes`` are served but not cached, and the bytes newly
written to the cache are limited to ``budget_bytes`` per ``keep_s`` window
(counted in Redis across processes; replacing an entry counts only its growth):
past the budget, rebuilt bodies are served without being cached until the
next window. Entries live ``keep_s``, so at most twice the budget is held.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import redis

from common.names import cache_budget_key, cache_lock_key
from common.settings import HttpSettings
from storage_service.metrics import CacheResult, count_cache
from store.port import StoreError, StoreUnavailable

log = logging.getLogger(__name__)

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""
_STALE_PREFIX = b'{"stale":true'
_POLL_FIRST_S = 0.005
_POLL_MAX_S = 0.05

MAX_BODY_BYTES = 1 << 20
"""Bodies larger than this (1 MiB) are served without being cached."""
BUDGET_BYTES = 128 << 20
"""Bytes newly cached per ``STALE_TTL_S`` window (128 MiB): at most twice that is held."""


def mark_stale(body: bytes) -> bytes:
    """``body`` (a JSON object) with ``"stale": true`` as its first member."""
    if not body.startswith(b"{"):
        raise ValueError("only a JSON object can be marked stale")
    rest = body[1:].lstrip()
    return _STALE_PREFIX + (rest if rest.startswith(b"}") else b"," + rest)


@dataclass(frozen=True, slots=True)
class Answer:
    """A body to serve and the path that produced it (hit, miss or stale)."""

    body: bytes
    result: CacheResult


@dataclass(frozen=True, slots=True)
class _Entry:
    fresh_until_ms: int
    version: int
    body: bytes
    size: int
    """Bytes of the record in Redis."""


def _decode(raw: bytes | None) -> _Entry | None:
    if raw is None:
        return None
    head, sep, body = raw.partition(b"\n")
    fresh_until, _, version = head.partition(b" ")
    if not sep or not fresh_until.isdigit() or not (version or b"0").isdigit():
        return None  # not an entry of ours: rebuild it
    return _Entry(int(fresh_until), int(version or b"0"), body, len(raw))


def _record(fresh_until_ms: int, version: int, body: bytes) -> bytes:
    return b"%d %d\n" % (fresh_until_ms, version) + body


class ResponseCache:
    """Cache-aside entries in ``client``'s Redis; ``clock`` gives epoch seconds.

    ``wait_clock`` (monotonic seconds) and ``sleep`` time a waiter's polls for
    another request's rebuild, injectable so that tests run on a fake clock.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        fresh_s: float,
        keep_s: float,
        lock_ttl_ms: int,
        lock_wait_ms: int,
        max_body_bytes: int = MAX_BODY_BYTES,
        budget_bytes: int = BUDGET_BYTES,
        clock: Callable[[], float] = time.time,
        wait_clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._redis = client
        self._fresh_ms = int(fresh_s * 1000)
        self._keep_ms = int(max(keep_s, fresh_s) * 1000)
        self._lock_ttl_ms = lock_ttl_ms
        self._lock_wait_s = lock_wait_ms / 1000
        self.max_body_bytes = max_body_bytes
        self.budget_bytes = budget_bytes
        self.clock = clock
        self._wait_clock = wait_clock
        self._sleep = sleep
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_settings(cls, client: redis.Redis, http: HttpSettings) -> ResponseCache:
        return cls(
            client,
            fresh_s=http.cache_ttl_s,
            keep_s=http.stale_ttl_s,
            lock_ttl_ms=http.lock_ttl_ms,
            lock_wait_ms=http.lock_wait_ms,
        )

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _read(self, key: str) -> _Entry | None:
        return _decode(cast(bytes | None, self._redis.get(key)))

    def _fresh(self, entry: _Entry | None, version: int) -> bool:
        return (
            entry is not None and entry.version >= version and entry.fresh_until_ms > self._now_ms()
        )

    def fetch(
        self,
        kind: str,
        key: str,
        build: Callable[[], bytes],
        *,
        version: int = 0,
        fresh_s: float | None = None,
    ) -> Answer:
        """The body under ``key``, rebuilt with ``build()`` when missing or expired.

        An entry older than ``version`` counts as expired; a rebuilt one is fresh
        ``fresh_s`` (default ``CACHE_TTL_S``). ``build`` may raise
        :class:`StoreError` (an expired copy is then served stale, or the error
        goes on) or anything else (it goes on, nothing is cached). ``kind``
        labels the metrics.
        """
        entry = self._read(key)
        if self._fresh(entry, version):
            assert entry is not None
            count_cache(kind, CacheResult.HIT)
            return Answer(entry.body, CacheResult.HIT)
        fresh_ms = self._fresh_ms if fresh_s is None else int(fresh_s * 1000)
        copy = entry
        deadline = self._wait_clock() + self._lock_wait_s
        pause = _POLL_FIRST_S
        while True:
            token = self._acquire(key)
            if token is not None:
                try:
                    return self._rebuild(kind, key, build, version, fresh_ms)
                finally:
                    self._unlock(key, token)
            if self._wait_clock() >= deadline:
                return self._give_up(kind, copy)
            self._sleep(min(pause, max(0.0, deadline - self._wait_clock())))
            pause = min(pause * 2, _POLL_MAX_S)
            entry = self._read(key)
            if self._fresh(entry, version):
                assert entry is not None
                count_cache(kind, CacheResult.HIT)
                return Answer(entry.body, CacheResult.HIT)
            copy = entry or copy

    def bypass(self, kind: str, build: Callable[[], bytes]) -> Answer:
        """``build()`` served as it is: not looked up, not cached, no lock, no stale copy."""
        body = build()
        count_cache(kind, CacheResult.BYPASS)
        return Answer(body, CacheResult.BYPASS)

    def _rebuild(
        self, kind: str, key: str, build: Callable[[], bytes], version: int, fresh_ms: int
    ) -> Answer:
        entry = self._read(key)  # written by the previous holder since our last look?
        if self._fresh(entry, version):
            assert entry is not None
            count_cache(kind, CacheResult.HIT)
            return Answer(entry.body, CacheResult.HIT)
        try:
            body = build()
        except StoreError as exc:  # unavailable, or failing: an expired copy beats a 503
            if entry is None:
                count_cache(kind, CacheResult.UNAVAILABLE)
                raise
            log.warning("serving a stale copy", extra={"key": key, "error": str(exc)})
            count_cache(kind, CacheResult.STALE)
            return Answer(mark_stale(entry.body), CacheResult.STALE)
        record = _record(self._now_ms() + fresh_ms, version, body)
        if len(body) > self.max_body_bytes or not self._charge(len(record), entry):
            count_cache(kind, CacheResult.BYPASS)
            return Answer(body, CacheResult.BYPASS)
        self._redis.set(key, record, px=max(self._keep_ms, fresh_ms))
        count_cache(kind, CacheResult.MISS)
        return Answer(body, CacheResult.MISS)

    def _charge(self, size: int, replaced: _Entry | None) -> bool:
        """Count ``size`` new bytes (less the entry they replace) against this window's
        budget; False, with nothing counted, when they do not fit."""
        growth = size - (replaced.size if replaced is not None else 0)
        if growth <= 0:
            return True
        budget_key = cache_budget_key(self._now_ms() // self._keep_ms)
        pipe = self._redis.pipeline(transaction=False)
        pipe.incrby(budget_key, growth)
        pipe.pexpire(budget_key, 2 * self._keep_ms)
        total = int(pipe.execute()[0])
        if total <= self.budget_bytes:
            return True
        self._redis.decrby(budget_key, growth)
        log.warning("cache budget spent: body not cached", extra={"bytes": size})
        return False

    def _give_up(self, kind: str, copy: _Entry | None) -> Answer:
        if copy is None:
            count_cache(kind, CacheResult.UNAVAILABLE)
            raise StoreUnavailable(
                f"another request's rebuild did not finish within {self._lock_wait_s * 1000:g} ms"
            )
        count_cache(kind, CacheResult.STALE)
        return Answer(mark_stale(copy.body), CacheResult.STALE)

    def _acquire(self, key: str) -> str | None:
        token = secrets.token_hex(16)
        taken = self._redis.set(cache_lock_key(key), token, nx=True, px=self._lock_ttl_ms)
        return token if taken else None

    def _unlock(self, key: str, token: str) -> None:
        try:
            self._release(keys=[cache_lock_key(key)], args=[token])
        except redis.RedisError as exc:  # the lock expires on its own
            log.warning("cache lock not released", extra={"key": key, "error": str(exc)})

    def invalidate(self, key: str) -> bool:
        """Make the entry under ``key`` expired, kept as a stale copy; False if there is none."""
        entry = self._read(key)
        if entry is None:
            return False
        record = _record(0, entry.version, entry.body)
        return bool(self._redis.set(key, record, keepttl=True, xx=True))
