"""The access deny-list comes back after Redis lost it: rebuilt from the store by
:class:`auth_service.sessions.DenyListKeeper`, against a real Redis and SQLite."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from auth_service.keys import SigningKeys
from auth_service.sessions import DENY_LIST_REBUILT_KEY, DenyListKeeper, SessionStore
from auth_service.tokens import Role, TokenService
from common.names import access_revoked_key
from store import open_store
from store.lazy import LazyStore
from store.sqlite import SqliteStore

pytestmark = pytest.mark.redis


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "auth.db")
    yield s
    s.close()


@pytest.fixture
def sessions(redis_client: redis.Redis, signing_keys: SigningKeys, db: SqliteStore) -> SessionStore:
    return SessionStore(redis_client, TokenService(signing_keys), lambda: db)


@pytest.fixture
def keeper(sessions: SessionStore, db: SqliteStore) -> Iterator[DenyListKeeper]:
    """A keeper whose thread is not started: the test runs its rounds."""
    url = f"sqlite:///{db.path}"
    k = DenyListKeeper(sessions, LazyStore(lambda: open_store(url)))
    yield k
    k.stop()


def test_a_flushed_deny_list_is_rebuilt_from_the_store(
    sessions: SessionStore, keeper: DenyListKeeper, redis_client: redis.Redis
) -> None:
    assert keeper.check() is True  # a fresh Redis: never rebuilt on it
    assert keeper.check() is False  # marked: nothing to do
    out = sessions.verify_access(sessions.login("id-1", Role.USER, "alice").access_token)
    kept = sessions.verify_access(sessions.login("id-2", Role.USER, "bob").access_token)
    sessions.revoke_access(out.jti, out.exp)
    sessions.revoke_access("long-expired", 1_000)  # a no-op: never stored
    redis_client.flushall()  # what a restart without AOF or an empty replica looks like
    assert sessions.is_revoked(out.jti) is False  # the hole this closes
    assert keeper.check() is True
    assert sessions.is_revoked(out.jti) is True
    assert sessions.is_revoked(kept.jti) is False
    ttl = redis_client.pttl(access_revoked_key(out.jti))
    assert 880_000 < ttl <= 900_000  # until the token would have expired, not longer
    assert (
        redis_client.get(DENY_LIST_REBUILT_KEY)
        == str(redis_client.info("server")["run_id"]).encode()
    )
    assert keeper.check() is False


def test_a_server_with_another_run_id_is_rebuilt_even_with_the_mark(
    sessions: SessionStore, keeper: DenyListKeeper, redis_client: redis.Redis
) -> None:
    """A restart from an AOF keeps the mark but may have lost the last second of writes."""
    out = sessions.verify_access(sessions.login("id-1", Role.USER, "alice").access_token)
    sessions.revoke_access(out.jti, out.exp)
    redis_client.set(DENY_LIST_REBUILT_KEY, "the-run-id-of-the-server-before")
    redis_client.delete(access_revoked_key(out.jti))
    assert sessions.deny_list_intact() is False
    assert keeper.check() is True
    assert sessions.is_revoked(out.jti) is True


def test_expired_revocations_are_not_rebuilt_and_are_pruned(
    sessions: SessionStore, keeper: DenyListKeeper, db: SqliteStore, redis_client: redis.Redis
) -> None:
    db.revoke_access("gone", 1_000)  # expired long ago
    db.start_session("old-family", "id-1", "jti", 1_000)
    assert keeper.check() is True
    assert redis_client.exists(access_revoked_key("gone")) == 0
    assert sessions.prune(db) == 2
    assert db.session("old-family") is None


def test_a_store_failure_is_logged_once_and_retried(
    sessions: SessionStore, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []

    def down() -> SqliteStore:
        attempts.append(1)
        raise OSError("store down")

    keeper = DenyListKeeper(sessions, LazyStore(down, retry_s=0.0))
    with caplog.at_level(logging.WARNING, "auth_service.sessions"):
        assert keeper.check() is False
        assert keeper.check() is False
    assert len(attempts) == 2
    failed = [r for r in caplog.records if r.getMessage() == "access deny-list check failed"]
    assert len(failed) == 1
    assert redis_client.exists(DENY_LIST_REBUILT_KEY) == 0  # not marked: the next round retries
