"""``python -m feed_generator.venues.deribit.sim --port N``: serve the simulator until Ctrl-C or
SIGTERM (what ``make up`` sends its processes), then stop it cleanly and exit 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import signal

from common.jsonlog import configure_logging
from feed_generator.venues.deribit.sim.market import SimMarket
from feed_generator.venues.deribit.sim.server import DeribitSim


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
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(sim))


async def _serve(sim: DeribitSim) -> None:
    await sim.start()
    logging.getLogger(__name__).info(
        "deribit simulator ready", extra={"ws_url": sim.ws_url, "rest_url": sim.rest_url}
    )
    stopped = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopped.set)
    try:
        await stopped.wait()
    finally:
        await sim.stop()


if __name__ == "__main__":
    main()
