"""Time travel on the dashboard, in Chromium, through the real path: auth_service,
storage_service and the api_gateway serving the built dashboard, the socket gateway, one Redis
(gunicorn and eventlet processes on 127.0.0.1). The test plays the workers: every 0.4 s it stores
an enriched NIFTY chain of two expiries, stamped now, caches it in ``latest:*`` and publishes it
on ``enriched:option_chain``. An instant a few seconds back shows the chain stored then, marked
not live, and it stays while live chains keep arriving; "Live" shows them again."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import redis
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from common.embedded_redis import EmbeddedRedis
from common.names import Channel
from common.redis_client import make_redis
from common.timestamps import format_ts, parse_ts
from optionsmath import enrich_chain
from store import Store, open_store
from tests.e2e.browser import signed_in
from tests.e2e.conftest import ARTIFACTS
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.chains import build_chain
from tests.support.latest import put_chain
from tests.support.processes import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.timeout(150)]

DIST = Path(__file__).resolve().parents[2] / "dashboard" / "dist" / "index.html"
EXPIRIES = ("2099-11-26", "2099-12-31")
"""Far off, so the nearest expiry on or after today is the first."""
USER, PASSWORD = "time-traveller", "correct-horse-1"
PERIOD_S = 0.4
MAX_ROUNDS = 600
"""A feed stops by itself after this many rounds (4 minutes), whatever happens to the test."""
_SEQ = itertools.count(1)
"""Seqs across the module's feeds: the store keeps one chain per (product, expiry, seq)."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    assert DIST.is_file(), "the dashboard is not built: cd dashboard && npm ci && npm run build"
    socket_port = free_port()
    with EmbeddedRedis() as server:
        started = start_stack(
            tmp_path_factory.mktemp("travel"), server.url,
            {"SOCKET_GATEWAY_PORT": str(socket_port)}, services=("auth_service", "storage_service"),
        )  # fmt: skip
        try:
            started.procs.socket_gateway(socket_port, env={"SOCKET_CORS_ORIGINS": started.url})
            yield started
        finally:
            started.procs.close()


class Feed:
    """The workers' part: each round an enriched chain per expiry, stored, cached, published."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.stop = threading.Event()
        self.rounds = 0
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="travel-feed", daemon=True)

    def _run(self) -> None:
        store = open_store(self.stack.store_url)
        client = make_redis(self.stack.redis_url)
        try:
            for _ in range(MAX_ROUNDS):
                self._round(next(_SEQ), store, client)
                self.rounds += 1
                if self.stop.wait(PERIOD_S):
                    return
        except BaseException as exc:  # the test reports it
            self.error = exc
        finally:
            store.close()
            client.close()

    @staticmethod
    def _round(seq: int, store: Store, client: redis.Redis) -> None:
        now = format_ts(dt.datetime.now(dt.UTC))
        for expiry in EXPIRIES:
            spot = 24_000.0 + seq * 0.25
            raw = build_chain(n=9, spot=spot, seq=seq, expiry=expiry, timestamp=now)
            chain = enrich_chain(raw, processed_at=now)
            store.insert_chains([chain])
            payload = orjson.dumps(chain)
            put_chain(client, "NIFTY", expiry, payload)
            client.publish(Channel.ENRICHED_OPTION_CHAIN.value, payload)

    def wait_rounds(self, rounds: int, timeout: float = 30) -> None:
        """Until this feed has stored ``rounds`` rounds (chains of several seconds)."""
        deadline = time.monotonic() + timeout
        while self.rounds < rounds and self.error is None:
            assert time.monotonic() < deadline, f"the feed made {self.rounds} rounds in {timeout} s"
            time.sleep(0.1)


@pytest.fixture
def feed(stack: Stack) -> Iterator[Feed]:
    running = Feed(stack)
    running.thread.start()
    try:
        yield running
    finally:
        running.stop.set()
        running.thread.join(10)
    assert running.error is None, running.error


def _wait(page: Page, check: str, what: str, timeout: float = 15) -> None:
    """Until the page's ``check`` (a JS expression) is true; an AssertionError naming ``what``.
    A function, not an expression: the page's Content-Security-Policy refuses eval."""
    try:
        page.wait_for_function(f"() => {check}", timeout=timeout * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"not within {timeout} s: {what}") from None


MAIN = "document.querySelector('[data-testid=\"live-data\"]')"
BANNER = "document.querySelector('[data-testid=\"travel-banner\"]')"
CHAIN = "document.querySelector('[data-testid=\"travel-chain\"]')"


def _shown(page: Page) -> str:
    """The shown chain's own timestamp."""
    return str(page.get_by_test_id("live-data").get_attribute("data-chain-timestamp"))


def _moves(page: Page, what: str) -> None:
    """The shown chain's timestamp changes (live chains are shown)."""
    before = _shown(page)
    _wait(page, f"{MAIN}.dataset.chainTimestamp !== '{before}'", what)


def _instant(seconds_ago: float) -> dt.datetime:
    """Now less ``seconds_ago``, in whole seconds (what the control takes), UTC."""
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return moment.replace(microsecond=0)


def _travel_to(page: Page, at: dt.datetime) -> None:
    page.get_by_test_id("travel-at").fill(at.strftime("%Y-%m-%dT%H:%M:%S"))
    shown = f"{BANNER}.dataset.at === '{format_ts(at)}' && {CHAIN}.dataset.timestamp !== ''"
    _wait(page, shown, "the chain at the instant")


