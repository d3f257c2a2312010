"""A per-owner limit on MongoDB without transactions: the owner's quota document.

The alert and strategy repositories (``store.alerts.mongo``, ``store.strategies.mongo``)
keep ``{_id: owner, slots: [{id: item id, at: epoch s}, …]}`` in a quota collection of
their own beside their items:

1. a creation first takes a slot with one conditional update, ``$push`` where the array
   has fewer than ``limit`` entries (``slots.<limit-1>`` does not exist) and none for the
   item's id. One document is updated atomically, so concurrent creations never take
   more than ``limit`` slots between them;
2. then it inserts the item. If the insert certainly failed (a write error, such as a
   duplicate id, or a document BSON cannot hold) the slot is given back; if the outcome
   is unknown (connection lost) it is kept: the item may be stored;
3. a deletion deletes the item, then pulls its slot.

So every stored item holds a slot: never more than ``limit`` items. A slot whose item
does not exist (the creator died between 1 and 2, the outcome was unknown, the pull of a
deletion failed) only costs the owner one item until a creation that finds no free slot
reclaims it: slots older than :data:`RESERVATION_GRACE_S` without an item of the owner
are pulled. The grace is far longer than a creation's two calls (each bounded by the
socket timeout) and than the clock differences between hosts, so a creation still under
way never loses its slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bson.errors import InvalidDocument
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError, WriteError

from store.mongodb import Doc, translated
from store.port import StoreError

log = logging.getLogger(__name__)

RESERVATION_GRACE_S = 300.0
"""Seconds after which a slot without its item may be reclaimed (see the module doc)."""


@dataclass(frozen=True, slots=True)
class OwnerSlots:
    """The slots of one kind of item (``noun``: "alert"), its items in ``items`` with
    ``_id`` = the item's ``id`` and an ``owner`` field; ``refused`` is the error of an owner
    at the limit. Each call takes the store's clock (epoch seconds; tests replace it)."""

    quotas: Collection[Doc]
    items: Collection[Doc]
    noun: str
    plural: str
    refused: Callable[[str], Exception]

    def create(self, doc: Mapping[str, Any], limit: int, clock: Callable[[], float]) -> None:
        """Take a slot of ``doc["owner"]``, then insert ``doc`` with ``_id`` = its ``id``
        (the module doc, 1 and 2)."""
        owner, item_id = doc["owner"], doc["id"]
        self.reserve(owner, item_id, limit, clock)
        try:
            with translated():
                self.items.insert_one({"_id": item_id, **doc})
        except (StoreError, InvalidDocument) as exc:
            failure = exc.__cause__ if isinstance(exc, StoreError) else exc
            if isinstance(failure, WriteError | InvalidDocument):  # certainly not stored
                self.release(owner, item_id)
            if isinstance(failure, DuplicateKeyError):
                raise StoreError(f"{self.noun} id {item_id!r} is stored already") from failure
            if isinstance(failure, InvalidDocument):
                raise ValueError(f"{self.noun} not storable in MongoDB: {failure}") from failure
            raise

    def reserve(self, owner: str, item_id: str, limit: int, clock: Callable[[], float]) -> None:
        """Take one of the owner's ``limit`` slots for ``item_id``, reclaiming lost ones
        when none is free; ``refused`` if there is still none."""
        refused = self.refused(f"{owner!r} holds the most {self.plural} allowed ({limit})")
        if limit == 0:
            raise refused
        with translated():
            if self._take(owner, item_id, limit, clock()):
                return
            quota = self.quotas.find_one({"_id": owner}) or {"slots": []}
            if any(slot["id"] == item_id for slot in quota["slots"]):
                raise StoreError(f"{self.noun} id {item_id!r} is stored already")
            if self._reclaim(owner, quota["slots"], clock()) and self._take(
                owner, item_id, limit, clock()
            ):
                return
        raise refused

    def _take(self, owner: str, item_id: str, limit: int, now: float) -> bool:
        """One conditional update: a slot if fewer than ``limit`` are taken (``limit`` ≥ 1)."""
        spec = {
            "_id": owner,
            f"slots.{limit - 1}": {"$exists": False},  # fewer than limit entries
            "slots.id": {"$ne": item_id},
        }
        slot = {"id": item_id, "at": now}
        if self.quotas.update_one(spec, {"$push": {"slots": slot}}).modified_count == 1:
            return True
        try:  # the owner's first item: no quota document yet
            self.quotas.insert_one({"_id": owner, "slots": [slot]})
            return True
        except DuplicateKeyError:  # it exists (full, or made by a concurrent creation)
            return self.quotas.update_one(spec, {"$push": {"slots": slot}}).modified_count == 1

    def _reclaim(self, owner: str, slots: Sequence[Mapping[str, Any]], now: float) -> bool:
        """Pull the owner's slots older than the grace whose item does not exist; whether
        there were any."""
        horizon = now - RESERVATION_GRACE_S
        old = [slot["id"] for slot in slots if slot["at"] < horizon]
        if not old:
            return False
        found = self.items.find({"_id": {"$in": old}, "owner": owner}, {"_id": True})
        held = {doc["_id"] for doc in found}
        lost = [item_id for item_id in old if item_id not in held]
        if not lost:
            return False
        pull = {"$pull": {"slots": {"id": {"$in": lost}, "at": {"$lt": horizon}}}}
        if self.quotas.update_one({"_id": owner}, pull).modified_count == 1:
            log.warning(f"{self.noun} slots reclaimed", extra={"owner": owner, "slots": len(lost)})
        return True  # freed, by this creation or a concurrent one: worth another try

    def release(self, owner: str, item_id: str) -> None:
        """Give the slot of ``item_id`` back; on failure it is left to the reclaim."""
        try:
            with translated():
                self.quotas.update_one({"_id": owner}, {"$pull": {"slots": {"id": item_id}}})
        except StoreError as exc:
            log.warning(
                f"{self.noun} slot not released",
                extra={"owner": owner, f"{self.noun}_id": item_id,
                       "error": type(exc.__cause__).__name__},
            )  # fmt: skip
