"""Sample payloads the benchmarks share."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import orjson


def enriched_chain_bytes(expiry: str, product: str = "NIFTY") -> bytes:
    """One enriched 21-strike chain, as the workers cache it."""
    from worker_enricher.analytics import enrich_chain

    spot, strikes = 24_000.0, [23_500.0 + 50 * i for i in range(21)]
    now = dt.datetime.now(dt.UTC)

    def row(k: float, call: bool) -> dict[str, Any]:
        intrinsic = max(spot - k, 0.0) if call else max(k - spot, 0.0)
        mid = intrinsic + 60.0 * math.exp(-(((k - spot) / 400.0) ** 2)) + 5.0
        return {"strike": k, "bid": round(mid - 0.5, 2), "ask": round(mid + 0.5, 2),
                "last": round(mid, 2), "volume": 1000, "oi": 50_000}  # fmt: skip

    chain = {
        "product": product, "expiry": expiry, "spot_price": spot, "strikes": strikes,
        "calls": [row(k, True) for k in strikes], "puts": [row(k, False) for k in strikes],
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "seq": 1,
    }  # fmt: skip
    enriched = enrich_chain(chain, previous=None)
    enriched["processed_at"] = chain["timestamp"]
    return orjson.dumps(enriched)
