"""Benchmark of message validation: marshmallow ``load`` against the ``fast_valid`` path.

Run: ``.venv/bin/python bench/validation.py`` (``--quick`` for a smoke run).
Takes one message of each market channel from the synthetic feed (chains of
21 and 101 strikes), decoded from its JSON as a worker receives it, and prints
one JSON object: per message kind the median microseconds of
``SCHEMAS[channel].load``, of ``fast_valid`` and of ``validate`` (decode
included), and the fast path's share of the schema's time. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from common.fastcheck import fast_valid
from common.names import Channel
from common.schemas import SCHEMAS
from feed_generator.market import Market
from feed_generator.products import resolve_products
from worker_enricher.validation import validate

START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)


def feed_message(channel: Channel, strikes: int) -> bytes:
    """The first ``channel`` message of a one-product feed, as JSON bytes."""
    market = Market(1, START, resolve_products(["NIFTY"]), strikes=strikes)
    while True:
        for message in market.advance(1.0):
            if message.channel is channel:
                return orjson.dumps(message.payload)


def median_us(call: Callable[[], object], repeats: int, inner: int) -> float:
    """Median over ``repeats`` batches of the microseconds per call, in batches of ``inner``."""
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(inner):
            call()
        samples.append((time.perf_counter_ns() - start) / inner / 1e3)
    return round(statistics.median(samples), 2)


def measure(channel: Channel, raw: bytes, repeats: int) -> dict[str, Any]:
    message = orjson.loads(raw)
    schema = SCHEMAS[channel]
    if not fast_valid(channel, message) or schema.load(message) != message:
        raise SystemExit(f"{channel}: the feed's message does not take the fast path")
    slow = median_us(lambda: schema.load(message), repeats, 5)
    fast = median_us(lambda: fast_valid(channel, message), repeats, 50)
    whole = median_us(lambda: validate(channel, raw), repeats, 50)
    return {
        "bytes": len(raw),
        "schema_load_us": slow,
        "fast_valid_us": fast,
        "validate_us": whole,
        "fast_share_of_schema": round(fast / slow, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    args = parser.parse_args()
    repeats = 5 if args.quick else 200
    kinds = {
        "underlying_tick": (Channel.MARKET_UNDERLYING, 21),
        "option_quote": (Channel.MARKET_OPTION_QUOTE, 21),
        "option_chain_21": (Channel.MARKET_OPTION_CHAIN, 21),
        "option_chain_101": (Channel.MARKET_OPTION_CHAIN, 101),
    }
    result: dict[str, Any] = {}
    for name, (channel, strikes) in kinds.items():
        sys.stderr.write(f"{name}…\n")
        result[name] = measure(channel, feed_message(channel, strikes), repeats)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
