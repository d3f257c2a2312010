"""Alerts on the dashboard, in Chromium, through the real path: auth_service, storage_service
and alert_service behind the api_gateway serving the built dashboard, the socket gateway, one
Redis (gunicorn and eventlet processes on 127.0.0.1). A NIFTY chain is stored and cached, so
the tiles show its statistics. An alert is created from a tile (refused first by the form's
own check, then by the service's 422 beside its field), listed, paused and deleted; one past
the user's limit is refused (409). Then ``alert`` events are sent to the user's room as the
workers send them: each trigger is toasted once, however often it is delivered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from common.timestamps import now_ts
from tests.e2e.alerts_page import AlertsPage, emit_alert, eventually, user_id
from tests.e2e.browser import signed_in
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.stacks import EXPIRY, dashboard_stack
from tests.integration.api_gateway.conftest import Stack

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(180)]

USER, PASSWORD = "alerts-viewer", "correct-horse-1"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    services = ("auth_service", "storage_service", "alert_service")
    workdir, env = tmp_path_factory.mktemp("alerts"), {"ALERTS_PER_USER": "1"}
    with dashboard_stack(workdir, services, env) as started:
        yield started


def _stored_alerts(stack: Stack, token: str) -> list[dict[str, Any]]:
    status, answer = stack.json("GET", "/api/alerts", token=token)
    assert status == 200, answer
    alerts: list[dict[str, Any]] = answer["alerts"]
    return alerts


def _shown(page: Any, testid: str) -> str:
    return str(page.get_by_test_id(testid).inner_text().strip())


def test_an_alert_from_a_tile_is_created_listed_paused_and_deleted(stack: Stack) -> None:
    token = stack.login(USER, PASSWORD)["access_token"]  # registers, then logs in
    with signed_in(stack.url, USER, PASSWORD) as (page, errors):
        alerts = AlertsPage(page)
        eventually(lambda: _shown(page, "tile-atm-iv-value") not in {"", "—"}, 30, "ATM IV")
        eventually(lambda: page.get_by_test_id("alerts-empty").is_visible(), 10, "no alerts")
        atm_iv = _shown(page, "tile-atm-iv-value")  # "15.03%"
        alerts.open_from_tile("tile-atm-iv")
        # the tile's percentage as a number ("12.70%" is prefilled "12.7")
        assert float(alerts.field("value").input_value()) == float(atm_iv.removesuffix("%"))
        assert alerts.dialog.get_by_test_id("alert-unit").inner_text() == "%"
        assert alerts.field("expiry").input_value() == EXPIRY

        alerts.fill(value="")  # the form's own check: nothing is sent
        alerts.submit()
        eventually(lambda: alerts.error("value") == "Enter a number", 5, "the value refused")
        assert alerts.field("value").get_attribute("aria-invalid") == "true"
        assert _stored_alerts(stack, token) == []

        # The service's own check (the webhook's host must be public): its 422 by its field.
        alerts.fill(value="30", op="crosses_below", webhook="http://127.0.0.1:9/hook")
        alerts.submit()
        eventually(lambda: alerts.error("webhook_url") is not None, 10, "the service's 422")
        assert alerts.error("value") is None
        assert alerts.field("webhook").get_attribute("aria-invalid") == "true"
        page.screenshot(path=str(ARTIFACTS / "dashboard-alert-form-1280x800.png"))

        created = alerts.create(webhook="")
        assert created["active"] is True
        assert created["text"] == {
            "alert-product": "NIFTY", "alert-metric": "ATM IV", "alert-op": "crosses below",
            "alert-threshold": "30.00%", "alert-expiry": created["text"]["alert-expiry"],
            "alert-state": "Active",
        }  # fmt: skip
        assert created["text"]["alert-expiry"].startswith(str(int(EXPIRY[8:])))
        (stored,) = _stored_alerts(stack, token)
        assert stored["id"] == created["id"]
        assert (stored["metric"], stored["op"]) == ("atm_iv", "crosses_below")
        assert (stored["value"], stored["expiry"], stored["active"]) == (0.3, EXPIRY, True)

        alerts.open_from_tile("tile-spot")  # one alert is this user's limit: a 409
        alerts.submit()
        eventually(lambda: alerts.form_error() is not None, 10, "the limit said")
        assert str(alerts.form_error()).startswith("Alert limit reached: ")
        alerts.dialog.get_by_test_id("alert-cancel").click()
        alerts.wait_closed()
        _check_strike_form(page, alerts)

        alerts.toggle(created["id"], to_active=False)
        assert alerts.items()[0]["text"]["alert-state"] == "Paused"
        assert _stored_alerts(stack, token)[0]["active"] is False
        page.set_viewport_size({"width": 390, "height": 844})
        eventually(lambda: page.evaluate("document.documentElement.scrollWidth") <= 390,
                   10, "the page fits a 390 px screen")  # fmt: skip
        page.get_by_test_id("alerts").screenshot(path=str(ARTIFACTS / "dashboard-alerts-390.png"))
        alerts.delete(created["id"])
        assert _stored_alerts(stack, token) == []
        assert page.get_by_test_id("alerts-empty").is_visible()
        assert errors == [], errors


def _check_strike_form(page: Any, alerts: AlertsPage) -> None:
    """The bell of the ATM strike's row: its out-of-the-money side's IV, the strike and expiry
    named; closed with Escape."""
    table = page.get_by_test_id("chain-table")
    atm, level = float(table.get_attribute("data-atm")), float(table.get_attribute("data-level"))
    row = page.locator(f'[data-testid="chain-row"][data-strike="{atm:g}"]')
    side = "call" if atm >= level else "put"
    iv = row.locator(f'td[data-col="{side}-iv"]').inner_text().strip()  # "12.35"
    opened_on = dt.date.today()
    alerts.open_from_strike(atm)
    assert alerts.field("side").input_value() == side.upper()
    assert alerts.field("metric").input_value() == "iv"
    assert f"{float(alerts.field('value').input_value()):.2f}" == iv
    summary = alerts.dialog.get_by_test_id("alert-summary").inner_text()
    expiry = dt.date.fromisoformat(EXPIRY)  # "13 Dec (Sun) · 7d"

    def label(today: dt.date) -> str:
        year = "" if expiry.year == today.year else f" {expiry.year}"
        return f"{expiry.day} {expiry:%b}{year} ({expiry:%a}) · {(expiry - today).days}d"

    # The page counts the days on its own clock: either date if midnight passed meanwhile.
    shown = {f"NIFTY · {label(d)} · strike {atm:,.0f}" for d in (opened_on, dt.date.today())}
    assert summary in shown, (summary, shown)
    page.keyboard.press("Escape")
    alerts.wait_closed()


def _trigger(trigger_id: str, **extra: Any) -> dict[str, Any]:
    """A trigger document as the workers emit it: ATM IV crossing 25 % on NIFTY."""
    return {
        "trigger_id": trigger_id, "alert_id": "al_AAAAAAAAAAAAAAAAAAAAAA", "owner": "",
        "product": "NIFTY", "expiry": EXPIRY, "metric": "atm_iv", "op": "crosses_above",
        "strike": None, "option_type": None, "value": 0.2531, "threshold": 0.25,
        "timestamp": now_ts(), "triggered_at": now_ts(), "note": None, **extra,
    }  # fmt: skip


def _newest_first(t: dict[str, Any]) -> tuple[float, str]:
    """The history's order: newest decided first, then by trigger id."""
    return (-dt.datetime.fromisoformat(t["triggered_at"]).timestamp(), t["trigger_id"])


