"""The Kite ticker decoder against packets packed here, field by field, from the documented
layout (kite.trade/docs/connect/v3/websocket) — not with the simulator's encoder."""

from __future__ import annotations

import struct

import msgspec
import pytest

from feed_generator.venues.kite.packets import (
    FAST_PATH_MIN,
    MAX_FRAME_BYTES,
    DepthLevel,
    FullPacket,
    IndexPacket,
    LtpPacket,
    Mode,
    QuotePacket,
    TextMessage,
    decode_frame,
    decode_text,
    divisor,
    is_heartbeat,
    mode_message,
    subscribe_message,
    unsubscribe_message,
)
from feed_generator.venues.rejects import Rejected

NIFTY_50 = 256265  # 0x3E909: segment 9, indices
NFO_OPTION = 12_345_602  # 0xBC6102: segment 2, NFO
CDS_FUTURE = 1_234_435  # 0x12D603: segment 3, CDS
BCD_FUTURE = 1_234_438  # 0x12D606: segment 6, BCD


def frame(*packets: bytes) -> bytes:
    """Count, then each packet after its length: the documented message structure."""
    out = struct.pack(">H", len(packets))
    for packet in packets:
        out += struct.pack(">H", len(packet)) + packet
    return out


def ltp(token: int, price: int) -> bytes:
    return struct.pack(">ii", token, price)


def index_quote(token: int = NIFTY_50, ltp: int = 2_412_345, high: int = 2_420_000,
                low: int = 2_400_050, open_: int = 2_405_000, close: int = 2_398_000,
                change: int = 14_345) -> bytes:  # fmt: skip
    return struct.pack(">7i", token, ltp, high, low, open_, close, change)


def quote(token: int = NFO_OPTION, **over: int) -> bytes:
    fields = {
        "ltp": 12_345, "last_qty": 75, "avg": 12_210, "volume": 3_000_000_000, "buy": 180_000,
        "sell": 210_000, "open": 11_000, "high": 13_000, "low": 10_500, "close": 11_800,
    } | over  # fmt: skip
    return struct.pack(">i i i i I i i 4i", token, *fields.values())


def depth(entries: list[tuple[int, int, int]]) -> bytes:
    """Ten entries: int32 quantity, int32 price, int16 orders, two bytes of padding."""
    return b"".join(struct.pack(">iih", q, p, o) + b"\x00\x00" for q, p, o in entries)


BIDS = [(750, 12_340, 3), (1500, 12_335, 5), (225, 12_330, 1), (3000, 12_300, 12), (75, 12_250, 1)]
ASKS = [(300, 12_350, 2), (900, 12_355, 4), (150, 12_360, 1), (600, 12_400, 3), (75, 12_500, 1)]


def full(token: int = NFO_OPTION, bids: list[tuple[int, int, int]] = BIDS,
         asks: list[tuple[int, int, int]] = ASKS, **over: int) -> bytes:  # fmt: skip
    extra = struct.pack(">5I", 1_796_472_001, 4_500_000, 4_650_000, 4_200_000, 1_796_472_002)
    return quote(token, **over) + extra + depth(bids + asks)


def test_heartbeat_is_one_byte_and_decodes_to_nothing() -> None:
    assert is_heartbeat(b"\x00")
    assert not is_heartbeat(frame())
    assert decode_frame(b"\x00") == ([], [])
    assert decode_frame(frame()) == ([], [])


def test_ltp_packet() -> None:
    packets, rejected = decode_frame(frame(ltp(NFO_OPTION, 12_345)))
    assert rejected == []
    assert packets == [LtpPacket(NFO_OPTION, 123.45)]


def test_index_quote_and_full_packets() -> None:
    body = index_quote()
    packets, rejected = decode_frame(frame(body, body + struct.pack(">I", 1_796_472_003)))
    assert rejected == []
    expected = IndexPacket(
        NIFTY_50, 24_123.45, 24_200.0, 24_000.5, 24_050.0, 23_980.0, 143.45, None
    )
    assert packets[0] == expected
    assert packets[1] == msgspec.structs.replace(expected, exchange_ts=1_796_472_003)


