"""surface, term-structure, iv-rank and realized-vs-implied over a real store and Redis."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import orjson
import pytest
import redis
from flask.testing import FlaskClient

from common.api.analytics import IvRankSchema, RealizedSchema, SurfaceSchema, TermStructureSchema
from common.names import iv_surface_key
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain
from tests.unit.analytics_service.support import (
    EXPIRED,
    EXPIRY_2,
    T0,
    at,
    candle,
    enriched,
    get_error,
    get_ok,
    handmade,
    wire,
)

pytestmark = pytest.mark.redis


@pytest.fixture
def chains(store: SqliteStore) -> dict[str, dict[str, Any]]:
    """The newest chain of three expiries: the 26th (21 strikes), Dec 31 (5 strikes, 04:10)
    and the 20th, expired by the clock's 05:00 on the 21st."""
    near = enriched(at(0), 2)
    far = enriched(at(10), 3, n=5, expiry=EXPIRY_2)
    gone = enriched(at(20), 4, expiry=EXPIRED)
    store.insert_chains([enriched(at(-5), 1), near, far, gone])
    return {"near": near, "far": far, "gone": gone}


def otm(chain: dict[str, Any]) -> dict[float, float | None]:
    forward = chain["forward"]
    calls = {r["strike"]: r["iv"] for r in chain["calls"]}
    puts = {r["strike"]: r["iv"] for r in chain["puts"]}
    return {k: (puts[k] if k < forward else calls[k]) for k in calls}


def test_surface_built_from_the_newest_chains(
    client: FlaskClient, chains: dict[str, dict[str, Any]]
) -> None:
    body = get_ok(client, "/analytics/NIFTY/surface", SurfaceSchema)
    near, far = otm(chains["near"]), otm(chains["far"])
    assert body["product"] == "NIFTY"
    assert body["expiries"] == [EXPIRY, EXPIRY_2]  # the expired 2026-11-20 is left out
    assert body["strikes"] == sorted(near)  # the 5 far strikes are among the 21 near ones
    assert body["iv"][0] == [near[k] for k in body["strikes"]]
    assert body["iv"][1] == [far.get(k) for k in body["strikes"]]
    assert body["iv"][1].count(None) == 16
    assert (body["timestamp"], body["spot"]) == (wire(at(10)), 24_010.0)


def test_surface_from_the_worker_cache(client: FlaskClient, redis_client: redis.Redis) -> None:
    cached = {
        "product": "NIFTY", "timestamp": "2026-11-21T04:59:59.000Z", "spot": 24_012.5,
        "expiries": [EXPIRY], "strikes": [24_000.0, 24_050.0], "iv": [[0.151, None]],
    }  # fmt: skip
    redis_client.set(iv_surface_key("NIFTY"), orjson.dumps(cached))
    assert get_ok(client, "/analytics/NIFTY/surface", SurfaceSchema) == cached
    redis_client.set(iv_surface_key("NIFTY"), b"{not json")
    assert get_error(client, "/analytics/NIFTY/surface", 404)["code"] == "not_found"


def test_surface_errors(client: FlaskClient, chains: dict[str, dict[str, Any]]) -> None:
    assert "NIFTYX" in get_error(client, "/analytics/NIFTYX/surface", 404)["message"]
    assert list(get_error(client, "/analytics/N.1/surface", 422)["fields"]) == ["product"]
    assert list(get_error(client, "/analytics/NIFTY/surface?expiry=x", 422)["fields"]) == ["expiry"]


