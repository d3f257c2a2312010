"""The three ``market:*`` messages as msgspec structs: what the feed publishes.

Field order is the wire order, so a message decoded and encoded again is the
same bytes. Optional fields (the real venues' additions) default to ``None``
and are left out of the JSON when absent (``omit_defaults``): the synthetic
market never sends them. Unknown fields are refused, so a misspelt field is a
dead letter, not silently lost.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import islice
from typing import Annotated, Literal

from msgspec import Meta, Struct

from common.messages.enums import ForwardSource, OptionType, SourceState
from common.messages.fields import (
    MAX_STRIKES,
    STRIKE_TOLERANCE,
    Count,
    ExpiryDate,
    PositivePrice,
    Product,
    Quantity,
    QuotePrice,
    Seq,
    Timestamp,
    check_expiry,
    check_timestamp,
)


class Wire(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Configuration every message struct inherits (no fields of its own)."""


# -- the optional additions of the real venues -----------------------------------------------

Venue = Annotated[
    str,
    Meta(
        pattern=r"^[a-z][a-z0-9_-]{0,31}\Z",
        description="The venue that sent it (deribit, kite, …); absent: the synthetic market.",
    ),
]
Currency = Annotated[
    str,
    Meta(
        pattern=r"^[A-Z0-9]{2,10}\Z",
        description="Currency of the message's prices (INR, USD, BTC, …); absent: the product's.",
    ),
]
Forward = Annotated[
    float,
    Meta(
        gt=0,
        description="Forward price of the underlying for the expiry, in the message's currency; "
        "absent: not known.",
    ),
]
ExpiryInstant = Annotated[
    Timestamp,
    Meta(
        description="The exact expiry instant; absent: the expiry date at the product's "
        "expiry time (common/products.py)."
    ),
]
Mark = Annotated[
    float, Meta(ge=0, description="The venue's mark price of the option, in the currency.")
]
VOLUME_MEANING = (
    "Cumulative volume, the day's (Deribit: the last 24 h): contracts, or units of the "
    "underlying where the venue counts in them (Deribit's coins, Kite's shares); may be "
    "fractional."
)
OI_MEANING = (
    "Open interest: contracts, or units of the underlying where the venue counts in them "
    "(Deribit's coins, Kite's shares); may be fractional."
)
ForwardFrom = Annotated[ForwardSource, Meta(description="Where forward comes from.")]
Strike = Annotated[PositivePrice, Meta(description="Strike price, in the currency.")]
MarkIv = Annotated[
    float,
    Meta(ge=0, description="The venue's IV of its mark, annualised, as a decimal (0.25 = 25 %)."),
]
BidIv = Annotated[
    float,
    Meta(
        ge=0,
        description="The venue's IV of its best bid, annualised, as a decimal (0.25 = 25 %); "
        "absent: no bid, or the venue gives none.",
    ),
]
AskIv = Annotated[
    float,
    Meta(
        ge=0,
        description="The venue's IV of its best ask, annualised, as a decimal (0.25 = 25 %); "
        "absent: no ask, or the venue gives none.",
    ),
]


class SourcePrice(Wire):
    """One source of a reference price: its last price, how old it is and its state."""

    source: Annotated[
        str, Meta(min_length=1, max_length=32, description="The source's name, e.g. binance.")
    ]
    price: Annotated[PositivePrice, Meta(description="The source's last price.")]
    age_ms: Annotated[Count, Meta(description="Milliseconds since the source's last update.")]
    state: SourceState


# -- the messages ------------------------------------------------------------------------------


class UnderlyingTick(Wire):
    """``market:underlying``: one trade or price update of a product's underlying."""

    type: Annotated[Literal["underlying"], Meta(description="Always underlying.")]
    product: Product
    price: Annotated[PositivePrice, Meta(description="Underlying price, in the currency.")]
    volume: Annotated[Count, Meta(description="Quantity traded since the previous tick.")]
    timestamp: Timestamp
    seq: Seq
    venue: Venue | None = None
    currency: Currency | None = None
    sources: (
        Annotated[
            list[SourcePrice],
            Meta(max_length=16, description="When a reference price: each source's part in it."),
        ]
        | None
    ) = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp, "timestamp")


