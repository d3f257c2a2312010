"""The dashboard's paper trading as a test drives it in Chromium (Playwright): the "Place as
paper trade" button and its outcome on the strategy page, and the paper panel (the account,
positions, orders blotter and trade history), each amount with the server's exact decimal
string in ``data-value``."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page

ROWS = """(testid) => [...document.querySelectorAll(`[data-testid="${testid}"]`)].map((tr) => ({
  ...tr.dataset,
  text: tr.textContent.trim(),
  values: Object.fromEntries([...tr.querySelectorAll('[data-field]')]
    .map((td) => [td.dataset.field, td.dataset.value])),
}))"""
"""Every row of ``testid``: its data attributes, its text and its amounts by field."""


class PaperPage:
    """The paper parts of a signed-in dashboard page showing the strategy page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def by(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    def place(self) -> None:
        self.by("strategy-paper").click()

    def outcome(self) -> dict[str, Any]:
        """What the last placement came to: ``kind`` (``filled``, ``rejected``, …) and text."""
        box = self.by("paper-outcome")
        if box.is_hidden():
            return {"kind": None, "text": ""}
        return {"kind": box.get_attribute("data-kind"), "text": box.inner_text().strip()}

    def rows(self, testid: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate(ROWS, testid)
        return found

    def accounts(self) -> list[dict[str, Any]]:
        return self.rows("paper-account-row")

    def positions(self) -> list[dict[str, Any]]:
        return self.rows("paper-position")

    def orders(self) -> list[dict[str, Any]]:
        """The blotter's orders, open ones first (``state``, ``clientOrderId``, ``orderId``)."""
        return self.rows("paper-order")

    def trades(self) -> list[dict[str, Any]]:
        return self.rows("paper-trade")

    def toasts(self) -> list[str]:
        """The order ids of the fill toasts shown (a resting order's fill, live), oldest first."""
        found: list[str] = self.page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="paper-toast"]')]
              .map((t) => t.dataset.orderId)"""
        )
        return found
