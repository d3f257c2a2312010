"""Local Binance and Coinbase spot feeds for tests and demos (``binance-sim``, ``coinbase-sim``).

``python -m feed_generator.venues.spot.sim --venue binance|coinbase --port N``; see
:class:`~feed_generator.venues.spot.sim.server.SpotSim` for the protocol served and the faults.
"""

from __future__ import annotations

from feed_generator.venues.spot.sim.faults import BINANCE_HOSTILE, COINBASE_HOSTILE
from feed_generator.venues.spot.sim.market import DEFAULT_STARTS, SpotMarket
from feed_generator.venues.spot.sim.server import SpotSim

__all__ = ["BINANCE_HOSTILE", "COINBASE_HOSTILE", "DEFAULT_STARTS", "SpotMarket", "SpotSim"]
