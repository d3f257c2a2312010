"""One MongoDB database through pymongo: the base of the MongoDB adapters.

The client with the adapters' timeouts (options in the URL win), the database named by
the URL (default ``optionsflow``), index creation at start-up, and pymongo errors as port
errors, lost or unreachable servers as ``StoreUnavailable``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import BulkWriteError, ConfigurationError, ConnectionFailure, PyMongoError

from store.port import StoreError, StoreUnavailable

DEFAULT_DATABASE = "optionsflow"
DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 5000
DEFAULT_SOCKET_TIMEOUT_MS = 10_000
"""A reply not received within this is a lost connection (pymongo's default is to wait forever)."""
DUPLICATE_KEY = 11000
"""MongoDB's error code for a unique index violation."""

Doc = dict[str, Any]


@contextmanager
def translated() -> Iterator[None]:
    """pymongo errors as port errors: lost or unreachable servers as StoreUnavailable."""
    try:
        yield
    except ConnectionFailure as exc:  # includes AutoReconnect, NetworkTimeout, selection
        raise StoreUnavailable(f"mongodb: {exc}") from exc
    except PyMongoError as exc:
        raise StoreError(f"mongodb: {exc}") from exc


class MongoDatabase:
    """A client and one of its databases; subclasses bind their collections in
    :meth:`_bind` and create their indexes in :meth:`_create_indexes`.

    ``database`` defaults to the URL's path, then ``optionsflow``. Options in the URL
    (``serverSelectionTimeoutMS``, ``connectTimeoutMS``, ``socketTimeoutMS``…) win over
    the defaults given here; ``socketTimeoutMS`` (10 s) keeps a hung server from holding
    a thread forever. Raises :class:`StoreUnavailable` when no server answers within the
    server selection timeout. pymongo clients do not survive ``fork()``: open the store
    in the process that uses it (for Celery's prefork pool, in ``worker_process_init``).
    ``client_class`` builds the client (an adapter passes the ``MongoClient`` its module
    imported, the name tests substitute).
    """

    def __init__(
        self,
        url: str,
        database: str | None = None,
        *,
        server_selection_timeout_ms: int = DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
        socket_timeout_ms: int = DEFAULT_SOCKET_TIMEOUT_MS,
        client_class: Callable[..., Any] = MongoClient,
    ) -> None:
        query = url.partition("?")[2].lower()
        defaults = {
            "serverSelectionTimeoutMS": server_selection_timeout_ms,
            "connectTimeoutMS": server_selection_timeout_ms,
            "socketTimeoutMS": socket_timeout_ms,
        }
        options: dict[str, Any] = {
            k: v for k, v in defaults.items() if f"{k.lower()}=" not in query
        }
        try:
            client = client_class(url, tz_aware=False, **options)
        except ConfigurationError as exc:  # InvalidURI included
            raise ValueError(f"STORE_URL: {exc}") from exc
        try:
            name = database or client.get_default_database(DEFAULT_DATABASE).name
            self._setup(client, name, owns_client=True)
        except BaseException:
            client.close()  # its monitor threads would outlive a store that never opened
            raise

    @classmethod
    def from_client(cls, client: Any, database: str = DEFAULT_DATABASE) -> Self:
        """A store on an existing client (pymongo or mongomock); ``close`` leaves it open."""
        store = cls.__new__(cls)
        store._setup(client, database, owns_client=False)
        return store

    def _setup(self, client: Any, database: str, *, owns_client: bool) -> None:
        self._client = client
        self._owns_client = owns_client
        self.database_name: str = database
        self._bind(client[database])
        try:
            self._create_indexes()
        except BaseException:
            self.close()
            raise

    def _bind(self, db: Database[Doc]) -> None:
        """Keep the collections this adapter uses."""
        raise NotImplementedError

    def _create_indexes(self) -> None:
        """Create this adapter's indexes (a no-op when they exist)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(database={self.database_name!r})"

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless a server answers ``ping``."""
        with translated():
            self._client.admin.command("ping")

    def close(self) -> None:
        """Close the client if this store created it."""
        if self._owns_client:
            self._client.close()


def inserted_despite_duplicates(exc: BulkWriteError) -> int:
    """``nInserted`` of a bulk insert whose only failures are duplicate keys."""
    details = exc.details
    others = [e for e in details.get("writeErrors", []) if e.get("code") != DUPLICATE_KEY]
    if others:
        raise StoreError(f"mongodb: insert failed: {others[0].get('errmsg')}") from exc
    if details.get("writeConcernErrors"):
        raise StoreUnavailable(
            f"mongodb: write concern not met: {details['writeConcernErrors'][0]}"
        ) from exc
    return int(details.get("nInserted", 0))
