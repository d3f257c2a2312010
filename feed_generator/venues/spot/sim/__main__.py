"""``python -m feed_generator.venues.spot.sim --venue binance|coinbase --port N``: serve one
spot simulator until Ctrl-C or SIGTERM (what ``make up`` sends), then stop cleanly, exit 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from common.jsonlog import configure_logging
from feed_generator.venues.simhost import serve
from feed_generator.venues.spot.sim.market import DEFAULT_STARTS, SpotMarket
from feed_generator.venues.spot.sim.server import SpotSim

BASIS_BPS = {"binance": 1.0, "coinbase": 0.0}
"""Each simulated venue's default basis to the common path: Binance quotes USDT, a stablecoin
that trades a little above or below the dollar."""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local Binance or Coinbase spot feed.")
    parser.add_argument("--venue", choices=("binance", "coinbase"), required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (logged)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between quotes")
    parser.add_argument("--btc", type=float, default=DEFAULT_STARTS["BTC"], help="BTC start, USD")
    parser.add_argument("--eth", type=float, default=DEFAULT_STARTS["ETH"], help="ETH start, USD")
    parser.add_argument("--seed", type=int, default=7, help="the same seed: the same path")
    parser.add_argument(
        "--basis-bps", type=float, help="the venue's constant basis (binance 1: USDT; coinbase 0)"
    )
    parser.add_argument("--ping-interval", type=float, default=20.0, help="Binance pings, s")
    args = parser.parse_args(argv)
    configure_logging(f"{args.venue}_sim")
    basis = args.basis_bps if args.basis_bps is not None else BASIS_BPS[args.venue]
    market = SpotMarket({"BTC": args.btc, "ETH": args.eth}, seed=args.seed, basis_bps=basis)
    sim = SpotSim(args.venue, market, host=args.host, port=args.port, interval=args.interval,
                  ping_interval_s=args.ping_interval)  # fmt: skip
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sim, "spot simulator ready", lambda: {"venue": sim.venue,
                                                                "ws_url": sim.ws_url}))  # fmt: skip


if __name__ == "__main__":
    main()
