"""The decisions, by hand-computed examples: market and limit orders, partial fills, buying
power rejections and the risk-reducing exemption, baskets all-or-none, resting fills,
cancels and settlement at expiry; the account's invariant after each."""

from __future__ import annotations

from decimal import Decimal

import pytest

from paper import account
from paper.account import Book, fill_resting, fills_now, place, settle
from paper.checks import OrderError
from paper.documents import Change, Order, OrderRequest, OrderState, Quote, Side, TradeKind
from paper.ids import basket_id, order_id
from tests.unit.paper.factories import (
    AT,
    RULES,
    book,
    call,
    dec,
    future,
    invariant_holds,
    position,
    put,
    quote,
    request,
    rules,
    ts,
    wallet,
)

CALL = call(24000)
PUT = put(23000)
CALL_QUOTE = quote(CALL, "119.5", "120.5")  # mark 120, U 23500: OTM by 500
PUT_QUOTE = quote(PUT, "79.5", "80.5")  # mark 80: OTM by 500


def _place(start: Book, legs: list[OrderRequest], quotes: list[Quote]) -> Change:
    """``place`` under :data:`RULES` at ``AT``."""
    return place(start, legs, quotes, RULES, at=AT)


def _holds(change: Change, before: Book) -> bool:
    """The invariant over the wallet after and every position it holds."""
    assert change.wallet is not None
    held = {**before.positions, **{p.key: p for p in change.positions}}
    return invariant_holds(change.wallet, list(held.values()))


def test_a_market_buy_fills_at_the_ask_and_pays_premium_and_fees() -> None:
    fees = rules(fee_per_unit={"INR": dec("0.01")}, fee_rate=dec("0.0005"))
    start = book()
    change = place(start, [request("c1", CALL, "BUY", 75)], [CALL_QUOTE], fees, at=AT)
    (order,) = change.orders
    assert (order.id, order.state, order.filled_quantity, order.average_price) == (
        order_id("alice", "c1"), OrderState.FILLED, 75, dec("120.5"),
    )  # fmt: skip
    assert (order.market_ts, order.basket_id, order.reason) == (AT, None, None)
    (trade,) = change.trades
    assert (trade.id, trade.kind, trade.side, trade.quantity, trade.price) == (
        f"{order.id}.000001", TradeKind.FILL, Side.BUY, 75, dec("120.5"),
    )  # fmt: skip
    assert (trade.notional, trade.fee, trade.realized_pnl) == (dec("9037.50"), dec("5.27"), 0)
    assert change.wallet is not None
    assert change.wallet.cash == dec("990957.23")  # 1,000,000 − 9037.50 − 5.27
    assert (change.wallet.fees, change.wallet.margin_used) == (dec("5.27"), 0)
    (held,) = change.positions
    assert (held.quantity, held.cost, held.average_cost, held.margin) == (75, 9037.5, 120.5, 0)
    assert _holds(change, start)


def test_a_market_sell_fills_at_the_bid_and_blocks_margin() -> None:
    start = book()
    change = _place(start, [request("c1", CALL, "SELL", 75)], [CALL_QUOTE])
    assert change.orders[0].state is OrderState.FILLED
    assert change.trades[0].price == dec("119.5")
    assert change.wallet is not None
    assert change.wallet.cash == dec("1008962.50")
    assert change.wallet.margin_used == dec("235875.00")  # (120 + 3525 − 500) × 75
    assert change.wallet.free == dec("773087.50")
    assert change.positions[0].margin == dec("235875.00")
    assert _holds(change, start)


@pytest.mark.parametrize(
    ("side", "the_quote", "reason"),
    [
        ("BUY", quote(CALL, "119.5", None), "no ask for NIFTY 2026-12-31 24000 CALL"),
        ("SELL", quote(CALL, None, "120.5"), "no bid for NIFTY 2026-12-31 24000 CALL"),
        ("BUY", quote(put(24000), "1", "2"), "no quote for NIFTY 2026-12-31 24000 CALL"),
        ("BUY", quote(CALL, "1", "2", ask_size="0"),
         "nothing offered at the ask for NIFTY 2026-12-31 24000 CALL"),
    ],
)  # fmt: skip
def test_a_market_order_without_a_price_is_rejected(
    side: str, the_quote: object, reason: str
) -> None:
    change = _place(book(), [request("c1", CALL, side, 75)], [the_quote])  # type: ignore[list-item]
    (order,) = change.orders
    assert (order.state, order.reason, order.filled_quantity) == (OrderState.REJECTED, reason, 0)
    assert (change.trades, change.positions, change.wallet) == ((), (), None)