def test_forum_nifty_50_index_packet() -> None:
    """The 32-byte frame a user posted (kite.trade/forum/discussion/comment/5126/): one
    28-byte NIFTY 50 quote packet, its bytes exactly as listed there."""
    posted = bytes([0, 1, 0, 28, 0, 3, 233, 9, 0, 13, 237, 45, 0, 13, 253, 24, 0, 13, 233, 14,
                    0, 13, 252, 215, 0, 13, 237, 45, 255, 255, 255, 220])  # fmt: skip
    packets, rejected = decode_frame(posted)
    assert rejected == []
    assert packets == [IndexPacket(256265, 9126.85, 9167.6, 9116.3, 9166.95, 9126.85, -0.36, None)]


def test_quote_packet_with_unsigned_volume_beyond_int32() -> None:
    packets, rejected = decode_frame(frame(quote()))
    assert rejected == []
    assert packets == [
        QuotePacket(
            NFO_OPTION,
            123.45,
            75,
            122.1,
            3_000_000_000,
            180_000,
            210_000,
            110.0,
            130.0,
            105.0,
            118.0,
        )
    ]


def test_full_packet_depth_oi_and_times() -> None:
    packets, rejected = decode_frame(frame(full()))
    assert rejected == []
    (packet,) = packets
    assert isinstance(packet, FullPacket)
    assert (packet.token, packet.last_price, packet.last_quantity) == (NFO_OPTION, 123.45, 75)
    assert (packet.average_price, packet.volume) == (122.1, 3_000_000_000)
    assert (packet.open, packet.high, packet.low, packet.close) == (110.0, 130.0, 105.0, 118.0)
    assert (packet.last_trade_ts, packet.exchange_ts) == (1_796_472_001, 1_796_472_002)
    assert (packet.oi, packet.oi_day_high, packet.oi_day_low) == (4_500_000, 4_650_000, 4_200_000)
    assert packet.bids[0] == DepthLevel(750, 123.4, 3)
    assert packet.bids[4] == DepthLevel(75, 122.5, 1)
    assert packet.asks[0] == DepthLevel(300, 123.5, 2)
    assert packet.asks[4] == DepthLevel(75, 125.0, 1)
    assert len(packet.bids) == len(packet.asks) == 5


def test_several_kinds_in_one_frame_in_order() -> None:
    data = frame(full(), ltp(NFO_OPTION + 256, 5), index_quote(), quote(), full(NFO_OPTION + 512))
    packets, rejected = decode_frame(data)
    assert rejected == []
    kinds = [type(p).__name__ for p in packets]
    assert kinds == ["FullPacket", "LtpPacket", "IndexPacket", "QuotePacket", "FullPacket"]
    assert packets[1] == LtpPacket(NFO_OPTION + 256, 0.05)
    assert packets[4].token == NFO_OPTION + 512


@pytest.mark.parametrize(
    ("token", "raw", "rupees"),
    [
        (NFO_OPTION, 1_234_567, 12_345.67),
        (CDS_FUTURE, 834_512_500, 83.45125),
        (BCD_FUTURE, 834_512, 83.4512),
        (NIFTY_50, 2_412_345, 24_123.45),
    ],
)
def test_segment_divisors(token: int, raw: int, rupees: float) -> None:
    (packet,), _ = decode_frame(frame(ltp(token, raw)))
    assert packet.last_price == pytest.approx(rupees, rel=1e-12)
    assert divisor(token) * packet.last_price == pytest.approx(raw)


def test_cds_full_packet_depth_uses_the_segment_divisor() -> None:
    bids = [(1, 834_500_000, 1)] + [(0, 0, 0)] * 4
    asks = [(1, 834_600_000, 1)] + [(0, 0, 0)] * 4
    prices = {"ltp": 834_512_500, "avg": 834_500_000, "open": 834_000_000,
              "high": 835_000_000, "low": 833_000_000, "close": 834_100_000}  # fmt: skip
    (packet,), rejected = decode_frame(frame(full(CDS_FUTURE, bids, asks, **prices)))
    assert rejected == []
    assert isinstance(packet, FullPacket)
    assert (packet.bids[0].price, packet.asks[0].price) == (83.45, 83.46)
    assert packet.bids[1] == DepthLevel(0, 0.0, 0)