class OptionQuote(Wire):
    """``market:option_quote``: one option's top of book; prices per unit of underlying."""

    symbol: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=64,
            description="The option's symbol, e.g. NIFTY261126C24000.",
        ),
    ]
    product: Product
    expiry: ExpiryDate
    strike: Strike
    option_type: Annotated[OptionType, Meta(description="CALL or PUT.")]
    bid: Annotated[QuotePrice, Meta(description="Best bid; 0: none.")]
    ask: Annotated[QuotePrice, Meta(description="Best ask; 0: none.")]
    last: Annotated[QuotePrice, Meta(description="Last traded price; 0: none.")]
    volume: Annotated[Quantity, Meta(description=VOLUME_MEANING)]
    oi: Annotated[Quantity, Meta(description=OI_MEANING)]
    timestamp: Timestamp
    seq: Seq
    venue: Venue | None = None
    currency: Currency | None = None
    expiry_ts: ExpiryInstant | None = None
    forward: Forward | None = None
    forward_source: ForwardFrom | None = None
    mark: Mark | None = None
    mark_iv: MarkIv | None = None
    bid_iv: BidIv | None = None
    ask_iv: AskIv | None = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp, "timestamp")
        check_expiry(self.expiry, "expiry")
        if self.expiry_ts is not None:
            check_timestamp(self.expiry_ts, "expiry_ts")


class ChainRow(Wire):
    """One side (call or put) of one strike of a chain."""

    strike: Strike
    bid: Annotated[QuotePrice, Meta(description="Best bid; 0: none.")]
    ask: Annotated[QuotePrice, Meta(description="Best ask; 0: none.")]
    last: Annotated[QuotePrice, Meta(description="Last traded price; 0: none.")]
    volume: Annotated[Quantity, Meta(description=VOLUME_MEANING)]
    oi: Annotated[Quantity, Meta(description=OI_MEANING)]
    mark: Mark | None = None
    mark_iv: MarkIv | None = None
    bid_iv: BidIv | None = None
    ask_iv: AskIv | None = None


_strike = operator.attrgetter("strike")


def check_rows(strikes: list[float], calls: Sequence[ChainRow], puts: Sequence[ChainRow]) -> None:
    """``ValueError`` unless strikes increase strictly and each side has one row per strike,
    at that strike within :data:`STRIKE_TOLERANCE`."""
    # C-level builtins, not a Python loop per row: this runs for every chain.
    if not all(map(operator.lt, strikes, islice(strikes, 1, None))):
        i = next(i for i in range(1, len(strikes)) if not strikes[i - 1] < strikes[i])
        raise ValueError(
            f"Expected strikes strictly increasing, got {strikes[i]!r} after "
            f"{strikes[i - 1]!r} - at `$.strikes[{i}]`"
        )
    for side, rows in (("calls", calls), ("puts", puts)):
        if len(rows) != len(strikes):
            raise ValueError(
                f"Expected {len(strikes)} rows, one per strike, got {len(rows)} - at `$.{side}`"
            )
        row_strikes = list(map(_strike, rows))
        if row_strikes == strikes:
            continue
        for i, (got, listed) in enumerate(zip(row_strikes, strikes, strict=True)):
            if not abs(got - listed) <= STRIKE_TOLERANCE:
                raise ValueError(
                    f"Expected strike {listed!r} (strikes[{i}]), got {got!r} "
                    f"- at `$.{side}[{i}].strike`"
                )


Strikes = Annotated[
    list[PositivePrice],
    Meta(min_length=1, max_length=MAX_STRIKES, description="Listed strikes, strictly increasing."),
]


class OptionChain(Wire):
    """``market:option_chain``: the quotes of one expiry, ``calls[i]`` and ``puts[i]`` the rows
    of ``strikes[i]``: strikes increase strictly, and each side has one row per strike, at
    that strike (within 1e-9)."""

    product: Product
    expiry: ExpiryDate
    spot_price: Annotated[PositivePrice, Meta(description="Underlying price, in the currency.")]
    strikes: Strikes
    calls: Annotated[list[ChainRow], Meta(description="One row per strike.")]
    puts: Annotated[list[ChainRow], Meta(description="One row per strike.")]
    timestamp: Timestamp
    seq: Seq
    venue: Venue | None = None
    currency: Currency | None = None
    expiry_ts: ExpiryInstant | None = None
    forward: Forward | None = None
    forward_source: ForwardFrom | None = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp, "timestamp")
        check_expiry(self.expiry, "expiry")
        if self.expiry_ts is not None:
            check_timestamp(self.expiry_ts, "expiry_ts")
        check_rows(self.strikes, self.calls, self.puts)
