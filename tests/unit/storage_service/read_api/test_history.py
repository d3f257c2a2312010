"""Chain history: windows, projection, keyset pages through opaque cursors, validation."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from flask import Flask

from common.api.data import HistoryResponse, encode_cursor
from storage_service.cache import MAX_BODY_BYTES
from store.sqlite import SqliteStore
from tests.support.chains import EXPIRY
from tests.support.snapshots import T0, at, small, wire
from tests.unit.storage_service.read_api.conftest import AppFactory
from tests.unit.storage_service.read_api.faults import FaultyStore
from tests.unit.storage_service.read_api.support import N_SNAPSHOTS, error_fields

WINDOW = {"expiry": EXPIRY, "start": wire(0), "end": wire(60)}


def _get(app: Flask, product: str = "NIFTY", **query: Any) -> Any:
    return app.test_client().get(f"/data/chain/{product}/history?{urlencode(query)}")


def test_a_page_holds_the_stored_snapshots_in_order(
    app: Flask, snapshots: list[dict[str, Any]]
) -> None:
    resp = _get(app, **{**WINDOW, "start": wire(2), "end": wire(5)})
    body = resp.get_json()
    assert resp.status_code == 200
    assert body == {
        "product": "NIFTY", "expiry": EXPIRY, "start": wire(2), "end": wire(5),
        "items": snapshots[2:5], "next_cursor": None,
    }  # fmt: skip
    assert HistoryResponse().validate(body) == {}


def test_fields_keep_the_named_ones_and_the_chain_key(
    app: Flask, snapshots: list[dict[str, Any]]
) -> None:
    body = _get(app, **WINDOW, fields="spot_price, pcr_oi,pcr_oi").get_json()
    keep = ("product", "expiry", "timestamp", "seq", "spot_price", "pcr_oi")
    assert body["items"] == [{k: doc[k] for k in keep} for doc in snapshots]
    assert all(set(item) == set(keep) for item in body["items"])


def test_three_pages_give_every_row_exactly_once(app: Flask, sqlite_store: SqliteStore) -> None:
    expected = sqlite_store.chain_history("NIFTY", EXPIRY, at(0), at(60), limit=100)
    assert len(expected) == N_SNAPSHOTS
    pages, cursor = [], None
    for _ in range(3):
        query = {**WINDOW, "limit": 5, **({"cursor": cursor} if cursor else {})}
        body = _get(app, **query).get_json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
    assert [len(page) for page in pages] == [5, 5, 2]
    assert cursor is None
    assert [row for page in pages for row in page] == expected
    last_of_first = pages[0][-1]
    assert _get(app, **WINDOW, limit=5).get_json()["next_cursor"] == encode_cursor(
        last_of_first["timestamp"], last_of_first["seq"]
    )


def test_instants_take_offsets_and_naive_means_utc(app: Flask) -> None:
    offset = _get(app, expiry=EXPIRY, start="2026-11-21T09:32:00+05:30", end="2026-11-21T04:04")
    body = offset.get_json()
    assert (body["start"], body["end"]) == (wire(2), wire(4))
    assert [row["seq"] for row in body["items"]] == [3, 4]


def test_default_window_is_the_hour_before_now_rounded_up_to_the_cache_step(
    make_app: AppFactory,
) -> None:
    now = T0 + dt.timedelta(minutes=50, seconds=1, milliseconds=200)
    app = make_app(clock=lambda: now, cache_ttl_s=5)
    body = _get(app, expiry=EXPIRY).get_json()
    assert (body["start"], body["end"]) == ("2026-11-21T03:50:05.000Z", "2026-11-21T04:50:05.000Z")
    assert len(body["items"]) == N_SNAPSHOTS
    only_end = _get(app, expiry=EXPIRY, end=wire(5)).get_json()
    assert (only_end["start"], only_end["end"]) == (wire(-55), wire(5))


def test_a_page_is_cached(app: Flask, faulty: FaultyStore) -> None:
    first, again = _get(app, **WINDOW), _get(app, **WINDOW)
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("miss", "hit")
    assert first.data == again.data
    assert faulty.calls["chain_history"] == 1


def test_unknown_product_or_expiry_is_404(app: Flask, faulty: FaultyStore) -> None:
    assert _get(app, "SENSEX", **WINDOW).status_code == 404
    assert _get(app, **{**WINDOW, "expiry": "2030-01-31"}).status_code == 404
    assert faulty.calls["chain_history"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": encode_cursor("yesterday", 3)}, "cursor"),
        ({"cursor": encode_cursor(wire(1), -3)}, "cursor"),
        ({"fields": "spot_price,nope"}, "fields"),
        ({"fields": "spot_price,,pcr_oi"}, "fields"),
        ({"start": wire(5), "end": wire(5)}, "end"),
        ({"start": wire(6), "end": wire(5)}, "end"),
        ({"start": "2026-10-21T03:59:59.999Z", "end": wire(0)}, "start"),
        ({"start": "2026-10-01T00:00:00Z"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-11-21T04:00:00+25:00"}, "end"),
        ({"start": "0001-01-01T00:00:00+01:00"}, "start"),  # before datetime.min in UTC
        ({"start": None, "end": "9999-12-31T23:59:59-01:00"}, "end"),  # after datetime.max
        ({"start": None, "end": "9999-12-31T23:59:59.9995Z"}, "end"),  # rounds up past it
        ({"start": "0001-01-01T00:00:00Z"}, "start"),
        ({"start": "1969-12-31T23:59:59.999Z"}, "start"),
        ({"start": "8999-12-31T00:00:00Z", "end": "9000-01-01T00:00:00Z"}, "end"),
        ({"limit": 0}, "limit"),
        ({"limit": 5001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"expiry": "2026-11-31"}, "expiry"),
        ({"expiry": None}, "expiry"),
        ({"strike": "24000"}, "strike"),
    ],
)
def test_invalid_history_queries_are_422_naming_the_field(
    make_app: AppFactory, query: dict[str, Any], field: str
) -> None:
    app = make_app(clock=lambda: T0 + dt.timedelta(minutes=30))
    params = {k: v for k, v in {**WINDOW, **query}.items() if v is not None}
    resp = _get(app, **params)
    assert resp.status_code == 422, resp.get_json()
    assert error_fields(resp.get_json()) == [field]


def test_a_bad_product_is_422_naming_it(app: Flask) -> None:
    resp = _get(app, "Nifty", **WINDOW)
    assert resp.status_code == 422
    assert error_fields(resp.get_json()) == ["product"]


@pytest.mark.parametrize(
    ("start", "end", "echo"),
    [
        ("1970-01-01T00:00:00Z", "1970-01-01T02:00:00+01:00",
         ("1970-01-01T00:00:00.000Z", "1970-01-01T01:00:00.000Z")),
        (None, "1970-01-01T00:00:00.001Z",
         ("1969-12-31T23:00:00.001Z", "1970-01-01T00:00:00.001Z")),
        ("8999-12-31T23:00:00Z", "8999-12-31T23:59:59.9999Z",
         ("8999-12-31T23:00:00.000Z", "9000-01-01T00:00:00.000Z")),
    ],
)  # fmt: skip
def test_instants_at_the_ends_of_the_range_are_answered(
    app: Flask, start: str | None, end: str, echo: tuple[str, str]
) -> None:
    query = {"expiry": EXPIRY, "end": end, **({"start": start} if start else {})}
    resp = _get(app, **query)
    assert resp.status_code == 200, resp.get_json()
    assert (resp.get_json()["start"], resp.get_json()["end"]) == echo
    assert resp.get_json()["items"] == []


def test_a_31_day_span_is_allowed(app: Flask) -> None:
    resp = _get(app, expiry=EXPIRY, start="2026-10-21T04:00:00Z", end=wire(0))
    assert resp.status_code == 200
    assert resp.get_json()["items"] == []


def _history_keys(redis_client: redis.Redis) -> list[bytes]:
    return list(redis_client.scan_iter("cache:history:*"))


def test_a_page_over_a_mebibyte_is_served_but_not_cached(
    app: Flask, sqlite_store: SqliteStore, faulty: FaultyStore, redis_client: redis.Redis
) -> None:
    big = {**small(40, minutes=20), "note": "x" * MAX_BODY_BYTES}
    sqlite_store.insert_chains([big])
    window = {"expiry": EXPIRY, "start": wire(20), "end": wire(21)}  # on the step: cacheable
    first, again = _get(app, **window), _get(app, **window)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.headers["X-Cache"] == again.headers["X-Cache"] == "bypass"
    assert first.get_json()["items"] == [big]
    assert faulty.calls["chain_history"] == 2  # read twice: nothing was kept
    assert _history_keys(redis_client) == []


def test_a_window_off_the_step_is_read_without_the_cache(
    app: Flask, faulty: FaultyStore, redis_client: redis.Redis, snapshots: list[dict[str, Any]]
) -> None:
    for ms in range(1, 6):  # a client asking "until now" to the millisecond
        resp = _get(app, expiry=EXPIRY, start=wire(0), end=wire(5, ms=ms))
        assert resp.status_code == 200
        assert resp.headers["X-Cache"] == "bypass"
        assert resp.get_json()["end"] == wire(5, ms=ms)
        assert resp.get_json()["items"] == snapshots[:6]  # the window asked for, exactly
    assert _get(app, expiry=EXPIRY, start=wire(0, ms=1), end=wire(5)).headers["X-Cache"] == "bypass"
    assert faulty.calls["chain_history"] == 6
    assert _history_keys(redis_client) == []
    assert _get(app, **WINDOW).headers["X-Cache"] == "miss"  # on the step: cached
    assert len(_history_keys(redis_client)) == 1


def test_default_windows_of_successive_steps_share_one_entry(
    make_app: AppFactory, faulty: FaultyStore, redis_client: redis.Redis
) -> None:
    now = [T0 + dt.timedelta(minutes=30)]
    app = make_app(clock=lambda: now[0], cache_ttl_s=5)
    ends = []
    for step in range(3):
        now[0] = T0 + dt.timedelta(minutes=30, seconds=5 * step + 1)
        resp = _get(app, expiry=EXPIRY)
        assert resp.headers["X-Cache"] == "miss"  # a new window: rebuilt
        ends.append(resp.get_json()["end"])
        assert _get(app, expiry=EXPIRY).headers["X-Cache"] == "hit"
    assert ends == ["2026-11-21T04:30:05.000Z", "2026-11-21T04:30:10.000Z",
                    "2026-11-21T04:30:15.000Z"]  # fmt: skip
    assert len(_history_keys(redis_client)) == 1
    assert faulty.calls["chain_history"] == 3
