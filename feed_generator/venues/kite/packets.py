"""Kite ticker frames → typed packets, or a :class:`Rejected` with the reason.

A binary frame is a big-endian ``uint16`` packet count, then each packet as a
``uint16`` length and that many bytes. The length tells the packet's kind: 8 LTP,
28 index quote, 32 index full, 44 quote, 184 full (see the package's protocol note).
Prices are integers in the segment's smallest unit (paise for NSE/NFO, ÷100; CDS
÷10,000,000; BCD ÷10,000; segment = ``token & 0xff``); a decoded packet carries rupees.

Every frame is untrusted: a frame that ends inside a packet, a length that is no
packet kind, bytes left after the last packet, a negative price or quantity, a price
beyond :data:`MAX_PRICE`, ``high < low`` or a crossed top of book give a ``Rejected``
(reason and a hex excerpt) for that packet, and the other packets of the frame are
kept. Nothing raises out of :func:`decode_frame` or :func:`decode_text`. Each packet is
read with one precompiled :class:`struct.Struct` ``unpack_from``, no slicing.
"""

from __future__ import annotations

import operator
import struct
from enum import StrEnum
from typing import Any

import msgspec
import numpy as np
from numpy.typing import NDArray

from feed_generator.venues.rejects import Rejected

MAX_FRAME_BYTES = 1 << 20
"""Largest binary frame accepted: 3,000 full packets (the per-connection cap) are 558,002."""
MAX_TEXT_BYTES = 64 << 10
"""Largest text frame accepted (errors, messages and order postbacks are a few hundred)."""
MAX_PRICE = 10_000_000.0
"""Sanity bound on any price, rupees (a crore; NSE's dearest share is under two lakh)."""
EXCERPT_BYTES = 64
"""Bytes of a rejected packet (or frame) kept, as hex, with its reason."""
DEPTH_LEVELS = 5
"""Bid and ask entries in a full packet (five of each, bids first)."""

SEGMENT_CDS, SEGMENT_BCD, SEGMENT_INDICES = 3, 6, 9
"""``token & 0xff`` of currency derivatives, BSE currency derivatives and indices."""
_DIVISORS = {SEGMENT_CDS: 10_000_000.0, SEGMENT_BCD: 10_000.0}
PAISE = 100.0
"""Divisor of every other segment: prices come in paise."""


class Mode(StrEnum):
    """Subscription modes (``{"a": "mode", "v": [mode, tokens]}``)."""

    LTP = "ltp"
    QUOTE = "quote"
    FULL = "full"


