"""Which URL and protocol each spot venue name gets from the settings."""

from __future__ import annotations

import pytest

from common.settings import SpotSettings
from feed_generator.venues.spot.binance import BinanceProtocol
from feed_generator.venues.spot.build import SPOT_VENUES, build_spot
from feed_generator.venues.spot.coinbase import CoinbaseProtocol

SETTINGS = SpotSettings(
    binance_ws_url="wss://stream.binance.com:9443",
    coinbase_ws_url="wss://ws-feed.exchange.coinbase.com",
    products=("ETH",),
    binance_sim_port=9012,
    coinbase_sim_port=9013,
)


@pytest.mark.parametrize(
    ("name", "protocol", "url"),
    [
        ("binance", BinanceProtocol,
         "wss://stream.binance.com:9443/stream?streams=ethusdt@bookTicker"),
        ("binance-sim", BinanceProtocol, "ws://127.0.0.1:9012/stream?streams=ethusdt@bookTicker"),
        ("coinbase", CoinbaseProtocol, "wss://ws-feed.exchange.coinbase.com"),
        ("coinbase-sim", CoinbaseProtocol, "ws://127.0.0.1:9013/"),
    ],
)  # fmt: skip
def test_each_name_connects_where_its_settings_say(name: str, protocol: type, url: str) -> None:
    venue = build_spot(SETTINGS, name)
    assert name in SPOT_VENUES
    assert venue.name == name
    assert isinstance(venue.protocol, protocol)
    assert venue.protocol.url(venue.ws_url) == url
    assert venue.products == ["ETH"]
    assert venue.normaliser.venue == name.removesuffix("-sim")  # the ticks' venue field


def test_another_name_is_refused() -> None:
    with pytest.raises(ValueError, match="not a spot venue: 'kraken'"):
        build_spot(SETTINGS, "kraken")