def test_term_structure(
    client: FlaskClient, chains: dict[str, dict[str, Any]], redis_client: redis.Redis
) -> None:
    body = get_ok(client, "/analytics/NIFTY/term-structure", TermStructureSchema)
    assert body == {
        # the newest chain is from 04:10, the app's clock says 05:00: too old for NIFTY's 5 s
        "data_age_stale": True,
        "data_age_s": 3000.0,
        "product": "NIFTY",
        "timestamp": wire(at(10)),
        "points": [
            # 04:00 on the 21st to 10:00 on the 26th: 5.25 days; spot 24,010 carried at
            # 6.5 %: F = 24,032.45, nearest strike 24,050
            {"expiry": EXPIRY, "days": 5.25, "atm_strike": 24_050.0,
             "atm_iv": chains["near"]["atm_iv"]},
            # 04:10 on the 21st to 10:00 on Dec 31: 40 days 5 h 50 min = 40.2430556 days;
            # F = 24,010·e^{0.065·40.243/365} = 24,182.6: the top strike, 24,100
            {"expiry": EXPIRY_2, "days": pytest.approx(40 + 350 / 1440, abs=1e-12),
             "atm_strike": 24_100.0, "atm_iv": chains["far"]["atm_iv"]},
        ],
    }  # fmt: skip
    assert chains["near"]["atm_iv"] == pytest.approx(0.1498349, abs=1e-7)  # σ(24,050)
    # a newer chain in Redis wins over the store's
    newer = enriched(at(30), 9, spot=24_030.0)
    put_chain(redis_client, "NIFTY", EXPIRY, orjson.dumps(newer))
    body = get_ok(client, "/analytics/NIFTY/term-structure", TermStructureSchema)
    assert body["timestamp"] == wire(at(30))
    assert body["points"][0]["days"] == pytest.approx(5.25 - 30 / 1440, abs=1e-12)
    assert body["points"][0]["atm_iv"] == newer["atm_iv"]


def test_btc_term_structure_expires_at_0800_utc(client: FlaskClient, store: SqliteStore) -> None:
    btc = [
        {**handmade(T0, 1, 0.5, expiry=EXPIRY), "product": "BTC"},
        {**handmade(T0, 2, 0.6, expiry=EXPIRY_2), "product": "BTC",
         "expiry_ts": "2026-12-31T08:01:00.000Z"},  # the venue's exact instant wins
        {**handmade(T0, 3, 0.7, expiry="2026-11-21"), "product": "BTC"},
    ]  # fmt: skip
    store.insert_chains(btc)
    body = get_ok(client, "/analytics/BTC/term-structure", TermStructureSchema)
    # 04:00 on the 21st to 08:00 on the 21st, the 26th and (08:01) Dec 31; NIFTY's are at 10:00
    assert [(p["expiry"], p["days"]) for p in body["points"]] == [
        ("2026-11-21", pytest.approx(4 / 24, abs=1e-12)),
        (EXPIRY, pytest.approx(5 + 4 / 24, abs=1e-12)),
        (EXPIRY_2, pytest.approx(40 + 241 / 1440, abs=1e-12)),
    ]


def day(hour: int, day: int = 20) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC)


def test_iv_rank_by_hand(client: FlaskClient, store: SqliteStore) -> None:
    # the clock says 2026-11-21T05:00; one day at 4 samples a day: 6-hour periods
    store.insert_chains([
        handmade(day(4), 1, 0.50),    # before the lookback (20th 05:00): ignored
        handmade(day(7), 2, 0.10),    # period 06–12
        handmade(day(12) + dt.timedelta(minutes=30), 3, 0.30),  # 12–18, but not the last in it
        handmade(day(13), 4, 0.12),   # 12–18: the sample
        handmade(day(19), 5, 0.20),   # 18–24
        handmade(day(1, 21), 6, 0.15),  # 00–06 on the 21st: also the current chain
    ])  # fmt: skip
    url = "/analytics/NIFTY/iv-rank?lookback_days=1&samples_per_day=4"
    body = get_ok(client, url, IvRankSchema)
    # samples 0.10, 0.12, 0.20, 0.15; rank (0.15 − 0.10)/(0.20 − 0.10)·100 = 50,
    # 2 of 4 samples below 0.15: percentile 50
    assert body == {
        "product": "NIFTY", "lookback_days": 1, "samples_per_day": 4, "expiry": EXPIRY,
        "timestamp": "2026-11-21T01:00:00.000Z", "observations": 4, "current_iv": 0.15,
        "min_iv": 0.10, "max_iv": 0.20, "iv_rank": pytest.approx(50.0), "iv_percentile": 50.0,
    }  # fmt: skip
    # the 20th's options expire at 10:00 that day: before then they are the nearest expiry
    store.insert_chains([handmade(day(5) + dt.timedelta(minutes=30), 7, 0.40, expiry=EXPIRED)])
    body = get_ok(client, url, IvRankSchema)
    # samples 0.40, 0.10, 0.12, 0.20, 0.15: rank 0.05/0.30·100 = 16.67, 2 of 5 below: 40
    assert body["observations"] == 5
    assert (body["min_iv"], body["max_iv"]) == (0.10, 0.40)
    assert body["iv_rank"] == pytest.approx(100 / 6)
    assert body["iv_percentile"] == 40.0
    assert body["expiry"] == EXPIRY  # the current nearest


