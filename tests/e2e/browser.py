"""The dashboard driven in Debian's Chromium by Playwright (no browser download)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Page, sync_playwright

from tests.e2e.conftest import ARTIFACTS

CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CHARTS = (
    "chart-oi", "chart-smile", "chart-gex", "chart-term", "chart-surface", "chart-candles",
    "chart-history",
)  # fmt: skip


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


def _csp_violation(text: str, errors: list[str]) -> None:
    """Chromium reports what the Content-Security-Policy refused on the console."""
    if "Content Security Policy" in text:
        errors.append(text)


INJECT_INLINE_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__injected = true";
  document.body.appendChild(script);
  return window.__injected === true;
}"""
"""What an XSS would do: add an inline script to the page. True if it ran."""


def drive_api_docs(url: str) -> None:
    """``/api/docs`` in Chromium: Swagger UI starts under the pages' Content-Security-Policy
    (nothing refused), lists the API's operations, and an injected inline script does not
    run, nor can the page be framed."""
    with browser_page() as (page, errors):
        answer = page.goto(url + "/api/docs")
        assert answer is not None
        assert "script-src 'self';" in answer.headers["content-security-policy"]
        title = page.locator(".swagger-ui .info .title")
        title.wait_for(timeout=20_000)
        assert title.inner_text().startswith("OptionsFlow API")
        operations = page.locator(".opblock-summary-path")
        _eventually(lambda: operations.count() > 10, 20, "the API's operations listed")
        assert errors == [], errors
        assert page.evaluate(INJECT_INLINE_SCRIPT) is False
        _eventually(lambda: len(errors) == 1, 10, "the injected script refused")
        assert "script-src" in errors[0]
        # A page elsewhere framing the dashboard gets an empty frame.
        page.set_content(f'<iframe id="f" src="{url}/"></iframe>')
        frame = page.frame_locator("#f")
        _eventually(lambda: any("frame-ancestors" in e for e in errors), 10, "framing refused")
        assert frame.locator("#app").count() == 0


@contextmanager
def signed_in(url: str, username: str, password: str) -> Iterator[tuple[Page, list[str]]]:
    """A 1280×800 page of Chromium signed in to the dashboard, and the page errors it meets."""
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page() as (page, errors):
        sign_in(page, url, username, password)
        yield page, errors


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    """Sign ``page`` in to the dashboard at ``url`` and wait for it."""
    page.goto(url + "/")
    page.get_by_test_id("login-username").fill(username)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("dashboard").wait_for(timeout=20_000)
    _no_token_within_reach(page)


_READABLE = """() => JSON.stringify({
  session: Object.entries(sessionStorage),
  local: Object.entries(localStorage),
  cookie: document.cookie,
})"""
"""Everything a script on the page (an XSS) can read where tokens used to be kept."""


def _no_token_within_reach(page: Page) -> None:
    """Issue 16: neither token is in storage or a script-readable cookie (a JWT starts with
    ``eyJ``); only the CSRF cookie is readable, the refresh cookie is HttpOnly."""
    readable = page.evaluate(_READABLE)
    assert "eyJ" not in readable, readable
    assert "optionsflow_csrf=" in readable, readable
    assert "optionsflow_refresh" not in readable, readable


@contextmanager
def browser_page() -> Iterator[tuple[Page, list[str]]]:
    """A 1280×800 page of Chromium, and the page errors and Content-Security-Policy
    refusals it meets."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: _csp_violation(msg.text, errors))
            yield page, errors
        finally:
            browser.close()


def drive_dashboard(url: str, username: str, password: str) -> None:
    with signed_in(url, username, password) as (page, errors):
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
        # A reload forgets the access token (memory only): the refresh cookie gets a new one.
        page.reload()
        _eventually(lambda: rows.count() >= 5, 30, "the chain table filled after a reload")
        assert page.get_by_test_id("login-submit").count() == 0
        _no_token_within_reach(page)

        page.set_viewport_size({"width": 390, "height": 844})
        _eventually(
            lambda: page.evaluate("document.documentElement.scrollWidth") <= 390,
            10, "the page fits a 390 px screen",
        )  # fmt: skip
        page.screenshot(path=str(ARTIFACTS / "dashboard-390x844.png"), full_page=True)
        assert errors == [], errors


_CHAIN_ROWS = """() => [...document.querySelectorAll('[data-testid="chain-row"]')].map((tr) => ({
  strike: Number(tr.dataset.strike),
  atm: tr.dataset.atm === "true",
  cells: Object.fromEntries(
    [...tr.querySelectorAll("td[data-col]")].map((td) => [td.dataset.col, td.textContent.trim()])
  ),
}))"""
"""Every row of the chain table, read in one go (the table redraws as chains arrive)."""
THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+")
"""A whole number of thousands grouped the US way: 95,000 (not 95000, nor 9,5000)."""
USD_PRICE = re.compile(r"\d{1,3}(,\d{3})*\.\d{2}")
IV_POINTS = 0.5
"""How far (vol points) OptionsFlow's IV of the mid may sit from the venue's mark IV near the
money, at the simulator's spread of ±2 vol points rounded to its 0.0001-coin tick."""


def _percent(text: str) -> float | None:
    return None if text in {"", "—"} else float(text)


def _near_the_money(page: Page) -> list[dict[str, Any]]:
    """The ATM row and its neighbours, once each shows both IVs on both sides."""
    found: list[dict[str, Any]] = []

    def ready() -> bool:
        rows = page.evaluate(_CHAIN_ROWS)
        atm = [i for i, row in enumerate(rows) if row["atm"]]
        if not atm:
            return False
        found[:] = rows[max(0, atm[0] - 1) : atm[0] + 2]
        cols = ("call-iv", "call-markiv", "put-iv", "put-markiv")
        return len(found) == 3 and all(
            _percent(row["cells"][c]) is not None for row in found for c in cols
        )

    _eventually(ready, 30, "IV and mark IV near the money")
    return found


