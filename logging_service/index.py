"""The query index: every filed line in SQLite, searchable by trace id, service, level
and time, and kept for ``LOG_RETENTION_S``.

One writer (the collector) and any number of readers (request threads), each
with its own connection; WAL lets them read while it writes. The entry id is
the primary key, so a line delivered twice (a crash between filing and
acknowledging) is indexed once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from logging_service.records import Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (
    id TEXT PRIMARY KEY,
    time_us INTEGER NOT NULL,
    service TEXT NOT NULL,
    level INTEGER NOT NULL,
    trace_id TEXT,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lines_time ON lines (time_us);
CREATE INDEX IF NOT EXISTS lines_trace ON lines (trace_id, time_us) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS lines_service ON lines (service, time_us);
"""


@dataclass(frozen=True, slots=True)
class Query:
    trace_id: str | None = None
    service: str | None = None
    min_level: int = 0
    start_us: int | None = None
    """Inclusive."""
    end_us: int | None = None
    """Exclusive."""
    limit: int = 500
    newest_first: bool = False


class LogIndex:
    """SQLite file at ``path``; thread-safe (a connection per thread)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._local = threading.local()
        db = self._db()
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        """This thread's connection (opened on its first use)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self._path, timeout=10.0, isolation_level=None)
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def add(self, records: Sequence[Record]) -> int:
        """Index ``records`` in one transaction; how many were new."""
        rows = [(r.id, r.time_us, r.service, r.level, r.trace_id, r.line) for r in records]
        db = self._db()
        before = db.total_changes
        db.execute("BEGIN")
        try:
            db.executemany("INSERT OR IGNORE INTO lines VALUES (?, ?, ?, ?, ?, ?)", rows)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return db.total_changes - before

    def search(self, query: Query) -> list[str]:
        """The lines matching ``query`` in time order, at most ``query.limit``."""
        where: list[str] = ["level >= ?"]
        params: list[object] = [query.min_level]
        for clause, value in (
            ("trace_id = ?", query.trace_id),
            ("service = ?", query.service),
            ("time_us >= ?", query.start_us),
            ("time_us < ?", query.end_us),
        ):
            if value is not None:
                where.append(clause)
                params.append(value)
        order = "DESC" if query.newest_first else "ASC"
        sql = (  # only fixed clauses are joined; every value is a parameter
            f"SELECT line FROM lines WHERE {' AND '.join(where)} "
            f"ORDER BY time_us {order}, id {order} LIMIT ?"
        )
        return [row[0] for row in self._db().execute(sql, (*params, query.limit))]

    def expire(self, before_us: int) -> int:
        """Forget lines older than ``before_us``; how many."""
        return self._db().execute("DELETE FROM lines WHERE time_us < ?", (before_us,)).rowcount

    def count(self) -> int:
        return int(self._db().execute("SELECT count(*) FROM lines").fetchone()[0])

    def ping(self) -> None:
        self._db().execute("SELECT 1 FROM lines LIMIT 1").fetchall()

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
