"""The decisions of a paper account: place an order or a basket, fill a resting order,
cancel, settle at expiry. Each takes the state it needs (:class:`Book`) and returns the
:class:`~paper.documents.Change` to write, never mutating what it was given: the repository
calls them inside its transaction.

Placing: a MARKET order fills at once, buys at the ask and sells at the bid (up to the
size shown, the rest cancelled); a LIMIT order fills at once if the market crosses its
limit (a buy when ask ≤ limit, at the ask; a sell when bid ≥ limit, at the bid), else
rests. A basket's legs fill all together or none does: one decision, one reason naming
the leg that failed. Buying power: after the fills (and a resting remainder counted as
filled at its limit), ``cash − margin_used`` must stay ≥ 0, unless every leg only reduces
a position; otherwise the order is REJECTED with a reason giving the amounts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

import msgspec

from paper.checks import check_instant, check_quote, check_requests
from paper.documents import (
    Change,
    Instrument,
    Order,
    OrderRequest,
    OrderState,
    OrderType,
    Position,
    Quote,
    Side,
    Trade,
    TradeKind,
    Wallet,
)
from paper.ids import basket_id, fill_id, order_id, settlement_id
from paper.money import CONTEXT, NIL, PRICE_QUANTUM, ZERO, check_price, mul, ratio
from paper.positions import apply_fill, flat_position, reduces
from paper.rules import AccountRules, intrinsic

__all__ = ["Book", "cancel", "fill_resting", "fills_now", "new_wallet", "place", "settle"]

_replace = msgspec.structs.replace


class Book(msgspec.Struct, frozen=True, kw_only=True):
    """What a decision reads: the owner's wallet in one currency and the positions (by
    ``Instrument.key``) of the instruments it touches; an instrument not there is flat."""

    wallet: Wallet
    positions: Mapping[str, Position] = msgspec.field(default_factory=dict)


def new_wallet(owner: str, currency: str, rules: AccountRules, at: str) -> Wallet:
    """The wallet a first use of ``currency`` creates: the starting cash, nothing else."""
    cash = rules.starting_cash(currency)
    return Wallet(
        owner=owner, currency=currency, start_cash=cash, cash=cash, margin_used=NIL,
        realized_pnl=NIL, fees=NIL, updated_at=at,
    )  # fmt: skip


class _Ledger:
    """The fills of one decision applied in turn (private, mutable, thrown away)."""

    def __init__(self, book: Book, rules: AccountRules, at: str) -> None:
        self.wallet, self.rules, self.at = book.wallet, rules, at
        self.before = dict(book.positions)
        self.positions = dict(book.positions)
        self.cash = self.realised = self.fees = self.premium = self.margin = NIL
        self.trades: list[Trade] = []

    def clone(self) -> _Ledger:
        twin = _Ledger(Book(wallet=self.wallet, positions=self.before), self.rules, self.at)
        twin.positions = dict(self.positions)
        twin.cash, twin.realised, twin.fees = self.cash, self.realised, self.fees
        twin.premium, twin.margin = self.premium, self.margin
        return twin

    def position(self, instrument: Instrument) -> Position:
        found = self.positions.get(instrument.key)
        if found is None:
            found = flat_position(self.wallet.owner, self.wallet.currency, instrument, self.at)
        return found

    def fill(
        self, instrument: Instrument, side: Side, quantity: Decimal, price: Decimal,
        quote: Quote | None, *, charged: bool = True,
    ) -> tuple[Decimal, Decimal, Decimal]:  # fmt: skip
        """Apply one fill; its (notional, fee, realised P&L)."""
        held = self.position(instrument)
        self.before.setdefault(instrument.key, held)
        effect = apply_fill(held, side, quantity, price, at=self.at)
        fee = self.rules.fee(self.wallet.currency, quantity, effect.notional) if charged else NIL
        premium = quote.mark if quote is not None and quote.mark is not None else price
        underlying = quote.underlying if quote is not None else price
        margin = self.rules.margin(instrument, effect.position.quantity, premium, underlying)
        self.positions[instrument.key] = _replace(effect.position, margin=margin)
        self.margin += margin - held.margin
        self.cash += effect.cash - fee
        self.premium -= effect.cash
        self.realised += effect.realised
        self.fees += fee
        return effect.notional, fee, effect.realised

    def wallet_after(self) -> Wallet:
        w = self.wallet
        return _replace(
            w, cash=w.cash + self.cash, margin_used=w.margin_used + self.margin,
            realized_pnl=w.realized_pnl + self.realised, fees=w.fees + self.fees,
            updated_at=self.at,
        )  # fmt: skip

    def shortfall(self, what: str) -> str | None:
        """None when the fills are affordable, else the rejection's reason."""
        after = self.wallet_after()
        if after.free >= ZERO:
            return None
        if all(reduces(self.before[k].quantity, p.quantity) for k, p in self.positions.items()):
            return None
        ccy, need = self.wallet.currency, self.wallet.free - after.free
        return (
            f"insufficient buying power: {what} needs {need} {ccy} (premium {self.premium}, "
            f"fees {self.fees}, margin {self.margin}); {self.wallet.free} {ccy} is free"
        )

    def touched(self) -> tuple[Position, ...]:
        return tuple(p for k, p in self.positions.items() if self.before.get(k) != p)


