"""Refresh rotation, reuse detection, logout and the access deny-list against a real Redis
and a real SQLite store (where families and revocations are kept)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import jwt
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
from common.names import access_revoked_key
from store import StoreUnavailable
from store.sqlite import SqliteStore

pytestmark = pytest.mark.redis

REFRESH_S = 7 * 86_400


@pytest.fixture
def tokens(signing_keys: SigningKeys) -> TokenService:
    return TokenService(signing_keys)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "users.db"


@pytest.fixture
def users(db_path: Path) -> Iterator[SqliteStore]:
    """The real store: users refresh re-reads (alice: user, bob: admin), and sessions."""
    s = SqliteStore(db_path)
    s.create_user("alice", "hash", "user")
    s.create_user("bob", "hash", "admin")
    yield s
    s.close()


@pytest.fixture
def store(redis_client: redis.Redis, tokens: TokenService, users: SqliteStore) -> SessionStore:
    return SessionStore(redis_client, tokens, lambda: users)


def _login(store: SessionStore, users: SqliteStore, name: str) -> Any:
    user = users.find_user(name)
    assert user is not None
    return store.login(user["id"], Role(user["role"]), user["username"])


def _sql(db_path: Path, statement: str, *params: str) -> None:
    """Change a user behind the store's back (the port has no delete or role change)."""
    with sqlite3.connect(db_path) as conn:
        conn.execute(statement, params)
    conn.close()


def test_login_issues_a_pair(store: SessionStore, tokens: TokenService) -> None:
    pair = store.login("id-1", Role.ADMIN, "alice")
    assert (pair.token_type, pair.expires_in) == ("Bearer", 900)
    access = store.verify_access(pair.access_token)
    refresh, session = tokens.verify_refresh(pair.refresh_token)
    assert (access.sub, access.role, refresh.sub, refresh.role) == (
        "id-1", Role.ADMIN, "id-1", Role.ADMIN,
    )  # fmt: skip
    assert session.name == "alice"
    assert session.auth_time == refresh.iat
    assert refresh.exp - session.auth_time == REFRESH_S


def test_rotation_gives_new_pair_in_same_family(
    store: SessionStore, tokens: TokenService, redis_client: redis.Redis, users: SqliteStore
) -> None:
    first = _login(store, users, "alice")
    old = tokens.verify(first.refresh_token, TokenType.REFRESH)
    second = store.rotate(first.refresh_token, users.find_user)
    new = tokens.verify(second.refresh_token, TokenType.REFRESH)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert new.family == old.family
    assert new.jti != old.jti
    assert store.verify_access(second.access_token).sub == old.sub
    assert old.family is not None
    record = users.session(old.family)
    assert record is not None
    assert (record["current_jti"], record["rotations"], record["revoked"]) == (new.jti, 1, None)
    assert record["expires_at"] == old.exp  # the family ends with its first token
    third = store.rotate(second.refresh_token, users.find_user)  # the chain keeps going
    assert tokens.verify(third.refresh_token, TokenType.REFRESH).family == old.family


def test_reuse_revokes_the_whole_family(
    store: SessionStore, tokens: TokenService, redis_client: redis.Redis, users: SqliteStore
) -> None:
    first = _login(store, users, "alice")
    family = tokens.verify(first.refresh_token, TokenType.REFRESH).family
    assert family is not None
    second = store.rotate(first.refresh_token, users.find_user)
    with pytest.raises(TokenReusedError, match="refresh token reused"):
        store.rotate(first.refresh_token, users.find_user)
    record = users.session(family)
    assert record is not None
    assert record["revoked"] == "reuse"
    with pytest.raises(TokenRevokedError, match="session revoked"):
        store.rotate(second.refresh_token, users.find_user)  # the newer token dies too
    with pytest.raises(TokenRevokedError):
        store.rotate(first.refresh_token, users.find_user)
    other = _login(store, users, "alice")  # other sessions are untouched
    assert store.rotate(other.refresh_token, users.find_user).expires_in == 900


