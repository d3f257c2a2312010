"""The distribution of the underlying at an expiry: implied by the smile, or lognormal.

**Risk-neutral density** (Breeden–Litzenberger): the undiscounted call price on the
interpolated smile, ``c(K) = e^{rT}·C(K) = F·N(d1) − K·N(d2)`` with ``σ = σ(K)``, gives
``P(S_T > K) = −∂c/∂K`` and the density ``p(K) = ∂²c/∂K²``. With the spline's
derivatives ``σ′ = dσ/dK`` and ``σ″`` both are closed forms (no finite differences of
prices, so no noise from them)::

    P(S_T ≤ K) = N(−d2) + K·φ(d2)·√T·σ′
    p(K) = φ(d2)·[1/(K·σ·√T) + 2·d1·σ′/σ + K·√T·d1·d2·σ′²/σ + K·√T·σ″]

evaluated on a fine strike grid (``density_grid``: log-spaced over ±8 standard
deviations at the smile's highest IV, plus the smile's strikes and both sides of its
ends). A smile with butterfly arbitrage gives negative values: they are clipped to zero
and their mass reported (``clipped``). The cumulative is the closed form at the grid
points, so the mass below and above the grid is its value at the ends; the values are
renormalised so that the trapezoid rule gives the grid exactly the rest, and
``raw_mass`` keeps what it gave before (within 1e-6 of it on the tests' smiles).

**Lognormal**: ``S_T = F·e^{σ√T·Z − σ²T/2}`` at one IV, the same structure.

:func:`probability` integrates a density over the spots where a P&L curve is positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from optionsmath.black import SQRT_2PI
from optionsmath.chain_metrics import FloatArray

if TYPE_CHECKING:
    import datetime as dt

    from optionsmath.strategy.smile import Smile

__all__ = [
    "DENSITY_POINTS",
    "DENSITY_SPAN",
    "Density",
    "density_grid",
    "lognormal_density",
    "probability",
    "risk_neutral_density",
]

DENSITY_POINTS = 2001
"""Strikes of the default density grid."""
JOIN = 1e-10
"""Relative gap of the two points that hold each side of the smile's end nodes."""
DENSITY_SPAN = 8.0
"""Half-width of the default grid in standard deviations (``σ√T`` of log-spot)."""


