"""Benchmark of the Socket.IO gateway: N concurrent clients over the rooms, delivery latency.

Run: ``.venv/bin/python bench/sockets.py --clients 1000 5000 --seconds 30``.

Starts a private redis-server, auth_service (gunicorn) and ``--instances``
socket_gateway processes (eventlet, one Redis message queue; the clients are
dealt round-robin over them, as a balancer would), logs one user in, caches a
chain for every room, then for each client count: opens the clients
(python-socketio's asyncio client over websockets, in ``--procs`` processes,
loopback only) spread round-robin over
``--products`` × ``--expiries`` rooms, each subscribing to one (product,
expiry); publishes one enriched 21-strike chain per room per second on
``enriched:option_chain`` (``timestamp`` = the publish instant, standing in
for the pipeline's output; ``--source feed`` runs the feed, the subscriber
and a Celery worker instead, and the rooms are the chains they produce); and
measures for ``--seconds`` the delivery delay
from that origin timestamp to the client's receipt. Prints one JSON object per
client count: connections held, updates received per second (and expected),
delay p50/p99/max, connect failures, the gateways' CPU (cores) and their
degraded-mode and superseded counts from /metrics. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from support import enriched_chain_bytes, post_json, stop_processes, wait_healthy

from common import latest
from common.embedded_redis import EmbeddedRedis, free_port
from common.latest import LatestReader
from common.names import Channel
from common.redis_client import make_redis
from common.timestamps import now_ts
from socket_gateway.app import OrjsonCodec
from worker_enricher.cache import put_latest

PY = sys.executable
PRODUCTS = ("NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY", "RELIANCE", "HDFCBANK", "INFY", "TCS")


class Stack:
    """Redis, auth_service and ``instances`` socket gateways, stopped on exit."""

    def __init__(self, workdir: Path, instances: int) -> None:
        self.workdir = workdir
        self.redis = EmbeddedRedis()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.auth_url = f"http://127.0.0.1:{free_port()}"
        self.socket_ports = [free_port() for _ in range(instances)]
        self.socket_urls = [f"http://127.0.0.1:{port}" for port in self.socket_ports]
        self.gateway_pids: list[int] = []
        self.redis_url = ""

    def _start(self, name: str, argv: list[str], env: dict[str, str], url: str) -> int:
        log = self.workdir / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)  # fmt: skip
        self.procs.append(proc)
        wait_healthy(url, proc, log, 60)
        return proc.pid

    def __enter__(self) -> Stack:
        self.redis_url = self.redis.start()
        env = {
            **os.environ, "REDIS_URL": self.redis_url, "VAR_DIR": str(self.workdir),
            "STORE_URL": f"sqlite:///{self.workdir / 'bench.db'}", "LOG_LEVEL": "WARNING",
            "AUTH_SERVICE_URL": self.auth_url, "LOGIN_LIMIT_IP": "10000/minute",
            "SOCKET_MAX_CONN_PER_IP": "1000000",
        }  # fmt: skip
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        auth_port = self.auth_url.rsplit(":", 1)[1]
        self._start("auth", [PY, "-m", "gunicorn", "-c", "python:common.gunicorn_conf",
                             "--bind", f"127.0.0.1:{auth_port}", "auth_service.wsgi:app"],
                    {**env, "SERVICE_NAME": "auth_service"}, self.auth_url)  # fmt: skip
        for i, (port, url) in enumerate(zip(self.socket_ports, self.socket_urls, strict=True)):
            argv = [PY, "-m", "socket_gateway", "--port", str(port)]
            self.gateway_pids.append(self._start(f"socket{i}", argv, env, url))
        return self

    def pipeline(self) -> None:
        """The feed (one chain per product and expiry a second), the subscriber and a
        Celery worker: the chains the clients get are enriched end to end."""
        env = {
            **os.environ, "REDIS_URL": self.redis_url, "VAR_DIR": str(self.workdir),
            "STORE_URL": f"sqlite:///{self.workdir / 'bench.db'}", "LOG_LEVEL": "WARNING",
        }  # fmt: skip
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        for name, argv in (
            ("worker", [PY, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
                        "--queues", "enrich", "--concurrency", "2", "--loglevel", "WARNING",
                        "--without-gossip", "--without-mingle", "--without-heartbeat"]),
            ("subscriber", [PY, "-m", "worker_enricher.subscriber"]),
            ("feed", [PY, "-m", "feed_generator", "--progress-interval", "0"]),
        ):  # fmt: skip
            with open(self.workdir / f"{name}.log", "wb") as out:
                self.procs.append(subprocess.Popen(argv, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip

    def live_rooms(self, timeout: float = 60.0) -> list[tuple[str, str]]:
        """The (product, expiry) of every chain the pipeline has cached, once it settles."""
        client = make_redis(self.redis_url)
        deadline, found, steady = time.monotonic() + timeout, 0, 0
        rooms: list[tuple[str, str]] = []
        while time.monotonic() < deadline and steady < 3:
            listing = LatestReader(client).listing()
            rooms = [(p, e) for p, expiries in sorted(listing.items()) for e in expiries]
            steady = steady + 1 if rooms and len(rooms) == found else 0
            found = len(rooms)
            time.sleep(2.0)
        client.close()
        if not rooms:
            raise SystemExit(f"no enriched chain in {timeout} s; see {self.workdir}")
        return rooms

    def gateway_cpu_s(self) -> float:
        return sum(_cpu_s(pid) for pid in self.gateway_pids)

    def metrics(self) -> dict[str, float]:
        """The gateways' ``optionsflow_socket*`` series, summed over the instances."""
        found: dict[str, float] = {}
        for url in self.socket_urls:
            with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
                text = resp.read().decode()
            for line in text.splitlines():
                name, _, value = line.partition(" ")
                if name.startswith("optionsflow_socket"):
                    with contextlib.suppress(ValueError):
                        found[name] = found.get(name, 0.0) + float(value)
        return found

    def __exit__(self, *exc: object) -> None:
        stop_processes(self.procs)
        self.redis.stop()


