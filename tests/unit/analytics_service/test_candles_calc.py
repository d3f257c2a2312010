"""Candles from the store and from Redis, and 1-hour candles built from 15-minute ones."""

from __future__ import annotations

from analytics_service.calc.candles import (
    STORE_INTERVAL,
    aggregate,
    from_closed_field,
    from_open_hash,
    from_store,
    merge,
)
from analytics_service.calc.resample import Interval
from analytics_service.calc.times import wire_ms

H = wire_ms("2026-11-21T04:00:00.000Z")
Q = 15 * 60_000


def stored(minute: int, o: float, h: float, low: float, c: float, v: int) -> dict[str, object]:
    return {"product": "NIFTY", "interval": "15min", "start": f"2026-11-21T04:{minute:02d}:00.000Z",
            "open": o, "high": h, "low": low, "close": c, "volume": v}  # fmt: skip


def test_store_intervals() -> None:
    assert [STORE_INTERVAL[i] for i in Interval] == ["1min", "5min", "15min", "15min"]


def test_one_hour_from_four_quarters_by_hand() -> None:
    quarters = [from_store(stored(m, *ohlcv)) for m, ohlcv in (
        (30, (101.0, 104.0, 100.5, 103.0, 30)),
        (0, (100.0, 102.0, 99.0, 101.0, 10)),  # out of order on purpose
        (15, (101.0, 101.5, 98.0, 100.0, 20)),
        (45, (103.0, 103.5, 102.0, 102.5, 40)),
    )]  # fmt: skip
    # open of 04:00 (100.0), max high 104.0, min low 98.0, close of 04:45 (102.5),
    # volume 10 + 20 + 30 + 40 = 100
    assert aggregate(quarters, Interval.ONE_HOUR.ms) == [
        (H, {"t": "2026-11-21T04:00:00.000Z", "open": 100.0, "high": 104.0, "low": 98.0,
             "close": 102.5, "volume": 100}),
    ]  # fmt: skip


def test_aggregate_splits_by_hour() -> None:
    candles = [
        (H - Q, {"t": "a", "open": 1, "high": 2, "low": 0.5, "close": 1.5, "volume": 1}),
        (H, {"t": "b", "open": 7, "high": 8, "low": 6, "close": 7.5, "volume": 2}),
    ]
    got = aggregate(candles, Interval.ONE_HOUR.ms)
    assert [(t, c["t"], c["open"], c["volume"]) for t, c in got] == [
        (H - 4 * Q, "2026-11-21T03:00:00.000Z", 1, 1),
        (H, "2026-11-21T04:00:00.000Z", 7, 2),
    ]


def test_redis_candle_formats() -> None:
    # the worker's open-candle hash: start in ms, prices as text, plus its own fields
    fields = {b"start": str(H + Q).encode(), b"open": b"24010.5", b"high": b"24030",
              b"low": b"24001.25", b"close": b"24020", b"volume": b"1500",
              b"first": b"1", b"last": b"2", b"p_start": str(H).encode()}  # fmt: skip
    assert from_open_hash(fields) == (
        H + Q,
        {"t": "2026-11-21T04:15:00.000Z", "open": 24010.5, "high": 24030.0, "low": 24001.25,
         "close": 24020.0, "volume": 1500},
    )  # fmt: skip
    assert from_open_hash({b"start": b"12"}) is None
    # a closed candle waiting to be stored: "{product}|{interval}|{start_ms}" → "o|h|l|c|v"
    product, interval, start, candle = from_closed_field(
        f"NIFTY|15min|{H}".encode(), b"24000.0|24050.0|23990.0|24040.0|900"
    )
    assert (product, interval, start) == ("NIFTY", "15min", H)
    assert candle == {"t": "2026-11-21T04:00:00.000Z", "open": 24000.0, "high": 24050.0,
                      "low": 23990.0, "close": 24040.0, "volume": 900}  # fmt: skip


def test_merge_prefers_the_later_source() -> None:
    a = [(2, {"close": 1}), (1, {"close": 1})]
    b = [(2, {"close": 9}), (3, {"close": 9})]
    assert merge(a, b) == [(1, {"close": 1}), (2, {"close": 9}), (3, {"close": 9})]