def _check_feed_strip(page: Page) -> None:
    deribit = page.locator('[data-testid="feed-status"][data-venue="deribit"]')
    _eventually(lambda: deribit.get_attribute("data-state") == "live", 30, "deribit's feed live")
    assert deribit.get_by_test_id("feed-state").inner_text() == "Live"
    assert deribit.get_by_test_id("feed-age").inner_text().startswith("last msg ")
    assert deribit.get_by_test_id("feed-rate").inner_text().endswith(" msg/s")
    assert "selected" in (deribit.get_attribute("class") or "")  # BTC's feed
    synthetic = page.locator('[data-testid="feed-status"][data-venue="synthetic"]')
    assert synthetic.get_by_test_id("feed-session").inner_text() == "simulated session"


def drive_venue_dashboard(
    url: str, username: str, password: str, stop_venue: Callable[[], object]
) -> dict[str, float]:
    """Select BTC (Deribit's, through the simulator): venue, currency and USD formats shown,
    the feed live, IVs beside the venue's mark IVs; then ETH; then ``stop_venue`` and ETH and
    BTC are shown stale. Returns the largest |IV − mark IV| (vol points) per side near the
    money, for the report."""
    with signed_in(url, username, password) as (page, errors):
        products = page.get_by_test_id("product-select")
        btc = products.locator('option[value="BTC"]')
        _eventually(lambda: btc.count() == 1, 60, "BTC listed")
        assert btc.inner_text() == "BTC · deribit · USD"
        products.select_option("BTC")
        expiries = page.get_by_test_id("expiry-select")
        options = expiries.locator("option")
        _eventually(lambda: options.count() >= 2, 30, "BTC's expiries listed")
        # The last one: the first may be minutes from its 08:00 UTC expiry, where a tick of
        # price is worth many vol points (a run across 08:00 also lists the expired one).
        expiries.select_option(index=options.count() - 1)
        rows = page.get_by_test_id("chain-row")
        _eventually(lambda: rows.count() == 7, 30, "BTC's 7 strikes shown")

        assert _text(page, "product-venue") == "deribit"
        assert _text(page, "product-currency") == "USD"
        assert _text(page, "chain-venue") == "deribit"
        assert _text(page, "chain-currency") == "USD"
        assert _text(page, "chain-forward").endswith("(the venue's)")
        assert _text(page, "tile-spot-label").upper() == "SPOT · USD"
        info = page.get_by_test_id("product-info")
        _eventually(lambda: info.get_attribute("data-freshness") == "fresh", 30, "BTC fresh")
        _check_feed_strip(page)
        status = page.get_by_test_id("connection-status")
        live = {"live", "degraded"}
        _eventually(lambda: status.get_attribute("data-status") in live, 30, "status live")
        first_spot = _text(page, "tile-spot-value")
        _eventually(lambda: _text(page, "tile-spot-value") != first_spot, 30, "BTC's spot moves")

        table = page.evaluate(_CHAIN_ROWS)
        for row in table:
            shown = row["cells"]["strike"]
            assert THOUSANDS.fullmatch(shown), shown
            assert float(shown.replace(",", "")) == row["strike"] >= 10_000
        near = _near_the_money(page)
        atm = next(row for row in near if row["atm"])
        for side in ("call", "put"):
            for line in atm["cells"][f"{side}-bidask"].split("\n"):
                assert USD_PRICE.fullmatch(line), atm
        assert page.locator("th.c-markiv").first.is_visible()
        worst = {"call": 0.0, "put": 0.0}
        for row in near:
            cells = row["cells"]
            for side in ("call", "put"):
                iv, mark = _percent(cells[f"{side}-iv"]), _percent(cells[f"{side}-markiv"])
                assert iv is not None, row
                assert mark is not None, row
                assert abs(iv - mark) <= IV_POINTS, (side, row)
                worst[side] = max(worst[side], abs(iv - mark))
        page.screenshot(path=str(ARTIFACTS / "dashboard-btc-1280x800.png"), full_page=False)

        products.select_option("ETH")
        eth: list[dict[str, Any]] = []

        def eth_shown() -> bool:
            eth[:] = page.evaluate(_CHAIN_ROWS)
            return len(eth) == 7 and all(row["strike"] < 10_000 for row in eth)

        _eventually(eth_shown, 30, "ETH's 7 strikes shown")
        assert _text(page, "product-currency") == "USD"
        strikes = [row["cells"]["strike"] for row in eth]
        assert all(THOUSANDS.fullmatch(k) for k in strikes), strikes  # about 3,500
        info = page.get_by_test_id("product-info")
        assert info.get_attribute("data-freshness") == "fresh"
        assert page.get_by_test_id("product-stale").is_hidden()

        stop_venue()  # the venue goes silent: its products turn stale within ~15 s
        _eventually(lambda: info.get_attribute("data-freshness") == "stale", 45, "ETH stale")
        assert page.get_by_test_id("product-stale").is_visible()
        assert btc.inner_text() == "BTC · deribit · USD (stale)"
        deribit = page.locator('[data-testid="feed-status"][data-venue="deribit"]')
        _eventually(lambda: deribit.get_attribute("data-state") != "live", 30, "deribit not live")
        nifty = products.locator('option[value="NIFTY"]')
        assert nifty.inner_text() == "NIFTY · synthetic · INR"  # the other venue is unaffected
        page.screenshot(path=str(ARTIFACTS / "dashboard-eth-stale-1280x800.png"), full_page=False)
        assert errors == [], errors
        return worst
