"""Hostile frames of each spot protocol: frames a client must dead-letter, never publish.

Each is malformed (not JSON, truncated, nested beyond reason, 2 MiB), mistyped (a number
where the venue sends a string), out of range (``NaN``, negative, zero, overflowing
prices), a crossed book, a book 10 % wide, or names what was not subscribed.
"""

from __future__ import annotations

import json

__all__ = ["BINANCE_HOSTILE", "COINBASE_HOSTILE", "HUGE_FRAME_BYTES"]

HUGE_FRAME_BYTES = 2 << 20
"""Size of the ``huge`` frame (2 MiB): far above any sane book ticker."""
_COMMON: dict[str, bytes] = {
    "garbage": b"\x00\xff{{not json at all",
    "not_an_object": b"[1, 2, 3]",
    "deep_nesting": b"[" * 50_000 + b"]" * 50_000,
    "huge": b'{"stream":"btcusdt@bookTicker","type":"ticker","x":"'
    + b"A" * HUGE_FRAME_BYTES
    + b'"}',
}


def _binance(b: object = "95000.00", a: object = "95000.02", s: str = "BTCUSDT",
             stream: str = "btcusdt@bookTicker", u: int = 10**12) -> bytes:  # fmt: skip
    data = {"u": u, "s": s, "b": b, "B": "1.5", "a": a, "A": "2.0"}
    return json.dumps({"stream": stream, "data": data}).encode()


def _coinbase(bid: object = "95000.00", ask: object = "95000.02", product: str = "BTC-USD",
              time: str = "", sequence: int = 10**12) -> bytes:  # fmt: skip
    frame = {"type": "ticker", "sequence": sequence, "product_id": product, "price": "95000.01",
             "best_bid": bid, "best_bid_size": "0.5", "best_ask": ask, "best_ask_size": "0.7",
             "side": "buy", "time": time or "{now}", "trade_id": 1}  # fmt: skip
    return json.dumps(frame).encode()


BINANCE_HOSTILE: dict[str, bytes] = {
    **_COMMON,
    "truncated": _binance()[:50],
    "wrong_type": _binance(b=95000.0),
    "nan_price": _binance(b="NaN"),
    "negative_price": _binance(b="-95000.00"),
    "zero_bid": _binance(b="0.00000000"),
    "overflow_price": _binance(a="1e400"),
    "crossed_book": _binance(b="95010.00", a="95000.00"),
    "wide_spread": _binance(b="90000.00", a="99000.00"),
    "unknown_symbol": _binance(s="DOGEUSDT", stream="dogeusdt@bookTicker"),
    "stream_mismatch": _binance(stream="ethusdt@bookTicker"),
}
"""Named Binance frames (combined-stream shape) a client must reject."""

COINBASE_HOSTILE: dict[str, bytes] = {
    **_COMMON,
    "truncated": _coinbase()[:50],
    "wrong_type": _coinbase(bid=95000.0),
    "nan_price": _coinbase(bid="NaN"),
    "negative_price": _coinbase(bid="-95000.00"),
    "overflow_price": _coinbase(ask="1e400"),
    "crossed_book": _coinbase(bid="95010.00", ask="95000.00"),
    "wide_spread": _coinbase(bid="90000.00", ask="99000.00"),
    "unknown_product": _coinbase(product="DOGE-USD"),
    "bad_time": _coinbase(time="yesterday"),
    "future_time": _coinbase(time="2999-01-01T00:00:00.000000Z"),
    "missing_bid": b'{"type":"ticker","sequence":1,"product_id":"BTC-USD","time":"{now}",'
    b'"best_ask":"95000.02"}',
}
"""Named Coinbase ``ticker`` frames a client must reject (``{now}`` is replaced by the send
time, so only the named fault is wrong)."""
