"""A position through opening, adding, reducing, flipping and closing (hand-computed), the
basis of closed units rounded without drift, and positions marked to market."""

from __future__ import annotations

from decimal import Decimal

from paper.documents import Position, Side
from paper.positions import apply_fill, flat_position, mark_position, reduces, summarise
from tests.unit.paper.factories import AT, call, dec, position, put, quote, wallet


def _fill(
    held: Position, side: str, quantity: str, price: str
) -> tuple[Position, Decimal, Decimal]:
    effect = apply_fill(held, Side(side), dec(quantity), dec(price), at=AT)
    assert effect.notional == abs(effect.cash)
    return effect.position, effect.realised, effect.cash


def test_average_cost_and_realised_pnl_through_a_positions_life() -> None:
    held = flat_position("alice", "INR", call(24000), AT)
    steps = [
        # side, units, price → quantity, cost, average cost, realised, cash
        ("BUY", "100", "10", "100", "1000.00", "10", "0.00", "-1000.00"),  # open
        ("BUY", "50", "13", "150", "1650.00", "11", "0.00", "-650.00"),  # add: (1000+650)/150
        ("SELL", "60", "14", "90", "990.00", "11", "180.00", "840.00"),  # reduce: 840 − 60×11
        ("SELL", "120", "12", "-30", "-360.00", "12", "90.00", "1440.00"),  # flip: 90×12 − 990
        ("BUY", "30", "15", "0", "0.00", "0", "-90.00", "-450.00"),  # close the short: −450 + 360
    ]
    cash = Decimal(0)
    for side, units, price, quantity, cost, average, realised, moved in steps:
        held, got_realised, got_cash = _fill(held, side, units, price)
        assert (held.quantity, held.cost, held.average_cost) == (
            dec(quantity), dec(cost), dec(average),
        ), (side, units, price)  # fmt: skip
        assert (got_realised, got_cash) == (dec(realised), dec(moved))
        cash += got_cash
    assert held.realized_pnl == dec("180.00")  # 180 + 90 − 90
    assert cash == held.realized_pnl  # flat again: what the cash gained is what was realised


def test_a_short_opened_added_to_and_covered() -> None:
    held = flat_position("alice", "INR", put(23000), AT)
    held, realised, cash = _fill(held, "SELL", "75", "80")
    assert (held.quantity, held.cost, held.average_cost, cash) == (-75, dec("-6000.00"), 80, 6000)
    held, realised, cash = _fill(held, "SELL", "25", "84")
    assert (held.quantity, held.cost, held.average_cost) == (-100, dec("-8100.00"), 81)
    held, realised, cash = _fill(held, "BUY", "40", "70")  # covers 40 bought at 81 for 70
    assert (held.quantity, held.cost, realised, cash) == (-60, dec("-4860.00"), 440, -2800)
    held, realised, _ = _fill(held, "BUY", "100", "90")  # flip: covers 60 (−540), opens 40
    assert (held.quantity, held.cost, held.average_cost, realised) == (40, 3600, 90, -540)
    assert held.realized_pnl == dec("-100.00")


def test_the_basis_of_closed_units_is_rounded_without_drift() -> None:
    held = position(call(100), "3", "10.00")
    held, realised, _ = _fill(held, "SELL", "1", "4")
    assert (held.cost, realised) == (dec("6.67"), dec("0.67"))  # 10/3 = 3.33 removed
    assert held.average_cost == dec("3.33500000")
    held, realised, _ = _fill(held, "SELL", "1", "4")
    assert (held.cost, realised) == (dec("3.33"), dec("0.66"))  # 6.67/2 = 3.335 → 3.34
    held, realised, _ = _fill(held, "SELL", "1", "4")
    assert (held.quantity, held.cost, realised) == (0, 0, dec("0.67"))  # the rest, exactly
    assert held.realized_pnl == dec("2.00")  # 12 received for what cost 10.00


def test_fractional_quantities_and_prices() -> None:
    btc = call(100000, product="BTC")
    held = flat_position("alice", "USD", btc, AT)
    held, _, cash = _fill(held, "BUY", "0.1", "1234.5678")
    assert (held.cost, cash, held.average_cost) == (dec("123.46"), dec("-123.46"), dec("1234.6"))
    held, realised, cash = _fill(held, "SELL", "0.05", "1300.01")
    assert (cash, held.cost, realised) == (dec("65.00"), dec("61.73"), dec("3.27"))


def test_reduces_only_when_a_position_shrinks_without_flipping() -> None:
    assert reduces(dec(10), dec(4))
    assert reduces(dec(-10), dec(0))
    assert reduces(dec(-10), dec(-10))
    assert not reduces(dec(10), dec(-1))  # flipped
    assert not reduces(dec(10), dec(11))
    assert not reduces(dec(0), dec(1))
    assert reduces(dec(0), dec(0))


def test_positions_marked_at_the_mid_and_the_account_summed() -> None:
    long = position(call(24000), "75", "9037.50")
    short = position(put(23000), "-75", "-5962.50", margin="232875.00")
    unquoted = position(call(25000), "75", "750.00")
    long_mark = mark_position(long, quote(call(24000), "130", "131"))
    assert (long_mark.mark, long_mark.market_value, long_mark.unrealized_pnl) == (
        dec("130.5"), dec("9787.50"), dec("750.00"),
    )  # fmt: skip
    short_mark = mark_position(short, quote(put(23000), None, "100"))  # one side: its price
    assert (short_mark.mark, short_mark.market_value, short_mark.unrealized_pnl) == (
        100, dec("-7500.00"), dec("-1537.50"),
    )  # fmt: skip
    at_cost = mark_position(unquoted, None)
    assert (at_cost.mark, at_cost.market_value, at_cost.unrealized_pnl) == (None, 750, 0)
    held = wallet(cash="996925.00", margin_used="232875.00", realized_pnl="10.00", fees="5.00")
    summary = summarise(held, [long_mark, short_mark, at_cost])
    assert summary.equity == dec("996925.00") + dec("9787.50") - dec("7500.00") + dec("750.00")
    assert (summary.cash, summary.margin_used, summary.free) == (
        dec("996925.00"), dec("232875.00"), dec("764050.00"),
    )  # fmt: skip
    assert (summary.realized_pnl, summary.unrealized_pnl, summary.fees) == (10, dec("-787.50"), 5)
    assert summary.currency == "INR"
