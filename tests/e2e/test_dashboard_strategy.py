"""The dashboard's strategy builder in Chromium, through the real path: auth_service,
storage_service and paper_service behind the api_gateway serving the built dashboard, the
socket gateway, one Redis (gunicorn and eventlet processes on 127.0.0.1). A NIFTY chain is
stored and cached (its 24,250 call unquoted). An iron condor is built from the template, its
breakevens and limits shown as the service answers them; a leg is added from the chain; the
service's refusal of a leg without a live price is shown on that leg; the strategy is saved,
cleared, loaded again and deleted; the page stays the strategy page across a reload and fits
a 390 px screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.alerts_page import eventually
from tests.e2e.browser import signed_in
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.stacks import EXPIRY, TOP_STRIKE, dashboard_stack
from tests.e2e.strategy_page import StrategyPage, inr, wire_legs
from tests.integration.api_gateway.conftest import Stack

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(180)]

USER, PASSWORD = "strategy-builder", "correct-horse-1"
UNQUOTED = TOP_STRIKE
"""The chain's highest strike: its call has no bid, ask or last (no live price)."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    services = ("auth_service", "storage_service", "paper_service")
    with dashboard_stack(
        tmp_path_factory.mktemp("strategy"), services, unquoted_top_call=True
    ) as started:
        yield started


def _evaluate(stack: Stack, token: str, legs: list[dict[str, Any]]) -> dict[str, Any]:
    status, answer = stack.json(
        "POST", "/api/strategies/evaluate", body={"legs": legs, "dates": []}, token=token
    )
    assert status == 200, answer
    return dict(answer)


def _check_shown(numbers: dict[str, Any], answer: dict[str, Any]) -> None:
    """The breakevens and limits shown are the service's answer, values and text."""
    assert numbers["breakevens"]["value"] == answer["breakevens"]
    assert numbers["breakevens"]["text"] == " · ".join(inr(b) for b in answer["breakevens"])
    for name, key in (("max-loss", "max_loss"), ("max-profit", "max_profit")):
        assert numbers[name]["value"] == answer[key], name
        text = "unlimited" if answer[key] is None else inr(answer[key])
        assert numbers[name]["text"] == text, name
    net = answer["net_premium"]
    assert numbers["net-premium"]["value"] == net
    assert numbers["net-premium"]["text"] == f"{'Debit' if net > 0 else 'Credit'} {inr(abs(net))}"


def _stored(stack: Stack, token: str) -> list[dict[str, Any]]:
    status, answer = stack.json("GET", "/api/strategies", token=token)
    assert status == 200, answer
    strategies: list[dict[str, Any]] = answer["strategies"]
    return strategies


def test_an_iron_condor_built_evaluated_saved_and_loaded(stack: Stack) -> None:
    token = stack.login(USER, PASSWORD)["access_token"]  # registers, then logs in
    with signed_in(stack.url, USER, PASSWORD) as (page, errors):
        strategy = StrategyPage(page)
        rows = page.get_by_test_id("chain-row")
        eventually(lambda: rows.count() == 11, 30, "the chain table filled")
        # The market page shows no buy and sell buttons on the chain.
        assert not page.get_by_test_id("chain-leg").first.is_visible()
        strategy.open()
        assert page.get_by_test_id("strategy-paper").is_disabled()

        strategy.set_quantity("75")
        strategy.build("iron_condor", legs=4)
        query = f"name=iron_condor&expiry={EXPIRY}&quantity=75&width=1"
        status, template = stack.json(
            "GET", f"/api/strategies/templates/NIFTY?{query}", token=token
        )
        assert status == 200, template
        assert wire_legs(strategy.legs(), "NIFTY", EXPIRY) == template["legs"]
        numbers = strategy.wait_result()
        answer = _evaluate(stack, token, template["legs"])
        _check_shown(numbers, answer)
        assert answer["max_profit"] is not None  # a condor's limits are bounded
        assert answer["max_loss"] is not None
        # Each leg's price is the live mid, shown as its placeholder.
        placeholders = [leg["placeholder"] for leg in strategy.legs()]
        assert placeholders == [f"mid {inr(leg['price'])}" for leg in answer["legs"]]
        for chart in ("chart-payoff", "chart-density"):
            box = page.get_by_test_id(chart)
            eventually(lambda b=box: b.get_attribute("data-rendered") == "true", 10, chart)
        page.screenshot(path=str(ARTIFACTS / "dashboard-strategy-1280x800.png"))

        # A leg from the chain: the ATM call bought; the profit above is then unbounded.
        atm = float(page.get_by_test_id("chain-table").get_attribute("data-atm") or "nan")
        strategy.add_from_chain(atm, "CALL", "BUY")
        eventually(lambda: len(strategy.legs()) == 5, 5, "the ATM call added")
        numbers = strategy.wait_result()
        answer = _evaluate(stack, token, wire_legs(strategy.legs(), "NIFTY", EXPIRY))
        _check_shown(numbers, answer)
        assert numbers["max-profit"]["text"] == "unlimited"
        result = page.get_by_test_id("strategy-result")
        result.screenshot(path=str(ARTIFACTS / "dashboard-strategy-result.png"))

        _check_refused_leg(page, strategy)
        _save_clear_load(page, stack, token, strategy, numbers)
        assert errors == [], errors


