"""Refresh-token rotation with reuse detection, logout and the access-token deny-list.

Every login starts a *family*; each refresh hands out a new pair in the same family
and spends the presented token. What rotation and logout decide lives in the store
(``store.Store.start_session`` / ``rotate_session`` / ``revoke_session``): a Redis
restart, or a failover to an empty replica, must not bring a logged-out session back or
let a spent token replay unnoticed. A spent token presented again means it leaked: the
whole family is revoked. A refresh re-reads the user (a deleted user's family is
revoked, a changed role is in the new pair), and a family ends ``refresh_ttl`` after its
login however often it rotated.

The access-token deny-list is checked by the gateways on every request, so it stays in
Redis (no store read on that path); each entry is written to the store first, and
:class:`DenyListKeeper` writes them back into a Redis that lost them.
"""

from __future__ import annotations

import logging
import math
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from auth_service.tokens import (
    Claims,
    Role,
    TokenReusedError,
    TokenRevokedError,
    TokenService,
    TokenType,
)
from common.names import DENY_LIST_MARK_KEY, access_revoked_key
from store import Rotation, Store
from store.lazy import LazyStore

log = logging.getLogger(__name__)

FindUser = Callable[[str], Mapping[str, Any] | None]
"""username → the stored user ``{id, username, role, …}`` or ``None`` (``Store.find_user``)."""

Ledger = Callable[[], Store]
"""The store that keeps families and revocations (``LazyStore.get``: opened on first use)."""

