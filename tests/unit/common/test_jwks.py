"""The gateway's JWKS cache: refresh on expiry and on an unknown key id, rate-limited,
keeping the old keys when auth_service fails."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from auth_service.keys import SigningKeys
from common.jwks import JwksCache, JwksUnavailable
from common.tokencache import TokenCache, Verified
from common.tokens import Claims, Role, TokenType
from tests.support.processes import wait_until
from tests.support.threads import blocked_in_wait


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document: dict[str, Any] | Exception = document
        self.calls = 0

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.document, Exception):
            raise self.document
        return self.document


def test_keys_are_fetched_once_then_after_the_ttl(signing_keys: SigningKeys) -> None:
    clock, fetch = Clock(), Fetcher(signing_keys.jwks())
    cache = JwksCache(fetch, ttl_s=300, clock=clock)
    assert cache.key(signing_keys.kid) == signing_keys.public_key
    assert cache.key(signing_keys.kid) is not None
    assert fetch.calls == 1
    clock.now += 301
    cache.key(signing_keys.kid)
    assert fetch.calls == 2


def test_unknown_kid_refetches_at_most_every_min_refresh(
    signing_keys: SigningKeys, other_keys: SigningKeys
) -> None:
    clock, fetch = Clock(), Fetcher(signing_keys.jwks())
    cache = JwksCache(fetch, ttl_s=300, min_refresh_s=10, clock=clock)
    cache.key(signing_keys.kid)
    assert cache.generation == 1
    for _ in range(5):  # forged key ids do not make the gateway hammer auth_service
        assert cache.key("forged") is None
    assert fetch.calls == 1
    clock.now += 10
    fetch.document = other_keys.jwks()  # the key was rotated
    assert cache.key(other_keys.kid) == other_keys.public_key
    assert fetch.calls == 2
    assert cache.generation == 2  # tokens verified under generation 1 are verified again


def test_a_failed_refresh_keeps_the_keys(signing_keys: SigningKeys) -> None:
    clock, fetch = Clock(), Fetcher(signing_keys.jwks())
    cache = JwksCache(fetch, ttl_s=300, clock=clock)
    cache.key(signing_keys.kid)
    clock.now += 301
    fetch.document = ConnectionError("auth down")
    assert cache.key(signing_keys.kid) == signing_keys.public_key
    assert fetch.calls == 2


def test_no_keys_at_all_is_unavailable_and_retried_within_a_second(
    signing_keys: SigningKeys,
) -> None:
    clock, fetch = Clock(), Fetcher({})
    fetch.document = ConnectionError("auth down")
    cache = JwksCache(fetch, ttl_s=300, min_refresh_s=10, clock=clock)
    with pytest.raises(JwksUnavailable):
        cache.key("k")
    with pytest.raises(JwksUnavailable):
        cache.key("k")
    assert fetch.calls == 1
    clock.now += 1
    fetch.document = signing_keys.jwks()
    assert cache.key(signing_keys.kid) == signing_keys.public_key


def test_the_same_keys_fetched_again_keep_the_generation(signing_keys: SigningKeys) -> None:
    clock, fetch = Clock(), Fetcher(signing_keys.jwks())
    cache = JwksCache(fetch, ttl_s=300, clock=clock)
    cache.key(signing_keys.kid)
    clock.now += 301
    cache.key(signing_keys.kid)
    assert fetch.calls == 2
    assert cache.generation == 1


def test_requests_wait_for_the_first_keys_instead_of_failing(signing_keys: SigningKeys) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_fetch() -> dict[str, Any]:
        started.set()
        release.wait(30)
        return signing_keys.jwks()

    cache = JwksCache(slow_fetch, ttl_s=300, first_wait_s=30)
    results: dict[str, object] = {}
    first = threading.Thread(target=lambda: results.update(a=cache.key(signing_keys.kid)))
    first.start()
    assert started.wait(10)
    # arrives while the first fetch is in flight, and waits for it
    second = threading.Thread(target=lambda: results.update(b=cache.key(signing_keys.kid)))
    second.start()
    try:
        assert wait_until(lambda: blocked_in_wait(second) or not second.is_alive(), 10)
        assert second.is_alive(), "the second request did not wait for the fetch"
    finally:
        release.set()
        first.join(10)
        second.join(10)
    assert results == {"a": signing_keys.public_key, "b": signing_keys.public_key}


def test_token_cache_forgets_expired_tokens_and_keeps_its_bound() -> None:
    now = [100.0]
    cache = TokenCache(size=2, clock=lambda: now[0])
    claims = Verified(Claims("u", Role.USER, TokenType.ACCESS, "j", 0, 150), "kid", 1)
    cache.put("a", claims)
    cache.put("b", claims)
    assert cache.get("a") == claims  # a is now the most recent
    cache.put("c", claims)
    assert cache.get("b") is None  # least recently used went
    assert len(cache) == 2
    now[0] = 150.0
    assert cache.get("a") is None  # expired
