"""The paper repository on the SQLite file of the main store (``store.sqlite``).

Tables ``paper_orders``, ``paper_trades``, ``paper_positions`` and ``paper_wallets`` beside
the main store's, through the same connection handling (``store.sqlitedb``). Each write
is one ``BEGIN IMMEDIATE`` transaction: it holds the file's write lock from its first read,
so what the rules read (the client order ids, the wallet, the positions) and what they
write are one step, and a second placement, in any thread or process, waits for the
first to commit before it reads the cash. A crash before ``COMMIT`` leaves nothing of the
write (the WAL's uncommitted frames are discarded); after it, everything.

The steps of a write, named to :attr:`SqlitePaperStore.checkpoint` (tests kill the
process there): ``before_order``, ``after_order``, ``after_trades``, ``before_commit``
(inside the transaction), ``after_commit``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

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
from store.paper.documents import (
    TIMED_PAPER_OPS,
    Checkpoint,
    decode,
    encode,
    no_checkpoint,
    order_state,
    page,
    placement,
    replay,
    replayed,
    written,
)
from store.paper.port import Outcome
from store.sessions import text
from store.sqlitedb import DEFAULT_BUSY_TIMEOUT_MS, SqliteDatabase
from store.timing import timed_store

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS paper_orders (
        id TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, client_order_id TEXT NOT NULL,
        product TEXT NOT NULL, expiry TEXT, state TEXT NOT NULL, open INTEGER NOT NULL,
        created_at TEXT NOT NULL, doc TEXT NOT NULL)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS paper_orders_client
        ON paper_orders (owner, client_order_id)""",
    "CREATE INDEX IF NOT EXISTS paper_orders_owner ON paper_orders (owner, created_at, id)",
    """CREATE INDEX IF NOT EXISTS paper_orders_state
        ON paper_orders (owner, state, created_at, id)""",
    "CREATE INDEX IF NOT EXISTS paper_orders_open ON paper_orders (product, open, created_at, id)",
    """CREATE TABLE IF NOT EXISTS paper_trades (
        id TEXT NOT NULL PRIMARY KEY, owner TEXT NOT NULL, order_id TEXT, at TEXT NOT NULL,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS paper_trades_owner ON paper_trades (owner, at, id)",
    "CREATE INDEX IF NOT EXISTS paper_trades_order ON paper_trades (order_id)",
    """CREATE TABLE IF NOT EXISTS paper_positions (
        owner TEXT NOT NULL, key TEXT NOT NULL, currency TEXT NOT NULL, product TEXT NOT NULL,
        expiry TEXT, open INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (owner, key))""",
    """CREATE INDEX IF NOT EXISTS paper_positions_expiry
        ON paper_positions (product, expiry, open)""",
    """CREATE TABLE IF NOT EXISTS paper_wallets (
        owner TEXT NOT NULL, currency TEXT NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (owner, currency))""",
)
_UPSERT_ORDER = (
    "INSERT INTO paper_orders (id, owner, client_order_id, product, expiry, state, open,"
    " created_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (id) DO UPDATE SET state = excluded.state, open = excluded.open,"
    " doc = excluded.doc"
)
_INSERT_TRADE = "INSERT INTO paper_trades (id, owner, order_id, at, doc) VALUES (?, ?, ?, ?, ?)"
_UPSERT_POSITION = (
    "INSERT INTO paper_positions (owner, key, currency, product, expiry, open, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (owner, key) DO UPDATE SET open = excluded.open, doc = excluded.doc"
)
_UPSERT_WALLET = (
    "INSERT INTO paper_wallets (owner, currency, doc) VALUES (?, ?, ?)"
    " ON CONFLICT (owner, currency) DO UPDATE SET doc = excluded.doc"
)
_NEW_WALLET = (
    "INSERT INTO paper_wallets (owner, currency, doc) VALUES (?, ?, ?)"
    " ON CONFLICT (owner, currency) DO NOTHING"
)
_NEWEST = " ORDER BY created_at DESC, id DESC LIMIT ?"
_BEFORE = " AND (created_at, id) < (?, ?)"
ORDERS_SQL = "SELECT doc FROM paper_orders WHERE owner = ?"
ORDERS_IN_STATE_SQL = "SELECT doc FROM paper_orders WHERE owner = ? AND state = ?"
OPEN_ORDERS_SQL = (
    "SELECT doc FROM paper_orders WHERE product = ? AND open = 1 ORDER BY created_at, id"
)
TRADES_SQL = "SELECT doc FROM paper_trades WHERE owner = ? ORDER BY at DESC, id DESC LIMIT ?"
TRADES_BEFORE_SQL = (
    "SELECT doc FROM paper_trades WHERE owner = ? AND (at, id) < (?, ?)"
    " ORDER BY at DESC, id DESC LIMIT ?"
)
EXPIRING_SQL = "SELECT doc FROM paper_positions WHERE product = ? AND expiry = ? AND open = 1"


@timed_store("sqlite", TIMED_PAPER_OPS)
class SqlitePaperStore(SqliteDatabase):
    """The :class:`~store.paper.port.PaperStore` on an SQLite file (the main store's, or
    any). ``rules``: the account's (default: no starting cash, no fees); ``clock``: the
    wire timestamp of a write given no ``at``; ``busy_timeout_ms``: how long a write waits
    for another writer's lock before ``StoreUnavailable``."""

    schema = _SCHEMA

    def __init__(
        self,
        path: str | os.PathLike[str],
        rules: AccountRules | None = None,
        *,
        busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
        clock: Callable[[], str] = now_ts,
    ) -> None:
        self.rules = rules if rules is not None else AccountRules()
        self.clock = clock
        self.checkpoint: Checkpoint = no_checkpoint
        super().__init__(path, busy_timeout_ms=busy_timeout_ms)

    # -- writes ------------------------------------------------------------------------

    def place(
        self,
        owner: str,
        requests: Sequence[OrderRequest],
        quotes: Sequence[Quote],
        *,
        at: str | None = None,
    ) -> Outcome:
        """Place one order or a basket in one write transaction (idempotent)."""
        owner, requests, quotes, at = placement(owner, requests, quotes, at or self.clock())
        instruments = [request.instrument for request in requests]
        with self._write() as conn:
            stored = [self._order_of(conn, owner, r.client_order_id) for r in requests]
            again = replay(owner, requests, stored)
            if again is not None:
                return replayed(again, self._fills_of(conn, [order.id for order in again]))
            book = self._book(conn, owner, requests[0].currency, instruments, at)
            change = account.place(book, requests, quotes, self.rules, at=at)
            self._apply(conn, change)
        self.checkpoint("after_commit")
        return written(change)

    def fill_resting(self, order_id: str, quote: Quote, *, at: str | None = None) -> Outcome | None:
        """A resting order against ``quote``: read first without the lock; only a quote that
        fills takes it (and is decided again inside)."""
        order_id, quote = text(order_id, "order_id"), check_quote(quote)
        at = check_instant(at or self.clock())
        rows = self._rows("SELECT doc FROM paper_orders WHERE id = ?", (order_id,))
        order = decode(Order, rows[0][0]) if rows else None
        if order is not None and quote.instrument != order.instrument:
            raise ValueError(
                f"quote of {quote.instrument.label}, order of {order.instrument.label}"
            )
        if order is None or not account.fills_now(order, quote):
            return None if order is None else Outcome(orders=(order,), trades=(), changed=False)
        with self._write() as conn:
            order = self._order_by_id(conn, order_id)
            if order is None:
                return None
            book = self._book(conn, order.owner, order.currency, [order.instrument], at)
            fills = len(self._fills_of(conn, [order.id]))
            change = account.fill_resting(book, order, quote, self.rules, fills=fills, at=at)
            if change is None:
                return Outcome(orders=(order,), trades=(), changed=False)
            self._apply(conn, change)
        self.checkpoint("after_commit")
        return written(change)

    def cancel(self, owner: str, order_id: str, *, at: str | None = None) -> Order | None:
        """Cancel the owner's open order (one write transaction)."""
        owner, order_id = check_owner(owner), text(order_id, "order_id")
        at = check_instant(at or self.clock())
        with self._write() as conn:
            rows = conn.execute(
                "SELECT doc FROM paper_orders WHERE id = ? AND owner = ?", (order_id, owner)
            ).fetchall()
            if not rows:
                return None
            order = decode(Order, rows[0][0])
            change = account.cancel(order, at=at)
            if change is None:
                return order
            self._apply(conn, change)
        self.checkpoint("after_commit")
        return change.orders[0]

    def settle(self, product: str, expiry: str, price: Decimal, *, at: str | None = None) -> int:
        """Expire (product, expiry) for every owner in one write transaction."""
        product, expiry = text(product, "product"), text(expiry, "expiry")
        price, at = check_price(price, "price"), check_instant(at or self.clock())
        settled = 0
        with self._write() as conn:
            held = [decode(Position, d) for (d,) in conn.execute(EXPIRING_SQL, (product, expiry))]
            resting = [
                order
                for (d,) in conn.execute(OPEN_ORDERS_SQL, (product,))
                if (order := decode(Order, d)).expiry == expiry
            ]
            accounts = {(p.owner, p.currency) for p in held} | {
                (o.owner, o.currency) for o in resting
            }
            for owner, currency in sorted(accounts):
                mine = {p.key: p for p in held if (p.owner, p.currency) == (owner, currency)}
                wallet = self._wallet_in(conn, owner, currency, at)
                orders = [o for o in resting if (o.owner, o.currency) == (owner, currency)]
                book = account.Book(wallet=wallet, positions=mine)
                change = account.settle(book, orders, product, expiry, price, at=at)
                self._apply(conn, change)
                settled += sum(t.kind is TradeKind.SETTLEMENT for t in change.trades)
        self.checkpoint("after_commit")
        return settled

    def _apply(self, conn: sqlite3.Connection, change: Change) -> None:
        """Write a decision's change (inside the caller's transaction)."""
        self.checkpoint("before_order")
        conn.executemany(_UPSERT_ORDER, [_order_row(order) for order in change.orders])
        self.checkpoint("after_order")
        trades = [(t.id, t.owner, t.order_id, t.at, encode(t)) for t in change.trades]
        conn.executemany(_INSERT_TRADE, trades)
        self.checkpoint("after_trades")
        conn.executemany(_UPSERT_POSITION, [_position_row(p) for p in change.positions])
        if change.wallet is not None:
            wallet = change.wallet
            conn.execute(_UPSERT_WALLET, (wallet.owner, wallet.currency, encode(wallet)))
        self.checkpoint("before_commit")

    # -- reads inside a transaction --------------------------------------------------

    def _order_of(self, conn: sqlite3.Connection, owner: str, client_order_id: str) -> Order | None:
        sql = "SELECT doc FROM paper_orders WHERE owner = ? AND client_order_id = ?"
        rows = conn.execute(sql, (owner, client_order_id)).fetchall()
        return decode(Order, rows[0][0]) if rows else None

    def _order_by_id(self, conn: sqlite3.Connection, order_id: str) -> Order | None:
        rows = conn.execute("SELECT doc FROM paper_orders WHERE id = ?", (order_id,)).fetchall()
        return decode(Order, rows[0][0]) if rows else None

    def _fills_of(self, conn: sqlite3.Connection, order_ids: Sequence[str]) -> list[Trade]:
        marks = ", ".join("?" * len(order_ids))
        sql = f"SELECT doc FROM paper_trades WHERE order_id IN ({marks}) ORDER BY id"
        return [decode(Trade, doc) for (doc,) in conn.execute(sql, tuple(order_ids))]

    def _wallet_in(self, conn: sqlite3.Connection, owner: str, currency: str, at: str) -> Wallet:
        sql = "SELECT doc FROM paper_wallets WHERE owner = ? AND currency = ?"
        rows = conn.execute(sql, (owner, currency)).fetchall()
        if rows:
            return decode(Wallet, rows[0][0])
        return account.new_wallet(owner, currency, self.rules, at)

    def _book(
        self,
        conn: sqlite3.Connection,
        owner: str,
        currency: str,
        instruments: Iterable[Instrument],
        at: str,
    ) -> account.Book:
        keys = sorted({instrument.key for instrument in instruments})
        marks = ", ".join("?" * len(keys))
        sql = f"SELECT doc FROM paper_positions WHERE owner = ? AND key IN ({marks})"
        held = [decode(Position, doc) for (doc,) in conn.execute(sql, (owner, *keys))]
        wallet = self._wallet_in(conn, owner, currency, at)
        return account.Book(wallet=wallet, positions={p.key: p for p in held})

    # -- reads -----------------------------------------------------------------------

    def order(self, owner: str, order_id: str) -> Order | None:
        """The owner's order ``order_id``, or ``None``."""
        sql = "SELECT doc FROM paper_orders WHERE id = ? AND owner = ?"
        rows = self._rows(sql, (text(order_id, "order_id"), check_owner(owner)))
        return decode(Order, rows[0][0]) if rows else None

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
        sql, params = ORDERS_SQL, [owner]
        if wanted is not None:
            sql, params = ORDERS_IN_STATE_SQL, [owner, wanted.value]
        if cursor is not None:
            sql, params = sql + _BEFORE, [*params, *cursor]
        return [decode(Order, doc) for (doc,) in self._rows(sql + _NEWEST, (*params, limit))]

    def positions(self, owner: str, *, include_closed: bool = False) -> list[Position]:
        """The owner's positions by instrument key (open ones unless ``include_closed``)."""
        sql = "SELECT doc FROM paper_positions WHERE owner = ?"
        sql += " ORDER BY key" if include_closed else " AND open = 1 ORDER BY key"
        return [decode(Position, doc) for (doc,) in self._rows(sql, (check_owner(owner),))]

    def wallet(self, owner: str, currency: str, *, at: str | None = None) -> Wallet:
        """The owner's wallet in ``currency``, created with the starting cash on first use."""
        owner, currency = check_owner(owner), check_currency(currency)
        sql = "SELECT doc FROM paper_wallets WHERE owner = ? AND currency = ?"
        rows = self._rows(sql, (owner, currency))
        if not rows:
            fresh = account.new_wallet(
                owner, currency, self.rules, check_instant(at or self.clock())
            )
            with self._write() as conn:
                conn.execute(_NEW_WALLET, (owner, currency, encode(fresh)))
            rows = self._rows(sql, (owner, currency))
        return decode(Wallet, rows[0][0])

    def wallets(self, owner: str) -> list[Wallet]:
        """The owner's wallets by currency."""
        sql = "SELECT doc FROM paper_wallets WHERE owner = ? ORDER BY currency"
        return [decode(Wallet, doc) for (doc,) in self._rows(sql, (check_owner(owner),))]

    def trades(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[Trade]:
        """The owner's trades newest first, after the cursor ``before``."""
        owner = check_owner(owner)
        limit, cursor = page(limit, before)
        if cursor is None:
            rows = self._rows(TRADES_SQL, (owner, limit))
        else:
            rows = self._rows(TRADES_BEFORE_SQL, (owner, *cursor, limit))
        return [decode(Trade, doc) for (doc,) in rows]

    def open_limit_orders(self, product: str) -> list[Order]:
        """Every owner's resting orders of ``product``, oldest first."""
        rows = self._rows(OPEN_ORDERS_SQL, (text(product, "product"),))
        return [decode(Order, doc) for (doc,) in rows]


def _order_row(order: Order) -> tuple[Any, ...]:
    return (
        order.id, order.owner, order.client_order_id, order.product, order.expiry,
        order.state.value, int(order.is_open), order.created_at, encode(order),
    )  # fmt: skip


def _position_row(position: Position) -> tuple[Any, ...]:
    return (
        position.owner, position.key, position.currency, position.product, position.expiry,
        int(position.quantity != 0), encode(position),
    )  # fmt: skip
