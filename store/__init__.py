"""The store port and the factory choosing its adapter from ``STORE_URL``.

``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (optional
``?busy_timeout_ms=N``) opens the embedded SQLite store; ``mongodb://…`` and
``mongodb+srv://…`` open MongoDB, in the database named by the URL path
(default ``optionsflow``). Adapters are imported only when chosen.
``parse_store_url`` checks the URL, for ``store.alerts.open_alert_store`` too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
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
    "StoreUrl",
    "open_store",
    "parse_store_url",
]

_SQLITE_PREFIX = "sqlite:///"


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A checked ``STORE_URL``: the adapter it names and, for SQLite, the file and its busy
    timeout (milliseconds). Shared by :func:`open_store` and ``store.alerts``."""

    url: str = field(repr=False)  # may carry a password
    adapter: Literal["sqlite", "mongodb"]
    path: str = ""
    busy_timeout_ms: int = 0


def parse_store_url(url: str) -> StoreUrl:
    """``url`` checked; ``ValueError`` naming STORE_URL for an unusable one."""
    if not isinstance(url, str):
        raise ValueError(f"STORE_URL must be a string, got {type(url).__name__}")
    if url.startswith(_SQLITE_PREFIX):
        return _sqlite_url(url)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        return StoreUrl(url, "mongodb")
    scheme = url.partition(":")[0] if ":" in url else url[:20]
    raise ValueError(
        "STORE_URL: expected sqlite:///relative/path, sqlite:////absolute/path, "
        f"mongodb://… or mongodb+srv://…, got scheme {scheme!r}"
    )


def open_store(url: str) -> Store:
    """The store at ``url``; ``ValueError`` naming STORE_URL for an unusable URL.

    Connecting may raise :class:`StoreUnavailable` (retry later).
    """
    where = parse_store_url(url)
    if where.adapter == "sqlite":
        from store.sqlite import SqliteStore

        return SqliteStore(where.path, busy_timeout_ms=where.busy_timeout_ms)
    from store.mongo import MongoStore

    return MongoStore(url)


def _sqlite_url(url: str) -> StoreUrl:
    # The path is taken verbatim (no percent-decoding), as settings build it.
    path, _, query = url[len(_SQLITE_PREFIX) :].partition("?")
    if not path:
        raise ValueError(
            "STORE_URL: sqlite:/// needs a file path, e.g. sqlite:///var/optionsflow.db"
        )
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    unknown = set(options) - {"busy_timeout_ms"}
    if unknown:
        raise ValueError(f"STORE_URL: unknown sqlite options {sorted(unknown)}")
    from store.sqlitedb import DEFAULT_BUSY_TIMEOUT_MS

    timeout = options.get("busy_timeout_ms", str(DEFAULT_BUSY_TIMEOUT_MS))
    if not timeout.isdigit():
        raise ValueError(f"STORE_URL: busy_timeout_ms must be milliseconds, got {timeout!r}")
    return StoreUrl(url, "sqlite", path, int(timeout))