def test_truncated_frame_keeps_the_packets_before_the_break() -> None:
    data = frame(ltp(NFO_OPTION, 100), full())
    packets, rejected = decode_frame(data[:-10])
    assert packets == [LtpPacket(NFO_OPTION, 1.0)]
    assert len(rejected) == 1
    assert "packet 2 of 2 truncated: 174 of 184 bytes" in rejected[0].reason
    assert rejected[0].excerpt == full()[:64].hex()


def test_frame_ending_before_a_length_and_count_beyond_the_data() -> None:
    data = struct.pack(">H", 3) + struct.pack(">H", 8) + ltp(NFO_OPTION, 5) + b"\x00"
    packets, rejected = decode_frame(data)
    assert packets == [LtpPacket(NFO_OPTION, 0.05)]
    assert [r.reason for r in rejected] == ["frame ends before packet 2 of 3"]
    huge_count = struct.pack(">H", 65_535)
    assert decode_frame(huge_count)[1][0].reason == "frame ends before packet 1 of 65535"


def test_trailing_bytes_and_unknown_lengths_are_rejected_the_rest_kept() -> None:
    odd = b"\x01" * 13
    packets, rejected = decode_frame(frame(ltp(NFO_OPTION, 5), odd, quote()) + b"\xde\xad")
    assert [type(p).__name__ for p in packets] == ["LtpPacket", "QuotePacket"]
    assert rejected[0] == Rejected("packet length 13 is no known kind (8, 28, 32, 44, 184)",
                                   odd.hex())  # fmt: skip
    assert rejected[1] == Rejected("2 bytes after the 3 packets announced", "dead")


def test_garbage_and_empty_frames_never_raise() -> None:
    for data in (b"", b"\xff\xff\xff", b"{not binary}", bytes(range(256)) * 3):
        packets, rejected = decode_frame(data)
        assert packets == []
        assert rejected, data
    assert decode_frame(b"")[1] == [Rejected("empty binary frame", "")]