DENY_LIST_REBUILT_KEY = DENY_LIST_MARK_KEY
"""The ``run_id`` of the Redis server the deny-list was last rebuilt on. A restarted or
failed-over server has another ``run_id`` (and an empty one has no such key: the gateways
refuse tokens until it is back)."""
DENY_LIST_CHECK_S = 1.0
"""How often each auth_service process compares that key with the server's ``run_id``
(seconds): the longest a revoked access token can pass the gateways after Redis lost it."""
PRUNE_EVERY_S = 3600.0
"""How often expired families and denied tokens are deleted from the store (seconds)."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    """Lifetime of the access token in seconds."""
    token_type: str = "Bearer"


class SessionStore:
    """Issues token pairs; families and revocations in the store, the deny-list in Redis."""

    def __init__(
        self, client: redis.Redis, tokens: TokenService, ledger: Ledger | None = None
    ) -> None:
        self._redis = client
        self._tokens = tokens
        self._ledger = ledger

    def bind_ledger(self, ledger: Ledger) -> None:
        """Keep families and revocations in ``ledger`` (``AuthState`` binds the app's store)."""
        self._ledger = ledger

    @property
    def bound(self) -> bool:
        return self._ledger is not None

    def ledger(self) -> Store:
        if self._ledger is None:
            raise RuntimeError("SessionStore has no store: bind_ledger() first")
        return self._ledger()

    def _now(self) -> int:
        return int(self._tokens.clock().timestamp())

    def _pair(
        self, sub: str, role: Role, name: str, family: str, jti: str, auth_time: int | None
    ) -> TokenPair:
        return TokenPair(
            access_token=self._tokens.issue_access(sub, role),
            refresh_token=self._tokens.issue_refresh(
                sub, role, name=name, family=family, auth_time=auth_time, jti=jti
            ),
            expires_in=int(self._tokens.access_ttl.total_seconds()),
        )

    def _family_end(self, auth_time: int) -> int:
        return auth_time + math.ceil(self._tokens.refresh_ttl.total_seconds())

    def login(self, sub: str, role: Role, name: str) -> TokenPair:
        """A fresh pair in a new family (after the password of user ``sub``, ``name``, was
        checked); the family is recorded before the pair is handed out."""
        family, jti, started = uuid.uuid4().hex, uuid.uuid4().hex, self._now()
        self.ledger().start_session(family, sub, jti, self._family_end(started))
        return self._pair(sub, role, name, family, jti, started)

    def rotate(self, refresh_token: str, find_user: FindUser) -> TokenPair:
        """Exchange a refresh token for a new pair in its family; each token works once.

        The user is read again with ``find_user`` (before the token is spent, so a store
        failure leaves it usable): the new pair has the user's current role. Raises
        :class:`TokenRevokedError` (after revoking the family) when the user no longer
        exists, for a revoked family, or for one the store does not know (issued before
        families were stored: log in again); :class:`TokenReusedError` (after revoking
        the family) for a spent token; :class:`TokenExpiredError` when the family is
        older than ``refresh_ttl``.
        """
        claims, session = self._tokens.verify_refresh(refresh_token)
        assert claims.family is not None  # verify() guarantees it for refresh tokens
        user = find_user(session.name)
        # Names are unique but reusable: the id tells a re-registered name from its old owner.
        if user is None or user["id"] != claims.sub:
            self.revoke_family(claims.family, reason="user")
            raise TokenRevokedError("session revoked")
        next_jti = uuid.uuid4().hex
        outcome = self.ledger().rotate_session(claims.family, claims.jti, next_jti)
        if outcome is Rotation.REUSED:
            log.warning("refresh token reused; family revoked", extra={"family": claims.family})
            raise TokenReusedError("refresh token reused; session revoked")
        if outcome is not Rotation.ROTATED:
            raise TokenRevokedError("session revoked")
        return self._pair(
            claims.sub,
            Role(user["role"]),
            user["username"],
            claims.family,
            next_jti,
            session.auth_time,
        )

    def logout(self, refresh_token: str) -> None:
        """Revoke the family of ``refresh_token``: neither it nor its descendants refresh again."""
        claims = self._tokens.verify(refresh_token, TokenType.REFRESH)
        assert claims.family is not None
        self.revoke_family(claims.family)

    def revoke_family(self, family: str, *, reason: str = "logout") -> None:
        """Refuse every refresh token of ``family`` from now on (kept as long as one lives)."""
        self.ledger().revoke_session(family, reason, self._family_end(self._now()))

    def revoke_access(self, jti: str, exp: int) -> None:
        """Deny access token ``jti`` until ``exp`` (epoch seconds); an expired one is a no-op.

        The store first: a deny-list rebuilt after Redis lost it is read from there.
        """
        ttl_ms = math.ceil((exp - self._tokens.clock().timestamp()) * 1000)
        if ttl_ms > 0:
            self.ledger().revoke_access(jti, exp)
            self._redis.set(access_revoked_key(jti), "1", px=ttl_ms)

    def is_revoked(self, jti: str) -> bool:
        return bool(self._redis.exists(access_revoked_key(jti)))

    def verify_access(self, token: str) -> Claims:
        """Claims of a valid, non-revoked access token."""
        claims = self._tokens.verify(token, TokenType.ACCESS)
        if self.is_revoked(claims.jti):
            raise TokenRevokedError("token revoked")
        return claims

    # -- the deny-list after Redis lost it ------------------------------------------------

    def deny_list_intact(self) -> bool:
        """The deny-list was rebuilt on the Redis server that answers now (one round trip)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.info("server")
        pipe.get(DENY_LIST_REBUILT_KEY)
        info, rebuilt_on = pipe.execute()
        return rebuilt_on is not None and rebuilt_on.decode() == str(info["run_id"])

    def rebuild_deny_list(self, store: Store | None = None) -> int:
        """Write every denied access token ``store`` (default: the ledger) holds that has not
        expired back into Redis, then mark the server done; how many were written.

        Idempotent, so processes doing it at once is harmless. A logout meanwhile writes the
        store before Redis: either this read sees it, or its own write lands in the new Redis.
        """
        run_id = str(self._redis.info("server")["run_id"])
        now_ms = math.floor(self._tokens.clock().timestamp() * 1000)
        denied = (store or self.ledger()).revoked_access(now_ms // 1000)
        pipe = self._redis.pipeline(transaction=False)
        for jti, exp in denied:
            if exp * 1000 > now_ms:
                pipe.set(access_revoked_key(jti), "1", px=exp * 1000 - now_ms)
        pipe.set(DENY_LIST_REBUILT_KEY, run_id)
        pipe.execute()
        return len(denied)

    def prune(self, store: Store | None = None) -> int:
        """Delete expired families and denied tokens from ``store`` (default: the ledger)."""
        return (store or self.ledger()).prune_sessions(self._now())


class DenyListKeeper:
    """Per process: rebuilds the deny-list whenever Redis answers from another ``run_id``
    than it was rebuilt on (a restart, a failover), and prunes the store now and then.

    ``store`` is its own (a ``LazyStore`` of the same URL): opening the app's store from
    this thread would make requests meanwhile answer 503 ("opening"). Its thread holds the
    sessions weakly: it ends with the app (or :meth:`stop`), closing ``store``.
    """

    def __init__(
        self,
        sessions: SessionStore,
        store: LazyStore,
        *,
        interval_s: float = DENY_LIST_CHECK_S,
        prune_every_s: float = PRUNE_EVERY_S,
    ) -> None:
        self._sessions = weakref.ref(sessions)
        self._store = store
        self.interval_s = interval_s
        self.prune_every_s = prune_every_s
        self._stop = threading.Event()
        self._failing = False
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """One round: rebuild if needed; ``True`` when it rebuilt. Failures are logged
        (once, until it works again), never raised: Redis or the store may be down."""
        sessions = self._sessions()
        if sessions is None:
            self._stop.set()
            return False
        try:
            if sessions.deny_list_intact():
                rebuilt = False
            else:
                count = sessions.rebuild_deny_list(self._store.get())
                log.warning("access deny-list rebuilt from the store", extra={"tokens": count})
                rebuilt = True
        except Exception as exc:  # Redis or store down: try again next round
            if not self._failing:
                log.warning("access deny-list check failed", extra={"error": type(exc).__name__})
            self._failing = True
            return False
        self._failing = False
        return rebuilt

    def _prune(self) -> None:
        sessions = self._sessions()
        try:
            if sessions is not None:
                sessions.prune(self._store.get())
        except Exception as exc:  # the next round tries again
            log.warning("session prune failed", extra={"error": type(exc).__name__})

    def _run(self) -> None:
        rounds_per_prune = max(1, round(self.prune_every_s / self.interval_s))
        round_no = 0
        while not self._stop.is_set():
            self.check()
            if round_no % rounds_per_prune == 0:
                self._prune()
            round_no += 1
            self._stop.wait(self.interval_s)
        self._store.close()

    def start(self) -> None:
        """Check at once, then every ``interval_s``, on a daemon thread."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="deny-list-keeper", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
