"""Load test of OptionsFlow: dashboard viewers on Socket.IO and API clients on REST.

Commands, the crash-day profile, distributed runs and what the figures mean:
docs/LOADTEST.md. In short, against ``make up``::

    .venv/bin/locust -f tests/load/locustfile.py --host http://127.0.0.1:8000
    OPTIONSFLOW_LOAD_PROFILE=crash-day .venv/bin/locust -f tests/load/locustfile.py \\
        --host http://127.0.0.1:8000 --headless

Every simulated user registers (a 409 from an earlier run is fine; ``--skip-register``
leaves it out) and logs in once with a user name of its own
(``{--user-prefix}-{worker}-{n}``), then keeps its access token fresh with
``/api/auth/refresh``, as the dashboard does.

- ``DashboardViewer`` (weight 4): the browser dashboard. Fetches ``/config.json`` and the
  products, makes the REST reads of a view (chain, underlying, OI change, PCR history,
  candles), connects to the Socket.IO gateway with its token and subscribes; then it
  mostly watches updates, now and then switching to another product or expiry. Each
  update is a ``socketio`` request named ``update chain_update`` /
  ``update underlying_update`` whose response time is its delivery latency (receive time
  minus the feed's origin ``timestamp``); the cached ones sent on subscribe are
  ``snapshot …``.
- ``ApiClient`` (weight 1): a script that backfills history, then polls REST every
  1–3 s: the latest chain most, the underlying, stored history and the analytics routes.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import random
from typing import Any

import gevent
from locust import between, constant, events, task
from locust.argument_parser import LocustArgumentParser
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.exception import StopUser
from optionsflow_load.api import ApiSession, SignInError
from optionsflow_load.live import REQUEST_TYPE, UPDATES, LiveFeed
from optionsflow_load.plan import (
    View,
    analytics_query,
    backoff_s,
    check_prefix,
    parse_catalogue,
    pick_analytics,
    pick_view,
    socket_url,
    username,
)

log = logging.getLogger("optionsflow.load")

PROFILE_VARIABLE = "OPTIONSFLOW_LOAD_PROFILE"
PROFILE = os.environ.get(PROFILE_VARIABLE, "steady")
if PROFILE == "crash-day":
    # Locust runs the shape class it finds in this module.
    from optionsflow_load.shapes import CrashDayShape, crash_day_from_options  # noqa: F401
elif PROFILE != "steady":
    raise SystemExit(f"{PROFILE_VARIABLE}: 'steady' (-u/-r/-t) or 'crash-day', got {PROFILE!r}")

CATALOGUE_RETRY_S = 5.0
RECONNECT_FIRST_S, RECONNECT_MAX_S = 2.0, 60.0
"""Backoff after a refused or failed Socket.IO connection (capped exponential, jitter)."""
HISTORY_FIELDS = "pcr_oi,pcr_volume,max_pain_strike,atm_straddle_price,spot_price"

_numbers = itertools.count()
"""Simulated users started by this process (user names)."""


OPTIONS: tuple[tuple[str, str, object, str], ...] = (
    ("--user-prefix", "OPTIONSFLOW_LOAD_USER_PREFIX", "loadtest",
     "User names are PREFIX-WORKER-N (registered on first use, reused by later runs)."),
    ("--user-password", "OPTIONSFLOW_LOAD_PASSWORD", "loadtest-password-1",
     "Password of the simulated users."),
    ("--skip-register", "OPTIONSFLOW_LOAD_SKIP_REGISTER", False,
     "Only log in: the users exist from an earlier run (halves the Argon2 work of signing in)."),
    ("--products", "OPTIONSFLOW_LOAD_PRODUCTS", "",
     "Comma-separated products to look at (default: every product the API lists)."),
    ("--socket-url", "OPTIONSFLOW_SOCKET_URL", "",
     "Socket.IO gateway URL (default: from the gateway's /config.json)."),
    ("--crash-start-users", "OPTIONSFLOW_CRASH_START_USERS", 200,
     "crash-day: users of the normal morning."),
    ("--crash-peak-users", "OPTIONSFLOW_CRASH_PEAK_USERS", 2000,
     "crash-day: users at the peak."),
    ("--crash-baseline", "OPTIONSFLOW_CRASH_BASELINE", "1m",
     "crash-day: how long the morning lasts before the crash (e.g. 90s, 1m)."),
    ("--crash-ramp", "OPTIONSFLOW_CRASH_RAMP", "10m",
     "crash-day: time from the morning's users to the peak."),
    ("--crash-hold", "OPTIONSFLOW_CRASH_HOLD", "20m",
     "crash-day: how long the peak is held before the run stops."),
    ("--crash-spawn-rate", "OPTIONSFLOW_CRASH_SPAWN_RATE", 20.0,
     "crash-day: users started per second to reach the morning's users."),
)  # fmt: skip
"""The load test's own options: flag, environment variable, default (its type is the
option's), help."""


