"""OI change by strike between two snapshots."""

from __future__ import annotations

from typing import Any

from analytics_service.calc.oi import oi_change


def chain(ts: str, calls: dict[float, Any], puts: dict[float, Any]) -> dict[str, Any]:
    return {
        "timestamp": ts,
        "calls": [{"strike": k, "oi": v} for k, v in calls.items()],
        "puts": [{"strike": k, "oi": v} for k, v in puts.items()],
    }


def test_three_strikes_by_hand() -> None:
    before = chain("2026-11-21T04:00:00.000Z", {100.0: 1000, 110.0: 2000}, {100.0: 500, 110.0: 800})
    after = chain(
        "2026-11-21T05:00:00.000Z",
        {100.0: 1200, 110.0: 1500, 120.0: 300},
        {100.0: 650, 110.0: None, 120.0: 40},
    )
    got = oi_change(before, after)
    assert got["from_timestamp"] == "2026-11-21T04:00:00.000Z"
    assert got["to_timestamp"] == "2026-11-21T05:00:00.000Z"
    assert got["strikes"] == [
        # calls 1000 → 1200 (+200), puts 500 → 650 (+150)
        {"strike": 100.0, "call_oi_from": 1000, "call_oi_to": 1200, "call_oi_change": 200,
         "put_oi_from": 500, "put_oi_to": 650, "put_oi_change": 150},
        # calls 2000 → 1500 (−500); the put's OI is null now: no change
        {"strike": 110.0, "call_oi_from": 2000, "call_oi_to": 1500, "call_oi_change": -500,
         "put_oi_from": 800, "put_oi_to": None, "put_oi_change": None},
        # a strike listed only now: nothing to compare with
        {"strike": 120.0, "call_oi_from": None, "call_oi_to": 300, "call_oi_change": None,
         "put_oi_from": None, "put_oi_to": 40, "put_oi_change": None},
    ]  # fmt: skip
    assert got["total_call_oi_change"] == 200 - 500  # = -300, over the known changes
    assert got["total_put_oi_change"] == 150


def test_a_strike_delisted_and_whole_oi_floats() -> None:
    before = chain("t0", {100.0: 10.0, 90.0: 7}, {})
    after = chain("t1", {100.0: 12}, {})
    got = oi_change(before, after)
    assert [r["strike"] for r in got["strikes"]] == [90.0, 100.0]  # ascending
    assert got["strikes"][0]["call_oi_to"] is None
    assert got["strikes"][1]["call_oi_change"] == 2
    assert type(got["strikes"][1]["call_oi_from"]) is int  # 10.0 read as the count 10
    assert got["total_put_oi_change"] is None  # no put known on either side


def test_missing_snapshots() -> None:
    after = chain("t1", {100.0: 12}, {100.0: 3})
    got = oi_change(None, after)
    assert (got["from_timestamp"], got["to_timestamp"]) == (None, "t1")
    assert got["strikes"] == [{"strike": 100.0, "call_oi_from": None, "call_oi_to": 12,
                               "call_oi_change": None, "put_oi_from": None, "put_oi_to": 3,
                               "put_oi_change": None}]  # fmt: skip
    assert (got["total_call_oi_change"], got["total_put_oi_change"]) == (None, None)
    nothing = oi_change(None, None)
    assert nothing["strikes"] == []
    assert nothing["from_timestamp"] is None


def test_fractional_oi_in_coins_by_hand() -> None:
    """Deribit's OI is in BTC, 0.1 at a time: 0.3 → 0.4 is +0.1 (not 0.10000000000000003),
    and a fraction is no longer dropped as if it were no count."""
    before = chain("t0", {90_000.0: 0.3, 100_000.0: 1.6}, {90_000.0: 2.5})
    after = chain("t1", {90_000.0: 0.4, 100_000.0: 1.7}, {90_000.0: 2})
    got = oi_change(before, after)
    assert got["strikes"] == [
        {"strike": 90_000.0, "call_oi_from": 0.3, "call_oi_to": 0.4, "call_oi_change": 0.1,
         "put_oi_from": 2.5, "put_oi_to": 2, "put_oi_change": -0.5},
        {"strike": 100_000.0, "call_oi_from": 1.6, "call_oi_to": 1.7, "call_oi_change": 0.1,
         "put_oi_from": None, "put_oi_to": None, "put_oi_change": None},
    ]  # fmt: skip
    assert got["total_call_oi_change"] == 0.2
    assert got["total_put_oi_change"] == -0.5


def test_oi_that_is_no_quantity_counts_as_unknown() -> None:
    before = chain("t0", {1.0: -0.5, 2.0: True, 3.0: "7", 4.0: 3}, {})
    after = chain("t1", {1.0: 1, 2.0: 1, 3.0: 1, 4.0: 4.0}, {})
    got = oi_change(before, after)
    assert [r["call_oi_change"] for r in got["strikes"]] == [None, None, None, 1]
    assert type(got["strikes"][3]["call_oi_to"]) is int  # 4.0 read as the count 4