def test_frame_too_large_is_refused_whole() -> None:
    data = frame(*[full()] * (MAX_FRAME_BYTES // 186 + 1))
    packets, rejected = decode_frame(data)
    assert packets == []
    assert rejected[0].reason.startswith("frame too large")


@pytest.mark.parametrize(
    ("packet", "reason"),
    [
        (ltp(NFO_OPTION, -5), "last price -5 out of range"),
        (ltp(NFO_OPTION, 2_000_000_000), "last price 2000000000 out of range"),
        (quote(ltp=-100), "a price out of range: (-100, "),
        (quote(last_qty=-75), "negative quantity in (-75, 180000, 210000)"),
        (quote(sell=-1), "negative quantity in (75, 180000, -1)"),
        (quote(high=10_000, low=10_500), "high 10000 below low 10500"),
        (full(bids=[(-1, 12340, 1), *BIDS[1:]]), "a depth entry out of range: (-1, 1500,"),
        (
            full(asks=[*ASKS[:4], (75, -12500, 1)]),
            "at (12340, 12335, 12330, 12300, 12250, 12350, 12355, 12360, 12400, -12500)",
        ),
        (full(bids=[(750, 12360, 3), *BIDS[1:]]), "crossed book: bid 123.6 > ask 123.5"),
        (index_quote(ltp=-1), "index price out of range"),
        (index_quote(high=1, low=2), "high 1 below low 2"),
        (index_quote(token=NFO_OPTION), "is tradable but came as a 28-byte index packet"),
        (quote(token=NIFTY_50), "is an index but came as a 44-byte tradable packet"),
    ],
)
def test_out_of_range_packets_are_rejected_alone(packet: bytes, reason: str) -> None:
    packets, rejected = decode_frame(frame(ltp(NFO_OPTION, 5), packet))
    assert packets == [LtpPacket(NFO_OPTION, 0.05)]
    assert len(rejected) == 1
    assert reason in rejected[0].reason
    assert rejected[0].excerpt == packet[:64].hex()


def test_one_sided_and_empty_books_are_not_crossed() -> None:
    empty = [(0, 0, 0)] * 5
    for bids, asks in ((empty, ASKS), (BIDS, empty), (empty, empty)):
        packets, rejected = decode_frame(frame(full(bids=bids, asks=asks)))
        assert rejected == []
        assert len(packets) == 1


def test_text_frames() -> None:
    assert decode_text('{"type": "error", "data": "Invalid access token"}') == TextMessage(
        "error", "Invalid access token"
    )
    order = decode_text(b'{"type":"order","data":{"order_id":"1","status":"COMPLETE"}}')
    assert order == TextMessage("order", {"order_id": "1", "status": "COMPLETE"})
    assert decode_text('{"type": "message", "data": "hello"}') == TextMessage("message", "hello")
    for bad, why in (("not json", "text frame refused"), ('{"data": 1}', "text frame refused"),
                     ('{"type": "evil"}', "unknown text message type"),
                     ("[" * 100_000, "text frame too large")):  # fmt: skip
        result = decode_text(bad)
        assert isinstance(result, Rejected)
        assert why in result.reason


def test_request_messages() -> None:
    assert subscribe_message([256265, 260105]) == '{"a":"subscribe","v":[256265,260105]}'
    assert unsubscribe_message([256265]) == '{"a":"unsubscribe","v":[256265]}'
    assert mode_message(Mode.FULL, [408065]) == '{"a":"mode","v":["full",[408065]]}'


def test_large_full_frames_decode_as_arrays_exactly_as_one_by_one() -> None:
    """Past FAST_PATH_MIN full packets a frame is decoded as arrays: the same packets, the
    same reasons, in order, as each packet decoded alone (divisors, unsigned volume too)."""
    bodies = [
        full(NFO_OPTION + 256 * i, ltp=10_000 + i, volume=3_000_000_000 + i) for i in range(30)
    ]
    bodies[3] = full(CDS_FUTURE, [(1, 834500000, 1), *BIDS[1:]], [(1, 834600000, 1), *ASKS[1:]],
                     ltp=834_512_500, avg=834_500_000, open=834_000_000, high=835_000_000,
                     low=833_000_000, close=834_100_000)  # fmt: skip
    bodies[5] = full(bids=[(750, 12360, 3), *BIDS[1:]])  # crossed
    bodies[17] = full(last_qty=-1)
    bodies[29] = full(asks=[*ASKS[:4], (75, 2000000000, 1)])  # beyond the sanity bound
    assert len(bodies) > FAST_PATH_MIN
    packets, rejected = decode_frame(frame(*bodies))
    alone = [decode_frame(frame(body)) for body in bodies]
    assert packets == [p for ps, _ in alone for p in ps]
    assert rejected == [r for _, rs in alone for r in rs]
    assert len(packets) == 27
    assert [r.excerpt for r in rejected] == [bodies[i][:64].hex() for i in (5, 17, 29)]
    cds = packets[3]
    assert isinstance(cds, FullPacket)
    assert (cds.last_price, cds.bids[0].price, cds.asks[0].price) == (83.45125, 83.45, 83.46)
    assert packets[0].volume == 3_000_000_000  # type: ignore[union-attr]


def test_large_mixed_frame_takes_the_one_by_one_path() -> None:
    bodies = [full(NFO_OPTION + 256 * i) for i in range(FAST_PATH_MIN + 1)] + [ltp(NFO_OPTION, 5)]
    packets, rejected = decode_frame(frame(*bodies))
    assert rejected == []
    assert packets[-1] == LtpPacket(NFO_OPTION, 0.05)
    assert len(packets) == len(bodies)
