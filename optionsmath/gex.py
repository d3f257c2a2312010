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
that spot (sticky strike: the smile does not move), changes sign: bracketed on a grid
around the spot, then narrowed by regula falsi (Illinois); the sign change nearest the
spot wins, and there is none when the total keeps one sign across the grid. Every chain
of a batch is solved in the same NumPy passes (:func:`flip_levels`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from optionsmath.black import SQRT_2PI
from optionsmath.chain_metrics import FloatArray

__all__ = [
    "PER_PERCENT",
    "GexBook",
    "StrikeGex",
    "flip_level",
    "flip_levels",
    "option_gex",
    "options_gex_at",
    "strike_gex",
    "total_gex_at",
]

NOISE = 1e-9
"""A total net GEX within this fraction of its gross (Σ|GEX|) is rounding, not a sign."""
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
    """The options whose total GEX is recomputed at other spots (one entry per option),
    each chain's options contiguous, chain ``c`` starting at ``starts[c]``.

    ``carry`` is each option's underlying over its chain's spot (``F/S`` on a forward; 1
    on spot with ``yield_`` its dividend yield), held as spot moves; ``T`` in years,
    ``iv`` per year, ``oi`` in contracts of ``contract_size`` units. An option without a
    positive IV, T, strike, OI or carry counts nothing.
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
    starts: NDArray[np.intp]

    def weights(self) -> tuple[FloatArray, FloatArray]:
        """Each option's ``±OI·contract_size·0.01·e^{−qT}/(σ√T)`` (0 when it cannot be
        valued) and its ``σ√T`` (1 there, to keep the arithmetic finite)."""
        with np.errstate(invalid="ignore"):
            ok = (
                (self.iv > 0.0) & (self.T > 0.0) & (self.strike > 0.0) & (self.oi > 0.0)
                & (self.carry > 0.0) & np.isfinite(self.contract_size)
            )  # fmt: skip
            s = np.where(ok, self.iv * np.sqrt(np.where(ok, self.T, 1.0)), 1.0)
            sign = np.where(self.is_call, 1.0, -1.0)
            scale = (
                sign * self.oi * self.contract_size * PER_PERCENT * np.exp(-self.yield_ * self.T)
            )
        weight: FloatArray = np.where(ok, scale / s, 0.0)
        return weight, s


@dataclass(frozen=True, slots=True)
class _Trial:
    """What every trial spot of the options shares: their weights, ``σ√T``, their
    underlying at the chains' spots ``U₀`` and ``ln(U₀/K) + (r − q)T``."""

    book: GexBook
    chain_of: NDArray[np.intp]
    weight: FloatArray
    s: FloatArray
    underlying: FloatArray
    log_moneyness: FloatArray

    @classmethod
    def of(cls, book: GexBook, spots: FloatArray) -> _Trial:
        sizes = np.diff(np.append(book.starts, book.strike.size))
        chain_of = np.repeat(np.arange(book.starts.size), sizes)
        weight, s = book.weights()
        underlying = spots[chain_of] * book.carry
        with np.errstate(divide="ignore", invalid="ignore"):
            drift = np.log(underlying / book.strike) + (book.rate - book.yield_) * book.T
        drift = np.where(weight != 0.0, drift, 0.0)
        return cls(book, chain_of, weight, s, underlying / SQRT_2PI, drift / s + 0.5 * s)

    def totals(self, moves: FloatArray) -> FloatArray:
        """Each chain's total net GEX with its options' underlying ``U₀ × move`` for each
        relative spot of ``moves`` (``points × chains``) → ``points × chains``:
        ``Σ ±OI·cs·0.01·Γ·U² = Σ weight·φ(d1)·U``. Only the exponential is per option and
        point: ``d1`` is ``d1(U₀) + ln(move)/(σ√T)``."""
        log_moves = np.log(moves)[:, self.chain_of]
        d1 = self.log_moneyness + log_moves / self.s
        gex = self.weight * np.exp(-0.5 * d1 * d1) * self.underlying * moves[:, self.chain_of]
        totals: FloatArray = np.add.reduceat(gex, self.book.starts, axis=1)
        gross = np.add.reduceat(np.abs(gex), self.book.starts, axis=1)
        # A total lost in the rounding of its terms has no sign: NaN, never a crossing (a
        # chain whose calls and puts cancel at every spot has no flip, not a random one).
        noise = np.abs(totals) <= NOISE * gross
        return np.where(noise, np.nan, totals)


def options_gex_at(book: GexBook, spots: FloatArray) -> FloatArray:
    """Each option's GEX (currency per 1 %) with its chain's spot at ``spots`` (one per
    chain), revalued at its own IV; 0 for an option that cannot be valued."""
    trial = _Trial.of(book, np.asarray(spots, dtype=np.float64))
    d1 = trial.log_moneyness
    gex: FloatArray = trial.weight * np.exp(-0.5 * d1 * d1) * trial.underlying
    return gex


def total_gex_at(book: GexBook, spots: FloatArray) -> FloatArray:
    """The total net GEX of a book holding one chain at each of ``spots`` (currency per
    1 %; NaN where lost in rounding), every option at its own IV (sticky strike), its
    underlying ``carry × spot``."""
    trial = _Trial.of(book, np.ones(1))
    totals: FloatArray = trial.totals(np.asarray(spots, dtype=np.float64)[:, None])[:, 0]
    return totals


def _crossing(totals: FloatArray, centre: float) -> tuple[FloatArray, FloatArray]:
    """Per chain (columns), the grid interval ``[i, i + 1]`` where the totals change sign
    nearest ``centre`` (a fractional grid index); NaN where they never do."""
    sign = np.sign(totals)
    change = sign[:-1] * sign[1:] < 0.0
    index = np.arange(change.shape[0], dtype=np.float64)[:, None]
    distance = np.where(change, np.abs(index + 0.5 - centre), np.inf)
    best = np.argmin(distance, axis=0)
    found = np.isfinite(distance[best, np.arange(totals.shape[1])])
    return np.where(found, best, np.nan), found.astype(np.float64)