def _local_time(ts: str, today: dt.date) -> str:
    """The data's time as the page shows it on ``today``: local (Chromium runs in this
    process's zone), with its date when that is not ``today``."""
    local = dt.datetime.fromisoformat(ts).astimezone()
    if local.date() == today:
        return f"{local:%H:%M:%S}"
    return f"{local.day} {local:%b %H:%M:%S}"


def test_an_alert_event_is_toasted_once_per_trigger(stack: Stack) -> None:
    user = "alerts-toasted"
    me = user_id(stack.login(user, PASSWORD)["access_token"])
    with signed_in(stack.url, user, PASSWORD) as (page, errors):
        alerts = AlertsPage(page)
        status = page.get_by_test_id("connection-status")
        eventually(lambda: status.get_attribute("data-status") == "live", 30, "socket live")
        first = _trigger("a1" * 16, owner=me)
        sent_on = dt.date.today()
        emit_alert(stack.redis_url, me, first)
        shown = alerts.wait_toast(first["trigger_id"])
        # The page dates the time on its own clock: either day if midnight passed meanwhile.
        times = {f"data at {_local_time(first['timestamp'], d)}"
                 for d in (sent_on, dt.date.today())}  # fmt: skip
        assert shown.pop("time") in times, (shown, times)
        assert shown == {
            "trigger_id": first["trigger_id"], "product": "NIFTY",
            "title": "NIFTY · ATM IV crosses above", "value": "25.31%", "threshold": "25.00%",
        }  # fmt: skip
        assert alerts.history()[0] == first["trigger_id"]

        # Delivered again (at least once), then another trigger, of another product: the
        # repeat shows nothing, the other its own toast in its own currency.
        emit_alert(stack.redis_url, me, first)
        other = _trigger("b2" * 16, owner=me, product="BTC", metric="spot", expiry=None,
                         value=97_010.5, threshold=97_000.0)  # fmt: skip
        emit_alert(stack.redis_url, me, other)
        alerts.wait_toast(other["trigger_id"])
        toasts = alerts.toasts()
        assert [t["trigger_id"] for t in toasts] == [first["trigger_id"], other["trigger_id"]]
        assert (toasts[1]["value"], toasts[1]["threshold"]) == ("97,010.50", "97,000.00")
        newest_first = sorted([first, other], key=_newest_first)
        assert alerts.history() == [t["trigger_id"] for t in newest_first]
        page.screenshot(path=str(ARTIFACTS / "dashboard-alert-toasts-1280x800.png"))

        alerts.close_toast(first["trigger_id"])
        emit_alert(stack.redis_url, me, first)  # closed, delivered again: still not shown
        # The other toast goes by itself about 10 s after it came.
        alerts.toast(other["trigger_id"]).wait_for(state="detached", timeout=20_000)
        assert alerts.toasts() == []
        assert errors == [], errors
