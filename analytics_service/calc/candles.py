"""Candles: stored ones, those the worker still holds in Redis, and 1-hour ones built from 15.

A candle in responses is ``{t, open, high, low, close, volume}`` with ``t`` its
start (wire timestamp); prices in the underlying's currency.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from analytics_service.calc.resample import Interval, floor_to
from analytics_service.calc.times import wire, wire_ms

Candle = dict[str, Any]

STORE_INTERVAL = {
    Interval.ONE_MINUTE: "1min",
    Interval.FIVE_MINUTES: "5min",
    Interval.FIFTEEN_MINUTES: "15min",
    Interval.ONE_HOUR: "15min",
}
"""The stored candles each API interval is read from (1h is built from 15-minute ones)."""

_VALUES = ("open", "high", "low", "close", "volume")


def from_store(candle: Mapping[str, Any]) -> tuple[int, Candle]:
    """(start ms, response candle) of a stored candle ``{start, open, …, volume}``."""
    start = wire_ms(candle["start"])
    return start, {"t": wire(start), **{k: candle[k] for k in _VALUES}}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def from_open_hash(fields: Mapping[bytes, bytes]) -> tuple[int, Candle] | None:
    """The open candle of a ``candle:{interval}:{product}`` hash (start in ms, OHLCV), or None."""
    values = {k.decode(): v.decode() for k, v in fields.items()}
    try:
        start = int(values["start"])
        candle = {"t": wire(start), **{k: float(values[k]) for k in _VALUES[:4]},
                  "volume": int(values["volume"])}  # fmt: skip
    except (KeyError, ValueError):
        return None
    return start, candle


def from_closed_field(field: bytes | str, value: bytes | str) -> tuple[str, str, int, Candle]:
    """(product, interval, start ms, candle) of a ``candles:closed`` entry
    (``{product}|{interval}|{start_ms}`` → ``open|high|low|close|volume``)."""
    product, interval, start_text = _text(field).split("|")
    o, h, low, c, v = _text(value).split("|")
    start = int(start_text)
    candle = {"t": wire(start), "open": float(o), "high": float(h), "low": float(low),
              "close": float(c), "volume": int(v)}  # fmt: skip
    return product, interval, start, candle


def merge(*sources: Iterable[tuple[int, Candle]]) -> list[tuple[int, Candle]]:
    """Candles of several sources by start, ascending; a later source wins on the same start."""
    by_start: dict[int, Candle] = {}
    for source in sources:
        for start, candle in source:
            by_start[start] = candle
    return sorted(by_start.items())


def aggregate(candles: Sequence[tuple[int, Candle]], width_ms: int) -> list[tuple[int, Candle]]:
    """Candles grouped into epoch-aligned buckets of ``width_ms``: open of the first, highest
    high, lowest low, close of the last, summed volume; ``t`` the bucket start."""
    groups: dict[int, list[Candle]] = {}
    for start, candle in sorted(candles, key=lambda sc: sc[0]):
        groups.setdefault(floor_to(start, width_ms), []).append(candle)
    return [
        (
            bucket,
            {
                "t": wire(bucket),
                "open": group[0]["open"],
                "high": max(c["high"] for c in group),
                "low": min(c["low"] for c in group),
                "close": group[-1]["close"],
                "volume": sum(c["volume"] for c in group),
            },
        )
        for bucket, group in sorted(groups.items())
    ]
