"""Top of book around a model price: tick rounding and realistic bid/ask spreads."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class SpreadParams:
    """How wide a product's option quotes are."""

    tick: float = 0.05
    """Price increment of options and of the underlying."""
    rel_spread: float = 0.004
    """Full spread as a fraction of the model price at the money."""
    wing_spread: float = 0.3
    """Extra relative spread per standard deviation of moneyness."""
    min_ticks: int = 1
    """Narrowest spread in ticks."""
    max_jitter_ticks: int = 2
    """Random extra ticks on top of the model spread, 0..this."""

    def __post_init__(self) -> None:
        if not self.tick > 0.0 or self.rel_spread < 0.0 or self.wing_spread < 0.0:
            raise ValueError("tick must be positive, rel_spread and wing_spread non-negative")
        if self.min_ticks < 1 or self.max_jitter_ticks < 0:
            raise ValueError("min_ticks must be at least 1 and max_jitter_ticks non-negative")

    @property
    def decimals(self) -> int:
        """Decimals that represent every multiple of the tick (2 for 0.05)."""
        return tick_decimals(self.tick)


def tick_decimals(tick: float) -> int:
    """Decimals needed to print every multiple of ``tick`` exactly (2 for 0.05, 0 for 25)."""
    exponent = Decimal(repr(tick)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def round_to_tick(values: ArrayLike, tick: float, decimals: int) -> FloatArray:
    """Nearest multiple of ``tick``, cleaned to ``decimals``.

    The cleaning makes JSON print ``0.15``, not ``0.15000000000000002``.
    """
    x = np.asarray(values, dtype=np.float64)
    return np.asarray(np.round(np.round(x / tick) * tick, decimals), dtype=np.float64)


def quote_sides(
    theo: FloatArray, moneyness: FloatArray, params: SpreadParams, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Bid and ask on the tick grid with ``bid ≤ theo ≤ ask`` and ``ask ≥ bid + tick``.

    ``moneyness`` is ``ln(K/F)`` in standard deviations (``σ√T``): spreads widen
    in the wings, and options worth less than a tick have a zero bid.
    """
    tick = params.tick
    spread = np.maximum(
        params.min_ticks * tick,
        theo * params.rel_spread * (1.0 + params.wing_spread * np.abs(moneyness)),
    )
    spread = spread + tick * rng.integers(0, params.max_jitter_ticks + 1, size=theo.shape)
    half = 0.5 * spread
    bid_ticks = np.maximum(np.floor((theo - half) / tick + _EPS), 0.0)
    ask_ticks = np.maximum(np.ceil((theo + half) / tick - _EPS), bid_ticks + 1.0)
    decimals = params.decimals
    bid = np.round(bid_ticks * tick, decimals)
    ask = np.round(ask_ticks * tick, decimals)
    return np.asarray(bid, dtype=np.float64), np.asarray(ask, dtype=np.float64)


def trade_prices(
    bid: FloatArray, ask: FloatArray, params: SpreadParams, rng: np.random.Generator
) -> FloatArray:
    """A uniformly drawn tick inside ``[max(bid, tick), ask]``: where a trade would print."""
    tick = params.tick
    lo = np.maximum(np.round(bid / tick), 1.0)
    hi = np.maximum(np.round(ask / tick), lo)
    ticks = lo + np.floor(rng.random(bid.shape) * (hi - lo + 1.0))
    return np.asarray(np.round(np.minimum(ticks, hi) * tick, params.decimals), dtype=np.float64)
