"""The enumerations of the channel messages: their wire values are the enum values.

Each docstring says what every value means: it becomes the enum's description
in the JSON Schema and docs/MESSAGES.md.
"""

from __future__ import annotations

from enum import StrEnum


class OptionType(StrEnum):
    """CALL: the right to buy at the strike; PUT: the right to sell at the strike."""

    CALL = "CALL"
    PUT = "PUT"


class Buildup(StrEnum):
    """How open interest and traded price moved together since the previous snapshot:
    long_buildup (price up, OI up), short_buildup (price down, OI up), short_covering
    (price up, OI down), long_unwinding (price down, OI down)."""

    LONG_BUILDUP = "long_buildup"
    SHORT_BUILDUP = "short_buildup"
    SHORT_COVERING = "short_covering"
    LONG_UNWINDING = "long_unwinding"


class ForwardSource(StrEnum):
    """Where a message's ``forward`` comes from: venue (the venue's own forward or futures
    price for the expiry), parity (implied from put-call parity of the chain's quotes),
    carry (spot carried at the product's rate and yield, S·e^((r−q)T))."""

    VENUE = "venue"
    PARITY = "parity"
    CARRY = "carry"


class SourceState(StrEnum):
    """The state of one source of a reference price: live (fresh, part of the price), stale
    (connected but older than the freshness limit, left out), down (disconnected, left out),
    quarantined (off the other sources by more than the product's threshold for longer than
    its window, left out until it agrees again)."""

    LIVE = "live"
    STALE = "stale"
    DOWN = "down"
    QUARANTINED = "quarantined"