class DepthLevel(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One market-depth entry: ``quantity`` in units, ``price`` in rupees, resting ``orders``."""

    quantity: int
    price: float
    orders: int


class LtpPacket(msgspec.Struct, frozen=True, gc=False):
    """``ltp`` mode (8 bytes): the last traded price, rupees."""

    token: int
    last_price: float


class IndexPacket(msgspec.Struct, frozen=True, gc=False):
    """An index in ``quote`` (28 bytes) or ``full`` (32, with ``exchange_ts``) mode; rupees.

    ``change`` is the packet's own "price change" field ÷ the divisor; its base is not
    documented (see the protocol note): compute changes from ``last_price`` and ``close``.
    """

    token: int
    last_price: float
    high: float
    low: float
    open: float
    close: float
    change: float
    exchange_ts: int | None
    """Epoch seconds, as sent; ``None`` in quote mode."""


class _TradableFields(msgspec.Struct, frozen=True, gc=False):
    """The fields a quote and a full packet share. Prices rupees, quantities units; ``volume``
    is the day's traded quantity, ``close`` the previous session's close."""

    token: int
    last_price: float
    last_quantity: int
    average_price: float
    volume: int
    buy_quantity: int
    sell_quantity: int
    open: float
    high: float
    low: float
    close: float


class QuotePacket(_TradableFields, frozen=True, gc=False):
    """A tradable instrument in ``quote`` mode (44 bytes)."""


class FullPacket(_TradableFields, frozen=True, gc=False):
    """A tradable instrument in ``full`` mode (184 bytes): the quote's fields, then times in
    epoch seconds, open interest in units, and five depth levels a side (best first).
    Not a :class:`QuotePacket` (``isinstance`` tells the two apart)."""

    last_trade_ts: int
    oi: int
    oi_day_high: int
    oi_day_low: int
    exchange_ts: int
    bids: tuple[DepthLevel, ...]
    asks: tuple[DepthLevel, ...]


class TextMessage(msgspec.Struct, frozen=True):
    """A text frame: ``type`` ``error`` | ``message`` | ``order`` and its ``data``."""

    type: str
    data: Any = None


Packet = LtpPacket | IndexPacket | QuotePacket | FullPacket
TEXT_TYPES = frozenset({"error", "message", "order"})

# Prices and quantities are signed (int32, as documented): a negative one is refused,
# not read as 4 billion. Volume, open interest, times and a depth entry's order count
# are unsigned (as pykiteconnect reads every field), so a day's volume past 2**31 units
# stays valid.
_COUNT = struct.Struct(">H")
_LTP = struct.Struct(">Ii")
_INDEX_QUOTE = struct.Struct(">I6i")
_INDEX_FULL = struct.Struct(">I6iI")
_QUOTE_FIELDS = ">IiiiIii4i"
_QUOTE = struct.Struct(_QUOTE_FIELDS)
_FULL = struct.Struct(_QUOTE_FIELDS + "5I" + "iiH2x" * (2 * DEPTH_LEVELS))
_PRICES = operator.itemgetter(1, 3, 7, 8, 9, 10)
"""The prices among a quote's (and a full packet's) unpacked fields."""
_QUANTITIES = operator.itemgetter(2, 5, 6)
_DEPTH_START = 16
"""Position of the first depth field in a full packet's unpacked fields."""
_TEXT = msgspec.json.Decoder(TextMessage)
_FULL_STRIDE = 186
"""A full packet with its length prefix, bytes."""
FAST_PATH_MIN = 16
"""Frames of more full packets than this are decoded as arrays (faster from about there)."""
_DEPTH_DTYPE = np.dtype([("quantity", ">i4"), ("price", ">i4"), ("orders", ">u2"), ("pad", "V2")])
_FULL_DTYPE = np.dtype([
    ("length", ">u2"), ("token", ">u4"), ("q", ">i4", 10), ("tail", ">u4", 5),
    ("depth", _DEPTH_DTYPE, 2 * DEPTH_LEVELS),
])  # fmt: skip
"""A full packet with its length prefix; ``q`` holds the quote fields after the token
(read signed: volume, at 3, is made unsigned after the read)."""


def divisor(token: int) -> float:
    """What a price of ``token``'s segment is divided by to give rupees."""
    return _DIVISORS.get(token & 0xFF, PAISE)


def is_heartbeat(data: bytes) -> bool:
    """A one-byte binary frame: Kite's keep-alive while no quote changes."""
    return len(data) == 1


def _hex(data: bytes | memoryview) -> str:
    return bytes(data[:EXCERPT_BYTES]).hex()


def decode_frame(data: bytes) -> tuple[list[Packet], list[Rejected]]:
    """The packets of one binary frame, and a :class:`Rejected` for each part that is not one.

    A heartbeat gives ``([], [])``. A frame that ends early keeps the packets before the
    break; bytes after the announced packets are rejected; it never raises.
    """
    size = len(data)
    if size == 1:
        return [], []
    if size < 2:
        return [], [Rejected("empty binary frame", "")]
    if size > MAX_FRAME_BYTES:
        return [], [Rejected(f"frame too large: {size} > {MAX_FRAME_BYTES} bytes", _hex(data))]
    (count,) = _COUNT.unpack_from(data, 0)
    if count > FAST_PATH_MIN and size == 2 + count * _FULL_STRIDE:
        fast = _full_frame(data, count)
        if fast is not None:
            return fast
    view = memoryview(data)
    packets: list[Packet] = []
    rejected: list[Rejected] = []
    offset = 2
    for index in range(count):
        if offset + 2 > size:
            reason = f"frame ends before packet {index + 1} of {count}"
            rejected.append(Rejected(reason, _hex(view[offset:])))
            return packets, rejected
        (length,) = _COUNT.unpack_from(data, offset)
        start, offset = offset + 2, offset + 2 + length
        if offset > size:
            reason = f"packet {index + 1} of {count} truncated: {size - start} of {length} bytes"
            rejected.append(Rejected(reason, _hex(view[start:])))
            return packets, rejected
        packet = _packet(data, start, length)
        if isinstance(packet, str):
            rejected.append(Rejected(packet, _hex(view[start:offset])))
        else:
            packets.append(packet)
    if offset != size:
        reason = f"{size - offset} bytes after the {count} packets announced"
        rejected.append(Rejected(reason, _hex(view[offset:])))
    return packets, rejected


