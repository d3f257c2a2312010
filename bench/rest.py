"""Benchmark of GET latest chain through the gateway: open-loop load at fixed rates.

Run: ``.venv/bin/python bench/rest.py --rates 500 1000 --seconds 20``.

Starts a private redis-server, auth_service, storage_service, analytics_service
and api_gateway under gunicorn (the ``make up`` configuration: 2 processes of 8
threads each, the gateway one process per core plus one, of 32 threads),
registers ``--users`` users and logs them in, puts one enriched chain (21
strikes) in ``latest:chain:*`` as the workers do, then sends
``GET /api/data/chain/NIFTY?expiry=…`` at each rate for ``--seconds``.

The load is open-loop: request *i* is due at ``t0 + i / rate`` whatever happened
to earlier ones, and its latency is measured from that due time, so a stall
shows up in the percentiles instead of silently lowering the rate
(coordinated omission). ``--connections`` keep-alive connections send the
requests, round-robin over the users' tokens; the per-IP limit is raised for
the run (every request comes from 127.0.0.1), the per-user limit stays at its
default. Prints one JSON object per rate; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from support import enriched_chain_bytes, post_json, start_service, stop_processes

from common import latest
from common.embedded_redis import EmbeddedRedis, free_port
from common.redis_client import make_redis
from common.timestamps import now_ts
from worker_enricher.cache import put_latest

SERVICES = ("auth_service", "storage_service", "analytics_service", "api_gateway")


class Stack:
    """Redis and the four services, stopped on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis = EmbeddedRedis()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports = {name: free_port() for name in SERVICES}
        self.url = f"http://127.0.0.1:{self.ports['api_gateway']}"

    def __enter__(self) -> Stack:
        redis_url = self.redis.start()
        base = {
            **os.environ, "REDIS_URL": redis_url, "VAR_DIR": str(self.workdir),
            "STORE_URL": f"sqlite:///{self.workdir / 'bench.db'}", "LOG_LEVEL": "WARNING",
            "AUTH_SERVICE_URL": f"http://127.0.0.1:{self.ports['auth_service']}",
            "STORAGE_SERVICE_URL": f"http://127.0.0.1:{self.ports['storage_service']}",
            "ANALYTICS_SERVICE_URL": f"http://127.0.0.1:{self.ports['analytics_service']}",
            "RATE_LIMIT_IP": "1000000/second", "LOGIN_LIMIT_IP": "10000/minute",
        }  # fmt: skip
        for name in SERVICES:
            self.procs.append(start_service(name, self.ports[name], base, self.workdir))
        self.redis_url = redis_url
        return self

    def __exit__(self, *exc: object) -> None:
        stop_processes(self.procs)
        self.redis.stop()


class _Connection:
    """A keep-alive HTTP/1.1 client on a raw socket: prebuilt requests, Content-Length
    bodies. A fraction of http.client's CPU, which shares the two cores with the
    servers being measured."""

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)
        self.sock = socket.create_connection(self.address, timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self, request: bytes) -> int:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return status

    def _recv(self) -> bytes:
        chunk = self.sock.recv(262_144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def _fill(self) -> None:
        self.buffer += self._recv()

    def close(self) -> None:
        self.sock.close()


def _sender(
    host: str, port: int, path: str, tokens: list[str], due: queue.Queue[float | None],
    results: list[tuple[float, int]], lock: threading.Lock,
) -> None:  # fmt: skip
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {t}\r\n\r\n".encode()
        for t in tokens
    ]
    conn = _Connection(host, port)
    mine: list[tuple[float, int]] = []
    i = 0
    while True:
        at = due.get()
        if at is None:
            break
        request = requests[i % len(requests)]
        i += 1
        try:
            status = conn.get(request)
        except OSError:
            conn.close()
            conn = _Connection(host, port)
            status = 0
        mine.append((time.perf_counter() - at, status))
    conn.close()
    with lock:
        results.extend(mine)


def run_rate(
    stack: Stack, path: str, tokens: list[str], rate: int, seconds: float, connections: int
) -> dict[str, Any]:
    due: queue.Queue[float | None] = queue.Queue()
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    port = stack.ports["api_gateway"]
    threads = [
        threading.Thread(target=_sender, args=("127.0.0.1", port, path, tokens, due, results, lock))
        for _ in range(connections)
    ]
    for t in threads:
        t.start()
    total = int(rate * seconds)
    t0 = time.perf_counter() + 0.1
    for i in range(total):
        at = t0 + i / rate
        delay = at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        due.put(at)
    for _ in threads:
        due.put(None)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    lat = np.array([r[0] for r in results]) * 1000
    errors = sum(1 for r in results if r[1] != 200)
    codes: dict[str, int] = {}
    for _, status in results:
        codes[str(status)] = codes.get(str(status), 0) + 1
    return {
        "rate_offered": rate,
        "requests": len(results),
        "rate_achieved": round(len(results) / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p90_ms": round(float(np.percentile(lat, 90)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 2),
        "errors": errors,
        "status_codes": codes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[500, 1000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds at 200 rps first")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-rest-bench-"))
    try:
        with Stack(workdir) as stack:
            expiry = (dt.date.today() + dt.timedelta(days=7)).isoformat()
            client = make_redis(stack.redis_url)
            put_latest(client, latest.chain("NIFTY", expiry), enriched_chain_bytes(expiry),
                       timestamp=now_ts(), seq=1, ttl_s=86_400)  # fmt: skip
            client.close()
            tokens = []
            for i in range(args.users):
                creds = {"username": f"bench{i}", "password": "bench-password-1"}
                post_json(stack.url + "/api/auth/register", creds)
                tokens.append(post_json(stack.url + "/api/auth/login", creds)["access_token"])
            path = f"/api/data/chain/NIFTY?expiry={expiry}"
            print(f"stack up in {workdir}; warming up", file=sys.stderr)
            run_rate(stack, path, tokens, 200, args.warmup, args.connections)
            for rate in args.rates:
                print(f"{rate} req/s for {args.seconds} s", file=sys.stderr)
                result = run_rate(stack, path, tokens, rate, args.seconds, args.connections)
                print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
