"""Marshmallow schemas of the five channel messages (ARCHITECTURE.md, "Channels and messages").

``load`` validates a decoded JSON object and raises ``ValidationError`` with a
message per field; the returned dict keeps the wire representation (timestamps
stay strings), so a valid message round-trips byte for byte.
"""

from __future__ import annotations

import itertools
import math
from enum import StrEnum
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from common.names import Channel
from common.timestamps import parse_expiry, parse_ts


class OptionType(StrEnum):
    CALL = "CALL"
    PUT = "PUT"


class Buildup(StrEnum):
    """How open interest and price moved together since the previous snapshot."""

    LONG_BUILDUP = "long_buildup"  # price up, OI up
    SHORT_BUILDUP = "short_buildup"  # price down, OI up
    SHORT_COVERING = "short_covering"  # price up, OI down
    LONG_UNWINDING = "long_unwinding"  # price down, OI down


PRODUCT_PATTERN = r"[A-Z][A-Z0-9&_-]{0,31}\Z"
r"""Matched from the start (``re.match``); ``\Z``, not ``$``, so a trailing newline fails."""
MAX_STRIKES = 2000
MAX_COUNT = 2**53 - 1
"""Largest seq, volume or OI: exact as a double (Lua in Redis, JavaScript in browsers)."""


def _validate_timestamp(value: str) -> None:
    try:
        parse_ts(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def validate_expiry(value: str) -> None:
    """marshmallow validator: an expiry date ``YYYY-MM-DD``."""
    try:
        parse_expiry(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _product() -> fields.String:
    return fields.String(required=True, validate=validate.Regexp(PRODUCT_PATTERN))


def _timestamp() -> fields.String:
    return fields.String(required=True, validate=_validate_timestamp)


def _seq() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_COUNT))


def _money(required: bool = True) -> fields.Float:
    """A finite, non-negative price; 0 means "no quote" for bid, ask and last."""
    return fields.Float(required=required, validate=validate.Range(min=0))


def _count() -> fields.Integer:
    return fields.Integer(required=True, strict=True, validate=validate.Range(0, MAX_COUNT))


def _optional_float() -> fields.Float:
    return fields.Float(required=True, allow_none=True)


class _Message(Schema):
    class Meta:
        unknown = RAISE

    product = _product()
    timestamp = _timestamp()
    seq = _seq()


class UnderlyingTickSchema(_Message):
    """``market:underlying``: ``volume`` is the quantity traded since the previous tick."""

    type = fields.String(required=True, validate=validate.Equal("underlying"))
    price = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    volume = _count()


class OptionQuoteSchema(_Message):
    """``market:option_quote``: one option's top of book; ``volume`` is the day's cumulative."""

    symbol = fields.String(required=True, validate=validate.Length(min=1, max=64))
    expiry = fields.String(required=True, validate=validate_expiry)
    strike = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    option_type = fields.String(
        required=True, validate=validate.OneOf([t.value for t in OptionType])
    )
    bid = _money()
    ask = _money()
    last = _money()
    volume = _count()
    oi = _count()


class ChainRowSchema(Schema):
    class Meta:
        unknown = RAISE

    strike = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    bid = _money()
    ask = _money()
    last = _money()
    volume = _count()
    oi = _count()


class OptionChainSchema(_Message):
    """``market:option_chain``: ``calls[i]`` and ``puts[i]`` are the rows of ``strikes[i]``."""

    expiry = fields.String(required=True, validate=validate_expiry)
    spot_price = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
    strikes = fields.List(
        fields.Float(validate=validate.Range(min=0, min_inclusive=False)),
        required=True,
        validate=validate.Length(min=1, max=MAX_STRIKES),
    )
    calls = fields.List(fields.Nested(ChainRowSchema), required=True)
    puts = fields.List(fields.Nested(ChainRowSchema), required=True)

    @validates_schema
    def _rows_match_strikes(self, data: dict[str, Any], **_: Any) -> None:
        strikes = data["strikes"]
        if any(b <= a for a, b in itertools.pairwise(strikes)):
            raise ValidationError("strikes must be strictly increasing", "strikes")
        for side in ("calls", "puts"):
            rows = data[side]
            if len(rows) != len(strikes):
                raise ValidationError(f"expected {len(strikes)} rows, got {len(rows)}", side)
            for i, (row, strike) in enumerate(zip(rows, strikes, strict=True)):
                if not math.isclose(row["strike"], strike, rel_tol=0, abs_tol=1e-9):
                    raise ValidationError(
                        f"row {i} has strike {row['strike']}, expected {strike}", side
                    )


class EnrichedRowSchema(ChainRowSchema):
    iv = _optional_float()
    delta = _optional_float()
    gamma = _optional_float()
    theta = _optional_float()
    vega = _optional_float()
    rho = _optional_float()
    oi_change = fields.Integer(required=True, allow_none=True, strict=True)
    buildup = fields.String(
        required=True, allow_none=True, validate=validate.OneOf([b.value for b in Buildup])
    )


class EnrichedChainSchema(OptionChainSchema):
    calls = fields.List(fields.Nested(EnrichedRowSchema), required=True)
    puts = fields.List(fields.Nested(EnrichedRowSchema), required=True)
    pcr_oi = _optional_float()
    pcr_volume = _optional_float()
    atm_strike = _optional_float()
    atm_iv = _optional_float()
    atm_straddle_price = _optional_float()
    expected_move = _optional_float()
    max_pain_strike = _optional_float()
    total_call_oi = _count()
    total_put_oi = _count()
    call_buildup_otm = fields.Integer(required=True, allow_none=True, strict=True)
    put_buildup_otm = fields.Integer(required=True, allow_none=True, strict=True)
    risk_reversal_25d = _optional_float()
    butterfly_25d = _optional_float()
    time_to_expiry = _optional_float()
    processed_at = _timestamp()


class CandleSchema(Schema):
    class Meta:
        unknown = RAISE

    start = _timestamp()
    open = fields.Float(required=True)
    high = fields.Float(required=True)
    low = fields.Float(required=True)
    close = fields.Float(required=True)
    volume = _count()


class EnrichedUnderlyingSchema(UnderlyingTickSchema):
    ohlc_1min = fields.Nested(CandleSchema, required=True)
    ohlc_5min = fields.Nested(CandleSchema, required=True)
    ohlc_15min = fields.Nested(CandleSchema, required=True)
    volume_1min = _count()
    processed_at = _timestamp()


SCHEMAS: dict[Channel, Schema] = {
    Channel.MARKET_UNDERLYING: UnderlyingTickSchema(),
    Channel.MARKET_OPTION_QUOTE: OptionQuoteSchema(),
    Channel.MARKET_OPTION_CHAIN: OptionChainSchema(),
    Channel.ENRICHED_UNDERLYING: EnrichedUnderlyingSchema(),
    Channel.ENRICHED_OPTION_CHAIN: EnrichedChainSchema(),
}
"""One reusable schema instance per channel."""
