"""``python -m feed_generator.venues.deribit.sim --port N``: serve the simulator until Ctrl-C or
SIGTERM (what ``make up`` sends its processes), then stop it cleanly and exit 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt

from common.jsonlog import configure_logging
from feed_generator.venues.deribit.sim.market import SimMarket
from feed_generator.venues.deribit.sim.server import DeribitSim
from feed_generator.venues.simhost import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local Deribit (WebSocket JSON-RPC and REST).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (printed)")
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between tickers")
    parser.add_argument("--strikes-per-side", type=int, default=7)
    parser.add_argument("--expiries", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-heartbeat", type=float, default=10.0, help="seconds (venue: 10)")
    parser.add_argument(
        "--stamp",
        choices=("tick", "frame"),
        default="tick",
        help="a notification's timestamp: its tick's instant, or when the frame is written",
    )
    args = parser.parse_args(argv)
    configure_logging("deribit_sim")
    market = SimMarket(
        dt.datetime.now(dt.UTC),
        seed=args.seed,
        strikes_per_side=args.strikes_per_side,
        expiries=args.expiries,
    )
    sim = DeribitSim(
        market,
        host=args.host,
        port=args.port,
        interval=args.interval,
        min_heartbeat=args.min_heartbeat,
        stamp=args.stamp,
    )
    describe = lambda: {"ws_url": sim.ws_url, "rest_url": sim.rest_url}  # noqa: E731
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sim, "deribit simulator ready", describe))


if __name__ == "__main__":
    main()
