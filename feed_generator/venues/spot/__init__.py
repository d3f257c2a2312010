"""Spot reference sources: Binance's ``bookTicker`` and Coinbase Exchange's ``ticker``.

Venues ``binance`` and ``coinbase`` (and ``binance-sim`` / ``coinbase-sim`` against the local
simulators) publish one thing: ``market:underlying`` ticks of BTC and ETH whose ``price`` is
the mid of the venue's best bid and ask, with ``venue`` set, for the reference price to
outvote a bad source. Each venue's protocol (its protocol note, typed frames, parser) is in
``binance.py`` / ``coinbase.py``; ``quotes.py`` checks a book and makes the tick;
``connector.py`` is the one WebSocket-only connector both use; ``sim/`` serves both
protocols locally with faults on demand.
"""

from __future__ import annotations

from feed_generator.venues.spot.binance import BinanceProtocol
from feed_generator.venues.spot.coinbase import CoinbaseProtocol
from feed_generator.venues.spot.connector import SpotTimings, SpotVenue

__all__ = ["BinanceProtocol", "CoinbaseProtocol", "SpotTimings", "SpotVenue"]