def test_an_instrument_expired_before_the_day_is_rejected() -> None:
    expired = call(24000, expiry="2026-12-05")  # AT is 2026-12-06
    change = _place(book(), [request("c1", expired, "BUY", 75)], [quote(expired, "1", "2")])
    assert change.orders[0].state is OrderState.REJECTED
    assert change.orders[0].reason == "NIFTY 2026-12-05 24000 CALL expired on 2026-12-05"
    today = call(24000, expiry="2026-12-06")  # its expiry time is the service's to check
    assert _place(book(), [request("c2", today, "BUY", 75)], [quote(today, "1", "2")]).trades


def test_buying_power_rejects_a_buy_that_costs_more_than_the_free_cash() -> None:
    poor = book(wallet(start="10000"))
    change = _place(poor, [request("c1", CALL, "BUY", 75)], [quote(CALL, "139", "140")])
    assert change.orders[0].state is OrderState.REJECTED
    assert change.orders[0].reason == (
        "insufficient buying power: the order needs 10500.00 INR (premium 10500.00, fees 0.00, "
        "margin 0.00); 10000.00 INR is free"
    )
    assert (change.trades, change.wallet) == ((), None)
    fits = _place(
        book(wallet(start="10500")), [request("c1", CALL, "BUY", 75)], [quote(CALL, "139", "140")]
    )
    assert fits.orders[0].state is OrderState.FILLED  # exactly the cash: free ends at 0
    assert fits.wallet is not None
    assert fits.wallet.cash == 0


def test_buying_power_counts_the_premium_received_and_the_margin_of_a_short() -> None:
    change = _place(book(wallet(start="100000")), [request("c1", CALL, "SELL", 75)], [CALL_QUOTE])
    assert change.orders[0].reason == (
        "insufficient buying power: the order needs 226912.50 INR (premium -8962.50, fees 0.00, "
        "margin 235875.00); 100000.00 INR is free"
    )


def test_an_order_that_only_reduces_a_position_is_never_refused_for_buying_power() -> None:
    short = position(CALL, "-75", "-8962.50", margin="235875.00")
    broke = book(wallet(cash="-100", margin_used="235875.00"), short)
    cover = _place(broke, [request("c1", CALL, "BUY", 75)], [quote(CALL, "129", "130")])
    assert cover.orders[0].state is OrderState.FILLED
    assert cover.wallet is not None
    assert (cover.wallet.cash, cover.wallet.margin_used) == (dec("-9850.00"), 0)
    assert cover.wallet.realized_pnl == dec("-787.50")  # sold at 119.50, bought back at 130
    more = _place(broke, [request("c2", CALL, "BUY", 76)], [quote(CALL, "129", "130")])
    assert more.orders[0].state is OrderState.REJECTED  # 76 flips it: not only reducing


