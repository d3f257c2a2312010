"""The paper repository on MongoDB: collections ``paper_accounts``, ``paper_orders``,
``paper_trades`` and ``paper_positions`` in the main store's database.

No multi-document transactions (they need a replica set; mongomock and a standalone server
have none): every write of an owner is decided on the owner's account document and
committed by one conditional update of it carrying a journal of the documents to write,
then rolled forward idempotently (``store.paper.journal``). Reads first complete the
owner's pending journal, if any. Documents are stored as their fields (amounts as decimal
strings) with ``_id`` (an order's or trade's id), ``_seq`` (the account's ``seq`` that
wrote them) and ``open`` beside them; none of those is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from pymongo import ASCENDING, MongoClient
from pymongo.database import Database

from common.timestamps import now_ts
from paper import account
from paper.checks import check_currency, check_instant, check_owner, check_quote
from paper.documents import (
    Change,
    Instrument,
    Order,
    OrderRequest,
    OrderState,
    Position,
    Quote,
    Trade,
    TradeKind,
    Wallet,
)
from paper.money import check_price
from paper.rules import AccountRules
from store.mongodb import (
    DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
    DEFAULT_SOCKET_TIMEOUT_MS,
    Doc,
    MongoDatabase,
    translated,
)
from store.paper.documents import (
    TIMED_PAPER_OPS,
    from_doc,
    order_state,
    page,
    placement,
    replay,
    replayed,
    to_doc,
    written,
)
from store.paper.journal import NEWEST_ORDERS, NEWEST_TRADES, Journal, position_id
from store.paper.port import Outcome
from store.sessions import text
from store.timing import timed_store

_HIDDEN = {"_id": False, "_seq": False, "open": False, "key": False}


@timed_store("mongodb", TIMED_PAPER_OPS)
class MongoPaperStore(MongoDatabase):
    """The :class:`~store.paper.port.PaperStore` on a MongoDB database (``store.mongodb``:
    the client, its timeouts, the database's name). ``rules``: the account's (default:
    no starting cash, no fees); ``clock`` gives the wire timestamp of a write given no
    ``at``; ``journal.sleep`` and ``journal.checkpoint`` may be replaced (tests)."""

    def __init__(
        self,
        url: str,
        rules: AccountRules | None = None,
        database: str | None = None,
        *,
        server_selection_timeout_ms: int = DEFAULT_SERVER_SELECTION_TIMEOUT_MS,
        socket_timeout_ms: int = DEFAULT_SOCKET_TIMEOUT_MS,
    ) -> None:
        self.rules = rules if rules is not None else AccountRules()
        super().__init__(
            url,
            database,
            server_selection_timeout_ms=server_selection_timeout_ms,
            socket_timeout_ms=socket_timeout_ms,
            client_class=MongoClient,
        )

    def _bind(self, db: Database[Doc]) -> None:
        self.journal = Journal(db)
        self._orders, self._trades = self.journal.orders, self.journal.trades
        self._positions = self.journal.positions
        if not hasattr(self, "rules"):  # from_client
            self.rules = AccountRules()
        self.clock: Callable[[], str] = now_ts

    def _create_indexes(self) -> None:
        self.journal.create_indexes()

    def recover(self) -> int:
        """Complete every owner's committed journal (a crashed writer's); how many."""
        return self.journal.recover()

    # -- writes ------------------------------------------------------------------------

    def place(
        self,
        owner: str,
        requests: Sequence[OrderRequest],
        quotes: Sequence[Quote],
        *,
        at: str | None = None,
    ) -> Outcome:
        """Place one order or a basket: one commit on the owner's account (idempotent)."""
        owner, requests, quotes, at = placement(owner, requests, quotes, at or self.clock())
        instruments = [request.instrument for request in requests]

        def decide(held: Doc) -> tuple[Change | None, Outcome]:
            with translated():
                found = self._orders.find({"owner": owner, "client_order_id": {
                    "$in": [r.client_order_id for r in requests]}}, _HIDDEN)  # fmt: skip
                by_client = {doc["client_order_id"]: from_doc(Order, doc) for doc in found}
            stored = [by_client.get(r.client_order_id) for r in requests]
            again = replay(owner, requests, stored)
            if again is not None:
                return None, replayed(again, self._fills_of([order.id for order in again]))
            book = self._book(held, owner, requests[0].currency, instruments, at)
            change = account.place(book, requests, quotes, self.rules, at=at)
            return change, written(change)

        return self.journal.transact(owner, decide)

    def fill_resting(self, order_id: str, quote: Quote, *, at: str | None = None) -> Outcome | None:
        """A resting order against ``quote``: read first; only a quote that fills commits
        (decided again on the settled account)."""
        order_id, quote = text(order_id, "order_id"), check_quote(quote)
        at = check_instant(at or self.clock())
        seen = self._find_order(order_id)
        if seen is not None and quote.instrument != seen.instrument:
            raise ValueError(f"quote of {quote.instrument.label}, order of {seen.instrument.label}")
        if seen is None or not account.fills_now(seen, quote):
            return None if seen is None else Outcome(orders=(seen,), trades=(), changed=False)

        def decide(held: Doc) -> tuple[Change | None, Outcome | None]:
            order = self._find_order(order_id)
            if order is None:
                return None, None
            book = self._book(held, order.owner, order.currency, [order.instrument], at)
            fills = len(self._fills_of([order.id]))
            change = account.fill_resting(book, order, quote, self.rules, fills=fills, at=at)
            if change is None:
                return None, Outcome(orders=(order,), trades=(), changed=False)
            return change, written(change)

        return self.journal.transact(seen.owner, decide)

    def cancel(self, owner: str, order_id: str, *, at: str | None = None) -> Order | None:
        """Cancel the owner's open order: one commit on the owner's account."""
        owner, order_id = check_owner(owner), text(order_id, "order_id")
        at = check_instant(at or self.clock())

        def decide(held: Doc) -> tuple[Change | None, Order | None]:
            order = self._find_order(order_id, owner)
            change = None if order is None else account.cancel(order, at=at)
            return change, order if change is None else change.orders[0]

        return self.journal.transact(owner, decide)

    def settle(self, product: str, expiry: str, price: Decimal, *, at: str | None = None) -> int:
        """Expire (product, expiry): one commit per owner and currency holding it."""
        product, expiry = text(product, "product"), text(expiry, "expiry")
        price, at = check_price(price, "price"), check_instant(at or self.clock())
        self.recover()
        spec = {"product": product, "expiry": expiry, "open": True}
        with translated():
            found = [*self._positions.find(spec, {"owner": True, "currency": True}),
                     *self._orders.find(spec, {"owner": True, "currency": True})]  # fmt: skip
        settled = 0
        for owner, currency in sorted({(doc["owner"], doc["currency"]) for doc in found}):
            mine = {**spec, "owner": owner, "currency": currency}

            def decide(held: Doc, mine: Doc = mine, currency: str = currency) -> tuple[
                Change | None, int
            ]:  # fmt: skip
                with translated():
                    held_positions = [from_doc(Position, d) for d in self._positions.find(mine)]
                    orders = [from_doc(Order, d) for d in self._orders.find(mine)]
                wallet = self._wallet_of(held, mine["owner"], currency, at)
                book = account.Book(wallet=wallet, positions={p.key: p for p in held_positions})
                change = account.settle(book, orders, product, expiry, price, at=at)
                count = sum(t.kind is TradeKind.SETTLEMENT for t in change.trades)
                return (change if change.orders or change.trades else None), count

            settled += self.journal.transact(owner, decide)
        return settled

    # -- reads used by the writes ----------------------------------------------------

    def _find_order(self, order_id: str, owner: str | None = None) -> Order | None:
        spec: Doc = {"_id": order_id} if owner is None else {"_id": order_id, "owner": owner}
        with translated():
            doc = self._orders.find_one(spec, _HIDDEN)
        return None if doc is None else from_doc(Order, doc)

    def _fills_of(self, order_ids: Sequence[str]) -> list[Trade]:
        with translated():
            found = self._trades.find(
                {"order_id": {"$in": list(order_ids)}}, _HIDDEN, sort=[("id", ASCENDING)]
            )
            return [from_doc(Trade, doc) for doc in found]

    def _wallet_of(self, held: Doc, owner: str, currency: str, at: str) -> Wallet:
        stored = held.get("wallets", {}).get(currency)
        if stored is None:
            return account.new_wallet(owner, currency, self.rules, at)
        return from_doc(Wallet, stored)

    def _book(
        self, held: Doc, owner: str, currency: str, instruments: Sequence[Instrument], at: str
    ) -> account.Book:
        ids = [position_id(owner, instrument.key) for instrument in instruments]
        with translated():
            found = [from_doc(Position, d) for d in self._positions.find({"_id": {"$in": ids}})]
        wallet = self._wallet_of(held, owner, currency, at)
        return account.Book(wallet=wallet, positions={p.key: p for p in found})

    # -- reads -----------------------------------------------------------------------

    def order(self, owner: str, order_id: str) -> Order | None:
        """The owner's order ``order_id``, or ``None``."""
        owner, order_id = check_owner(owner), text(order_id, "order_id")
        self.journal.pending(owner)
        return self._find_order(order_id, owner)

    def orders(
        self,
        owner: str,
        state: OrderState | None = None,
        *,
        limit: int = 100,
        before: tuple[str, str] | None = None,
    ) -> list[Order]:
        """The owner's orders (of ``state``), newest first, after the cursor ``before``."""
        owner, wanted = check_owner(owner), order_state(state)
        limit, cursor = page(limit, before)
        spec: Doc = {"owner": owner}
        if wanted is not None:
            spec["state"] = wanted.value
        if cursor is not None:
            spec["$or"] = _before("created_at", cursor)
        self.journal.pending(owner)
        with translated():
            found = self._orders.find(spec, _HIDDEN, sort=NEWEST_ORDERS, limit=limit)
            return [from_doc(Order, doc) for doc in found]

    def positions(self, owner: str, *, include_closed: bool = False) -> list[Position]:
        """The owner's positions by instrument key (open ones unless ``include_closed``)."""
        owner = check_owner(owner)
        spec: Doc = {"owner": owner} if include_closed else {"owner": owner, "open": True}
        self.journal.pending(owner)
        with translated():
            found = self._positions.find(spec, _HIDDEN, sort=[("key", ASCENDING)])
            return [from_doc(Position, doc) for doc in found]

    def wallet(self, owner: str, currency: str, *, at: str | None = None) -> Wallet:
        """The owner's wallet in ``currency``, created with the starting cash on first use
        (a conditional ``$set`` that a commit setting it first makes a no-op)."""
        owner, currency = check_owner(owner), check_currency(currency)
        held = self.journal.settled(owner)
        if currency not in held.get("wallets", {}):
            fresh = account.new_wallet(
                owner, currency, self.rules, check_instant(at or self.clock())
            )
            held = self.journal.create_wallet(owner, currency, to_doc(fresh))
        return from_doc(Wallet, held["wallets"][currency])

    def wallets(self, owner: str) -> list[Wallet]:
        """The owner's wallets by currency."""
        owner = check_owner(owner)
        stored = (self.journal.pending(owner) or {}).get("wallets", {})
        return [from_doc(Wallet, stored[currency]) for currency in sorted(stored)]

    def trades(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[Trade]:
        """The owner's trades newest first, after the cursor ``before``."""
        owner = check_owner(owner)
        limit, cursor = page(limit, before)
        spec: Doc = {"owner": owner}
        if cursor is not None:
            spec["$or"] = _before("at", cursor)
        self.journal.pending(owner)
        with translated():
            found = self._trades.find(spec, _HIDDEN, sort=NEWEST_TRADES, limit=limit)
            return [from_doc(Trade, doc) for doc in found]

    def open_limit_orders(self, product: str) -> list[Order]:
        """Every owner's resting orders of ``product``, oldest first (pending journals
        completed first)."""
        product = text(product, "product")
        self.recover()
        with translated():
            found = self._orders.find(
                {"product": product, "open": True}, _HIDDEN,
                sort=[("created_at", ASCENDING), ("id", ASCENDING)],
            )  # fmt: skip
            return [from_doc(Order, doc) for doc in found]


def _before(field: str, cursor: tuple[str, str]) -> list[Doc]:
    """Rows strictly after ``cursor`` = (instant, id) in newest-first order."""
    instant, row_id = cursor
    return [{field: {"$lt": instant}}, {field: instant, "id": {"$lt": row_id}}]
