"""Opaque keyset cursors of the paged routes: base64url (unpadded) of ``instant|id``.

A page ends with the cursor of its last row (its wire timestamp and its id); the next
request sends it back and gets the rows after it. A cursor that is not one of ours (not
base64, no valid instant, an id outside the route's pattern, over 256 characters) is a
``ValueError``, and a 422 through :class:`CursorField`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from marshmallow import ValidationError, fields

from common.timestamps import parse_ts

NOT_A_CURSOR = "Not a cursor from a previous page."
MAX_CURSOR = 256


def encode_cursor(at: str, row_id: str) -> str:
    """The cursor after a row: base64url of ``at|row_id``, unpadded."""
    return base64.urlsafe_b64encode(f"{at}|{row_id}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, ids: re.Pattern[str]) -> tuple[str, str]:
    """(at, id) of a cursor from :func:`encode_cursor` whose id ``ids`` matches whole;
    ``ValueError`` otherwise."""
    if len(cursor) > MAX_CURSOR:
        raise ValueError(NOT_A_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, _, row_id = raw.decode("ascii").partition("|")
        parse_ts(at)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(NOT_A_CURSOR) from exc
    if not ids.fullmatch(row_id):
        raise ValueError(NOT_A_CURSOR)
    return at, row_id


class CursorField(fields.String):
    """The ``next`` of a previous page, loaded by ``decode`` (a 422 when it is not one)."""

    def __init__(self, decode: Callable[[str], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._decode = decode

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return self._decode(text)
        except ValueError as exc:
            raise ValidationError(NOT_A_CURSOR) from exc
