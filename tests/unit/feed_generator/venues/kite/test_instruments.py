"""The instruments dump: the documented sample rows, hostile rows, and the selection."""

from __future__ import annotations

import datetime as dt
import gzip

import pytest

from feed_generator.venues.kite import instruments
from feed_generator.venues.kite.instruments import (
    Instrument,
    format_instruments,
    parse_instruments,
    select,
)

DOCUMENTED = b"""instrument_token, exchange_token, tradingsymbol, name, last_price, expiry, strike, tick_size, lot_size, instrument_type, segment, exchange
408065,1594,INFY,INFOSYS,0,,,0.05,1,EQ,NSE,NSE
5720322,22345,NIFTY15DECFUT,,78.0,2015-12-31,,0.05,75,FUT,NFO-FUT,NFO
5720578,22346,NIFTY159500CE,,23.0,2015-12-31,9500,0.05,75,CE,NFO-OPT,NFO
645639,SILVER15DECFUT,,7800.0,2015-12-31,,1,1,FUT,MCX,MCX
"""  # noqa: E501
"""The sample of kite.trade/docs/connect/v3/market-quotes, as printed there (its MCX row
has 11 fields)."""

HEADER = ",".join(instruments.COLUMNS)


def dump(*rows: str) -> bytes:
    return "\n".join((HEADER, *rows, "")).encode()


def option(token: int, expiry: str, strike: int, kind: str, name: str = "NIFTY") -> str:
    day = dt.date.fromisoformat(expiry)
    symbol = f"{name}{day:%y}{day.month}{day:%d}{strike}{kind}"
    return f"{token},{token // 256},{symbol},{name},0,{expiry},{strike},0.05,75,{kind},NFO-OPT,NFO"


INDEXES = (
    "256265,1001,NIFTY 50,NIFTY 50,0,,0,0,0,EQ,INDICES,NSE",
    "260105,1016,NIFTY BANK,NIFTY BANK,0,,0,0,0,EQ,INDICES,NSE",
    "257801,1007,NIFTY FIN SERVICE,NIFTY FIN SERVICE,0,,0,0,0,EQ,INDICES,NSE",
)


def test_documented_sample_rows() -> None:
    rows, rejected = parse_instruments(DOCUMENTED)
    assert rows[0] == Instrument(408065, 1594, "INFY", "INFOSYS", 0.0, None, 0.0, 0.05, 1, "EQ",
                                 "NSE", "NSE")  # fmt: skip
    assert rows[2] == Instrument(5720578, 22346, "NIFTY159500CE", "", 23.0, dt.date(2015, 12, 31),
                                 9500.0, 0.05, 75, "CE", "NFO-OPT", "NFO")  # fmt: skip
    assert rows[1].instrument_type == "FUT"
    assert rows[1].strike == 0.0
    assert len(rows) == 3
    assert [r.reason for r in rejected] == ["instruments row 5: 11 fields, the header has 12"]
    assert rejected[0].excerpt.startswith("645639,SILVER15DECFUT")


def test_gzipped_dump_and_columns_by_header_name() -> None:
    plain = dump(option(9_000_002, "2026-12-08", 24000, "CE"))
    assert parse_instruments(gzip.compress(plain)) == parse_instruments(plain)
    reordered = b"exchange,segment,instrument_type,lot_size,tick_size,strike,expiry,last_price,name,tradingsymbol,exchange_token,instrument_token\nNSE,INDICES,EQ,0,0,0,,0,NIFTY 50,NIFTY 50,1001,256265\n"  # noqa: E501
    (row,), rejected = parse_instruments(reordered)
    assert rejected == []
    assert (row.instrument_token, row.tradingsymbol, row.segment) == (256265, "NIFTY 50", "INDICES")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("abc,1,X,X,0,,0,0.05,1,EQ,NSE,NSE", "unreadable value"),
        ("1,1,X,X,0,2026-13-01,0,0.05,1,EQ,NSE,NSE", "unreadable value"),
        ("1,1,X,X,0,,0,0.05,inf,EQ,NSE,NSE", "unreadable value"),
        ("1,1,X,X,nan,,0,0.05,1,EQ,NSE,NSE", "negative, infinite or NaN"),
        ("1,1,X,X,0,,-50,0.05,1,EQ,NSE,NSE", "negative, infinite or NaN"),
        ("0,1,X,X,0,,0,0.05,1,EQ,NSE,NSE", "non-positive token"),
        ("1,1,,X,0,,0,0.05,1,EQ,NSE,NSE", "empty symbol"),
        (
            "1,1,NIFTYX,NIFTY,0,,24000,0.05,75,CE,NFO-OPT,NFO",
            "CE option 'NIFTYX' without an expiry",
        ),
        (
            "1,1,NIFTYY,NIFTY,0,2026-12-08,0,0.05,75,PE,NFO-OPT,NFO",
            "without an expiry or a positive",
        ),
        ("1,1,X,X,0,,0,0.05,1,EQ,NSE,NSE,extra", "13 fields, the header has 12"),
    ],
)
def test_bad_rows_are_rejected_alone(line: str, reason: str) -> None:
    good = option(9_000_002, "2026-12-08", 24000, "CE")
    rows, rejected = parse_instruments(dump(good, line, good))
    assert len(rows) == 2
    assert len(rejected) == 1
    assert rejected[0].reason.startswith("instruments row 3: ")
    assert reason in rejected[0].reason