@dataclass(frozen=True, slots=True)
class Density:
    """A density of the underlying at expiry on an increasing ``grid`` of spots.

    ``values`` per unit of the underlying (they integrate, by the trapezoid rule, to
    ``1 − outside``); ``cumulative`` ``P(S_T ≤ grid[i])``, from ``below`` at the first
    point to ``1 − above`` at the last; ``raw_mass`` the grid's mass before renormalising
    and ``clipped`` the negative mass removed (an arbitrage in the smile), both for
    diagnostics.
    """

    grid: FloatArray
    values: FloatArray
    cumulative: FloatArray
    below: float
    above: float
    raw_mass: float
    clipped: float

    @property
    def outside(self) -> float:
        """The mass beyond the grid, below and above it."""
        return self.below + self.above

    def cdf(self, spots: ArrayLike) -> FloatArray:
        """``P(S_T ≤ s)``: ``cumulative`` at grid points; between two, their difference
        shared as the linear density between them shares it; beyond the grid the outside
        mass sits at its edges (0 at s ≤ 0, 1 at +∞)."""
        s = np.asarray(spots, dtype=np.float64)
        g, v, c = self.grid, self.values, self.cumulative
        i = np.clip(np.searchsorted(g, s, side="right") - 1, 0, g.size - 2)
        h = g[i + 1] - g[i]
        u = np.clip(s - g[i], 0.0, h) / h
        part = u * (v[i] + 0.5 * u * (v[i + 1] - v[i]))  # ∫₀ᵘ linear density, per h
        whole = 0.5 * (v[i] + v[i + 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(whole > 0.0, part / whole, u)
        inside = c[i] + share * (c[i + 1] - c[i])
        out = np.where(s <= 0.0, 0.0, np.where(np.isposinf(s), 1.0, inside))
        result: FloatArray = np.where(s < g[0], np.minimum(out, self.below), out)
        return result


def density_grid(forward: float, total_vol: float, points: int = DENSITY_POINTS,
                 span: float = DENSITY_SPAN) -> FloatArray:  # fmt: skip
    """``points`` strikes log-spaced over ``forward·e^{±span·total_vol}`` (``total_vol`` =
    σ√T)."""
    if not (forward > 0.0 and total_vol > 0.0 and points >= 3 and span > 0.0):
        raise ValueError("forward and total_vol must be positive, points at least 3")
    grid: FloatArray = forward * np.exp(np.linspace(-span, span, points) * total_vol)
    return grid


def _build(grid: FloatArray, pdf: FloatArray, cdf: FloatArray) -> Density:
    """A :class:`Density` from its closed forms on the grid: negative values clipped, the
    rest scaled to the grid's mass ``cdf[-1] − cdf[0]``; ``cdf`` kept monotone in [0, 1]."""
    cumulative = np.clip(np.maximum.accumulate(cdf), 0.0, 1.0)
    below, above = float(cumulative[0]), 1.0 - float(cumulative[-1])
    widths = np.diff(grid)
    negative = np.minimum(pdf, 0.0)
    clipped = float(-np.dot(widths, 0.5 * (negative[:-1] + negative[1:])))
    values = np.maximum(pdf, 0.0)
    raw = float(np.dot(widths, 0.5 * (values[:-1] + values[1:])))
    inside = float(cumulative[-1] - cumulative[0])
    values = values * (inside / raw) if raw > 0.0 else values
    return Density(grid, values, cumulative, below, above, raw, clipped)


def risk_neutral_density(
    smile: Smile, grid: ArrayLike | None = None, *, spot: float | None = None,
    moment: dt.datetime | None = None,
) -> Density:  # fmt: skip
    """The density implied by ``smile`` (Breeden–Litzenberger on its spline, sticky
    strike) for spot ``spot`` at ``moment`` (default: the smile's own spot and time), on
    ``grid`` (strikes, increasing; default :func:`density_grid` at its highest IV)."""
    S = smile.spot if spot is None else spot
    T = smile.T if moment is None else smile.years_to_expiry(moment)
    if not (S > 0.0 and math.isfinite(S) and T > 0.0):
        raise ValueError(f"a density needs a positive spot and time to expiry: {S}, {T}")
    F = S * math.exp((smile.r - smile.q) * T)
    K = _grid(grid, F, float(smile.ivs.max()) * math.sqrt(T))
    if grid is None:
        K = _with_nodes(K, smile.strikes)
    sigma, s1, s2 = smile.iv_derivatives(K)
    root_t = math.sqrt(T)
    s = sigma * root_t
    d1 = np.log(F / K) / s + 0.5 * s
    d2 = d1 - s
    phi = np.exp(-0.5 * d2 * d2) / SQRT_2PI
    pdf = phi * (1.0 / (K * s) + 2.0 * d1 * s1 / sigma + K * root_t * d1 * d2 * s1 * s1 / sigma
                 + K * root_t * s2)  # fmt: skip
    cdf = ndtr(-d2) + K * phi * root_t * s1
    return _build(K, pdf, cdf)


def _with_nodes(grid: FloatArray, nodes: FloatArray) -> FloatArray:
    """``grid`` with the spline's nodes (where the density's slope kinks) and both sides of
    its two ends: ``σ″`` stops there, so the density jumps, and a trapezoid across the jump
    would be off by the jump × half a step. A pair of points ``JOIN`` apart holds the value
    of each side (the cell between them carries no mass)."""
    ends = np.array([nodes[0] * (1.0 + JOIN), nodes[-1] * (1.0 - JOIN)])
    extra = np.concatenate([nodes, ends if nodes.size > 1 else []])
    extra = extra[(extra > grid[0]) & (extra < grid[-1])]
    merged: FloatArray = np.unique(np.concatenate([grid, extra]))
    return merged


def lognormal_density(
    forward: float, sigma: float, T: float, grid: ArrayLike | None = None
) -> Density:
    """The lognormal density of ``S_T`` with mean ``forward`` and volatility ``sigma``
    (per year) over ``T`` years, on ``grid`` (default :func:`density_grid`)."""
    if not (forward > 0.0 and sigma > 0.0 and T > 0.0):
        raise ValueError(f"forward, sigma and T must be positive: {forward}, {sigma}, {T}")
    s = sigma * math.sqrt(T)
    K = _grid(grid, forward, s)
    d2 = np.log(forward / K) / s - 0.5 * s
    pdf = np.exp(-0.5 * d2 * d2) / (SQRT_2PI * K * s)
    cdf = ndtr(-d2)
    return _build(K, pdf, cdf)


def _grid(grid: ArrayLike | None, forward: float, total_vol: float) -> FloatArray:
    if grid is None:
        return density_grid(forward, total_vol)
    K = np.asarray(grid, dtype=np.float64)
    if K.ndim != 1 or K.size < 3 or not (np.isfinite(K).all() and K[0] > 0.0):
        raise ValueError("grid must hold at least 3 positive finite strikes")
    if (np.diff(K) <= 0.0).any():
        raise ValueError("grid must be increasing")
    return K


def probability(spots: ArrayLike, pnl: ArrayLike, density: Density) -> float:
    """``P(P&L > 0)`` under ``density`` for a P&L curve: ``pnl`` at increasing ``spots``,
    linear between them and extended linearly beyond its ends (exact for a one-expiry
    payoff whose curve holds its strikes). The positive set is bounded by the curve's zeros
    (points where it is zero, the linear root of each sign change, and of the two outer
    lines), and its probability is a sum of ``cdf`` differences."""
    x, y = np.asarray(spots, dtype=np.float64), np.asarray(pnl, dtype=np.float64)
    if x.ndim != 1 or x.size < 2 or x.shape != y.shape or not np.isfinite(y).all():
        raise ValueError("spots and pnl must be finite curves of one length, at least 2 points")
    if not (np.isfinite(x).all() and x[0] > 0.0 and (np.diff(x) > 0.0).all()):
        raise ValueError("spots must be positive and increasing")
    cross = np.flatnonzero(y[:-1] * y[1:] < 0.0)
    roots = x[cross] - y[cross] * (x[cross + 1] - x[cross]) / (y[cross + 1] - y[cross])
    ends = []
    for at, m in ((0, (y[1] - y[0]) / (x[1] - x[0])), (-1, (y[-1] - y[-2]) / (x[-1] - x[-2]))):
        root = x[at] - y[at] / m if m != 0.0 else math.nan
        if (0.0 < root < x[0]) if at == 0 else (root > x[-1]):
            ends.append(root)
    cuts = np.unique(np.concatenate([[0.0, np.inf], x[y == 0.0], roots, ends]))
    a, b = cuts[:-1], cuts[1:]
    # One probe inside each interval between zeros: its sign is the interval's.
    probe = np.where(np.isinf(b), np.maximum(a, x[-1]) + (x[-1] - x[0]), 0.5 * (a + b))
    positive = _extended(x, y, probe) > 0.0
    cdf = density.cdf(cuts)
    return float(np.sum(np.where(positive, cdf[1:] - cdf[:-1], 0.0)))


def _extended(x: FloatArray, y: FloatArray, at: FloatArray) -> FloatArray:
    """The curve at ``at``: linear between its points, its outer lines beyond them."""
    inside = np.interp(at, x, y)
    left = y[0] + (y[1] - y[0]) / (x[1] - x[0]) * (at - x[0])
    right = y[-1] + (y[-1] - y[-2]) / (x[-1] - x[-2]) * (at - x[-1])
    result: FloatArray = np.where(at < x[0], left, np.where(at > x[-1], right, inside))
    return result