def test_concurrent_rotation_lets_exactly_one_win(
    redis_client: redis.Redis, tokens: TokenService, db_path: Path
) -> None:
    with closing(SqliteStore(db_path)) as setup:
        setup.create_user("alice", "hash", "user")
        pair = _login(SessionStore(redis_client, tokens, lambda: setup), setup, "alice")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            # One store per thread, as each gunicorn worker thread would share one.
            with closing(SqliteStore(db_path)) as users:
                SessionStore(redis_client, tokens, lambda: users).rotate(
                    pair.refresh_token, users.find_user
                )
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


def test_logout_revokes_the_family(store: SessionStore, users: SqliteStore) -> None:
    first = _login(store, users, "bob")
    second = store.rotate(first.refresh_token, users.find_user)
    store.logout(second.refresh_token)
    with pytest.raises(TokenRevokedError, match="session revoked"):
        store.rotate(second.refresh_token, users.find_user)
    with pytest.raises(TokenRevokedError):
        store.rotate(first.refresh_token, users.find_user)


def test_logout_rejects_an_access_token(store: SessionStore) -> None:
    pair = store.login("id-2", Role.USER, "bob")
    with pytest.raises(TokenError, match="expected refresh"):
        store.logout(pair.access_token)


def test_access_deny_list_expires_with_the_token(
    store: SessionStore, redis_client: redis.Redis
) -> None:
    pair = store.login("id-3", Role.USER, "carol")
    claims = store.verify_access(pair.access_token)
    assert store.is_revoked(claims.jti) is False
    store.revoke_access(claims.jti, claims.exp)
    assert store.is_revoked(claims.jti) is True
    ttl = redis_client.pttl(access_revoked_key(claims.jti))
    assert 895_000 <= ttl <= 900_000
    with pytest.raises(TokenRevokedError, match="token revoked"):
        store.verify_access(pair.access_token)
    # Another access token of the same user still works.
    assert store.verify_access(store.login("id-3", Role.USER, "carol").access_token).sub == "id-3"


def test_revoking_an_expired_access_token_is_a_no_op(
    store: SessionStore, redis_client: redis.Redis
) -> None:
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).timestamp())
    store.revoke_access("stale-jti", past)
    assert store.is_revoked("stale-jti") is False
    assert redis_client.exists(access_revoked_key("stale-jti")) == 0


def test_expired_refresh_cannot_rotate(
    signing_keys: SigningKeys, redis_client: redis.Redis, users: SqliteStore
) -> None:
    tokens = TokenService(signing_keys)
    old = tokens.issue_refresh(
        "dave", Role.USER, name="dave", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    )
    store = SessionStore(redis_client, tokens, lambda: users)
    with pytest.raises(TokenError, match="token expired"):
        store.rotate(old, users.find_user)
    assert redis_client.keys("auth:*") == []
    assert users.revoked_access(0) == []


# -- refresh re-reads the user; a family has an absolute lifetime -----------------------


def test_rotation_carries_the_users_current_role(
    store: SessionStore, tokens: TokenService, users: SqliteStore, db_path: Path
) -> None:
    first = _login(store, users, "alice")
    _sql(db_path, "UPDATE users SET role = 'admin' WHERE username = ?", "alice")
    second = store.rotate(first.refresh_token, users.find_user)
    assert store.verify_access(second.access_token).role is Role.ADMIN
    assert tokens.verify(second.refresh_token, TokenType.REFRESH).role is Role.ADMIN
    _sql(db_path, "UPDATE users SET role = 'user' WHERE username = ?", "alice")  # demoted
    third = store.rotate(second.refresh_token, users.find_user)
    assert store.verify_access(third.access_token).role is Role.USER


def test_a_deleted_user_cannot_refresh_and_the_family_is_revoked(
    store: SessionStore,
    tokens: TokenService,
    users: SqliteStore,
    db_path: Path,
    redis_client: redis.Redis,
) -> None:
    first = _login(store, users, "alice")
    second = store.rotate(first.refresh_token, users.find_user)
    family = tokens.verify(second.refresh_token, TokenType.REFRESH).family
    assert family is not None
    _sql(db_path, "DELETE FROM users WHERE username = ?", "alice")
    with pytest.raises(TokenRevokedError, match="session revoked"):
        store.rotate(second.refresh_token, users.find_user)
    record = users.session(family)
    assert record is not None
    assert record["revoked"] == "user"
    # A new user under the same name is someone else: the old family stays dead.
    users.create_user("Alice", "hash", "admin")
    with pytest.raises(TokenRevokedError):
        store.rotate(second.refresh_token, users.find_user)