def test_a_limit_order_rests_until_the_market_crosses_and_fills_at_the_better_price() -> None:
    start = book()
    placed = _place(start, [request("c1", CALL, "BUY", 75, limit="118")], [CALL_QUOTE])
    (resting,) = placed.orders
    assert (resting.state, resting.market_ts, placed.trades, placed.wallet) == (
        OrderState.NEW, AT, (), None,
    )  # fmt: skip
    assert resting.remaining == 75
    same_instant = quote(CALL, "110", "117.5")
    assert not fills_now(resting, same_instant)  # not newer than the quote it was placed on
    assert fill_resting(start, resting, same_instant, RULES, fills=0, at=ts(1)) is None
    above = quote(CALL, "117.5", "118.05", at=ts(1))
    assert fill_resting(start, resting, above, RULES, fills=0, at=ts(1)) is None
    crossed = quote(CALL, "116.5", "117.5", at=ts(2))
    assert fills_now(resting, crossed)
    assert not fills_now(resting, quote(PUT, "1", "2", at=ts(2)))
    with pytest.raises(ValueError, match="quote of NIFTY 2026-12-31 23000 PUT, order of NIFTY"):
        fill_resting(start, resting, quote(PUT, "1", "2", at=ts(2)), RULES, fills=0, at=ts(3))
    change = fill_resting(start, resting, crossed, RULES, fills=0, at=ts(3))
    assert change is not None
    (order,) = change.orders
    assert (order.state, order.average_price, order.market_ts, order.updated_at) == (
        OrderState.FILLED, dec("117.5"), ts(2), ts(3),
    )  # fmt: skip
    assert change.trades[0].price == dec("117.5")  # the ask, below the limit
    assert change.wallet is not None
    assert change.wallet.cash == dec("991187.50")
    assert (
        fill_resting(start, order, quote(CALL, "1", "2", at=ts(9)), RULES, fills=1, at=ts(9))
        is None
    )


def test_a_sell_limit_crossing_at_once_fills_at_the_bid() -> None:
    change = _place(book(), [request("c1", CALL, "SELL", 75, limit="119")], [CALL_QUOTE])
    assert (change.orders[0].state, change.trades[0].price) == (OrderState.FILLED, dec("119.5"))
    rests = _place(book(), [request("c1", CALL, "SELL", 75, limit="119.75")], [CALL_QUOTE])
    assert rests.orders[0].state is OrderState.NEW


def test_partial_fills_of_a_limit_order_and_a_market_orders_cancelled_remainder() -> None:
    start = book()
    thin = quote(CALL, "117", "118", ask_size="50")
    placed = _place(start, [request("c1", CALL, "BUY", 75, limit="118")], [thin])
    (order,) = placed.orders
    assert (order.state, order.filled_quantity, order.remaining) == (
        OrderState.PARTIALLY_FILLED, 50, 25,
    )  # fmt: skip
    assert placed.wallet is not None
    after = Book(wallet=placed.wallet, positions={p.key: p for p in placed.positions})
    more = quote(CALL, "116", "117", ask_size="100", at=ts(1))
    change = fill_resting(after, order, more, RULES, fills=1, at=ts(1))
    assert change is not None
    (done,) = change.orders
    assert (done.state, done.filled_quantity) == (OrderState.FILLED, 75)
    assert done.average_price == dec("117.66666667")  # (50×118 + 25×117) / 75
    assert (change.trades[0].id, change.trades[0].quantity) == (f"{order.id}.000002", 25)
    assert change.positions[0].cost == dec("8825.00")
    market = _place(
        start, [request("c2", CALL, "BUY", 75)], [quote(CALL, "117", "118", ask_size="40")]
    )
    assert (market.orders[0].state, market.orders[0].filled_quantity) == (OrderState.CANCELLED, 40)
    assert market.orders[0].reason == "remainder cancelled: 40 of 75 filled at the quote"


def test_a_resting_order_no_longer_affordable_is_rejected_at_the_fill() -> None:
    start = book(wallet(start="10000"))
    placed = _place(
        start, [request("c1", CALL, "BUY", 75, limit="130")], [quote(CALL, "131", "132")]
    )
    assert placed.orders[0].state is OrderState.NEW  # 75 × 130 = 9750 fits
    spent = book(wallet(start="5000"))
    change = fill_resting(spent, placed.orders[0], quote(CALL, "125", "129", at=ts(1)), RULES,
                          fills=0, at=ts(1))  # fmt: skip
    assert change is not None
    (order,) = change.orders
    assert (order.state, change.trades, change.wallet) == (OrderState.REJECTED, (), None)
    assert order.reason == (
        "insufficient buying power: the fill needs 9675.00 INR (premium 9675.00, fees 0.00, "
        "margin 0.00); 5000.00 INR is free"
    )


def test_a_limit_order_is_refused_when_its_limit_price_could_not_be_paid() -> None:
    change = _place(
        book(wallet(start="9000")),
        [request("c1", CALL, "BUY", 75, limit="121")],
        [quote(CALL, "125", "126")],
    )
    assert change.orders[0].state is OrderState.REJECTED
    assert "needs 9075.00 INR (premium 9075.00" in (change.orders[0].reason or "")


