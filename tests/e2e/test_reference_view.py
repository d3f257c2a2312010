"""The reference price and its sources on the dashboard, in Chromium, through the real path:
auth_service, storage_service and the api_gateway serving the built dashboard, the socket
gateway, one Redis (gunicorn and eventlet processes on 127.0.0.1). A BTC chain is stored, its
reference tick is cached (the REST read) and then published on ``enriched:underlying`` as the
workers do, with three sources, one quarantined; the page lists them, then shows BTC stale once
no source is live. Feed health is written as the connectors write it, Kite's with an expired
access token, and the strip says so."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pytest
import redis
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from common.embedded_redis import EmbeddedRedis
from common.feeds import VenueHealth
from common.names import Channel
from common.redis_client import make_redis
from common.timestamps import format_ts, now_ts
from feed_generator.venues.health import FeedHealth
from feed_generator.venues.healthpub import HealthPublisher, publishing_health
from optionsmath import enrich_chain
from store import open_store
from tests.e2e.browser import signed_in
from tests.e2e.conftest import ARTIFACTS
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.chains import build_chain
from tests.support.latest import put_chain, put_underlying
from tests.support.processes import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(120)]

DIST = Path(__file__).resolve().parents[2] / "dashboard" / "dist" / "index.html"
EXPIRY = "2099-12-31"
USER, PASSWORD = "reference-viewer", "correct-horse-1"
SOURCES = [  # as the reference router sends them: median of the live two is 97,000
    {"source": "deribit", "price": 96_990.0, "age_ms": 250, "state": "live"},
    {"source": "coinbase", "price": 98_503.5, "age_ms": 1_200, "state": "quarantined"},
    {"source": "binance", "price": 97_010.0, "age_ms": 40, "state": "live"},
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert DIST.is_file(), "the dashboard is not built: cd dashboard && npm ci && npm run build"
    socket_port = free_port()
    with EmbeddedRedis() as server:
        started = start_stack(
            tmp_path_factory.mktemp("reference"), server.url,
            {"SOCKET_GATEWAY_PORT": str(socket_port)}, services=("auth_service", "storage_service"),
        )  # fmt: skip
        try:
            origin = {"SOCKET_CORS_ORIGINS": started.url}
            started.procs.socket_gateway(socket_port, env=origin)
            yield started
        finally:
            started.procs.close()


def _tick(seq: int, sources: list[dict[str, Any]], price: float = 97_000.0) -> dict[str, Any]:
    """An enriched BTC tick as the worker publishes it, stamped now."""
    candle = {"start": now_ts(), "open": price, "high": price, "low": price, "close": price,
              "volume": 0}  # fmt: skip
    return {
        "type": "underlying", "product": "BTC", "price": price, "volume": 0,
        "timestamp": now_ts(), "seq": seq, "venue": "deribit", "currency": "USD",
        "sources": sources, "ohlc_1min": candle, "ohlc_5min": candle, "ohlc_15min": candle,
        "volume_1min": 0, "processed_at": now_ts(),
    }  # fmt: skip


def _venue(
    venue: str, state: str, products: list[str], detail: str | None = None,
    sources: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A connector's health snapshot (common/feeds.py VenueHealth), taken now."""
    rows = [
        {"product": p, "last_message_age_s": 0.3, "messages_per_s": 4.0, "messages": 900,
         "dead_letters": 0, "sources": sources}
        for p in products
    ]  # fmt: skip
    return {
        "venue": venue, "state": state, "state_age_s": 60.0, "at": now_ts(),
        "last_message_age_s": 0.3, "messages_per_s": 4.0, "messages": 900, "reconnects": 0,
        "resyncs": 0, "dead_letters": 0, "products": rows, "session": None, "detail": detail,
    }  # fmt: skip


class _Reported(FeedHealth):
    """A venue whose health is what the test says (:func:`_venue`), taken when published."""

    def __init__(self, venue: str, state: str, products: list[str], **more: Any) -> None:
        super().__init__(venue)
        self._said = (state, products, more)

    def snapshot(self) -> VenueHealth:
        state, products, more = self._said
        return msgspec.convert(_venue(self.venue, state, products, **more), VenueHealth)


def _reporting_feeds(client: redis.Redis) -> contextlib.AbstractContextManager[None]:
    """Deribit streaming BTC, the reference pricing it from three sources (one quarantined),
    Kite down with its access token expired: published every second by the connectors'
    health publisher while the block runs (a snapshot older than 6 s shows its venue stopped)."""
    sources = [{"source": s["source"], "state": s["state"], "price": s["price"], "age_s": 0.5}
               for s in SOURCES]  # fmt: skip
    venues = [
        _Reported("deribit", "live", ["BTC"]),
        _Reported("reference", "live", ["BTC"], sources=sources),
        _Reported("kite", "down", ["NIFTY"], detail="token_expired"),
    ]
    return publishing_health(HealthPublisher(client, venues, interval_s=1.0, ttl_s=10.0))


def _store_btc_chain(stack: Stack, client: redis.Redis) -> None:
    raw = build_chain(n=7, spot=97_000.0, step=1_000.0, product="BTC", expiry=EXPIRY,
                      timestamp=now_ts())  # fmt: skip
    chain = enrich_chain(raw, processed_at=format_ts(dt.datetime.now(dt.UTC)))
    store = open_store(stack.store_url)
    try:
        store.insert_chains([chain])  # the listing of products comes from the store
    finally:
        store.close()
    put_chain(client, "BTC", EXPIRY, orjson.dumps(chain))


