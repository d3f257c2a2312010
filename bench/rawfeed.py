"""Benchmark of the raw feed's publishing: what one message costs the publisher and Redis.

Run: ``.venv/bin/python bench/rawfeed.py --batches 200 2000 --messages 60000``.

Publishes the feed's own message mix (a ``--load 20000`` dry run, captured) to a
private redis-server, with one Pub/Sub subscriber (a child process) attached to
every channel, three ways:

- ``publish``: ``PUBLISH`` only, packed by hand in one write per batch (the feed
  before the durable raw feed);
- ``lua``: :func:`common.rawfeed.publish_raw`, one ``EVALSHA`` per batch doing
  ``XADD … MAXLEN ~`` and ``PUBLISH`` per message;
- ``multi``: ``MULTI``, ``XADD`` + ``PUBLISH`` per message, ``EXEC``, packed by hand
  in one write per batch, every reply read.

For each: the publisher's CPU per message (this process), Redis's CPU per message
(``INFO cpu``, user + system, of the server) and the wall time per message with one
batch in flight. Then (``--drain``, on by default) how fast one subscriber drains
the same messages left in the streams as a backlog (what a restart after an outage
faces): a :class:`Subscriber` in this process, enqueuing to the broker database of
the same server with no worker, timed until every entry is acknowledged. Prints one
JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis

from common.embedded_redis import EmbeddedRedis
from common.names import MARKET_CHANNELS
from common.rawfeed import RawMessage, publish_raw
from common.redis_client import make_redis

MAXLEN = 100_000
"""Small enough that the benchmark's streams stay in memory; trimming is part of the cost."""

SUBSCRIBER = """
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
pubsub = client.pubsub(ignore_subscribe_messages=True)
pubsub.subscribe(*sys.argv[2:])
print("subscribed", flush=True)
for _ in pubsub.listen():
    pass
"""