def _execution(order: Order, quote: Quote) -> tuple[Decimal, Decimal] | str | None:
    """(units, price) that fill now; None when a limit is not crossed or nothing is shown;
    a reason when a market order cannot fill at all."""
    buy = order.side is Side.BUY
    price, size = (quote.ask, quote.ask_size) if buy else (quote.bid, quote.bid_size)
    where = "ask" if buy else "bid"
    if price is None:
        missing = f"no {where} for {order.instrument.label}"
        return missing if order.type is OrderType.MARKET else None
    if order.type is OrderType.LIMIT:
        limit = order.limit_price if order.limit_price is not None else ZERO
        if (buy and price > limit) or (not buy and price < limit):
            return None
    units = order.remaining if size is None else min(order.remaining, size)
    if units <= ZERO:
        empty = f"nothing offered at the {where} for {order.instrument.label}"
        return empty if order.type is OrderType.MARKET else None
    return units, price


def _filled(order: Order, units: Decimal, price: Decimal, quote: Quote, at: str) -> Order:
    """``order`` after ``units`` more filled at ``price`` on ``quote``."""
    filled = order.filled_quantity + units
    paid = CONTEXT.add(mul(order.average_price or ZERO, order.filled_quantity), mul(units, price))
    state = OrderState.FILLED if filled == order.quantity else OrderState.PARTIALLY_FILLED
    reason = None
    if state is OrderState.PARTIALLY_FILLED and order.type is OrderType.MARKET:
        state = OrderState.CANCELLED
        reason = f"remainder cancelled: {filled} of {order.quantity} filled at the quote"
    return _replace(
        order, state=state, reason=reason, filled_quantity=filled,
        average_price=ratio(paid, filled).quantize(PRICE_QUANTUM), market_ts=quote.timestamp,
        updated_at=at,
    )  # fmt: skip


def _trade(
    order: Order, number: int, units: Decimal, price: Decimal, amounts: tuple[Decimal, ...],
    quote: Quote, at: str,
) -> Trade:  # fmt: skip
    notional, fee, realised = amounts
    return Trade(
        id=fill_id(order.id, number), owner=order.owner, kind=TradeKind.FILL, order_id=order.id,
        client_order_id=order.client_order_id, currency=order.currency, product=order.product,
        expiry=order.expiry, strike=order.strike, option_type=order.option_type,
        side=order.side, quantity=units, price=price, notional=notional, fee=fee,
        realized_pnl=realised, market_ts=quote.timestamp, at=at,
    )  # fmt: skip


