"""One SQLite file shared by many threads and processes: the base of the SQLite adapters.

Each thread of each process has its own connection (WAL mode, so readers never wait for
the writer); a process forked from one that used the file opens fresh connections. A
write is one ``BEGIN IMMEDIATE`` transaction: it holds the file's write lock from its
first statement, so what it reads and what it writes are one step. sqlite3 errors reach
callers as port errors, transient ones as ``StoreUnavailable``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from store.port import StoreError, StoreUnavailable

DEFAULT_BUSY_TIMEOUT_MS = 5000

# Primary result codes worth a retry: BUSY, LOCKED, IOERR, FULL, CANTOPEN, PROTOCOL.
_TRANSIENT_CODES = frozenset({5, 6, 10, 13, 14, 15})

INHERITED: list[object] = []
"""Connections inherited through fork(). SQLite forbids touching them in the child,
closing included, so they stay referenced here and are never used again."""


@contextmanager
def translated() -> Iterator[None]:
    """sqlite3 errors as port errors: transient ones as StoreUnavailable."""
    try:
        yield
    except sqlite3.Error as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        transient = code is None or code & 0xFF in _TRANSIENT_CODES
        if isinstance(exc, sqlite3.OperationalError) and transient:
            raise StoreUnavailable(f"sqlite: {exc}") from exc
        raise StoreError(f"sqlite: {exc}") from exc


class _Handle:
    """Weak-referenceable holder: a thread's connection dies with the thread."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn


class SqliteDatabase:
    """Connections to one SQLite file; subclasses give their tables in :attr:`schema`.

    ``busy_timeout_ms`` is how long a write waits for another writer's lock before
    :class:`StoreUnavailable`. The parent directory and the schema are created here.
    """

    schema: ClassVar[Sequence[str]] = ()
    """``CREATE … IF NOT EXISTS`` statements, run in one write transaction at start."""

    def __init__(
        self, path: str | os.PathLike[str], *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> None:
        if str(path) in ("", ":memory:") or str(path).startswith("file:"):
            raise ValueError(f"{type(self).__name__} needs a file path, got {str(path)!r}")
        if isinstance(busy_timeout_ms, bool) or not isinstance(busy_timeout_ms, int):
            raise ValueError(f"busy_timeout_ms must be an integer, got {busy_timeout_ms!r}")
        if busy_timeout_ms < 0:
            raise ValueError(f"busy_timeout_ms must be >= 0, got {busy_timeout_ms}")
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._closed = False
        self._start_process()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"sqlite: cannot create {self.path.parent}: {exc}") from exc
        with self._write() as conn:
            for statement in self.schema:
                conn.execute(statement)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _start_process(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._handles: weakref.WeakSet[_Handle] = weakref.WeakSet()

    def _open(self) -> sqlite3.Connection:
        with translated():
            conn = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE
                check_same_thread=False,  # only so that close() may close it
            )
            try:
                conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
                mode = self._wal(conn)
                conn.execute("PRAGMA synchronous = NORMAL")
            except BaseException:
                conn.close()
                raise
        if mode != "wal":
            conn.close()
            raise StoreError(f"sqlite: {self.path} cannot use WAL (journal_mode={mode})")
        return conn

    def _wal(self, conn: sqlite3.Connection) -> str:
        """Switch a new file to WAL (a no-op once it is), within the busy timeout.

        Two connections opening a new file at once can deadlock on its locks (one switching
        the journal mode, the other writing the schema), and SQLite then answers one of
        them "database is locked" at once rather than through the busy handler: seen in 1
        of some 50 concurrent opens (auth_service's keeper and first request). Retried.
        """
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(0.005)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after a fork)."""
        if self._closed:
            raise StoreError("store is closed")
        if self._pid != os.getpid():
            INHERITED.extend(self._handles)
            self._start_process()
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is None:
            handle = _Handle(self._open())
            self._local.handle = handle
            with self._lock:
                self._handles.add(handle)
        return handle.conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the database's write lock from the start."""
        conn = self._connection()
        with translated():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        conn = self._connection()
        with translated():
            return conn.execute(sql, params).fetchall()

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database file answers a query."""
        self._rows("SELECT count(*) FROM sqlite_master", ())

    def close(self) -> None:
        """Close every connection this process opened; the store is unusable afterwards."""
        with self._lock:
            self._closed = True
            handles = list(self._handles) if self._pid == os.getpid() else []
            self._handles = weakref.WeakSet()
        for handle in handles:
            handle.conn.close()