def flip_levels(
    book: GexBook,
    spots: FloatArray,
    *,
    span: float = 0.2,
    points: int = 21,
    steps: int = 6,
) -> FloatArray:
    """Each chain's zero-gamma level: the spot within ``spots·(1 ± span)`` where its total
    net GEX changes sign, nearest its spot; NaN where it keeps one sign there. A grid of
    ``points`` relative spots brackets the crossing, then ``steps`` of regula falsi
    (Illinois) narrow it, every chain at once: ``points + steps`` NumPy passes over the
    options, each pass one trial spot per chain.

    The defaults (a 2 % grid over ±20 %, 6 steps) find closed-form flips to 1e-9 of their
    value; two sign changes closer together than 2 % of spot are seen as none."""
    if not 0.0 < span < 1.0:
        raise ValueError(f"span must be between 0 and 1, got {span}")
    spots = np.asarray(spots, dtype=np.float64)
    if book.strike.size == 0:
        return np.full(spots.size, np.nan)
    trial = _Trial.of(book, spots)
    grid = np.linspace(1.0 - span, 1.0 + span, points)
    totals = trial.totals(np.repeat(grid[:, None], spots.size, axis=1))
    at, found = _crossing(totals, (points - 1) / 2.0)
    cols, i = np.arange(spots.size), np.nan_to_num(at).astype(np.intp)
    a, b = grid[i], grid[i + 1]
    fa, fb = totals[i, cols], totals[i + 1, cols]
    for _ in range(steps):
        with np.errstate(divide="ignore", invalid="ignore"):
            c = np.where(fb != fa, b - fb * (b - a) / (fb - fa), a)
        c = np.where(found > 0, c, 1.0)  # no bracket: any valid spot, the answer is NaN
        # Rounding-level (NaN) at c: c is the root; fc = 0 keeps it there from now on.
        fc = np.nan_to_num(trial.totals(c[None, :])[0], nan=0.0)
        same = np.sign(fc) == np.sign(fb)
        # Illinois: when the same end is kept twice, halve its value so the bracket shrinks
        # from both sides (plain regula falsi can stall on one).
        fa = np.where(same, fa * 0.5, fb)
        a = np.where(same, a, b)
        b, fb = c, fc
    flips: FloatArray = np.where(found > 0, b * spots, np.nan)
    return flips


def flip_level(book: GexBook, spot: float, *, span: float = 0.2, points: int = 21) -> float | None:
    """:func:`flip_levels` of a book holding one chain; ``None`` when there is no flip."""
    if not (spot > 0.0 and np.isfinite(spot)):
        return None
    flip = float(flip_levels(book, np.array([spot]), span=span, points=points)[0])
    return None if np.isnan(flip) else flip


@dataclass(frozen=True, slots=True)
class ChainsGex:
    """The GEX of each chain of a book (currency per 1 %; NaN: none)."""

    option: FloatArray
    """Each option's, NaN where its gamma or OI is missing."""
    call: FloatArray
    """Each chain's call total (≥ 0)."""
    put: FloatArray
    """Each chain's put total (≤ 0)."""
    call_wall: FloatArray
    """The strike of the chain's largest call GEX; NaN when no call has any."""
    put_wall: FloatArray
    """The strike of the chain's most negative put GEX; NaN when no put has any."""
    flip: FloatArray

    @property
    def net(self) -> FloatArray:
        net: FloatArray = self.call + self.put
        return net


def _segment_extreme(values: FloatArray, starts: NDArray[np.intp], largest: bool) -> FloatArray:
    """Per segment, the first position of its largest (or smallest) value (as a float index;
    segments are non-empty)."""
    reduce = np.maximum.reduceat if largest else np.minimum.reduceat
    best = reduce(values, starts)
    seg = np.repeat(np.arange(starts.size), np.diff(np.append(starts, values.size)))
    hits = np.flatnonzero(values == best[seg])
    _, first = np.unique(seg[hits], return_index=True)
    return hits[first].astype(np.float64)


def chains_gex(book: GexBook, gamma: FloatArray, spots: FloatArray) -> ChainsGex:
    """Each option's GEX from the enricher's ``gamma`` (on the price each option was priced
    on, ``carry × spot``), each chain's totals and walls, and its flip at ``spots`` (one
    per chain)."""
    sizes = np.diff(np.append(book.starts, book.strike.size))
    underlying = book.carry * np.repeat(spots, sizes)
    per = option_gex(gamma, book.oi, underlying, book.is_call, book.contract_size)
    option = np.where(np.isfinite(gamma) & np.isfinite(book.oi), per, np.nan)
    calls = np.where(book.is_call, per, 0.0)
    totals_call = np.add.reduceat(calls, book.starts)
    totals_put = np.add.reduceat(per - calls, book.starts)
    call_at = _segment_extreme(np.where(book.is_call, per, -np.inf), book.starts, True)
    put_at = _segment_extreme(np.where(book.is_call, np.inf, per), book.starts, False)
    strike_of = book.strike
    call_wall = np.where(totals_call > 0.0, strike_of[call_at.astype(np.intp)], np.nan)
    has_put = np.minimum.reduceat(np.where(book.is_call, 0.0, per), book.starts) < 0.0
    put_wall = np.where(has_put, strike_of[put_at.astype(np.intp)], np.nan)
    return ChainsGex(option, totals_call, totals_put, call_wall, put_wall, flip_levels(book, spots))