def _fill_order(
    ledger: _Ledger, order: Order, units: Decimal, price: Decimal, quote: Quote, number: int
) -> Order:
    amounts = ledger.fill(order.instrument, order.side, units, price, quote)
    ledger.trades.append(_trade(order, number, units, price, amounts, quote, ledger.at))
    return _filled(order, units, price, quote, ledger.at)


def _new_order(owner: str, request: OrderRequest, basket: str | None, at: str) -> Order:
    fields = msgspec.structs.asdict(request)
    return Order(
        **fields, id=order_id(owner, request.client_order_id), owner=owner,
        state=OrderState.NEW, reason=None, filled_quantity=ZERO, average_price=None,
        basket_id=basket, market_ts=None, created_at=at, updated_at=at,
    )  # fmt: skip


def _rejected(orders: Sequence[Order], reason: str, at: str) -> Change:
    state = OrderState.REJECTED
    gone = (_replace(o, state=state, reason=reason, updated_at=at) for o in orders)
    return Change(orders=tuple(gone))


_Plan = tuple[Order, Quote, tuple[Decimal, Decimal] | None]


def _plans(
    orders: Sequence[Order], market: Mapping[Instrument, Quote], basket: bool, at: str
) -> list[_Plan] | str:
    """Each order with its quote and what fills now, or the reason to reject them all (an
    expiry before ``at``'s date is past, whatever the product's expiry time)."""
    plans: list[_Plan] = []
    for index, order in enumerate(orders):
        leg = f"leg {index + 1} ({order.instrument.label} {order.side.value}): " if basket else ""
        if order.expiry is not None and order.expiry < at[:10]:
            return f"{leg}{order.instrument.label} expired on {order.expiry}"
        quote = market.get(order.instrument)
        if quote is None:
            return f"{leg}no quote for {order.instrument.label}"
        execution = _execution(order, quote)
        if isinstance(execution, str):
            return leg + execution
        if basket and (execution is None or execution[0] < order.quantity):
            return f"{leg}not all {order.quantity} offered at the quote"
        plans.append((_replace(order, market_ts=quote.timestamp), quote, execution))
    return plans


def place(
    book: Book,
    requests: Sequence[OrderRequest],
    quotes: Sequence[Quote],
    rules: AccountRules,
    *,
    at: str,
) -> Change:
    """Place one order, or a basket (several MARKET legs: all fill or none), for the
    wallet's owner against ``quotes`` (one per instrument; the last one wins): the orders
    as decided (FILLED, PARTIALLY_FILLED, NEW, CANCELLED remainder, or REJECTED with a
    reason), their fills, the positions they change and the wallet after them."""
    requests, at = check_requests(requests), check_instant(at)
    owner = book.wallet.owner
    basket = basket_id(owner, requests[0].client_order_id) if len(requests) > 1 else None
    orders = [_new_order(owner, r, basket, at) for r in requests]
    market = {check_quote(q, f"quotes[{i}]").instrument: q for i, q in enumerate(quotes)}
    plans = _plans(orders, market, basket is not None, at)
    if isinstance(plans, str):
        return _rejected(orders, plans, at)
    ledger = _Ledger(book, rules, at)
    decided = [
        order if execution is None else _fill_order(ledger, order, *execution, quote, 1)
        for order, quote, execution in plans
    ]
    check = ledger.clone()
    for order, (_, quote, _) in zip(decided, plans, strict=True):
        if order.is_open:  # a resting remainder counts as filled at its limit
            limit = order.limit_price or ZERO
            check.fill(order.instrument, order.side, order.remaining, limit, quote)
    reason = check.shortfall("the basket" if basket else "the order")
    if reason is not None:
        return _rejected(orders, reason, at)
    wallet = ledger.wallet_after() if ledger.trades else None  # nothing filled: unchanged
    return Change(
        orders=tuple(decided), trades=tuple(ledger.trades), positions=ledger.touched(),
        wallet=wallet,
    )  # fmt: skip


