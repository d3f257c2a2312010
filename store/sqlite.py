"""SQLite adapter: the embedded default store, one file shared by many processes.

Connections (one per thread and process, WAL, fork safety, ``BEGIN IMMEDIATE``
writes) are ``store.sqlitedb``'s, shared with the alert repository on the same
file. Chain documents are stored as JSON text and read back exactly as inserted.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from store.documents import (
    CANDLE_VALUE_FIELDS,
    at_query,
    candle_interval,
    candle_record,
    ceil_ms,
    chain_key,
    check_product_expiry,
    history_query,
    new_user,
    password_hash_update,
    project,
    username_key,
)
from store.port import DuplicateUser
from store.sessions import SESSION_FIELDS, Rotation, decide, instant, text
from store.sqlitedb import INHERITED, SqliteDatabase
from store.timing import timed_store

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS chains (
        product TEXT NOT NULL, expiry TEXT NOT NULL, seq INTEGER NOT NULL,
        ts INTEGER NOT NULL, doc TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS chains_seq ON chains (product, expiry, seq)",
    "CREATE INDEX IF NOT EXISTS chains_range ON chains (product, expiry, ts, seq)",
    """CREATE TABLE IF NOT EXISTS candles (
        product TEXT NOT NULL, interval TEXT NOT NULL, start_ms INTEGER NOT NULL,
        start TEXT NOT NULL, open, high, low, close, volume)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS candles_key ON candles (product, interval, start_ms)",
    """CREATE TABLE IF NOT EXISTS users (
        id TEXT PRIMARY KEY, username TEXT NOT NULL, username_key TEXT NOT NULL,
        password_hash TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS users_key ON users (username_key)",
    """CREATE TABLE IF NOT EXISTS sessions (
        family TEXT PRIMARY KEY, user_id TEXT NOT NULL, current_jti TEXT NOT NULL,
        rotations INTEGER NOT NULL DEFAULT 0, revoked TEXT, expires_at INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at)",
    """CREATE TABLE IF NOT EXISTS revoked_access (
        jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS revoked_access_expiry ON revoked_access (expires_at)",
)
_INSERT_CHAIN = (
    "INSERT INTO chains (product, expiry, seq, ts, doc) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (product, expiry, seq) DO NOTHING"
)
_LATEST_SQL = (
    "SELECT doc FROM chains WHERE product = ? AND expiry = ? ORDER BY ts DESC, seq DESC LIMIT 1"
)
_AT_SQL = (
    "SELECT doc FROM chains WHERE product = ? AND expiry = ? AND ts <= ?"
    " ORDER BY ts DESC, seq DESC LIMIT 1"
)
# One statement for both pages and first queries: the row-value bound is the
# keyset cursor, (start - 1 ms, max seq) when there is none.
_HISTORY_SQL = (
    "SELECT doc FROM chains WHERE product = ? AND expiry = ? AND ts >= ? AND ts < ?"
    " AND (ts, seq) > (?, ?) ORDER BY ts, seq LIMIT ?"
)
_MAX_SEQ = 2**63 - 1
_UPSERT_CANDLE = (
    "INSERT INTO candles (product, interval, start_ms, start, open, high, low, close, volume)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product, interval, start_ms) DO UPDATE SET"
    " start = excluded.start, open = excluded.open, high = excluded.high,"
    " low = excluded.low, close = excluded.close, volume = excluded.volume"
)
_CANDLE_COLUMNS = ("product", "interval", "start", *CANDLE_VALUE_FIELDS)
_USER_COLUMNS = ("id", "username", "password_hash", "role", "created_at")

_INHERITED = INHERITED
"""Connections set aside after a fork (``store.sqlitedb``); the fork tests count them."""


@timed_store("sqlite")
class SqliteStore(SqliteDatabase):
    """The :class:`~store.port.Store` on an SQLite file.

    ``busy_timeout_ms`` is how long a write waits for another writer's lock
    before :class:`StoreUnavailable`. The parent directory, tables and indexes
    are created here.
    """

    schema = _SCHEMA

    # -- chains ----------------------------------------------------------------------

    def insert_chains(self, docs: Sequence[Mapping[str, Any]]) -> int:
        """Insert snapshots in one transaction; return how many were new."""
        rows = []
        for index, doc in enumerate(docs):
            key = chain_key(doc, index)
            rows.append((key.product, key.expiry, key.seq, key.ts_ms, _dumps(doc, index)))
        if not rows:
            return 0
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(_INSERT_CHAIN, rows)
            return conn.total_changes - before

    def latest_chain(self, product: str, expiry: str) -> dict[str, Any] | None:
        """The newest snapshot by (timestamp, seq), or ``None``."""
        check_product_expiry(product, expiry)
        rows = self._rows(_LATEST_SQL, (product, expiry))
        return _loads(rows[0][0]) if rows else None

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
        """Snapshots with ``start <= timestamp < end`` ascending by (timestamp, seq)."""
        check_product_expiry(product, expiry)
        query = history_query(start, end, fields, limit, after)
        cursor = query.after or (query.start_ms - 1, _MAX_SEQ)
        params = (product, expiry, query.start_ms, query.end_ms, *cursor, query.limit)
        return [project(_loads(doc), query.keep) for (doc,) in self._rows(_HISTORY_SQL, params)]

    def chain_at(
        self,
        product: str,
        expiry: str,
        at: dt.datetime,
        *,
        fields: Sequence[str] | None = None,
    ) -> dict[str, Any] | None:
        """The newest snapshot with ``timestamp <= at``, or ``None`` (one index seek)."""
        check_product_expiry(product, expiry)
        at_ms, keep = at_query(at, fields)
        rows = self._rows(_AT_SQL, (product, expiry, at_ms))
        return project(_loads(rows[0][0]), keep) if rows else None

    def chain_seqs(self, product: str, expiry: str) -> list[int]:
        """Every stored seq of (product, expiry), ascending."""
        check_product_expiry(product, expiry)
        sql = "SELECT seq FROM chains WHERE product = ? AND expiry = ? ORDER BY seq"
        return [seq for (seq,) in self._rows(sql, (product, expiry))]

    def products(self) -> dict[str, list[str]]:
        """Each product with a stored chain mapped to its sorted expiries."""
        sql = "SELECT DISTINCT product, expiry FROM chains ORDER BY product, expiry"
        listing: dict[str, list[str]] = {}
        for product, expiry in self._rows(sql, ()):
            listing.setdefault(product, []).append(expiry)
        return listing

    # -- candles ---------------------------------------------------------------------

    def upsert_candles(self, candles: Sequence[Mapping[str, Any]]) -> None:
        """Store closed candles, replacing those with the same (product, interval, start)."""
        rows = []
        for index, candle in enumerate(candles):
            record, start_ms = candle_record(candle, index)
            rows.append(
                (
                    record["product"],
                    record["interval"],
                    start_ms,
                    record["start"],
                    *(record[name] for name in CANDLE_VALUE_FIELDS),
                )
            )
        if rows:
            with self._write() as conn:
                conn.executemany(_UPSERT_CANDLE, rows)

    def candles(
        self, product: str, interval: str, start: dt.datetime, end: dt.datetime
    ) -> list[dict[str, Any]]:
        """Candles with ``start <= candle start < end``, ascending."""
        sql = (
            f"SELECT {', '.join(_CANDLE_COLUMNS)} FROM candles WHERE product = ?"
            " AND interval = ? AND start_ms >= ? AND start_ms < ? ORDER BY start_ms"
        )
        params = (product, candle_interval(interval), ceil_ms(start), ceil_ms(end))
        return [dict(zip(_CANDLE_COLUMNS, row, strict=True)) for row in self._rows(sql, params)]

    # -- users -----------------------------------------------------------------------

    def create_user(self, username: str, password_hash: str, role: str) -> dict[str, Any]:
        """Register a user; :class:`DuplicateUser` if the name is taken in any case."""
        user = new_user(uuid.uuid4().hex, username, password_hash, role)
        sql = (
            f"INSERT INTO users (username_key, {', '.join(_USER_COLUMNS)})"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        with self._write() as conn:
            try:
                conn.execute(sql, (username_key(username), *(user[c] for c in _USER_COLUMNS)))
            except sqlite3.IntegrityError as exc:
                raise DuplicateUser(f"username {username!r} is taken") from exc
        return user

    def find_user(self, username: str) -> dict[str, Any] | None:
        """The user whose name matches ``username`` case-insensitively, or ``None``."""
        sql = f"SELECT {', '.join(_USER_COLUMNS)} FROM users WHERE username_key = ?"
        rows = self._rows(sql, (username_key(username),))
        return dict(zip(_USER_COLUMNS, rows[0], strict=True)) if rows else None

    def update_password_hash(self, user_id: str, password_hash: str) -> bool:
        """Replace the hash of the user with id ``user_id``; ``False`` if there is none."""
        user_id, password_hash = password_hash_update(user_id, password_hash)
        sql = "UPDATE users SET password_hash = ? WHERE id = ?"
        with self._write() as conn:
            return conn.execute(sql, (password_hash, user_id)).rowcount == 1

    # -- sessions --------------------------------------------------------------------

    def start_session(self, family: str, user_id: str, jti: str, expires_at: int) -> None:
        """Record a new family whose current token is ``jti`` (a repeat is left as it is)."""
        row = (text(family, "family"), text(user_id, "user_id"), text(jti, "jti"))
        sql = (
            "INSERT INTO sessions (family, user_id, current_jti, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (family) DO NOTHING"
        )
        with self._write() as conn:
            conn.execute(sql, (*row, instant(expires_at, "expires_at")))

    def rotate_session(self, family: str, presented_jti: str, next_jti: str) -> Rotation:
        """Spend ``presented_jti`` for ``next_jti`` in one write transaction."""
        text(presented_jti, "presented_jti")
        text(next_jti, "next_jti")
        sql = "SELECT current_jti, revoked FROM sessions WHERE family = ?"
        with self._write() as conn:  # BEGIN IMMEDIATE: the read and the write are one step
            row = conn.execute(sql, (text(family, "family"),)).fetchone()
            if row is None:
                return Rotation.UNKNOWN
            outcome = decide(row[0], row[1], presented_jti)
            if outcome is Rotation.ROTATED:
                conn.execute(
                    "UPDATE sessions SET current_jti = ?, rotations = rotations + 1"
                    " WHERE family = ?",
                    (next_jti, family),
                )
            elif outcome is Rotation.REUSED:
                conn.execute("UPDATE sessions SET revoked = 'reuse' WHERE family = ?", (family,))
            return outcome

    def revoke_session(self, family: str, reason: str, expires_at: int) -> None:
        """Revoke ``family`` (keeping a first reason); an unknown one is recorded revoked."""
        params = (text(family, "family"), text(reason, "reason"), instant(expires_at, "expires_at"))
        sql = (
            "INSERT INTO sessions (family, user_id, current_jti, revoked, expires_at)"
            " VALUES (?1, '', '', ?2, ?3) ON CONFLICT (family) DO UPDATE"
            " SET revoked = coalesce(revoked, excluded.revoked)"
        )
        with self._write() as conn:
            conn.execute(sql, params)

    def session(self, family: str) -> dict[str, Any] | None:
        """The family's record, or ``None``."""
        sql = f"SELECT {', '.join(SESSION_FIELDS)} FROM sessions WHERE family = ?"
        rows = self._rows(sql, (text(family, "family"),))
        return dict(zip(SESSION_FIELDS, rows[0], strict=True)) if rows else None

    def revoke_access(self, jti: str, expires_at: int) -> None:
        """Deny access token ``jti`` until ``expires_at``."""
        sql = (
            "INSERT INTO revoked_access (jti, expires_at) VALUES (?, ?)"
            " ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)"
        )
        with self._write() as conn:
            conn.execute(sql, (text(jti, "jti"), instant(expires_at, "expires_at")))

    def revoked_access(self, after: int) -> list[tuple[str, int]]:
        """Denied access tokens with ``expires_at > after``."""
        sql = "SELECT jti, expires_at FROM revoked_access WHERE expires_at > ?"
        return [(jti, exp) for jti, exp in self._rows(sql, (instant(after, "after"),))]

    def prune_sessions(self, before: int) -> int:
        """Delete families and denied tokens with ``expires_at <= before``."""
        before = instant(before, "before")
        with self._write() as conn:
            changed = conn.total_changes
            conn.execute("DELETE FROM sessions WHERE expires_at <= ?", (before,))
            conn.execute("DELETE FROM revoked_access WHERE expires_at <= ?", (before,))
            return conn.total_changes - changed


def _dumps(doc: Mapping[str, Any], index: int) -> str:
    try:
        return orjson.dumps(doc if isinstance(doc, dict) else dict(doc)).decode()
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"chain #{index}: not JSON-serialisable: {exc}") from exc


def _loads(text: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(text)
    return doc
