"""The constrained field types the channel messages are made of, and their limits.

Each is an ``Annotated`` type whose ``msgspec.Meta`` the decoder enforces in C
(and the JSON Schema shows): a product code, a wire timestamp, an expiry date,
counts, prices. What a pattern cannot say (that 2026-02-30 is no date) the
messages check in ``__post_init__`` with :func:`check_timestamp` and
:func:`check_expiry`.

Patterns are Python regular expressions used with ``re.search``: they end in
``\\Z``, not ``$``, which would let a trailing newline through; ``[0-9]``, not
``\\d``, which would take any Unicode digit.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from msgspec import Meta

PRODUCT_PATTERN = r"[A-Z][A-Z0-9&_-]{0,31}\Z"
r"""A product code, matched from the start (``re.match``); ``\Z``, not ``$``, so a trailing
newline fails. The REST layer validates path parameters with it too."""
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z"
EXPIRY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"
MAX_STRIKES = 2000
"""Strikes in one chain at most."""
MAX_COUNT = 2**53 - 1
"""Largest seq, volume or OI: exact as a double (Lua in Redis, JavaScript in browsers)."""
QUANTITY_DECIMALS = 8
"""Decimals a computed quantity (a sum or difference of volumes or OIs) is rounded to, so
binary noise (0.1 + 0.2 = 0.30000000000000004) never reaches the wire; a satoshi of BTC."""
STRIKE_TOLERANCE = 1e-9
"""A chain row's strike may differ from its listed strike by this much (absolute)."""

Product = Annotated[
    str,
    Meta(
        pattern="^" + PRODUCT_PATTERN, description="Product code, e.g. NIFTY.", examples=["NIFTY"]
    ),
]
Timestamp = Annotated[
    str,
    Meta(
        pattern=TIMESTAMP_PATTERN,
        description="ISO-8601 UTC instant with milliseconds, a real one from 1970.",
        examples=["2026-11-21T09:41:00.123Z"],
    ),
]
ExpiryDate = Annotated[
    str,
    Meta(
        pattern=EXPIRY_PATTERN,
        description="Expiry date YYYY-MM-DD, a real one.",
        examples=["2026-11-26"],
    ),
]
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
"""A non-negative integer exact as a double: seq, a tick's volume, milliseconds."""
Quantity = Annotated[int, Meta(ge=0, le=MAX_COUNT)] | Annotated[float, Meta(ge=0, le=MAX_COUNT)]
"""An option's volume or open interest: contracts, or coins where a venue counts in the
underlying (Deribit: 0.1 BTC), so possibly fractional; finite, non-negative, at most
:data:`MAX_COUNT`. A JSON integer decodes to an ``int`` and is encoded back as one (``100``
stays ``100``), a fraction to a ``float``."""
QuantityChange = (
    Annotated[int, Meta(ge=-MAX_COUNT, le=MAX_COUNT)]
    | Annotated[float, Meta(ge=-MAX_COUNT, le=MAX_COUNT)]
)
"""A change of a :data:`Quantity` (OI change), of either sign."""
Seq = Annotated[
    Count, Meta(description="Increases by one per (channel, product) at the publisher.")
]
PositivePrice = Annotated[float, Meta(gt=0)]
"""A finite price above zero (JSON has no NaN or infinity; an overflowing number is refused)."""
QuotePrice = Annotated[float, Meta(ge=0)]
"""A finite, non-negative price; 0 means "no quote" for bid, ask and last."""


def wire_quantity(value: float) -> int | float:
    """A computed quantity (finite) as it goes on the wire: an ``int`` when whole, else the
    ``float`` rounded to :data:`QUANTITY_DECIMALS` (an ``int`` if that makes it whole)."""
    if value == int(value):
        return int(value)
    rounded = round(value, QUANTITY_DECIMALS)
    return int(rounded) if rounded == int(rounded) else rounded


def _where(field: str, nested: bool) -> str:
    # msgspec appends " - at `$.path`" of a nested struct itself: name only the field there.
    return f" in `{field}`" if nested else f" - at `$.{field}`"


def check_timestamp(value: str, field: str, *, nested: bool = False) -> None:
    """``ValueError`` unless the pattern-checked ``value`` is a real instant from 1970."""
    if value < "1970":  # epoch milliseconds are non-negative everywhere downstream
        raise ValueError(f"Expected an instant from 1970, got {value!r}{_where(field, nested)}")
    try:
        dt.datetime.fromisoformat(value[:-1])
    except ValueError:
        raise ValueError(
            f"Expected a real date and time, got {value!r}{_where(field, nested)}"
        ) from None


def check_expiry(value: str, field: str) -> None:
    """``ValueError`` unless the pattern-checked ``value`` is a real date."""
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"Expected a real date, got {value!r}{_where(field, False)}") from None
