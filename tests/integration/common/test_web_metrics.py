"""``/metrics`` of every HTTP service as deployed: gunicorn with two workers and a private
``PROMETHEUS_MULTIPROC_DIR`` each (the socket gateway: one eventlet process). Request
latency histograms count every request whichever worker served it; the storage service
times its store reads and shows its circuits once, merged over its workers."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import orjson
import pytest
import redis

from common.embedded_redis import EmbeddedRedis
from common.names import Channel
from common.timestamps import now_ts
from tests.support.processes import ProcessSet, free_ports, wait_until
from tests.support.scrape import Scrape, scrape

pytestmark = pytest.mark.redis

SERVICES = (
    "auth_service", "storage_service", "analytics_service", "alert_service", "paper_service",
    "api_gateway",
)  # fmt: skip
REQUESTS = 20
SECONDS = "optionsflow_http_request_duration_seconds"


@pytest.fixture(scope="module")
def urls(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("web-metrics")
    names = (*SERVICES, "socket_gateway")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    skip = ("PROMETHEUS_", "REDIS_URL", "STORE_URL", "WEB_CONCURRENCY", "METRICS_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        REDIS_URL=redis_server.url, STORE_URL=f"sqlite:///{tmp / 'store.db'}", VAR_DIR=str(tmp),
        AUTH_SERVICE_URL=f"http://127.0.0.1:{ports['auth_service']}",
        STORAGE_SERVICE_URL=f"http://127.0.0.1:{ports['storage_service']}",
        ANALYTICS_SERVICE_URL=f"http://127.0.0.1:{ports['analytics_service']}",
        GUNICORN_THREADS="4", LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1",
    )  # fmt: skip
    procs = ProcessSet(tmp, env)
    try:
        for name in SERVICES:  # all at once, then wait for them together
            metrics_dir = tmp / "prometheus" / name
            metrics_dir.mkdir(parents=True)
            hops = "0" if name == "api_gateway" else "1"
            procs.start(name, [
                sys.executable, "-m", "gunicorn", "-c", "python:common.gunicorn_conf",
                "--bind", f"127.0.0.1:{ports[name]}", "--workers", "2", f"{name}.wsgi:app",
            ], env={"SERVICE_NAME": name, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                    "PROXY_HOPS": hops})  # fmt: skip
        socket_port = str(ports["socket_gateway"])
        procs.start(
            "socket_gateway", [sys.executable, "-m", "socket_gateway", "--port", socket_port]
        )
        started = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        for name, url in started.items():
            proc = procs.procs[name]
            up = wait_until(lambda u=url, p=proc: _healthy(u) or p.poll() is not None, 120)
            assert up, procs.log(name)[-3000:]
            assert proc.poll() is None, procs.log(name)[-3000:]
        yield started
    finally:
        procs.close()


def _healthy(url: str) -> bool:
    try:
        return _get(url + "/healthz") == 200
    except OSError:
        return False


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        with err:
            return err.code


def _requests(scrape: Scrape, route: str) -> float:
    return scrape.value(f"{SECONDS}_count", route=route)


@pytest.mark.parametrize("service", [*SERVICES, "socket_gateway"])
def test_request_latency_counts_every_request(urls: dict[str, str], service: str) -> None:
    base = urls[service]
    before = scrape(base)
    assert before.families.get(SECONDS) == "histogram"
    for _ in range(REQUESTS):
        assert _get(base + "/healthz") == 200
    after = scrape(base)
    assert _requests(after, "/healthz") - _requests(before, "/healthz") == REQUESTS
    assert {s.labels["service"] for s in after.matching(f"{SECONDS}_count", route="/healthz")} == {
        service
    }
    every = after.value(f"{SECONDS}_bucket", route="/healthz", le="+Inf")
    assert every == _requests(after, "/healthz")
    assert not [s for s in after.samples if "pid" in s.labels]  # merged, not one per worker


def test_storage_times_its_store_reads_and_shows_each_circuit_once(
    urls: dict[str, str], redis_url: str
) -> None:
    base = urls["storage_service"]  # redis_url: flushed, so nothing is cached yet
    before = scrape(base)
    assert _get(base + "/readyz") == 200  # pings the store through the light circuit
    assert _get(base + "/products") == 200  # a cache miss: read from the store
    after = scrape(base)
    calls = "optionsflow_store_call_seconds_count"
    for op in ("ping", "products"):
        labels = {"op": op, "adapter": "sqlite"}
        assert after.value(calls, **labels) - before.value(calls, **labels) >= 1, op
    circuits = after.matching("optionsflow_circuit_state")
    assert sorted((sorted(s.labels.items()), s.value) for s in circuits) == [
        ([("circuit", "history")], 0.0), ([("circuit", "store")], 0.0),
    ]  # fmt: skip


def test_socket_gateway_counts_the_updates_it_reads(
    urls: dict[str, str], redis_server: EmbeddedRedis
) -> None:
    base = urls["socket_gateway"]
    name, channel = "optionsflow_socket_updates_received_total", Channel.ENRICHED_UNDERLYING
    before = scrape(base).value(name, channel=channel.value)
    assert "optionsflow_socket_connections" in scrape(base).families
    tick = {"product": "NIFTY", "price": 24_000.0, "seq": 1, "timestamp": now_ts()}
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.publish(channel.value, orjson.dumps(tick))
    finally:
        client.close()
    assert wait_until(lambda: scrape(base).value(name, channel=channel.value) == before + 1, 10)
