"""candles: stored, waiting in Redis to be stored, still forming; 1 h from 15 min."""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from analytics_service.calc.times import to_ms
from analytics_service.sources import Sources
from common.api.analytics import CandlesSchema
from common.names import CLOSED_CANDLES_KEY, candle_key
from store.sqlite import SqliteStore
from tests.support.latest import put_underlying
from tests.unit.analytics_service.support import T0, at, candle, get_error, get_ok, handmade

pytestmark = pytest.mark.redis


def out(minutes: int, o: float, h: float, low: float, c: float, v: int) -> dict[str, Any]:
    """A candle as answered, starting ``minutes`` after 04:00."""
    t = at(minutes).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {"t": t, "open": o, "high": h, "low": low, "close": c, "volume": v}


def open_hash(minutes: int, o: float, h: float, low: float, c: float, v: int) -> Any:
    """The worker's open-candle hash (start in epoch ms; plus fields it keeps for itself)."""
    start = to_ms(at(minutes))
    return {"start": start, "open": o, "high": h, "low": low, "close": c, "volume": v,
            "first": start + 5, "last": start + 50_000}  # fmt: skip


@pytest.fixture
def known(store: SqliteStore) -> None:
    store.insert_chains([handmade(at(0), 1, 0.2)])


def test_one_minute_candles_merge_pending_and_open(
    client: FlaskClient, store: SqliteStore, redis_client: redis.Redis, known: None
) -> None:
    store.upsert_candles([
        candle(at(0), 10.0, "1min", open=9.0, high=11.0, low=8.5, volume=100),
        candle(at(1), 11.0, "1min", volume=50),
        candle(at(2), 12.0, "1min"),
    ])  # fmt: skip
    start_2, start_3 = to_ms(at(2)), to_ms(at(3))
    redis_client.hset(CLOSED_CANDLES_KEY, mapping={
        f"NIFTY|1min|{start_2}": "12.0|12.5|11.5|12.25|30",  # 04:02 amended, not stored yet
        f"NIFTY|1min|{start_3}": "12.25|13|12|12.75|40",     # 04:03 closed, not stored yet
        f"NIFTY|5min|{start_3}": "1|1|1|1|1",                 # another interval
        f"BANKNIFTY|1min|{start_3}": "1|1|1|1|1",             # another product
    })  # fmt: skip
    redis_client.hset(candle_key("1min", "NIFTY"), mapping=open_hash(4, 12.75, 13.5, 12.5, 13.0, 7))
    url = "/analytics/NIFTY/candles?start=2026-11-21T04:00Z&end=2026-11-21T04:05Z"
    body = get_ok(client, url, CandlesSchema)
    assert body == {
        "product": "NIFTY", "interval": "1m",
        "start": "2026-11-21T04:00:00.000Z", "end": "2026-11-21T04:05:00.000Z",
        "candles": [out(0, 9.0, 11.0, 8.5, 10.0, 100), out(1, 11.0, 11.0, 11.0, 11.0, 50),
                    out(2, 12.0, 12.5, 11.5, 12.25, 30), out(3, 12.25, 13.0, 12.0, 12.75, 40)],
        "open_candle": out(4, 12.75, 13.5, 12.5, 13.0, 7),
    }  # fmt: skip
    # a range ending before the forming candle starts does not show it
    early = get_ok(client, url.replace("04:05Z", "04:02Z"), CandlesSchema)
    assert [c["t"] for c in early["candles"]] == [
        "2026-11-21T04:00:00.000Z",
        "2026-11-21T04:01:00.000Z",
    ]
    assert early["open_candle"] is None


