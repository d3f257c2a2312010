"""A book's value and P&L at any spot and moment, its breakevens and its limits.

Each option is valued by Black-Scholes-Merton on spot with its smile's ``r`` and ``q``
(the forward moves with spot, ``F = S·e^{(r−q)τ}``) at its own IV from its smile at its
strike, which does not move with spot (sticky strike); at or after its expiry, at its
intrinsic value. The underlying is worth spot. The P&L of a leg is
``weight·(value − price)``, ``weight`` = ±quantity (BUY +, SELL −).

At the first expiry a book whose options all expire then is piecewise linear in spot with
kinks at its strikes: its breakevens are the exact roots of each piece and its limits
the extremes over the strikes and spot 0, unbounded when the slope beyond the last strike
is not zero. With later legs the P&L is smooth between the strikes: breakevens are
bracketed on the grid and solved by Brent's method, limits are the extremes over the grid,
and the slope at large spot (later calls tend to ``e^{−qτ}·S``) says whether they are
bounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from optionsmath.bsm import bs_greeks, bs_price
from optionsmath.chain_metrics import FloatArray
from optionsmath.strategy.legs import Book

SLOPE_TOLERANCE = 1e-9
"""A slope within this fraction of the total quantity is flat (rounding of sums of
quantities and of ``e^{−qτ}`` with a ``q`` implied from a forward)."""
ZERO_TOLERANCE = 1e-12
"""A P&L within this fraction of the book's scale (Σ quantity × (price + strike or spot))
is zero: a breakeven, not a rounding error on either side of one."""


def values(book: Book, spots: FloatArray, elapsed: float, vol_shift: float = 0.0) -> FloatArray:
    """Each leg's value per unit (``spots × legs``) at ``elapsed`` years after ``now``,
    the options at their IV plus ``vol_shift`` (decimal)."""
    S = spots[:, None]
    tau = book.T - elapsed
    live = book.is_option & (tau > 0.0)
    out = np.where(book.is_call, S - book.strike, book.strike - S)
    out = np.where(book.is_option, np.maximum(out, 0.0), S)
    if live.any():
        cols = np.flatnonzero(live)
        out[:, cols] = bs_price(
            S, book.strike[cols], tau[cols], book.r[cols], book.q[cols],
            book.iv[cols] + vol_shift, book.is_call[cols],
        )  # fmt: skip
    result: FloatArray = out
    return result


def pnl(book: Book, spots: FloatArray, elapsed: float, vol_shift: float = 0.0) -> FloatArray:
    """The book's P&L at each spot, ``elapsed`` years after ``now`` (currency)."""
    total: FloatArray = (values(book, spots, elapsed, vol_shift) - book.price) @ book.weight
    return total


@dataclass(frozen=True, slots=True)
class Greeks:
    """The book's Greeks at spot, today: ``delta`` and ``gamma`` per unit of underlying,
    ``theta`` per calendar day, ``vega`` per vol point (a parallel shift of the smiles),
    each summed over legs with its weight (the underlying: delta 1)."""

    delta: float
    gamma: float
    theta: float
    vega: float


def greeks(book: Book, spot: float) -> Greeks:
    """:class:`Greeks` of the book at ``spot`` and ``now`` (every option has ``T > 0``)."""
    opt = book.is_option
    g = bs_greeks(spot, book.strike[opt], book.T[opt], book.r[opt], book.q[opt], book.iv[opt],
                  book.is_call[opt])  # fmt: skip
    w = book.weight[opt]
    underlying = float(book.weight[~opt].sum())
    return Greeks(
        delta=float(np.dot(w, g["delta"])) + underlying,
        gamma=float(np.dot(w, g["gamma"])),
        theta=float(np.dot(w, g["theta"])),
        vega=float(np.dot(w, g["vega"])),
    )


def slope_at_infinity(book: Book) -> float:
    """``dP&L/dS`` at the first expiry as spot grows without bound: calls of the first
    expiry and the underlying 1, a later call ``e^{−qτ}``, puts 0."""
    tau = book.T - book.t_first
    per_unit = np.where(book.is_call, np.exp(-book.q * tau), 0.0)
    per_unit = np.where(book.is_option, per_unit, 1.0)
    return float(np.dot(book.weight, per_unit))


def slope_below_strikes(book: Book) -> float:
    """``dP&L/dS`` at the first expiry below every strike, for a one-expiry book: puts −1,
    calls 0, the underlying 1."""
    per_unit = np.where(book.is_option, np.where(book.is_call, 0.0, -1.0), 1.0)
    return float(np.dot(book.weight, per_unit))


def _flat(slope: float, book: Book) -> bool:
    return abs(slope) <= SLOPE_TOLERANCE * float(np.abs(book.weight).sum())