def test_hostile_dumps_never_raise() -> None:
    for body, reason in (
        (b"", "header lacks"),
        (b"\x00\xff garbage", "header lacks"),
        (b"\x1f\x8b not really gzip", "bad gzip"),
        (gzip.compress(b"x" * 100)[:-12], "cut short"),
        (HEADER.encode() + b"\n1\x00,1,X,X,0,,0,0.05,1,EQ,NSE,NSE\n", "unreadable"),
    ):
        rows, rejected = parse_instruments(body)
        assert rows == []
        assert reason in rejected[0].reason, body


def test_caps_on_bytes_rows_and_rejections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instruments, "MAX_BYTES", 1000)
    bomb = gzip.compress(b"a" * 5000)
    assert "over 1000 bytes" in parse_instruments(bomb)[1][0].reason
    assert "5000 > 1000 bytes" in parse_instruments(b"a" * 5000)[1][0].reason
    monkeypatch.setattr(instruments, "MAX_BYTES", 1 << 20)
    monkeypatch.setattr(instruments, "MAX_ROWS", 3)
    rows, rejected = parse_instruments(dump(*[option(9_000_002 + 256 * i, "2026-12-08", 24000, "CE")
                                              for i in range(5)]))  # fmt: skip
    assert len(rows) == 3
    assert rejected[-1].reason == "instruments dump: over 3 rows, rest unread"
    monkeypatch.setattr(instruments, "MAX_ROWS", 500)
    monkeypatch.setattr(instruments, "MAX_REJECTED", 2)
    rows, rejected = parse_instruments(dump(*["bad"] * 7))
    assert [r.reason for r in rejected][-1] == "5 more instruments rows rejected"
    assert len(rejected) == 3


def chain() -> list[Instrument]:
    lines = [*INDEXES]
    token = 9_000_002
    for expiry in ("2026-12-15", "2026-12-08", "2026-12-29", "2026-12-22"):  # out of order
        for strike in range(23_800, 24_250, 50):  # 23,800 … 24,200: nine strikes
            for kind in ("CE", "PE"):
                lines.append(option(token, expiry, strike, kind))
                token += 256
    lines.append(option(token, "2026-12-09", 52_000, "CE", "BANKNIFTY"))
    lines.append("5720322,22345,NIFTY26DECFUT,NIFTY,0,2026-12-29,0,0.05,75,FUT,NFO-FUT,NFO")
    lines.append(
        option(token + 256, "2026-12-08", 24000, "CE").replace("NFO-OPT,NFO", "BFO-OPT,BFO")
    )
    rows, rejected = parse_instruments(dump(*lines))
    assert rejected == []
    return rows


def test_select_nearest_expiries_around_the_money_with_the_index() -> None:
    chosen = select(chain(), ["nifty"], 2, 2, {"NIFTY": 24_060.0})
    assert chosen[0].tradingsymbol == "NIFTY 50"
    options = chosen[1:]
    assert {r.expiry for r in options} == {dt.date(2026, 12, 8), dt.date(2026, 12, 15)}
    assert sorted({r.strike for r in options}) == [23_950.0, 24_000.0, 24_050.0, 24_100.0, 24_150.0]
    assert len(options) == 2 * 5 * 2
    assert all(r.segment == "NFO-OPT" and r.name == "NIFTY" for r in options)
    first = options[:3]
    assert [(r.expiry, r.strike, r.instrument_type) for r in first] == [
        (dt.date(2026, 12, 8), 23_950.0, "CE"),
        (dt.date(2026, 12, 8), 23_950.0, "PE"),
        (dt.date(2026, 12, 8), 24_000.0, "CE"),
    ]


def test_select_all_strikes_without_spot_edges_and_today() -> None:
    rows = chain()
    everything = select(rows, ["NIFTY", "BANKNIFTY"], 9, 1, None)
    names = [r.tradingsymbol for r in everything[:2]]
    assert names == ["NIFTY 50", "NIFTY BANK"]
    assert len(everything) == 2 + 1 + 4 * 9 * 2
    edge = select(rows, ["NIFTY"], 1, 3, {"NIFTY": 10_000.0})  # far below: the lowest strikes
    assert sorted({r.strike for r in edge[1:]}) == [23_800.0, 23_850.0, 23_900.0, 23_950.0]
    tie = select(rows, ["NIFTY"], 1, 0, {"NIFTY": 24_025.0})  # halfway: the lower strike
    assert [r.strike for r in tie[1:]] == [24_000.0, 24_000.0]
    later = select(rows, ["NIFTY"], 1, 0, {"NIFTY": 24_000.0}, today=dt.date(2026, 12, 9))
    assert {r.expiry for r in later[1:]} == {dt.date(2026, 12, 15)}
    unknown = select(rows, ["RELIANCE"], 1, 1, None)
    assert unknown == []
    with pytest.raises(ValueError, match="expiries"):
        select(rows, ["NIFTY"], 0, 1, None)


def test_format_round_trips() -> None:
    rows = chain()
    assert parse_instruments(format_instruments(rows)) == (rows, [])
    assert (
        format_instruments(rows[:1]).splitlines()[1]
        == b"256265,1001,NIFTY 50,NIFTY 50,0.0,,0,0,0,EQ,INDICES,NSE"
    )


def test_reading_only_the_underlyings_rows() -> None:
    body = format_instruments(chain())
    everything, _ = parse_instruments(body)
    rows, rejected = parse_instruments(body + b"1,1,bad\n", ["banknifty"])
    assert rows == [r for r in everything if r.name == "BANKNIFTY" or r.segment == "INDICES"]
    assert [r.tradingsymbol for r in rows[:3]] == ["NIFTY 50", "NIFTY BANK", "NIFTY FIN SERVICE"]
    assert len(rows) == 4
    assert [r.reason for r in rejected] == [
        f"instruments row {len(everything) + 2}: 3 fields, the header has 12"
    ]
