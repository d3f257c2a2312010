"""The channel messages as typed msgspec structs, decoded and validated once at the edge.

One struct per message (``market.py``, ``enriched.py``), built from the
constrained field types of ``fields.py``; ``codec.py`` holds one decoder per
channel. docs/MESSAGES.md, docs/messages.schema.json and the dashboard's
``src/types.ts`` are generated from these structs (``python -m scripts.gen_messages``).
"""

from __future__ import annotations

from common.messages.codec import (
    MESSAGE_TYPES,
    EnrichedMessage,
    MarketMessage,
    MessageError,
    decode_message,
    encode_message,
)
from common.messages.enriched import Candle, EnrichedChain, EnrichedRow, EnrichedUnderlying
from common.messages.enums import Buildup, ForwardSource, OptionType, SourceState
from common.messages.fields import (
    MAX_COUNT,
    MAX_STRIKES,
    PRODUCT_PATTERN,
    QUANTITY_DECIMALS,
    wire_quantity,
)
from common.messages.market import (
    ChainRow,
    OptionChain,
    OptionQuote,
    SourcePrice,
    UnderlyingTick,
    Wire,
)

__all__ = [
    "MAX_COUNT",
    "MAX_STRIKES",
    "MESSAGE_TYPES",
    "PRODUCT_PATTERN",
    "QUANTITY_DECIMALS",
    "Buildup",
    "Candle",
    "ChainRow",
    "EnrichedChain",
    "EnrichedMessage",
    "EnrichedRow",
    "EnrichedUnderlying",
    "ForwardSource",
    "MarketMessage",
    "MessageError",
    "OptionChain",
    "OptionQuote",
    "OptionType",
    "SourcePrice",
    "SourceState",
    "UnderlyingTick",
    "Wire",
    "decode_message",
    "encode_message",
    "wire_quantity",
]
