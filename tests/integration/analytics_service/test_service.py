"""analytics_service as it runs: gunicorn, a real Redis and a SQLite file filled by the test."""

from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from analytics_service.calc.times import to_ms
from common.api.analytics import CandlesSchema, OiChangeSchema, SeriesSchema, SmileSchema
from common.embedded_redis import EmbeddedRedis
from common.names import CLOSED_CANDLES_KEY, candle_key
from common.redis_client import make_redis
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain
from tests.support.processes import ProcessSet, free_port
from tests.unit.analytics_service.support import at, candle, enriched, wire

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]


@dataclass
class Service:
    url: str
    docs: dict[str, dict[str, Any]]

    def get(self, path: str) -> tuple[int, dict[str, str], Any]:
        req = urllib.request.Request(self.url + path, headers={"X-Trace-ID": "it-analytics-1"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers.items()), json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), json.loads(err.read())


def _fill(store: SqliteStore, redis_url: str) -> dict[str, dict[str, Any]]:
    docs = {
        "a": enriched(at(0, 10), 1),
        "b": enriched(at(0, 50), 2, put_oi_factor=2),
        "c": enriched(at(1, 30), 3, put_oi_factor=3),
    }
    later = enriched(at(30), 4, put_oi_factor=3)
    for row in later["calls"]:
        row["oi"] += 700 if row["strike"] == 24_100.0 else 0
    docs["later"] = later
    store.insert_chains(list(docs.values()))
    store.upsert_candles([candle(at(0), 10.0, "1min", high=11.0, low=9.5, volume=100),
                          candle(at(1), 11.0, "1min", volume=50)])  # fmt: skip
    client = make_redis(redis_url)
    client.flushall()
    newest = enriched(at(31), 5, spot=24_030.0)
    docs["newest"] = newest
    put_chain(client, "NIFTY", EXPIRY, orjson.dumps(newest))
    client.hset(CLOSED_CANDLES_KEY, f"NIFTY|1min|{to_ms(at(2))}", "11|12.5|10.75|12|30")
    start = to_ms(at(3))
    client.hset(candle_key("1min", "NIFTY"), mapping={
        "start": start, "open": 12.0, "high": 12.25, "low": 11.5, "close": 12.125, "volume": 8,
        "first": start, "last": start + 1000,
    })  # fmt: skip
    client.close()
    return docs


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("analytics")
    store = SqliteStore(tmp / "store.db")
    docs = _fill(store, redis_server.url)
    store.close()
    skip = {"REDIS_URL", "STORE_URL", "PROMETHEUS_MULTIPROC_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update(REDIS_URL=redis_server.url, STORE_URL=f"sqlite:///{tmp / 'store.db'}",
               VAR_DIR=str(tmp), GUNICORN_THREADS="2", LOG_LEVEL="INFO")  # fmt: skip
    procs = ProcessSet(tmp, env)
    try:
        url = procs.service("analytics_service", free_port(), timeout=30)
        yield Service(url, docs)
    finally:
        procs.close()


def test_ready(service: Service) -> None:
    status, headers, body = service.get("/readyz")
    assert (status, body["checks"]) == (200, {"redis": "ok", "store": "ok"})
    assert headers["X-Trace-ID"] == "it-analytics-1"


def test_series(service: Service) -> None:
    path = f"/analytics/NIFTY/series?expiry={EXPIRY}&start=2026-11-21T04:00Z&end=2026-11-21T04:03Z"
    status, _, body = service.get(path + "&metrics=pcr_oi,max_pain,atm_iv")
    assert status == 200, body
    SeriesSchema().load(body)
    b, c = service.docs["b"], service.docs["c"]
    assert body["points"] == [
        {"t": "2026-11-21T04:00:00.000Z", "pcr_oi": 2.0, "max_pain": b["max_pain_strike"],
         "atm_iv": b["atm_iv"]},
        {"t": "2026-11-21T04:01:00.000Z", "pcr_oi": 3.0, "max_pain": c["max_pain_strike"],
         "atm_iv": c["atm_iv"]},
    ]  # fmt: skip
    status, _, error = service.get(path + "&interval=2m")
    assert (status, list(error["error"]["fields"])) == (422, ["interval"])


def test_oi_change(service: Service) -> None:
    path = f"/analytics/NIFTY/oi-change?expiry={EXPIRY}&from=2026-11-21T04:02Z&to=2026-11-21T05:00Z"
    status, _, body = service.get(path)
    assert status == 200, body
    OiChangeSchema().load(body)
    assert (body["from_timestamp"], body["to_timestamp"]) == (wire(at(1, 30)), wire(at(30)))
    changed = {r["strike"]: r["call_oi_change"] for r in body["strikes"] if r["call_oi_change"]}
    assert changed == {24_100.0: 700}
    assert (body["total_call_oi_change"], body["total_put_oi_change"]) == (700, 0)


def test_smile_from_the_cached_chain(service: Service) -> None:
    status, _, body = service.get(f"/analytics/NIFTY/smile?expiry={EXPIRY}")
    assert status == 200, body
    SmileSchema().load(body)
    newest = service.docs["newest"]
    assert (body["timestamp"], body["spot"]) == (wire(at(31)), 24_030.0)
    puts = {r["strike"]: r["iv"] for r in newest["puts"]}
    calls = {r["strike"]: r["iv"] for r in newest["calls"]}
    point = {p["strike"]: p for p in body["points"]}
    # spot 24,030 carried to 10:00 on the 26th at 6.5 %: F = 24,052.38
    forward = newest["forward"]
    assert body["forward"] == forward == pytest.approx(24_052.38, abs=0.01)
    assert point[24_000.0]["otm_iv"] == puts[24_000.0]  # below the forward: the put
    assert point[24_050.0]["otm_iv"] == puts[24_050.0]  # above spot, still below F
    assert point[24_100.0]["otm_iv"] == calls[24_100.0]
    assert point[24_050.0]["moneyness"] == math.log(24_050.0 / forward)


def test_candles(service: Service) -> None:
    path = "/analytics/NIFTY/candles?start=2026-11-21T04:00Z&end=2026-11-21T04:10Z"
    status, _, body = service.get(path)
    assert status == 200, body
    CandlesSchema().load(body)
    assert body["candles"] == [
        {"t": "2026-11-21T04:00:00.000Z", "open": 10.0, "high": 11.0, "low": 9.5, "close": 10.0,
         "volume": 100},
        {"t": "2026-11-21T04:01:00.000Z", "open": 11.0, "high": 11.0, "low": 11.0, "close": 11.0,
         "volume": 50},
        {"t": "2026-11-21T04:02:00.000Z", "open": 11.0, "high": 12.5, "low": 10.75,
         "close": 12.0, "volume": 30},  # closed, not yet stored: from Redis
    ]  # fmt: skip
    assert body["open_candle"] == {"t": "2026-11-21T04:03:00.000Z", "open": 12.0, "high": 12.25,
                                   "low": 11.5, "close": 12.125, "volume": 8}  # fmt: skip


def test_unknown_product_and_bad_product(service: Service) -> None:
    status, _, body = service.get("/analytics/BANKNIFTY/candles")
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _, body = service.get("/analytics/bank/candles")
    assert (status, list(body["error"]["fields"])) == (422, ["product"])
