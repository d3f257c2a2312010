"""A strategy's legs, checked against the smiles of their expiries and laid out as arrays.

A leg is ``quantity`` units of the underlying (never contracts: lot sizes are the
service's rule) of one option, or of the underlying itself, bought or sold at ``price``
(per unit, the currency of the chain). Checks raise :class:`StrategyInputError`, a
``ValueError`` that names the offending field (``legs[2].strike``) for a 422.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from common.messages.enums import OptionType
from optionsmath.chain_metrics import BoolArray, FloatArray
from optionsmath.strategy.smile import Smile

MAX_LEGS = 20
"""More legs than this is not a strategy a person builds; it bounds the work per request."""


class Side(StrEnum):
    """BUY: long the leg (pays its price); SELL: short it (receives its price)."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> float:
        """+1 for BUY, −1 for SELL."""
        return 1.0 if self is Side.BUY else -1.0


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg: an option (``option_type`` CALL or PUT, with its ``expiry`` and listed
    ``strike``) or the underlying (``option_type`` and ``strike`` None; valued at spot,
    delta 1, its ``expiry`` ignored). ``quantity`` in units of the underlying (> 0),
    ``price`` the entry price per unit."""

    expiry: dt.date | None
    strike: float | None
    option_type: OptionType | None
    side: Side
    quantity: float
    price: float


class StrategyInputError(ValueError):
    """A strategy's input that cannot be evaluated; ``field`` names it (``legs[1].strike``,
    ``dates[0]``, ``spot``), as a 422 names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Book:
    """The legs as arrays (one entry per leg), resolved against their smiles at ``now``.

    ``weight`` is ``+quantity`` for a BUY and ``−quantity`` for a SELL; ``T`` the years
    from ``now`` to each option's expiry (0 for the underlying); ``iv`` each option's IV
    at its strike from its expiry's smile (NaN for the underlying); ``r`` and ``q`` its
    smile's rate and yield. ``first`` is the smile of the first expiry among the options.
    """

    weight: FloatArray
    price: FloatArray
    strike: FloatArray
    is_call: BoolArray
    is_option: BoolArray
    T: FloatArray
    iv: FloatArray
    r: FloatArray
    q: FloatArray
    first: Smile

    @property
    def t_first(self) -> float:
        """Years from ``now`` to the first expiry."""
        return float(self.T[self.is_option].min())

    @property
    def one_expiry(self) -> bool:
        """Whether every option expires at the first expiry (the P&L there is then piecewise
        linear in spot, and its breakevens and limits are exact)."""
        return bool((self.T[self.is_option] == self.t_first).all())


def resolve_legs(legs: Sequence[Leg], smiles: Mapping[dt.date, Smile], now: dt.datetime) -> Book:
    """Check every leg against ``smiles`` (by expiry) at ``now`` and lay them out as a
    :class:`Book`; :class:`StrategyInputError` names the first bad field."""
    if now.tzinfo is None:
        raise StrategyInputError("now", "must be an aware datetime")
    if not 0 < len(legs) <= MAX_LEGS:
        raise StrategyInputError("legs", f"between 1 and {MAX_LEGS} legs, got {len(legs)}")
    rows = [_resolve(i, leg, smiles, now) for i, leg in enumerate(legs)]
    options = [row for row in rows if row[1] is not None]
    if not options:
        raise StrategyInputError("legs", "at least one leg must be an option")
    first = min((row[1] for row in options if row[1] is not None), key=lambda s: s.expires_at)
    columns = list(zip(*(row[0] for row in rows), strict=True))
    weight, price, strike, is_call, is_option, T, r, q = (np.array(c) for c in columns)
    iv = np.full(len(rows), np.nan)
    for smile in {id(row[1]): row[1] for row in options if row[1] is not None}.values():
        on = np.array([row[1] is smile for row in rows])
        iv[on] = smile.iv(strike[on])  # one spline evaluation per expiry
    return Book(
        weight=weight.astype(np.float64), price=price.astype(np.float64),
        strike=strike.astype(np.float64), is_call=is_call.astype(bool),
        is_option=is_option.astype(bool), T=T.astype(np.float64), iv=iv,
        r=r.astype(np.float64), q=q.astype(np.float64), first=first,
    )  # fmt: skip


Row = tuple[float, float, float, bool, bool, float, float, float]
"""A leg's weight, price, strike, is_call, is_option, T, r, q."""


def _resolve(
    i: int, leg: Leg, smiles: Mapping[dt.date, Smile], now: dt.datetime
) -> tuple[Row, Smile | None]:
    """A leg's row of the :class:`Book` and its smile (``None`` for the underlying)."""
    at = f"legs[{i}]"
    if not isinstance(leg.side, Side):
        raise StrategyInputError(f"{at}.side", f"BUY or SELL, got {leg.side!r}")
    if not (_finite(leg.quantity) and leg.quantity > 0.0):
        raise StrategyInputError(f"{at}.quantity", f"a positive number, got {leg.quantity!r}")
    if not (_finite(leg.price) and leg.price >= 0.0):
        raise StrategyInputError(f"{at}.price", f"a finite price ≥ 0, got {leg.price!r}")
    weight = leg.side.sign * float(leg.quantity)
    if leg.option_type is None:
        if leg.strike is not None:
            raise StrategyInputError(f"{at}.strike", "the underlying has no strike")
        return (weight, float(leg.price), math.nan, False, False, 0.0, 0.0, 0.0), None
    if not isinstance(leg.option_type, OptionType):
        raise StrategyInputError(f"{at}.option_type", f"CALL, PUT or null, got {leg.option_type!r}")
    smile = smiles.get(leg.expiry) if leg.expiry is not None else None
    if smile is None:
        raise StrategyInputError(f"{at}.expiry", f"no chain for expiry {leg.expiry}")
    T = smile.years_to_expiry(now)
    if not T > 0.0:
        raise StrategyInputError(f"{at}.expiry", f"{leg.expiry} expired at {smile.expires_at}")
    strike = smile.listed_strike(leg.strike) if isinstance(leg.strike, int | float) else None
    if strike is None:
        raise StrategyInputError(f"{at}.strike", f"{leg.strike!r} is not listed for {leg.expiry}")
    is_call = leg.option_type is OptionType.CALL
    return (weight, float(leg.price), strike, is_call, True, T, smile.r, smile.q), smile


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
