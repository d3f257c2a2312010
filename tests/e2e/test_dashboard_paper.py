"""Paper trading on the dashboard in Chromium, through the real path: auth_service,
storage_service and paper_service behind the api_gateway serving the built dashboard, the
socket gateway, one Redis (as tests/e2e/stacks.py starts them, with a live NIFTY chain
stored and cached). A straddle built from the template is placed as a paper basket: both legs
are filled in the blotter, the positions and the account show the API's exact amounts (cash =
start − premium − fees), a second click places nothing more (still two orders), the trade
history lists the two fills and exports them as CSV, a resting limit order placed over the API
is cancelled from the blotter, and the panel fits a 390 px screen."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.alerts_page import eventually
from tests.e2e.browser import signed_in
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.paper_page import PaperPage
from tests.e2e.stacks import dashboard_stack
from tests.e2e.strategy_page import StrategyPage
from tests.integration.api_gateway.conftest import Stack

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(180)]

USER, PASSWORD = "paper-trader", "correct-horse-1"
START_CASH = Decimal("10000000")
"""PAPER_START_CASH's INR default: a new wallet's cash."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # The chain is stored once: an hour of freshness (not NIFTY's 5 s), else a loaded machine
    # would see the basket refused as a stale market (409) before it is placed.
    services = ("auth_service", "storage_service", "paper_service")
    workdir, env = tmp_path_factory.mktemp("paper"), {"DATA_STALE_AFTER_S": "3600"}
    with dashboard_stack(workdir, services, env, unquoted_top_call=True) as started:
        yield started


def _get(stack: Stack, token: str, path: str) -> Any:
    status, answer = stack.json("GET", path, token=token)
    assert status == 200, answer
    return answer


def test_a_straddle_placed_as_a_paper_basket_and_followed(stack: Stack) -> None:
    token = stack.login(USER, PASSWORD)["access_token"]  # registers, then logs in
    with signed_in(stack.url, USER, PASSWORD) as (page, errors):
        strategy, paper = StrategyPage(page), PaperPage(page)
        eventually(lambda: page.get_by_test_id("chain-row").count() == 11, 30, "the chain")
        strategy.open()
        eventually(lambda: paper.by("paper-account-table-empty").is_visible(), 10, "no account")
        strategy.set_quantity("75")
        strategy.build("straddle", legs=2)
        assert [leg["type"] for leg in strategy.legs()] == ["Call", "Put"]

        paper.place()
        eventually(lambda: paper.outcome()["kind"] not in (None, ""), 30, "the basket answered")
        assert paper.outcome()["kind"] == "filled", paper.outcome()
        assert paper.outcome()["text"].startswith("Filled: leg 1 (BUY CALL ")
        orders = _get(stack, token, "/api/paper/orders")["orders"]
        assert len(orders) == 2
        assert {o["state"] for o in orders} == {"FILLED"}
        ids = {o["client_order_id"] for o in orders}
        eventually(lambda: len(paper.orders()) == 2, 10, "both legs in the blotter")
        shown = paper.orders()
        assert {o["clientOrderId"] for o in shown} == ids
        assert {o["state"] for o in shown} == {"FILLED"}

        trades = _get(stack, token, "/api/paper/trades")["trades"]
        assert len(trades) == 2
        premium = sum(Decimal(t["notional"]) for t in trades)
        fees = sum(Decimal(t["fee"]) for t in trades)
        (account,) = _get(stack, token, "/api/paper/account")["accounts"]
        assert Decimal(account["cash"]) == START_CASH - premium - fees
        eventually(lambda: len(paper.accounts()) == 1, 10, "the account")
        (row,) = paper.accounts()
        assert row["currency"] == "INR"
        assert row["values"]["cash"] == account["cash"]
        assert row["values"]["fees"] == account["fees"]
        assert row["values"]["margin_used"] == account["margin_used"]

        eventually(lambda: len(paper.positions()) == 2, 10, "the two positions")
        # Marked at the live mids of the (unchanging) chain: the API's exact amounts.
        positions = _get(stack, token, "/api/paper/positions")["positions"]
        fields = ("quantity", "average_cost", "mark", "value", "unrealized_pnl")
        api_rows = sorted(tuple(p[f] for f in fields) for p in positions)
        eventually(lambda: sorted(tuple(p["values"][f] for f in fields) for p in paper.positions())
                   == api_rows, 10, "the positions' marks and P&L")  # fmt: skip
        assert {p["quantity"] for p in positions} == {"75"}

        # A second click: the same client order ids again, answered with the stored orders.
        paper.place()
        eventually(lambda: paper.outcome()["kind"] == "filled", 15, "answered again")
        again = _get(stack, token, "/api/paper/orders")["orders"]
        assert len(again) == 2
        assert {o["client_order_id"] for o in again} == ids
        assert len(_get(stack, token, "/api/paper/trades")["trades"]) == 2

        eventually(lambda: len(paper.trades()) == 2, 10, "the history's two fills")
        assert {t["clientOrderId"] for t in paper.trades()} == ids
        assert sorted(t["values"]["price"] for t in paper.trades()) == sorted(
            t["price"] for t in trades
        )
        _cancel_resting(stack, token, paper, orders[0])

        with page.expect_download(timeout=10_000) as download:
            paper.by("paper-export").click()
        csv = Path(download.value.path()).read_text()
        assert all(cid in csv for cid in ids), csv
        page.screenshot(path=str(ARTIFACTS / "dashboard-paper-1280x800.png"), full_page=True)

        page.set_viewport_size({"width": 390, "height": 844})
        eventually(lambda: page.evaluate("document.documentElement.scrollWidth") <= 390,
                   10, "the page fits a 390 px screen")  # fmt: skip
        paper.by("paper-panel").screenshot(path=str(ARTIFACTS / "dashboard-paper-390.png"))
        assert errors == [], errors


def _cancel_resting(stack: Stack, token: str, paper: PaperPage, like: dict[str, Any]) -> None:
    """A limit buy far below the ask, placed over the API, rests: it shows among the open
    orders (its order_update or the next read) and the blotter's Cancel cancels it."""
    body = {key: like[key] for key in ("product", "expiry", "strike", "option_type")}
    body |= {"client_order_id": "e2e-resting-1", "side": "BUY", "quantity": "75",
             "type": "LIMIT", "limit_price": "0.05"}  # fmt: skip
    status, order = stack.json("POST", "/api/paper/orders", body=body, token=token)
    assert status == 201, order
    assert order["state"] == "NEW", order
    row = paper.page.locator(f'[data-testid="paper-order"][data-order-id="{order["id"]}"]')
    eventually(lambda: row.get_attribute("data-state") == "NEW", 10, "the resting order")
    row.get_by_test_id("paper-cancel").click()
    eventually(lambda: row.get_attribute("data-state") == "CANCELLED", 10, "cancelled")
    (stored,) = [
        o for o in _get(stack, token, "/api/paper/orders")["orders"] if o["id"] == order["id"]
    ]
    assert stored["state"] == "CANCELLED"
