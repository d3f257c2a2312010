"""The options math of OptionsFlow: pure NumPy, no I/O.

Prices, Greeks and implied volatility vectorised over whole chains, chain
statistics (PCR, max pain, ATM straddle, OI buildup, skew) and
:func:`enrich_chain` / :func:`enrich_chains`, which turn raw chain messages into
enriched ones, one or a whole batch at a time.
"""

from __future__ import annotations

from optionsmath.bsm import bs_greeks, bs_price
from optionsmath.chain_metrics import classify_buildup, max_pain, skew_25d
from optionsmath.enrich import enrich_chain, enrich_chains
from optionsmath.implied_volatility import implied_vol
from optionsmath.rows import quote_price

__all__ = [
    "bs_greeks",
    "bs_price",
    "classify_buildup",
    "enrich_chain",
    "enrich_chains",
    "implied_vol",
    "max_pain",
    "quote_price",
    "skew_25d",
]