def test_a_reregistered_name_does_not_refresh_the_old_users_session(
    store: SessionStore, users: SqliteStore, db_path: Path
) -> None:
    first = _login(store, users, "alice")
    _sql(db_path, "DELETE FROM users WHERE username = ?", "alice")
    users.create_user("alice", "hash", "admin")  # another id under the old name
    with pytest.raises(TokenRevokedError, match="session revoked"):
        store.rotate(first.refresh_token, users.find_user)


def test_a_store_failure_leaves_the_refresh_token_unspent(
    store: SessionStore, users: SqliteStore
) -> None:
    first = _login(store, users, "alice")

    def down(name: str) -> dict[str, Any] | None:
        raise StoreUnavailable("database is locked")

    with pytest.raises(StoreUnavailable):
        store.rotate(first.refresh_token, down)
    assert store.rotate(first.refresh_token, users.find_user).expires_in == 900


def test_a_family_ends_refresh_ttl_after_its_login(
    signing_keys: SigningKeys, redis_client: redis.Redis, users: SqliteStore
) -> None:
    start = dt.datetime.now(dt.UTC)
    clock = [start]
    tokens = TokenService(signing_keys, clock=lambda: clock[0])
    store = SessionStore(redis_client, tokens, lambda: users)
    pair = _login(store, users, "alice")
    for days in (3, 6):  # rotating every 3 days never extends the family
        clock[0] = start + dt.timedelta(days=days)
        pair = store.rotate(pair.refresh_token, users.find_user)
        claims = tokens.verify(pair.refresh_token, TokenType.REFRESH)
        assert claims.exp == int(start.timestamp()) + REFRESH_S
    clock[0] = start + dt.timedelta(days=7, seconds=-1)
    pair = store.rotate(pair.refresh_token, users.find_user)  # the last second of it
    clock[0] = start + dt.timedelta(days=7)
    with pytest.raises(TokenError, match="expired"):
        store.rotate(pair.refresh_token, users.find_user)


def test_a_lowered_refresh_ttl_ends_older_families(
    signing_keys: SigningKeys, redis_client: redis.Redis, users: SqliteStore
) -> None:
    # Issued while REFRESH_TTL_S was 30 days (so exp is far off), logged in 8 days ago.
    eight_days_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=8)
    long_lived = TokenService(signing_keys, refresh_ttl=dt.timedelta(days=30))
    alice = users.find_user("alice")
    assert alice is not None
    token = long_lived.issue_refresh(alice["id"], Role.USER, name="alice", now=eight_days_ago)
    store = SessionStore(redis_client, TokenService(signing_keys), lambda: users)  # now 7 days
    with pytest.raises(TokenError, match="session expired"):
        store.rotate(token, users.find_user)
    assert redis_client.keys("auth:*") == []


def test_a_refresh_token_without_name_or_auth_time_cannot_rotate(
    store: SessionStore, tokens: TokenService, users: SqliteStore, signing_keys: SigningKeys
) -> None:
    alice = users.find_user("alice")
    assert alice is not None
    nameless = tokens.issue_refresh(alice["id"], Role.USER)  # as before names were carried
    with pytest.raises(TokenError, match="malformed token"):
        store.rotate(nameless, users.find_user)
    claims = jwt.decode(
        tokens.issue_refresh(alice["id"], Role.USER, name="alice"),
        options={"verify_signature": False},
    )
    del claims["auth_time"]
    timeless = jwt.encode(
        claims, signing_keys.private_key, algorithm="RS256", headers={"kid": signing_keys.kid}
    )
    with pytest.raises(TokenError, match="malformed token"):
        store.rotate(timeless, users.find_user)
