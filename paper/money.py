"""Money, prices and quantities as ``decimal.Decimal``: exact, bounded, rounded in one place.

Why ``Decimal`` and not integer minor units: prices and quantities are not in minor units
(a Deribit option in USD has more than two decimals, a BTC quantity is fractional, an
average cost is a quotient), while every amount of cash is. ``Decimal`` keeps all of
them exact as decimals; cash amounts (fill notionals, fees, margins, settlement
proceeds) are rounded to the currency's minor unit (:data:`CENT`) once, where they are
made, and only added afterwards, which is exact. So the invariant of an account,
``cash + Σ cost = start + realised P&L − fees``, holds to the last paisa or cent.
Floats never touch cash: a float from the feed becomes a ``Decimal`` through its
shortest repr (:func:`decimal_from`), so ``102.35`` is ``Decimal("102.35")``.

Inputs are bounded (:data:`MAX_QUANTITY`, :data:`MAX_PRICE`, :data:`MAX_PLACES` decimals),
and products and quotients are taken in :data:`CONTEXT` (50 digits), so no step rounds
silently; documents carry amounts as decimal strings (msgspec's encoding of ``Decimal``).
"""

from __future__ import annotations

import decimal
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any

__all__ = [
    "CENT",
    "CONTEXT",
    "MAX_PLACES",
    "MAX_PRICE",
    "MAX_QUANTITY",
    "NIL",
    "PRICE_QUANTUM",
    "ZERO",
    "amount",
    "amount_up",
    "check_price",
    "check_quantity",
    "decimal_from",
    "mul",
    "notional",
    "ratio",
]

ZERO = Decimal(0)
NIL = Decimal("0.00")
"""A zero amount (shown with the minor unit's two places, as every amount is)."""
CENT = Decimal("0.01")
"""The minor unit every cash amount is rounded to (paisa for INR, cent for USD)."""
PRICE_QUANTUM = Decimal("1e-8")
"""Average prices and costs are shown to this (they are quotients); amounts never are."""
MAX_PLACES = 8
"""Decimal places a price or quantity may have."""
MAX_QUANTITY = Decimal(10) ** 9
"""Units of the underlying in one order, at most."""
MAX_PRICE = Decimal(10) ** 9
"""A price (premium, limit, strike, underlying, settlement), at most, in the currency."""
CONTEXT = decimal.Context(
    prec=50,
    rounding=ROUND_HALF_EVEN,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)
"""Arithmetic wide enough that a bounded product or quotient is never rounded by accident:
(10⁹ with 8 places)² has 34 digits."""


def mul(a: Decimal, b: Decimal) -> Decimal:
    """``a × b``, exact for bounded inputs."""
    return CONTEXT.multiply(a, b)


def ratio(a: Decimal, b: Decimal) -> Decimal:
    """``a / b`` to 50 significant digits (``b`` non-zero)."""
    return CONTEXT.divide(a, b)


def amount(value: Decimal) -> Decimal:
    """``value`` rounded to the minor unit, half to even (notionals, fees, settlements)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN, context=CONTEXT)


def amount_up(value: Decimal) -> Decimal:
    """``value`` rounded up to the minor unit: blocked margin errs on the safe side."""
    return value.quantize(CENT, rounding=ROUND_CEILING, context=CONTEXT)


def notional(quantity: Decimal, price: Decimal) -> Decimal:
    """The cash of ``quantity`` units at ``price``, rounded to the minor unit."""
    return amount(mul(quantity, price))


def decimal_from(value: Any, field: str) -> Decimal:
    """``value`` (a ``Decimal``, ``int``, decimal string or float) as a finite ``Decimal``;
    a float through its shortest repr (``0.1`` → ``Decimal("0.1")``). ``ValueError``
    naming ``field`` otherwise (``bool``, NaN, infinity, text that is no number)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise ValueError(f"{field}: expected a number, got {type(value).__name__}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else value)
    except decimal.InvalidOperation:
        raise ValueError(f"{field}: expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{field}: must be a finite number, got {value!r}")
    return number


_PLACES_QUANTUM = Decimal(1).scaleb(-MAX_PLACES)


def _whole_places(value: Decimal) -> bool:
    """Whether ``value`` (at most 10⁹ in size) has at most :data:`MAX_PLACES` decimals."""
    return value == value.quantize(_PLACES_QUANTUM, context=CONTEXT)


def check_quantity(value: Decimal, field: str) -> Decimal:
    """``value`` if it is a quantity above 0, at most :data:`MAX_QUANTITY`, with at most
    :data:`MAX_PLACES` decimals; ``ValueError`` naming ``field`` otherwise."""
    if not (value.is_finite() and ZERO < value <= MAX_QUANTITY):
        raise ValueError(f"{field}: must be above 0 and at most {MAX_QUANTITY}, got {value}")
    if not _whole_places(value):
        raise ValueError(f"{field}: at most {MAX_PLACES} decimal places, got {value}")
    return value


def check_price(value: Decimal, field: str, *, positive: bool = True) -> Decimal:
    """``value`` if it is a price (above 0, or 0 too when not ``positive``) of at most
    :data:`MAX_PRICE` with at most :data:`MAX_PLACES` decimals; ``ValueError`` otherwise."""
    low_ok = value > ZERO if positive else value >= ZERO
    if not (value.is_finite() and low_ok and value <= MAX_PRICE):
        bound = "above 0" if positive else "at least 0"
        raise ValueError(f"{field}: must be {bound} and at most {MAX_PRICE}, got {value}")
    if not _whole_places(value):
        raise ValueError(f"{field}: at most {MAX_PLACES} decimal places, got {value}")
    return value
