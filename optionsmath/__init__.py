"""The options math of OptionsFlow: pure NumPy, no I/O.

Prices, Greeks and implied volatility vectorised over whole chains, chain
statistics (PCR, max pain, ATM straddle, OI buildup, skew) and
:func:`enrich_chain` / :func:`enrich_chains`, which turn raw chain messages into
enriched ones, one or a whole batch at a time. Black-76 on a forward, the carry
forward and the forward implied by put-call parity are in :mod:`optionsmath.forward`.
"""

from __future__ import annotations

from optionsmath.bsm import bs_greeks, bs_price
from optionsmath.chain_metrics import classify_buildup, max_pain, skew_25d
from optionsmath.enrich import enrich_chain, enrich_chains
from optionsmath.forward import (
    black76_greeks,
    black76_price,
    carry_forward,
    implied_vol_black76,
    parity_forward,
)
from optionsmath.implied_volatility import implied_vol
from optionsmath.rows import quote_price

__all__ = [
    "black76_greeks",
    "black76_price",
    "bs_greeks",
    "bs_price",
    "carry_forward",
    "classify_buildup",
    "enrich_chain",
    "enrich_chains",
    "implied_vol",
    "implied_vol_black76",
    "max_pain",
    "parity_forward",
    "quote_price",
    "skew_25d",
]
