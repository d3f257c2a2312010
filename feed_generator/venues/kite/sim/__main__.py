"""``python -m feed_generator.venues.kite.sim --port N``: serve the Kite simulator until Ctrl-C
or SIGTERM (what ``make up`` sends its processes), then stop it cleanly and exit 0."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt

from common.jsonlog import configure_logging
from feed_generator.venues.kite.sim.market import KiteMarket
from feed_generator.venues.kite.sim.server import KiteSim
from feed_generator.venues.simhost import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A local Kite Connect (ticker and REST).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port (logged)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between ticks")
    parser.add_argument("--expiries", type=int, default=2, help="weekly expiries listed")
    parser.add_argument("--strikes-per-side", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    configure_logging("kite_sim")
    market = KiteMarket(
        dt.datetime.now(dt.UTC),
        seed=args.seed,
        expiries=args.expiries,
        strikes_per_side=args.strikes_per_side,
    )
    sim = KiteSim(market, host=args.host, port=args.port, interval=args.interval)
    describe = lambda: {"ws_url": sim.ws_url, "api_url": sim.api_url}  # noqa: E731
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(sim, "kite simulator ready", describe))


if __name__ == "__main__":
    main()
