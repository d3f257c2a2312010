"""Benchmark of the whole enrichment path: feed → Redis → subscriber → Celery → store/cache/publish.

Run: ``.venv/bin/python bench/pipeline.py --rates 200 2000 20000 --seconds 10 --workers 2``.
For each offered rate it records the feed's messages for ``--seconds`` (a dry
run at that load), starts a private redis-server, ``--workers`` Celery worker
processes and the subscriber, publishes the recording at its pace with fresh
timestamps (a lean replay, see :class:`Replay`), and measures in this process
what comes out on ``enriched:*``:

- sustained rate: market messages taken per second from the first publish to
  the last enriched message;
- loss: chains published but neither stored nor superseded, plus ticks
  published but never enriched (quotes feed the IV surface and publish nothing);
- latency from each message's origin ``timestamp`` to its arrival on
  ``enriched:*`` (p50, p99, max);
- CPU per market message of each process (workers with their pool children, the
  subscriber, redis-server) from the first publish until the queue is drained.

Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from support import cpu_seconds

from common.embedded_redis import EmbeddedRedis
from common.names import ENRICH_QUEUE, Channel
from common.rawfeed import publish_raw
from common.redis_client import make_redis, redis_db_url
from common.timestamps import now_ts, parse_ts
from store import open_store

PY = sys.executable


def _cpu(roles: dict[str, int]) -> dict[str, float]:
    return {role: cpu_seconds(pid) for role, pid in roles.items()}


class Receiver(threading.Thread):
    """Counts enriched messages and their delay from the origin timestamp, cheaply (no JSON)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.client = make_redis(url, socket_timeout=None)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        self.pubsub.subscribe(
            Channel.ENRICHED_OPTION_CHAIN.value, Channel.ENRICHED_UNDERLYING.value
        )
        self.delays: list[float] = []
        self.waits: list[float] = []
        """Origin to the worker taking the batch: subscriber, batching and queue."""
        self.counts: Counter[str] = Counter()
        self.last = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None:
                continue
            now = time.time()
            data: bytes = message["data"]
            at = data.rfind(b'"timestamp":"') + 13  # the message's own, after every row
            origin = parse_ts(data[at : at + 24].decode()).timestamp()
            at = data.rfind(b'"processed_at":"') + 16
            taken = parse_ts(data[at : at + 24].decode()).timestamp()
            self.delays.append(now - origin)
            self.waits.append(taken - origin)
            self.counts[message["channel"].decode()] += 1
            self.last = now


class Replay:
    """The recording, encoded once, published at its pace with the send time spliced in.

    The feed's own ``--replay --restamp`` re-encodes every message to restamp
    it, which costs a core at 10,000 msg/s on this machine, time that the
    pipeline under test would lose. Here each message is encoded once with its
    timestamp's position noted, so a send costs a string splice.
    """

    def __init__(self, capture: Path) -> None:
        self.items: list[tuple[float, str, str, int]] = []
        with gzip.open(capture, "rt") as lines:
            for line in lines:
                record = json.loads(line)
                data = json.dumps(record["message"], separators=(",", ":"))
                at = data.rindex('"timestamp":"') + 13
                self.items.append((record["t"], record["channel"], data, at))

    def run(self, url: str, chunk_s: float = 0.005) -> float:
        """Publish everything at the recorded pace; the seconds it took."""
        client = make_redis(url)
        start = time.monotonic()
        i, n = 0, len(self.items)
        while i < n:
            now = time.monotonic() - start
            if self.items[i][0] > now:
                time.sleep(min(self.items[i][0] - now, chunk_s))
                continue
            batch: list[tuple[str, bytes]] = []
            stamp = now_ts()
            while i < n and self.items[i][0] <= now:
                _, channel, data, at = self.items[i]
                batch.append((channel, (data[:at] + stamp + data[at + 24 :]).encode()))
                i += 1
            publish_raw(client, batch)  # the raw streams the subscriber reads, and Pub/Sub
        client.close()
        return time.monotonic() - start


