"""The two ``enriched:*`` messages as msgspec structs: what the workers publish and cache.

Field order is the order the workers write, so an enriched message decoded and
encoded again is the same bytes. Greeks follow docs/MATH.md: ``theta`` per
calendar day, ``vega`` per volatility point (0.01), ``rho`` per rate point
(0.01), ``delta`` and ``gamma`` per unit of underlying; volatilities are
annualised decimals (0.14 = 14 %). ``null`` where the inputs give no value.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from common.messages.enums import Buildup
from common.messages.fields import (
    Count,
    ExpiryDate,
    PositivePrice,
    Product,
    Quantity,
    QuantityChange,
    Seq,
    Timestamp,
    check_expiry,
    check_timestamp,
)
from common.messages.market import (
    ChainRow,
    Currency,
    ExpiryInstant,
    Forward,
    ForwardFrom,
    Strikes,
    UnderlyingTick,
    Venue,
    Wire,
    check_rows,
)

Volatility = Annotated[
    float | None, Meta(description="Annualised, as a decimal (0.14 = 14 %); null: none.")
]
ProcessedAt = Annotated[Timestamp, Meta(description="When the worker enriched it.")]


class EnrichedRow(ChainRow, kw_only=True):
    """A chain row with its implied volatility, Greeks and OI change (``null``: no value)."""

    iv: Volatility
    delta: Annotated[float | None, Meta(description="Per unit of underlying.")]
    gamma: Annotated[float | None, Meta(description="Delta change per unit of underlying.")]
    theta: Annotated[float | None, Meta(description="Price change per calendar day.")]
    vega: Annotated[float | None, Meta(description="Price change per volatility point (0.01).")]
    rho: Annotated[float | None, Meta(description="Price change per rate point (0.01).")]
    oi_change: Annotated[
        QuantityChange | None, Meta(description="OI minus the previous snapshot's; null: none.")
    ]
    buildup: Annotated[
        Buildup | None, Meta(description="Price and OI against the previous snapshot.")
    ]
    gex: Annotated[
        float | None,
        Meta(
            description="Dealer gamma exposure per 1 % move, in the currency: "
            "+Γ·OI·contract size·U²·0.01 for a call, − for a put; null: no gamma or OI."
        ),
    ]


class EnrichedChain(Wire):
    """``enriched:option_chain``: a chain with per-row IV and Greeks and chain statistics
    (docs/MATH.md); strikes and rows as in the market chain."""

    product: Product
    expiry: ExpiryDate
    spot_price: Annotated[PositivePrice, Meta(description="Underlying price, in the currency.")]
    strikes: Strikes
    timestamp: Timestamp
    seq: Seq
    pcr_oi: Annotated[float | None, Meta(description="Put OI over call OI; null: no call OI.")]
    pcr_volume: Annotated[
        float | None, Meta(description="Put volume over call volume; null: no call volume.")
    ]
    atm_strike: Annotated[
        float | None, Meta(description="The listed strike nearest the forward (ties: lower).")
    ]
    atm_iv: Annotated[Volatility, Meta(description="Mean of the ATM call and put IVs.")]
    atm_straddle_price: Annotated[float | None, Meta(description="ATM call + put price.")]
    expected_move: Annotated[
        float | None,
        Meta(description="One standard deviation to expiry: forward·atm_iv·√T."),
    ]
    max_pain_strike: Annotated[
        float | None, Meta(description="Strike minimising option holders' payout.")
    ]
    total_call_oi: Annotated[Quantity, Meta(description="Open interest of all calls.")]
    total_put_oi: Annotated[Quantity, Meta(description="Open interest of all puts.")]
    call_buildup_otm: Annotated[
        QuantityChange | None,
        Meta(description="Net OI change of calls struck above the forward; null: no previous."),
    ]
    put_buildup_otm: Annotated[
        QuantityChange | None,
        Meta(description="Net OI change of puts struck below the forward; null: no previous."),
    ]
    risk_reversal_25d: Annotated[
        float | None, Meta(description="σ(25Δ call) − σ(25Δ put), decimal.")
    ]
    butterfly_25d: Annotated[
        float | None, Meta(description="(σ(25Δ call) + σ(25Δ put))/2 − σ_ATM, decimal.")
    ]
    time_to_expiry: Annotated[float | None, Meta(description="T used, in years (ACT/365).")]
    net_gex: Annotated[
        float, Meta(description="Calls' plus puts' gamma exposure, currency per 1 % move.")
    ]
    call_gex: Annotated[float, Meta(description="The calls' gamma exposure (≥ 0).")]
    put_gex: Annotated[float, Meta(description="The puts' gamma exposure (≤ 0).")]
    call_wall: Annotated[
        float | None, Meta(description="Strike of the largest call GEX; null: no call has any.")
    ]
    put_wall: Annotated[
        float | None,
        Meta(description="Strike of the most negative put GEX; null: no put has any."),
    ]
    gex_flip: Annotated[
        float | None,
        Meta(
            description="Spot at which net GEX, revalued at each option's IV, changes sign, "
            "nearest the spot within ±20 %; null: none there."
        ),
    ]
    calls: Annotated[list[EnrichedRow], Meta(description="One row per strike.")]
    puts: Annotated[list[EnrichedRow], Meta(description="One row per strike.")]
    processed_at: ProcessedAt
    venue: Venue | None = None
    currency: Currency | None = None
    expiry_ts: ExpiryInstant | None = None
    forward: Forward | None = None
    forward_source: ForwardFrom | None = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp, "timestamp")
        check_timestamp(self.processed_at, "processed_at")
        check_expiry(self.expiry, "expiry")
        if self.expiry_ts is not None:
            check_timestamp(self.expiry_ts, "expiry_ts")
        check_rows(self.strikes, self.calls, self.puts)


class Candle(Wire):
    """An OHLC candle of the underlying (prices in the currency), open or closed."""

    start: Annotated[Timestamp, Meta(description="Start of the candle's interval.")]
    open: Annotated[float, Meta(description="First price in the interval.")]
    high: Annotated[float, Meta(description="Highest price in the interval.")]
    low: Annotated[float, Meta(description="Lowest price in the interval.")]
    close: Annotated[float, Meta(description="Last price in the interval.")]
    volume: Annotated[Count, Meta(description="Quantity traded in the interval.")]

    def __post_init__(self) -> None:
        check_timestamp(self.start, "start", nested=True)


class EnrichedUnderlying(UnderlyingTick, kw_only=True):
    """``enriched:underlying``: the tick with its 1, 5 and 15-minute candles."""

    ohlc_1min: Candle
    ohlc_5min: Candle
    ohlc_15min: Candle
    volume_1min: Annotated[Count, Meta(description="Volume of the current 1-minute candle.")]
    processed_at: ProcessedAt

    def __post_init__(self) -> None:
        super().__post_init__()
        check_timestamp(self.processed_at, "processed_at")