def test_a_basket_fills_every_leg_at_once() -> None:
    start = book()
    legs = [request("s1", CALL, "SELL", 75), request("s2", PUT, "SELL", 75)]
    change = _place(start, legs, [CALL_QUOTE, PUT_QUOTE])
    basket = basket_id("alice", "s1")
    assert [(o.state, o.basket_id) for o in change.orders] == [(OrderState.FILLED, basket)] * 2
    assert [t.price for t in change.trades] == [dec("119.5"), dec("79.5")]
    assert change.wallet is not None
    assert change.wallet.margin_used == dec("468750.00")  # 235,875 + (80 + 3525 − 500) × 75
    assert change.wallet.cash == dec("1014925.00")
    assert _holds(change, start)


def test_a_basket_with_one_leg_unfillable_is_rejected_whole_naming_the_leg() -> None:
    legs = [request("s1", CALL, "SELL", 75), request("s2", PUT, "SELL", 75),
            request("b3", put(22000), "BUY", 75)]  # fmt: skip
    quotes = [CALL_QUOTE, PUT_QUOTE, quote(put(22000), "10", None)]
    change = _place(book(), legs, quotes)
    reason = "leg 3 (NIFTY 2026-12-31 22000 PUT BUY): no ask for NIFTY 2026-12-31 22000 PUT"
    assert [(o.state, o.reason) for o in change.orders] == [(OrderState.REJECTED, reason)] * 3
    assert (change.trades, change.positions, change.wallet) == ((), (), None)
    thin = _place(book(), legs[:2], [CALL_QUOTE, quote(PUT, "79.5", "80.5", bid_size="74")])
    assert thin.orders[1].reason == (
        "leg 2 (NIFTY 2026-12-31 23000 PUT SELL): not all 75 offered at the quote"
    )


def test_a_basket_is_refused_whole_when_together_it_cannot_be_paid() -> None:
    start = book(wallet(start="300000"))
    alone = _place(start, [request("s1", CALL, "SELL", 75)], [CALL_QUOTE])
    assert alone.orders[0].state is OrderState.FILLED  # free 73,087.50 after it
    legs = [request("s1", CALL, "SELL", 75), request("s2", PUT, "SELL", 75)]
    change = _place(start, legs, [CALL_QUOTE, PUT_QUOTE])
    reason = (
        "insufficient buying power: the basket needs 453825.00 INR (premium -14925.00, "
        "fees 0.00, margin 468750.00); 300000.00 INR is free"
    )
    assert [(o.state, o.reason) for o in change.orders] == [(OrderState.REJECTED, reason)] * 2


@pytest.mark.parametrize(
    ("legs", "field"),
    [
        ([request("a", CALL, "BUY", 1, limit="5"), request("b", PUT, "BUY", 1)], "orders[0].type"),
        ([request("a", CALL, "BUY", 1), request("b", PUT, "BUY", 1, currency="USD")],
         "orders[1].currency"),
        ([request("a", CALL, "BUY", 1), request("a", PUT, "BUY", 1)], "orders[1].client_order_id"),
        ([], "orders"),
        ([request(f"l{n}", CALL, "BUY", 1) for n in range(9)], "orders"),
    ],
)  # fmt: skip
def test_a_malformed_basket_names_the_field(legs: list[object], field: str) -> None:
    with pytest.raises(OrderError) as caught:
        _place(book(), legs, [CALL_QUOTE, PUT_QUOTE])  # type: ignore[arg-type]
    assert caught.value.field == field


def test_cancel_an_open_order_keeps_its_fills() -> None:
    placed = _place(
        book(),
        [request("c1", CALL, "BUY", 75, limit="118")],
        [quote(CALL, "117", "118", ask_size="50")],
    )
    change = account.cancel(placed.orders[0], at=ts(5))
    assert change is not None
    (order,) = change.orders
    assert (order.state, order.reason, order.filled_quantity, order.updated_at) == (
        OrderState.CANCELLED, "cancelled by its owner", 50, ts(5),
    )  # fmt: skip
    assert (change.trades, change.wallet) == ((), None)
    assert account.cancel(order, at=ts(6)) is None


