"""The age of the newest data (common/latest.py): read from the bytes' origin ``timestamp``,
judged against the product's ``stale_after_s`` (common/products.py), marked without
re-encoding the body."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from common.latest import (
    DataAge,
    data_age,
    data_age_headers,
    mark_data_age,
    mark_data_age_fields,
    origin_timestamp,
    stamp_age,
)
from common.products import ConventionsRegistry, ProductConventions, serving_registry
from common.settings import SettingsError, load_settings
from tests.support.snapshots import enriched

ORIGIN = dt.datetime(2026, 12, 2, 10, 0, 0, 125_000, tzinfo=dt.UTC).timestamp()
TICK = (
    b'{"type":"underlying","product":"NIFTY","price":24000.5,"volume":3,'
    b'"timestamp":"2026-12-02T10:00:00.125Z","seq":9,"processed_at":"2026-12-02T10:00:00.200Z"}'
)


def test_the_origin_is_the_top_level_timestamp() -> None:
    assert origin_timestamp(TICK) == ORIGIN
    chain = enriched(3, minutes=2)  # a real enriched chain: timestamp after the strikes
    raw = orjson.dumps(chain)
    expected = dt.datetime.fromisoformat(chain["timestamp"][:-1]).replace(tzinfo=dt.UTC)
    assert origin_timestamp(raw) == expected.timestamp()
    # Not in the wire format where first found (spaces, another order): decoded whole.
    spaced = b'{"note": {"timestamp": "later"}, "timestamp": "2026-12-02T10:00:00.125Z"}'
    assert origin_timestamp(spaced) == ORIGIN
    assert origin_timestamp(b'{"product":"NIFTY"}') is None
    assert origin_timestamp(b"not json") is None
    assert origin_timestamp(b'{"timestamp":"yesterday"}') is None


def test_age_against_the_limit() -> None:
    assert data_age(TICK, ORIGIN + 5.0, 5.0) == DataAge(5.0, 5.0)
    assert not DataAge(5.0, 5.0).stale  # at the limit: not yet
    assert DataAge(5.001, 5.0).stale
    assert data_age(TICK, ORIGIN - 3.0, 5.0) == DataAge(0.0, 5.0)  # the origin's clock ahead
    assert data_age(b'{"seq":1}', ORIGIN, 5.0) is None
    assert stamp_age("2026-12-02T10:00:00.125Z", ORIGIN + 120.5, 10.0) == DataAge(120.5, 10.0)
    assert stamp_age(None, ORIGIN, 10.0) is None


def test_headers() -> None:
    assert data_age_headers(DataAge(2.5, 10.0)) == {"X-Data-Age": "2.500", "X-Data-Age-Limit": "10"}
    assert data_age_headers(DataAge(120.0, 5.0)) == {
        "X-Data-Age": "120.000", "X-Data-Age-Limit": "5", "X-Data-Age-Stale": "true",
    }  # fmt: skip
    assert data_age_headers(None) == {}


@pytest.mark.parametrize(
    ("body", "marked"),
    [
        (b'{"a":1}', b'{"data_age_stale":true,"data_age_s":12.5,"a":1}'),
        (b"{}", b'{"data_age_stale":true,"data_age_s":12.5}'),
        (b'{ "a": 1}', b'{"data_age_stale":true,"data_age_s":12.5,"a": 1}'),
        # the cache's stale copy keeps "stale" first
        (b'{"stale":true,"a":1}', b'{"stale":true,"data_age_stale":true,"data_age_s":12.5,"a":1}'),
        (b'{"stale":true}', b'{"stale":true,"data_age_stale":true,"data_age_s":12.5}'),
    ],
)
def test_a_stale_body_is_marked_in_front(body: bytes, marked: bytes) -> None:
    out = mark_data_age(body, DataAge(12.5, 10.0))
    assert out == marked
    assert orjson.loads(out) == {"data_age_stale": True, "data_age_s": 12.5, **orjson.loads(body)}


def test_a_fresh_body_is_left_alone() -> None:
    assert mark_data_age(TICK, DataAge(4.0, 5.0)) is TICK
    assert mark_data_age(TICK, None) is TICK
    with pytest.raises(ValueError, match="JSON object"):
        mark_data_age(b"[1]", DataAge(12.0, 5.0))
    payload = {"product": "NIFTY", "seq": 1}
    assert mark_data_age_fields(payload, DataAge(4.0, 5.0)) is payload
    assert mark_data_age_fields(payload, DataAge(6.0, 5.0)) == {
        "data_age_stale": True, "data_age_s": 6.0, "product": "NIFTY", "seq": 1,
    }  # fmt: skip


def test_the_limit_is_per_product() -> None:
    registry = ConventionsRegistry.standard()
    assert registry.get("NIFTY").stale_after_s == 5.0
    assert registry.get("BANKNIFTY").stale_after_s == 5.0
    assert registry.get("BTC").stale_after_s == registry.get("ETH").stale_after_s == 10.0
    assert registry.get("UNLISTED").stale_after_s == 5.0
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="stale_after_s"):
            ProductConventions(stale_after_s=bad)


def test_the_setting_moves_the_nse_limit_not_deribits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_STALE_AFTER_S", raising=False)
    assert serving_registry(load_settings()).get("NIFTY").stale_after_s == 5.0
    monkeypatch.setenv("DATA_STALE_AFTER_S", "30")  # a feed sending a chain every 10 s, say
    registry = serving_registry(load_settings())
    assert registry.get("NIFTY").stale_after_s == registry.get("UNLISTED").stale_after_s == 30.0
    assert registry.get("NIFTY").contract_size == 75.0  # the rest of its conventions kept
    assert registry.get("BTC").stale_after_s == 10.0  # the venue's own
    for bad in ("0", "-5", "soon"):
        monkeypatch.setenv("DATA_STALE_AFTER_S", bad)
        with pytest.raises(SettingsError, match="DATA_STALE_AFTER_S"):
            load_settings()
