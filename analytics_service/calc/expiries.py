"""Expiries in time: the instant they expire, days left (ACT/365 calendar time), the nearest.

The instant is the product's (:mod:`common.products`: NSE at the settings' time, BTC and
ETH at 08:00 UTC) unless a chain carries the venue's exact ``expiry_ts``.
"""

from __future__ import annotations

from collections.abc import Iterable

from analytics_service.calc.times import DAY_MS, to_ms
from common.products import ProductConventions
from common.timestamps import parse_expiry, parse_ts


def is_expiry(text: str) -> bool:
    """Whether ``text`` is a YYYY-MM-DD date (a Redis key may hold anything)."""
    try:
        parse_expiry(text)
    except ValueError:
        return False
    return True


def expiry_ms(expiry: str, conventions: ProductConventions, expiry_ts: str | None = None) -> int:
    """Epoch ms at which options on ``expiry`` (YYYY-MM-DD) expire: the venue's exact
    ``expiry_ts`` (wire timestamp) when given, else the date at the product's expiry instant."""
    if expiry_ts is not None:
        return to_ms(parse_ts(expiry_ts))
    return to_ms(conventions.expiry_instant(parse_expiry(expiry)))


def days_to_expiry(
    expiry: str, moment_ms: int, conventions: ProductConventions, expiry_ts: str | None = None
) -> float:
    """Calendar days from ``moment_ms`` to expiry (fractional; negative once expired).

    ACT/365: the options math's ``T`` in years is this over 365.
    """
    return (expiry_ms(expiry, conventions, expiry_ts) - moment_ms) / DAY_MS


def live_expiries(
    expiries: Iterable[str], moment_ms: int, conventions: ProductConventions
) -> list[str]:
    """The expiries not yet expired at ``moment_ms``, ascending."""
    return sorted(e for e in expiries if expiry_ms(e, conventions) > moment_ms)


def nearest_expiry(
    expiries: Iterable[str], moment_ms: int, conventions: ProductConventions
) -> str | None:
    """The first expiry still alive at ``moment_ms``, or ``None``."""
    live = live_expiries(expiries, moment_ms, conventions)
    return live[0] if live else None
