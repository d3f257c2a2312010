"""Synthetic chains priced exactly by Black-Scholes, so every IV is known."""

from __future__ import annotations

from typing import Any

import numpy as np

from optionsmath import bs_price

RATE = 0.065
TIMESTAMP = "2026-11-21T04:00:00.000Z"
EXPIRY = "2026-11-26"  # expires 2026-11-26T10:00Z: T = 5.25 days


def smile(strikes: np.ndarray, spot: float) -> np.ndarray:
    """A gentle negative skew around 15 %."""
    k = np.log(strikes / spot)
    return 0.15 - 0.1 * k + 0.5 * k * k


def build_chain(
    n: int = 21, spot: float = 24_010.0, step: float = 50.0, seq: int = 7, **overrides: Any
) -> dict[str, Any]:
    center = round(spot / step) * step
    strikes = center + step * (np.arange(n) - n // 2)
    T = (5 * 86400 + 6 * 3600) / (365 * 86400)
    vols = smile(strikes, spot)
    rows: dict[str, list[dict[str, Any]]] = {}
    for side, is_call in (("calls", True), ("puts", False)):
        mid = np.asarray(bs_price(spot, strikes, T, RATE, 0.0, vols, is_call))
        oi = (1000 + 40_000 * np.exp(-(((strikes - spot) / (4 * step)) ** 2))).astype(int)
        rows[side] = [
            {"strike": float(k), "bid": float(p), "ask": float(p), "last": float(p),
             "volume": int(o // 3), "oi": int(o)}
            for k, p, o in zip(strikes, mid, oi, strict=True)
        ]  # fmt: skip
    chain = {
        "product": "NIFTY", "expiry": EXPIRY, "spot_price": spot,
        "strikes": [float(k) for k in strikes], "calls": rows["calls"], "puts": rows["puts"],
        "timestamp": TIMESTAMP, "seq": seq,
    }  # fmt: skip
    chain.update(overrides)
    return chain