def _expiring_book() -> tuple[Book, list[Order]]:
    long_call = position(CALL, "75", "9037.50")
    short_put = position(PUT, "-75", "-5962.50", margin="232875.00")
    long_future = position(future(), "2", "47000.00")
    other = position(call(24000, expiry="2027-01-28"), "75", "100.00")
    held = wallet(cash="949825.00", margin_used="232875.00")  # 1,000,000 less their costs
    now, later = call(25000), call(25000, expiry="2027-01-28")
    resting = _place(book(), [request("r1", now, "BUY", 75, limit="1")], [quote(now, "1.5", "2")])
    waiting = _place(book(), [request("r2", later, "BUY", 75, limit="1")], [quote(later, "5", "6")])
    return book(held, long_call, short_put, long_future, other), [
        resting.orders[0], waiting.orders[0],
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("price", "call_pnl", "put_pnl", "future_pnl"),
    [
        ("24100", "-1537.50", "5962.50", "1200.00"),  # call ITM by 100, put OTM
        ("22500", "-9037.50", "-31537.50", "-2000.00"),  # call OTM, short put ITM by 500
    ],
)
def test_settlement_closes_the_expiry_at_intrinsic_value(
    price: str, call_pnl: str, put_pnl: str, future_pnl: str
) -> None:
    start, orders = _expiring_book()
    change = settle(start, orders, "NIFTY", "2026-12-31", dec(price), at=ts(60))
    by_key = {p.key: p for p in change.positions}
    assert sorted(by_key) == sorted([CALL.key, PUT.key, future().key])  # not 2027-01-28's
    assert [by_key[k].quantity for k in (CALL.key, PUT.key, future().key)] == [0, 0, 0]
    pnl = {t.option_type: t.realized_pnl for t in change.trades}
    assert (pnl["CALL"], pnl["PUT"], pnl[None]) == (dec(call_pnl), dec(put_pnl), dec(future_pnl))  # type: ignore[index]
    assert all(t.kind is TradeKind.SETTLEMENT and t.fee == 0 for t in change.trades)
    assert all(t.order_id is None and t.market_ts == ts(60) for t in change.trades)
    assert change.wallet is not None
    assert change.wallet.margin_used == 0
    assert change.wallet.realized_pnl == dec(call_pnl) + dec(put_pnl) + dec(future_pnl)
    assert _holds(change, start)
    assert [(o.client_order_id, o.state, o.reason) for o in change.orders] == [
        ("r1", OrderState.CANCELLED, "expired"),
    ]  # fmt: skip


def test_settling_a_short_call_in_the_money_pays_its_intrinsic_value() -> None:
    short = position(CALL, "-75", "-8962.50", margin="235875.00")
    start = book(wallet(cash="1008962.50", margin_used="235875.00"), short)
    change = settle(start, [], "NIFTY", "2026-12-31", dec(24500), at=ts(60))
    (trade,) = change.trades
    assert (trade.side, trade.price, trade.notional, trade.realized_pnl) == (
        Side.BUY, 500, dec("37500.00"), dec("-28537.50"),
    )  # fmt: skip
    assert change.wallet is not None
    assert (change.wallet.cash, change.wallet.margin_used) == (dec("971462.50"), 0)
    again = settle(Book(wallet=change.wallet, positions={p.key: p for p in change.positions}),
                   [], "NIFTY", "2026-12-31", dec(24500), at=ts(61))  # fmt: skip
    assert again == Change()  # nothing left to settle


def test_decisions_never_change_what_they_are_given() -> None:
    start = book(wallet(), position(CALL, "-75", "-8962.50", margin="235875.00"))
    frozen = (start.wallet, dict(start.positions))
    _place(start, [request("c1", CALL, "BUY", 100)], [CALL_QUOTE])
    settle(start, [], "NIFTY", "2026-12-31", dec(24500), at=ts(60))
    assert (start.wallet, dict(start.positions)) == frozen
    assert isinstance(start.wallet.cash, Decimal)
