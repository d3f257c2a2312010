"""Each channel's message type, with one JSON decoder built per channel at import.

:func:`decode_message` turns raw bytes into the channel's struct, validating
every constraint on the way; a failure is a :class:`MessageError` whose text
names the field path (``$.calls[3].bid``) and is the reason recorded in the
dead letter.

Decoding is strict: a number sent as a string (``"1.5"``), a float for an
integer field (``"seq": 7.0``) or a boolean for a number is refused, as the JSON
Schema says. Volume and open interest take either: an integer stays an ``int`` (and
``100`` is encoded back as ``100``), a fraction (``0.3`` BTC) is a ``float``.
"""

from __future__ import annotations

import msgspec

from common.messages.enriched import EnrichedChain, EnrichedUnderlying
from common.messages.market import OptionChain, OptionQuote, UnderlyingTick, Wire
from common.names import Channel

MarketMessage = UnderlyingTick | OptionQuote | OptionChain
EnrichedMessage = EnrichedUnderlying | EnrichedChain

MESSAGE_TYPES: dict[Channel, type[Wire]] = {
    Channel.MARKET_UNDERLYING: UnderlyingTick,
    Channel.MARKET_OPTION_QUOTE: OptionQuote,
    Channel.MARKET_OPTION_CHAIN: OptionChain,
    Channel.ENRICHED_UNDERLYING: EnrichedUnderlying,
    Channel.ENRICHED_OPTION_CHAIN: EnrichedChain,
}
"""The struct of every channel's messages."""

_DECODERS: dict[Channel, msgspec.json.Decoder[Wire]] = {
    channel: msgspec.json.Decoder(kind) for channel, kind in MESSAGE_TYPES.items()
}
_ENCODER = msgspec.json.Encoder()


class MessageError(ValueError):
    """A message that cannot be used; ``str(exc)`` is the reason recorded in its dead letter."""


def decode_message(channel: Channel, raw: bytes | str) -> Wire:
    """The message of ``raw`` as ``MESSAGE_TYPES[channel]``, or :class:`MessageError`:
    ``not JSON: …`` for malformed JSON, ``invalid message: … - at `$.path``` otherwise."""
    try:
        return _DECODERS[channel].decode(raw)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: first
        raise MessageError(f"invalid message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise MessageError(f"not JSON: {exc}") from None


def encode_message(message: Wire) -> bytes:
    """The JSON bytes of ``message``, fields in wire order, absent optional fields left out."""
    return _ENCODER.encode(message)
