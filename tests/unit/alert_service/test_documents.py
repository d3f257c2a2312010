"""alert_service/documents.py: a new alert's document, the PATCH merge rules, and the
errors naming the field (product, webhook_url, the rule's own)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from alert_service.documents import (
    Policy,
    merged_alert,
    new_alert,
    new_alert_id,
    new_webhook_secret,
    rule_of,
)
from alerts.rules import Metric, RuleError

NOW = dt.datetime(2026, 12, 6, 9, 41, 0, 123_000, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(seconds=5)
POLICY = Policy(products=frozenset({"NIFTY", "BTC"}))
ID = "al_" + "a" * 22
SECRET = "5e" * 32


def _new(body: dict[str, Any], policy: Policy = POLICY) -> dict[str, Any]:
    return new_alert(body, owner="u1", now=NOW, policy=policy,
                     new_id=lambda: ID, new_secret=lambda: SECRET)  # fmt: skip


def _merge(stored: dict[str, Any], change: dict[str, Any], now: dt.datetime = LATER) -> Any:
    return merged_alert(stored, change, now=now, policy=POLICY, new_secret=lambda: "ff" * 32)


def _error(call: Any) -> tuple[str, str]:
    with pytest.raises(RuleError) as caught:
        call()
    return caught.value.field, caught.value.message


IV_BODY = {"product": "NIFTY", "metric": "iv", "op": "crosses_above", "value": 0.25,
           "expiry": "2026-12-31", "strike": 24000.0, "option_type": "CALL"}  # fmt: skip


def test_a_new_alert_has_every_field_in_order() -> None:
    doc = _new({**IV_BODY, "webhook_url": "https://hooks.example.com/a", "note": "breakout"})
    assert list(doc.items()) == [
        ("id", ID), ("owner", "u1"), ("product", "NIFTY"), ("metric", "iv"),
        ("op", "crosses_above"), ("value", 0.25), ("expiry", "2026-12-31"),
        ("strike", 24000.0), ("option_type", "CALL"), ("cooldown_s", 300), ("window_s", None),
        ("active", True), ("webhook_url", "https://hooks.example.com/a"),
        ("webhook_secret", SECRET), ("note", "breakout"),
        ("created_at", "2026-12-06T09:41:00.123Z"), ("updated_at", "2026-12-06T09:41:00.123Z"),
    ]  # fmt: skip
    assert rule_of(doc).metric is Metric.IV  # the stored document reads back as its rule


def test_without_a_webhook_there_is_no_secret() -> None:
    doc = _new({"product": "BTC", "metric": "spot", "op": "below", "value": 90_000})
    assert (doc["webhook_url"], doc["webhook_secret"], doc["value"]) == (None, None, 90_000.0)


def test_ids_and_secrets_have_their_forms() -> None:
    ids = {new_alert_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"al_[A-Za-z0-9_-]{22}", i) for i in ids)
    assert re.fullmatch(r"[0-9a-f]{64}", new_webhook_secret())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**IV_BODY, "strike": None}, "strike"),  # iv needs its option
        ({**IV_BODY, "option_type": None}, "option_type"),
        ({"product": "NIFTY", "metric": "spot", "op": "above", "value": 1.0,
          "window_s": 300}, "window_s"),  # only for change_pct
        ({"product": "NIFTY", "metric": "spot", "op": "change_pct", "value": 2.0}, "window_s"),
        ({"product": "NIFTY", "metric": "spot", "op": "change_pct", "value": -2.0,
          "window_s": 300}, "value"),
        ({"product": "NIFTY", "metric": "spot", "op": "above", "value": 1.0,
          "expiry": "2026-12-31"}, "expiry"),  # the spot has no expiry
        ({**IV_BODY, "product": "SENSEX"}, "product"),  # not served
        ({**IV_BODY, "webhook_url": "http://127.0.0.1:9000/hook"}, "webhook_url"),
        ({**IV_BODY, "webhook_url": "http://10.1.2.3/hook"}, "webhook_url"),
        ({**IV_BODY, "webhook_url": "http://localhost/hook"}, "webhook_url"),
        ({**IV_BODY, "webhook_url": "ftp://hooks.example.com/"}, "webhook_url"),
    ],
)  # fmt: skip
def test_a_new_alert_at_fault_names_the_field(body: dict[str, Any], field: str) -> None:
    assert _error(lambda: _new(body))[0] == field


def test_the_unknown_product_message_lists_the_served_ones() -> None:
    assert _error(lambda: _new({**IV_BODY, "product": "SENSEX"})) == (
        "product", "not a product the platform serves (BTC, NIFTY)"
    )  # fmt: skip


def test_private_webhooks_when_allowed() -> None:
    allowed = Policy(products=POLICY.products, allow_private=True)
    doc = _new({**IV_BODY, "webhook_url": "http://127.0.0.1:9000/hook"}, allowed)
    assert (doc["webhook_url"], doc["webhook_secret"]) == ("http://127.0.0.1:9000/hook", SECRET)


# -- the PATCH merge rules --------------------------------------------------------------------


@pytest.fixture
def stored() -> dict[str, Any]:
    return _new(IV_BODY)


def test_pausing_changes_active_and_updated_at_only(stored: dict[str, Any]) -> None:
    paused = _merge(stored, {"active": False})
    assert paused == {**stored, "active": False, "updated_at": "2026-12-06T09:41:05.123Z"}


def test_a_change_that_changes_nothing_is_none(stored: dict[str, Any]) -> None:
    assert _merge(stored, {}) is None
    assert _merge(stored, {"value": 0.25, "active": True, "note": None}) is None


def test_updated_at_always_moves_forward(stored: dict[str, Any]) -> None:
    # the clock did not move on (or went back): a millisecond after the stored instant
    assert _merge(stored, {"value": 0.3}, now=NOW)["updated_at"] == "2026-12-06T09:41:00.124Z"
    earlier = NOW - dt.timedelta(hours=1)
    assert _merge(stored, {"value": 0.3}, now=earlier)["updated_at"] == "2026-12-06T09:41:00.124Z"


def test_the_merged_rule_is_checked_whole(stored: dict[str, Any]) -> None:
    # iv → spot leaves the strike, option type and expiry behind: each named in turn
    assert _error(lambda: _merge(stored, {"metric": "spot"}))[0] == "strike"
    assert _error(lambda: _merge(stored, {"metric": "spot", "strike": None}))[0] == "option_type"
    change = {"metric": "spot", "strike": None, "option_type": None}
    assert _error(lambda: _merge(stored, change))[0] == "expiry"
    spot = _merge(stored, {**change, "expiry": None, "value": 24_100})
    assert (spot["metric"], spot["strike"], spot["value"]) == ("spot", None, 24_100.0)
    assert _error(lambda: _merge(stored, {"op": "change_pct"}))[0] == "window_s"
    pct = _merge(stored, {"op": "change_pct", "window_s": 600, "value": 5})
    assert (pct["op"], pct["window_s"], pct["value"]) == ("change_pct", 600, 5.0)


def test_the_product_cannot_change(stored: dict[str, Any]) -> None:
    assert _error(lambda: _merge(stored, {"product": "BTC"}))[0] == "product"
    assert _merge(stored, {"product": "NIFTY"}) is None  # the same one is no change


def test_the_webhook_secret_follows_the_url(stored: dict[str, Any]) -> None:
    added = _merge(stored, {"webhook_url": "https://hooks.example.com/a"})
    assert added["webhook_secret"] == "ff" * 32  # made when the alert gets a URL
    moved = _merge(added, {"webhook_url": "https://hooks.example.com/b"})
    assert moved["webhook_secret"] == "ff" * 32  # kept: the owner already has it
    dropped = _merge(moved, {"webhook_url": None})
    assert (dropped["webhook_url"], dropped["webhook_secret"]) == (None, None)
    assert _error(lambda: _merge(stored, {"webhook_url": "http://192.168.1.1/"}))[0] == (
        "webhook_url"
    )


def test_a_stored_webhook_is_not_checked_again(stored: dict[str, Any]) -> None:
    """Stored while private addresses were allowed: the alert can still be paused."""
    private = {**stored, "webhook_url": "http://127.0.0.1/h", "webhook_secret": SECRET}
    assert _merge(private, {"active": False})["active"] is False
