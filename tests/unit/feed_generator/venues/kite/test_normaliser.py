"""Kite packets → ``market:*`` messages, values hand-checked: paise → rupees, bid/ask from
the best depth level, OI, the 15:30 IST expiry, chains aligned by strike."""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import msgspec
import pytest

from common.messages import OptionType, decode_message
from common.names import Channel
from feed_generator.venues.kite.normaliser import KiteOption, Normaliser
from feed_generator.venues.kite.packets import (
    DepthLevel,
    FullPacket,
    IndexPacket,
    LtpPacket,
    QuotePacket,
    decode_frame,
)
from feed_generator.venues.rejects import Rejected

NOON = dt.datetime(2026, 12, 5, 12, tzinfo=dt.UTC)
NOON_S = 1796472000  # 2026-12-05T12:00:00Z
NIFTY_INDEX = 256265  # & 0xff = 9: the indices segment
CALL_TOKEN = (47_000 << 8) | 2  # NFO
PUT_TOKEN = (47_001 << 8) | 2
PUT_UP_TOKEN = (47_002 << 8) | 2
EXPIRY = dt.date(2026, 12, 8)
OPTIONS = [
    KiteOption(CALL_TOKEN, "NIFTY26D0824500CE", "NIFTY", EXPIRY, 24500.0, OptionType.CALL),
    KiteOption(PUT_TOKEN, "NIFTY26D0824500PE", "NIFTY", EXPIRY, 24500.0, OptionType.PUT),
    KiteOption(PUT_UP_TOKEN, "NIFTY26D0824600PE", "NIFTY", EXPIRY, 24600.0, OptionType.PUT),
]


def frame(*packets: bytes) -> bytes:
    """The documented frame: packet count, then each packet behind its 2-byte length."""
    body = b"".join(struct.pack(">H", len(p)) + p for p in packets)
    return struct.pack(">H", len(packets)) + body


def full_packet(token: int, bid: tuple[int, int], ask: tuple[int, int]) -> bytes:
    """184 bytes: last 123.45, volume 98,765, OI 1,234,500, one bid and one ask level."""
    head = struct.pack(
        ">IiiiIii4i5I", token, 12345, 75, 12320, 98_765, 4_500, 3_000,
        12000, 12500, 11900, 12100, NOON_S - 3, 1_234_500, 1_300_000, 1_200_000, NOON_S,
    )  # fmt: skip
    levels = [(bid[0], bid[1], 3)] + [(0, 0, 0)] * 4 + [(ask[0], ask[1], 5)] + [(0, 0, 0)] * 4
    return head + b"".join(struct.pack(">iiH2x", q, p, o) for q, p, o in levels)


def index_full(price_paise: int) -> bytes:
    return struct.pack(">I6iI", NIFTY_INDEX, price_paise, price_paise + 100, price_paise - 100,
                       price_paise, price_paise - 50, 50, NOON_S)  # fmt: skip


@pytest.fixture
def norm() -> Normaliser:
    n = Normaliser(NOON, lambda: NOON)
    n.set_instruments(OPTIONS, {NIFTY_INDEX: "NIFTY"})
    return n


def messages(norm: Normaliser, data: bytes) -> list[tuple[Channel, dict[str, Any]]]:
    packets, rejected = decode_frame(data)
    assert rejected == []
    out = norm.packets(packets)
    assert not any(isinstance(o, Rejected) for o in out)
    return out  # type: ignore[return-value]


def test_a_full_packet_gives_a_rupee_quote_with_depth_bid_ask_and_oi(norm: Normaliser) -> None:
    ((channel, quote),) = messages(
        norm, frame(full_packet(CALL_TOKEN, (750, 12340), (1500, 12355)))
    )
    assert channel is Channel.MARKET_OPTION_QUOTE
    assert quote == {
        "symbol": "NIFTY26D0824500CE", "product": "NIFTY", "expiry": "2026-12-08",
        "strike": 24500.0, "option_type": "CALL",
        "bid": 123.40, "ask": 123.55, "last": 123.45, "volume": 98_765, "oi": 1_234_500,
        "timestamp": "2026-12-05T12:00:00.000Z", "seq": quote["seq"], "venue": "kite",
        "currency": "INR", "expiry_ts": "2026-12-08T10:00:00.000Z",  # 15:30 IST
    }  # fmt: skip
    decode_message(channel, msgspec.json.encode(quote))  # valid on the wire


def test_an_index_packet_gives_the_underlying_in_rupees(norm: Normaliser) -> None:
    ((channel, tick),) = messages(norm, frame(index_full(2_450_025)))
    assert channel is Channel.MARKET_UNDERLYING
    assert (tick["product"], tick["price"], tick["volume"]) == ("NIFTY", 24500.25, 0)
    assert (tick["venue"], tick["currency"], tick["timestamp"]) == (
        "kite", "INR", "2026-12-05T12:00:00.000Z",
    )  # fmt: skip
    assert norm.spots == {"NIFTY": 24500.25}