def _start(argv: list[str], env: dict[str, str], log: Path, ready: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while ready not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{argv[2:6]} did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _final_stats(log: Path) -> dict[str, Any]:
    lines = [line for line in log.read_text().splitlines() if '"subscriber stats"' in line]
    return dict(json.loads(lines[-1])) if lines else {}


def run_rate(
    rate: float, seconds: float, workers: int, concurrency: int, pool: str, tmp: Path
) -> dict[str, Any]:
    capture = tmp / f"feed-{rate:g}.jsonl.gz"
    subprocess.run(
        [PY, "-m", "feed_generator", "--dry-run", "--load", str(rate), "--duration", str(seconds),
         "--seed", "1", "--record", str(capture), "--log-level", "WARNING"], check=True,
    )  # fmt: skip
    replay = Replay(capture)
    published = Counter(channel for _, channel, _, _ in replay.items)
    with EmbeddedRedis() as redis_server:
        url = redis_server.url
        env = dict(os.environ, REDIS_URL=url, STORE_URL=f"sqlite:///{tmp / f'store-{rate:g}.db'}",
                   LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")  # fmt: skip
        procs = [
            _start([PY, "-m", "celery", "-A", "worker_enricher.celery_app", "worker", "-Q",
                    ENRICH_QUEUE, "-P", pool, "-c", str(concurrency), "-n", f"w{i}@%h",
                    "--loglevel", "INFO",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"],
                   env, tmp / f"worker{i}-{rate:g}.log", " ready.")
            for i in range(workers)
        ]  # fmt: skip
        sub_log = tmp / f"subscriber-{rate:g}.log"
        env_sub = dict(env, LOG_LEVEL="INFO")
        procs.append(
            _start([PY, "-m", "worker_enricher.subscriber"], env_sub, sub_log, "subscribed")
        )
        receiver = Receiver(url)
        receiver.start()
        roles = {f"worker{i}": proc.pid for i, proc in enumerate(procs[:-1])}
        roles["subscriber"] = procs[-1].pid
        if redis_server._proc is not None:
            roles["redis"] = redis_server._proc.pid
        cpu_before = _cpu(roles)
        print(f"publishing {len(replay.items)} messages", file=sys.stderr)
        started = time.time()
        replayed = replay.run(url)
        broker = make_redis(redis_db_url(url, 1))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and (
            broker.llen(ENRICH_QUEUE) or time.time() - max(receiver.last, started) < 3.0
        ):
            time.sleep(0.2)  # drained: queue empty and nothing new for 3 s
        cpu = {role: s - cpu_before[role] for role, s in _cpu(roles).items()}
        receiver.stop.set()
        receiver.join()
        _stop(procs.pop())  # the subscriber first: its final stats
        stats = _final_stats(sub_log)
        for proc in procs:
            _stop(proc)
        store = open_store(env["STORE_URL"])
        stored = sum(len(store.chain_seqs(p, e)) for p, es in store.products().items() for e in es)
        store.close()
    chains = published[Channel.MARKET_OPTION_CHAIN.value]
    ticks = published[Channel.MARKET_UNDERLYING.value]
    superseded = int(stats.get("superseded", 0))
    enriched_ticks = receiver.counts[Channel.ENRICHED_UNDERLYING.value]
    delays = np.array(receiver.delays) * 1000
    waits = np.array(receiver.waits) * 1000
    elapsed = max(receiver.last - started, replayed)
    return {
        "offered_per_s": rate,
        "published": sum(published.values()),
        "publish_rate_per_s": round(sum(published.values()) / replayed, 1),
        "sustained_per_s": round(sum(published.values()) / elapsed, 1),
        "chains": {"published": chains, "stored": stored, "superseded": superseded},
        "ticks": {"published": ticks, "enriched": enriched_ticks},
        "loss": chains - stored - superseded + ticks - enriched_ticks,
        "latency_ms": {
            "p50": round(float(np.percentile(delays, 50)), 1),
            "p99": round(float(np.percentile(delays, 99)), 1),
            "max": round(float(delays.max()), 1),
        } if delays.size else None,
        "until_taken_ms": {
            "p50": round(float(np.percentile(waits, 50)), 1),
            "p99": round(float(np.percentile(waits, 99)), 1),
        } if waits.size else None,
        # CPU of each process (with its pool children) from the first publish to the drain,
        # per market message taken
        "cpu_us_per_message": {role: round(s / sum(published.values()) * 1e6, 1)
                               for role, s in cpu.items()},
        "gaps": stats.get("gaps"),
        "queue_depth_at_end": stats.get("queue_depth"),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[200, 2000, 20000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--concurrency", type=int, default=1, help="pool size of each worker")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "solo"])
    parser.add_argument("--keep", type=Path, help="keep recordings, logs and stores in this folder")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="optionsflow-bench-") as scratch:
        tmp = args.keep or scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        for rate in args.rates:
            print(f"offering {rate:g} msg/s for {args.seconds:g} s", file=sys.stderr)
            results.append(
                run_rate(rate, args.seconds, args.workers, args.concurrency, args.pool, Path(tmp))
            )
            print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps({"workers": args.workers, "concurrency": args.concurrency, "pool": args.pool,
                      "seconds": args.seconds, "runs": results}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
