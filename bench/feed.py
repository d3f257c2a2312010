"""Benchmark of the market feed: messages per second delivered through Redis Pub/Sub.

Run: ``.venv/bin/python bench/feed.py --load 5000 10000 20000 --seconds 5``.
Starts a private redis-server, runs ``optionsflow-feed --load N`` as its own
process for each target, and counts in this process what a subscriber really
receives: messages/s, sequence gaps per (channel, product), and the delay
from each message's origin ``timestamp`` to its arrival (p50, p99). Prints one
JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from typing import Any

import numpy as np

from common.embedded_redis import EmbeddedRedis
from common.names import MARKET_CHANNELS
from common.redis_client import make_redis
from common.timestamps import parse_ts


def measure(url: str, load: float | None, seconds: float) -> dict[str, Any]:
    client = make_redis(url, socket_timeout=None)
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(*MARKET_CHANNELS)
    command = [
        sys.executable, "-m", "feed_generator", "--redis-url", url, "--seed", "1",
        "--duration", str(seconds), "--progress-interval", "0", "--log-level", "WARNING",
    ]  # fmt: skip
    if load is not None:
        command += ["--load", str(load)]
    feed = subprocess.Popen(command)
    last_seq: dict[tuple[str, str], int] = {}
    gaps, received = 0, 0
    delays: list[float] = []
    first = last = 0.0
    while True:
        message = pubsub.get_message(timeout=0.5)
        if message is None:
            if feed.poll() is not None:
                break  # the feed has exited and nothing arrived for 0.5 s: drained
            continue
        now = time.time()
        first = first or now
        last = now
        body = json.loads(message["data"])
        key = (message["channel"].decode(), body["product"])
        if key in last_seq and body["seq"] != last_seq[key] + 1:
            gaps += 1
        last_seq[key] = body["seq"]
        delays.append(now - parse_ts(body["timestamp"]).timestamp())
        received += 1
    pubsub.close()
    client.close()
    lag = np.array(delays) * 1000
    return {
        "target_per_s": load or "default",
        "received": received,
        "received_per_s": round(received / max(last - first, 1e-9)),
        "seq_gaps": gaps,
        "delay_ms_p50": round(float(np.percentile(lag, 50)), 1),
        "delay_ms_p99": round(float(np.percentile(lag, 99)), 1),
        "feed_exit_code": feed.returncode,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=float, nargs="*", default=[5000, 10000, 20000])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    results = []
    with EmbeddedRedis() as redis_server:
        for load in [None, *args.load]:
            sys.stderr.write(f"feed at {load or 'default'} messages/s for {args.seconds} s…\n")
            results.append(measure(redis_server.url, load, args.seconds))
    json.dump(
        {"measured_at": dt.datetime.now(dt.UTC).isoformat(), "runs": results}, sys.stdout, indent=2
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
