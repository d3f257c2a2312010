"""The alert repository on MongoDB: collections ``alerts``, ``alert_triggers`` and
``alert_quotas``, in the main store's database.

An alert is stored as given with ``_id`` = its ``id``, a trigger with ``_id`` = its
``trigger_id`` (which makes ``trigger_id`` unique); ``_id`` is never returned.

The per-user limit holds without transactions through the owner's quota document in
``alert_quotas`` (``store.mongo_slots``): a slot is taken by one conditional update before
the alert is inserted, given back when the insert certainly failed or the alert is deleted,
and reclaimed by a later creation after ``RESERVATION_GRACE_S`` when its alert never
appeared. So never more than ``limit`` alerts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bson.errors import InvalidDocument
from pymongo import ASCENDING, DESCENDING, MongoClient
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError

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
from store.mongo_slots import OwnerSlots
from store.mongodb import (
    DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    DEFAULT_SOCKET_TIMEOUT_MS,
    Doc,
    MongoDatabase,
    inserted_despite_duplicates,
    translated,
)
from store.port import StoreError
from store.sessions import text
from store.timing import timed_store

log = logging.getLogger(__name__)

_HIDDEN = {"_id": False}
_OLDEST_FIRST = [("created_at", ASCENDING), ("id", ASCENDING)]
_NEWEST_FIRST = [("triggered_at", DESCENDING), ("trigger_id", DESCENDING)]


@timed_store("mongodb", TIMED_ALERT_OPS)
class MongoAlertStore(MongoDatabase):
    """The :class:`~store.alerts.port.AlertStore` on a MongoDB database (``store.mongodb``:
    the client, its timeouts, the database's name). ``clock`` gives epoch seconds for the
    slots' ages (tests replace it)."""

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
        self._alerts: Collection[Doc] = db["alerts"]
        self._triggers: Collection[Doc] = db["alert_triggers"]
        self._slots = OwnerSlots(
            db["alert_quotas"], self._alerts, "alert", "alerts", AlertLimitReached
        )
        self.clock: Callable[[], float] = time.time

    def _create_indexes(self) -> None:
        with translated():
            self._alerts.create_index([("owner", ASCENDING), *_OLDEST_FIRST], name="alerts_owner")
            self._alerts.create_index(
                [("product", ASCENDING), ("active", ASCENDING)], name="alerts_product"
            )
            self._triggers.create_index(
                [("owner", ASCENDING), ("triggered_at", ASCENDING), ("trigger_id", ASCENDING)],
                name="alert_triggers_owner",
            )

    # -- alerts ----------------------------------------------------------------------

    def create_alert(self, alert: Mapping[str, Any], *, limit: int) -> dict[str, Any]:
        """Store a new alert unless its owner holds ``limit``: a slot first, then the
        alert (``store.mongo_slots``)."""
        doc = alert_document(alert)
        self._slots.create(doc, alert_limit(limit), self.clock)
        return doc

    def alerts_of(self, owner: str) -> list[dict[str, Any]]:
        """The owner's alerts, oldest first (by ``created_at``, then ``id``)."""
        with translated():
            found = self._alerts.find({"owner": text(owner, "owner")}, _HIDDEN, sort=_OLDEST_FIRST)
            return list(found)

    def alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        """The owner's alert ``alert_id``, or ``None``."""
        spec = {"_id": text(alert_id, "alert_id"), "owner": text(owner, "owner")}
        with translated():
            return self._alerts.find_one(spec, _HIDDEN)

    def replace_alert(self, owner: str, alert: Mapping[str, Any]) -> dict[str, Any] | None:
        """Replace the owner's alert ``alert["id"]`` (owner, product and created_at kept):
        read, check, then replace on the condition that they are still the same."""
        doc = replacement(owner, alert)
        spec = {"_id": doc["id"], "owner": doc["owner"]}
        with translated():
            stored = self._alerts.find_one(
                spec, {"_id": False, "product": True, "created_at": True}
            )
        if stored is None:
            return None
        check_unchanged(stored, doc)
        kept = {**spec, "product": doc["product"], "created_at": doc["created_at"]}
        try:
            with translated():
                matched = self._alerts.replace_one(kept, {"_id": doc["id"], **doc}).matched_count
        except InvalidDocument as exc:
            raise ValueError(f"alert not storable in MongoDB: {exc}") from exc
        return doc if matched else None  # deleted in between

    def delete_alert(self, owner: str, alert_id: str) -> dict[str, Any] | None:
        """Delete the owner's alert ``alert_id``, then free its slot; the deleted alert,
        or ``None``."""
        spec = {"_id": text(alert_id, "alert_id"), "owner": text(owner, "owner")}
        with translated():
            doc: dict[str, Any] | None = self._alerts.find_one_and_delete(spec, _HIDDEN)
        if doc is not None:
            self._slots.release(owner, alert_id)
        return doc

    def active_alerts(self, product: str) -> list[dict[str, Any]]:
        """Every user's active alerts of ``product``."""
        with translated():
            spec = {"product": text(product, "product"), "active": True}
            return list(self._alerts.find(spec, _HIDDEN))

    # -- triggers --------------------------------------------------------------------

    def record_triggers(self, triggers: Sequence[Mapping[str, Any]]) -> int:
        """Store triggers in one unordered bulk insert, skipping known ``trigger_id``s
        (a retry after a failure stores the rest); how many were new."""
        batch = [{"_id": doc["trigger_id"], **doc} for doc in trigger_documents(triggers)]
        if not batch:
            return 0
        try:
            with translated():
                return len(self._triggers.insert_many(batch, ordered=False).inserted_ids)
        except InvalidDocument as exc:
            raise ValueError(f"trigger not storable in MongoDB: {exc}") from exc
        except StoreError as exc:
            if isinstance(exc.__cause__, BulkWriteError):
                return inserted_despite_duplicates(exc.__cause__)
            raise

    def triggers_of(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The owner's triggers newest first, from after the cursor ``before``."""
        spec: Doc = {"owner": text(owner, "owner")}
        limit, cursor = trigger_page(limit, before)
        if cursor is not None:
            at, trigger_id = cursor
            spec["$or"] = [
                {"triggered_at": {"$lt": at}},
                {"triggered_at": at, "trigger_id": {"$lt": trigger_id}},
            ]
        with translated():
            return list(self._triggers.find(spec, _HIDDEN, sort=_NEWEST_FIRST, limit=limit))
