"""One expiry's order book: model prices, quotes, day volume, open interest and last trades.

State lives on a strike grid (index ``i`` is strike ``i·step``) that grows when
the spot drifts towards its edge; the quoted window is the ``n`` strikes around
the money. Everything per strike is a NumPy array of shape ``(2, n)``: row 0
calls, row 1 puts.

Activity model, per refresh over ``dt`` seconds:

- options trade during the session (``session``): a refresh trades over the
  trading seconds since the previous one. In the ``exchange`` mode that is
  Monday to Friday 09:15–15:30 IST, so nights and weekends add no volume, move
  no OI and print no trades, while quotes keep following the underlying, which
  ticks around the clock; in the ``simulated`` mode (the default) options trade
  around the clock;
- trades arrive as a Poisson process whose rate peaks at the money, is higher
  out of the money than in it and falls with the expiry's rank;
- the day's cumulative ``volume`` grows by the traded contracts, and resets at
  the start of a trading day (midnight IST); a book created mid-day first
  trades the session so far, so it shows the same day's volume as an old one;
- open interest moves by at most the traded contracts: the net opening fraction
  of a refresh's trades lies in [−1, 1], is slightly positive on average and
  concentrates as trades add up; OI never goes below zero;
- ``last`` is a tick inside the spread where a trade printed, unchanged otherwise.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from feed_generator.quoting import SpreadParams, quote_sides, round_to_tick, trade_prices
from feed_generator.session import SessionMode, day_start, session_day, trading_seconds
from feed_generator.smile import Smile
from optionsmath import bs_price

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

IS_CALL = np.array([[True], [False]])


@dataclass(frozen=True, slots=True)
class ActivityParams:
    """How busy a product's options are."""

    trades_per_second: float = 1.0
    """Trade arrival rate of an at-the-money option of the front expiry."""
    lots_per_trade: float = 5.0
    """Mean contracts per trade."""
    peak_oi: float = 40_000.0
    """Open interest (contracts) at the front expiry's busiest strike."""
    net_open_mean: float = 0.1
    """Mean fraction of traded contracts that open new positions (the rest close)."""

    def __post_init__(self) -> None:
        if min(self.trades_per_second, self.peak_oi) < 0.0 or self.lots_per_trade < 1.0:
            raise ValueError("activity rates must be non-negative and lots_per_trade ≥ 1")


@dataclass(frozen=True, slots=True)
class ChainSnapshot:
    """A priced window of one expiry at one instant (arrays: row 0 calls, row 1 puts)."""

    offset: float
    """Simulated seconds since the market's start."""
    spot: float
    """The spot the window was priced with: the published, tick-rounded price."""
    T: float
    """Years to expiry."""
    strikes: list[float]
    vol: FloatArray
    """Smile volatility used for each option, per year."""
    theo: FloatArray
    bid: list[list[float]]
    ask: list[list[float]]
    last: list[list[float]]
    volume: list[list[int]]
    oi: list[list[int]]
    rows: tuple[list[dict[str, Any]], list[dict[str, Any]]]
    """Chain rows ``{strike, bid, ask, last, volume, oi}`` for calls and puts."""


def expiry_weight(rank: int) -> float:
    """Share of activity of the ``rank``-th listed expiry (0 = nearest) relative to the front."""
    return float((1.0 + rank) ** -1.5)


def log_moneyness(strikes: FloatArray, spot: float, T: float, r: float, q: float) -> FloatArray:
    """``ln(K/F)`` with the forward ``F = S·e^{(r−q)·T}`` (``T`` in years)."""
    return np.asarray(np.log(strikes / (spot * math.exp((r - q) * T))), dtype=np.float64)


def atm_sd(smile: Smile, T: float) -> float:
    """The ATM standard deviation ``σ_atm·√T`` of the smile at ``T`` years."""
    return math.sqrt(max(float(smile.atm_total_variance(T)), 1e-12))


def moneyness(
    strikes: FloatArray, spot: float, T: float, r: float, q: float, smile: Smile
) -> FloatArray:
    """``ln(K/F)`` in ATM standard deviations ``σ_atm·√T``."""
    return log_moneyness(strikes, spot, T, r, q) / atm_sd(smile, T)


