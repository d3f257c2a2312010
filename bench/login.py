"""Benchmark of logins: Argon2id CPU per verification, and login bursts through the gateway
with their effect on another user's ``GET /api/data/chain``.

Run: ``.venv/bin/python bench/login.py`` (``--help`` for the knobs). Prints JSON lines on
stdout (one per measurement), progress on stderr.

1. CPU per verification, in this process: argon2-cffi's defaults (64 MiB, t=3, p=4; what
   auth_service used before issue 16) and this tree's ``auth_service.passwords``
   parameters. CPU is the process's (Argon2's lanes run on threads of their own).
2. Bursts: a private redis-server, auth_service and storage_service (gunicorn, 2
   processes of 8 threads) and the gateway (one process per core and one more, 32
   threads), as ``make up`` runs them, with every limit at its default. Users are
   written straight into the store with one hash made by this tree's code (what its
   accounts would hold). A bystander sends ``GET /api/data/chain/NIFTY`` open-loop at
   ``--bystander-rate`` the whole time (latency from each request's due time, so a
   stall is not hidden by a lower rate). Each round: ``--idle-s`` of the bystander
   alone, then each burst of ``--bursts``: that many logins released at once by a
   barrier, each from its own connection, the first 30 from one client address, the
   next 30 from a second, and so on (127.x.y.z source addresses: the gateway sees
   distinct clients, whose per-IP limits apply as to real ones), then a wait until
   auth_service's CPU is quiet and ``--window-s`` from the burst's start; then a
   control burst of as many ``GET /api/auth/jwks.json`` (the same path through the
   gateway to auth_service, no password). Every round uses new addresses and users, so
   no round meets an earlier one's rate limits. Reported per burst size, over the
   rounds: the status counts (200/429/503/504), the requests' latency, auth_service's
   and the gateway's CPU, and the bystander's percentiles while the bursts were in
   flight and over ``--window-s`` from their start, next to idle.

To compare two commits, copy this file into a worktree of each and run it there in
turn (the services come from the tree the command runs in).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from support import cpu_seconds, enriched_chain_bytes, post_json, start_service, stop_processes

from auth_service.passwords import hash_password, verify_password
from common import latest
from common.embedded_redis import EmbeddedRedis, free_port
from common.redis_client import make_redis
from common.timestamps import now_ts
from store import open_store
from worker_enricher.cache import put_latest

SERVICES = ("auth_service", "storage_service", "api_gateway")
PASSWORD = "bench-password-1"
PER_ADDRESS = 30
"""Logins of a burst sent from one client address (auth_service's per-IP limit is 30/minute)."""
BYSTANDER_USERS = 8
"""The bystander's requests go round these users' tokens (the gateway allows 50/s per user)."""


def log(text: str) -> None:
    print(f"[login bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# -- CPU per verification ----------------------------------------------------------------------


def verification_cpu(count: int) -> list[dict[str, Any]]:
    """CPU and wall milliseconds per verification, old parameters and this tree's."""
    old = PasswordHasher()

    def old_verify(encoded: str, password: str) -> bool:
        return bool(old.verify(encoded, password))

    rows = []
    for name, make, verify in (
        ("argon2-cffi defaults (64 MiB, t=3, p=4)", old.hash, old_verify),
        ("this tree's auth_service.passwords", hash_password, verify_password),
    ):
        encoded = make(PASSWORD)
        verify(encoded, PASSWORD)  # warm
        cpu, wall = [], []
        for _ in range(count):
            c0, w0 = time.process_time(), time.perf_counter()
            assert verify(encoded, PASSWORD)
            cpu.append(time.process_time() - c0)
            wall.append(time.perf_counter() - w0)
        rows.append(
            {
                "measure": "verification",
                "parameters": name,
                "hash_prefix": encoded.rsplit("$", 2)[0],
                "verifications": count,
                "cpu_ms_median": round(float(np.median(cpu)) * 1000, 1),
                "cpu_ms_mean": round(float(np.mean(cpu)) * 1000, 1),
                "wall_ms_median": round(float(np.median(wall)) * 1000, 1),
            }
        )
        log(f"{name}: {rows[-1]['cpu_ms_median']} ms CPU per verification (median)")
    return rows


# -- the services --------------------------------------------------------------------------------


class Stack:
    """Redis, auth_service, storage_service and the gateway as ``make up`` runs them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis = EmbeddedRedis()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.ports = {name: free_port() for name in SERVICES}
        self.url = f"http://127.0.0.1:{self.ports['api_gateway']}"
        self.store_url = f"sqlite:///{workdir / 'bench.db'}"

    def __enter__(self) -> Stack:
        self.redis_url = self.redis.start()
        base = {
            **os.environ, "REDIS_URL": self.redis_url, "VAR_DIR": str(self.workdir),
            "STORE_URL": self.store_url, "LOG_LEVEL": "WARNING",
            # the gateway's credential: auth_service honours its X-Forwarded-For (a tree
            # without the trust boundary ignores the variable)
            "SERVICE_TOKEN": secrets.token_urlsafe(32),
            "AUTH_SERVICE_URL": f"http://127.0.0.1:{self.ports['auth_service']}",
            "STORAGE_SERVICE_URL": f"http://127.0.0.1:{self.ports['storage_service']}",
        }  # fmt: skip
        for name in SERVICES:
            self.procs[name] = start_service(name, self.ports[name], base, self.workdir)
        return self

    def __exit__(self, *exc: object) -> None:
        stop_processes(list(self.procs.values()))
        self.redis.stop()

    def auth_cpu_s(self) -> float:
        return cpu_seconds(self.procs["auth_service"].pid)

    def gateway_cpu_s(self) -> float:
        return cpu_seconds(self.procs["api_gateway"].pid)

    def wait_auth_quiet(self, busy_share: float = 0.05, timeout_s: float = 120.0) -> None:
        """Until auth_service uses under ``busy_share`` of a core for half a second (the
        requests a gateway gave up on are still being verified after its 504)."""
        deadline = time.monotonic() + timeout_s
        before = self.auth_cpu_s()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.auth_cpu_s()
            if now - before < busy_share * 0.5:
                return
            before = now
        log("auth_service still busy after the wait; measuring anyway")


# -- the bystander -------------------------------------------------------------------------------


class _KeepAlive:
    """A keep-alive HTTP/1.1 GET client on a raw socket: little CPU next to http.client's,
    on the two cores the services being measured use."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self, request: bytes) -> int:
        self.sock.sendall(request)
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            rest += self._recv()
        self.buffer = rest[length:]
        return int(head[9:12])

    def _recv(self) -> bytes:
        chunk = self.sock.recv(262_144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


@dataclass
class Bystander:
    """Another user reading the newest chain at a fixed rate, open-loop, on its own threads."""

    port: int
    path: str
    tokens: list[str]
    """Round-robin per request: each user stays far below the gateway's per-user limit."""
    rate: float
    connections: int = 4
    samples: list[tuple[float, float, int]] = field(default_factory=list)
    """(due time, latency s, status) of every request."""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._due: list[tuple[float, int]] = []
        self._ready = threading.Condition()
        self._threads = [
            threading.Thread(target=self._send, daemon=True) for _ in range(self.connections)
        ]
        self._clock = threading.Thread(target=self._schedule, daemon=True)

    def start(self) -> None:
        for t in self._threads:
            t.start()
        self._clock.start()

    def stop(self) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        self._clock.join()
        for t in self._threads:
            t.join(35)

    def _schedule(self) -> None:
        t0, i = time.perf_counter(), 0
        while not self._stop.is_set():
            at = t0 + i / self.rate
            i += 1
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            with self._ready:
                self._due.append((at, i))
                self._ready.notify()

    def _send(self) -> None:
        requests = [
            (
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Authorization: Bearer {token}\r\n\r\n"
            ).encode()
            for token in self.tokens
        ]
        conn = _KeepAlive(self.port)
        while True:
            with self._ready:
                while not self._due and not self._stop.is_set():
                    self._ready.wait()
                if self._stop.is_set():
                    break
                at, i = self._due.pop(0)
            try:
                status = conn.get(requests[i % len(requests)])
            except OSError:
                conn.close()
                conn = _KeepAlive(self.port)
                status = 0
            with self._lock:
                self.samples.append((at, time.perf_counter() - at, status))
        conn.close()


def _run_bystander(
    port: int, path: str, tokens: list[str], rate: float, stop: Any, out: Any
) -> None:
    bystander = Bystander(port, path, tokens, rate)
    bystander.start()
    stop.wait()
    bystander.stop()
    out.send(bystander.samples)


class BystanderProcess:
    """The :class:`Bystander` in a process of its own: the burst's client threads must not
    hold its GIL, or their work would be counted as the gateway's latency. Both processes
    read the same monotonic clock (``perf_counter``), so its samples line up with the bursts."""

    def __init__(self, port: int, path: str, tokens: list[str], rate: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._samples, sender = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_run_bystander, args=(port, path, tokens, rate, self._stop, sender), daemon=True
        )
        self.samples: list[tuple[float, float, int]] = []

    def start(self) -> None:
        self._proc.start()

    def stop(self) -> None:
        self._stop.set()
        self.samples = self._samples.recv()
        self._proc.join(10)

    def between(self, start: float, end: float) -> list[tuple[float, float, int]]:
        """The samples due in [start, end] (after :meth:`stop`)."""
        return [s for s in self.samples if start <= s[0] <= end]


def percentiles(samples: list[tuple[float, float, int]]) -> dict[str, Any]:
    if not samples:
        return {"requests": 0}
    lat = np.array([s[1] for s in samples]) * 1000
    return {
        "requests": len(samples),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 2),
        "not_200": sum(1 for s in samples if s[2] != 200),
    }


# -- the bursts ----------------------------------------------------------------------------------


@dataclass
class BurstResult:
    size: int
    statuses: Counter[int]
    latencies_s: list[float]
    started: float
    ended: float
    auth_cpu_s: float
    gateway_cpu_s: float
    retry_after: Counter[str]


def login_burst(
    stack: Stack, names: list[str], addresses: list[str], *, control: bool = False
) -> BurstResult:
    """``names`` log in at once, the i-th from ``addresses[i // PER_ADDRESS]``.

    ``control``: as many ``GET /api/auth/jwks.json`` instead (through the gateway to
    auth_service, no password): what the same number of simultaneous requests costs the
    bystander when none of them hashes.
    """
    port = stack.ports["api_gateway"]
    barrier = threading.Barrier(len(names) + 1)
    answers: list[tuple[int, float, str]] = []
    lock = threading.Lock()

    def one(i: int, name: str) -> None:
        body = json.dumps({"username": name, "password": PASSWORD})
        conn = http.client.HTTPConnection(
            "127.0.0.1", port, timeout=60, source_address=(addresses[i // PER_ADDRESS], 0)
        )
        conn.connect()
        barrier.wait()
        t0 = time.perf_counter()
        try:
            if control:
                conn.request("GET", "/api/auth/jwks.json")
            else:
                headers = {"Content-Type": "application/json"}
                conn.request("POST", "/api/auth/login", body, headers)
            resp = conn.getresponse()
            resp.read()
            status, retry = resp.status, resp.getheader("Retry-After") or "-"
        except OSError:
            status, retry = 0, "-"
        finally:
            conn.close()
        with lock:
            answers.append((status, time.perf_counter() - t0, retry))

    threads = [threading.Thread(target=one, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    cpu0, gateway0 = stack.auth_cpu_s(), stack.gateway_cpu_s()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join(90)
    ended = time.perf_counter()
    stack.wait_auth_quiet()
    return BurstResult(
        size=len(names),
        statuses=Counter(a[0] for a in answers),
        latencies_s=[a[1] for a in answers],
        started=started,
        ended=ended,
        auth_cpu_s=stack.auth_cpu_s() - cpu0,
        gateway_cpu_s=stack.gateway_cpu_s() - gateway0,
        retry_after=Counter(a[2] for a in answers if a[0] != 200),
    )


def seed_users(store_url: str, names: list[str]) -> None:
    """Every name with one hash of this tree's code (each login still verifies in full)."""
    encoded = hash_password(PASSWORD)
    store = open_store(store_url)
    try:
        for name in names:
            store.create_user(name, encoded, "user")
    finally:
        store.close()


def summarise(
    size: int,
    results: list[BurstResult],
    bystander: BystanderProcess,
    window_s: float,
    measure: str = "burst",
) -> dict[str, Any]:
    """Over the rounds: the answers, the CPU, and the bystander's requests due while the
    bursts were in flight (``during``) and in the ``window_s`` from each burst's start."""
    statuses: Counter[int] = Counter()
    retry: Counter[str] = Counter()
    for r in results:
        statuses.update(r.statuses)
        retry.update(r.retry_after)
    lat = np.array([x for r in results for x in r.latencies_s]) * 1000
    during = [s for r in results for s in bystander.between(r.started, r.ended)]
    window = [s for r in results for s in bystander.between(r.started, r.started + window_s)]
    ok = statuses.get(200, 0)
    cpu = sum(r.auth_cpu_s for r in results)
    return {
        "measure": measure,
        "logins_per_burst": size,
        "client_addresses": -(-size // PER_ADDRESS),
        "bursts": len(results),
        "status_counts": {str(k): v for k, v in sorted(statuses.items())},
        "retry_after_on_refusals": dict(retry),
        "login_p50_ms": round(float(np.percentile(lat, 50)), 1),
        "login_max_ms": round(float(lat.max()), 1),
        "burst_s_mean": round(float(np.mean([r.ended - r.started for r in results])), 2),
        "auth_cpu_s_per_burst": round(cpu / len(results), 2),
        "auth_cpu_ms_per_200": round(cpu / ok * 1000, 1) if ok else None,
        "gateway_cpu_s_per_burst": round(sum(r.gateway_cpu_s for r in results) / len(results), 2),
        "bystander_during": percentiles(during),
        f"bystander_first_{window_s:g}_s": percentiles(window),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verifications", type=int, default=30, help="per parameter set")
    parser.add_argument("--bursts", type=int, nargs="*", default=[30, 120])
    parser.add_argument("--rounds", type=int, default=3, help="each burst size this often")
    parser.add_argument("--idle-s", type=float, default=4.0, help="bystander alone per round")
    parser.add_argument("--bystander-rate", type=float, default=100.0, help="requests/s")
    parser.add_argument(
        "--window-s",
        type=float,
        default=5.0,
        help="the bystander is also summarised over this long from each burst's start "
        "(the next burst starts after it, and after auth_service is quiet)",
    )
    parser.add_argument("--cpu-only", action="store_true", help="only part 1")
    parser.add_argument(
        "--no-control",
        dest="control",
        action="store_false",
        help="skip the control bursts (as many JWKS reads as logins, after each login burst)",
    )
    args = parser.parse_args()

    for row in verification_cpu(args.verifications):
        print(json.dumps(row), flush=True)
    if args.cpu_only or not args.bursts:
        return
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-login-bench-"))
    try:
        with Stack(workdir) as stack:
            run_bursts(stack, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.perf_counter()))


def run_bursts(stack: Stack, args: argparse.Namespace) -> None:
    expiry = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    client = make_redis(stack.redis_url)
    put_latest(client, latest.chain("NIFTY", expiry), enriched_chain_bytes(expiry),
               timestamp=now_ts(), seq=1, ttl_s=86_400)  # fmt: skip
    client.close()
    plan = {
        (r, size): [f"r{r}s{size}u{i}" for i in range(size)]
        for r in range(args.rounds)
        for size in args.bursts
    }
    readers = [f"bystander{i}" for i in range(BYSTANDER_USERS)]
    seed_users(stack.store_url, [*readers, *(n for names in plan.values() for n in names)])
    tokens = [
        post_json(stack.url + "/api/auth/login", {"username": name, "password": PASSWORD})[
            "access_token"
        ]
        for name in readers
    ]
    log(f"stack up in {stack.workdir}; {sum(map(len, plan.values()))} users seeded")
    path = f"/api/data/chain/NIFTY?expiry={expiry}"
    bystander = BystanderProcess(stack.ports["api_gateway"], path, tokens, args.bystander_rate)
    bystander.start()
    idle: list[tuple[float, float]] = []
    results: dict[int, list[BurstResult]] = {size: [] for size in args.bursts}
    controls: dict[int, list[BurstResult]] = {size: [] for size in args.bursts}
    try:
        time.sleep(2.0)  # warm-up, not counted
        for r in range(args.rounds):
            t0 = time.perf_counter()
            time.sleep(args.idle_s)
            idle.append((t0, time.perf_counter()))
            for b, size in enumerate(args.bursts):
                addresses = [
                    f"127.{10 + r}.{b + 1}.{k + 1}" for k in range(-(-size // PER_ADDRESS))
                ]
                result = login_burst(stack, plan[(r, size)], addresses)
                _sleep_until(result.started + args.window_s)
                results[size].append(result)
                took = result.ended - result.started
                log(f"round {r + 1}: {size} logins from {len(addresses)} addresses: "
                    f"{dict(result.statuses)} in {took:.2f} s")  # fmt: skip
                if args.control:
                    done = login_burst(stack, plan[(r, size)], addresses, control=True)
                    _sleep_until(done.started + args.window_s)
                    controls[size].append(done)
                    log(f"round {r + 1}: {size} JWKS reads (control): {dict(done.statuses)}")
    finally:
        bystander.stop()
    quiet = [s for start, end in idle for s in bystander.between(start, end)]
    print(json.dumps({"measure": "bystander_idle", **percentiles(quiet)}), flush=True)
    for size in args.bursts:
        print(json.dumps(summarise(size, results[size], bystander, args.window_s)), flush=True)
        if args.control:
            row = summarise(size, controls[size], bystander, args.window_s, "control_burst_jwks")
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
