"""The MongoDB paper repository's write sequence: a journal committed in the owner's account.

Transactions need a replica set (mongomock and a standalone server have none), so a write
is an idempotent sequence that converges, committed by one atomic single-document update:

- ``paper_accounts``: one document per owner, ``{_id: owner, seq, wallets: {INR: …},
  journal?}``. Every write of an owner (place, fill, cancel, settle) reads the account at
  ``seq`` (with no journal), lets the rules decide, and commits with one conditional
  update: where ``seq`` is still the one read and there is no journal, set the new wallet,
  ``seq + 1`` and the ``journal``: the orders, trades and positions to write. Two writes of
  an owner cannot both commit on one ``seq``: cash is never spent twice; the loser reads
  again and decides again (a repeated client order id then finds its order).
- Rolling forward (the committer, or whoever next touches the account, or
  :meth:`Journal.recover`): trades inserted by their deterministic ids (a repeat is a
  duplicate key, ignored), positions and orders replaced where their ``_seq`` is older
  than the journal's (so a late, slow roll-forward never overwrites a newer write), then
  the journal removed where its ``seq`` is still that one.

Before the commit nothing is visible; after it, the journal holds everything still to
write. A crash between leaves the account with its journal, which the next operation on
the owner (or ``recover``) completes: the store holds the whole write or none of it. The
steps, named to :attr:`Journal.checkpoint`: ``before_commit``, ``after_commit``,
``after_trades``, ``after_positions``, ``after_orders``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from contextlib import suppress
from decimal import Decimal
from typing import TypeVar

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from paper.documents import OPEN_STATES, Change, OrderState
from store.mongodb import Doc, inserted_despite_duplicates, translated
from store.paper.documents import Checkpoint, no_checkpoint, to_doc
from store.port import StoreError, StoreUnavailable

__all__ = ["MAX_ATTEMPTS", "NEWEST_ORDERS", "NEWEST_TRADES", "Decide", "Journal", "position_id"]

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 200
"""Commits an operation tries before ``StoreUnavailable`` (each lost to another write of
the same owner, which did commit)."""

T = TypeVar("T")
Decide = Callable[[Doc], tuple[Change | None, T]]
"""Reads what a write needs (given the owner's settled account) and returns the change to
commit (None: nothing to write) and the operation's answer."""

NEWEST_ORDERS = [("created_at", DESCENDING), ("id", DESCENDING)]
NEWEST_TRADES = [("at", DESCENDING), ("id", DESCENDING)]
_OPEN = frozenset(state.value for state in OrderState if state in OPEN_STATES)


def position_id(owner: str, key: str) -> str:
    """A position's ``_id``: the owner (length-prefixed: any owner text is unambiguous)
    and the instrument key."""
    return f"{len(owner)}:{owner}|{key}"


class Journal:
    """The collections of paper accounts in ``db`` and the commit that changes them;
    ``sleep`` (the backoff after a lost commit) and ``checkpoint`` may be replaced."""

    def __init__(self, db: Database[Doc]) -> None:
        self._accounts: Collection[Doc] = db["paper_accounts"]
        self.orders: Collection[Doc] = db["paper_orders"]
        self.trades: Collection[Doc] = db["paper_trades"]
        self.positions: Collection[Doc] = db["paper_positions"]
        self.sleep: Callable[[float], None] = time.sleep
        self.checkpoint: Checkpoint = no_checkpoint

    def create_indexes(self) -> None:
        """The indexes of the four collections (a no-op when they exist)."""
        with translated():
            self.orders.create_index(
                [("owner", ASCENDING), ("client_order_id", ASCENDING)],
                name="paper_orders_client", unique=True,
            )  # fmt: skip
            self.orders.create_index(
                [("owner", ASCENDING), *NEWEST_ORDERS], name="paper_orders_owner"
            )
            self.orders.create_index(
                [("owner", ASCENDING), ("state", ASCENDING), *NEWEST_ORDERS],
                name="paper_orders_state",
            )
            self.orders.create_index(
                [("product", ASCENDING), ("open", ASCENDING), ("created_at", ASCENDING)],
                name="paper_orders_open",
            )
            self.trades.create_index(
                [("owner", ASCENDING), *NEWEST_TRADES], name="paper_trades_owner"
            )
            self.trades.create_index([("order_id", ASCENDING)], name="paper_trades_order")
            self.positions.create_index(
                [("owner", ASCENDING), ("key", ASCENDING)], name="paper_positions_owner"
            )
            self.positions.create_index(
                [("product", ASCENDING), ("expiry", ASCENDING), ("open", ASCENDING)],
                name="paper_positions_expiry",
            )
            self._accounts.create_index("journal.seq", name="paper_accounts_journal", sparse=True)

    def transact(self, owner: str, decide: Decide[T]) -> T:
        """Decide on the owner's settled account and commit, again until a commit is not
        lost to another write of the owner (the module doc)."""
        for attempt in range(MAX_ATTEMPTS):
            held = self.settled(owner)
            change, answer = decide(held)
            if change is None:
                return answer
            journal = self._entry(held["seq"] + 1, change)
            self.checkpoint("before_commit")
            update: Doc = {"seq": held["seq"] + 1, "journal": journal}
            if change.wallet is not None:
                update[f"wallets.{change.wallet.currency}"] = to_doc(change.wallet)
            spec = {"_id": owner, "seq": held["seq"], "journal": {"$exists": False}}
            with translated():
                committed = self._accounts.update_one(spec, {"$set": update}).modified_count
            if committed:
                self._roll_forward(owner, journal)
                return answer
            self.sleep(min(0.05, 0.0005 * 2 ** min(attempt, 7)) * random.random())
        raise StoreUnavailable(f"paper account of {owner!r}: {MAX_ATTEMPTS} commits lost")

    def _entry(self, seq: int, change: Change) -> Doc:
        return {
            "seq": seq,
            "orders": [to_doc(order) for order in change.orders],
            "trades": [to_doc(trade) for trade in change.trades],
            "positions": [{**to_doc(p), "key": p.key} for p in change.positions],
        }

    def settled(self, owner: str) -> Doc:
        """The owner's account with no journal pending (completing one found), created
        (``seq`` 0, no wallet) on first use."""
        with translated():
            held = self._accounts.find_one({"_id": owner})
            if held is None:
                with suppress(DuplicateKeyError):  # a concurrent first use created it
                    self._accounts.update_one(
                        {"_id": owner}, {"$setOnInsert": {"seq": 0, "wallets": {}}}, upsert=True
                    )
                held = self._accounts.find_one({"_id": owner}) or {}
        while "journal" in held:
            self._roll_forward(owner, held["journal"])
            with translated():
                held = self._accounts.find_one({"_id": owner}) or {}
        return held

    def _roll_forward(self, owner: str, journal: Doc) -> None:
        """Write a committed journal's documents, then remove it (idempotent)."""
        seq = journal["seq"]
        self.checkpoint("after_commit")
        with translated():
            self._insert_trades(journal["trades"])
            self.checkpoint("after_trades")
            for doc in journal["positions"]:
                stored = {**doc, "open": Decimal(doc["quantity"]) != 0}
                self._newer(self.positions, position_id(owner, doc["key"]), seq, stored)
            self.checkpoint("after_positions")
            for doc in journal["orders"]:
                stored = {**doc, "open": doc["state"] in _OPEN}
                self._newer(self.orders, doc["id"], seq, stored)
            self.checkpoint("after_orders")
            done = {"$unset": {"journal": ""}}
            self._accounts.update_one({"_id": owner, "journal.seq": seq}, done)

    def _insert_trades(self, trades: list[Doc]) -> None:
        if not trades:
            return
        try:
            self.trades.insert_many([{"_id": t["id"], **t} for t in trades], ordered=False)
        except BulkWriteError as exc:  # a roll-forward repeated: those are stored
            inserted_despite_duplicates(exc)

    def _newer(self, collection: Collection[Doc], doc_id: str, seq: int, doc: Doc) -> None:
        """Replace ``doc_id`` by ``doc`` at ``seq`` unless it is at ``seq`` or later."""
        try:
            spec = {"_id": doc_id, "_seq": {"$lt": seq}}
            collection.replace_one(spec, {**doc, "_id": doc_id, "_seq": seq}, upsert=True)
        except DuplicateKeyError as exc:  # stored at seq or later, or a unique index refused
            found = collection.find_one({"_id": doc_id}, {"_seq": True})
            if found is None or found["_seq"] < seq:
                raise StoreError(f"mongodb: {collection.name} {doc_id!r}: {exc}") from exc

    def recover(self) -> int:
        """Complete every owner's committed journal (a crashed writer's); how many."""
        with translated():
            pending = list(self._accounts.find({"journal": {"$exists": True}}, {"_id": True}))
        for held in pending:
            self.settled(held["_id"])
        if pending:
            log.warning("paper journals completed", extra={"accounts": len(pending)})
        return len(pending)

    def pending(self, owner: str) -> Doc | None:
        """The owner's account once its pending journal, if any, is complete (a read's
        first step); None when the owner has none."""
        with translated():
            held = self._accounts.find_one({"_id": owner})
        if held is not None and "journal" in held:
            held = self.settled(owner)
        return held

    def create_wallet(self, owner: str, currency: str, wallet: Doc) -> Doc:
        """Set the owner's wallet in ``currency`` unless one is (a commit that set it first
        wins); the settled account after."""
        self.settled(owner)
        field = f"wallets.{currency}"
        with translated():
            self._accounts.update_one(
                {"_id": owner, field: {"$exists": False}}, {"$set": {field: wallet}}
            )
        return self.settled(owner)
