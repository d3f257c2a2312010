"""The options math of OptionsFlow: pure NumPy, no I/O.

Prices, Greeks and implied volatility vectorised over whole chains, chain
statistics (PCR, max pain, ATM straddle, OI buildup, skew) and
:func:`enrich_chain` / :func:`enrich_chains`, which turn raw chain messages into
enriched ones, one or a whole batch at a time. Black-76 on a forward, the carry
forward and the forward implied by put-call parity are in :mod:`optionsmath.forward`.
Strategies (:mod:`optionsmath.strategy`: payoff, breakevens, limits, Greeks, probability
of profit, templates) and densities (:mod:`optionsmath.density`) are exported here too,
imported on first use: they need SciPy's interpolation and root finding, which the
enrichment does not (about 0.15 s more at start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from optionsmath.density import (
        Density,
        lognormal_density,
        probability,
        risk_neutral_density,
    )
    from optionsmath.strategy import (
        Leg,
        Side,
        Smile,
        StrategyInputError,
        StrategyReport,
        Template,
        evaluate_strategy,
        smile_of,
        template_legs,
    )

_LAZY = {
    "Density": "optionsmath.density",
    "lognormal_density": "optionsmath.density",
    "probability": "optionsmath.density",
    "risk_neutral_density": "optionsmath.density",
    "Leg": "optionsmath.strategy",
    "Side": "optionsmath.strategy",
    "Smile": "optionsmath.strategy",
    "StrategyInputError": "optionsmath.strategy",
    "StrategyReport": "optionsmath.strategy",
    "Template": "optionsmath.strategy",
    "evaluate_strategy": "optionsmath.strategy",
    "smile_of": "optionsmath.strategy",
    "template_legs": "optionsmath.strategy",
}
"""Names imported from their module on first access (PEP 562)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optionsmath' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "Density",
    "Leg",
    "Side",
    "Smile",
    "StrategyInputError",
    "StrategyReport",
    "Template",
    "black76_greeks",
    "black76_price",
    "bs_greeks",
    "bs_price",
    "carry_forward",
    "classify_buildup",
    "enrich_chain",
    "enrich_chains",
    "evaluate_strategy",
    "implied_vol",
    "implied_vol_black76",
    "lognormal_density",
    "max_pain",
    "parity_forward",
    "probability",
    "quote_price",
    "risk_neutral_density",
    "skew_25d",
    "smile_of",
    "template_legs",
]
