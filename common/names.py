"""Channel names and Redis keys: the contract every service shares, in one place."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """Redis Pub/Sub channels. The values are a fixed contract and never change."""

    MARKET_UNDERLYING = "market:underlying"
    MARKET_OPTION_QUOTE = "market:option_quote"
    MARKET_OPTION_CHAIN = "market:option_chain"
    ENRICHED_UNDERLYING = "enriched:underlying"
    ENRICHED_OPTION_CHAIN = "enriched:option_chain"


MARKET_CHANNELS: tuple[Channel, ...] = (
    Channel.MARKET_UNDERLYING,
    Channel.MARKET_OPTION_QUOTE,
    Channel.MARKET_OPTION_CHAIN,
)

LOG_STREAM = "logs"


def deadletter_key(channel: str) -> str:
    """Redis list holding messages of ``channel`` that failed validation."""
    return f"deadletter:{channel}"


def latest_chain_key(product: str, expiry: str) -> str:
    """Newest enriched chain of (product, expiry), stored as the API's exact bytes."""
    return f"latest:chain:{product}:{expiry}"


def latest_underlying_key(product: str) -> str:
    """Newest enriched underlying tick of ``product``."""
    return f"latest:underlying:{product}"


def candle_key(interval: str, product: str) -> str:
    """Open candle of ``product`` for ``interval`` (``1min``, ``5min``, ``15min``)."""
    return f"candle:{interval}:{product}"