@events.init_command_line_parser.add_listener
def _options(parser: LocustArgumentParser) -> None:
    for flag, env, default, help_text in OPTIONS:
        kind: dict[str, Any] = (
            {"action": "store_true"} if isinstance(default, bool) else {"type": type(default)}
        )
        parser.add_argument(
            flag, env_var=env, default=default, help=help_text,
            is_secret=flag == "--user-password", **kind,
        )  # fmt: skip


@events.init.add_listener
def _check_options(environment: Environment, **_kw: Any) -> None:
    """Refuse a bad prefix or profile before any user starts."""
    options = environment.parsed_options
    if options is None:
        return
    try:
        check_prefix(options.user_prefix)
        if PROFILE == "crash-day":
            crash_day_from_options(options)
    except ValueError as exc:
        raise SystemExit(f"optionsflow load test: {exc}") from None


@events.quitting.add_listener
def _summary(environment: Environment, **_kw: Any) -> None:
    if UPDATES:
        counts = ", ".join(f"{name}: {count}" for name, count in sorted(UPDATES.items()))
        log.info("Socket.IO updates received by this process: %s", counts)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    """Log ``message`` once per process, not once per user."""
    if message not in _warned:
        _warned.add(message)
        log.warning("%s; asking again every %.0f s", message, CATALOGUE_RETRY_S)


def _iso_ago(seconds: float) -> str:
    instant = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds)
    return instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SignedInUser(FastHttpUser):
    """Signs in once, learns the products, and reads what a view shows."""

    abstract = True
    concurrency = 1  # one request at a time per user: one keep-alive connection
    connection_timeout = 10.0
    network_timeout = 30.0

    api: ApiSession
    catalogue: dict[str, tuple[str, ...]]
    view: View

    def on_start(self) -> None:
        options = self.environment.parsed_options
        worker = int(getattr(self.environment.runner, "worker_index", 0))
        name = username(options.user_prefix, worker, next(_numbers))
        self.rng = random.Random()
        self.api = ApiSession(self.client, name, options.user_password, self.rng)
        try:
            self.api.sign_in(register=not options.skip_register)
        except SignInError as exc:
            log.error("user stopped: %s", exc)
            raise StopUser from exc
        self.catalogue = self.load_catalogue()
        self.view = pick_view(self.catalogue, self.rng)

    def load_catalogue(self) -> dict[str, tuple[str, ...]]:
        """The products with their expiries, waiting for the pipeline's first chains."""
        names = self.environment.parsed_options.products.split(",")
        only = [name.strip() for name in names if name.strip()]
        while True:
            catalogue = parse_catalogue(self.api.get("/api/products", "/api/products"), only)
            if catalogue:
                return catalogue
            _warn_once(f"no product with expiries {'among ' + str(only) if only else 'yet'}")
            gevent.sleep(CATALOGUE_RETRY_S)

    # -- the reads, named so that the statistics group them by route ---------------------

    def chain(self, view: View) -> None:
        path = f"/api/data/chain/{view.product}"
        self.api.get(path, "/api/data/chain/[product]?expiry", {"expiry": view.expiry})

    def nearest_chain(self, view: View) -> None:
        self.api.get(f"/api/data/chain/{view.product}", "/api/data/chain/[product] (nearest)")

    def underlying(self, view: View) -> None:
        self.api.get(f"/api/data/underlying/{view.product}", "/api/data/underlying/[product]")

    def history(self, view: View) -> None:
        query = {"expiry": view.expiry, "fields": HISTORY_FIELDS, "limit": "200"}
        path = f"/api/data/chain/{view.product}/history"
        self.api.get(path, "/api/data/chain/[product]/history", query)

    def analytics(self, view: View, route: str, query: dict[str, str] | None = None) -> None:
        path = f"/api/analytics/{view.product}/{route}"
        query = analytics_query(route, view) if query is None else query
        self.api.get(path, f"/api/analytics/[product]/{route}", query)


