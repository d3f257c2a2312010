"""Decoding and validating raw market messages against the schemas of ``common.schemas``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from marshmallow import ValidationError

from common.fastcheck import fast_valid
from common.names import Channel
from common.schemas import SCHEMAS


class MessageError(ValueError):
    """A message that cannot be used; ``str(exc)`` is the reason recorded in its dead letter."""


def decode(raw: bytes | str) -> dict[str, Any]:
    """The JSON object of ``raw``; :class:`MessageError` for non-JSON or a non-object."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise MessageError(f"expected a JSON object, got {type(value).__name__}")
    return value


def _reason(errors: Any) -> str:
    text = orjson.dumps(errors, option=orjson.OPT_SORT_KEYS).decode()
    return f"invalid fields: {text[:500]}"


def validate(channel: Channel, raw: bytes | str) -> dict[str, Any]:
    """The validated message of ``raw`` on ``channel``, or :class:`MessageError` with the reason.

    A message already in canonical form is returned as decoded (see :mod:`common.fastcheck`);
    any other goes through its schema, which coerces it or gives the reasons.
    """
    obj = decode(raw)
    if fast_valid(channel, obj):
        return obj
    try:
        loaded: dict[str, Any] = SCHEMAS[channel].load(obj)
    except ValidationError as exc:
        raise MessageError(_reason(exc.messages)) from None
    return loaded


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