def _origin_ms(payload: dict[str, Any]) -> float:
    return dt.datetime.fromisoformat(payload["timestamp"]).timestamp() * 1000


class Measure:
    """What the clients of one process saw."""

    def __init__(self, measure_from: float, measure_to: float) -> None:
        self.window = (measure_from, measure_to)
        self.delays: list[float] = []
        self.stats = {"connected": 0, "failed": 0, "subscribed": 0, "received": 0, "modes": 0}

    def received(self, origin_ms: float) -> None:
        now = time.time()
        if self.window[0] <= now <= self.window[1]:
            self.stats["received"] += 1
            self.delays.append(now * 1000 - origin_ms)


async def _socketio_client(
    url: str, token: str, room: tuple[str, str], measure: Measure
) -> Callable[[], Awaitable[bool]] | None:
    """python-socketio's AsyncClient; a coroutine that says whether it is still connected
    and then disconnects."""
    import socketio  # each client process imports its own

    # orjson decoding, as the server's: on two shared cores the clients are the heavy side
    sio = socketio.AsyncClient(reconnection=False, json=OrjsonCodec)

    @sio.on("chain_update")  # type: ignore[untyped-decorator]
    async def on_chain(payload: dict[str, Any]) -> None:
        measure.received(_origin_ms(payload))

    @sio.on("mode")  # type: ignore[untyped-decorator]
    async def on_mode(_data: Any) -> None:
        measure.stats["modes"] += 1

    try:
        await sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=20)
    except Exception:
        return None
    ack = await sio.call("subscribe", {"product": room[0], "expiry": room[1]}, timeout=20)
    if ack and ack.get("ok"):
        measure.stats["subscribed"] += 1

    async def close() -> bool:
        held = bool(sio.connected)
        with contextlib.suppress(Exception):
            await sio.disconnect()
        return held

    return close


_STAMP = '"timestamp":"'


