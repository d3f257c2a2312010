"""The dashboard driven in Debian's Chromium by Playwright (no browser download)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable

from playwright.sync_api import Page, sync_playwright

from tests.e2e.conftest import ARTIFACTS

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CHARTS = ("chart-oi", "chart-smile", "chart-candles", "chart-history")


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise AssertionError("Debian's chromium is not installed: `make test` installs it")
    return found


def _eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.25)


def _text(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).inner_text().strip()


def drive_dashboard(url: str, username: str, password: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/")
            page.get_by_test_id("login-username").fill(username)
            page.get_by_test_id("login-password").fill(password)
            page.get_by_test_id("login-submit").click()
            page.get_by_test_id("dashboard").wait_for(timeout=20_000)

            products = page.get_by_test_id("product-select")
            _eventually(lambda: products.locator("option").count() > 0, 30, "products listed")
            products.select_option(index=0)
            expiries = page.get_by_test_id("expiry-select")
            _eventually(lambda: expiries.locator("option").count() > 0, 30, "expiries listed")
            expiries.select_option(index=0)

            rows = page.get_by_test_id("chain-row")
            _eventually(lambda: rows.count() >= 5, 30, "the chain table filled")
            status = page.get_by_test_id("connection-status")
            # "degraded" is live too: a busy test machine may cap the update rate
            live = {"live", "degraded"}
            _eventually(lambda: status.get_attribute("data-status") in live, 30, "status live")
            first_spot = _text(page, "tile-spot-value")
            assert first_spot not in {"", "—"}
            # the feed moves spot several times a second, around the clock
            _eventually(
                lambda: _text(page, "tile-spot-value") != first_spot, 30, "a live update of spot"
            )
            for chart in CHARTS:
                element = page.get_by_test_id(chart)
                _eventually(
                    lambda e=element: e.get_attribute("data-rendered") == "true",
                    45,
                    f"{chart} drawn",
                )
            page.screenshot(path=str(ARTIFACTS / "dashboard-1280x800.png"), full_page=False)

            page.set_viewport_size({"width": 390, "height": 844})
            _eventually(
                lambda: page.evaluate("document.documentElement.scrollWidth") <= 390,
                10, "the page fits a 390 px screen",
            )  # fmt: skip
            page.screenshot(path=str(ARTIFACTS / "dashboard-390x844.png"), full_page=True)
            assert errors == [], errors
        finally:
            browser.close()
