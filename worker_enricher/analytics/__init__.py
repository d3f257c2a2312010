"""The options math of OptionsFlow: pure NumPy, no I/O.

Prices, Greeks and implied volatility vectorised over whole chains, chain
statistics (PCR, max pain, ATM straddle, OI buildup, skew) and
:func:`enrich_chain`, which turns a raw chain message into an enriched one.
"""

from __future__ import annotations

from worker_enricher.analytics.bsm import bs_greeks, bs_price
from worker_enricher.analytics.chain_metrics import classify_buildup, max_pain, skew_25d
from worker_enricher.analytics.enrich import enrich_chain, quote_price
from worker_enricher.analytics.implied_volatility import implied_vol

__all__ = [
    "bs_greeks",
    "bs_price",
    "classify_buildup",
    "enrich_chain",
    "implied_vol",
    "max_pain",
    "quote_price",
    "skew_25d",
]