def zero_tolerance(book: Book, spot: float) -> float:
    """A P&L this small is zero (see :data:`ZERO_TOLERANCE`)."""
    size = np.abs(book.weight) * (book.price + np.where(book.is_option, book.strike, spot))
    return ZERO_TOLERANCE * float(size.sum())


@dataclass(frozen=True, slots=True)
class Limits:
    """The largest P&L (``max_profit``) and the largest loss as a positive amount
    (``max_loss`` = −the lowest P&L), ``None`` when unbounded; ``exact`` when found on the
    pieces of a one-expiry book, else over a grid."""

    max_profit: float | None
    max_loss: float | None
    exact: bool


def knots(book: Book, spot: float) -> FloatArray:
    """The strikes of the book's options, sorted, unique (spot for a book without any)."""
    strikes = np.unique(book.strike[book.is_option])
    return strikes if strikes.size else np.array([spot])


def exact_breakevens(book: Book, spot: float) -> FloatArray:
    """Every spot where a one-expiry book's P&L at expiry is zero: the root of each linear
    piece, a strike where it is zero, and the roots of the two outer pieces."""
    x = knots(book, spot)
    y = pnl(book, x, book.t_first)
    tol = zero_tolerance(book, spot)
    y = np.where(np.abs(y) <= tol, 0.0, y)
    roots = [x[y == 0.0]]
    cross = np.flatnonzero(y[:-1] * y[1:] < 0.0)
    roots.append(x[cross] - y[cross] * (x[cross + 1] - x[cross]) / (y[cross + 1] - y[cross]))
    left, right = slope_below_strikes(book), slope_at_infinity(book)
    if not _flat(left, book):
        below = x[0] - y[0] / left
        roots.append(np.array([below]) if 0.0 < below < x[0] else np.empty(0))
    if not _flat(right, book):
        above = x[-1] - y[-1] / right
        roots.append(np.array([above]) if above > x[-1] else np.empty(0))
    found: FloatArray = np.unique(np.concatenate(roots))
    return found


def exact_limits(book: Book, spot: float) -> Limits:
    """A one-expiry book's limits at expiry over its strikes and spot 0."""
    x = knots(book, spot)
    y = pnl(book, x, book.t_first)
    at_zero = y[0] - slope_below_strikes(book) * x[0]
    candidates = np.append(y, at_zero)
    right = slope_at_infinity(book)
    flat = _flat(right, book)
    return Limits(
        max_profit=float(candidates.max()) if flat or right < 0.0 else None,
        max_loss=float(-candidates.min()) if flat or right > 0.0 else None,
        exact=True,
    )


def grid_breakevens(book: Book, spots: FloatArray, spot: float) -> FloatArray:
    """The zeros of the P&L at the first expiry within ``spots`` (increasing): points where
    it is zero, and a Brent root in every interval where it changes sign."""
    elapsed = book.t_first
    y = pnl(book, spots, elapsed)
    tol = zero_tolerance(book, spot)
    y = np.where(np.abs(y) <= tol, 0.0, y)

    def f(s: float) -> float:
        return float(pnl(book, np.array([s]), elapsed)[0])

    xtol = 1e-12 * float(spots[-1])
    roots = [float(brentq(f, spots[i], spots[i + 1], xtol=xtol))
             for i in np.flatnonzero(y[:-1] * y[1:] < 0.0)]  # fmt: skip
    found: FloatArray = np.unique(np.concatenate([spots[y == 0.0], roots]))
    return found


def grid_limits(book: Book, spots: FloatArray, curve: FloatArray) -> Limits:
    """Limits over a grid's P&L ``curve``; unbounded from :func:`slope_at_infinity`."""
    right = slope_at_infinity(book)
    flat = _flat(right, book)
    return Limits(
        max_profit=float(curve.max()) if flat or right < 0.0 else None,
        max_loss=float(-curve.min()) if flat or right > 0.0 else None,
        exact=False,
    )


def default_grid(
    spot: float, total_vol: float, include: FloatArray, points: int = 201
) -> FloatArray:
    """``points`` spots over ``spot·e^{±3·total_vol}`` (three standard deviations to the
    first expiry), widened to hold ``include`` (strikes, breakevens) with a margin, plus
    ``include`` and spot themselves."""
    lo, hi = spot * math.exp(-3.0 * total_vol), spot * math.exp(3.0 * total_vol)
    if include.size:
        pad = (hi - lo) / 20.0
        lo, hi = min(lo, float(include.min()) - pad), max(hi, float(include.max()) + pad)
        if lo <= 0.0:
            lo = min(spot * math.exp(-3.0 * total_vol), float(include.min())) / 2.0
    grid: FloatArray = np.unique(np.concatenate([np.linspace(lo, hi, points), include, [spot]]))
    return grid
