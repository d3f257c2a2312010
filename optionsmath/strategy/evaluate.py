"""``evaluate_strategy``: a strategy's payoff curves, breakevens, limits, Greeks and
probability of profit (docs/MATH.md, "Strategies")."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from common.timestamps import SECONDS_PER_YEAR
from optionsmath.chain_metrics import FloatArray
from optionsmath.density import Density, lognormal_density, probability, risk_neutral_density
from optionsmath.strategy.legs import Book, Leg, StrategyInputError, resolve_legs
from optionsmath.strategy.payoff import (
    Greeks,
    default_grid,
    exact_breakevens,
    exact_limits,
    greeks,
    grid_breakevens,
    grid_limits,
    knots,
    pnl,
    zero_tolerance,
)
from optionsmath.strategy.smile import Smile

MAX_DATES = 8
"""Curves between today and the first expiry a request may ask for."""
MAX_GRID = 2001
"""Spots a caller's grid may hold."""


@dataclass(frozen=True, slots=True)
class DatedCurve:
    """The P&L (currency) at each spot of the payoff grid at ``moment``."""

    moment: dt.datetime
    pnl: FloatArray


@dataclass(frozen=True, slots=True)
class Payoff:
    """P&L curves on one grid of ``spots`` (increasing; every strike, breakeven and spot
    among them): ``expiry`` at the first expiry, ``today`` at ``now``, ``dates`` at the
    requested moments between."""

    spots: FloatArray
    expiry: FloatArray
    today: FloatArray
    dates: tuple[DatedCurve, ...]


@dataclass(frozen=True, slots=True)
class StrategyReport:
    """What :func:`evaluate_strategy` finds; amounts in the chain's currency.

    ``net_premium`` is ``Σ ±quantity·price`` (BUY +): positive is paid (a debit),
    negative received (a credit). ``max_profit`` is the highest P&L at the first expiry and
    ``max_loss`` minus the lowest (a positive amount when a loss is possible), ``None``
    when unbounded; ``limits_exact`` says they were found on the pieces of a one-expiry
    strategy rather than over the grid. ``pop`` is ``P(P&L at the first expiry > 0)``
    under the smile's risk-neutral density, ``pop_lognormal`` under the lognormal at
    ``atm_iv`` (the smile's IV at today's forward). ``leg_ivs`` are the IVs each option
    is valued at (``None`` for the underlying).
    """

    expiry: dt.date
    expires_at: dt.datetime
    net_premium: float
    payoff: Payoff
    breakevens: tuple[float, ...]
    max_profit: float | None
    max_loss: float | None
    limits_exact: bool
    greeks: Greeks
    pop: float
    pop_lognormal: float
    atm_iv: float
    leg_ivs: tuple[float | None, ...]
    density: Density
    lognormal: Density


