"""A position after a fill, its realised P&L, and its value at the market.

A position keeps its signed ``quantity`` and signed ``cost`` (its cost basis). With ``S``
the fill's signed notional (``+quantity·price`` for a buy, ``−`` for a sell, rounded to
the minor unit) and ``q``, ``C`` the position before it:

- opening or adding (``q = 0`` or the fill on the side of ``q``): ``C' = C + S``, nothing
  realised;
- reducing or closing by ``n ≤ |q|`` units: the basis of the units closed, ``R = C·n/|q|``
  (rounded; exactly ``C`` when closing), leaves it: ``C' = C − R``, and ``−S − R`` is
  realised (what was received, minus what they cost);
- flipping (``n > |q|``): closing ``|q|`` units at the fill's price, then opening the rest
  with the remainder of ``S``.

Cash moves by ``−S`` (and the fee), so ``cash + C − realised + fees`` never changes: the
account's invariant. ``average_cost = C / q``. At the market, a position is worth
``q·mark`` and its unrealised P&L is ``q·mark − C``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import msgspec

from paper.documents import Instrument, Position, Quote, Side, Wallet
from paper.money import NIL, PRICE_QUANTUM, ZERO, amount, mul, notional, ratio

__all__ = [
    "AccountSummary",
    "FillEffect",
    "PositionMark",
    "apply_fill",
    "flat_position",
    "mark_position",
    "summarise",
]


class FillEffect(NamedTuple):
    """A fill's effect: the position after it, the P&L it realised, the cash it moved before
    the fee (negative for a buy) and its notional (≥ 0)."""

    position: Position
    realised: Decimal
    cash: Decimal
    notional: Decimal


def flat_position(owner: str, currency: str, instrument: Instrument, at: str) -> Position:
    """A position of nothing: what an instrument never traded is."""
    return Position(
        owner=owner, currency=currency, product=instrument.product, expiry=instrument.expiry,
        strike=instrument.strike, option_type=instrument.option_type, quantity=ZERO, cost=NIL,
        average_cost=ZERO, realized_pnl=NIL, margin=NIL, updated_at=at,
    )  # fmt: skip


def average_cost(cost: Decimal, quantity: Decimal) -> Decimal:
    """``cost / quantity`` to :data:`~paper.money.PRICE_QUANTUM` (0 for a flat position)."""
    if quantity == ZERO:
        return ZERO
    return ratio(cost, quantity).quantize(PRICE_QUANTUM)


def apply_fill(
    position: Position, side: Side, quantity: Decimal, price: Decimal, *, at: str
) -> FillEffect:
    """``position`` after ``quantity`` (> 0) units filled on ``side`` at ``price``."""
    held, basis = position.quantity, position.cost
    delta = quantity if side is Side.BUY else -quantity
    value = notional(quantity, price)
    signed = value if side is Side.BUY else -value
    if held == ZERO or (held > ZERO) == (delta > ZERO):
        new_basis, realised = basis + signed, NIL
    elif quantity <= abs(held):
        removed = basis if quantity == abs(held) else amount(ratio(mul(basis, quantity), abs(held)))
        new_basis, realised = basis - removed, -signed - removed
    else:
        closing = notional(abs(held), price)
        closing_signed = closing if side is Side.BUY else -closing
        new_basis, realised = signed - closing_signed, -closing_signed - basis
    held += delta
    after = msgspec.structs.replace(
        position,
        quantity=held,
        cost=new_basis,
        average_cost=average_cost(new_basis, held),
        realized_pnl=position.realized_pnl + realised,
        updated_at=at,
    )
    return FillEffect(after, realised, -signed, value)


def reduces(before: Decimal, after: Decimal) -> bool:
    """Whether a position going from ``before`` to ``after`` units only shrank (no flip)."""
    if before == ZERO:
        return after == ZERO
    return after == ZERO or ((after > ZERO) == (before > ZERO) and abs(after) <= abs(before))


class PositionMark(msgspec.Struct, frozen=True, kw_only=True):
    """A position at the market: ``mark`` (None: no quote, then valued at cost),
    ``market_value = quantity·mark`` and ``unrealized_pnl = market_value − cost``."""

    position: Position
    mark: Decimal | None
    market_value: Decimal
    unrealized_pnl: Decimal


def mark_position(position: Position, quote: Quote | None) -> PositionMark:
    """``position`` marked at ``quote``'s mid (the one side if only one is quoted)."""
    mark = quote.mark if quote is not None else None
    if mark is None:
        return PositionMark(
            position=position, mark=None, market_value=position.cost, unrealized_pnl=NIL
        )
    value = amount(mul(position.quantity, mark))
    return PositionMark(
        position=position, mark=mark, market_value=value, unrealized_pnl=value - position.cost
    )


class AccountSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A wallet with its positions at the market (``GET /api/paper/account``):
    ``equity = cash + Σ market_value``."""

    currency: str
    cash: Decimal
    margin_used: Decimal
    free: Decimal
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal


def summarise(wallet: Wallet, marks: list[PositionMark]) -> AccountSummary:
    """The account of ``wallet`` with its currency's marked positions."""
    value = sum((m.market_value for m in marks), NIL)
    unrealised = sum((m.unrealized_pnl for m in marks), NIL)
    return AccountSummary(
        currency=wallet.currency, cash=wallet.cash, margin_used=wallet.margin_used,
        free=wallet.free, equity=wallet.cash + value, realized_pnl=wallet.realized_pnl,
        unrealized_pnl=unrealised, fees=wallet.fees,
    )  # fmt: skip
