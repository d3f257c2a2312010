"""``binance``, ``coinbase`` and their ``-sim`` from the settings: what ``feed_generator.cli``
runs. The live venues connect to ``BINANCE_WS_URL`` / ``COINBASE_WS_URL``; the ``-sim`` ones
to the local simulators on ``BINANCE_SIM_PORT`` / ``COINBASE_SIM_PORT`` (``make up`` starts
them). ``SPOT_PRODUCTS`` chooses the coins."""

from __future__ import annotations

import logging
from collections.abc import Callable

from common.settings import SpotSettings
from feed_generator.venues.rejects import Rejected
from feed_generator.venues.spot.binance import BinanceProtocol
from feed_generator.venues.spot.coinbase import CoinbaseProtocol
from feed_generator.venues.spot.connector import SpotProtocol, SpotVenue

__all__ = ["SPOT_VENUES", "build_spot"]

log = logging.getLogger(__name__)
SPOT_VENUES = ("binance", "binance-sim", "coinbase", "coinbase-sim")


def build_spot(
    settings: SpotSettings,
    name: str,
    on_reject: Callable[[str, Rejected], None] | None = None,
) -> SpotVenue:
    """The venue ``name`` (one of :data:`SPOT_VENUES`) as ``settings`` configure it."""
    protocol: SpotProtocol
    if name.startswith("binance"):
        protocol = BinanceProtocol(settings.products)
        url = settings.binance_sim_url if name.endswith("-sim") else settings.binance_ws_url
    elif name.startswith("coinbase"):
        protocol = CoinbaseProtocol(settings.products)
        url = settings.coinbase_sim_url if name.endswith("-sim") else settings.coinbase_ws_url
    else:
        raise ValueError(f"not a spot venue: {name!r}")
    log.info("connecting", extra={"venue": name, "ws_url": protocol.url(url),
                                  "products": list(settings.products)})  # fmt: skip
    return SpotVenue(protocol, url, name=name, on_reject=on_reject)
