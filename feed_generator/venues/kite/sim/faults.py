"""The Kite simulator's faults: what is switched on now, and the hostile frames it can send.

:class:`Faults` is plain state read by the server; its methods (and ``POST /sim/control``)
change it. :data:`HOSTILE_FRAMES` are frames a client must reject without publishing
anything or crashing: binary ones (``bytes``) and text ones (``str``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from feed_generator.venues.kite.sim import encode
from feed_generator.venues.simhost import SimFaults

SIM_API_KEY = "kitesim_api_key"
SIM_ACCESS_TOKEN = "kitesim_access_token"
"""The simulator's default credentials (``kite-sim`` uses them unless told otherwise)."""

_TOKEN = 12_345_602  # an NFO token (segment 2)
_ROW = (_TOKEN, 12_345, 75, 12_210, 1_000, 1_800, 2_100, 11_000, 13_000, 10_500, 11_800,
        1_796_472_001, 450_000, 465_000, 420_000, 1_796_472_002,
        750, 12_340, 3, 1500, 12_335, 5, 225, 12_330, 1, 3000, 12_300, 12, 75, 12_250, 1,
        300, 12_350, 2, 900, 12_355, 4, 150, 12_360, 1, 600, 12_400, 3, 75, 12_500, 1)  # fmt: skip
_GOOD = encode.full(_ROW)


def _full(**changes: int) -> bytes:
    row = list(_ROW)
    for position, value in changes.items():
        row[int(position.removeprefix("f"))] = value
    return encode.full(tuple(row))


HOSTILE_FRAMES: dict[str, bytes | str] = {
    "truncated": encode.frame([_GOOD])[:100],
    "garbage": b"\xde\xad\xbe\xef" * 7,
    "wrong_length": encode.frame([_GOOD[:60]]),
    "count_too_high": struct.pack(">H", 40) + encode.frame([_GOOD])[2:],
    "trailing_bytes": encode.frame([_GOOD]) + b"\x00\x07junk",
    "negative_price": encode.frame([_full(f1=-12_345)]),
    "negative_quantity": encode.frame([_full(f16=-750)]),
    "crossed_book": encode.frame([_full(f17=12_400)]),
    "absurd_price": encode.frame([_full(f1=2_000_000_000)]),
    "index_as_quote": encode.frame([_full(f0=256265)]),
    "text_not_json": "{not json",
    "text_unknown_type": '{"type": "evil", "data": 1}',
}
"""Named frames a client must dead-letter: malformed, mistyped or out of range."""
GOOD_PACKET = _GOOD
"""A valid full packet, to send beside hostile ones."""


@dataclass
class Faults(SimFaults):
    """What the Kite simulator does wrong right now: the common faults, and the tokens
    refused since their (simulated) daily logout."""

    expired: set[str] = field(default_factory=set)
    """Access tokens refused from now on."""
