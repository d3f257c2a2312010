"""The alert repository on the SQLite file of the main store (``store.sqlite``).

Tables ``alerts`` and ``alert_triggers`` beside the main store's, through the same
connection handling (``store.sqlitedb``). A document is kept whole as JSON text, with
the columns its queries need beside it. The per-user limit holds across threads and
processes: the count and the insert are one ``BEGIN IMMEDIATE`` transaction, so a second
creation waits for the first to commit before it counts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from store.alerts.documents import (
    TIMED_ALERT_OPS,
    alert_document,
    alert_limit,
    check_unchanged,
    replacement,
    trigger_documents,
    trigger_page,
)
from store.alerts.port import AlertLimitReached
from store.port import StoreError
from store.sessions import text
from store.sqlitedb import SqliteDatabase
from store.timing import timed_store

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS alerts (
        id TEXT NOT NULL, owner TEXT NOT NULL, product TEXT NOT NULL,
        active INTEGER NOT NULL, created_at TEXT NOT NULL, doc TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS alerts_id ON alerts (id)",
    "CREATE INDEX IF NOT EXISTS alerts_owner ON alerts (owner, created_at, id)",
    "CREATE INDEX IF NOT EXISTS alerts_product ON alerts (product, active)",
    """CREATE TABLE IF NOT EXISTS alert_triggers (
        trigger_id TEXT NOT NULL, owner TEXT NOT NULL, triggered_at TEXT NOT NULL,
        doc TEXT NOT NULL)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS alert_triggers_id ON alert_triggers (trigger_id)",
    """CREATE INDEX IF NOT EXISTS alert_triggers_owner
        ON alert_triggers (owner, triggered_at, trigger_id)""",
)
COUNT_SQL = "SELECT count(*) FROM alerts WHERE owner = ?"
ALERTS_OF_SQL = "SELECT doc FROM alerts WHERE owner = ? ORDER BY created_at, id"
ACTIVE_SQL = "SELECT doc FROM alerts WHERE product = ? AND active = 1"
_INSERT_ALERT = (
    "INSERT INTO alerts (id, owner, product, active, created_at, doc) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_TRIGGER = (
    "INSERT INTO alert_triggers (trigger_id, owner, triggered_at, doc) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (trigger_id) DO NOTHING"
)
_NEWEST_FIRST = " ORDER BY triggered_at DESC, trigger_id DESC LIMIT ?"
FIRST_PAGE_SQL = "SELECT doc FROM alert_triggers WHERE owner = ?" + _NEWEST_FIRST
# The keyset cursor as a row value: strictly before the last row of the previous page.
NEXT_PAGE_SQL = (
    "SELECT doc FROM alert_triggers WHERE owner = ? AND (triggered_at, trigger_id) < (?, ?)"
    + _NEWEST_FIRST
)


@timed_store("sqlite", TIMED_ALERT_OPS)
class SqliteAlertStore(SqliteDatabase):
    """The :class:`~store.alerts.port.AlertStore` on an SQLite file (the main store's, or
    any). ``busy_timeout_ms`` is how long a write waits for another writer's lock before
    ``StoreUnavailable``; the tables and indexes are created here."""

    schema = _SCHEMA

    def create_alert(self, alert: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        """Store a new alert unless its owner holds ``limit``; count and insert are one
        write transaction."""
        doc = alert_document(alert)
        limit = alert_limit(limit)
        stored = _dumps(doc)
        row = (doc["id"], doc["owner"], doc["product"], doc["active"], doc["created_at"], stored)
        with self._write() as conn:
            (held,) = conn.execute(COUNT_SQL, (doc["owner"],)).fetchone()
            if held >= limit:
                raise AlertLimitReached(f"{doc['owner']!r} holds {held} alerts (limit {limit})")
            try:
                conn.execute(_INSERT_ALERT, row)
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"alert id {doc['id']!r} is stored already") from exc
        return _loads(stored)

    def alerts_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's alerts, oldest first (by ``created_at``, then ``id``)."""
        return [_loads(doc) for (doc,) in self._rows(ALERTS_OF_SQL, (text(owner, "owner"),))]

    def alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        """The owner's alert ``alert_id``, or ``None``."""
        sql = "SELECT doc FROM alerts WHERE id = ? AND owner = ?"
        rows = self._rows(sql, (text(alert_id, "alert_id"), text(owner, "owner")))
        return _loads(rows[0][0]) if rows else None

    def replace_alert(self, owner: str, alert: Mapping[str, Any]) -> dict[str, Any] | None:
        """Replace the owner's alert ``alert["id"]`` (owner, product and created_at kept)."""
        doc = replacement(owner, alert)
        stored = _dumps(doc)
        sql = "SELECT product, created_at FROM alerts WHERE id = ? AND owner = ?"
        with self._write() as conn:
            row = conn.execute(sql, (doc["id"], doc["owner"])).fetchone()
            if row is None:
                return None
            check_unchanged({"product": row[0], "created_at": row[1]}, doc)
            conn.execute(
                "UPDATE alerts SET active = ?, doc = ? WHERE id = ?",
                (doc["active"], stored, doc["id"]),
            )
        return _loads(stored)

    def delete_alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        """Delete the owner's alert ``alert_id``; the deleted alert, or ``None``."""
        key = (text(alert_id, "alert_id"), text(owner, "owner"))
        with self._write() as conn:
            row = conn.execute("SELECT doc FROM alerts WHERE id = ? AND owner = ?", key).fetchone()
            if row is None:
                return None
            conn.execute("DELETE FROM alerts WHERE id = ? AND owner = ?", key)
        return _loads(row[0])

    def active_alerts(self, product: str) -> list[dict[str, Any]]:
        """Every user's active alerts of ``product``."""
        return [_loads(doc) for (doc,) in self._rows(ACTIVE_SQL, (text(product, "product"),))]

    def record_triggers(self, triggers: Sequence[Mapping[str, Any]]) -> int:
        """Store triggers in one transaction, skipping known ``trigger_id``s; how many
        were new."""
        rows = [
            (doc["trigger_id"], doc["owner"], doc["triggered_at"], _dumps(doc))
            for doc in trigger_documents(triggers)
        ]
        if not rows:
            return 0
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(_INSERT_TRIGGER, rows)
            return conn.total_changes - before

    def triggers_of(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The owner's triggers newest first, from after the cursor ``before``."""
        owner = text(owner, "owner")
        limit, cursor = trigger_page(limit, before)
        if cursor is None:
            rows = self._rows(FIRST_PAGE_SQL, (owner, limit))
        else:
            rows = self._rows(NEXT_PAGE_SQL, (owner, *cursor, limit))
        return [_loads(doc) for (doc,) in rows]


def _dumps(doc: dict[str, Any]) -> str:
    return orjson.dumps(doc).decode()


def _loads(stored: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads(stored)
    return doc