_SOURCES = """() => [...document.querySelectorAll('[data-testid="reference-source"]')].map((li) =>
({
  source: li.dataset.source,
  state: li.dataset.state,
  text: Object.fromEntries([...li.querySelectorAll("[data-testid]")].map(
    (e) => [e.dataset.testid, e.textContent.trim()])),
}))"""
"""Every source chip of the reference view, in the order shown."""
AGE = re.compile(r"\d+ ms|\d\.\d s|\d+ s")


def _eventually(page: Page, check: str, what: str, timeout: float = 10) -> None:
    """Until the page's ``check`` (a JS expression) is true; an AssertionError naming ``what``.
    A function, not an expression: the page's Content-Security-Policy refuses eval."""
    try:
        page.wait_for_function(f"() => {check}", timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"not within {timeout} s: {what}") from None


def test_the_reference_price_is_shown_with_its_sources(stack: Stack) -> None:
    client = make_redis(stack.redis_url)
    _store_btc_chain(stack, client)
    live_two = [dict(s, state="live") for s in SOURCES[:2]]
    put_underlying(client, "BTC", orjson.dumps(_tick(1, live_two, price=97_746.75)))
    token = stack.login(USER, PASSWORD)["access_token"]  # registers, then logs in
    status, rest = stack.json("GET", "/api/data/underlying/BTC", token=token)
    assert status == 200
    assert rest["sources"] == live_two  # the REST read keeps them
    with _reporting_feeds(client), signed_in(stack.url, USER, PASSWORD) as (page, errors):
        ref = '[data-testid="reference"]'
        _eventually(page, f"document.querySelectorAll('{ref} li').length === 2", "REST tick")
        _eventually(page, "document.querySelector('[data-testid=\"connection-status\"]')"
                    ".dataset.status === 'live'", "socket live")  # fmt: skip
        client.publish(Channel.ENRICHED_UNDERLYING.value, orjson.dumps(_tick(2, SOURCES)))
        _eventually(page, f"document.querySelectorAll('{ref} li').length === 3", "3 sources")
        shown = page.evaluate(_SOURCES)
        assert [(s["source"], s["state"]) for s in shown] == [
            ("binance", "live"), ("deribit", "live"), ("coinbase", "quarantined"),
        ]  # fmt: skip
        coinbase = shown[2]["text"]
        assert coinbase["source-price"] == "98,503.50"
        assert coinbase["source-deviation"] == "+155 bp"  # 98,503.5 / 97,000 − 1
        assert coinbase["source-state"] == "Quarantined"
        assert AGE.fullmatch(coinbase["source-age"]), coinbase  # 1,200 ms and since
        assert shown[1]["text"]["source-deviation"] == "\u22121 bp"  # deribit 96,990
        assert page.get_by_test_id("reference-price").inner_text() == "97,000.00 USD"
        assert page.get_by_test_id("reference-note").inner_text() == "median of 2 live sources of 3"
        assert page.get_by_test_id("reference").get_attribute("data-state") == "live"
        main = page.get_by_test_id("live-data")
        assert main.get_attribute("data-stale") == "false"
        _check_feeds(page)
        page.screenshot(path=str(ARTIFACTS / "dashboard-reference-1280x800.png"))

        states = ("stale", "quarantined", "down")
        none_live = [dict(s, state=st) for s, st in zip(SOURCES, states, strict=True)]
        client.publish(Channel.ENRICHED_UNDERLYING.value, orjson.dumps(_tick(3, none_live)))
        _eventually(page, f"document.querySelector('{ref}').dataset.stale === 'true'", "stale")
        assert main.get_attribute("data-stale-reason") == "reference"
        assert page.get_by_test_id("product-stale").is_visible()
        note = page.get_by_test_id("reference-note").inner_text()
        assert note == "no live source of 3: last good value"
        page.set_viewport_size({"width": 390, "height": 844})  # the chips wrap on a phone
        _eventually(page, "document.documentElement.scrollWidth <= 390", "fits 390 px")
        page.screenshot(path=str(ARTIFACTS / "dashboard-reference-390x844.png"))
        assert errors == [], errors
    client.close()


def _check_feeds(page: Page) -> None:
    """Kite's chip: its state read as an expired access token, and what that means; the
    reference's: its sources summed up."""
    kite = page.locator('[data-testid="feed-status"][data-venue="kite"]')
    kite.wait_for(timeout=10_000)
    assert kite.get_attribute("data-state") == "down"
    assert kite.get_attribute("data-detail") == "token_expired"
    assert kite.get_by_test_id("feed-state").inner_text() == "Access token expired"
    detail = kite.get_by_test_id("feed-detail").inner_text()
    assert detail == "reconnecting paused until a new access token is set"
    for venue in ("deribit", "reference"):  # BTC's feed, and the feed of its reference price
        chip = page.locator(f'[data-testid="feed-status"][data-venue="{venue}"]')
        assert "selected" in (chip.get_attribute("class") or ""), venue
    reference = page.locator('[data-testid="feed-status"][data-venue="reference"]')
    summary = reference.get_by_test_id("feed-detail").inner_text()
    assert summary == "BTC 2/3 live (coinbase quarantined)"
