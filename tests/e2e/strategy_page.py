"""The dashboard's strategy page as a test drives it in Chromium (Playwright): the page tab,
the builder (quantity, templates, the legs table, the chain's buy and sell buttons), the
evaluation's numbers (each with its raw value in ``data-value``) and the saved strategies.
Meant for the dashboard's strategy tests, and for paper trading's blotter when it joins the
page."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import Locator, Page

from tests.e2e.alerts_page import eventually

LEGS = """() => [...document.querySelectorAll('[data-testid="strategy-leg"]')].map((tr) => ({
  key: Number(tr.dataset.key),
  side: tr.querySelector('[data-testid="leg-side"]').value,
  type: tr.querySelector('[data-testid="leg-type"]').textContent.trim(),
  strike: tr.querySelector('[data-testid="leg-strike"]').textContent.trim(),
  quantity: tr.querySelector('[data-testid="leg-quantity"]').value,
  price: tr.querySelector('[data-testid="leg-price"]').value,
  placeholder: tr.querySelector('[data-testid="leg-price"]').placeholder,
  error: (() => {
    const row = tr.nextElementSibling;
    return row && !row.hidden ? row.textContent.trim() : null;
  })(),
}))"""
"""Every leg of the builder in order, with the error line under it (null when none)."""
NUMBERS = (
    "net-premium", "max-profit", "max-loss", "breakevens", "pop", "pop-lognormal", "delta",
    "gamma", "theta", "vega",
)  # fmt: skip
"""The numbers of the evaluation, each ``strategy-{name}``."""
SAVED = """() => [...document.querySelectorAll('[data-testid="strategy-saved-item"]')]
  .map((li) => ({
  id: li.dataset.strategyId,
  name: li.querySelector('[data-testid="saved-name"]').textContent.trim(),
  summary: li.querySelector('[data-testid="saved-summary"]').textContent.trim(),
  loaded: li.getAttribute("aria-current") === "true",
}))"""
"""The saved strategies listed, in order."""

KIND = {"CALL": "Call", "PUT": "Put", None: "Underlying"}


class StrategyPage:
    """The strategy parts of a signed-in dashboard page."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def by(self, testid: str) -> Locator:
        return self.page.get_by_test_id(testid)

    def open(self) -> None:
        """Press the Strategy tab and wait for the builder (the hash then says page=strategy)."""
        self.by("page-strategy").click()
        self.by("strategy-builder").wait_for(state="visible", timeout=10_000)
        eventually(lambda: "page=strategy" in self.page.url, 5, "the page in the hash")

    # -- the builder -------------------------------------------------------------------

    def set_quantity(self, units: str) -> None:
        self.by("strategy-quantity").fill(units)

    def build(self, template: str, width: str = "1", *, legs: int) -> None:
        """Build ``template`` around ATM and wait for its ``legs`` legs."""
        self.by("strategy-template").select_option(template)
        self.by("strategy-width").fill(width)
        self.by("strategy-template-apply").click()
        eventually(lambda: len(self.legs()) == legs, 10, f"the {template}'s {legs} legs")

    def add_from_chain(self, strike: float, kind: str, side: str) -> None:
        """Press B or S on the ``kind`` side of the chain's row of ``strike``."""
        row = self.page.locator(f'[data-testid="chain-row"][data-strike="{strike:g}"]')
        row.locator(
            f'[data-testid="chain-leg"][data-leg-kind="{kind}"][data-leg-side="{side}"]'
        ).click()

    def legs(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate(LEGS)
        return found

    def clear(self) -> None:
        self.by("strategy-clear").click()
        eventually(lambda: self.legs() == [], 5, "the legs cleared")

    # -- the evaluation ----------------------------------------------------------------

    @property
    def result(self) -> Locator:
        return self.by("strategy-result")

    def wait_result(self, timeout: float = 15) -> dict[str, Any]:
        """Once the evaluation shown is the answer for the legs as they are: each number's
        ``text`` and raw ``value``."""

        def ready() -> bool:
            state = self.result.get_attribute("data-state")
            return state == "ready" and self.result.get_attribute("aria-busy") == "false"

        eventually(ready, timeout, "the evaluation of the legs shown")
        return self.numbers()

    def numbers(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in NUMBERS:
            value = self.by(f"strategy-{name}")
            raw = value.get_attribute("data-value")
            out[name] = {
                "text": value.inner_text().strip(),
                "value": None if raw is None else json.loads(raw),
            }
        return out

    # -- saved strategies --------------------------------------------------------------

    def save(self, name: str) -> dict[str, Any]:
        """Save the legs as ``name`` and wait for it listed; its entry."""
        before = {item["id"] for item in self.saved()}
        self.by("strategy-name").fill(name)
        self.by("strategy-save").click()
        found: list[dict[str, Any]] = []

        def listed() -> bool:
            found[:] = [item for item in self.saved() if item["id"] not in before]
            return len(found) == 1

        eventually(listed, 10, f"{name} saved and listed")
        return found[0]

    def saved(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.page.evaluate(SAVED)
        return found

    def item(self, strategy_id: str) -> Locator:
        return self.page.locator(
            f'[data-testid="strategy-saved-item"][data-strategy-id="{strategy_id}"]'
        )

    def load(self, strategy_id: str) -> None:
        self.item(strategy_id).get_by_test_id("saved-load").click()

    def delete(self, strategy_id: str) -> None:
        self.item(strategy_id).get_by_test_id("saved-delete").click()
        eventually(lambda: self.item(strategy_id).count() == 0, 10, f"{strategy_id} deleted")


def wire_legs(shown: list[dict[str, Any]], product: str, expiry: str) -> list[dict[str, Any]]:
    """The legs of the builder as ``POST /api/strategies/evaluate`` takes them (the strikes
    read back from their text, every option of ``expiry``, prices null)."""
    kinds = {text: kind for kind, text in KIND.items()}
    legs = []
    for leg in shown:
        kind = kinds[leg["type"]]
        legs.append({
            "product": product, "expiry": expiry if kind else None,
            "strike": float(leg["strike"].replace(",", "")) if kind else None,
            "option_type": kind, "side": leg["side"], "quantity": float(leg["quantity"]),
            "price": float(leg["price"]) if leg["price"] else None,
        })  # fmt: skip
    return legs


def inr(amount: float) -> str:
    """``amount`` as the dashboard writes INR: two decimals, Indian grouping (12,34,567.89)."""
    sign = "-" if amount < 0 else ""
    whole, cents = f"{abs(amount):.2f}".split(".")
    head, tail = whole[:-3], whole[-3:]
    groups = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return sign + ",".join([*groups, tail]) + "." + cents
