"""Documents for the store tests: realistic enriched chains and small ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from common.timestamps import format_ts
from optionsmath import enrich_chain
from tests.support.chains import EXPIRY, build_chain

T0 = dt.datetime(2026, 11, 21, 4, 0, tzinfo=dt.UTC)
"""The instant of ``tests.support.chains.TIMESTAMP``."""
EXPIRY_2 = "2026-12-31"


def at(minutes: float = 0.0, ms: int = 0) -> dt.datetime:
    """``T0`` plus ``minutes`` and ``ms`` milliseconds."""
    return T0 + dt.timedelta(minutes=minutes, milliseconds=ms)


def wire(minutes: float = 0.0, ms: int = 0) -> str:
    """Wire timestamp of :func:`at`."""
    return format_ts(at(minutes, ms))


def enriched(seq: int, minutes: float = 0.0, **overrides: Any) -> dict[str, Any]:
    """A 21-strike enriched NIFTY chain, with OI changes against the snapshot before it."""
    previous = build_chain(seq=seq - 1, timestamp=wire(minutes - 1))
    raw = build_chain(seq=seq, timestamp=wire(minutes), **overrides)
    for row in raw["calls"][::3]:
        row["oi"] += 500  # gives OI changes and buildups, not only None
    raw["puts"][0].update(bid=0.0, ask=0.0, last=0.0)  # no usable price: None Greeks
    return enrich_chain(raw, previous=previous, processed_at=wire(minutes, 5))


def small(seq: int, minutes: float = 0.0, **overrides: Any) -> dict[str, Any]:
    """A cheap chain-shaped document for tests about keys, order and counts."""
    doc: dict[str, Any] = {
        "product": "NIFTY", "expiry": EXPIRY, "seq": seq, "timestamp": wire(minutes),
        "spot_price": 24_010.0 + seq / 8, "pcr_oi": None, "calls": [{"strike": 24_000.0}],
    }  # fmt: skip
    doc.update(overrides)
    return doc


def candle(minutes: int, close: float, interval: str = "1min", **overrides: Any) -> dict[str, Any]:
    """A closed candle of NIFTY starting ``minutes`` after ``T0``."""
    doc: dict[str, Any] = {
        "product": "NIFTY", "interval": interval, "start": wire(minutes),
        "open": 24_000.0, "high": 24_020.5, "low": 23_990.0, "close": close, "volume": 1200,
    }  # fmt: skip
    doc.update(overrides)
    return doc