class DashboardViewer(SignedInUser):
    """A browser on the dashboard (see the module docstring)."""

    weight = 4
    wait_time = constant(0)  # `watch` paces itself: it waits for updates

    live: LiveFeed

    def on_start(self) -> None:
        super().on_start()
        self.refusals = 0
        self.live = LiveFeed(self.find_socket_url(), self.record_socketio)
        self.open_view(self.view)

    def on_stop(self) -> None:
        if hasattr(self, "live"):
            self.live.close()

    @task(10)
    def watch(self) -> None:
        """Leave the page open; come back live when the connection ended."""
        if not self.live.connected or self.live.view != self.view:
            self.go_live()
        self.live.wait_closed(self.rng.uniform(10.0, 30.0))

    @task(1)
    def switch_view(self) -> None:
        self.open_view(pick_view(self.catalogue, self.rng))

    def open_view(self, view: View) -> None:
        """What the dashboard does on a new selection: its REST reads, then live updates."""
        self.view = view
        self.chain(view)
        self.underlying(view)
        self.analytics(view, "oi-change")
        history = {"expiry": view.expiry, "interval": "1m", "start": _iso_ago(6 * 3600),
                   "metrics": "pcr_oi,pcr_volume,max_pain"}  # fmt: skip
        self.analytics(view, "series", history)
        self.analytics(view, "candles", {"interval": "1m", "start": _iso_ago(300 * 60)})
        self.go_live()

    def go_live(self) -> None:
        if not self.live.connected and not self.live.connect(self.api.access_token()):
            self.refusals += 1
            gevent.sleep(backoff_s(self.refusals, self.rng, RECONNECT_FIRST_S, RECONNECT_MAX_S))
            return
        self.refusals = 0
        if not self.live.select(self.view):  # the expiry may have gone: look again
            self.catalogue = self.load_catalogue()
            self.view = pick_view(self.catalogue, self.rng)

    def find_socket_url(self) -> str:
        explicit = self.environment.parsed_options.socket_url
        if explicit:
            return str(explicit).rstrip("/")
        with self.client.get("/config.json", name="/config.json", catch_response=True) as resp:
            config = resp.json() if resp.status_code == 200 else None
            if config is None:
                resp.failure(f"{resp.status_code}: no /config.json (pass --socket-url)")
        assert self.host is not None, "--host is required"
        return socket_url(self.host, config)

    def record_socketio(
        self, name: str, response_time: float, length: int, exception: Exception | None
    ) -> None:
        self.environment.events.request.fire(
            request_type=REQUEST_TYPE, name=name, response_time=response_time,
            response_length=length, exception=exception, context={},
        )  # fmt: skip


class ApiClient(SignedInUser):
    """A script polling the REST API (see the module docstring)."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        """Sign in, then backfill before polling: the stored history and the PCR series."""
        super().on_start()
        self.history(self.view)
        self.analytics(self.view, "series")

    @task(10)
    def poll_chain(self) -> None:
        self.chain(self.view)

    @task(2)
    def poll_nearest_chain(self) -> None:
        self.nearest_chain(self.view)

    @task(5)
    def poll_underlying(self) -> None:
        self.underlying(self.view)

    @task(2)
    def read_history(self) -> None:
        self.history(self.view)

    @task(4)
    def read_analytics(self) -> None:
        self.analytics(self.view, pick_analytics(self.rng))

    @task(1)
    def look_elsewhere(self) -> None:
        """Reload the products and move to another view."""
        self.catalogue = self.load_catalogue()
        self.view = pick_view(self.catalogue, self.rng)