async def _raw_client(
    url: str, token: str, room: tuple[str, str], measure: Measure, session: Any
) -> Callable[[], Awaitable[bool]] | None:
    """Engine.IO 4 / Socket.IO 5 spoken directly over an aiohttp websocket: the same
    frames a browser exchanges, at a fraction of the client's CPU (the chain is not
    decoded, only its ``timestamp`` is found), so the gateway is what is measured."""
    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    try:
        ws = await asyncio.wait_for(session.ws_connect(ws_url, max_msg_size=0), 20)
        opened = await ws.receive_str(timeout=20)  # 0{"sid":...,"pingInterval":...}
        if not opened.startswith("0"):
            raise ConnectionError(opened)
        await ws.send_str("40" + json.dumps({"token": token}))
        connected = await ws.receive_str(timeout=20)
        if not connected.startswith("40"):
            raise ConnectionError(connected)  # 44{...}: refused
        subscribe = ["subscribe", {"product": room[0], "expiry": room[1]}]
        await ws.send_str("421" + json.dumps(subscribe))
    except Exception:
        return None

    async def read() -> None:
        async for message in ws:
            text = message.data
            if not isinstance(text, str):
                continue
            if text == "2":  # ping
                await ws.send_str("3")
            elif text.startswith('42["chain_update"'):
                at = text.find(_STAMP) + len(_STAMP)
                measure.received(dt.datetime.fromisoformat(text[at : at + 24]).timestamp() * 1000)
            elif text.startswith("431"):
                if '"ok":true' in text:
                    measure.stats["subscribed"] += 1
            elif text.startswith('42["mode"'):
                measure.stats["modes"] += 1

    reader = asyncio.create_task(read())

    async def close() -> bool:
        held = not ws.closed and not reader.done()
        reader.cancel()
        with contextlib.suppress(Exception):
            await ws.close()
        return held

    return close


async def _clients(
    kind: str, urls: list[str], token: str, rooms: list[tuple[str, str]], first: int, count: int,
    ramp_per_s: float, measure_from: float, measure_to: float,
) -> dict[str, Any]:  # fmt: skip
    import aiohttp

    measure = Measure(measure_from, measure_to)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(i: int) -> Callable[[], Awaitable[bool]] | None:
            room = rooms[i % len(rooms)]
            url = urls[i % len(urls)]  # the instances share the clients, as behind a balancer
            if kind == "raw":
                close = await _raw_client(url, token, room, measure, session)
            else:
                close = await _socketio_client(url, token, room, measure)
            measure.stats["connected" if close is not None else "failed"] += 1
            return close

        tasks = []
        for n in range(count):
            tasks.append(asyncio.create_task(one(first + n)))
            await asyncio.sleep(1.0 / ramp_per_s)
        closers = await asyncio.gather(*tasks)
        await asyncio.sleep(max(0.0, measure_to - time.time()) + 1.0)
        held = sum([await close() for close in closers if close is not None])
    return {**measure.stats, "held": held, "delays": measure.delays}


def _client_proc(args: tuple[Any, ...], out: Any) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # a socket per client
    out.send(asyncio.run(_clients(*args)))