def test_an_instant_shows_the_stored_chain_until_live(stack: Stack, feed: Feed) -> None:
    stack.login(USER, PASSWORD)  # registers, then logs in
    with signed_in(stack.url, USER, PASSWORD) as (page, errors):
        rows = page.get_by_test_id("chain-row")
        _wait(page, "document.querySelectorAll('[data-testid=\"chain-row\"]').length === 9", "rows")
        _wait(page, "document.querySelector('[data-testid=\"connection-status\"]')"
                    ".dataset.status === 'live'", "socket live")  # fmt: skip
        _moves(page, "live chains shown")
        assert page.get_by_test_id("travel-banner").is_hidden()
        assert page.get_by_test_id("travel-zone").inner_text() == "UTC"
        assert page.get_by_test_id("travel-live").get_attribute("aria-pressed") == "true"

        feed.wait_rounds(12)  # chains of the last ~5 s are stored
        at = _instant(3)
        _travel_to(page, at)
        banner = page.get_by_test_id("travel-banner")
        assert banner.is_visible()
        shown_at = at.strftime("%Y-%m-%d %H:%M:%S")
        assert page.get_by_test_id("travel-title").inner_text() == (
            f"Not live — as stored at {shown_at} UTC"
        )
        stored = str(page.get_by_test_id("travel-chain").get_attribute("data-timestamp"))
        assert parse_ts(stored) <= at
        assert at - parse_ts(stored) < dt.timedelta(seconds=2)  # a chain every 0.4 s was stored
        assert _shown(page) == stored
        assert (
            page.get_by_test_id("travel-chain")
            .inner_text()
            .startswith(f"chain of {stored[11:23]} UTC, ")
        )
        assert rows.count() == 9
        assert page.get_by_test_id("travel-live").get_attribute("aria-pressed") == "false"
        assert page.get_by_test_id("live-data").get_attribute("data-travel") == "true"
        for chart in ("chart-oi", "chart-smile", "chart-gex"):  # drawn from the stored chain
            _wait(page, f"document.querySelector('[data-testid=\"{chart}\"]')"
                        ".dataset.rendered === 'true'", f"{chart} drawn")  # fmt: skip
        page.screenshot(path=str(ARTIFACTS / "dashboard-time-travel-1280x800.png"))

        # Live chains keep arriving (held for "Live"), the stored one stays shown.
        held = str(banner.get_attribute("data-held-timestamp"))
        _wait(page, f"{BANNER}.dataset.heldTimestamp > '{held}'", "live chains still received")
        after = f"{BANNER}.dataset.heldTimestamp > '{format_ts(at)}'"
        _wait(page, after, "a chain after the instant received")
        assert _shown(page) == stored

        # The other expiry, at the same instant.
        page.get_by_test_id("expiry-select").select_option(EXPIRIES[1])
        same_instant = f"{BANNER}.dataset.at === '{format_ts(at)}'"
        _wait(page, f"{CHAIN}.dataset.timestamp !== '' && {same_instant}", "the other expiry")
        other = str(page.get_by_test_id("travel-chain").get_attribute("data-timestamp"))
        assert parse_ts(other) <= at
        assert banner.is_visible()

        # Live: the banner goes and the newest chains are shown again.
        page.get_by_test_id("travel-live").click()
        _wait(page, f"{BANNER}.hidden && {MAIN}.dataset.travel === 'false'", "live again")
        assert parse_ts(_shown(page)) > at
        _moves(page, "live chains shown again")
        assert page.get_by_test_id("travel-at").input_value() == ""
        assert errors == [], errors


def test_before_the_first_chain_says_so_and_steps_move_the_instant(
    stack: Stack, feed: Feed
) -> None:
    stack.login(USER, PASSWORD)
    with signed_in(stack.url, USER, PASSWORD) as (page, errors):
        _wait(page, "document.querySelectorAll('[data-testid=\"chain-row\"]').length === 9", "rows")
        long_ago = _instant(3600)  # before the first chain this stack stored
        page.get_by_test_id("travel-at").fill(long_ago.strftime("%Y-%m-%dT%H:%M:%S"))
        message = f"No chain of this expiry stored at or before {long_ago:%Y-%m-%d %H:%M:%S} UTC"
        _wait(page, f"{CHAIN}.textContent === {orjson.dumps(message).decode()}", "the 404 said")
        assert page.get_by_test_id("chain-empty").inner_text() == message
        assert page.get_by_test_id("chain-row").count() == 0

        # Five minutes forward (still before the first chain), then a minute back.
        page.get_by_test_id("travel-forward-5m").click()
        later = long_ago + dt.timedelta(minutes=5)
        _wait(page, f"{BANNER}.dataset.at === '{format_ts(later)}'", "five minutes forward")
        # Chromium leaves ":00" seconds out of a datetime-local value: compared as instants.
        shown = dt.datetime.fromisoformat(page.get_by_test_id("travel-at").input_value())
        assert shown.replace(tzinfo=dt.UTC) == later
        page.get_by_test_id("travel-back-1m").click()
        earlier = later - dt.timedelta(minutes=1)
        _wait(page, f"{BANNER}.dataset.at === '{format_ts(earlier)}'", "a minute back")

        page.set_viewport_size({"width": 390, "height": 844})  # the control wraps on a phone
        _wait(page, "document.documentElement.scrollWidth <= 390", "fits 390 px")
        page.screenshot(path=str(ARTIFACTS / "dashboard-time-travel-390x844.png"), full_page=True)
        page.get_by_test_id("travel-banner-live").click()
        _wait(page, f"{BANNER}.hidden", "live again")
        _wait(page, "document.querySelectorAll('[data-testid=\"chain-row\"]').length === 9", "rows")
        assert errors == [], errors
