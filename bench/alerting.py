"""Benchmark of alerts: evaluation cost per enriched chain, and origin → ``alert`` event.

Run: ``.venv/bin/python bench/alerting.py --rules 10000 --seconds 60`` (not ``alerts.py``: a
script runs with ``bench/`` first on the module path, where that name would hide the
``alerts`` package).

Two parts, each printing one JSON object:

1. ``evaluation`` (in this process): ``--rules`` active rules over the 8 NSE products (a
   mix of every metric and operator, thresholds off the market so they hold their state),
   a private Redis and an SQLite alert store; enriched 21-strike chains of one product
   after another go through the workers' evaluator (``AlertEvaluator.on_chains``: the
   version and state round trip, the vectorised evaluation of that product's rules, the
   compare-and-set of its state) one at a time; figures per chain: p50/p99/mean wall time,
   and the pure evaluation alone (``observe`` with the state decoded and encoded).
2. ``latency`` (the pipeline): Redis, auth_service, a socket gateway, the synthetic feed,
   the subscriber and a Celery worker (2 processes); the same number of rules, of which
   the bench user's probes sit on a grid around each product's spot and ATM IV (crosses
   above and below, no cooldown) so that they fire as the market moves; a Socket.IO client
   of that user records, for ``--seconds``, each ``alert`` event's delay from the origin
   timestamp of the data that fired it (p50/p99/max, per kind), and the worker's own
   evaluation cost per message from its ``/metrics``.

Progress goes to stderr. Figures and the command are recorded in docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import socketio
from sockets import PY, Stack
from support import enriched_chain_bytes, post_json

from common.embedded_redis import EmbeddedRedis, free_port
from common.latest import LatestReader
from common.names import alert_version_key
from common.redis_client import make_redis
from store.alerts import AlertStore, open_alert_store
from worker_enricher.alerting.delivery import Delivery
from worker_enricher.alerting.emitter import QueueEmitter
from worker_enricher.alerting.evaluation import AlertEvaluator
from worker_enricher.alerting.observe import Observation, observe
from worker_enricher.alerting.rulebook import RuleBook
from worker_enricher.alerting.state import FIELDS, decode_state, state_fields
from worker_enricher.scripts import register_scripts

PRODUCTS = ("NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY", "RELIANCE", "HDFCBANK", "INFY", "TCS")
STAMP = "2026-12-06T00:00:00.000Z"
CHAIN_METRICS = ("atm_iv", "pcr_oi", "pcr_volume", "max_pain_strike", "atm_straddle_price",
                 "risk_reversal_25d", "net_gex", "gex_flip")  # fmt: skip
OPS = ("above", "below", "crosses_above", "crosses_below", "change_pct")


def _alert(n: int, owner: str, product: str, **rule: Any) -> dict[str, Any]:
    doc = {"id": f"al_bench{n:017d}", "owner": owner, "product": product, "expiry": None,
           "strike": None, "option_type": None, "cooldown_s": 300, "window_s": None,
           "active": True, "webhook_url": None, "webhook_secret": None, "note": None,
           "created_at": STAMP, "updated_at": STAMP}  # fmt: skip
    return {**doc, **rule}


def background_rules(
    count: int, chains: dict[str, dict[str, Any]], start: int = 0
) -> list[dict[str, Any]]:
    """``count`` rules spread over the products of ``chains`` (product → an enriched chain):
    every metric and operator, thresholds far off the chain's values."""
    rng = random.Random(7)
    products = list(chains)
    out = []
    for i in range(count):
        product = products[i % len(products)]
        chain = chains[product]
        round_ = i // len(products)  # the rules of one product cycle through kinds and ops
        kind, op = round_ % 4, OPS[(round_ // 4) % len(OPS)]
        rule: dict[str, Any]
        if kind == 0:
            rule = {"metric": "spot", "value": chain["spot_price"] * rng.choice((0.5, 2.0))}
        elif kind == 1:
            k = rng.choice(chain["strikes"])
            rule = {"metric": rng.choice(("iv", "oi_change")), "strike": k,
                    "option_type": rng.choice(("CALL", "PUT")), "value": 1e9}  # fmt: skip
        else:
            rule = {"metric": rng.choice(CHAIN_METRICS), "value": 1e12}
        if rule["metric"] != "spot" and rng.random() < 0.3:
            rule["expiry"] = chain["expiry"]
        if op == "change_pct":
            rule |= {"value": 500.0, "window_s": rng.choice((60, 300, 3600))}
        elif op in ("below", "crosses_below"):
            rule["value"] = -rule["value"]
        out.append(_alert(start + i, f"bg{i % 500}", product, op=op, **rule))
    return out


def _announce(client: Any, products: list[str]) -> None:
    for product in products:
        client.set(alert_version_key(product), os.urandom(4).hex())


def _chain_at(
    template: dict[str, Any], seq: int, moment: dt.datetime, rng: random.Random
) -> dict[str, Any]:
    chain = dict(template)
    chain["seq"], chain["timestamp"] = (
        seq,
        moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
    )
    for field in ("atm_iv", "pcr_oi", "atm_straddle_price", "net_gex"):
        if isinstance(chain.get(field), float):
            chain[field] *= 1 + rng.uniform(-0.01, 0.01)
    return chain


def evaluation(rules: int, chains_per_product: int) -> dict[str, Any]:
    """Part 1: the workers' evaluator in this process on a private Redis and SQLite."""
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-alert-bench-"))
    redis_server = EmbeddedRedis()
    url = redis_server.start()
    try:
        client = make_redis(url)
        store: AlertStore = open_alert_store(f"sqlite:///{workdir / 'bench.db'}")
        expiry = (dt.date.today() + dt.timedelta(days=7)).isoformat()
        templates = {p: orjson.loads(enriched_chain_bytes(expiry, p)) for p in PRODUCTS}
        for doc in background_rules(rules, templates):
            store.create_alert(doc, limit=rules + 1)
        _announce(client, list(PRODUCTS))
        emitter = QueueEmitter(url)
        delivery = Delivery(client, store, emitter, lambda _: None)
        evaluator = AlertEvaluator(client, register_scripts(client), RuleBook(store), delivery)
        rng, start = random.Random(1), dt.datetime(2026, 12, 7, 4, 0, tzinfo=dt.UTC)
        walls: list[float] = []
        cpu = 0.0
        seq = 0
        for n in range(chains_per_product):
            for product in PRODUCTS:
                seq += 1
                chain = _chain_at(templates[product], seq, start + dt.timedelta(seconds=n), rng)
                began, began_cpu = time.perf_counter(), time.process_time()
                evaluator.on_chains([chain])
                walls.append(time.perf_counter() - began)
                if n:
                    cpu += time.process_time() - began_cpu
            if n % 50 == 0:
                print(f"evaluation: {n}/{chains_per_product} chains per product", file=sys.stderr)
        walls = walls[len(PRODUCTS) :]  # the first round reads the rules from the store
        book = RuleBook(store)
        product_rules = book.rules("NIFTY", None).chain
        stored: dict[bytes, bytes] = {}
        pure: list[float] = []
        written: list[int] = []
        for n in range(500):
            chain = _chain_at(templates["NIFTY"], n + 1, start + dt.timedelta(seconds=n), rng)
            began = time.perf_counter()
            state = decode_state([stored.get(f.encode()) for f in FIELDS], product_rules)
            observe(product_rules, state, [Observation(expiry, chain, True)], STAMP)
            fields = state_fields(state, product_rules)
            pure.append(time.perf_counter() - began)
            stored.update(zip(fields[::2], fields[1::2], strict=True))
            written.append(sum(len(v) for v in fields[1::2]))
        client.close()
        store.close()
        ms = np.array(walls) * 1000
        return {
            "part": "evaluation", "rules": rules, "products": len(PRODUCTS),
            "chain_rules_per_product": len(product_rules), "chains": len(walls),
            "per_chain_ms": {"p50": round(float(np.percentile(ms, 50)), 3),
                             "p99": round(float(np.percentile(ms, 99)), 3),
                             "mean": round(float(ms.mean()), 3),
                             "cpu_mean": round(cpu / len(walls) * 1000, 3)},
            "pure_per_chain_ms": {"p50": round(float(np.percentile(pure, 50)) * 1000, 3),
                                  "p99": round(float(np.percentile(pure, 99)) * 1000, 3)},
            "state_bytes": sum(len(v) for v in stored.values()),
            "written_bytes_per_chain_p50": int(np.percentile(written[1:], 50)),
        }  # fmt: skip
    finally:
        redis_server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _probes(owner: str, chains: dict[str, dict[str, Any]], start: int) -> list[dict[str, Any]]:
    """The bench user's rules: 10 levels either side of each product's spot (0.02 % apart)
    and ATM IV (0.5 % apart), crosses above and below, no cooldown."""
    out, n = [], start
    for product, chain in chains.items():
        for metric, center, step in (("spot", chain["spot_price"], 0.0002),
                                     ("atm_iv", chain.get("atm_iv"), 0.005)):  # fmt: skip
            if not isinstance(center, float):
                continue
            for level in range(-10, 10):
                for op in ("crosses_above", "crosses_below"):
                    out.append(_alert(n, owner, product, metric=metric, op=op, cooldown_s=0,
                                      value=center * (1 + step * (level + 0.5))))  # fmt: skip
                    n += 1
    return out


def _origin_s(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _worker_figures(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("optionsflow_alert"):
            name, _, value = line.rpartition(" ")
            found[name] = found.get(name, 0.0) + float(value)
    return found


def latency(rules: int, seconds: float) -> dict[str, Any]:
    """Part 2: the pipeline with the rules, a Socket.IO client of the probes' owner."""
    workdir = Path(tempfile.mkdtemp(prefix="optionsflow-alert-latency-"))
    metrics_port = free_port()
    try:
        with Stack(workdir, 1) as stack:
            creds = {"username": "alertbench", "password": "bench-password-1"}
            post_json(stack.auth_url + "/auth/register", creds)
            token = post_json(stack.auth_url + "/auth/login", creds)["access_token"]
            claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
            _pipeline(stack, workdir, metrics_port)
            rooms = stack.live_rooms()
            client = make_redis(stack.redis_url)
            reader = LatestReader(client)
            chains = {}
            for product, expiry in rooms:
                if product in PRODUCTS and product not in chains:
                    raw = reader.chain(product, expiry)
                    if raw is not None:
                        chains[product] = orjson.loads(raw)
            store = open_alert_store(f"sqlite:///{workdir / 'bench.db'}")
            probes = _probes(claims["sub"], chains, 0)
            for doc in probes + background_rules(rules - len(probes), chains, len(probes)):
                store.create_alert(doc, limit=rules + 1)
            store.close()
            delays: dict[str, list[float]] = {"spot": [], "chain": []}
            sio = socketio.Client(reconnection=False)
            seen: set[str] = set()
            lock = threading.Lock()

            @sio.on("alert")  # type: ignore[untyped-decorator]
            def on_alert(data: dict[str, Any]) -> None:
                now = time.time()
                with lock:
                    if data["trigger_id"] in seen:
                        return
                    seen.add(data["trigger_id"])
                    kind = "spot" if data["metric"] == "spot" else "chain"
                    delays[kind].append(now - _origin_s(data["timestamp"]))

            sio.connect(stack.socket_urls[0], auth={"token": token}, transports=["websocket"])
            before = _worker_figures(metrics_port)
            _announce(client, list(chains))
            what = f"{len(chains)} products, {rules} rules ({len(probes)} probes)"
            print(f"{what}; measuring {seconds} s", file=sys.stderr)
            time.sleep(seconds)
            after = _worker_figures(metrics_port)
            sio.disconnect()
            client.close()
            return {"part": "latency", "rules": rules, "probes": len(probes), "seconds": seconds,
                    **{kind: _summary(values) for kind, values in delays.items()},
                    "worker": _per_message(before, after)}  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _summary(delays: list[float]) -> dict[str, Any]:
    if not delays:
        return {"alerts": 0}
    ms = np.array(delays) * 1000
    p50, p99 = (round(float(np.percentile(ms, q)), 1) for q in (50, 99))
    return {
        "alerts": len(delays),
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": round(float(ms.max()), 1),
    }


def _per_message(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("chain", "tick"):
        secs = f'optionsflow_alert_evaluation_seconds_total{{kind="{kind}"}}'
        msgs = f'optionsflow_alert_messages_total{{kind="{kind}"}}'
        n = after.get(msgs, 0.0) - before.get(msgs, 0.0)
        spent = after.get(secs, 0.0) - before.get(secs, 0.0)
        out[kind] = {
            "messages": int(n),
            "ms_per_message": round(spent / n * 1000, 3) if n else None,
        }
    delivery = "optionsflow_alert_delivery_seconds_total"
    out["delivery_s"] = round(after.get(delivery, 0.0) - before.get(delivery, 0.0), 3)
    out["triggers"] = int(after.get("optionsflow_alert_triggers_total", 0.0)
                          - before.get("optionsflow_alert_triggers_total", 0.0))  # fmt: skip
    return out


def _pipeline(stack: Stack, workdir: Path, metrics_port: int) -> None:
    """The feed, the subscriber and a Celery worker serving its ``/metrics``."""
    env = {**os.environ, "REDIS_URL": stack.redis_url, "VAR_DIR": str(workdir),
           "STORE_URL": f"sqlite:///{workdir / 'bench.db'}", "LOG_LEVEL": "WARNING"}  # fmt: skip
    metrics_dir = workdir / "prometheus" / "worker"
    metrics_dir.mkdir(parents=True)
    worker_env = env | {"WORKER_METRICS_PORT": str(metrics_port),
                        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    for name, argv, penv in (
        ("worker", [PY, "-m", "celery", "-A", "worker_enricher.celery_app", "worker",
                    "--queues", "enrich", "--concurrency", "2", "--loglevel", "WARNING",
                    "--without-gossip", "--without-mingle", "--without-heartbeat"], worker_env),
        ("subscriber", [PY, "-m", "worker_enricher.subscriber"], env),
        ("feed", [PY, "-m", "feed_generator", "--progress-interval", "0"], env),
    ):  # fmt: skip
        with open(workdir / f"{name}.log", "wb") as out:
            stack.procs.append(subprocess.Popen(argv, env=penv, stdout=out,
                               stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", type=int, default=10_000)
    parser.add_argument("--chains", type=int, default=200, help="chains per product (part 1)")
    parser.add_argument("--seconds", type=float, default=60.0, help="measured time (part 2)")
    parser.add_argument("--part", choices=("evaluation", "latency", "both"), default="both")
    args = parser.parse_args()
    if args.part in ("evaluation", "both"):
        print(json.dumps(evaluation(args.rules, args.chains)), flush=True)
    if args.part in ("latency", "both"):
        print(json.dumps(latency(args.rules, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