def _full_frame(data: bytes, count: int) -> tuple[list[Packet], list[Rejected]] | None:
    """A frame of ``count`` full packets and nothing else, checked and scaled as arrays;
    ``None`` if any length is not 184. A refused packet takes the one-by-one path, which
    gives its reason; the others keep their order."""
    rows = np.frombuffer(data, _FULL_DTYPE, count, offset=2)
    if not (rows["length"] == 184).all():
        return None
    token, depth = rows["token"].astype(np.int64), rows["depth"]
    scale = np.where(
        token & 0xFF == SEGMENT_CDS, 1e7, np.where(token & 0xFF == SEGMENT_BCD, 1e4, PAISE)
    )
    q = rows["q"].astype(np.int64)
    q[:, 3] &= 0xFFFFFFFF  # volume is unsigned
    dq, dp = depth["quantity"].astype(np.int64), depth["price"].astype(np.int64)
    bad = _refused(token, q, dq, dp, MAX_PRICE * scale).tolist()
    columns = (q / scale[:, None]).tolist(), q.tolist(), rows["tail"].tolist()
    flat = list(map(DepthLevel, dq.ravel().tolist(), (dp / scale[:, None]).ravel().tolist(),
                    depth["orders"].ravel().tolist()))  # fmt: skip
    packets: list[Packet] = []
    rejected: list[Rejected] = []
    for i, (t, p, n, tail) in enumerate(zip(token.tolist(), *columns, strict=True)):
        if bad[i]:
            start = 4 + i * _FULL_STRIDE
            checked = _packet(data, start, 184)  # the reason (a packet if the two disagree)
            if isinstance(checked, str):
                rejected.append(Rejected(checked, data[start : start + EXCERPT_BYTES].hex()))
            else:
                packets.append(checked)
            continue
        d = 2 * DEPTH_LEVELS * i
        packets.append(FullPacket(
            t, p[0], n[1], p[2], n[3], n[4], n[5], p[6], p[7], p[8], p[9],
            tail[0], tail[1], tail[2], tail[3], tail[4],
            tuple(flat[d : d + DEPTH_LEVELS]), tuple(flat[d + DEPTH_LEVELS : d + 2 * DEPTH_LEVELS]),
        ))  # fmt: skip
    return packets, rejected


def _refused(
    token: NDArray[np.int64], q: NDArray[np.int64], dq: NDArray[np.int64], dp: NDArray[np.int64],
    bound: NDArray[np.float64],
) -> NDArray[np.bool_]:  # fmt: skip
    """Which full packets :func:`_check_quote` or :func:`_full` would refuse."""
    prices = q[:, [0, 2, 6, 7, 8, 9]]
    bid, ask = dp[:, 0], dp[:, DEPTH_LEVELS]
    return np.asarray(
        (token & 0xFF == SEGMENT_INDICES)
        | (prices.min(axis=1) < 0)
        | (prices.max(axis=1) > bound)
        | (q[:, [1, 4, 5]].min(axis=1) < 0)
        | (q[:, 7] < q[:, 8])
        | (dq.min(axis=1) < 0)
        | (dp.min(axis=1) < 0)
        | (dp.max(axis=1) > bound)
        | ((bid > 0) & (ask > 0) & (bid > ask))
    )


def _packet(data: bytes, start: int, length: int) -> Packet | str:
    """The packet of ``length`` bytes at ``start``, or why it is refused."""
    if length == 184:
        return _full(_FULL.unpack_from(data, start))
    if length == 44:
        fields = _QUOTE.unpack_from(data, start)
        refused = _check_quote(fields, length)
        return refused if refused is not None else _quote(fields)
    if length == 8:
        token, price = _LTP.unpack_from(data, start)
        if not 0 <= price <= MAX_PRICE * divisor(token):
            return f"token {token}: last price {price} out of range"
        return LtpPacket(token, price / divisor(token))
    if length in (28, 32):
        return _index(data, start, length)
    return f"packet length {length} is no known kind (8, 28, 32, 44, 184)"


