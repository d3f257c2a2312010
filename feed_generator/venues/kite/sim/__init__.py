"""A local Kite for tests and demos: ``python -m feed_generator.venues.kite.sim --port N``.

``market`` prices NIFTY and BANKNIFTY options on the synthetic market's models, ``encode``
writes the ticker's packets and ``/quote`` entries, ``server`` speaks the ticker WebSocket
and REST, ``faults`` holds what it does wrong on demand (the expired token among them).
"""

from __future__ import annotations

from feed_generator.venues.kite.sim.faults import (
    HOSTILE_FRAMES,
    SIM_ACCESS_TOKEN,
    SIM_API_KEY,
    Faults,
)
from feed_generator.venues.kite.sim.market import KiteMarket
from feed_generator.venues.kite.sim.server import KiteSim

__all__ = ["HOSTILE_FRAMES", "SIM_ACCESS_TOKEN", "SIM_API_KEY", "Faults", "KiteMarket", "KiteSim"]
