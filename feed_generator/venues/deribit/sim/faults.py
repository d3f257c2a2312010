"""The simulator's faults: what is switched on now, and the hostile frames it can send.

:class:`Faults` (the toolkit's :class:`~feed_generator.venues.simhost.SimFaults` and an
error code) is plain state read by the server's loop; the server's methods
(and its ``POST /sim/control``) change it. :data:`HOSTILE_FRAMES` are frames a
client must reject without publishing anything or crashing.
"""

from __future__ import annotations

from dataclasses import dataclass

from feed_generator.venues.simhost import SimFaults

_INDEX = (
    '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"deribit_price_index.btc_usd",'
    '"data":{"index_name":"btc_usd","price":%s,"timestamp":1796472000000}}}'
)
_TICKER = (
    '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"ticker.%s.100ms","data":'
    '{"instrument_name":"%s","timestamp":1796472000000,"mark_price":%s,"underlying_price":%s,'
    '"best_bid_price":%s,"best_ask_price":0.05,"open_interest":1.0,"mark_iv":50.0}}}'
)
HUGE_FRAME_BYTES = 2 << 20
"""Size of the ``huge`` frame: above any sane frame limit (2 MiB)."""


def _ticker(name: str = "BTC-26DEC26-100000-C", mark: str = "0.04", under: str = "96000",
            bid: str = "0.03") -> bytes:  # fmt: skip
    return (_TICKER % (name, name, mark, under, bid)).encode()


HOSTILE_FRAMES: dict[str, bytes] = {
    "garbage": b"\x00\xff{{not json at all",
    "truncated": _INDEX.encode()[:60],
    "wrong_type": (_INDEX % '"95000"').encode(),
    "nan_price": (_INDEX % "NaN").encode(),
    "negative_price": (_INDEX % "-95000").encode(),
    "overflow_price": (_INDEX % "1e400").encode(),
    "negative_bid": _ticker(bid="-0.01"),
    "zero_underlying": _ticker(under="0"),
    "crossed_book": _ticker(bid="0.9"),
    "bad_instrument": _ticker(name="BTC-99ABC26-1-Q"),
    "not_an_object": b"[1, 2, 3]",
    "deep_nesting": b"[" * 50_000 + b"]" * 50_000,
    "unknown_channel": _INDEX.replace("deribit_price_index", "evil").encode() % b"1",
    "huge": b'{"jsonrpc":"2.0","method":"subscription","params":{"channel":"x","data":"'
    + b"A" * HUGE_FRAME_BYTES
    + b'"}}',
}
"""Named frames a client must dead-letter: each is malformed, mistyped or out of range."""


@dataclass
class Faults(SimFaults):
    """What the simulator does wrong right now: the common faults, where a failing REST call
    with ``rest_status`` 200 answers a JSON-RPC error envelope of ``rest_error_code``."""

    rest_error_code: int = 10040
    """The envelope's error code when ``rest_status`` is 200 (10040 retry, 10028 …)."""
