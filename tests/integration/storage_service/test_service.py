"""storage_service under gunicorn (two workers) on a real Redis: the stampede lock across
processes, and a store that is really down."""

from __future__ import annotations

import datetime as dt
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from store import open_store
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain, put_underlying
from tests.support.processes import ProcessSet, free_port
from tests.support.snapshots import enriched, wire

TIMEOUT_S = 10.0
Reply = tuple[int, dict[str, str], bytes]


def _get(url: str) -> Reply:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers), err.read()


def _store_calls(base: str, op: str) -> float:
    status, _, text = _get(base + "/metrics")
    assert status == 200
    total = 0.0
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == "optionsflow_store_calls_total" and sample.labels["op"] == op:
                total += sample.value
    return total


@pytest.fixture
def procs(tmp_path: Path, redis_url: str) -> Iterator[ProcessSet]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        VAR_DIR=str(tmp_path / "var"),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    processes = ProcessSet(tmp_path, env)
    yield processes
    processes.close()


def test_sixteen_concurrent_misses_make_one_store_read(procs: ProcessSet, tmp_path: Path) -> None:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(store_url)
    snapshots = [enriched(seq, minutes=seq - 1) for seq in range(1, 41)]
    store.insert_chains(snapshots)
    store.close()
    # Generous bounds: the property under test is the lock, not the speed of a shared VM.
    base = procs.service(
        "storage_service", free_port(), workers=2,
        env={"STORE_URL": store_url, "STORE_TIMEOUT_MS": "5000", "CACHE_LOCK_WAIT_MS": "8000"},
    )  # fmt: skip
    status, _, listing = _get(f"{base}/products")  # the listing the history route checks, cached
    assert status == 200
    assert orjson.loads(listing)["products"] == [
        {"product": "NIFTY", "expiries": [EXPIRY], "venue": "synthetic", "currency": "INR"}
    ]
    page = f"{base}/data/chain/NIFTY/history?expiry={EXPIRY}&start={wire(0)}&end={wire(60)}"
    before = _store_calls(base, "chain_history")

    barrier = threading.Barrier(16)
    replies: list[Reply] = []

    def fetch() -> None:
        barrier.wait(TIMEOUT_S)
        replies.append(_get(page))

    threads = [threading.Thread(target=fetch) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2 * TIMEOUT_S)

    assert [status for status, _, _ in replies] == [200] * 16
    assert sorted(headers["X-Cache"] for _, headers, _ in replies) == ["hit"] * 15 + ["miss"]
    assert len({body for _, _, body in replies}) == 1
    assert orjson.loads(replies[0][2])["items"] == snapshots
    assert _store_calls(base, "chain_history") - before == 1


def test_a_stopped_store_leaves_latest_data_served(
    procs: ProcessSet, redis_client: redis.Redis
) -> None:
    nobody = free_port()  # nothing listens there: a really stopped MongoDB
    store_url = f"mongodb://127.0.0.1:{nobody}/optionsflow?serverSelectionTimeoutMS=300"
    base = procs.service("storage_service", free_port(), workers=2, env={"STORE_URL": store_url})
    expiry = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=7)).isoformat()
    chain = orjson.dumps(enriched(3, expiry=expiry))
    put_chain(redis_client, "NIFTY", expiry, chain)
    put_underlying(redis_client, "NIFTY", b'{"product":"NIFTY","price":24012.5}')
    replies: dict[str, Reply] = {}

    def get(path: str) -> Reply:
        replies[path] = _get(base + path)
        return replies[path]

    assert get("/healthz")[0] == 200
    status, _, body = get("/readyz")
    checks: dict[str, Any] = orjson.loads(body)["checks"]
    assert status == 503
    assert checks["redis"] == "ok"
    assert checks["store"] == "error: StoreUnavailable", checks  # refused or timed out
    for path in (f"/data/chain/NIFTY?expiry={expiry}", "/data/chain/NIFTY"):
        status, headers, body = get(path)
        assert (status, headers["X-Cache"]) == (200, "hit"), path
        # The chain's origin is 2026-11-21 (days ago): served, marked too old for NIFTY's 5 s,
        # the workers' bytes after the two members.
        assert headers["X-Data-Age-Stale"] == "true", path
        assert body.startswith(b'{"data_age_stale":true,"data_age_s":'), path
        assert body.endswith(b"," + chain[1:]), path
    assert get("/data/underlying/NIFTY")[0] == 200
    for path in (
        f"/data/chain/NIFTY/history?expiry={expiry}",
        "/products",
        "/data/chain/NIFTY?expiry=2099-01-01",
    ):
        status, headers, body = get(path)
        assert status == 503, (path, body)
        assert int(headers["Retry-After"]) >= 1
        assert orjson.loads(body)["error"]["code"] == "unavailable"
    assert get("/data/chain/nifty")[0] == 422
    assert get("/data/underlying/SENSEX")[0] == 404
    server_errors = {p: r[0] for p, r in replies.items() if r[0] >= 500 and r[0] != 503}
    assert server_errors == {}
