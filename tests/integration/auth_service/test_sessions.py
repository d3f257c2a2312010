"""Refresh rotation, reuse detection, logout and the access deny-list against a real Redis."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import redis

from auth_service.keys import SigningKeys
from auth_service.sessions import SessionStore
from auth_service.tokens import (
    Role,
    TokenError,
    TokenReusedError,
    TokenRevokedError,
    TokenService,
    TokenType,
)
from common.names import access_revoked_key, refresh_family_revoked_key, refresh_used_key

pytestmark = pytest.mark.redis

REFRESH_S = 7 * 86_400


@pytest.fixture
def tokens(signing_keys: SigningKeys) -> TokenService:
    return TokenService(signing_keys)


@pytest.fixture
def store(redis_client: redis.Redis, tokens: TokenService) -> SessionStore:
    return SessionStore(redis_client, tokens)


def test_login_issues_a_pair(store: SessionStore, tokens: TokenService) -> None:
    pair = store.login("alice", Role.ADMIN)
    assert (pair.token_type, pair.expires_in) == ("Bearer", 900)
    access = store.verify_access(pair.access_token)
    refresh = tokens.verify(pair.refresh_token, TokenType.REFRESH)
    assert (access.sub, access.role, refresh.sub, refresh.role) == (
        "alice", Role.ADMIN, "alice", Role.ADMIN,
    )  # fmt: skip


def test_rotation_gives_new_pair_in_same_family(
    store: SessionStore, tokens: TokenService, redis_client: redis.Redis
) -> None:
    first = store.login("alice", Role.USER)
    old = tokens.verify(first.refresh_token, TokenType.REFRESH)
    second = store.rotate(first.refresh_token)
    new = tokens.verify(second.refresh_token, TokenType.REFRESH)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert new.family == old.family
    assert new.jti != old.jti
    assert store.verify_access(second.access_token).sub == "alice"
    assert redis_client.get(refresh_used_key(old.jti)) == b"1"
    used_ttl = redis_client.ttl(refresh_used_key(old.jti))
    assert REFRESH_S - 5 <= used_ttl <= REFRESH_S  # kept until the old token expires
    third = store.rotate(second.refresh_token)  # the chain keeps going
    assert tokens.verify(third.refresh_token, TokenType.REFRESH).family == old.family


def test_reuse_revokes_the_whole_family(
    store: SessionStore, tokens: TokenService, redis_client: redis.Redis
) -> None:
    first = store.login("alice", Role.USER)
    family = tokens.verify(first.refresh_token, TokenType.REFRESH).family
    assert family is not None
    second = store.rotate(first.refresh_token)
    with pytest.raises(TokenReusedError, match="refresh token reused"):
        store.rotate(first.refresh_token)
    assert redis_client.get(refresh_family_revoked_key(family)) == b"reuse"
    ttl = redis_client.ttl(refresh_family_revoked_key(family))
    assert REFRESH_S - 5 <= ttl <= REFRESH_S
    with pytest.raises(TokenRevokedError, match="session revoked"):
        store.rotate(second.refresh_token)  # the legitimate newer token dies too
    with pytest.raises(TokenRevokedError):
        store.rotate(first.refresh_token)
    other = store.login("alice", Role.USER)  # other sessions are untouched
    assert store.rotate(other.refresh_token).expires_in == 900


def test_concurrent_rotation_lets_exactly_one_win(store: SessionStore) -> None:
    pair = store.login("alice", Role.USER)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            store.rotate(pair.refresh_token)
            outcomes.append("ok")
        except TokenError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"TokenReusedError", "TokenRevokedError"}


def test_logout_revokes_the_family(store: SessionStore, tokens: TokenService) -> None:
    first = store.login("bob", Role.USER)
    second = store.rotate(first.refresh_token)
    store.logout(second.refresh_token)
    with pytest.raises(TokenRevokedError, match="session revoked"):
        store.rotate(second.refresh_token)
    with pytest.raises(TokenRevokedError):
        store.rotate(first.refresh_token)


def test_logout_rejects_an_access_token(store: SessionStore) -> None:
    pair = store.login("bob", Role.USER)
    with pytest.raises(TokenError, match="expected refresh"):
        store.logout(pair.access_token)


def test_access_deny_list_expires_with_the_token(
    store: SessionStore, redis_client: redis.Redis
) -> None:
    pair = store.login("carol", Role.USER)
    claims = store.verify_access(pair.access_token)
    assert store.is_revoked(claims.jti) is False
    store.revoke_access(claims.jti, claims.exp)
    assert store.is_revoked(claims.jti) is True
    ttl = redis_client.pttl(access_revoked_key(claims.jti))
    assert 895_000 <= ttl <= 900_000
    with pytest.raises(TokenRevokedError, match="token revoked"):
        store.verify_access(pair.access_token)
    # Another access token of the same user still works.
    assert store.verify_access(store.login("carol", Role.USER).access_token).sub == "carol"


def test_revoking_an_expired_access_token_is_a_no_op(
    store: SessionStore, redis_client: redis.Redis
) -> None:
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).timestamp())
    store.revoke_access("stale-jti", past)
    assert store.is_revoked("stale-jti") is False
    assert redis_client.exists(access_revoked_key("stale-jti")) == 0


def test_expired_refresh_cannot_rotate(
    signing_keys: SigningKeys, redis_client: redis.Redis
) -> None:
    tokens = TokenService(signing_keys)
    old = tokens.issue_refresh(
        "dave", Role.USER, now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    )
    store = SessionStore(redis_client, tokens)
    with pytest.raises(TokenError, match="token expired"):
        store.rotate(old)
    assert redis_client.keys("auth:*") == []
