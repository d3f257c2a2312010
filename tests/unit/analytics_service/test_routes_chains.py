"""series, oi-change and smile over a real SQLite store and a real Redis."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest
import redis
from flask.testing import FlaskClient

from common.api.analytics import OiChangeSchema, SeriesSchema, SmileSchema
from common.latest import Entry
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain
from tests.unit.analytics_service.support import (
    EXPIRY_2,
    at,
    enriched,
    get_error,
    get_ok,
    wire,
)

pytestmark = pytest.mark.redis

SERIES = f"/analytics/NIFTY/series?expiry={EXPIRY}"


@pytest.fixture
def three(store: SqliteStore) -> list[dict[str, Any]]:
    """04:00:10 (PCR 1) and 04:00:50 (PCR 2) in the 04:00 bucket, 04:01:30 (PCR 3) in 04:01."""
    docs = [enriched(at(0, 10), 1), enriched(at(0, 50), 2, put_oi_factor=2),
            enriched(at(1, 30), 3, put_oi_factor=3)]  # fmt: skip
    store.insert_chains(docs)
    return docs


def expected_point(t: str, doc: dict[str, Any]) -> dict[str, Any]:
    return {"t": t, "pcr_oi": doc["pcr_oi"], "pcr_volume": doc["pcr_volume"],
            "max_pain": doc["max_pain_strike"], "atm_straddle": doc["atm_straddle_price"],
            "atm_iv": doc["atm_iv"], "net_gex": doc["net_gex"], "call_wall": doc["call_wall"],
            "put_wall": doc["put_wall"], "gex_flip": doc["gex_flip"]}  # fmt: skip


def test_series_keeps_the_last_snapshot_of_each_bucket(
    client: FlaskClient, three: list[dict[str, Any]]
) -> None:
    body = get_ok(client, SERIES + "&start=2026-11-21T04:00Z&end=2026-11-21T04:02Z", SeriesSchema)
    assert body["points"] == [
        expected_point("2026-11-21T04:00:00.000Z", three[1]),
        expected_point("2026-11-21T04:01:00.000Z", three[2]),
    ]
    assert [p["pcr_oi"] for p in body["points"]] == [2.0, 3.0]  # put OI 2× and 3× the calls'
    assert body["metrics"] == ["pcr_oi", "pcr_volume", "max_pain", "atm_straddle", "atm_iv",
                               "net_gex", "call_wall", "put_wall", "gex_flip"]  # fmt: skip
    assert three[2]["net_gex"] != three[1]["net_gex"]  # more put OI: a more negative net
    assert (body["product"], body["expiry"], body["interval"]) == ("NIFTY", EXPIRY, "1m")
    assert (body["start"], body["end"]) == ("2026-11-21T04:00:00.000Z", "2026-11-21T04:02:00.000Z")


def test_series_defaults_to_the_last_hour(client: FlaskClient, three: list[dict[str, Any]]) -> None:
    body = get_ok(client, SERIES, SeriesSchema)  # the clock says 05:00
    assert (body["start"], body["end"]) == ("2026-11-21T04:00:00.000Z", "2026-11-21T05:00:00.000Z")
    assert [p["pcr_oi"] for p in body["points"]] == [2.0, 3.0]


def test_series_interval_metrics_and_clipping(
    client: FlaskClient, three: list[dict[str, Any]]
) -> None:
    body = get_ok(client, SERIES + "&interval=5m&metrics=max_pain,pcr_oi", SeriesSchema)
    assert body["metrics"] == ["pcr_oi", "max_pain"]
    assert body["points"] == [
        {"t": "2026-11-21T04:00:00.000Z", "pcr_oi": 3.0, "max_pain": three[2]["max_pain_strike"]}
    ]
    # from 04:00:51 the 04:00 bucket holds nothing (04:00:50 is before the range)
    clipped = get_ok(client, SERIES + "&metrics=pcr_oi&start=2026-11-21T04:00:51Z", SeriesSchema)
    assert clipped["points"] == [{"t": "2026-11-21T04:01:00.000Z", "pcr_oi": 3.0}]
    # an offset instant is the same instant: 09:30:30+05:30 is 04:00:30Z
    offset = get_ok(
        client, SERIES + "&metrics=pcr_oi&start=2026-11-21T09:30:30%2B05:30&end=2026-11-21T04:01Z",
        SeriesSchema,
    )  # fmt: skip
    assert offset["points"] == [{"t": "2026-11-21T04:00:00.000Z", "pcr_oi": 2.0}]
    empty = get_ok(client, SERIES + "&start=2026-11-21T03:00Z&end=2026-11-21T03:30Z", SeriesSchema)
    assert empty["points"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("&interval=2m", "interval"),
        ("&metrics=pcr_oi,iv", "metrics"),
        ("&start=2026-11-21T04:00Z&end=2026-11-21T04:00Z", "end"),
        ("&start=2026-10-01T00:00Z&end=2026-11-21T00:00Z", "start"),  # over 31 days
        ("&start=2026-11-19T00:00Z&end=2026-11-21T00:00Z", "interval"),  # 2880 one-minute buckets
        ("&start=2026-11-21T06:00Z", "end"),  # after now, the default end: as storage
        ("&start=yesterday", "start"),
        ("&start=1969-12-31T23:59Z", "start"),
        ("&limit=5", "limit"),  # unknown parameter
    ],
)
def test_series_validation_names_the_field(
    client: FlaskClient, three: list[dict[str, Any]], query: str, field: str
) -> None:
    error = get_error(client, SERIES + query, 422)
    assert error["code"] == "validation_error"
    assert field in error["fields"], error


def test_series_needs_a_valid_expiry_and_product(
    client: FlaskClient, three: list[dict[str, Any]]
) -> None:
    assert "expiry" in get_error(client, "/analytics/NIFTY/series", 422)["fields"]
    assert "expiry" in get_error(client, "/analytics/NIFTY/series?expiry=26-11-2026", 422)["fields"]
    bad = get_error(client, f"/analytics/nifty/series?expiry={EXPIRY}", 422)
    assert list(bad["fields"]) == ["product"]
    unknown_expiry = get_error(client, f"/analytics/NIFTY/series?expiry={EXPIRY_2}", 404)
    assert unknown_expiry["code"] == "not_found"
    assert "expiry" in unknown_expiry["fields"]
    unknown = get_error(client, f"/analytics/BANKNIFTY/series?expiry={EXPIRY}", 404)
    assert "BANKNIFTY" in unknown["message"]


@pytest.fixture
def oi_pair(store: SqliteStore) -> tuple[dict[str, Any], dict[str, Any]]:
    """04:00 with 21 strikes; 04:30 with 23 (23450 and 24550 new), call OI at 24000 +500
    and put OI at 24050 −200, every other OI unchanged."""
    before = enriched(at(0), 1)
    after = enriched(at(30), 2, n=23)
    for row in after["calls"]:
        row["oi"] += 500 if row["strike"] == 24_000.0 else 0
    for row in after["puts"]:
        row["oi"] -= 200 if row["strike"] == 24_050.0 else 0
    store.insert_chains([before, after])
    return before, after


def test_oi_change_between_two_instants(
    client: FlaskClient, oi_pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    url = f"/analytics/NIFTY/oi-change?expiry={EXPIRY}&from=2026-11-21T04:10Z&to=2026-11-21T04:40Z"
    body = get_ok(client, url, OiChangeSchema)
    assert (body["from_timestamp"], body["to_timestamp"]) == (wire(at(0)), wire(at(30)))
    rows = {r["strike"]: r for r in body["strikes"]}
    assert len(rows) == 23
    assert rows[24_000.0]["call_oi_change"] == 500
    assert rows[24_000.0]["call_oi_to"] - rows[24_000.0]["call_oi_from"] == 500
    assert rows[24_050.0]["put_oi_change"] == -200
    for new in (23_450.0, 24_550.0):
        assert rows[new]["call_oi_from"] is None
        assert rows[new]["call_oi_change"] is None
        assert rows[new]["put_oi_to"] is not None
    unchanged = [r for k, r in rows.items() if k not in (24_000.0, 23_450.0, 24_550.0)]
    assert {r["call_oi_change"] for r in unchanged} == {0}
    assert (body["total_call_oi_change"], body["total_put_oi_change"]) == (500, -200)
    # defaults: from an hour before now (04:00, a snapshot exactly then), to now
    default = get_ok(client, f"/analytics/NIFTY/oi-change?expiry={EXPIRY}", OiChangeSchema)
    assert default == body


def test_oi_change_before_any_snapshot_and_validation(
    client: FlaskClient, oi_pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    url = f"/analytics/NIFTY/oi-change?expiry={EXPIRY}&from=2026-11-21T03:00Z&to=2026-11-21T04:29Z"
    body = get_ok(client, url, OiChangeSchema)
    assert (body["from_timestamp"], body["to_timestamp"]) == (None, wire(at(0)))
    assert {r["call_oi_change"] for r in body["strikes"]} == {None}
    assert (body["total_call_oi_change"], body["total_put_oi_change"]) == (None, None)
    base = f"/analytics/NIFTY/oi-change?expiry={EXPIRY}"
    reversed_ = base + "&from=2026-11-21T05:00Z&to=2026-11-21T04:00Z"
    assert "to" in get_error(client, reversed_, 422)["fields"]
    assert list(get_error(client, base + "&from=2026-11-21T06:00Z", 422)["fields"]) == ["to"]
    assert "start" in get_error(client, url + "&start=2026-11-21T03:00Z", 422)["fields"]


def test_smile_from_redis_then_the_store(
    client: FlaskClient, store: SqliteStore, redis_client: redis.Redis
) -> None:
    stored = enriched(at(0), 1)
    store.insert_chains([stored])
    cached = enriched(at(5), 2, spot=24_020.0)
    put_chain(redis_client, "NIFTY", EXPIRY, orjson.dumps(cached))
    url = f"/analytics/NIFTY/smile?expiry={EXPIRY}"
    body = get_ok(client, url, SmileSchema)
    assert (body["timestamp"], body["spot"]) == (wire(at(5)), 24_020.0)
    redis_client.delete(Entry("NIFTY", EXPIRY).key)  # gone from latest:*
    body = get_ok(client, url, SmileSchema)
    assert (body["product"], body["expiry"]) == ("NIFTY", EXPIRY)
    assert (body["timestamp"], body["spot"]) == (wire(at(0)), 24_010.0)
    forward = stored["forward"]  # spot 24,010 carried 5.25 days at 6.5 %: 24,032.45
    assert body["forward"] == forward == pytest.approx(24_032.45, abs=0.01)
    assert body["atm_strike"] == 24_050.0  # the strike nearest the forward
    calls = {r["strike"]: r["iv"] for r in stored["calls"]}
    puts = {r["strike"]: r["iv"] for r in stored["puts"]}
    assert [p["strike"] for p in body["points"]] == sorted(calls)
    for p in body["points"]:
        k = p["strike"]
        assert p["moneyness"] == math.log(k / forward)
        assert (p["call_iv"], p["put_iv"]) == (calls[k], puts[k])
        assert p["otm_iv"] == (puts[k] if k < forward else calls[k])
    # the chain is priced on σ(K) = 0.15 − 0.1·ln(K/S) + 0.5·ln(K/S)²: at 23500,
    # ln(23500/24010) = −0.0214702 → 0.15 + 0.00214702 + 0.00023048 = 0.1523775
    assert body["points"][0]["otm_iv"] == pytest.approx(0.1523775, abs=1e-7)


def test_smile_of_an_expiry_only_in_redis(client: FlaskClient, redis_client: redis.Redis) -> None:
    chain = enriched(at(0), 4, expiry=EXPIRY_2)
    put_chain(redis_client, "NIFTY", EXPIRY_2, orjson.dumps(chain))
    body = get_ok(client, f"/analytics/NIFTY/smile?expiry={EXPIRY_2}", SmileSchema)
    assert body["timestamp"] == wire(at(0))
    assert len(body["points"]) == 21
    assert get_error(client, f"/analytics/NIFTY/smile?expiry={EXPIRY}", 404)["fields"] == {
        "expiry": ["no chain stored"]
    }
    assert get_error(client, "/analytics/FINNIFTY/smile?expiry=2026-11-26", 404)["fields"] == {}
    assert "expiry" in get_error(client, "/analytics/NIFTY/smile", 422)["fields"]
