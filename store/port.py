"""The store port: what every adapter (SQLite, MongoDB) offers, and its errors.

Timestamps cross the port as wire strings (``2026-11-21T09:41:00.123Z``, see
``common.timestamps``); range bounds are ``datetime`` objects (aware, or naive
meaning UTC). A chain is identified by (product, expiry, seq): writing it again
is a no-op, so a retried task never duplicates a snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from store.sessions import Rotation

MAX_HISTORY_LIMIT = 5000
"""Upper bound of ``limit`` in :meth:`Store.chain_history` (rows per page)."""

CHAIN_KEY_FIELDS = ("product", "expiry", "timestamp", "seq")
"""Top-level keys every history row carries, whatever ``fields`` asks for."""


class StoreError(Exception):
    """The store refused or failed an operation; retrying will not help."""


class StoreUnavailable(StoreError):  # noqa: N818  # the port's names read as states
    """The store cannot be reached, is locked or lost its connection; retry later."""


class DuplicateUser(StoreError):  # noqa: N818
    """A user with the same username (compared case-insensitively) already exists."""


class CandleInterval(StrEnum):
    """Candle widths the store keeps."""

    ONE_MINUTE = "1min"
    FIVE_MINUTES = "5min"
    FIFTEEN_MINUTES = "15min"


@runtime_checkable
class Store(Protocol):
    """Repository of enriched chains, closed candles, users and their sessions.

    Every method is synchronous and may raise :class:`StoreUnavailable`
    (transient: retry with backoff) or :class:`StoreError`; invalid arguments
    raise ``ValueError`` before anything is written.
    """

    def insert_chains(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """Insert enriched chain snapshots in one transaction; return how many were new.

        A doc whose (product, expiry, seq) is already stored, or repeated
        earlier in ``docs``, is skipped silently. Each doc needs ``product``,
        ``expiry`` (YYYY-MM-DD), ``seq`` (int) and ``timestamp`` (wire string);
        other keys are kept as given (None included) and read back unchanged.
        Values must be JSON data (no NaN or infinity: use None; tuples come
        back as lists); keys ``_id`` and ``_ts`` are reserved.
        """
        ...

    def latest_chain(self, product: str, expiry: str) -> dict[str, Any] | None:
        """The newest snapshot by (timestamp, seq), or ``None`` if there is none."""
        ...

    def chain_history(
        self,
        product: str,
        expiry: str,
        start: dt.datetime,
        end: dt.datetime,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 500,
        after: tuple[str, int] | None = None,
    ) -> list[dict[str, Any]]:
        """Snapshots with ``start <= timestamp < end``, ascending by (timestamp, seq).

        ``fields`` keeps only those top-level keys (plus product, expiry,
        timestamp, seq; absent keys stay absent). ``limit`` is 1..5000 rows.
        ``after=(timestamp, seq)`` of the last row of a page returns the rows
        strictly after it (keyset pagination).
        """
        ...

    def chain_at(
        self,
        product: str,
        expiry: str,
        at: dt.datetime,
        *,
        fields: Sequence[str] | None = None,
    ) -> dict[str, Any] | None:
        """The newest snapshot by (timestamp, seq) with ``timestamp <= at``, or ``None``.

        One index seek whatever the history's length: the primitive behind
        resampled series (one snapshot per bucket) and values at given instants.
        ``fields`` projects as in :meth:`chain_history`.
        """
        ...

    def chain_seqs(self, product: str, expiry: str) -> list[int]:
        """Every stored seq of (product, expiry), ascending."""
        ...

    def products(self) -> dict[str, list[str]]:
        """Each product with a stored chain mapped to its expiries, sorted."""
        ...

    def upsert_candles(self, candles: Sequence[Mapping[str, Any]]) -> None:
        """Store closed candles, replacing any with the same (product, interval, start).

        A candle is ``{product, interval ("1min"|"5min"|"15min"), start (wire
        timestamp), open, high, low, close, volume}``; other keys are not stored.
        """
        ...

    def candles(
        self, product: str, interval: str, start: dt.datetime, end: dt.datetime
    ) -> list[dict[str, Any]]:
        """Candles of product and interval with ``start <= candle start < end``, ascending."""
        ...

    def create_user(self, username: str, password_hash: str, role: str) -> dict[str, Any]:
        """Register a user; raise :class:`DuplicateUser` if the name is taken in any case.

        Returns ``{id, username, password_hash, role, created_at}`` with
        ``username`` as given and ``created_at`` a wire timestamp.
        """
        ...

    def find_user(self, username: str) -> dict[str, Any] | None:
        """The user registered under ``username`` compared case-insensitively, or ``None``."""
        ...

    def update_password_hash(self, user_id: str, password_hash: str) -> bool:
        """Replace the password hash of the user with id ``user_id`` (an upgraded hash).

        Returns ``True`` if that user exists (and now has ``password_hash``), ``False``
        if no user has that id. ``ValueError`` for an empty id or hash; other fields of
        the user and other users are untouched.
        """
        ...

    def start_session(self, family: str, user_id: str, jti: str, expires_at: int) -> None:
        """Record a new refresh family of ``user_id`` whose current token is ``jti``.

        ``expires_at`` (epoch seconds) is when the family ends whatever happens; a family
        id already stored is left as it is (ids are random: a repeat is a retried call).
        """
        ...

    def rotate_session(self, family: str, presented_jti: str, next_jti: str) -> Rotation:
        """Spend ``presented_jti`` for ``next_jti``, atomically: of two concurrent calls
        with the same token exactly one gets :attr:`Rotation.ROTATED`.

        A spent (non-current) token revokes the family (:attr:`Rotation.REUSED`); a
        revoked or unknown family changes nothing.
        """
        ...

    def revoke_session(self, family: str, reason: str, expires_at: int) -> None:
        """Revoke ``family`` (``reason``: logout, reuse, user…); the first reason is kept.

        An unknown family is recorded revoked, so a token issued before families were
        stored cannot come back either.
        """
        ...

    def session(self, family: str) -> dict[str, Any] | None:
        """The family's record ``{family, user_id, current_jti, rotations, revoked,
        expires_at}`` (``revoked``: the reason or ``None``), or ``None``."""
        ...

    def revoke_access(self, jti: str, expires_at: int) -> None:
        """Deny access token ``jti`` until ``expires_at`` (its ``exp``); idempotent."""
        ...

    def revoked_access(self, after: int) -> list[tuple[str, int]]:
        """Every denied access token still valid after ``after`` (epoch seconds):
        ``(jti, expires_at)`` pairs with ``expires_at > after``, in no set order."""
        ...

    def prune_sessions(self, before: int) -> int:
        """Delete families and denied access tokens with ``expires_at <= before``; how many."""
        ...

    def ping(self) -> None:
        """Return if the store answers; raise :class:`StoreUnavailable` otherwise."""
        ...

    def close(self) -> None:
        """Release connections; the store must not be used afterwards."""
        ...
