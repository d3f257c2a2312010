"""The Kite simulator's market and encoder on a fixed clock: listing, ticks, parity, the roll,
and packets that decode (and ``/quote`` entries that parse) to the same values."""

from __future__ import annotations

import datetime as dt
import json
import math

from feed_generator.venues.kite.packets import FullPacket, IndexPacket, decode_frame
from feed_generator.venues.kite.quotes import parse_quotes
from feed_generator.venues.kite.sim import encode
from feed_generator.venues.kite.sim.market import KiteMarket, symbol

MONDAY = dt.datetime(2026, 12, 7, 5, 0, tzinfo=dt.UTC)  # 10:30 IST


def test_nse_symbols() -> None:
    assert symbol("NIFTY", dt.date(2026, 12, 29), 24000.0, True, True) == "NIFTY26DEC24000CE"
    assert symbol("NIFTY", dt.date(2026, 12, 8), 24050.0, False, False) == "NIFTY26D0824050PE"
    assert (
        symbol("BANKNIFTY", dt.date(2026, 10, 7), 52000.0, True, False) == "BANKNIFTY26O0752000CE"
    )
    assert symbol("NIFTY", dt.date(2027, 1, 5), 23000.0, True, False) == "NIFTY2710523000CE"


def test_listing_weekly_expiries_strike_steps_and_lots() -> None:
    market = KiteMarket(MONDAY, expiries=2, strikes_per_side=10)
    rows = market.instruments()
    nifty = [r for r in rows if r.name == "NIFTY" and r.segment == "NFO-OPT"]
    bank = [r for r in rows if r.name == "BANKNIFTY" and r.segment == "NFO-OPT"]
    assert {r.expiry for r in nifty} == {dt.date(2026, 12, 8), dt.date(2026, 12, 15)}
    assert {r.expiry for r in bank} == {dt.date(2026, 12, 9), dt.date(2026, 12, 16)}
    assert sorted({r.strike for r in nifty}) == [23_500.0 + 50 * i for i in range(21)]
    assert sorted({r.strike for r in bank}) == [51_000.0 + 100 * i for i in range(21)]
    assert len(nifty) == len(bank) == 2 * 21 * 2
    assert {r.lot_size for r in nifty} == {75}
    assert {r.lot_size for r in bank} == {35}
    assert {r.instrument_token & 0xFF for r in nifty + bank} == {2}
    assert len({r.instrument_token for r in rows}) == len(rows)
    assert [(r.tradingsymbol, r.instrument_token) for r in rows if r.segment == "INDICES"] == [
        ("NIFTY 50", 256265), ("NIFTY BANK", 260105)]  # fmt: skip


def test_prices_on_the_tick_books_uncrossed_and_parity() -> None:
    market = KiteMarket(MONDAY, expiries=1, strikes_per_side=4)
    rows = market.tradable_rows()
    spot = market.chains["NIFTY"].process.spot
    by_symbol = {r.tradingsymbol: r.instrument_token for r in market.instruments()}
    for row in rows.values():
        prices = [row[i] for i in (1, 3, 7, 8, 9, 10)] + [row[i] for i in range(17, 46, 3)]
        assert all(p % 5 == 0 for p in prices)
        assert 0 <= row[17] < row[32]  # best bid below best ask, paise
    T = (dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC) - MONDAY).total_seconds() / (365 * 86400)
    for strike in (23_800, 24_000, 24_200):
        call = rows[by_symbol[f"NIFTY26D08{strike}CE"]][1] / 100
        put = rows[by_symbol[f"NIFTY26D08{strike}PE"]][1] / 100
        # The opening prints are the model prices rounded to the tick: parity to ±0.05 each.
        assert abs(call - put - (spot - strike * math.exp(-0.065 * T))) <= 0.1 + 1e-9


def test_steps_trade_and_the_expiry_rolls() -> None:
    market = KiteMarket(MONDAY, expiries=1, strikes_per_side=3, seed=3)
    before = market.tradable_rows()
    for second in range(1, 61):
        market.step(MONDAY + dt.timedelta(seconds=second))
    after = market.tradable_rows()
    assert before.keys() == after.keys()
    assert any(after[t][4] > before[t][4] for t in after)  # some volume traded
    assert all(after[t][4] >= before[t][4] and after[t][12] >= 0 for t in after)
    assert all(after[t][13] >= after[t][12] >= after[t][14] for t in after)  # OI in its range
    bank = set(market.chains["BANKNIFTY"].tokens.tolist())
    market.step(dt.datetime(2026, 12, 8, 10, 0, 1, tzinfo=dt.UTC))  # the NIFTY weekly expired
    expiries = {r.expiry for r in market.instruments() if r.name == "NIFTY"}
    assert expiries == {dt.date(2026, 12, 15)}
    assert market.tradable_rows().keys() & before.keys() == bank  # new NIFTY tokens listed


def test_packets_and_quote_entries_carry_the_same_values() -> None:
    market = KiteMarket(MONDAY, expiries=1, strikes_per_side=1)
    market.step(MONDAY + dt.timedelta(seconds=30))
    rows, indexes = market.tradable_rows(), market.index_rows()
    token, row = next(iter(rows.items()))
    frame = encode.frame([encode.full(row), encode.index(indexes[256265], with_time=True)])
    (full, index), rejected = decode_frame(frame)
    assert rejected == []
    assert isinstance(full, FullPacket)
    assert isinstance(index, IndexPacket)
    assert (full.token, full.last_price, full.volume, full.oi) == (
        token,
        row[1] / 100,
        row[4],
        row[12],
    )
    assert [(b.quantity, b.price, b.orders) for b in full.bids] == [
        (row[i], row[i + 1] / 100, row[i + 2]) for i in range(16, 31, 3)]  # fmt: skip
    assert index.exchange_ts == int(market.now.timestamp())
    body = {"status": "success", "data": {"NFO:X": encode.quote_entry(row)}}
    (from_rest,), bad = parse_quotes(json.dumps(body).encode())
    assert bad == []
    assert from_rest == full
