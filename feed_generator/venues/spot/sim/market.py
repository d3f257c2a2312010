"""The simulators' spot market: a random walk of each coin's mid and a book a few cents wide.

Each :meth:`SpotMarket.step` moves every mid by a normal draw of ``vol_bp`` basis points
(a geometric walk, seeded); :meth:`SpotMarket.book` is the best bid and ask around it,
``spread_bp`` wide (at least one ``tick``), rounded outwards to the tick. Faults that act
on prices live here too: ``bias_bps`` shifts a product's whole book (a source drifting
from the others, for the reference's quarantine) and ``frozen`` products stop moving
(the simulator also stops quoting them, for the reference's staleness).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_STARTS", "SpotMarket"]

DEFAULT_STARTS: Mapping[str, float] = {"BTC": 95_000.0, "ETH": 3_500.0}
"""Mids the simulators start at (USD per coin)."""


@dataclass
class SpotMarket:
    """Mids per product (USD), moved by :meth:`step`; not thread-safe (the server's loop)."""

    starts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STARTS))
    seed: int = 7
    vol_bp: float = 0.5
    """Standard deviation of one step, in basis points of the mid."""
    spread_bp: float = 0.2
    tick: float = 0.01
    bias_bps: dict[str, float] = field(default_factory=dict)
    frozen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.mids = {p.upper(): float(m) for p, m in self.starts.items()}
        self._rng = random.Random(self.seed)

    @property
    def products(self) -> list[str]:
        return list(self.mids)

    def step(self) -> None:
        """Move every mid that is not frozen by one random step."""
        for product, mid in self.mids.items():
            if product not in self.frozen:
                self.mids[product] = mid * math.exp(self._rng.gauss(0.0, self.vol_bp / 1e4))

    def book(self, product: str) -> tuple[float, float]:
        """The best bid and ask (USD), bias included, on the tick grid: bid < ask."""
        mid = self.mids[product] * (1.0 + self.bias_bps.get(product, 0.0) / 1e4)
        half = max(mid * self.spread_bp / 2e4, self.tick / 2)
        bid = math.floor((mid - half) / self.tick) * self.tick
        ask = math.ceil((mid + half) / self.tick) * self.tick
        return round(bid, 8), round(max(ask, bid + self.tick), 8)

    def shown_mid(self, product: str) -> float:
        """The mid of :meth:`book` (what a client computes), USD."""
        bid, ask = self.book(product)
        return (bid + ask) / 2.0
