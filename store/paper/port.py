"""The paper trading repository port: orders, fills, positions and wallets, changed together.

Every write is one unit of work: it reads what the decision needs (the owner's wallet in
the currency, the positions of the instruments), lets the pure rules of ``paper.account``
decide, and writes the orders, trades, positions and wallet they return together or not
at all. Two writes of one owner never interleave, so cash is never spent twice.

Placement is idempotent on (owner, ``client_order_id``): the same id again returns the
order as stored (``Outcome.changed`` False), under any concurrency, and never fills twice
(a unique index on the pair is the last line). Instants are wire timestamps
(``2026-11-21T09:41:00.123Z``); ``at`` defaults to the store's clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

import msgspec

from paper.documents import Order, OrderRequest, OrderState, Position, Quote, Trade, Wallet
from paper.rules import AccountRules
from store.port import StoreError

__all__ = ["MAX_PAGE", "ClientOrderIdConflict", "Outcome", "PaperStore"]

MAX_PAGE = 500
"""Upper bound of ``limit`` in :meth:`PaperStore.orders` and :meth:`PaperStore.trades`."""


class ClientOrderIdConflict(StoreError):  # noqa: N818  # the port's names read as states
    """A basket repeats client order ids that are stored, but not as this basket's legs
    (some of them only, or another placement's): nothing was written (409)."""


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a write did: the orders as they now are, the trades (a placement: all of its
    orders' fills; a resting fill: the new one), and whether anything changed (False: a
    repeated placement, or a quote that filled nothing)."""

    orders: tuple[Order, ...]
    trades: tuple[Trade, ...]
    changed: bool
    positions: tuple[Position, ...] = ()
    """The positions the write changed, as it left them (empty when nothing changed)."""
    wallet: Wallet | None = None
    """The wallet the write changed, as it left it (None: unchanged)."""

    def updates(self) -> list[tuple[str, msgspec.Struct]]:
        """The owner's Socket.IO events of this write: ``order_update`` for each order,
        ``position_update`` for each position it changed, ``account_update`` for the
        wallet it changed."""
        events: list[tuple[str, msgspec.Struct]] = [("order_update", o) for o in self.orders]
        events += [("position_update", p) for p in self.positions]
        if self.wallet is not None:
            events.append(("account_update", self.wallet))
        return events


@runtime_checkable
class PaperStore(Protocol):
    """Repository of paper accounts (SQLite, MongoDB); ``rules`` are the account's (the
    ``PAPER_*`` settings). Every method is synchronous and may raise ``StoreUnavailable``
    (transient: retry; a write either happened whole or not at all) or ``StoreError``;
    invalid arguments raise ``ValueError`` (``paper.checks.OrderError`` naming the field)
    before anything is written."""

    rules: AccountRules

    def place(
        self,
        owner: str,
        requests: Sequence[OrderRequest],
        quotes: Sequence[Quote],
        *,
        at: str | None = None,
    ) -> Outcome:
        """Place one order or a basket (``paper.account.place``) against ``quotes``, the
        live market of its instruments, in one transaction; an (owner, client order id)
        stored already returns that order (and its fills) as it is."""
        ...

    def fill_resting(self, order_id: str, quote: Quote, *, at: str | None = None) -> Outcome | None:
        """A resting limit order against a quote of its instrument (the workers): filled,
        or REJECTED when no longer affordable, or unchanged; idempotent per order and
        market timestamp (a quote not newer than the last one it saw fills nothing).
        ``None``: no such order."""
        ...

    def cancel(self, owner: str, order_id: str, *, at: str | None = None) -> Order | None:
        """Cancel the owner's open order; the order as it now is (unchanged if it was no
        longer open), or ``None``: no such order of this owner."""
        ...

    def settle(self, product: str, expiry: str, price: Decimal, *, at: str | None = None) -> int:
        """Expire ``product``'s ``expiry`` at settlement ``price``: every owner's open
        positions of it close at intrinsic value, their open orders are cancelled, each
        owner in one transaction; how many positions were settled (0 when done before)."""
        ...

    def order(self, owner: str, order_id: str) -> Order | None:
        """The owner's order ``order_id``, or ``None``."""
        ...

    def orders(
        self,
        owner: str,
        state: OrderState | None = None,
        *,
        limit: int = 100,
        before: tuple[str, str] | None = None,
    ) -> list[Order]:
        """The owner's orders (of ``state`` only, when given), newest first by
        (``created_at``, ``id``); ``before=(created_at, id)`` of a page's last order gives
        the next page."""
        ...

    def positions(self, owner: str, *, include_closed: bool = False) -> list[Position]:
        """The owner's positions (open ones, or every one ever held), by instrument key."""
        ...

    def wallet(self, owner: str, currency: str, *, at: str | None = None) -> Wallet:
        """The owner's wallet in ``currency``, created with the starting cash on first use."""
        ...

    def wallets(self, owner: str) -> list[Wallet]:
        """The owner's wallets, by currency (none before the first use)."""
        ...

    def trades(
        self, owner: str, *, limit: int = 50, before: tuple[str, str] | None = None
    ) -> list[Trade]:
        """The owner's fills and settlements, newest first by (``at``, ``id``);
        ``before=(at, id)`` of a page's last trade gives the next page (keyset)."""
        ...

    def open_limit_orders(self, product: str) -> list[Order]:
        """Every owner's resting orders of ``product`` (NEW or PARTIALLY_FILLED), oldest
        first: what the workers try against each new chain."""
        ...

    def ping(self) -> None:
        """Return if the store answers; raise ``StoreUnavailable`` otherwise."""
        ...

    def close(self) -> None:
        """Release connections; the repository must not be used afterwards."""
        ...
