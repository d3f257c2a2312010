"""The simulator's side of the ticker protocol: packets and frames as Kite sends them,
and ``/quote`` entries. Integers big-endian; prices in paise (the rows' units)."""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable, Sequence
from typing import Any

from feed_generator.venues.kite.sim.market import IndexRow, TradableRow

HEARTBEAT = b"\x00"
"""The one-byte keep-alive frame."""
_LTP = struct.Struct(">Ii")
_QUOTE = struct.Struct(">IiiiIii4i")
_FULL = struct.Struct(">IiiiIii4i5I" + "iiH2x" * 10)
_INDEX_QUOTE = struct.Struct(">I6i")
_INDEX_FULL = struct.Struct(">I6iI")
_LENGTH = struct.Struct(">H")
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def full(row: TradableRow) -> bytes:
    """The 184-byte full packet of ``row``."""
    return _FULL.pack(*row)


def quote(row: TradableRow) -> bytes:
    """The 44-byte quote packet of ``row``."""
    return _QUOTE.pack(*row[:11])


def ltp(row: TradableRow | IndexRow) -> bytes:
    """The 8-byte LTP packet of ``row`` (tradable or index)."""
    return _LTP.pack(row[0], row[1])


def index(row: IndexRow, with_time: bool) -> bytes:
    """The index packet of ``row``: 32 bytes (full) ``with_time``, else 28 (quote)."""
    return _INDEX_FULL.pack(*row) if with_time else _INDEX_QUOTE.pack(*row[:7])


def frame(packets: Sequence[bytes]) -> bytes:
    """The packet count, then each packet after its length."""
    parts = [_LENGTH.pack(len(packets))]
    for packet in packets:
        parts.append(_LENGTH.pack(len(packet)))
        parts.append(packet)
    return b"".join(parts)


def frames(packets: Sequence[bytes], most: int = 3000) -> Iterable[bytes]:
    """``packets`` in frames of at most ``most`` (a frame's count is 16 bits)."""
    for start in range(0, len(packets), most):
        yield frame(packets[start : start + most])


def _ist(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, IST).strftime("%Y-%m-%d %H:%M:%S")


def quote_entry(row: TradableRow) -> dict[str, Any]:
    """A tradable instrument's ``/quote`` entry: rupees, times ``YYYY-MM-DD HH:MM:SS`` IST."""
    r = [v / 100 for v in row[:11]]
    levels = [
        {"price": row[i + 1] / 100, "quantity": row[i], "orders": row[i + 2]}
        for i in range(16, 46, 3)
    ]  # fmt: skip
    return {
        "instrument_token": row[0], "timestamp": _ist(row[15]), "last_trade_time": _ist(row[11]),
        "last_price": r[1], "last_quantity": row[2], "buy_quantity": row[5],
        "sell_quantity": row[6], "volume": row[4], "average_price": r[3], "oi": row[12],
        "oi_day_high": row[13], "oi_day_low": row[14], "net_change": 0,
        "lower_circuit_limit": 0.05, "upper_circuit_limit": round(r[10] * 3, 2),
        "ohlc": {"open": r[7], "high": r[8], "low": r[9], "close": r[10]},
        "depth": {"buy": levels[:5], "sell": levels[5:]},
    }  # fmt: skip


def index_entry(row: IndexRow) -> dict[str, Any]:
    """An index's ``/quote`` entry (no depth, no OI)."""
    token, last, high, low, open_, close, change, stamp = row
    return {
        "instrument_token": token, "timestamp": _ist(stamp), "last_price": last / 100,
        "net_change": change / 100, "ohlc": {"open": open_ / 100, "high": high / 100,
                                             "low": low / 100, "close": close / 100},
    }  # fmt: skip
