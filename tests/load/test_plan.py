"""The load test's plain logic: the crash-day curve, views, user names, tokens, latency."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tests.load.optionsflow_load.plan import (
    ANALYTICS_WEIGHTS,
    CrashDay,
    Tokens,
    View,
    analytics_query,
    backoff_s,
    delivery_latency_ms,
    parse_catalogue,
    pick_analytics,
    pick_view,
    socket_url,
    username,
)

PRODUCTS = {
    "products": [
        {"product": "NIFTY", "expiries": ["2026-12-15", "2026-12-08", "2027-01-26"]},
        {"product": "INFY", "expiries": ["2026-12-29"]},
        {"product": "NEW", "expiries": []},
        {"product": 7, "expiries": ["2026-12-29"]},
    ]
}


def test_crash_day_holds_the_morning_ramps_to_the_peak_holds_it_then_ends() -> None:
    plan = CrashDay(
        start_users=200, peak_users=2000, baseline_s=60, ramp_s=600, hold_s=1200, spawn_rate=25
    )
    assert plan.target(0) == (200, 25)
    assert plan.target(59.9) == (200, 25)
    assert plan.target(60) == (2000, 3.0)  # 1,800 users over 600 s
    assert plan.target(659.9) == (2000, 3.0)
    assert plan.target(660) == (2000, 3.0)  # held
    assert plan.target(1859.9) == (2000, 3.0)
    assert plan.target(1860) is None
    assert plan.duration_s == 1860


def test_crash_day_ramp_spreads_its_users_over_the_ramp() -> None:
    assert CrashDay(start_users=4, peak_users=24, ramp_s=90).ramp_rate == pytest.approx(20 / 90)
    flat = CrashDay(start_users=5, peak_users=5, baseline_s=0, ramp_s=1, hold_s=0, spawn_rate=7)
    assert flat.target(0) == (5, 7.0)
    assert flat.target(1) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_users": 0},
        {"start_users": 300, "peak_users": 200},
        {"ramp_s": 0},
        {"hold_s": -1},
        {"baseline_s": -1},
        {"spawn_rate": 0},
    ],
)
def test_crash_day_refuses_a_curve_that_cannot_run(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"must be|need"):
        CrashDay(**kwargs)  # type: ignore[arg-type]


def test_catalogue_keeps_products_with_expiries_sorted_and_filters() -> None:
    assert parse_catalogue(PRODUCTS) == {
        "INFY": ("2026-12-29",),
        "NIFTY": ("2026-12-08", "2026-12-15", "2027-01-26"),
    }
    assert parse_catalogue(PRODUCTS, only=["NIFTY"]) == {
        "NIFTY": ("2026-12-08", "2026-12-15", "2027-01-26")
    }
    assert parse_catalogue(None) == {}
    assert parse_catalogue({"products": "no"}) == {}


def test_views_prefer_the_nearest_expiry_and_cover_every_product() -> None:
    catalogue = parse_catalogue(PRODUCTS)
    rng = random.Random(7)
    views = Counter(pick_view(catalogue, rng) for _ in range(6000))
    assert {v.product for v in views} == {"NIFTY", "INFY"}
    nifty = [views[View("NIFTY", e)] for e in catalogue["NIFTY"]]
    assert nifty[0] > nifty[1] > nifty[2] > 0
    # weights 1, 1/2, 1/3: the nearest expiry is 6/11 of a product's views
    assert nifty[0] / sum(nifty) == pytest.approx(6 / 11, abs=0.03)
    with pytest.raises(ValueError, match="no product"):
        pick_view({}, rng)


def test_every_analytics_route_has_a_query_and_is_picked_by_weight() -> None:
    view = View("NIFTY", "2026-12-08")
    for route in ANALYTICS_WEIGHTS:
        query = analytics_query(route, view)
        needs_expiry = route in ("series", "oi-change", "smile")
        assert (query.get("expiry") == "2026-12-08") is needs_expiry
    with pytest.raises(ValueError, match="unknown"):
        analytics_query("nope", view)
    rng = random.Random(3)
    picks = Counter(pick_analytics(rng) for _ in range(14_000))
    total = sum(ANALYTICS_WEIGHTS.values())
    for route, weight in ANALYTICS_WEIGHTS.items():
        assert picks[route] / 14_000 == pytest.approx(weight / total, abs=0.02)


def test_user_names_follow_auth_service_rules() -> None:
    assert username("loadtest", 0, 17) == "loadtest-0-17"
    assert username("a" * 16, 99, 999_999) == "a" * 16 + "-99-999999"
    for bad in ("", "a" * 17, "has space", "ünï"):
        with pytest.raises(ValueError, match="prefix"):
            username(bad, 0, 0)
    with pytest.raises(ValueError, match="rule"):
        username("a" * 16, 12_345, 123_456_789_012)  # 33 characters


def test_tokens_refresh_a_minute_before_expiry_or_a_fifth_of_short_lifetimes() -> None:
    answer = {"access_token": "a", "refresh_token": "r", "expires_in": 900}
    tokens = Tokens.from_answer(answer, now=1000.0)
    assert not tokens.refresh_due(1000.0 + 839.9)
    assert tokens.refresh_due(1000.0 + 840.0)
    short = Tokens.from_answer({**answer, "expires_in": 100}, now=0.0)
    assert not short.refresh_due(79.9)
    assert short.refresh_due(80.0)
    for broken in ({}, {**answer, "expires_in": 0}, {**answer, "access_token": ""}, [answer]):
        with pytest.raises(ValueError, match="token answer"):
            Tokens.from_answer(broken, now=0.0)


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    rng = random.Random(1)
    assert backoff_s(0, rng) == 0.0
    for failures, ceiling in ((1, 2.0), (2, 4.0), (3, 8.0), (6, 60.0), (40, 60.0)):
        waits = [backoff_s(failures, rng, first_s=2.0, cap_s=60.0) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # spread: users do not retry in step


def test_socket_url_follows_the_dashboards_config() -> None:
    host = "http://127.0.0.1:8000"
    assert socket_url(host, {"socket_url": None, "socket_port": 8002}) == "http://127.0.0.1:8002"
    explicit = {"socket_url": "https://live.example.com/", "socket_port": 8002}
    assert socket_url(host, explicit) == "https://live.example.com"
    assert socket_url("http://[::1]:8000", {"socket_port": 9}) == "http://[::1]:9"
    with pytest.raises(ValueError, match="socket_port"):
        socket_url(host, {"socket_url": None})
    with pytest.raises(ValueError, match="host"):
        socket_url("127.0.0.1:8000", {"socket_port": 8002})


def test_delivery_latency_is_from_the_origin_timestamp() -> None:
    origin = "2026-11-21T09:41:00.123Z"
    epoch = 1_795_254_060.123  # that instant
    assert delivery_latency_ms(origin, epoch + 0.25) == pytest.approx(250.0)
    assert delivery_latency_ms("2026-11-21T09:41:00.123", epoch + 1) == pytest.approx(1000.0)
    assert delivery_latency_ms(origin, epoch - 5) == 0.0  # a clock behind the feed's
    assert delivery_latency_ms(None, epoch) is None
    assert delivery_latency_ms("yesterday", epoch) is None
