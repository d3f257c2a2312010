"""Dealer gamma exposure (GEX): per option, per strike, the walls, and the zero-gamma flip.

Convention (the usual one: dealers long the calls and short the puts the public trades),
in currency per 1 % move of the underlying::

    call_gex =  Γ · OI · contract_size · S² · 0.01
    put_gex  = −Γ · OI · contract_size · S² · 0.01

``Γ`` is the gamma with respect to the underlying the option is priced on. On a forward
``F`` that moves with spot (``F = c·S``, ``c`` fixed: the carry, or a venue's forward over
its index) a 1 % move of ``S`` is a 1 % move of ``F`` and ``Γ_S·S² = Γ_F·F²``, so the
enricher's gamma times the square of the price it was taken on gives the same GEX whether
the option was priced on spot (BSM with the carry) or on its forward (Black-76).

The flip is the spot at which the total net GEX, recomputed with each option's own IV at
that spot (sticky strike: the smile does not move), changes sign: found on a grid around
the spot, then by bisection on the bracketing interval; the sign change nearest the spot
wins, and there is none (``None``) when the total keeps one sign across the grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from optionsmath.bsm import bs_greeks
from optionsmath.chain_metrics import FloatArray

__all__ = [
    "PER_PERCENT",
    "GexBook",
    "StrikeGex",
    "flip_level",
    "option_gex",
    "strike_gex",
    "total_gex_at",
]

PER_PERCENT = 0.01
"""A 1 % move: ``S²·0.01`` turns gamma into currency per 1 % move (with ``Γ·ΔS²/2`` left
out, as every published GEX figure leaves it out)."""


def option_gex(
    gamma: FloatArray,
    oi: FloatArray,
    underlying: FloatArray | float,
    is_call: np.ndarray,
    contract_size: FloatArray | float,
) -> FloatArray:
    """Each option's GEX in currency per 1 % move: ``±Γ·OI·contract_size·underlying²·0.01``
    (+ calls, − puts). ``oi`` in contracts; a NaN gamma or OI (no price, no IV) counts 0."""
    sign = np.where(is_call, 1.0, -1.0)
    value = sign * gamma * oi * contract_size * np.square(underlying) * PER_PERCENT
    result: FloatArray = np.where(np.isfinite(value), value, 0.0)
    return result


@dataclass(frozen=True, slots=True)
class StrikeGex:
    """GEX per strike (ascending strikes), the totals and the walls; currency per 1 %."""

    strikes: FloatArray
    call_gex: FloatArray
    put_gex: FloatArray
    """Negative or zero: the dealers' short puts."""

    @property
    def net_gex(self) -> FloatArray:
        net: FloatArray = self.call_gex + self.put_gex
        return net

    @property
    def total_call(self) -> float:
        return float(self.call_gex.sum())

    @property
    def total_put(self) -> float:
        return float(self.put_gex.sum())

    @property
    def total_net(self) -> float:
        return self.total_call + self.total_put

    @property
    def call_wall(self) -> float | None:
        """The strike of the largest call GEX; ``None`` when no call has any."""
        if not self.strikes.size or not (self.call_gex > 0.0).any():
            return None
        return float(self.strikes[int(np.argmax(self.call_gex))])

    @property
    def put_wall(self) -> float | None:
        """The strike of the most negative put GEX; ``None`` when no put has any."""
        if not self.strikes.size or not (self.put_gex < 0.0).any():
            return None
        return float(self.strikes[int(np.argmin(self.put_gex))])


def strike_gex(strikes: FloatArray, gex: FloatArray, is_call: np.ndarray) -> StrikeGex:
    """Sums each option's GEX by strike (several expiries share a strike), calls and puts
    apart; ``strikes``, ``gex`` and ``is_call`` are one entry per option."""
    levels, where = np.unique(strikes, return_inverse=True)
    call = np.bincount(where, weights=np.where(is_call, gex, 0.0), minlength=levels.size)
    put = np.bincount(where, weights=np.where(is_call, 0.0, gex), minlength=levels.size)
    return StrikeGex(levels.astype(np.float64), call.astype(np.float64), put.astype(np.float64))


@dataclass(frozen=True, slots=True)
class GexBook:
    """The options whose total GEX is recomputed at other spots (one entry per option).

    ``carry`` is each option's underlying over spot (``F/S`` on a forward; 1 on spot with
    ``yield_`` its dividend yield), held as spot moves; ``T`` in years, ``iv`` per year.
    """

    strike: FloatArray
    T: FloatArray
    iv: FloatArray
    oi: FloatArray
    is_call: np.ndarray
    carry: FloatArray
    rate: FloatArray
    yield_: FloatArray
    contract_size: FloatArray

    def usable(self) -> GexBook:
        """The options that can be valued: a positive IV, T and strike, and some OI."""
        keep = (
            np.isfinite(self.iv) & (self.iv > 0.0) & (self.T > 0.0) & (self.strike > 0.0)
            & np.isfinite(self.oi) & (self.oi > 0.0) & np.isfinite(self.carry) & (self.carry > 0.0)
        )  # fmt: skip
        return GexBook(*(np.asarray(getattr(self, f.name))[keep] for f in fields(self)))


def total_gex_at(book: GexBook, spots: FloatArray) -> FloatArray:
    """The total net GEX at each of ``spots`` (currency per 1 %), every option at its own
    IV (sticky strike), its underlying ``carry × spot``."""
    underlying = np.outer(spots, book.carry)  # spots × options
    gamma = np.asarray(
        bs_greeks(underlying, book.strike, book.T, book.rate, book.yield_, book.iv, book.is_call)[
            "gamma"
        ]
    )
    gex = option_gex(gamma, book.oi, underlying, book.is_call, book.contract_size)
    total: FloatArray = gex.sum(axis=1)
    return total


def flip_level(
    book: GexBook,
    spot: float,
    *,
    span: float = 0.2,
    points: int = 81,
    tolerance: float = 1e-6,
) -> float | None:
    """The zero-gamma level: the spot within ``spot·(1 ± span)`` where the total net GEX
    changes sign, nearest ``spot``; ``None`` when it keeps one sign there (or no option
    can be valued). Bisection to ``tolerance`` relative to ``spot``."""
    usable = book.usable()
    if usable.strike.size == 0 or not (spot > 0.0 and np.isfinite(spot)):
        return None
    grid = np.linspace(spot * (1.0 - span), spot * (1.0 + span), points)
    totals = total_gex_at(usable, grid)
    sign = np.sign(totals)
    crossings = np.flatnonzero(sign[:-1] * sign[1:] < 0.0)
    exact = np.flatnonzero(totals == 0.0)
    candidates = [float(grid[i]) for i in exact]
    at: Callable[[float], float] = lambda s: float(total_gex_at(usable, np.array([s]))[0])  # noqa: E731
    for i in crossings:
        candidates.append(_bisect(at, float(grid[i]), float(grid[i + 1]), tolerance * spot))
    if not candidates:
        return None
    return min(candidates, key=lambda s: abs(s - spot))


def _bisect(f: Callable[[float], float], low: float, high: float, width: float) -> float:
    """A root of ``f`` in ``[low, high]`` where ``f`` changes sign, to within ``width``."""
    f_low = f(low)
    while high - low > width:
        mid = 0.5 * (low + high)
        f_mid = f(mid)
        if f_mid == 0.0:
            return mid
        if (f_mid < 0.0) == (f_low < 0.0):
            low, f_low = mid, f_mid
        else:
            high = mid
    return 0.5 * (low + high)