def test_an_empty_book_side_quotes_zero(norm: Normaliser) -> None:
    ((_, quote),) = messages(norm, frame(full_packet(CALL_TOKEN, (0, 0), (1500, 12355))))
    assert (quote["bid"], quote["ask"]) == (0.0, 123.55)


def test_quote_and_ltp_packets_keep_the_depth_and_oi_of_the_last_full_packet(
    norm: Normaliser,
) -> None:
    quote_mode = QuotePacket(CALL_TOKEN, 124.0, 75, 123.0, 99_000, 1, 1, 120.0, 125.0, 119.0, 121.0)
    # Before the first full packet there is no book to keep: nothing (not bid 0 / ask 0).
    assert norm.packets([quote_mode, LtpPacket(CALL_TOKEN, 1.0)]) == []
    messages(norm, frame(full_packet(CALL_TOKEN, (750, 12340), (1500, 12355))))
    ((_, q1),) = norm.packets([quote_mode])  # type: ignore[misc]
    assert (q1["bid"], q1["ask"], q1["oi"], q1["last"], q1["volume"]) == (
        123.40, 123.55, 1_234_500, 124.0, 99_000,
    )  # fmt: skip
    ((_, q2),) = norm.packets([LtpPacket(CALL_TOKEN, 124.5)])  # type: ignore[misc]
    assert (q2["bid"], q2["last"], q2["volume"]) == (123.40, 124.5, 99_000)
    assert q2["seq"] == q1["seq"] + 1


def test_packets_of_tokens_not_followed_or_of_the_wrong_kind_are_refused(
    norm: Normaliser,
) -> None:
    stray = LtpPacket(999_001, 10.0)
    index_as_option = IndexPacket(CALL_TOKEN, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, NOON_S)
    zero_index = LtpPacket(NIFTY_INDEX, 0.0)
    out = norm.packets([stray, index_as_option, zero_index])
    reasons = [o.reason for o in out if isinstance(o, Rejected)]
    assert len(reasons) == 3
    assert "not followed" in reasons[0]
    assert "index packet" in reasons[1]
    assert "no price" in reasons[2]


def test_chains_align_rows_by_strike_with_the_index_as_spot(norm: Normaliser) -> None:
    assert norm.chains() == []  # no quote yet
    messages(norm, frame(full_packet(CALL_TOKEN, (750, 12340), (1500, 12355)),
                         full_packet(PUT_UP_TOKEN, (50, 20000), (50, 20100))))  # fmt: skip
    assert norm.chains() == []  # no spot yet: no chain
    messages(norm, frame(index_full(2_450_025)))
    (chain,) = norm.chains()
    assert (chain["product"], chain["expiry"], chain["spot_price"]) == (
        "NIFTY", "2026-12-08", 24500.25,
    )  # fmt: skip
    assert chain["strikes"] == [24500.0, 24600.0]
    assert chain["calls"][0] == {"strike": 24500.0, "bid": 123.40, "ask": 123.55, "last": 123.45,
                                 "volume": 98_765, "oi": 1_234_500}  # fmt: skip
    assert chain["calls"][1] == {"strike": 24600.0, "bid": 0, "ask": 0, "last": 0,
                                 "volume": 0, "oi": 0}  # fmt: skip
    assert chain["puts"][1]["bid"] == 200.0
    assert chain["puts"][0]["ask"] == 0
    assert chain["expiry_ts"] == "2026-12-08T10:00:00.000Z"
    decode_message(Channel.MARKET_OPTION_CHAIN, msgspec.json.encode(chain))


def test_an_expired_chain_is_no_longer_made() -> None:
    now = [NOON]
    norm = Normaliser(NOON, lambda: now[0])
    norm.set_instruments(OPTIONS, {NIFTY_INDEX: "NIFTY"})
    messages(norm, frame(index_full(2_450_025), full_packet(CALL_TOKEN, (1, 100), (1, 105))))
    assert len(norm.chains()) == 1
    now[0] = dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC)  # 15:30 IST on the expiry date
    assert norm.chains() == []


def test_a_refresh_forgets_the_quotes_of_options_no_longer_followed(norm: Normaliser) -> None:
    messages(norm, frame(index_full(2_450_025), full_packet(CALL_TOKEN, (1, 100), (1, 105))))
    norm.set_instruments(OPTIONS[1:], {NIFTY_INDEX: "NIFTY"})
    assert norm.chains() == []
    (out,) = norm.packets([LtpPacket(CALL_TOKEN, 1.0)])
    assert isinstance(out, Rejected)


def test_a_packet_without_exchange_time_is_stamped_now(norm: Normaliser) -> None:
    packet = FullPacket(CALL_TOKEN, 1.0, 1, 1.0, 1, 1, 1, 1.0, 1.0, 1.0, 1.0, 0, 5, 5, 5, 0,
                        (DepthLevel(1, 0.95, 1),), (DepthLevel(1, 1.05, 1),))  # fmt: skip
    ((_, quote),) = norm.packets([packet])  # type: ignore[misc]
    assert quote["timestamp"] == "2026-12-05T12:00:00.000Z"
    assert (quote["bid"], quote["ask"], quote["oi"]) == (0.95, 1.05, 5)
