"""Instruments, requests, quotes and books for the paper tests (amounts as text: exact)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from common.messages.enums import OptionType
from common.timestamps import format_ts
from paper.account import Book, new_wallet
from paper.documents import Instrument, OrderRequest, OrderType, Position, Quote, Side, Wallet
from paper.positions import average_cost
from paper.rules import AccountRules

T0 = dt.datetime(2026, 12, 6, 9, 41, tzinfo=dt.UTC)
EXPIRY = "2026-12-31"
AT = format_ts(T0)


def dec(value: str | int) -> Decimal:
    return Decimal(str(value))


def clock() -> str:
    """The stores' clock in the tests: always T0 (expiries are judged against it)."""
    return AT


def ts(seconds: float) -> str:
    """The wire timestamp ``seconds`` after T0."""
    return format_ts(T0 + dt.timedelta(seconds=seconds))


def call(strike: int | str, product: str = "NIFTY", expiry: str = EXPIRY) -> Instrument:
    return Instrument(
        product=product, expiry=expiry, strike=dec(strike), option_type=OptionType.CALL
    )


def put(strike: int | str, product: str = "NIFTY", expiry: str = EXPIRY) -> Instrument:
    return Instrument(
        product=product, expiry=expiry, strike=dec(strike), option_type=OptionType.PUT
    )


def future(product: str = "NIFTY", expiry: str = EXPIRY) -> Instrument:
    return Instrument(product=product, expiry=expiry)


def request(
    client_order_id: str,
    instrument: Instrument,
    side: Side | str,
    quantity: int | str,
    *,
    limit: str | None = None,
    currency: str = "INR",
) -> OrderRequest:
    """A MARKET request, or a LIMIT one at ``limit``."""
    return OrderRequest(
        client_order_id=client_order_id, currency=currency, product=instrument.product,
        expiry=instrument.expiry, strike=instrument.strike, option_type=instrument.option_type,
        side=Side(side), quantity=dec(quantity),
        type=OrderType.MARKET if limit is None else OrderType.LIMIT,
        limit_price=None if limit is None else dec(limit),
    )  # fmt: skip


def quote(
    instrument: Instrument,
    bid: str | None,
    ask: str | None,
    underlying: str = "23500",
    at: str = AT,
    **sizes: str,
) -> Quote:
    return Quote(
        instrument=instrument, bid=None if bid is None else dec(bid),
        ask=None if ask is None else dec(ask), underlying=dec(underlying), timestamp=at,
        **{name: dec(size) for name, size in sizes.items()},
    )  # fmt: skip


RULES = AccountRules(start_cash={"INR": dec(1_000_000), "USD": dec(100_000)})
"""No fees, the stated margin rates (15 %, 10 %, 20 %)."""


def rules(**fields: Any) -> AccountRules:
    base: dict[str, Any] = {"start_cash": {"INR": dec(1_000_000), "USD": dec(100_000)}}
    return AccountRules(**{**base, **fields})


def wallet(start: str = "1000000", owner: str = "alice", **fields: str) -> Wallet:
    """A new INR wallet of ``start`` cash, with ``fields`` (cash, margin_used…) as given."""
    fresh = new_wallet(owner, "INR", AccountRules(start_cash={"INR": dec(start)}), AT)
    return Wallet(**{**_fields(fresh), **{k: dec(v) for k, v in fields.items()}})


def position(instrument: Instrument, quantity: str, cost: str, **fields: str) -> Position:
    """A held position of ``quantity`` units whose basis is ``cost``."""
    return Position(
        owner="alice", currency="INR", product=instrument.product, expiry=instrument.expiry,
        strike=instrument.strike, option_type=instrument.option_type, quantity=dec(quantity),
        cost=dec(cost), average_cost=average_cost(dec(cost), dec(quantity)),
        realized_pnl=dec(fields.get("realized_pnl", "0.00")),
        margin=dec(fields.get("margin", "0.00")), updated_at=AT,
    )  # fmt: skip


def book(held: Wallet | None = None, *positions: Position) -> Book:
    return Book(wallet=held or wallet(), positions={p.key: p for p in positions})


def _fields(struct: Any) -> dict[str, Any]:
    return {name: getattr(struct, name) for name in struct.__struct_fields__}


def invariant_holds(held: Wallet, positions: list[Position]) -> bool:
    """``cash + Σ cost = start_cash + realised P&L − fees`` (to the paisa)."""
    costs = sum((p.cost for p in positions), Decimal(0))
    return held.cash + costs == held.start_cash + held.realized_pnl - held.fees
