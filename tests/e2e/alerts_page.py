"""The dashboard's alerts as a test drives them in Chromium (Playwright): the form opened from
a tile or a strike, the alerts panel (pause, resume, delete), the trigger history and the
toasts; and an ``alert`` event sent to a user's room as the workers send it (Socket.IO's Redis
message queue, write-only). Shared by the dashboard's alert tests, and meant for the one where
a rule fires from live data."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import orjson
import socketio
from playwright.sync_api import Locator, Page

from common.names import SOCKETIO_CHANNEL, user_room

ITEMS = """() => [...document.querySelectorAll('[data-testid="alert-item"]')].map((li) => ({
  id: li.dataset.alertId,
  active: li.dataset.active === "true",
  busy: li.getAttribute("aria-busy") === "true",
  text: Object.fromEntries([...li.querySelectorAll("span[data-testid]")]
    .filter((e) => !e.hidden).map((e) => [e.dataset.testid, e.textContent.trim()])),
}))"""
"""Every alert of the panel, in the order shown: id, active, busy and each visible field."""
TOASTS = """() => [...document.querySelectorAll('[data-testid="alert-toast"]')].map((t) => ({
  trigger_id: t.dataset.triggerId,
  product: t.dataset.product,
  title: t.querySelector('[data-testid="toast-title"]').textContent.trim(),
  value: t.querySelector('[data-testid="toast-value"]').textContent.trim(),
  threshold: t.querySelector('[data-testid="toast-threshold"]').textContent.trim(),
  time: t.querySelector('[data-testid="toast-time"]').textContent.trim(),
}))"""
"""Every toast shown, oldest first."""
HISTORY = """() => [...document.querySelectorAll('[data-testid="alert-trigger"]')]
  .map((li) => li.dataset.triggerId)"""
"""The trigger ids of the history list, newest first."""


def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``check`` every 0.1 s until it holds; an AssertionError naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def user_id(access_token: str) -> str:
    """The access token's subject: the user id whose room gets the user's ``alert`` events."""
    payload = access_token.split(".")[1]
    claims = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["sub"])


def emit_alert(redis_url: str, user: str, trigger: dict[str, Any]) -> None:
    """Send ``trigger`` as the workers do: the ``alert`` event to ``user``'s room, through the
    gateways' Redis message queue (a write-only manager: it reads nothing back)."""
    queue = socketio.RedisManager(redis_url, channel=SOCKETIO_CHANNEL, write_only=True)
    queue.emit("alert", trigger, room=user_room(user), namespace="/")


class AlertsPage:
    """The alert parts of a signed-in dashboard page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def by(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    # -- the form ----------------------------------------------------------------------

    @property
    def dialog(self) -> Locator:
        return self.by("alert-dialog")

    def open_from_tile(self, tile: str) -> None:
        """Press the bell of tile ``tile`` (``tile-atm-iv``…) and wait for the form."""
        self.by(f"{tile}-alert").click()
        self.dialog.wait_for(state="visible", timeout=10_000)

    def open_from_strike(self, strike: float) -> None:
        """Press the bell of the chain's row of ``strike`` and wait for the form."""
        row = self.page.locator(f'[data-testid="chain-row"][data-strike="{strike:g}"]')
        row.get_by_test_id("chain-row-alert").click()
        self.dialog.wait_for(state="visible", timeout=10_000)

    def field(self, name: str) -> Locator:
        """A control of the form: ``value``, ``op``, ``window``, ``expiry``, ``cooldown``,
        ``note``, ``webhook``, ``side``, ``metric``."""
        return self.dialog.get_by_test_id(f"alert-{name}")

    def fill(self, **values: str) -> None:
        """Type into the form's fields (selects are chosen by value)."""
        for name, value in values.items():
            control = self.field(name)
            if control.evaluate("(e) => e.tagName") == "SELECT":
                control.select_option(value)
            else:
                control.fill(value)

    def submit(self) -> None:
        self.dialog.get_by_test_id("alert-submit").click()

    def error(self, field: str) -> str | None:
        """The error shown under ``field`` (the server's name: ``value``, ``webhook_url``…);
        None when there is none."""
        line = self.dialog.get_by_test_id(f"alert-error-{field}")
        return line.inner_text().strip() if line.is_visible() else None

    def form_error(self) -> str | None:
        line = self.dialog.get_by_test_id("alert-form-error")
        return line.inner_text().strip() if line.is_visible() else None

    def wait_closed(self, timeout: float = 10) -> None:
        self.dialog.wait_for(state="hidden", timeout=timeout * 1000)

    def create(self, **values: str) -> dict[str, Any]:
        """Fill, submit, wait for the form to close; the new alert's entry of the panel."""
        before = {item["id"] for item in self.items()}
        self.fill(**values)
        self.submit()
        self.wait_closed()
        found: list[dict[str, Any]] = []

        def listed() -> bool:
            found[:] = [item for item in self.items() if item["id"] not in before]
            return len(found) == 1

        eventually(listed, 10, "the new alert listed")
        return found[0]

    # -- the panel ---------------------------------------------------------------------

    def items(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate(ITEMS)
        return found

    def item(self, alert_id: str) -> Locator:
        return self.page.locator(f'[data-testid="alert-item"][data-alert-id="{alert_id}"]')

    def toggle(self, alert_id: str, *, to_active: bool) -> None:
        """Pause (``to_active=False``) or resume, and wait for the server's answer shown."""
        self.item(alert_id).get_by_test_id("alert-toggle").click()
        want = str(to_active).lower()
        eventually(
            lambda: self.item(alert_id).get_attribute("data-active") == want
            and self.item(alert_id).get_attribute("aria-busy") == "false",
            10, f"alert {alert_id} active={want}",
        )  # fmt: skip

    def delete(self, alert_id: str) -> None:
        self.item(alert_id).get_by_test_id("alert-delete").click()
        eventually(lambda: self.item(alert_id).count() == 0, 10, f"alert {alert_id} gone")

    def history(self) -> list[str]:
        found: list[str] = self.page.evaluate(HISTORY)
        return found

    # -- toasts ------------------------------------------------------------------------

    def toasts(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate(TOASTS)
        return found

    def toast(self, trigger_id: str) -> Locator:
        return self.page.locator(f'[data-testid="alert-toast"][data-trigger-id="{trigger_id}"]')

    def wait_toast(self, trigger_id: str, timeout: float = 10) -> dict[str, Any]:
        """The toast of ``trigger_id`` once shown."""
        self.toast(trigger_id).wait_for(state="visible", timeout=timeout * 1000)
        (shown,) = [t for t in self.toasts() if t["trigger_id"] == trigger_id]
        return shown

    def close_toast(self, trigger_id: str) -> None:
        self.toast(trigger_id).get_by_test_id("toast-close").click()
        self.toast(trigger_id).wait_for(state="detached", timeout=5_000)
