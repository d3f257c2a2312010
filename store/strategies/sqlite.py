"""The strategy repository on the SQLite file of the main store (``store.sqlite``).

A table ``strategies`` beside the main store's, through the same connection handling
(``store.sqlitedb``): each document kept whole as JSON text with the columns its queries
need. The per-user limit holds across threads and processes: the count and the insert are
one ``BEGIN IMMEDIATE`` transaction, so a second creation waits for the first to commit
before it counts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

import orjson

from store.port import StoreError
from store.sessions import text
from store.sqlitedb import SqliteDatabase
from store.strategies.documents import (
    TIMED_STRATEGY_OPS,
    check_unchanged,
    replacement,
    strategy_document,
    strategy_limit,
)
from store.strategies.port import StrategyLimitReached
from store.timing import timed_store

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS strategies (
        id TEXT NOT NULL, owner TEXT NOT NULL, created_at TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS strategies_id ON strategies (id)",
    "CREATE INDEX IF NOT EXISTS strategies_owner ON strategies (owner, created_at, id)",
)
COUNT_SQL = "SELECT count(*) FROM strategies WHERE owner = ?"
OF_OWNER_SQL = "SELECT doc FROM strategies WHERE owner = ? ORDER BY created_at, id"
ONE_SQL = "SELECT doc FROM strategies WHERE id = ? AND owner = ?"
_INSERT = "INSERT INTO strategies (id, owner, created_at, doc) VALUES (?, ?, ?, ?)"


@timed_store("sqlite", TIMED_STRATEGY_OPS)
class SqliteStrategyStore(SqliteDatabase):
    """The :class:`~store.strategies.port.StrategyStore` on an SQLite file (the main
    store's, or any). ``busy_timeout_ms`` is how long a write waits for another writer's
    lock before ``StoreUnavailable``; the table and indexes are created here."""

    schema = _SCHEMA

    def create_strategy(self, strategy: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        """Store a new strategy unless its owner holds ``limit``; count and insert are one
        write transaction."""
        doc = strategy_document(strategy)
        limit = strategy_limit(limit)
        stored = _dumps(doc)
        with self._write() as conn:
            (held,) = conn.execute(COUNT_SQL, (doc["owner"],)).fetchone()
            if held >= limit:
                raise StrategyLimitReached(
                    f"{doc['owner']!r} holds {held} strategies (limit {limit})"
                )
            try:
                conn.execute(_INSERT, (doc["id"], doc["owner"], doc["created_at"], stored))
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"strategy id {doc['id']!r} is stored already") from exc
        return _loads(stored)

    def strategies_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's strategies, oldest first (by ``created_at``, then ``id``)."""
        return [_loads(doc) for (doc,) in self._rows(OF_OWNER_SQL, (text(owner, "owner"),))]

    def strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        """The owner's strategy ``strategy_id``, or ``None``."""
        rows = self._rows(ONE_SQL, (text(strategy_id, "strategy_id"), text(owner, "owner")))
        return _loads(rows[0][0]) if rows else None

    def replace_strategy(self, owner: str, strategy: Mapping[str, Any]) -> dict[str, Any] | None:
        """Replace the owner's strategy ``strategy["id"]`` (owner and created_at kept)."""
        doc = replacement(owner, strategy)
        stored = _dumps(doc)
        with self._write() as conn:
            row = conn.execute(
                "SELECT created_at FROM strategies WHERE id = ? AND owner = ?",
                (doc["id"], doc["owner"]),
            ).fetchone()
            if row is None:
                return None
            check_unchanged({"created_at": row[0]}, doc)
            conn.execute("UPDATE strategies SET doc = ? WHERE id = ?", (stored, doc["id"]))
        return _loads(stored)

    def delete_strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        """Delete the owner's strategy ``strategy_id``; the deleted strategy, or ``None``."""
        key = (text(strategy_id, "strategy_id"), text(owner, "owner"))
        with self._write() as conn:
            row = conn.execute(ONE_SQL, key).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM strategies WHERE id = ? AND owner = ?", key)
        return _loads(row[0])


def _dumps(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def _loads(stored: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(stored)
    return doc
