"""Benchmark of the Kite connector against the simulator at Kite's real scale.

Run: ``.venv/bin/python bench/venues.py --venue kite`` (``--quick``: a few seconds, small).
Starts a private redis-server and the Kite simulator as its own process
(``python -m feed_generator.venues.kite.sim``) with ``--kite-expiries`` × (2 ×
``--kite-strikes-per-side`` + 1) strikes × call/put × NIFTY and BANKNIFTY in full mode — the
defaults, 8 expiries and 90 strikes a side, are 5,792 options on two connections of the three
a key may hold — each instrument every ``--kite-interval`` seconds (1 s). :class:`KiteVenue`
runs in a child process and publishes through the feed's ``RedisSink``. Measured over the
window after the warm-up (until the first resync from ``/quote`` is done): binary frames and
packets decoded per second, the connector process's CPU per packet (decoding, normalising,
chains, encoding, publishing: everything) and the decoder's own time per packet, the delay
from a frame's arrival (read off the socket) to the hand-over of its messages to Redis (the flush
that published them returned), p50 and p99. Kite's own timestamps are whole seconds, so the
delay from the venue cannot be measured here. Prints one JSON object; progress on stderr.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.queues import Queue
from typing import Any

import numpy as np

from common.embedded_redis import EmbeddedRedis, free_port
from common.redis_client import make_redis
from feed_generator.publisher import RedisSink


class _Meter:
    """Frames, packets, and the arrival → hand-over delay (ms) of each frame."""

    def __init__(self) -> None:
        self.frames = self.packets = self.published = 0
        self.decode_s = 0.0
        self.arrivals: list[float] = []
        self.delays: list[float] = []

    def reset(self) -> None:
        self.frames = self.packets = self.published = 0
        self.decode_s = 0.0
        self.delays.clear()


def _instrument(venue: Any, meter: _Meter) -> None:
    """Wrap the connector's decode and flush to feed ``meter`` (the bench's child only)."""
    from feed_generator.venues.kite import client

    decode = vars(client)["decode_frame"]  # the name the connection's reader calls

    def counting_decode(data: bytes) -> Any:
        start = time.perf_counter()
        meter.arrivals.append(start)
        packets, rejected = decode(data)
        meter.decode_s += time.perf_counter() - start
        meter.frames += 1 if len(data) > 1 else 0
        meter.packets += len(packets)
        return packets, rejected

    vars(client)["decode_frame"] = counting_decode
    flush = venue.batch.flush

    def timed_flush(sinks: Sequence[Any], offset: float) -> int:
        sent = int(flush(sinks, offset))
        now = time.perf_counter()
        meter.published += sent
        meter.delays.extend((now - t) * 1000 for t in meter.arrivals)
        meter.arrivals.clear()
        return sent

    venue.batch.flush = timed_flush


def run_connector(
    redis_url: str, port: int, warmup: float, seconds: float, out: Queue[Any]
) -> None:
    """Child process: the connector for ``warmup`` + ``seconds``; reports what it measured."""
    from feed_generator.venues.kite.client import Credentials
    from feed_generator.venues.kite.connector import KiteVenue
    from feed_generator.venues.kite.sim import SIM_ACCESS_TOKEN, SIM_API_KEY
    from feed_generator.venues.kite.token import TokenSource

    tokens = TokenSource(Credentials(SIM_API_KEY, SIM_ACCESS_TOKEN))
    venue = KiteVenue(
        f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/", tokens, strikes_around=200,
        expiries=8,
    )  # fmt: skip
    meter = _Meter()
    _instrument(venue, meter)

    stop = threading.Event()
    thread = threading.Thread(
        target=venue.run, args=([RedisSink(make_redis(redis_url))], stop), name="kite"
    )
    thread.start()
    # The warm-up lasts until the first resync is done (~1 /quote call a second: 25 s for
    # 6,000 instruments), and at most ``warmup`` seconds.
    deadline = time.monotonic() + warmup
    while venue.health.snapshot().resyncs < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    meter.reset()
    cpu0, wall0 = time.process_time(), time.monotonic()
    time.sleep(seconds)
    cpu1, wall1 = time.process_time(), time.monotonic()
    frames, packets, published = meter.frames, meter.packets, meter.published
    decode_s = meter.decode_s
    delays = np.array(meter.delays)
    stop.set()
    thread.join(30.0)
    snap = venue.health.snapshot()
    universe = venue.universe
    out.put({
        "cpu_s": cpu1 - cpu0, "window_s": wall1 - wall0, "frames": frames, "packets": packets,
        "published": published, "decode_s": decode_s, "dead_letters": snap.dead_letters,
        "reconnects": snap.reconnects,
        "instruments": 0 if universe is None else len(universe.tokens),
        "connections": 0 if universe is None else len(universe.shards(3000, 3)),
        "delay_ms_p50": float(np.percentile(delays, 50)) if delays.size else None,
        "delay_ms_p99": float(np.percentile(delays, 99)) if delays.size else None,
    })  # fmt: skip


def start_sim(args: argparse.Namespace) -> tuple[Any, int]:
    """The simulator as its own process on a free port; returns it once it says it is ready."""
    port = free_port()
    sim = subprocess.Popen([
        sys.executable, "-m", "feed_generator.venues.kite.sim", "--port", str(port),
        "--strikes-per-side", str(args.strikes_per_side), "--expiries", str(args.expiries),
        "--interval", str(args.interval),
    ], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    assert sim.stdout is not None
    for line in sim.stdout:
        if "kite simulator ready" in line:
            # Keep reading its output, so a full pipe never blocks it.
            threading.Thread(target=sim.stdout.read, daemon=True).start()
            return sim, port
    sim.kill()
    raise SystemExit("the Kite simulator did not start")


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    out: Queue[Any] = ctx.Queue()
    with EmbeddedRedis() as redis_server:
        sim, port = start_sim(args)
        try:
            child = ctx.Process(
                target=run_connector,
                args=(redis_server.url, port, args.warmup, args.seconds, out),
            )
            child.start()
            child.join(args.warmup + args.seconds + 60.0)
            report = out.get(timeout=5.0)
        finally:
            sim.terminate()
            sim.wait(10.0)
    window, cpu = report["window_s"], report["cpu_s"]
    packets = max(report["packets"], 1)
    return {
        "instruments": report["instruments"],
        "connections": report["connections"],
        "interval_s": args.interval,
        "window_s": round(window, 2),
        "frames_per_s": round(report["frames"] / window),
        "packets_per_s": round(report["packets"] / window),
        "published_per_s": round(report["published"] / window),
        "connector_cpu_share": round(cpu / window, 2),
        "cpu_us_per_packet": round(cpu / packets * 1e6, 1),
        "decode_us_per_packet": round(report["decode_s"] / packets * 1e6, 2),
        "delay_ms_p50": _round(report["delay_ms_p50"]),
        "delay_ms_p99": _round(report["delay_ms_p99"]),
        "dead_letters": report["dead_letters"],
        "reconnects": report["reconnects"],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The Kite run's options (``bench/venues.py --venue kite …``)."""
    group = parser.add_argument_group("kite")
    group.add_argument("--kite-strikes-per-side", dest="kite_strikes", type=int, default=90)
    group.add_argument("--kite-expiries", dest="kite_expiries", type=int, default=8)
    group.add_argument("--kite-interval", dest="kite_interval", type=float, default=1.0)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measure with ``args`` of ``bench/venues.py`` (``--quick``: 2 expiries × 20 a side)."""
    kite = argparse.Namespace(
        strikes_per_side=20 if args.quick else args.kite_strikes,
        expiries=2 if args.quick else args.kite_expiries,
        interval=args.kite_interval,
        warmup=10.0 if args.quick else max(args.warmup, 40.0),
        seconds=3.0 if args.quick else args.seconds,
    )
    sys.stderr.write(
        f"kite connector: {kite.strikes_per_side} strikes a side × {kite.expiries} expiries × "
        f"2 underlyings, every {kite.interval} s, {kite.warmup} s warm-up, "
        f"{kite.seconds} s measured…\n"
    )
    return measure(kite)
