"""The strategy repository on MongoDB: collections ``strategies`` and ``strategy_quotas``,
in the main store's database.

A strategy is stored as given with ``_id`` = its ``id``; ``_id`` is never returned. The
per-user limit holds without transactions as the alert repository's does, through the
owner's quota document in ``strategy_quotas`` (``store.mongo_slots``): a slot before the
insert, given back when the insert certainly failed or the strategy is deleted, reclaimed
after ``RESERVATION_GRACE_S`` when its strategy never appeared. So never more than
``limit`` strategies.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from bson.errors import InvalidDocument
from pymongo import ASCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database

from store.mongo_slots import OwnerSlots
from store.mongodb import (
    DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    DEFAULT_SOCKET_TIMEOUT_MS,
    Doc,
    MongoDatabase,
    translated,
)
from store.sessions import text
from store.strategies.documents import (
    TIMED_STRATEGY_OPS,
    check_unchanged,
    replacement,
    strategy_document,
    strategy_limit,
)
from store.strategies.port import StrategyLimitReached
from store.timing import timed_store

log = logging.getLogger(__name__)

_HIDDEN = {"_id": False}
_OLDEST_FIRST = [("created_at", ASCENDING), ("id", ASCENDING)]


@timed_store("mongodb", TIMED_STRATEGY_OPS)
class MongoStrategyStore(MongoDatabase):
    """The :class:`~store.strategies.port.StrategyStore` on a MongoDB database
    (``store.mongodb``: the client, its timeouts, the database's name). ``clock`` gives
    epoch seconds for the slots' ages (tests replace it)."""

    def __init__(
        self,
        url: str,
        database: str | None = None,
        *,
        server_selection_timeout_ms: int = DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
        socket_timeout_ms: int = DEFAULT_SOCKET_TIMEOUT_MS,
    ) -> None:
        super().__init__(
            url,
            database,
            server_selection_timeout_ms=server_selection_timeout_ms,
            socket_timeout_ms=socket_timeout_ms,
            client_class=MongoClient,
        )

    def _bind(self, db: Database[Doc]) -> None:
        self._strategies: Collection[Doc] = db["strategies"]
        self._slots = OwnerSlots(
            db["strategy_quotas"], self._strategies, "strategy", "strategies",
            StrategyLimitReached,
        )  # fmt: skip
        self.clock: Callable[[], float] = time.time

    def _create_indexes(self) -> None:
        with translated():
            self._strategies.create_index(
                [("owner", ASCENDING), *_OLDEST_FIRST], name="strategies_owner"
            )

    def create_strategy(self, strategy: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        """Store a new strategy unless its owner holds ``limit``: a slot first, then the
        strategy (the module doc)."""
        doc = strategy_document(strategy)
        self._slots.create(doc, strategy_limit(limit), self.clock)
        return doc

    def strategies_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's strategies, oldest first (by ``created_at``, then ``id``)."""
        with translated():
            spec = {"owner": text(owner, "owner")}
            return list(self._strategies.find(spec, _HIDDEN, sort=_OLDEST_FIRST))

    def strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        """The owner's strategy ``strategy_id``, or ``None``."""
        spec = {"_id": text(strategy_id, "strategy_id"), "owner": text(owner, "owner")}
        with translated():
            return self._strategies.find_one(spec, _HIDDEN)

    def replace_strategy(self, owner: str, strategy: Mapping[str, Any]) -> dict[str, Any] | None:
        """Replace the owner's strategy ``strategy["id"]`` (owner and created_at kept): read,
        check, then replace on the condition that they are still the same."""
        doc = replacement(owner, strategy)
        spec = {"_id": doc["id"], "owner": doc["owner"]}
        with translated():
            stored = self._strategies.find_one(spec, {"_id": False, "created_at": True})
        if stored is None:
            return None
        check_unchanged(stored, doc)
        kept = {**spec, "created_at": doc["created_at"]}
        try:
            with translated():
                matched = self._strategies.replace_one(kept, {"_id": doc["id"], **doc})
        except InvalidDocument as exc:
            raise ValueError(f"strategy not storable in MongoDB: {exc}") from exc
        return doc if matched.matched_count else None  # deleted in between

    def delete_strategy(self, owner: str, strategy_id: str) -> dict[str, Any] | None:
        """Delete the owner's strategy, then free its slot; the deleted strategy, or
        ``None``."""
        spec = {"_id": text(strategy_id, "strategy_id"), "owner": text(owner, "owner")}
        with translated():
            doc: dict[str, Any] | None = self._strategies.find_one_and_delete(spec, _HIDDEN)
        if doc is not None:
            self._slots.release(owner, strategy_id)
        return doc
