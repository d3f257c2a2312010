"""A local Deribit for tests and demos: ``python -m feed_generator.venues.deribit.sim --port N``.

``market`` prices BTC and ETH options on the synthetic market's smile, ``server``
speaks the venue's WebSocket JSON-RPC and REST, ``faults`` holds what it does wrong
on demand.
"""

from __future__ import annotations

from feed_generator.venues.deribit.sim.faults import HOSTILE_FRAMES, Faults
from feed_generator.venues.deribit.sim.market import SimMarket
from feed_generator.venues.deribit.sim.server import DeribitSim

__all__ = ["HOSTILE_FRAMES", "DeribitSim", "Faults", "SimMarket"]
