"""The simulators' spot market: each coin's mid as a function of the wall clock, and a book.

Every simulator started with the same ``seed`` prices the same path at the same instant, so
``binance-sim`` and ``coinbase-sim`` agree as two real markets do, however long they run
and whenever each was started: the mid is the start price times ``exp(Σ aᵢ·sin(2πt/Tᵢ +
φᵢ))`` over :data:`WANDER` (amplitudes and periods; the phases φᵢ drawn from the seed per
product), times a draw of ``noise_bp`` basis points at each :meth:`SpotMarket.step` (not
cumulative: the venues' own jitter around the common price), times ``basis_bps`` (a
venue's constant basis, e.g. Binance's USDT premium). :meth:`SpotMarket.book` is the best
bid and ask around the mid, ``spread_bp`` wide (at least one ``tick``), rounded outwards to
the tick.

Faults that act on prices live here too: ``bias_bps`` shifts a product's book (a source
drifting from the others, for the reference's quarantine) and ``frozen`` products stop
moving (the simulator also stops quoting them, for the reference's staleness).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["DEFAULT_STARTS", "WANDER", "SpotMarket"]

DEFAULT_STARTS: Mapping[str, float] = {"BTC": 95_000.0, "ETH": 3_500.0}
"""Mids the simulators start from (USD per coin)."""
WANDER: tuple[tuple[float, float], ...] = ((0.006, 7_200.0), (0.003, 900.0), (0.001, 60.0))
"""(amplitude as a log-return, period in seconds) of each wave of the common path: ±1 % at
most, a move of a few basis points a minute."""


@dataclass
class SpotMarket:
    """Mids per product (USD), set by :meth:`step`; not thread-safe (the server's loop)."""

    starts: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_STARTS))
    seed: int = 7
    wander: Sequence[tuple[float, float]] = WANDER
    noise_bp: float = 0.2
    """Standard deviation of the venue's jitter around the common path, in basis points."""
    basis_bps: float = 0.0
    spread_bp: float = 0.2
    tick: float = 0.01
    bias_bps: dict[str, float] = field(default_factory=dict)
    frozen: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.mids = {p.upper(): float(m) for p, m in self.starts.items()}
        phases = random.Random(self.seed)  # the same phases in every simulator of this seed
        self._phases = {p: [phases.uniform(0, 2 * math.pi) for _ in self.wander] for p in self.mids}
        self._noise = random.Random()

    @property
    def products(self) -> list[str]:
        return list(self.mids)

    def path(self, product: str, now: float) -> float:
        """The common mid of ``product`` at Unix time ``now`` (USD), before noise and basis."""
        waves = zip(self.wander, self._phases[product], strict=True)
        log_move = sum(a * math.sin(2 * math.pi * now / period + phi) for (a, period), phi in waves)
        return self.starts[product] * math.exp(log_move)

    def step(self, now: float) -> None:
        """Set every mid that is not frozen to the path at ``now`` with this step's noise."""
        for product in self.mids:
            if product not in self.frozen:
                jitter = self._noise.gauss(0.0, self.noise_bp) if self.noise_bp > 0 else 0.0
                basis = (self.basis_bps + jitter) / 1e4
                self.mids[product] = self.path(product, now) * (1.0 + basis)

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