def feed_mix(count: int) -> list[RawMessage]:
    """``count`` messages of the synthetic feed at 20,000 msg/s, in publishing order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.jsonl.gz"
        seconds = max(1, count // 20_000 + 1)
        subprocess.run(
            [sys.executable, "-m", "feed_generator", "--dry-run", "--load", "20000",
             "--duration", str(seconds), "--seed", "1", "--record", str(path),
             "--progress-interval", "0", "--log-level", "WARNING"],
            check=True,
        )  # fmt: skip
        out: list[RawMessage] = []
        with gzip.open(path, "rt") as lines:
            for line in lines:
                record = json.loads(line)
                body = json.dumps(record["message"], separators=(",", ":")).encode()
                out.append((record["channel"], body))
                if len(out) == count:
                    break
    return out


def _packed_publish(messages: Sequence[RawMessage]) -> bytes:
    return b"".join([
        b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(c := ch.encode()), c, len(d), d)
        for ch, d in messages
    ])  # fmt: skip


def _packed_multi(messages: Sequence[RawMessage], maxlen: int) -> bytes:
    n = b"%d" % maxlen
    body = b"".join([
        b"*8\r\n$4\r\nXADD\r\n$%d\r\n%b\r\n$6\r\nMAXLEN\r\n$1\r\n~\r\n$%d\r\n%b\r\n$1\r\n*\r\n"
        b"$1\r\nd\r\n$%d\r\n%b\r\n*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n"
        % (len(c := ch.encode()), c, len(n), n, len(d), d, len(c), c, len(d), d)
        for ch, d in messages
    ])  # fmt: skip
    return b"*1\r\n$5\r\nMULTI\r\n" + body + b"*1\r\n$4\r\nEXEC\r\n"


def send_publish(client: redis.Redis, batch: Sequence[RawMessage]) -> None:
    conn = client.connection_pool.get_connection()
    try:
        conn.send_packed_command([_packed_publish(batch)])  # type: ignore[no-untyped-call]
        for _ in batch:
            conn.read_response()
    finally:
        client.connection_pool.release(conn)


def send_multi(client: redis.Redis, batch: Sequence[RawMessage]) -> None:
    conn = client.connection_pool.get_connection()
    try:
        conn.send_packed_command([_packed_multi(batch, MAXLEN)])  # type: ignore[no-untyped-call]
        for _ in range(1 + 2 * len(batch)):  # +OK, then +QUEUED per command
            conn.read_response()
        replies = conn.read_response()  # EXEC: every reply
        assert len(replies) == 2 * len(batch)
    finally:
        client.connection_pool.release(conn)


def send_lua(client: redis.Redis, batch: Sequence[RawMessage]) -> None:
    publish_raw(client, batch, maxlen=MAXLEN)


def _server_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(
    client: redis.Redis, send: Callable[[redis.Redis, Sequence[RawMessage]], None],
    messages: list[RawMessage], batch: int,
) -> dict[str, Any]:  # fmt: skip
    client.delete(*MARKET_CHANNELS)
    send(client, messages[:batch])  # warm: connection, script cache
    batches = [messages[i : i + batch] for i in range(0, len(messages), batch)]
    server0, cpu0, wall0 = _server_cpu(client), time.process_time(), time.perf_counter()
    for chunk in batches:
        send(client, chunk)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    server = _server_cpu(client) - server0
    n = len(messages)
    streamed = sum(int(client.xlen(c)) for c in MARKET_CHANNELS)
    return {
        "batch": batch,
        "publisher_cpu_us_per_msg": round(cpu / n * 1e6, 2),
        "redis_cpu_us_per_msg": round(server / n * 1e6, 2),
        "wall_us_per_msg": round(wall / n * 1e6, 2),
        "msgs_per_s_one_in_flight": round(n / wall),
        "stream_entries": streamed,
    }


def drain(url: str, messages: list[RawMessage]) -> dict[str, Any]:
    """Seconds and CPU one subscriber takes to enqueue and acknowledge ``messages`` waiting
    in the streams."""
    import dataclasses
    import threading

    from common.settings import load_settings
    from worker_enricher.subscriber import metrics
    from worker_enricher.subscriber.service import Subscriber
    from worker_enricher.subscriber.streams import RawStreams

    client = make_redis(url)
    client.delete(*MARKET_CHANNELS)
    RawStreams(client, "bench", count=1, claim_idle_ms=10_000).ensure_groups()
    for start in range(0, len(messages), 2000):
        publish_raw(client, messages[start : start + 2000], maxlen=10 * len(messages))
    settings = load_settings()
    settings = dataclasses.replace(settings, redis_url=url, pipeline=dataclasses.replace(
        settings.pipeline, queue_high_water=10**9, broker_url=None))  # fmt: skip
    subscriber = Subscriber(settings)
    acked = metrics.ACKED.collect

    def done() -> float:
        return sum(s.value for m in acked() for s in m.samples if s.name.endswith("_total"))

    before, stop = done(), threading.Event()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    thread = threading.Thread(target=subscriber.run, args=(stop,))
    thread.start()
    while done() - before < len(messages):
        time.sleep(0.01)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    stop.set()
    thread.join()
    subscriber.close()
    client.close()
    return {
        "backlog": len(messages),
        "drained_per_s": round(len(messages) / wall),
        "subscriber_cpu_us_per_msg": round(cpu / len(messages) * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="*", default=[200, 2000])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument("--drain", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    print("capturing the feed's message mix", file=sys.stderr)
    messages = feed_mix(args.messages)
    sizes = [len(d) for _, d in messages]
    ways = {"publish": send_publish, "lua": send_lua, "multi": send_multi}
    results: list[dict[str, Any]] = []
    with EmbeddedRedis() as server:
        client = make_redis(server.url, socket_timeout=30)
        listener = subprocess.Popen(
            [sys.executable, "-c", SUBSCRIBER, server.url, *MARKET_CHANNELS],
            stdout=subprocess.PIPE,
        )
        try:
            assert listener.stdout is not None
            assert listener.stdout.readline().strip()
            for batch in args.batches:
                for name, send in ways.items():
                    runs = [measure(client, send, messages, batch) for _ in range(args.repeat)]
                    best = min(runs, key=lambda r: r["publisher_cpu_us_per_msg"]
                               + r["redis_cpu_us_per_msg"])  # fmt: skip
                    results.append({"way": name, **best})
                    print(json.dumps(results[-1]), file=sys.stderr)
        finally:
            listener.kill()
            listener.wait()
            client.close()
        drained = drain(server.url, messages) if args.drain else None
    print(json.dumps({
        "messages": len(messages),
        "mean_bytes": round(sum(sizes) / len(sizes)),
        "redis": "embedded",
        "results": results,
        "drain": drained,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
