"""Options strategies: legs valued on the smiles of live chains (docs/MATH.md, "Strategies").

- :class:`Smile` (:func:`smile_of` an enriched chain): one expiry's IVs, sticky strike;
- :class:`Leg`, :class:`Side`: an option or the underlying, bought or sold at a price;
- :func:`evaluate_strategy` → :class:`StrategyReport`: payoff curves at the first expiry,
  today and chosen dates, breakevens, limits, Greeks and the probability of profit under
  the smile's risk-neutral density (:mod:`optionsmath.density`) and the lognormal;
- :func:`template_legs`: straddles, strangles, verticals, iron condors, butterflies and
  calendars around the ATM strike.

Bad input raises :class:`StrategyInputError`, a ``ValueError`` naming the field.
"""

from __future__ import annotations

from optionsmath.strategy.evaluate import (
    MAX_DATES,
    MAX_GRID,
    DatedCurve,
    Payoff,
    StrategyReport,
    evaluate_strategy,
)
from optionsmath.strategy.legs import MAX_LEGS, Leg, Side, StrategyInputError
from optionsmath.strategy.payoff import Greeks
from optionsmath.strategy.smile import Smile, smile_of
from optionsmath.strategy.templates import Template, template_legs

__all__ = [
    "MAX_DATES",
    "MAX_GRID",
    "MAX_LEGS",
    "DatedCurve",
    "Greeks",
    "Leg",
    "Payoff",
    "Side",
    "Smile",
    "StrategyInputError",
    "StrategyReport",
    "Template",
    "evaluate_strategy",
    "smile_of",
    "template_legs",
]
