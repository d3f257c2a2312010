"""The paper account's documents: orders, positions, wallets, trades, quotes (msgspec Structs).

Every document is immutable: a rule takes documents and returns new ones. Money, prices
and quantities are ``Decimal`` (``paper.money``); instants are wire timestamps
(``2026-11-21T09:41:00.123Z``), which sort as text in time order. An instrument is a
product's option (``option_type`` CALL or PUT, with an ``expiry`` and a ``strike``) or its
underlying (``option_type`` None: a future of ``expiry``, or the spot when ``expiry`` is
None too). Quantities are in units of the underlying; lot sizes are a validation rule of
the service, not a unit.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from common.messages.enums import OptionType
from paper.money import CONTEXT, ZERO

__all__ = [
    "OPEN_STATES",
    "Change",
    "Instrument",
    "Order",
    "OrderRequest",
    "OrderState",
    "OrderType",
    "Position",
    "Quote",
    "Side",
    "Trade",
    "TradeKind",
    "Wallet",
]


class Side(StrEnum):
    """BUY adds units (pays the premium); SELL removes them (receives it)."""

    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    """MARKET fills at once at the quote (buys at the ask, sells at the bid); LIMIT fills
    when the market crosses its ``limit_price``, at that price or better, else rests."""

    MARKET = "MARKET"
    LIMIT = "LIMIT"


class OrderState(StrEnum):
    """NEW: resting, nothing filled; PARTIALLY_FILLED: resting with part filled; FILLED;
    CANCELLED (by its owner, at expiry, or a market order's unfilled remainder); REJECTED
    (``reason`` says why; a fill before the rejection is kept)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


OPEN_STATES = frozenset({OrderState.NEW, OrderState.PARTIALLY_FILLED})
"""States of an order that may still fill (or be cancelled)."""


class TradeKind(StrEnum):
    """FILL: an order filled (part of) its quantity; SETTLEMENT: a position closed at expiry
    at its intrinsic value (no order, no fee)."""

    FILL = "FILL"
    SETTLEMENT = "SETTLEMENT"


class Instrument(msgspec.Struct, frozen=True, kw_only=True):
    """What is traded: an option (CALL/PUT with expiry and strike) or the underlying."""

    product: str
    expiry: str | None = None
    strike: Decimal | None = None
    option_type: OptionType | None = None

    @property
    def key(self) -> str:
        """``product|expiry|strike|CALL`` (strike normalised: 24000.0 and 24000 are one
        instrument; ``UNDERLYING`` for the underlying): a position's identity."""
        strike = "" if self.strike is None else format(self.strike.normalize(CONTEXT), "f")
        kind = self.option_type.value if self.option_type is not None else "UNDERLYING"
        return f"{self.product}|{self.expiry or ''}|{strike}|{kind}"

    @property
    def label(self) -> str:
        """How a reason names it: ``NIFTY 2026-12-31 24000 CALL``, ``NIFTY 2026-12-31
        future``, ``NIFTY underlying``."""
        if self.option_type is None:
            kind = f"{self.expiry} future" if self.expiry else "underlying"
            return f"{self.product} {kind}"
        strike = format(self.strike.normalize(CONTEXT), "f") if self.strike is not None else "?"
        return f"{self.product} {self.expiry} {strike} {self.option_type.value}"


class _Instrumented(msgspec.Struct, frozen=True, kw_only=True):
    """A document about one instrument, its fields inline (as the API shows them)."""

    product: str
    expiry: str | None = None
    strike: Decimal | None = None
    option_type: OptionType | None = None

    @property
    def instrument(self) -> Instrument:
        return Instrument(
            product=self.product, expiry=self.expiry, strike=self.strike,
            option_type=self.option_type,
        )  # fmt: skip


class OrderRequest(_Instrumented, frozen=True, kw_only=True):
    """What a user asks for (``paper.orders.check_request`` validates it). ``currency`` is
    the product's quote currency (the service's conventions); ``client_order_id`` makes
    the placement idempotent per owner."""

    client_order_id: str
    currency: str
    side: Side
    quantity: Decimal
    type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None


class Order(_Instrumented, frozen=True, kw_only=True):
    """An order as stored. ``filled_quantity`` of ``quantity`` has filled at
    ``average_price`` (the fills' weighted mean, to 8 places; None before any fill);
    ``market_ts`` is the timestamp of the last quote it was decided on (a resting order
    fills only on a newer one)."""

    id: str
    owner: str
    client_order_id: str
    currency: str
    side: Side
    quantity: Decimal
    type: OrderType
    limit_price: Decimal | None
    state: OrderState
    reason: str | None
    filled_quantity: Decimal
    average_price: Decimal | None
    basket_id: str | None
    market_ts: str | None
    created_at: str
    updated_at: str

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def remaining(self) -> Decimal:
        """Units still to fill (0 once the order is no longer open)."""
        return self.quantity - self.filled_quantity if self.is_open else ZERO


class Position(_Instrumented, frozen=True, kw_only=True):
    """One owner's holding of one instrument. ``quantity`` is signed (negative: short);
    ``cost`` is its signed cost basis in the currency (what opening it paid, negative for
    a short's premium received), ``average_cost`` = cost / quantity to 8 places (0 when
    flat); ``realized_pnl`` accumulates over its life; ``margin`` is what it blocks."""

    owner: str
    currency: str
    quantity: Decimal
    cost: Decimal
    average_cost: Decimal
    realized_pnl: Decimal
    margin: Decimal
    updated_at: str

    @property
    def key(self) -> str:
        return self.instrument.key


class Wallet(msgspec.Struct, frozen=True, kw_only=True):
    """One owner's cash in one currency. ``cash`` moves with premiums, fees and
    settlements; ``margin_used`` is the sum of the positions' margins; ``realized_pnl``
    and ``fees`` accumulate. ``cash + Σ position cost = start_cash + realized_pnl − fees``
    at all times."""

    owner: str
    currency: str
    start_cash: Decimal
    cash: Decimal
    margin_used: Decimal
    realized_pnl: Decimal
    fees: Decimal
    updated_at: str

    @property
    def free(self) -> Decimal:
        """Cash not blocked as margin: the buying power."""
        return self.cash - self.margin_used


class Trade(_Instrumented, frozen=True, kw_only=True):
    """A fill (or a settlement): ``quantity`` units at ``price``; ``notional`` the cash it
    moved (rounded to the minor unit, before the fee); ``realized_pnl`` what it realised;
    ``market_ts`` the quote's (or settlement's) instant, ``at`` when it was recorded."""

    id: str
    owner: str
    kind: TradeKind
    order_id: str | None
    client_order_id: str | None
    currency: str
    side: Side
    quantity: Decimal
    price: Decimal
    notional: Decimal
    fee: Decimal
    realized_pnl: Decimal
    market_ts: str
    at: str


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """The market of one instrument at ``timestamp``: best ``bid`` and ``ask`` (None: no
    quote on that side) and the ``underlying`` price (spot or forward) that margins are
    computed on; ``bid_size``/``ask_size`` the units available there (None: unlimited, as
    the chains give no sizes)."""

    instrument: Instrument
    bid: Decimal | None
    ask: Decimal | None
    underlying: Decimal
    timestamp: str
    bid_size: Decimal | None = None
    ask_size: Decimal | None = None

    @property
    def mark(self) -> Decimal | None:
        """The mid when both sides are quoted, else the one side, else None."""
        if self.bid is not None and self.ask is not None:
            return (self.bid + self.ask) / 2
        return self.bid if self.bid is not None else self.ask


class Change(msgspec.Struct, frozen=True, kw_only=True):
    """What one decision changes, for the repository to write in one transaction: the new
    or changed orders, the new trades, the changed positions and the new wallet (None:
    unchanged)."""

    orders: tuple[Order, ...] = ()
    trades: tuple[Trade, ...] = ()
    positions: tuple[Position, ...] = ()
    wallet: Wallet | None = None