def _check_quote(f: tuple[int, ...], length: int) -> str | None:
    """Why a quote's (or full packet's) leading fields are refused, or ``None``."""
    token = f[0]
    if token & 0xFF == SEGMENT_INDICES:
        return f"token {token} is an index but came as a {length}-byte tradable packet"
    prices = _PRICES(f)
    if min(prices) < 0 or max(prices) > MAX_PRICE * divisor(token):
        return f"token {token}: a price out of range: {prices}"
    if f[2] < 0 or f[5] < 0 or f[6] < 0:
        return f"token {token}: negative quantity in {_QUANTITIES(f)}"
    if f[8] < f[9]:
        return f"token {token}: high {f[8]} below low {f[9]}"
    return None


def _quote(f: tuple[int, ...]) -> QuotePacket:
    s = divisor(f[0])
    return QuotePacket(
        f[0], f[1] / s, f[2], f[3] / s, f[4], f[5], f[6], f[7] / s, f[8] / s, f[9] / s, f[10] / s
    )


def _full(f: tuple[int, ...]) -> FullPacket | str:
    refused = _check_quote(f, 184)
    if refused is not None:
        return refused
    token, s = f[0], divisor(f[0])
    quantities, prices = f[_DEPTH_START::3], f[_DEPTH_START + 1 :: 3]
    if min(quantities) < 0 or min(prices) < 0 or max(prices) > MAX_PRICE * s:
        return f"token {token}: a depth entry out of range: {quantities} at {prices}"
    best_bid, best_ask = prices[0], prices[DEPTH_LEVELS]
    if best_bid > 0 and best_ask > 0 and best_bid > best_ask:
        return f"token {token}: crossed book: bid {best_bid / s} > ask {best_ask / s}"
    levels = list(map(DepthLevel, quantities, [p / s for p in prices], f[_DEPTH_START + 2 :: 3]))
    return FullPacket(
        token, f[1] / s, f[2], f[3] / s, f[4], f[5], f[6], f[7] / s, f[8] / s, f[9] / s,
        f[10] / s, f[11], f[12], f[13], f[14], f[15],
        tuple(levels[:DEPTH_LEVELS]), tuple(levels[DEPTH_LEVELS:]),
    )  # fmt: skip


def _index(data: bytes, start: int, length: int) -> IndexPacket | str:
    f = (_INDEX_FULL if length == 32 else _INDEX_QUOTE).unpack_from(data, start)
    token = f[0]
    if token & 0xFF != SEGMENT_INDICES:
        return f"token {token} is tradable but came as a {length}-byte index packet"
    s = divisor(token)
    bound = MAX_PRICE * s
    if not all(0 <= price <= bound for price in f[1:6]):
        return f"token {token}: index price out of range: {f[1:6]}"
    if f[2] < f[3]:
        return f"token {token}: high {f[2]} below low {f[3]}"
    exchange_ts = f[7] if length == 32 else None
    return IndexPacket(
        token, f[1] / s, f[2] / s, f[3] / s, f[4] / s, f[5] / s, f[6] / s, exchange_ts
    )


def decode_text(text: str | bytes) -> TextMessage | Rejected:
    """A text frame (``{"type": …, "data": …}``), or why it is refused."""
    if len(text) > MAX_TEXT_BYTES:
        return Rejected(f"text frame too large: {len(text)} > {MAX_TEXT_BYTES}", str(text[:200]))
    try:
        message = _TEXT.decode(text)
    except (ValueError, RecursionError) as exc:  # msgspec's DecodeError is a ValueError
        return Rejected(f"text frame refused: {exc}", _text_excerpt(text))
    if message.type not in TEXT_TYPES:
        return Rejected(f"unknown text message type {message.type!r:.40}", _text_excerpt(text))
    return message


def _text_excerpt(text: str | bytes) -> str:
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    return raw[: EXCERPT_BYTES * 4].decode("utf-8", "replace")


def subscribe_message(tokens: list[int]) -> str:
    """``{"a": "subscribe", "v": [tokens]}``."""
    return msgspec.json.encode({"a": "subscribe", "v": tokens}).decode()


def unsubscribe_message(tokens: list[int]) -> str:
    """``{"a": "unsubscribe", "v": [tokens]}``."""
    return msgspec.json.encode({"a": "unsubscribe", "v": tokens}).decode()


def mode_message(mode: Mode, tokens: list[int]) -> str:
    """``{"a": "mode", "v": [mode, [tokens]]}``."""
    return msgspec.json.encode({"a": "mode", "v": [mode.value, tokens]}).decode()
