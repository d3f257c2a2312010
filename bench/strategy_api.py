"""Benchmark of ``POST /api/strategies/evaluate`` through the gateway, with the feed running.

Run: ``.venv/bin/python bench/strategy_api.py [--rate 20] [--seconds 30] [--strikes 21]``.

Starts a private redis-server and the pipeline as ``make up`` runs it (the synthetic feed
with ``--strikes`` strikes a chain, the subscriber, a Celery worker of 2 processes), so the
chains an evaluation reads are the live ones, rewritten every second; then auth_service,
paper_service and api_gateway under gunicorn as ``make up`` runs them
(``bench/support.py``: the services 2 processes × 8 threads, the gateway one process per
core plus one × 32 threads). A user signs in and asks the gateway for a NIFTY iron condor
around the live ATM strike of the nearest expiry (4 legs, prices null: every evaluation
prices them at the live mids); it is then POSTed at ``--rate`` requests/s for
``--seconds`` (open loop: request *i* is due at *i*/rate and its latency counts from then)
over ``--connections`` keep-alive connections: alone, with two dated curves, alone straight
to paper_service (what the gateway adds), and for comparison ``GET /api/strategies`` (a
forwarded route with a small answer: what any request costs the two processes). Each case
prints one JSON object: p50/p90/p99/max (ms), errors, the answer's size, the CPU per
request of the gateway and of paper_service (``/proc``, net of what each spends idle), the
cores the pipeline kept busy meanwhile and those the whole machine did (other work on it
shows there). The per-user limit stays at its default
(50/s). Progress goes to stderr; figures go to docs/PERFORMANCE.md ("Strategy").
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from support import TICK_S, cpu_seconds, post_json, start_service, stop_processes

from common.embedded_redis import EmbeddedRedis, free_port
from common.latest import LatestReader
from common.redis_client import make_redis
from common.timestamps import format_ts, parse_ts

PY = sys.executable
SERVICES = ("auth_service", "paper_service", "api_gateway")
CPU_OF = ("api_gateway", "paper_service")
PRODUCT = "NIFTY"


class Stack:
    """Redis, the pipeline and the three services, stopped on exit."""

    def __init__(self, workdir: Path, strikes: int) -> None:
        self.workdir, self.strikes = workdir, strikes
        self.redis = EmbeddedRedis()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports = {name: free_port() for name in SERVICES}
        self.url = f"http://127.0.0.1:{self.ports['api_gateway']}"

    def __enter__(self) -> Stack:
        self.redis_url = self.redis.start()
        base = {
            **os.environ, "REDIS_URL": self.redis_url, "VAR_DIR": str(self.workdir),
            "STORE_URL": f"sqlite:///{self.workdir / 'bench.db'}", "LOG_LEVEL": "WARNING",
            "AUTH_SERVICE_URL": f"http://127.0.0.1:{self.ports['auth_service']}",
            "PAPER_SERVICE_URL": f"http://127.0.0.1:{self.ports['paper_service']}",
            "RATE_LIMIT_IP": "1000000/second", "LOGIN_LIMIT_IP": "10000/minute",
        }  # fmt: skip
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        try:
            self._pipeline(base)
            for name in SERVICES:
                self.procs.append(start_service(name, self.ports[name], base, self.workdir))
        except BaseException:
            self.__exit__()
            raise
        return self

    def _pipeline(self, env: dict[str, str]) -> None:
        """The feed, the subscriber and a Celery worker, as ``make up`` runs them."""
        for name, argv in (
            ("worker", [PY, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
                        "--queues", "enrich", "--concurrency", "2", "--loglevel", "WARNING",
                        "--without-gossip", "--without-mingle", "--without-heartbeat"]),
            ("subscriber", [PY, "-m", "worker_enricher.subscriber"]),
            ("feed", [PY, "-m", "feed_generator", "--progress-interval", "0",
                      "--strikes", str(self.strikes)]),
        ):  # fmt: skip
            with open(self.workdir / f"{name}.log", "wb") as out:
                self.procs.append(subprocess.Popen(argv, env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip

    def __exit__(self, *exc: object) -> None:
        stop_processes(self.procs)
        self.redis.stop()

    def pid(self, service: str) -> int:
        return self.procs[3 + SERVICES.index(service)].pid  # after the three pipeline processes

    def pipeline_cpu(self) -> float:
        """CPU seconds the feed, the subscriber and the worker have spent so far."""
        return sum(cpu_seconds(proc.pid) for proc in self.procs[:3])

    def live_expiries(self, timeout: float = 90.0) -> list[str]:
        """The product's expiries with a live chain, once the pipeline has cached some."""
        client = make_redis(self.redis_url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                found = LatestReader(client).expiries(PRODUCT)
                if found:
                    return found
                time.sleep(0.5)
        finally:
            client.close()
        raise SystemExit(f"no live {PRODUCT} chain in {timeout} s: see {self.workdir}/*.log")


class Target(NamedTuple):
    """Where the requests go: the gateway (a token) or paper_service itself (``X-User-Id``,
    as the gateway sends it: the stack runs without ``SERVICE_TOKEN``)."""

    port: int
    path: str
    headers: dict[str, str]
    method: str = "POST"


def _sender(
    target: Target, body: bytes, due: queue.Queue[float | None],
    results: list[tuple[float, int, int]], lock: threading.Lock,
) -> None:  # fmt: skip
    port, headers = target.port, {**target.headers, "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    mine: list[tuple[float, int, int]] = []
    while (at := due.get()) is not None:
        try:
            conn.request(target.method, target.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            size = len(resp.read())
            status = resp.status
        except OSError:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            status, size = 0, 0
        mine.append((time.perf_counter() - at, status, size))
    conn.close()
    with lock:
        results.extend(mine)


def busy_seconds() -> float:
    """CPU seconds every core of the machine has spent busy since boot (``/proc/stat``):
    what else ran during a case shows against the stack's own."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) * TICK_S


def idle_cpu(stack: Stack, seconds: float = 5.0) -> dict[str, float]:
    """CPU seconds per second the gateway and paper_service spend with no request."""
    before = {name: cpu_seconds(stack.pid(name)) for name in CPU_OF}
    time.sleep(seconds)
    return {name: (cpu_seconds(stack.pid(name)) - s) / seconds for name, s in before.items()}


def run(stack: Stack, target: Target, body: bytes, rate: float, seconds: float,
        connections: int, idle: dict[str, float]) -> dict[str, Any]:  # fmt: skip
    """``body`` POSTed to ``target`` at ``rate`` per second for ``seconds``, open loop; the
    CPU per request of each process net of its ``idle`` rate."""
    due: queue.Queue[float | None] = queue.Queue()
    results: list[tuple[float, int, int]] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_sender, args=(target, body, due, results, lock))
               for _ in range(connections)]  # fmt: skip
    for thread in threads:
        thread.start()
    cpu = {name: cpu_seconds(stack.pid(name)) for name in CPU_OF}
    pipeline, machine = stack.pipeline_cpu(), busy_seconds()
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
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - t0
    pipeline = (stack.pipeline_cpu() - pipeline) / elapsed
    machine = (busy_seconds() - machine) / elapsed
    spent = {name: cpu_seconds(stack.pid(name)) - before - idle[name] * elapsed
             for name, before in cpu.items()}  # fmt: skip
    ms = np.array([r[0] for r in results]) * 1000
    codes: dict[str, int] = {}
    for _, status, _ in results:
        codes[str(status)] = codes.get(str(status), 0) + 1
    return {
        "requests": len(results), "rate": rate,
        **{f"p{q}_ms": round(float(np.percentile(ms, q)), 2) for q in (50, 90, 99)},
        "max_ms": round(float(ms.max()), 2),
        "errors": sum(1 for r in results if r[1] != 200), "status_codes": codes,
        "answer_bytes": int(np.median([r[2] for r in results])),
        "cpu_ms_per_request": {
            name: round(s / len(results) * 1000, 2) for name, s in spent.items()
        },
        "pipeline_cores_busy": round(pipeline, 2),
        "machine_cores_busy": round(machine, 2),
    }  # fmt: skip


def _condor(stack: Stack, token: str) -> dict[str, Any]:
    """The gateway's iron condor template on the nearest live expiry (prices null)."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["api_gateway"], timeout=10)
    conn.request("GET", f"/api/strategies/templates/{PRODUCT}?name=iron_condor&width=2",
                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    conn.close()
    if resp.status != 200:
        raise SystemExit(f"template answered {resp.status}: {answer}")
    return dict(answer)


def _dates(stack: Stack, token: str, condor: dict[str, Any]) -> list[str]:
    """Two instants a third and two thirds of the way from now to the condor's expiry."""
    conn = http.client.HTTPConnection("127.0.0.1", stack.ports["api_gateway"], timeout=10)
    conn.request("POST", "/api/strategies/evaluate", body=json.dumps(condor),
                 headers={"Authorization": f"Bearer {token}",
                          "Content-Type": "application/json"})  # fmt: skip
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    conn.close()
    if resp.status != 200:
        raise SystemExit(f"evaluate answered {resp.status}: {answer}")
    now = dt.datetime.now(dt.UTC)
    left = parse_ts(answer["expires_at"]) - now
    return [format_ts(now + left * k / 3) for k in (1, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--strikes", type=int, default=21, help="strikes per chain of the feed")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-strategy-api-"))
    try:
        with Stack(workdir, args.strikes) as stack:
            expiries = stack.live_expiries()
            creds = {"username": "strategist", "password": "bench-password-1"}
            post_json(stack.url + "/api/auth/register", creds)
            token = post_json(stack.url + "/api/auth/login", creds)["access_token"]
            condor = _condor(stack, token)
            expiry = condor["legs"][0]["expiry"]
            print(f"live {PRODUCT} expiries {expiries}; condor on {expiry}", file=sys.stderr)
            dates = _dates(stack, token, condor)
            gateway = Target(stack.ports["api_gateway"], "/api/strategies/evaluate",
                             {"Authorization": f"Bearer {token}"})  # fmt: skip
            direct = Target(stack.ports["paper_service"], "/strategies/evaluate",
                            {"X-User-Id": "bench"})  # fmt: skip
            warm = json.dumps(condor).encode()
            run(stack, gateway, warm, args.rate, 3.0, args.connections, dict.fromkeys(CPU_OF, 0.0))
            idle = idle_cpu(stack)
            print(f"idle CPU s/s {idle}", file=sys.stderr)
            listing = gateway._replace(path="/api/strategies", method="GET")
            cases = (("iron_condor", gateway, condor),
                     ("iron_condor_2_dates", gateway, {**condor, "dates": dates}),
                     ("iron_condor_direct", direct, condor),
                     ("saved_list", listing, None))  # fmt: skip
            for case, target, body in cases:
                print(f"{case}: {args.rate}/s for {args.seconds} s", file=sys.stderr)
                raw = b"" if body is None else json.dumps(body).encode()
                result = run(stack, target, raw, args.rate, args.seconds, args.connections,
                             idle)  # fmt: skip
                print(json.dumps({"case": case, "strikes": args.strikes, "expiry": expiry,
                                  **result}), flush=True)  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
