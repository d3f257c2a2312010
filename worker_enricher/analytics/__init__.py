"""The options math of OptionsFlow: pure NumPy, no I/O.

Prices, Greeks and implied volatility vectorised over whole chains, chain
statistics (PCR, max pain, ATM straddle, OI buildup, skew) and
:func:`enrich_chain`, which turns a raw chain message into an enriched one.
"""

from __future__ import annotations

from worker_enricher.analytics.bsm import bs_greeks, bs_price
from worker_enricher.analytics.implied_volatility import implied_vol

__all__ = ["bs_greeks", "bs_price", "implied_vol"]