def fills_now(order: Order, quote: Quote) -> bool:
    """Whether ``quote`` would fill some of the resting ``order`` (open, newer than the
    last quote it saw, crossing its limit with something shown): a cheap test before
    taking the store's write lock."""
    if not order.is_open or quote.instrument != order.instrument:
        return False
    if order.market_ts is not None and quote.timestamp <= order.market_ts:
        return False
    return isinstance(_execution(order, quote), tuple)


def fill_resting(
    book: Book, order: Order, quote: Quote, rules: AccountRules, *, fills: int, at: str
) -> Change | None:
    """A resting LIMIT order against a newer ``quote`` of its instrument: None when nothing
    happens (not open, quote not newer than the order's ``market_ts``, limit not crossed);
    else the order filled (its ``fills + 1``-th fill) or, when it can no longer be paid
    for, REJECTED (earlier fills kept)."""
    at = check_instant(at)
    check_quote(quote)
    if quote.instrument != order.instrument:
        raise ValueError(f"quote of {quote.instrument.label}, order of {order.instrument.label}")
    if not order.is_open or (order.market_ts is not None and quote.timestamp <= order.market_ts):
        return None
    execution = _execution(order, quote)
    if not isinstance(execution, tuple):
        return None
    ledger = _Ledger(book, rules, at)
    filled = _fill_order(ledger, order, *execution, quote, fills + 1)
    reason = ledger.shortfall("the fill")
    if reason is not None:
        gone = _replace(
            order, state=OrderState.REJECTED, reason=reason, market_ts=quote.timestamp,
            updated_at=at,
        )  # fmt: skip
        return Change(orders=(gone,))
    return Change(
        orders=(filled,), trades=tuple(ledger.trades), positions=ledger.touched(),
        wallet=ledger.wallet_after(),
    )  # fmt: skip


def cancel(order: Order, *, at: str) -> Change | None:
    """An open order CANCELLED by its owner (its fills kept); None when it is not open."""
    if not order.is_open:
        return None
    state, reason = OrderState.CANCELLED, "cancelled by its owner"
    return Change(orders=(_replace(order, state=state, reason=reason, updated_at=at),))


def settle(
    book: Book, orders: Sequence[Order], product: str, expiry: str, price: Decimal, *, at: str
) -> Change:
    """Expiry of ``product``'s ``expiry`` at settlement ``price``: every open position of it
    in ``book`` closes at its intrinsic value (a SETTLEMENT trade, no fee), its margin is
    released, and the open ``orders`` of it are CANCELLED."""
    at = check_instant(at)
    check_price(price, "price")
    ledger = _Ledger(book, AccountRules(), at)
    for key, position in sorted(book.positions.items()):
        instrument = position.instrument
        expiring = (instrument.product, instrument.expiry) == (product, expiry)
        if not expiring or position.quantity == ZERO:
            continue
        side = Side.SELL if position.quantity > ZERO else Side.BUY
        value = intrinsic(instrument, price)
        units = abs(position.quantity)
        notional, _, realised = ledger.fill(instrument, side, units, value, None, charged=False)
        ledger.trades.append(Trade(
            id=settlement_id(position.owner, key), owner=position.owner, kind=TradeKind.SETTLEMENT,
            order_id=None, client_order_id=None, currency=position.currency, product=product,
            expiry=expiry, strike=instrument.strike, option_type=instrument.option_type, side=side,
            quantity=units, price=value, notional=notional, fee=NIL, realized_pnl=realised,
            market_ts=at, at=at,
        ))  # fmt: skip
    expired = tuple(
        _replace(o, state=OrderState.CANCELLED, reason="expired", updated_at=at)
        for o in orders
        if o.is_open and (o.product, o.expiry) == (product, expiry)
    )
    if not ledger.trades:
        return Change(orders=expired)
    return Change(
        orders=expired, trades=tuple(ledger.trades), positions=ledger.touched(),
        wallet=ledger.wallet_after(),
    )  # fmt: skip
