"""REST ``/quote`` answers → packets; the credentials never shown; the token file renewed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from feed_generator.venues.kite.client import Credentials, redact
from feed_generator.venues.kite.packets import DepthLevel, FullPacket, IndexPacket
from feed_generator.venues.kite.quotes import ist_epoch, parse_quotes, quote_keys
from feed_generator.venues.kite.token import TokenSource

NOON_S = 1796472000  # 2026-12-05T12:00:00Z = 17:30 IST
OPTION = 12032002
TOKEN = "s3cr/et+tok=en"


def level(price: float, quantity: int, orders: int) -> dict[str, Any]:
    return {"price": price, "quantity": quantity, "orders": orders}


def option_entry(**changes: Any) -> dict[str, Any]:
    """The documented shape of one ``/quote`` entry (rupees, IST times)."""
    entry = {
        "instrument_token": OPTION, "timestamp": "2026-12-05 17:30:00",
        "last_trade_time": "2026-12-05 17:29:57", "last_price": 123.45, "last_quantity": 75,
        "buy_quantity": 4500, "sell_quantity": 3000, "volume": 98765, "average_price": 123.2,
        "oi": 1234500, "oi_day_high": 1300000, "oi_day_low": 1200000, "net_change": 0,
        "lower_circuit_limit": 0.05, "upper_circuit_limit": 500.0,
        "ohlc": {"open": 120, "high": 125, "low": 119, "close": 121},
        "depth": {"buy": [level(123.4, 750, 3)] + [level(0, 0, 0)] * 4,
                  "sell": [level(123.55, 1500, 5)] + [level(0, 0, 0)] * 4},
    }  # fmt: skip
    entry.update(changes)
    return entry


def answer(data: dict[str, Any]) -> bytes:
    return json.dumps({"status": "success", "data": data}).encode()


def test_an_option_entry_becomes_the_full_packet_the_ticker_would_send() -> None:
    packets, rejected = parse_quotes(answer({"NFO:NIFTY26D0824500CE": option_entry()}))
    assert rejected == []
    (packet,) = packets
    assert isinstance(packet, FullPacket)
    assert (packet.token, packet.last_price, packet.volume, packet.oi) == (
        OPTION, 123.45, 98765, 1234500,
    )  # fmt: skip
    assert packet.bids[0] == DepthLevel(750, 123.4, 3)
    assert packet.asks[0] == DepthLevel(1500, 123.55, 5)
    assert (packet.exchange_ts, packet.last_trade_ts) == (NOON_S, NOON_S - 3)


def test_an_index_entry_becomes_an_index_packet() -> None:
    entry = {"instrument_token": 256265, "timestamp": "2026-12-05 17:30:00",
             "last_price": 24500.25, "net_change": 0,
             "ohlc": {"open": 24400, "high": 24550, "low": 24390, "close": 24450.25}}  # fmt: skip
    (packet,), _ = parse_quotes(answer({"NSE:NIFTY 50": entry}))
    assert packet == IndexPacket(256265, 24500.25, 24550, 24390, 24400, 24450.25, 50.0, NOON_S)


def test_bad_entries_are_refused_one_by_one() -> None:
    crossed = option_entry(depth={"buy": [level(130, 1, 1)], "sell": [level(129, 1, 1)]})
    data = {
        "NFO:A": option_entry(last_price=-1),
        "NFO:B": crossed,
        "NFO:C": option_entry(timestamp="yesterday"),
        "NFO:D": option_entry(),
    }
    packets, rejected = parse_quotes(answer(data))
    assert len(packets) == 1
    reasons = [r.reason for r in rejected]
    assert reasons[0].startswith("quote NFO:A: Expected `float` >= 0")
    assert "crossed book" in reasons[1]
    assert reasons[2].startswith("quote NFO:C")
    assert parse_quotes(b"<html>")[1][0].reason.startswith("quote answer refused")
    assert "status 'error'" in parse_quotes(b'{"status": "error"}')[1][0].reason


def test_quote_keys_and_ist_times() -> None:
    assert quote_keys([("NSE", "NIFTY 50")]) == [("i", "NSE:NIFTY 50")]
    assert ist_epoch("2026-12-05 17:30:00") == NOON_S
    assert ist_epoch(None) == 0


def test_the_token_is_never_shown() -> None:
    creds = Credentials("key123", TOKEN)
    assert TOKEN not in repr(creds)
    assert creds.headers() == {"X-Kite-Version": "3", "Authorization": f"token key123:{TOKEN}"}
    url = creds.ticker_url("wss://ws.kite.trade")
    assert url == "wss://ws.kite.trade?api_key=key123&access_token=s3cr%2Fet%2Btok%3Den"
    text = f"403, message='Invalid response status', url={url!r} (raw {TOKEN})"
    assert TOKEN not in redact(text, creds)
    assert "s3cr%2Fet%2Btok%3Den" not in redact(text, creds)
    assert redact(text, creds).count("***") == 2


def test_the_token_file_renews_the_credentials(tmp_path: Path) -> None:
    path = tmp_path / "token"
    source = TokenSource(Credentials("key", "day1"), path)
    assert source.renewed("day1") is None  # no file yet
    path.write_text("day1\n")
    assert source.renewed("day1") is None  # the same token as refused
    path.write_text("half written\n")
    assert source.renewed("day1") is None  # not a token
    path.write_text(" day2 \n")
    renewed = source.renewed("day1")
    assert renewed == Credentials("key", "day2")
    assert source.credentials is renewed
    assert TokenSource(Credentials("key", "day1")).renewed("day1") is None  # no file at all
