"""The store port and the factory choosing its adapter from ``STORE_URL``.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (optional
``?busy_timeout_ms=N``) opens the embedded SQLite store; ``mongodb://…`` and
``mongodb+srv://…`` open MongoDB, in the database named by the URL path
(default ``optionsflow``). Adapters are imported only when chosen.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from store.port import (
    MAX_HISTORY_LIMIT,
    CandleInterval,
    DuplicateUser,
    Store,
    StoreError,
    StoreUnavailable,
)
from store.sessions import Rotation

__all__ = [
    "MAX_HISTORY_LIMIT",
    "CandleInterval",
    "DuplicateUser",
    "Rotation",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]

_SQLITE_PREFIX = "sqlite:///"


def open_store(url: str) -> Store:
    """The store at ``url``; ``ValueError`` naming STORE_URL for an unusable URL.

    Connecting may raise :class:`StoreUnavailable` (retry later).
    """
    if not isinstance(url, str):
        raise ValueError(f"STORE_URL must be a string, got {type(url).__name__}")
    if url.startswith(_SQLITE_PREFIX):
        return _open_sqlite(url[len(_SQLITE_PREFIX) :])
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from store.mongo import MongoStore

        return MongoStore(url)
    scheme = url.partition(":")[0] if ":" in url else url[:20]
    raise ValueError(
        "STORE_URL: expected sqlite:///relative/path, sqlite:////absolute/path, "
        f"mongodb://… or mongodb+srv://…, got scheme {scheme!r}"
    )


def _open_sqlite(rest: str) -> Store:
    # The path is taken verbatim (no percent-decoding), as settings build it.
    path, _, query = rest.partition("?")
    if not path:
        raise ValueError(
            "STORE_URL: sqlite:/// needs a file path, e.g. sqlite:///var/optionsflow.db"
        )
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    unknown = set(options) - {"busy_timeout_ms"}
    if unknown:
        raise ValueError(f"STORE_URL: unknown sqlite options {sorted(unknown)}")
    from store.sqlite import DEFAULT_BUSY_TIMEOUT_MS, SqliteStore

    timeout = options.get("busy_timeout_ms", str(DEFAULT_BUSY_TIMEOUT_MS))
    if not timeout.isdigit():
        raise ValueError(f"STORE_URL: busy_timeout_ms must be milliseconds, got {timeout!r}")
    return SqliteStore(path, busy_timeout_ms=int(timeout))
