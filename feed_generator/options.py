"""The command line's options: the parser and the parsing of each value.

Type errors come back as one line (``optionsflow-feed: error: … (see --help)``,
exit 2); :mod:`feed_generator.cli` checks how the options combine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from common.messages import MAX_STRIKES
from feed_generator.market import (
    DEFAULT_STRIKES,
    FIRST_START_YEAR,
    LAST_START_YEAR,
    MAX_RATE,
    Rates,
)
from feed_generator.products import PRODUCTS

PROG = "optionsflow-feed"
DEFAULT_RATES = Rates()
MODEL_OPTIONS = ("seed", "products", "strikes", "start", "tick_rate", "quote_rate", "chain_rate")
"""Destinations of the options that shape the model; with ``load`` none applies to a replay."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, no usage dump: the message says what to fix, --help says the rest.
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0.0):
        raise argparse.ArgumentTypeError(f"must be a finite number ≥ 0, got {text}")
    return value


def _rate(text: str) -> float:
    value = _non_negative(text)
    if value > MAX_RATE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_RATE:g} per second, got {text}")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value <= 0.0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _speed(text: str) -> float:
    return math.inf if text.strip().lower() == "max" else _positive(text)


def _start(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected ISO-8601 like 2026-11-23T04:00:00Z, got {text!r}"
        ) from None
    try:
        utc = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        utc = None
    if utc is None or not FIRST_START_YEAR <= utc.year <= LAST_START_YEAR:
        # The bound keeps seq (microseconds since 1970 at the start) positive and exact in JSON.
        raise argparse.ArgumentTypeError(
            f"the year must be between {FIRST_START_YEAR} and {LAST_START_YEAR} (UTC), got {text!r}"
        )
    return utc


def _int_in(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {value}")
        return value

    return parse


DESCRIPTION = """\
Publish options market data to Redis Pub/Sub (market:underlying, market:option_quote,
market:option_chain) from the venues FEED_VENUES names (default: synthetic), or the one
--venue names: synthetic (the simulated NSE market), deribit (Deribit's BTC/ETH options,
live), deribit-sim (the same connector against the local simulator on DERIBIT_SIM_PORT),
kite (NSE index options through Kite Connect, with KITE_API_KEY and the day's access
token), kite-sim (the same connector against the local Kite simulator on KITE_SIM_PORT),
binance and coinbase (BTC/ETH spot prices from their public streams, sources of the
reference price), binance-sim and coinbase-sim (against the local simulators on
BINANCE_SIM_PORT / COINBASE_SIM_PORT). Several venues run together, each on its own
thread. Each venue's health goes to Redis (feed:health:{venue}, GET /api/feeds) and, with
FEED_METRICS_PORT, to /metrics. Or record the feed to a capture file, or replay one."""

EPILOG = """\
The market model and rate options (--seed … --load) shape the synthetic venue only, and
--no-publish runs it alone; --replay runs no venue. Settings such as FEED_VENUES,
DERIBIT_CURRENCIES, KITE_UNDERLYINGS, SPOT_PRODUCTS, FEED_METRICS_PORT and REDIS_URL come from the
environment (README, docs/VENUES.md)."""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``optionsflow-feed``."""
    parser = _Parser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument_group("venues").add_argument(
        "--venue",
        metavar="NAME",
        help="run this one venue (synthetic, deribit, deribit-sim, kite, kite-sim, binance, "
        "binance-sim, coinbase, coinbase-sim) instead of FEED_VENUES",
    )
    _model_options(parser.add_argument_group("synthetic market model"))
    _rate_options(parser.add_argument_group("synthetic rates (messages per second)"))
    _run_options(parser.add_argument_group("run"))
    return parser


def _model_options(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--seed", type=_int_in(0, 2**63 - 1), help="random seed (default: random, logged)")
    add("--products", help=f"comma list (default: all of {','.join(PRODUCTS)})")
    add(
        "--strikes",
        type=_int_in(1, MAX_STRIKES),
        help=f"strikes per chain around the money (default {DEFAULT_STRIKES})",
    )
    add("--start", type=_start, help="ISO start of the simulated clock (default: now)")


def _rate_options(group: argparse._ArgumentGroup) -> None:
    # No argparse defaults: an option given with --replay must be noticed (MODEL_OPTIONS).
    add, default = group.add_argument, DEFAULT_RATES
    add("--tick-rate", type=_rate, help=f"underlying ticks per product ({default.tick:g})")
    add("--quote-rate", type=_rate, help=f"option quotes per product ({default.quote:g})")
    add("--chain-rate", type=_rate, help=f"chains per (product, expiry) ({default.chain:g})")
    add("--load", type=_positive, help="target total messages/s; scales the three rates")


def _run_options(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--duration", type=_positive, help="stop after this many seconds")
    add("--redis-url", help="Redis to publish to (default: REDIS_URL, else an embedded one)")
    add(
        "--no-publish",
        "--dry-run",
        dest="no_publish",
        action="store_true",
        help="no Redis: run the simulated clock as fast as possible (needs --duration)",
    )
    add("--record", type=Path, help="write a gzip JSON-lines capture to this file")
    add("--replay", type=Path, help="publish a capture instead of running the venues")
    add("--speed", type=_speed, help="replay pace: a factor or 'max' (default 1)")
    add("--restamp", action="store_true", help="replay with timestamps set to now")
    add(
        "--progress-interval",
        type=_non_negative,
        default=5.0,
        help="seconds between progress logs (5; 0: none)",
    )
    add("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="default: LOG_LEVEL")