def test_iv_rank_defaults_and_limits(client: FlaskClient, store: SqliteStore) -> None:
    store.insert_chains([handmade(day(1, 21), 1, 0.15)])
    body = get_ok(client, "/analytics/NIFTY/iv-rank", IvRankSchema)
    assert (body["lookback_days"], body["samples_per_day"], body["observations"]) == (30, 24, 1)
    assert (body["iv_rank"], body["iv_percentile"]) == (None, 0.0)  # one sample: no range
    for query, field in (("lookback_days=0", "lookback_days"), ("samples_per_day=97",
                         "samples_per_day"), ("lookback_days=365", "samples_per_day"),
                         ("lookback_days=1.5", "lookback_days")):  # fmt: skip
        assert field in get_error(client, f"/analytics/NIFTY/iv-rank?{query}", 422)["fields"]
    assert get_error(client, "/analytics/BANKNIFTY/iv-rank", 404)["code"] == "not_found"


def test_realized_vs_implied_by_hand(client: FlaskClient, store: SqliteStore) -> None:
    # hours 01:00–04:00 as four 15-minute candles each; each hour closes at its last
    # quarter's close: 100, 101, 99, 100
    hourly = {1: 100.0, 2: 101.0, 3: 99.0, 4: 100.0}
    quarters = [
        candle(T0.replace(hour=h, minute=m), close if m == 45 else 500.0 + m)
        for h, close in hourly.items() for m in (0, 15, 30, 45)
    ]  # fmt: skip
    store.upsert_candles(quarters)
    store.insert_chains([handmade(at(30), 1, 0.20), handmade(at(-110), 2, 0.25)])  # 04:30, 02:10
    url = (
        "/analytics/NIFTY/realized-vs-implied?window=3"
        "&start=2026-11-21T01:00Z&end=2026-11-21T05:00Z"
    )
    body = get_ok(client, url, RealizedSchema)
    assert (body["interval"], body["window"]) == ("1h", 3)
    # returns ln(101/100), ln(99/101), ln(100/99): sample stdev 0.0173211576 per hour,
    # × √8760 = 1.6211715 (see test_realized); implied: ATM IV of a chain within the hour
    # before each close (04:30 → 0.20 for the 04:00 candle, 02:10 → 0.25 for 02:00)
    realized = math.sqrt(0.0006000450035669662 / 2 * 8760)
    assert body["points"] == [
        {"t": "2026-11-21T01:00:00.000Z", "realized_vol": None, "implied_vol": None,
         "spread": None},
        {"t": "2026-11-21T02:00:00.000Z", "realized_vol": None, "implied_vol": 0.25,
         "spread": None},
        {"t": "2026-11-21T03:00:00.000Z", "realized_vol": None, "implied_vol": None,
         "spread": None},
        {"t": "2026-11-21T04:00:00.000Z", "realized_vol": pytest.approx(realized, rel=1e-12),
         "implied_vol": 0.20, "spread": pytest.approx(0.20 - realized, rel=1e-12)},
    ]  # fmt: skip
    assert body["points"][3]["realized_vol"] == pytest.approx(1.6211715, abs=1e-6)
    # 15-minute candles: 16 points, the last three hours' quarters give estimates
    quarter = get_ok(client, url.replace("window=3", "window=2") + "&interval=15m", RealizedSchema)
    assert len(quarter["points"]) == 16
    assert quarter["points"][0]["realized_vol"] is None
    assert quarter["points"][2]["realized_vol"] is not None