def evaluate_strategy(
    legs: Sequence[Leg],
    smiles: Mapping[dt.date, Smile],
    spot: float,
    now: dt.datetime,
    *,
    dates: Sequence[dt.datetime] = (),
    grid: ArrayLike | None = None,
) -> StrategyReport:
    """Evaluate ``legs`` against the ``smiles`` of their expiries at ``spot`` and ``now``.

    ``dates`` are moments strictly between ``now`` and the first expiry with a P&L curve
    of their own; ``grid`` the spots of the curves (default: 201 over ±3 standard
    deviations of the first expiry, at its ATM IV, around spot), to which every strike,
    breakeven and spot are added. :class:`StrategyInputError` (a ``ValueError``) names a
    bad field.
    """
    if isinstance(spot, bool) or not (
        isinstance(spot, int | float) and math.isfinite(spot) and spot > 0.0
    ):
        raise StrategyInputError("spot", f"a positive number, got {spot!r}")
    book = resolve_legs(legs, smiles, now)
    first = book.first
    if len(dates) > MAX_DATES:
        raise StrategyInputError("dates", f"at most {MAX_DATES}, got {len(dates)}")
    elapsed = [_elapsed(book, now, moment, j) for j, moment in enumerate(dates)]
    T = book.t_first
    forward = spot * math.exp((first.r - first.q) * T)
    atm_iv = float(first.iv([forward])[0])
    default, breakevens = _breakevens(book, spot, atm_iv * math.sqrt(T))
    strikes = knots(book, spot)
    spots = default if grid is None else _grid(grid, np.append(strikes, breakevens), spot)
    at_expiry = _at_expiry(book, spots, spot)
    exact = book.one_expiry
    limits = exact_limits(book, spot) if exact else grid_limits(book, spots, at_expiry)
    # PoP on the default grid whatever the caller's: it holds every strike and breakeven
    # with a piece beyond them, so its linear extension is the payoff's own.
    pop_curve = at_expiry if grid is None else _at_expiry(book, default, spot)
    density = risk_neutral_density(first, spot=spot, moment=now)
    lognormal = lognormal_density(forward, atm_iv, T)
    curves = tuple(DatedCurve(m, pnl(book, spots, e)) for m, e in zip(dates, elapsed, strict=True))
    payoff = Payoff(spots=spots, expiry=at_expiry, today=pnl(book, spots, 0.0), dates=curves)
    return StrategyReport(
        expiry=first.expiry,
        expires_at=first.expires_at,
        net_premium=float(np.dot(book.weight, book.price)),
        payoff=payoff,
        breakevens=tuple(breakevens.tolist()),
        max_profit=limits.max_profit,
        max_loss=limits.max_loss,
        limits_exact=limits.exact,
        greeks=greeks(book, spot),
        pop=probability(default, pop_curve, density),
        pop_lognormal=probability(default, pop_curve, lognormal),
        atm_iv=atm_iv,
        leg_ivs=tuple(None if math.isnan(v) else v for v in book.iv.tolist()),
        density=density,
        lognormal=lognormal,
    )


def _breakevens(book: Book, spot: float, total_vol: float) -> tuple[FloatArray, FloatArray]:
    """The default grid (every strike and breakeven on it) and the breakevens: exact for a
    one-expiry book, Brent roots on the grid otherwise."""
    strikes = knots(book, spot)
    if book.one_expiry:
        breakevens = exact_breakevens(book, spot)
        return default_grid(spot, total_vol, np.append(strikes, breakevens)), breakevens
    default = default_grid(spot, total_vol, strikes)
    breakevens = grid_breakevens(book, default, spot)
    return np.unique(np.concatenate([default, breakevens])), breakevens


def _at_expiry(book: Book, spots: FloatArray, spot: float) -> FloatArray:
    """The P&L at the first expiry, rounding-level values set to zero (the breakevens)."""
    curve = pnl(book, spots, book.t_first)
    snapped: FloatArray = np.where(np.abs(curve) <= zero_tolerance(book, spot), 0.0, curve)
    return snapped


def _elapsed(book: Book, now: dt.datetime, moment: dt.datetime, j: int) -> float:
    """Years from ``now`` to ``moment``, which must be strictly before the first expiry."""
    if not isinstance(moment, dt.datetime) or moment.tzinfo is None:
        raise StrategyInputError(f"dates[{j}]", f"an aware datetime, got {moment!r}")
    years = (moment - now).total_seconds() / SECONDS_PER_YEAR
    if not 0.0 < years < book.t_first:
        raise StrategyInputError(
            f"dates[{j}]", f"must be after now and before the first expiry {book.first.expires_at}"
        )
    return years


def _grid(grid: ArrayLike, include: FloatArray, spot: float) -> FloatArray:
    """The caller's grid with ``include`` (strikes, breakevens) within its range, and spot."""
    try:
        points = np.asarray(grid, dtype=np.float64)
    except (TypeError, ValueError):
        raise StrategyInputError("grid", "a list of spots") from None
    if points.ndim != 1 or not 2 <= points.size <= MAX_GRID:
        raise StrategyInputError("grid", f"between 2 and {MAX_GRID} spots")
    if not (np.isfinite(points).all() and (points > 0.0).all()):
        raise StrategyInputError("grid", "spots must be positive numbers")
    lo, hi = points.min(), points.max()
    extra = include[(include >= lo) & (include <= hi)]
    spot_in = [spot] if lo <= spot <= hi else []
    merged: FloatArray = np.unique(np.concatenate([points, extra, spot_in]))
    return merged
