"""Decoding and validating raw market messages: once, with the channel's msgspec decoder.

A raw message is decoded into its struct (``common.messages``), which checks
every field, and handed on as the plain ``dict`` the math, the candle scripts
and the store take (``msgspec.to_builtins``, in C). Measured in
docs/PERFORMANCE.md ("Message validation"): decoding into the struct and
converting costs less than the JSON decode plus checks it replaced (23 against
40 µs for a 21-strike chain); passing the structs on would save the conversion
(8 µs of the 23) but the math builds the enriched rows as dicts from the raw
rows, and the candle scripts and the store take dicts, so each would convert.

The dict has the struct's field order and types: a number in a float field is
a float (``24000`` → ``24000.0``), absent optional fields are left out, so the
enriched bytes of a feed message are what they were.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from common.messages import MessageError, decode_message
from common.names import Channel

__all__ = ["MessageError", "validate", "validate_all"]


def validate(channel: Channel, raw: bytes | str) -> dict[str, Any]:
    """The validated message of ``raw`` on ``channel`` as a dict, or :class:`MessageError`
    with the reason (naming the field path, e.g. ``$.calls[3].bid``)."""
    message: dict[str, Any] = msgspec.to_builtins(decode_message(channel, raw))
    return message


def validate_all(
    channel: Channel, raws: Iterable[bytes | str]
) -> tuple[list[tuple[dict[str, Any], bytes | str]], list[tuple[bytes | str, str]]]:
    """Split ``raws`` into ``(message, raw)`` pairs that are valid and ``(raw, reason)`` rejects."""
    good: list[tuple[dict[str, Any], bytes | str]] = []
    bad: list[tuple[bytes | str, str]] = []
    for raw in raws:
        try:
            good.append((validate(channel, raw), raw))
        except MessageError as exc:
            bad.append((raw, str(exc)))
    return good, bad