def otm_weight(z: FloatArray) -> FloatArray:
    """Relative activity per side: out-of-the-money options trade more (shape (2, n))."""
    call = 0.35 + 0.65 * expit(3.0 * z)
    put = 0.35 + 0.65 * expit(-3.0 * z)
    return np.stack([call, put])


def initial_oi(
    indices: IntArray, z: FloatArray, activity: ActivityParams, rank: int, rng: np.random.Generator
) -> IntArray:
    """Open interest of new strikes: peaks near the money and on round strikes.

    Calls are heavier above the spot, puts below (writers sell out of the money).
    ``indices`` are strike indices (strike / step), ``z`` their moneyness.
    """
    bell = np.exp(-0.5 * (z / 1.2) ** 2)
    round_bonus = 1.0 + 0.3 * (indices % 2 == 0) + 0.9 * (indices % 10 == 0)
    scale = activity.peak_oi * (1.0 + rank) ** -0.7 * bell * round_bonus
    side = otm_weight(z) ** 1.5
    noise = rng.lognormal(0.0, 0.3, size=side.shape)
    return np.asarray(np.rint(scale * side * noise), dtype=np.int64)


class ExpiryBook:
    """Stateful book of one (product, expiry); :meth:`refresh` prices and trades a window."""

    def __init__(
        self,
        step: float,
        spreads: SpreadParams,
        activity: ActivityParams,
        rank: int,
        rng: np.random.Generator,
        session: SessionMode = SessionMode.SIMULATED,
    ) -> None:
        self.step = step
        self.session = session
        self.spreads = spreads
        self.activity = activity
        self.rank = rank
        self.rng = rng
        self.grid_lo = 0
        self.oi: IntArray = np.zeros((2, 0), dtype=np.int64)
        self.volume: IntArray = np.zeros((2, 0), dtype=np.int64)
        self.last: FloatArray = np.zeros((2, 0), dtype=np.float64)
        self.day: dt.date | None = None
        self.updated: dt.datetime | None = None
        """The simulated instant trading was last simulated up to."""
        self.snapshot: ChainSnapshot | None = None

    def window(self, spot: float, n: int) -> IntArray:
        """Strike indices of the ``n`` strikes around the money (all strikes positive)."""
        atm = round(spot / self.step)
        lo = max(atm - (n - 1) // 2, 1)
        return np.arange(lo, lo + n, dtype=np.int64)

    def _ensure_grid(self, lo: int, hi: int, z_of: Callable[[FloatArray], FloatArray]) -> None:
        """Grow the grid to cover indices ``lo..hi``, with room to spare."""
        size = self.oi.shape[1]
        if size and self.grid_lo <= lo and hi < self.grid_lo + size:
            return
        margin = max(hi - lo + 1, 10)
        new_lo = max(min(lo - margin, self.grid_lo if size else lo), 1)
        new_hi = max(hi + margin, self.grid_lo + size - 1 if size else hi)
        indices = np.arange(new_lo, new_hi + 1, dtype=np.int64)
        strikes = np.asarray(indices * self.step, dtype=np.float64)
        oi = initial_oi(indices, z_of(strikes), self.activity, self.rank, self.rng)
        volume: IntArray = np.zeros_like(oi)
        last: FloatArray = np.zeros(oi.shape, dtype=np.float64)
        if size:
            at = self.grid_lo - new_lo
            oi[:, at : at + size] = self.oi
            volume[:, at : at + size] = self.volume
            last[:, at : at + size] = self.last
        self.grid_lo, self.oi, self.volume, self.last = new_lo, oi, volume, last

    def _trade(self, z: FloatArray, sl: slice, dt_seconds: float) -> NDArray[np.bool_]:
        """Draw trades over ``dt_seconds`` for the window ``sl``; update volume and OI."""
        act = self.activity
        rate = act.trades_per_second * expiry_weight(self.rank) * np.exp(-0.5 * z**2)
        trades = self.rng.poisson(rate * otm_weight(z) * dt_seconds)
        extra = self.rng.poisson(trades * (act.lots_per_trade - 1.0))
        qty = trades + extra
        # Each trade opens or closes independently, so the net fraction of many trades
        # concentrates around its mean: OI drifts the same whatever the refresh rate.
        noise = self.rng.standard_normal(qty.shape) * 0.5 / np.sqrt(np.maximum(trades, 1))
        net = np.clip(act.net_open_mean + noise, -1.0, 1.0)
        self.volume[:, sl] += qty
        self.oi[:, sl] = np.maximum(self.oi[:, sl] + np.rint(qty * net).astype(np.int64), 0)
        return np.asarray(qty > 0)

    def _trading_seconds(self, moment: dt.datetime) -> float:
        """Session seconds to trade up to ``moment``; resets volume on a new trading day.

        A new book, or the first refresh of a day, trades today's session so far:
        the day's volume then does not depend on when the book was created.
        """
        day = session_day(moment)
        since = self.updated
        if day != self.day or since is None:
            self.day = day
            self.volume[:] = 0
            since = day_start(day)
        self.updated = max(since, moment)
        return trading_seconds(since, moment, self.session)

    def refresh(
        self,
        offset: float,
        moment: dt.datetime,
        spot: float,
        T: float,
        r: float,
        q: float,
        smile: Smile,
        n: int,
    ) -> ChainSnapshot:
        """Price the ``n``-strike window at ``spot``, trade since the last refresh, snapshot it."""
        idx = self.window(spot, n)

        def z_of(strikes: FloatArray) -> FloatArray:
            return moneyness(strikes, spot, T, r, q, smile)

        self._ensure_grid(int(idx[0]), int(idx[-1]), z_of)
        strikes = idx.astype(np.float64) * self.step
        k = log_moneyness(strikes, spot, T, r, q)
        vol = np.broadcast_to(smile.implied_vol(k, T), (2, n))
        theo = np.asarray(bs_price(spot, strikes, T, r, q, vol, IS_CALL), dtype=np.float64)
        z = k / atm_sd(smile, T)
        bid, ask = quote_sides(theo, np.broadcast_to(z, (2, n)), self.spreads, self.rng)
        sl = slice(int(idx[0]) - self.grid_lo, int(idx[0]) - self.grid_lo + n)
        self._seed_last(sl, theo)
        traded = self._trade(z, sl, self._trading_seconds(moment))
        printed = trade_prices(bid, ask, self.spreads, self.rng)
        self.last[:, sl] = np.where(traded, printed, self.last[:, sl])
        self.snapshot = self._snapshot(offset, spot, T, strikes, vol, theo, bid, ask, sl)
        return self.snapshot

    def _seed_last(self, sl: slice, theo: FloatArray) -> None:
        """Strikes never quoted before get a previous close near the model price."""
        unseen = self.last[:, sl] == 0.0
        if unseen.any():
            tick = self.spreads.tick
            seed = np.maximum(round_to_tick(theo, tick, self.spreads.decimals), tick)
            self.last[:, sl] = np.where(unseen, seed, self.last[:, sl])

    def _snapshot(
        self,
        offset: float,
        spot: float,
        T: float,
        strikes: FloatArray,
        vol: FloatArray,
        theo: FloatArray,
        bid: FloatArray,
        ask: FloatArray,
        sl: slice,
    ) -> ChainSnapshot:
        strike_list = strikes.tolist()
        bids, asks, lasts = bid.tolist(), ask.tolist(), self.last[:, sl].tolist()
        volumes, ois = self.volume[:, sl].tolist(), self.oi[:, sl].tolist()
        calls, puts = (
            chain_rows(strike_list, bids[i], asks[i], lasts[i], volumes[i], ois[i]) for i in (0, 1)
        )
        return ChainSnapshot(
            offset, spot, T, strike_list, vol, theo, bids, asks, lasts, volumes, ois, (calls, puts)
        )


def chain_rows(
    strikes: list[float],
    bid: list[float],
    ask: list[float],
    last: list[float],
    volume: list[int],
    oi: list[int],
) -> list[dict[str, Any]]:
    """One side's chain rows ``{strike, bid, ask, last, volume, oi}``."""
    return [
        {"strike": k, "bid": b, "ask": a, "last": p, "volume": v, "oi": o}
        for k, b, a, p, v, o in zip(strikes, bid, ask, last, volume, oi, strict=True)
    ]
