"""The enumerations of the channel messages: their wire values are the enum values."""

from __future__ import annotations

from enum import StrEnum


class OptionType(StrEnum):
    CALL = "CALL"
    PUT = "PUT"


class Buildup(StrEnum):
    """How open interest and price moved together since the previous snapshot."""

    LONG_BUILDUP = "long_buildup"  # price up, OI up
    SHORT_BUILDUP = "short_buildup"  # price down, OI up
    SHORT_COVERING = "short_covering"  # price up, OI down
    LONG_UNWINDING = "long_unwinding"  # price down, OI down


class ForwardSource(StrEnum):
    """Where a message's ``forward`` comes from."""

    VENUE = "venue"  # the venue's own forward (or futures) price for the expiry
    PARITY = "parity"  # implied from put-call parity of the chain's quotes
    CARRY = "carry"  # spot carried at the product's rate and yield: S·e^{(r−q)T}


class SourceState(StrEnum):
    """The state of one source of a reference price (``UnderlyingTick.sources``)."""

    LIVE = "live"  # fresh, and part of the price
    STALE = "stale"  # connected but older than the freshness limit: left out of the price
    DOWN = "down"  # disconnected: left out of the price
