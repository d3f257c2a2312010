"""The chain at a past instant (``GET /data/chain/<product>?at=``): the store's newest snapshot
at or before it, never ``latest:*``; cached like history pages once settled and on the step."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
import redis
from flask import Flask

from common.api.data import ChainResponse
from common.timestamps import format_ts
from tests.support.chains import EXPIRY
from tests.support.latest import put_chain
from tests.support.snapshots import EXPIRY_2, enriched, small, wire
from tests.unit.storage_service.read_api.conftest import AppFactory
from tests.unit.storage_service.read_api.faults import FaultyStore, Mode
from tests.unit.storage_service.read_api.support import (
    NOW,
    cache_requests,
    context,
    error_fields,
)


def _get(app: Flask, product: str = "NIFTY", **query: Any) -> Any:
    return app.test_client().get(f"/data/chain/{product}?{urlencode(query)}")


@pytest.mark.parametrize(
    ("at", "seq"),
    [
        (wire(3), 4),  # exactly a snapshot's timestamp: that one
        (wire(3, ms=-1), 3),  # a millisecond before it: the one before
        (wire(3.5), 4),  # between two: the earlier
        (wire(0), 1),  # the first one's instant
        (wire(25), 12),  # after the last (T0 + 11 min): the last
    ],
)
def test_the_newest_snapshot_at_or_before_the_instant(
    app: Flask, snapshots: list[dict[str, Any]], at: str, seq: int
) -> None:
    resp = _get(app, expiry=EXPIRY, at=at)
    assert resp.status_code == 200
    body = {k: v for k, v in resp.get_json().items() if not k.startswith("data_age")}
    assert body == snapshots[seq - 1]
    assert ChainResponse().validate(resp.get_json()) == {}


def test_before_the_first_snapshot_is_404(app: Flask, faulty: FaultyStore) -> None:
    resp = _get(app, expiry=EXPIRY, at=wire(0, ms=-1))
    assert resp.status_code == 404
    error = resp.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["message"] == (
        f"no chain of NIFTY {EXPIRY} stored at or before 2026-11-21T03:59:59.999Z"
    )
    assert faulty.calls["chain_at"] == 1


def test_the_answer_is_the_stores_not_the_workers_newest(
    app: Flask, redis_client: redis.Redis, faulty: FaultyStore, snapshots: list[dict[str, Any]]
) -> None:
    put_chain(redis_client, "NIFTY", EXPIRY, orjson.dumps(enriched(40, minutes=29)))
    resp = _get(app, expiry=EXPIRY, at=wire(2, ms=1500))  # 1.5 s after seq 3: fresh at `at`
    assert resp.status_code == 200
    assert resp.data == orjson.dumps(snapshots[2])  # the stored bytes, unmarked
    assert faulty.calls["chain_at"] == 1
    assert faulty.calls["latest_chain"] == 0


def test_its_age_is_measured_at_the_instant(app: Flask, snapshots: list[dict[str, Any]]) -> None:
    fresh = _get(app, expiry=EXPIRY, at=wire(4, ms=2500))  # seq 5 was 2.5 s old then
    assert (fresh.headers["X-Data-Age"], fresh.headers["X-Data-Age-Limit"]) == ("2.500", "5")
    assert "X-Data-Age-Stale" not in fresh.headers
    assert fresh.data == orjson.dumps(snapshots[4])
    old = _get(app, expiry=EXPIRY, at=wire(4.5))  # 30 s: past NIFTY's 5 s, marked in front
    assert old.headers["X-Data-Age"] == "30.000"
    assert old.headers["X-Data-Age-Stale"] == "true"
    assert old.data == b'{"data_age_stale":true,"data_age_s":30.0,' + orjson.dumps(snapshots[4])[1:]


@pytest.mark.parametrize(
    ("clock", "at", "expected"),
    [
        # at's date (2026-11-21), not the clock's (2026-12-01): the NIFTY expiry of 11-26
        (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), wire(5), ("2026-11-26", 6)),
        # an offset: 2026-11-22T01:00+05:30 is 11-21 19:30 UTC, the date that counts
        (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "2026-11-22T01:00:00+05:30", ("2026-11-26", 12)),
        # 11-27: past 11-26, so 12-31 (its one chain, seq 2, stored at T0 + 1 min)
        (dt.datetime(2027, 1, 5, tzinfo=dt.UTC), "2026-11-27T12:00:00Z", (EXPIRY_2, 2)),
        # an expiry that ends on at's date still counts
        (dt.datetime(2026, 12, 1, tzinfo=dt.UTC), "2026-11-26T23:00:00Z", ("2026-11-26", 12)),
    ],
)
def test_expiry_omitted_means_the_nearest_stored_on_or_after_ats_date(
    make_app: AppFactory, clock: dt.datetime, at: str, expected: tuple[str, int]
) -> None:
    resp = _get(make_app(clock=lambda: clock), at=at)
    assert resp.status_code == 200
    body = resp.get_json()
    assert (body["expiry"], body["seq"]) == expected


def test_no_expiry_on_or_after_ats_date_or_an_unknown_one_is_404(
    make_app: AppFactory, faulty: FaultyStore
) -> None:
    app = make_app(clock=lambda: dt.datetime(2027, 3, 1, tzinfo=dt.UTC))
    none_left = _get(app, at="2027-01-01T00:00:00Z")
    assert none_left.status_code == 404
    assert none_left.get_json()["error"]["message"] == "no expiry of NIFTY on or after 2027-01-01"
    unknown = _get(app, expiry="2026-11-27", at=wire(5))
    assert unknown.status_code == 404
    assert _get(app, "SENSEX", at=wire(5)).status_code == 404
    assert faulty.calls["chain_at"] == 0  # the listing said so, without asking for a chain


@pytest.mark.parametrize(
    "at",
    [
        format_ts(NOW + dt.timedelta(milliseconds=1)),  # the future, by the service's clock
        "2026-11-22T00:00:00Z",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "",
        "0001-01-01T00:00:00Z",  # before 1970
    ],
)
def test_an_instant_in_the_future_or_not_an_instant_is_422_naming_at(
    app: Flask, faulty: FaultyStore, at: str
) -> None:
    resp = _get(app, expiry=EXPIRY, at=at)
    assert resp.status_code == 422
    assert resp.get_json()["error"]["code"] == "validation_error"
    assert error_fields(resp.get_json()) == ["at"]
    assert faulty.calls["chain_at"] == 0


def test_now_itself_is_not_the_future(app: Flask) -> None:
    resp = _get(app, expiry=EXPIRY, at=format_ts(NOW))
    assert resp.status_code == 200
    assert resp.get_json()["seq"] == 12


def test_a_settled_instant_on_the_step_is_cached(app: Flask, faulty: FaultyStore) -> None:
    misses, hits = cache_requests("chain_at", "miss"), cache_requests("chain_at", "hit")
    first, again = _get(app, expiry=EXPIRY, at=wire(5)), _get(app, expiry=EXPIRY, at=wire(5))
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert first.data == again.data
    assert faulty.calls["chain_at"] == 1
    assert cache_requests("chain_at", "miss") == misses + 1
    assert cache_requests("chain_at", "hit") == hits + 1


@pytest.mark.parametrize(
    ("at", "seq"),
    [
        (wire(5, ms=1), 6),  # off the 5 s step: one entry per millisecond is not kept
        (format_ts(NOW - dt.timedelta(seconds=5)), 12),  # on the step, 5 s ago: not settled
    ],
)
def test_other_instants_are_read_from_the_store_each_time(
    app: Flask, faulty: FaultyStore, redis_client: redis.Redis, at: str, seq: int
) -> None:
    replies = [_get(app, expiry=EXPIRY, at=at) for _ in range(2)]
    assert [r.headers["X-Cache"] for r in replies] == ["bypass", "bypass"]
    assert [r.get_json()["seq"] for r in replies] == [seq, seq]
    assert faulty.calls["chain_at"] == 2
    assert redis_client.keys("cache:chain-at:*") == []


def test_a_store_outage_with_nothing_cached_is_503(app: Flask, faulty: FaultyStore) -> None:
    assert _get(app, expiry=EXPIRY, at=wire(1)).status_code == 200  # the listing is cached
    faulty.mode, faulty.only = Mode.UNAVAILABLE, frozenset({"chain_at"})
    resp = _get(app, expiry=EXPIRY, at=wire(2))
    assert resp.status_code == 503
    assert resp.get_json()["error"]["code"] == "unavailable"
    assert int(resp.headers["Retry-After"]) >= 1


def test_a_cached_instant_is_served_stale_while_the_store_fails(
    make_app: AppFactory, faulty: FaultyStore
) -> None:
    clock = [NOW]
    app = make_app(clock=lambda: clock[0])
    context(app).cache.clock = lambda: clock[0].timestamp()
    assert _get(app, expiry=EXPIRY, at=wire(5)).headers["X-Cache"] == "miss"
    clock[0] = NOW + dt.timedelta(minutes=5)  # the entry is expired, kept as a stale copy
    faulty.mode, faulty.only = Mode.UNAVAILABLE, frozenset({"chain_at"})
    resp = _get(app, expiry=EXPIRY, at=wire(5))
    assert resp.status_code == 200
    assert (resp.headers["X-Cache"], resp.headers["X-Data-Stale"]) == ("stale", "true")
    assert resp.get_json()["stale"] is True
    assert resp.get_json()["seq"] == 6


def test_other_products_keep_their_own_chains(app: Flask) -> None:
    resp = _get(app, "BANKNIFTY", expiry=EXPIRY, at=wire(1))
    assert resp.status_code == 200
    # stored at T0, a minute before the instant: marked too old for NIFTY's 5 s limit
    marked = {"data_age_stale": True, "data_age_s": 60.0}
    assert resp.get_json() == small(5, product="BANKNIFTY") | marked