def _check_refused_leg(page: Any, strategy: StrategyPage) -> None:
    """The unquoted call sold at the live price: the service's 422 shown on that leg."""
    strategy.add_from_chain(UNQUOTED, "CALL", "SELL")
    eventually(lambda: strategy.legs()[-1]["error"] is not None, 15, "the leg refused")
    error = strategy.legs()[-1]["error"]
    assert error.startswith("Price: "), error
    assert "no live price" in error
    price = page.get_by_test_id("strategy-leg").last.get_by_test_id("leg-price")
    assert price.get_attribute("aria-invalid") == "true"
    assert strategy.result.get_attribute("data-state") == "outdated"
    page.get_by_test_id("strategy-leg").last.get_by_test_id("leg-remove").click()
    eventually(lambda: len(strategy.legs()) == 5, 5, "the refused leg removed")


def _save_clear_load(
    page: Any, stack: Stack, token: str, strategy: StrategyPage, numbers: dict[str, Any]
) -> None:
    """Save the five legs, clear the builder, load them again (after a reload too); delete."""
    legs = strategy.legs()
    saved = strategy.save("Condor and a call")
    (stored,) = _stored(stack, token)
    assert (stored["id"], stored["name"]) == (saved["id"], "Condor and a call")
    assert stored["legs"] == wire_legs(legs, "NIFTY", EXPIRY)
    assert saved["summary"].startswith("NIFTY · 5 legs · ")
    assert saved["loaded"] is True

    strategy.clear()
    assert strategy.result.get_attribute("data-state") == "empty"
    strategy.load(saved["id"])
    eventually(lambda: len(strategy.legs()) == 5, 5, "the saved legs loaded")
    assert [leg["strike"] for leg in strategy.legs()] == [leg["strike"] for leg in legs]
    again = strategy.wait_result()
    limits = ("net-premium", "max-profit", "max-loss", "breakevens")  # the Greeks age with time
    assert {k: again[k] for k in limits} == {k: numbers[k] for k in limits}

    page.reload()  # the hash keeps the page; the saved strategies are read again
    strategy.by("strategy-builder").wait_for(state="visible", timeout=20_000)
    eventually(lambda: [s["id"] for s in strategy.saved()] == [saved["id"]], 15, "listed")
    assert page.get_by_test_id("page-strategy").get_attribute("aria-current") == "page"
    strategy.load(saved["id"])
    eventually(lambda: len(strategy.legs()) == 5, 5, "loaded after the reload")
    strategy.wait_result()
    page.set_viewport_size({"width": 390, "height": 844})
    eventually(lambda: page.evaluate("document.documentElement.scrollWidth") <= 390,
               10, "the page fits a 390 px screen")  # fmt: skip
    page.screenshot(path=str(ARTIFACTS / "dashboard-strategy-390x844.png"), full_page=True)
    for panel in ("strategy-builder", "strategy-result"):
        page.get_by_test_id(panel).screenshot(path=str(ARTIFACTS / f"dashboard-{panel}-390.png"))
    strategy.delete(saved["id"])
    assert _stored(stack, token) == []
    assert page.get_by_test_id("strategy-saved-empty").is_visible()
