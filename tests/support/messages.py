"""Valid market messages for tests (chains: ``tests.support.chains.build_chain``)."""

from __future__ import annotations

from typing import Any

TICK: dict[str, Any] = {
    "type": "underlying", "product": "NIFTY", "price": 24012.5, "volume": 1200,
    "timestamp": "2026-11-21T04:00:00.125Z", "seq": 0,
}  # fmt: skip
QUOTE: dict[str, Any] = {
    "symbol": "NIFTY261126C24000", "product": "NIFTY", "expiry": "2026-11-26", "strike": 24000.0,
    "option_type": "CALL", "bid": 120.05, "ask": 120.4, "last": 120.2, "volume": 5000,
    "oi": 120000, "timestamp": "2026-11-21T04:00:00.125Z", "seq": 17,
}  # fmt: skip