def _publisher(
    redis_url: str, rooms: list[tuple[str, str]], templates: dict[tuple[str, str], dict[str, Any]],
    stop: threading.Event,
) -> None:  # fmt: skip
    """One chain per room per second, spread over the second, stamped when published."""
    client = make_redis(redis_url)
    seq = 1
    interval = 1.0 / len(rooms)
    next_at = time.monotonic()
    while not stop.is_set():
        seq += 1
        for room in rooms:
            stamp = now_ts()
            payload = {**templates[room], "timestamp": stamp, "processed_at": stamp, "seq": seq}
            client.publish(Channel.ENRICHED_OPTION_CHAIN.value, orjson.dumps(payload))
            next_at += interval
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if stop.is_set():
                break
    client.close()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(stack: Stack, token: str, rooms: list[tuple[str, str]], templates: dict[Any, Any],
        clients: int, args: argparse.Namespace) -> dict[str, Any]:  # fmt: skip
    stop = threading.Event()
    publisher = threading.Thread(
        target=_publisher, args=(stack.redis_url, rooms, templates, stop), daemon=True
    )
    if args.source == "synthetic":  # else the feed and the pipeline produce the chains
        publisher.start()
    ramp_s = clients / args.ramp
    measure_from = time.time() + ramp_s + 5.0  # every client in and settled
    measure_to = measure_from + args.seconds
    per = [
        clients // args.procs + (1 if i < clients % args.procs else 0) for i in range(args.procs)
    ]
    pipes, procs, first = [], [], 0
    for count in per:
        recv, send = mp.Pipe(duplex=False)
        proc = mp.Process(target=_client_proc, args=((
            args.client, stack.socket_urls, token, rooms, first, count, args.ramp / args.procs,
            measure_from, measure_to), send))  # fmt: skip
        proc.start()
        pipes.append(recv)
        procs.append(proc)
        first += count
    print(f"{clients} clients: ramping {ramp_s:.0f} s, measuring {args.seconds} s", file=sys.stderr)
    time.sleep(max(0.0, measure_from - time.time()))
    before, metrics_before = stack.gateway_cpu_s(), stack.metrics()
    time.sleep(max(0.0, measure_to - time.time()))
    after, metrics_after = stack.gateway_cpu_s(), stack.metrics()
    results = [p.recv() for p in pipes]
    for proc in procs:
        proc.join(60)
    stop.set()
    if publisher.is_alive():
        publisher.join(5)
    delays = np.array([d for r in results for d in r["delays"]] or [float("nan")])
    total = {k: sum(r[k] for r in results) for k in ("connected", "failed", "subscribed",
                                                   "received", "modes", "held")}  # fmt: skip

    def delta(name: str) -> float:
        return metrics_after.get(name, 0.0) - metrics_before.get(name, 0.0)

    return {
        "client": args.client,
        "instances": args.instances,
        "clients": clients,
        "rooms": len(rooms),
        "held": total["held"],
        "connect_failures": total["failed"],
        "subscribed": total["subscribed"],
        "updates_per_s": round(total["received"] / args.seconds, 1),
        "source": args.source,
        "updates_per_s_expected": round(clients * 1.0, 1) if args.source == "synthetic" else None,
        "delay_p50_ms": round(float(np.nanpercentile(delays, 50)), 1),
        "delay_p99_ms": round(float(np.nanpercentile(delays, 99)), 1),
        "delay_max_ms": round(float(np.nanmax(delays)), 1),
        "mode_events": total["modes"],
        "degraded_at_end": metrics_after.get("optionsflow_socket_degraded", 0.0),
        "superseded": delta("optionsflow_socket_superseded_total"),
        "gateway_cpu": round((after - before) / args.seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--products", type=int, default=8)
    parser.add_argument("--expiries", type=int, default=4)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--instances", type=int, default=1, help="socket_gateway processes")
    parser.add_argument("--ramp", type=float, default=250.0, help="connections per second")
    parser.add_argument(
        "--source", choices=("synthetic", "feed"), default="synthetic",
        help="chains from a publisher stamped when sent, or from the feed through the pipeline",
    )  # fmt: skip
    parser.add_argument(
        "--client", choices=("socketio", "raw"), default="socketio",
        help="python-socketio's AsyncClient, or the protocol spoken directly (lighter)",
    )  # fmt: skip
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-socket-bench-"))
    try:
        with Stack(workdir, args.instances) as stack:
            creds = {"username": "sockbench", "password": "bench-password-1"}
            post_json(stack.auth_url + "/auth/register", creds)
            token = post_json(stack.auth_url + "/auth/login", creds)["access_token"]
            expiries = [
                time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86_400 * (i + 1)))
                for i in range(args.expiries)
            ]
            rooms = [(p, e) for p in PRODUCTS[: args.products] for e in expiries]
            client = make_redis(stack.redis_url)
            templates: dict[tuple[str, str], dict[str, Any]] = {}
            if args.source == "feed":
                stack.pipeline()
                rooms = stack.live_rooms()
                print(f"{len(rooms)} live rooms from the feed", file=sys.stderr)
            for product, expiry in rooms if args.source == "synthetic" else ():
                raw = enriched_chain_bytes(expiry, product)
                templates[(product, expiry)] = orjson.loads(raw)
                tick = b'{"product": "%s"}' % product.encode()
                for entry, payload in ((latest.chain(product, expiry), raw),
                                       (latest.underlying(product), tick)):  # fmt: skip
                    put_latest(client, entry, payload, timestamp=now_ts(), seq=1, ttl_s=86_400)
            client.close()
            for count in args.clients:
                print(json.dumps(run(stack, token, rooms, templates, count, args)), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
