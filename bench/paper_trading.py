"""Benchmark of paper order placement through the gateway, with the feed running.

Run: ``.venv/bin/python bench/paper_trading.py --rate 500 --seconds 20 --users 50`` (not
``paper.py``: a script runs with ``bench/`` first on the module path, where that name would
hide the ``paper`` package).

Starts a private redis-server, auth_service, paper_service and api_gateway under gunicorn
(the ``make up`` configuration), and the synthetic feed, the subscriber and a Celery
worker (2 processes), so orders fill against live enriched chains while the workers fill
resting limit orders on each new chain. Registers ``--users`` users, then sends
``POST /api/paper/orders`` open-loop at ``--rate`` for ``--seconds`` (the latency of
request *i* is measured from its due time ``t0 + i/rate``: no coordinated omission), round
robin over the users: 70 % market orders (buy or sell one lot of a near-the-money call or
put of NIFTY's nearest expiry), 30 % limit orders away from the market (they rest), and 5 %
of all requests re-send an earlier request's ``client_order_id`` (a client's retry).

Afterwards it checks, from the store: one order per distinct ``client_order_id`` and
never two fills of a market order (no duplicate); per user and currency
``cash + Σ position cost = start cash + realised P&L − fees`` (nothing created or lost).
Prints one JSON object; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from rest import _Connection
from support import cpu_seconds, post_json, start_service, stop_processes

from common.embedded_redis import EmbeddedRedis, free_port
from common.latest import LatestReader
from common.products import serving_registry
from common.redis_client import make_redis
from common.settings import load_settings
from paper.documents import TradeKind
from store.paper import account_rules, open_paper_store

PY = sys.executable
SERVICES = ("auth_service", "paper_service", "api_gateway")
PIPELINE = ("worker", "subscriber", "feed")


class Stack:
    """Redis, the three services and the pipeline, stopped on exit."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.redis = EmbeddedRedis()
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports = {name: free_port() for name in SERVICES}
        self.url = f"http://127.0.0.1:{self.ports['api_gateway']}"
        self.store_url = f"sqlite:///{workdir / 'bench.db'}"
        self.redis_url = ""

    def __enter__(self) -> Stack:
        self.redis_url = self.redis.start()
        base = {
            **os.environ, "REDIS_URL": self.redis_url, "VAR_DIR": str(self.workdir),
            "STORE_URL": self.store_url, "LOG_LEVEL": "WARNING",
            "AUTH_SERVICE_URL": f"http://127.0.0.1:{self.ports['auth_service']}",
            "PAPER_SERVICE_URL": f"http://127.0.0.1:{self.ports['paper_service']}",
            "RATE_LIMIT_IP": "1000000/second", "RATE_LIMIT_USER": "1000/second",
            "LOGIN_LIMIT_IP": "10000/minute",
        }  # fmt: skip
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        for name in SERVICES:
            self.procs.append(start_service(name, self.ports[name], base, self.workdir))
        for name, argv in (
            ("worker", [PY, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
                        "--queues", "enrich", "--concurrency", "2", "--loglevel", "WARNING",
                        "--without-gossip", "--without-mingle", "--without-heartbeat"]),
            ("subscriber", [PY, "-m", "worker_enricher.subscriber"]),
            ("feed", [PY, "-m", "feed_generator", "--progress-interval", "0"]),
        ):  # fmt: skip
            with open(self.workdir / f"{name}.log", "wb") as out:
                self.procs.append(subprocess.Popen(argv, env=base, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
        return self

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each service and pipeline process (with its children)."""
        names = SERVICES + PIPELINE
        return {name: cpu_seconds(proc.pid) for name, proc in zip(names, self.procs, strict=True)}

    def nifty_chain(self, timeout: float = 90.0) -> dict[str, Any]:
        """NIFTY's nearest live enriched chain, once the pipeline has produced it."""
        client = make_redis(self.redis_url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                reader = LatestReader(client)
                expiries = reader.expiries("NIFTY")
                if expiries:
                    raw = reader.chain("NIFTY", expiries[0])
                    if raw is not None:
                        return dict(orjson.loads(raw))
                time.sleep(1.0)
        finally:
            client.close()
        raise SystemExit(f"no NIFTY chain in {timeout} s; see {self.workdir}")

    def __exit__(self, *exc: object) -> None:
        stop_processes(self.procs)
        self.redis.stop()


def _bodies(chain: dict[str, Any], count: int, lot: float, seed: int) -> list[dict[str, Any]]:
    """``count`` order bodies on ``chain``'s near-the-money strikes; 5 % repeat an earlier
    body exactly (a client retrying)."""
    rng = random.Random(seed)
    strikes = chain["strikes"]
    atm = min(range(len(strikes)), key=lambda i: abs(strikes[i] - chain["spot_price"]))
    near = strikes[max(0, atm - 3) : atm + 4]
    bodies: list[dict[str, Any]] = []
    for n in range(count):
        if bodies and rng.random() < 0.05:
            bodies.append(rng.choice(bodies))
            continue
        strike = rng.choice(near)
        side = rng.choice(("BUY", "SELL"))
        body = {"client_order_id": f"b{seed}-{n}", "product": "NIFTY",
                "expiry": chain["expiry"], "strike": strike,
                "option_type": rng.choice(("CALL", "PUT")), "side": side, "quantity": lot,
                "type": "MARKET"}  # fmt: skip
        if rng.random() < 0.3:
            row = chain["calls" if body["option_type"] == "CALL" else "puts"][strikes.index(strike)]
            price = (row.get("bid") or 1.0) * 0.5 if side == "BUY" else (row.get("ask") or 1.0) * 2
            body |= {"type": "LIMIT", "limit_price": round(max(price, 0.05), 2)}
        bodies.append(body)
    return bodies


def _request(port: int, token: str, body: dict[str, Any]) -> bytes:
    data = orjson.dumps(body)
    head = (f"POST /api/paper/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n")  # fmt: skip
    return head.encode() + data


def _sender(port: int, due: queue.Queue[tuple[float, bytes] | None],
            results: list[tuple[float, int]], lock: threading.Lock) -> None:  # fmt: skip
    conn = _Connection("127.0.0.1", port)
    mine: list[tuple[float, int]] = []
    while (item := due.get()) is not None:
        at, request = item
        try:
            status = conn.get(request)
        except OSError:
            conn.close()
            conn = _Connection("127.0.0.1", port)
            status = 0
        mine.append((time.perf_counter() - at, status))
    conn.close()
    with lock:
        results.extend(mine)


def run(stack: Stack, tokens: list[str], bodies: list[list[dict[str, Any]]], rate: int,
        connections: int) -> dict[str, Any]:  # fmt: skip
    port = stack.ports["api_gateway"]
    due: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    threads = [threading.Thread(target=_sender, args=(port, due, results, lock))
               for _ in range(connections)]  # fmt: skip
    for t in threads:
        t.start()
    total = sum(len(b) for b in bodies)
    order = [(u, i) for i in range(max(len(b) for b in bodies)) for u in range(len(tokens))
             if i < len(bodies[u])]  # fmt: skip
    cpu_before, own_before = stack.cpu(), time.process_time()
    t0 = time.perf_counter() + 0.1
    for n, (user, i) in enumerate(order):
        at = t0 + n / rate
        if (delay := at - time.perf_counter()) > 0:
            time.sleep(delay)
        due.put((at, _request(port, tokens[user], bodies[user][i])))
    for _ in threads:
        due.put(None)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = {name: seconds - cpu_before[name] for name, seconds in stack.cpu().items()}
    cpu["load generator"] = time.process_time() - own_before
    lat = np.array([r[0] for r in results]) * 1000
    codes = Counter(str(status) for _, status in results)
    return {
        "rate_offered": rate, "requests": total, "rate_achieved": round(total / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 2),
        "errors": sum(n for code, n in codes.items() if code not in ("200", "201")),
        "status_codes": dict(codes),
        # CPU of each process over the run, per request (the pipeline's is not caused by
        # the requests: it is what the feed costs beside them) and in cores.
        "cpu_ms_per_request": {name: round(1000 * s / total, 2) for name, s in cpu.items()},
        "cpu_cores": {name: round(s / elapsed, 2) for name, s in cpu.items()},
    }  # fmt: skip


def invariants(
    stack: Stack, owners: list[str], bodies: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    """Duplicates and conservation of money, read from the store."""
    settings = load_settings()
    store = open_paper_store(stack.store_url, account_rules(settings.paper))
    duplicates, unbalanced, orders_seen, fills = 0, [], 0, 0
    try:
        for owner, mine in zip(owners, bodies, strict=True):
            orders = store.orders(owner, limit=500)
            orders_seen += len(orders)
            if len(orders) != len({b["client_order_id"] for b in mine}):
                duplicates += 1
            trades = store.trades(owner, limit=500)
            fills += sum(t.kind is TradeKind.FILL for t in trades)
            per_order = Counter(t.order_id for t in trades if t.kind is TradeKind.FILL)
            market = {o.id for o in orders if o.type.value == "MARKET"}
            duplicates += sum(1 for oid, n in per_order.items() if oid in market and n > 1)
            cost: dict[str, Decimal] = {}
            for p in store.positions(owner, include_closed=True):
                cost[p.currency] = cost.get(p.currency, Decimal(0)) + p.cost
            for wallet in store.wallets(owner):
                left = wallet.cash + cost.get(wallet.currency, Decimal(0))
                right = wallet.start_cash + wallet.realized_pnl - wallet.fees
                if left != right:
                    unbalanced.append({"owner": owner, "currency": wallet.currency,
                                       "difference": str(left - right)})  # fmt: skip
    finally:
        store.close()
    return {"orders": orders_seen, "fills": fills, "duplicates": duplicates,
            "unbalanced": unbalanced}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-paper-bench-"))
    try:
        with Stack(workdir) as stack:
            chain = stack.nifty_chain()
            lot = serving_registry(load_settings()).get("NIFTY").contract_size
            tokens, owners = [], []
            for i in range(args.users):
                creds = {"username": f"paper{i}", "password": "bench-password-1"}
                post_json(stack.url + "/api/auth/register", creds)
                login = post_json(stack.url + "/api/auth/login", creds)
                tokens.append(login["access_token"])
                payload = login["access_token"].split(".")[1]
                owners.append(json.loads(_b64(payload))["sub"])
            per_user = int(args.rate * args.seconds) // args.users
            bodies = [_bodies(chain, per_user, lot, seed=u) for u in range(args.users)]
            print(f"{args.users} users, {per_user} orders each at {args.rate}/s", file=sys.stderr)
            result = run(stack, tokens, bodies, args.rate, args.connections)
            time.sleep(2.0)  # the workers' last resting fills
            result["invariants"] = invariants(stack, owners, bodies)
            print(json.dumps(result), flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _b64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


if __name__ == "__main__":
    main()