def test_one_hour_candles_from_quarters(
    client: FlaskClient, store: SqliteStore, redis_client: redis.Redis, known: None
) -> None:
    h3 = T0.replace(hour=3)
    store.upsert_candles([
        candle(h3, 101.0, open=100.0, high=102.0, low=99.0, volume=10),
        candle(h3.replace(minute=15), 100.0, open=101.0, high=101.5, low=98.0, volume=20),
        candle(h3.replace(minute=30), 103.0, open=101.0, high=104.0, low=100.5, volume=30),
        candle(h3.replace(minute=45), 102.5, open=103.0, high=103.5, low=102.0, volume=40),
        candle(at(0), 104.0, open=102.5, high=105.0, low=102.0, volume=5),
        candle(at(15), 104.5, open=104.0, high=104.75, low=103.5, volume=6),
    ])  # fmt: skip
    redis_client.hset(
        candle_key("15min", "NIFTY"), mapping=open_hash(30, 104.5, 106.0, 104.25, 105.5, 7)
    )
    url = "/analytics/NIFTY/candles?interval=1h&start=2026-11-21T03:00Z&end=2026-11-21T05:00Z"
    body = get_ok(client, url, CandlesSchema)
    # 03:00: open 100 (03:00), high 104 (03:30), low 98 (03:15), close 102.5 (03:45),
    # volume 10 + 20 + 30 + 40 = 100
    assert body["candles"] == [out(-60, 100.0, 104.0, 98.0, 102.5, 100)]
    # 04:00 still forms: 04:00 and 04:15 stored, 04:30 open → open 102.5, high 106,
    # low 102, close 105.5, volume 5 + 6 + 7 = 18
    assert body["open_candle"] == out(0, 102.5, 106.0, 102.0, 105.5, 18)
    # without the forming quarter the 04:00 hour is a closed candle of two quarters
    redis_client.delete(candle_key("15min", "NIFTY"))
    body = get_ok(client, url, CandlesSchema)
    assert body["candles"][1] == out(0, 102.5, 105.0, 102.0, 104.5, 11)
    assert body["open_candle"] is None
    # an hour is in the range when it starts in it
    later = get_ok(client, url.replace("T03:00Z", "T03:00:01Z"), CandlesSchema)
    assert [c["t"] for c in later["candles"]] == ["2026-11-21T04:00:00.000Z"]


def test_candles_defaults_product_and_validation(
    client: FlaskClient, store: SqliteStore, redis_client: redis.Redis, known: None
) -> None:
    store.upsert_candles([candle(at(59), 1.0, "1min"), candle(at(60), 2.0, "1min")])
    body = get_ok(client, "/analytics/NIFTY/candles", CandlesSchema)  # 04:00–05:00 by the clock
    assert [c["close"] for c in body["candles"]] == [1.0]
    assert get_error(client, "/analytics/RELIANCE/candles", 404)["code"] == "not_found"
    put_underlying(redis_client, "RELIANCE", b"{}")  # ticks but no chains: known
    assert get_ok(client, "/analytics/RELIANCE/candles", CandlesSchema)["candles"] == []
    for query, field in (("interval=1d", "interval"), ("start=2026-11-19T00:00Z", "interval"),
                         ("end=2026-11-21T04:00:00.000001Z&start=2026-11-21T04:00:00.000001Z",
                          "end"), ("step=1", "step")):  # fmt: skip
        assert field in get_error(client, f"/analytics/NIFTY/candles?{query}", 422)["fields"]


def test_an_unfinished_hour_is_never_a_closed_candle(
    app: Flask, client: FlaskClient, store: SqliteStore, known: None
) -> None:
    h3 = T0.replace(hour=3)
    store.upsert_candles([
        *(candle(h3.replace(minute=m), 100.0 + m, volume=1) for m in (0, 15, 30, 45)),
        candle(at(0), 104.0, open=102.5, high=105.0, low=102.0, volume=5),
        candle(at(15), 104.5, open=104.0, high=104.75, low=103.5, volume=6),
    ])  # fmt: skip
    sources: Sources = app.extensions["analytics"]
    sources.clock = lambda: at(40)  # 04:40; no 15-minute candle forming in Redis
    url = "/analytics/NIFTY/candles?interval=1h&start=2026-11-21T03:00Z&end=2026-11-21T05:00Z"
    body = get_ok(client, url, CandlesSchema)
    assert [c["t"] for c in body["candles"]] == ["2026-11-21T03:00:00.000Z"]
    # the 04:00 hour so far: open 102.5, high 105, low 102, close 104.5, volume 11
    assert body["open_candle"] == out(0, 102.5, 105.0, 102.0, 104.5, 11)
    sources.clock = lambda: at(60)  # 05:00: the hour has ended, closed
    body = get_ok(client, url, CandlesSchema)
    assert body["candles"][1] == out(0, 102.5, 105.0, 102.0, 104.5, 11)
    assert body["open_candle"] is None
