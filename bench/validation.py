"""Benchmark of message validation: the msgspec decoders of ``common.messages``.

Run: ``.venv/bin/python bench/validation.py`` (``--quick`` for a smoke run).
Takes one message of each market channel from the synthetic feed (chains of
21 and 101 strikes), as the JSON bytes a worker receives, and prints one JSON
object: per message kind the median microseconds of

- ``decode_us``: ``decode_message`` (JSON to the typed struct, every rule checked);
- ``validate_us``: the worker's ``validate`` (the same, then ``msgspec.to_builtins``
  into the dict the math takes);
- ``envelope_us``: the subscriber's envelope check (routing fields only);
- ``json_loads_us``: a bare ``orjson.loads``, no checks, for scale;
- ``task_{json,msgpack}_{send,recv}_us``: per message of a 200-message batch task,
  the subscriber's side (the task body serialized, base64 and the JSON envelope of
  kombu's Redis transport) and the worker's (the same undone), with the payloads
  as JSON text (before msgpack) and as msgpack bytes (the batch tasks' serializer).

Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import kombu.serialization
import kombu.utils.json
import msgspec
import orjson

from common.messages import decode_message
from common.names import Channel
from feed_generator.market import Market
from feed_generator.products import resolve_products
from worker_enricher.subscriber.service import envelope
from worker_enricher.validation import validate

START = dt.datetime(2026, 11, 23, 4, 0, tzinfo=dt.UTC)
MAX_BYTES = 2**21


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


BATCH = 200


def task_us(raw: bytes, serializer: str, repeats: int) -> tuple[float, float]:
    """Per message: a batch of ``raw`` × 200 sent as kombu's Redis transport sends a task
    (body serialized, base64, JSON envelope) and received back, by ``serializer``."""
    payloads = [raw] * BATCH  # as read from the stream

    def send() -> str:
        # JSON (before msgpack): each payload decoded to text, which the encoder escapes.
        texts = [p.decode() for p in payloads] if serializer == "json" else payloads
        content_type, encoding, body = kombu.serialization.dumps(  # type: ignore[no-untyped-call]
            ([texts], {}, {"callbacks": None}), serializer=serializer
        )
        data = body.encode() if isinstance(body, str) else body
        envelope = {"body": base64.b64encode(data).decode(), "content-type": content_type,
                    "content-encoding": encoding, "headers": {}, "properties": {}}  # fmt: skip
        return str(kombu.utils.json.dumps(envelope))  # type: ignore[no-untyped-call]

    sent = send()

    def recv() -> Any:
        message = kombu.utils.json.loads(sent)  # type: ignore[no-untyped-call]
        return kombu.serialization.loads(  # type: ignore[no-untyped-call]
            base64.b64decode(message["body"]), message["content-type"],
            message["content-encoding"], accept={message["content-type"]},
        )  # fmt: skip

    return (
        round(median_us(send, repeats, 2) / BATCH, 2),
        round(median_us(recv, repeats, 2) / BATCH, 2),
    )


def measure(channel: Channel, raw: bytes, repeats: int) -> dict[str, Any]:
    if msgspec.to_builtins(decode_message(channel, raw)) != orjson.loads(raw):
        raise SystemExit(f"{channel}: the feed's message does not come back as sent")
    return {
        "bytes": len(raw),
        "decode_us": median_us(lambda: decode_message(channel, raw), repeats, 50),
        "validate_us": median_us(lambda: validate(channel, raw), repeats, 50),
        "envelope_us": median_us(lambda: envelope(channel, raw, MAX_BYTES), repeats, 50),
        "json_loads_us": median_us(lambda: orjson.loads(raw), repeats, 50),
        **{
            f"task_{serializer}_{side}_us": us
            for serializer in ("json", "msgpack")
            for side, us in zip(("send", "recv"), task_us(raw, serializer, repeats), strict=True)
        },
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