def test_realized_validation(client: FlaskClient, store: SqliteStore) -> None:
    store.insert_chains([handmade(at(0), 1, 0.2)])
    base = "/analytics/NIFTY/realized-vs-implied"
    assert "window" in get_error(client, base + "?window=1", 422)["fields"]
    assert "window" in get_error(client, base + "?window=501", 422)["fields"]
    too_many = base + "?interval=1m&start=2026-11-19T00:00Z&end=2026-11-21T00:00Z"
    assert "interval" in get_error(client, too_many, 422)["fields"]
    body = get_ok(client, base, RealizedSchema)  # default: 1h over the last hour
    assert (body["start"], body["end"], body["points"]) == (
        "2026-11-21T04:00:00.000Z", "2026-11-21T05:00:00.000Z", [],
    )  # fmt: skip


def test_iv_rank_without_samples_has_min_and_max_of_the_current_value(
    client: FlaskClient, redis_client: redis.Redis
) -> None:
    # the newest chain only in Redis: nothing stored to sample, a current value all the same
    put_chain(redis_client, "NIFTY", EXPIRY, orjson.dumps(handmade(at(55), 1, 0.18)))
    body = get_ok(client, "/analytics/NIFTY/iv-rank?lookback_days=1", IvRankSchema)
    assert body == {
        "product": "NIFTY", "lookback_days": 1, "samples_per_day": 24, "expiry": EXPIRY,
        "timestamp": wire(at(55)), "observations": 0, "current_iv": 0.18,
        "min_iv": 0.18, "max_iv": 0.18, "iv_rank": None, "iv_percentile": None,
    }  # fmt: skip


def test_iv_rank_periods_start_at_midnight_whatever_samples_per_day(
    client: FlaskClient, store: SqliteStore
) -> None:
    # 7 a day: periods start round(j · 24 h / 7) after midnight, one of them at 00:00 on
    # the 21st (a width of DAY_MS // 7 put a boundary at 23:59:39.222 instead)
    store.insert_chains([
        handmade(day(23) + dt.timedelta(minutes=59, seconds=50), 1, 0.10),
        handmade(day(0, 21) + dt.timedelta(seconds=1), 2, 0.20),  # also the current chain
    ])  # fmt: skip
    body = get_ok(
        client, "/analytics/NIFTY/iv-rank?lookback_days=1&samples_per_day=7", IvRankSchema
    )
    assert body["observations"] == 2  # two periods, one sample each
    assert (body["min_iv"], body["max_iv"], body["current_iv"]) == (0.10, 0.20, 0.20)
    assert (body["iv_rank"], body["iv_percentile"]) == (100.0, 50.0)


def test_iv_rank_asks_for_at_most_a_thousand_samples(
    client: FlaskClient, store: SqliteStore
) -> None:
    store.insert_chains([handmade(day(1, 21), 1, 0.15)])
    base = "/analytics/NIFTY/iv-rank"
    # 1,000 store reads answer well within the gateway's 5 s; 1,200 are refused
    assert get_ok(client, base + "?lookback_days=40&samples_per_day=25", IvRankSchema)
    error = get_error(client, base + "?lookback_days=50&samples_per_day=24", 422)
    assert list(error["fields"]) == ["samples_per_day"]
    assert "at most 1000" in error["fields"]["samples_per_day"][0]
