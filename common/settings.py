"""Typed settings read once from the environment, with one-machine defaults.

Every service calls :func:`load_settings` at start-up; nothing else reads
``os.environ`` (``tests/unit/common/test_environment_reads.py`` scans every
package). Invalid values raise :class:`SettingsError` with the variable name,
so a bad configuration is a one-line message, not a traceback.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from urllib.parse import quote

from environs import Env, EnvError
from limits import parse_many
from marshmallow.validate import Length, OneOf, Range

from common.conventions import (
    DEFAULT_DIVIDEND_YIELD,
    DEFAULT_EXPIRY_TIME_UTC,
    DEFAULT_RISK_FREE_RATE,
)
from common.metricfiles import MULTIPROC_ENV
from common.products import DEFAULT_STALE_AFTER_S, NSE_CONTRACT_SIZES

DEFAULT_WEB_WORKERS = 2
"""gunicorn processes per service when ``WEB_CONCURRENCY`` is unset."""
DEFAULT_WEB_THREADS = 8
"""Threads per gunicorn process when ``GUNICORN_THREADS`` is unset."""
DEFAULT_RAW_STREAM_MAXLEN = 2_000_000
"""Entries each raw market stream keeps when ``RAW_STREAM_MAXLEN`` is unset: at the feed's
20,000 msg/s mix the quote stream, the fastest, fills it in about 3 minutes."""
PASSWORD_ENV = "OPTIONSFLOW_PASSWORD"
"""The password of ``python -m auth_service create-user`` (else read from standard input)."""


class SettingsError(ValueError):
    """A configuration value is missing or invalid."""


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    """The enrichment pipeline: subscriber batching, backpressure, Celery and the cache."""

    batch_size: int
    """Messages per Celery task at most (the subscriber's micro-batch)."""
    batch_ms: float
    """Longest time a message waits in the subscriber before its batch is sent."""
    queue_high_water: int
    """Tasks waiting in the ``enrich`` queue above which chains are coalesced."""
    coalesce_release_ms: float
    """While coalescing, how often the newest chain of each (product, expiry) goes out."""
    claim_idle_ms: int
    """A raw stream entry left pending this long by a subscriber instance (it died) is claimed
    and handled by another, or by the instance restarted."""
    max_message_bytes: int
    """Larger messages are dead-lettered unread."""
    raw_stream_maxlen: int
    """Entries each raw stream (``market:*``) keeps at most (``XADD MAXLEN ~``): how much the
    subscriber can fall behind, or be down for, before unread messages are trimmed."""
    deadletter_max: int
    """Entries kept per dead-letter list (the oldest are trimmed)."""
    latest_ttl_s: int
    """Lifetime of the ``latest:*`` cache entries."""
    broker_url: str | None
    """Celery broker; ``None``: database 1 of ``REDIS_URL``."""
    visibility_timeout_s: int
    """A task taken by a worker that died is handed out again after this long (60 s: above
    the longest retry countdown, 30 s, which a worker waits out holding the task)."""
    metrics_port: int
    """Prometheus metrics of the subscriber on ``METRICS_HOST`` (0 = off)."""
    worker_metrics_port: int
    """Prometheus metrics of a Celery worker (all its pool processes) on ``METRICS_HOST``
    (0 = off)."""


@dataclass(frozen=True, slots=True)
class ObservabilitySettings:
    """Where logs, metrics and errors go."""

    metrics_host: str
    """Address the worker's, the subscriber's and the feed's metrics servers bind (0.0.0.0 in
    containers)."""
    log_shipping: bool
    """Ship every log record to the Redis Stream ``logs`` (when ``REDIS_URL`` is set)."""
    log_stream_maxlen: int
    """Entries the stream keeps at most (approximately: ``XADD MAXLEN ~``)."""
    log_dir: Path
    """Where logging_service writes its rotating JSON-lines files and its query index."""
    log_file_bytes: int
    """A log file is rotated at this size."""
    log_files: int
    """Rotated files kept."""
    log_retention_s: int
    """Lines older than this leave the query index."""
    elasticsearch_url: str | None
    """When set, logging_service also forwards every line with the bulk API."""
    sentry_traces_sample_rate: float
    flower_port: int
    """Flower (Celery monitoring) under ``make up``, on 127.0.0.1."""
    prometheus_multiproc_dir: Path | None
    """prometheus_client's multiprocess directory (``PROMETHEUS_MULTIPROC_DIR``): every
    process writes its series there and ``/metrics`` merges them; ``None``: in memory."""


@dataclass(frozen=True, slots=True)
class BrowserSettings:
    """What the gateway tells browsers about itself (``api_gateway/secheaders.py``)."""

    hsts_max_age_s: int
    """``HSTS_MAX_AGE_S``: ``Strict-Transport-Security`` max-age; ``0`` (the default) sends
    none. Set it only where browsers reach OptionsFlow over TLS (an ingress terminating it):
    a browser then refuses plain HTTP to that host for this long."""


@dataclass(frozen=True, slots=True)
class WebSettings:
    """gunicorn, which serves every HTTP service (``common/gunicorn_conf.py``)."""

    workers: int | None
    """Processes (``WEB_CONCURRENCY``); ``None``: unset, :data:`DEFAULT_WEB_WORKERS` (``make
    up`` chooses per service: the gateway one per core and one more)."""
    threads: int | None
    """Threads per process (``GUNICORN_THREADS``); ``None``: unset, :data:`DEFAULT_WEB_THREADS`
    (``make up`` gives the gateway 32)."""
    timeout_s: int
    """Seconds a worker may stay silent before gunicorn replaces it (``GUNICORN_TIMEOUT``)."""
    service_name: str
    """gunicorn's process name (``SERVICE_NAME``; ``make up`` sets each service's package)."""

    @property
    def worker_count(self) -> int:
        return self.workers or DEFAULT_WEB_WORKERS

    @property
    def thread_count(self) -> int:
        return self.threads or DEFAULT_WEB_THREADS


@dataclass(frozen=True, slots=True)
class LoginSettings:
    """auth_service's password hashing (``auth_service/verifycap.py``)."""

    verify_concurrency: int | None
    """``LOGIN_VERIFY_CONCURRENCY``: Argon2 hashes (login, registration, upgrade) one
    auth_service process runs at once; one more answers 503 with ``Retry-After`` at once.
    ``None`` (unset): the process's share of the cores, ``ceil(cores / WEB_CONCURRENCY)``,
    below its thread count (``verifycap.default_limit``)."""


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """The REST services: ports, upstream URLs, limits, cache and circuit breaker."""

    gateway_port: int
    auth_port: int
    socket_port: int
    storage_port: int
    analytics_port: int
    logging_port: int
    alert_port: int
    paper_port: int
    auth_url: str
    storage_url: str
    analytics_url: str
    logging_url: str
    alert_url: str
    paper_url: str
    upstream_timeout_s: float
    """Connect + read timeout of a gateway call to a service."""
    proxy_hops: int
    """Trusted reverse proxies in front of this service (``X-Forwarded-For`` entries used)."""
    rate_limit_user: str
    """Flask-Limiter expression per authenticated user at the gateway, e.g. ``50/second``."""
    rate_limit_ip: str
    """Flask-Limiter expression per client IP at the gateway."""
    login_limit_user: str
    """Login attempts per username (any outcome) at auth_service."""
    login_limit_ip: str
    """Login and register attempts per client IP at auth_service."""
    shed_inflight: int
    """In-flight requests per gateway process above which history/analytics get 503."""
    jwks_ttl_s: int
    """How long a gateway trusts its cached JWKS before fetching it again."""
    access_ttl_s: int
    refresh_ttl_s: int
    refresh_cookie_secure: bool
    """``REFRESH_COOKIE_SECURE``: the browser's refresh and CSRF cookies carry ``Secure``
    (sent over HTTPS only). Default true; false only for plain-HTTP development on a host
    other than localhost, where a browser would otherwise drop them."""
    store_timeout_ms: int
    """A store call taking longer counts as a failure (the answer comes from the cache)."""
    breaker_fail_max: int
    """Consecutive store failures that open the circuit."""
    breaker_reset_s: float
    """How long the circuit stays open before one trial call."""
    cache_ttl_s: int
    """Freshness of cache-aside entries (history, products) in the storage service."""
    stale_ttl_s: int
    """How long an expired cache entry is kept to be served stale when the store fails."""
    lock_ttl_ms: int
    """Lifetime of the rebuild lock of a cache entry (a crashed holder frees it)."""
    lock_wait_ms: int
    """How long a request waits for another's rebuild before answering 503."""


@dataclass(frozen=True, slots=True)
class SocketSettings:
    """The Socket.IO gateway: limits, heartbeat and the degraded mode."""

    public_url: str | None
    """Where browsers reach it (the dashboard's ``/config.json``); ``None``: the page's
    host on ``SOCKET_GATEWAY_PORT``."""
    cors_origins: tuple[str, ...]
    """``SOCKET_CORS_ORIGINS``: browser origins allowed to connect (``http(s)://host[:port]``,
    exactly). Empty (the default): the dashboard's own origin, judged per request: the
    host the browser addressed the gateway by, on the API gateway's port (``make up``,
    compose: the page on 8000, the socket on 8002) or on the socket gateway's own (one
    origin behind an ingress). ``("*",)``: any origin (tokens, not cookies, authorise)."""
    max_clients: int
    """Engine.IO sessions one gateway instance holds at once, counted from the handshake
    (eventlet's green threads); more are refused at the handshake."""
    max_connections_per_ip: int
    """Engine.IO sessions (authenticated or not yet) one client address may hold on one
    gateway instance, counted from the handshake."""
    max_pending: int
    """``SOCKET_MAX_PENDING``: sessions without an authenticated Socket.IO connection one
    instance holds at once, whatever their address; more are refused at the handshake."""
    auth_timeout_s: float
    """``SOCKET_AUTH_TIMEOUT_S``: a session closed this long after its handshake (or after
    its connection ended) without an authenticated Socket.IO connection."""
    max_subscriptions: int
    """Subscriptions (product, expiry) one connection may hold."""
    subscribe_rate_hz: float
    """``SOCKET_SUBSCRIBE_RATE_HZ``: ``subscribe`` and ``unsubscribe`` events one connection
    may send a second, on average (a token bucket); more get ``rate_limited``."""
    subscribe_burst: int
    """``SOCKET_SUBSCRIBE_BURST``: the bucket's size, events one connection may send at once."""
    ping_interval_s: float
    ping_timeout_s: float
    degrade_lag_ms: float
    """An update waiting longer than this before its emit switches to the degraded mode."""
    degraded_rate_hz: float
    """In the degraded mode, updates per second per room at most (the newest is sent)."""
    recover_s: float
    """Calm this long (the emit loop busy under half the time) brings the normal mode back."""


@dataclass(frozen=True, slots=True)
class TrustSettings:
    """The closed trust boundary: the gateway's credential towards the internal services and
    Redis's password (``common/web/servicecred.py``, docs/SECURITY.md)."""

    service_token: str | None = field(repr=False)
    """``SERVICE_TOKEN`` (or the file ``SERVICE_TOKEN_FILE`` names): the shared credential the
    gateway and the socket gateway send to auth, storage, analytics and logging_service, which
    refuse any other caller and honour ``X-Forwarded-For`` only from it. ``None``: the internal
    services accept anyone and ignore forwarding headers (development only; production refuses
    to start; ``make up`` generates one under ``var/``)."""
    redis_password: str | None = field(repr=False)
    """``REDIS_PASSWORD`` (or ``REDIS_PASSWORD_FILE``): put into ``REDIS_URL`` when that URL
    carries none (compose and the chart mount it from a Secret)."""


MIN_SERVICE_TOKEN_CHARS = 32
"""A shorter ``SERVICE_TOKEN`` is refused: it would be guessable."""


VENUES = (
    "synthetic",
    "deribit",
    "deribit-sim",
    "binance",
    "binance-sim",
    "coinbase",
    "coinbase-sim",
    "kite",
    "kite-sim",
)
"""The venues ``FEED_VENUES`` accepts today."""
LATER_VENUES: tuple[str, ...] = ()
"""Named by the architecture, not built yet: refused with a message saying so."""


KITE_UNDERLYINGS = ("NIFTY", "BANKNIFTY", "FINNIFTY", "MIDCPNIFTY")
"""The NSE index option underlyings ``KITE_UNDERLYINGS`` accepts (each has its index)."""


@dataclass(frozen=True, slots=True)
class KiteSettings:
    """Kite Connect (``kite``, ``kite-sim``): a user's own key and daily access token, the
    endpoints, and which options are followed (docs/VENUES.md)."""

    api_key: str | None
    access_token: str | None = field(repr=False)
    """``KITE_ACCESS_TOKEN`` or the contents of ``KITE_ACCESS_TOKEN_FILE``; never logged."""
    access_token_file: Path | None
    """``KITE_ACCESS_TOKEN_FILE``: re-read while running, so a new day's token is taken
    without a restart."""
    ws_url: str
    api_url: str
    underlyings: tuple[str, ...]
    expiries: int
    """The nearest expiries followed per underlying."""
    strikes_around: int
    """Strikes each side of the money followed per expiry."""
    sim_port: int
    """Port of the local Kite simulator that ``kite-sim`` runs (``make up``) and connects to."""

    @property
    def sim_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.sim_port}/"

    @property
    def sim_api_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"


SPOT_PRODUCTS = ("BTC", "ETH")
"""The coins ``SPOT_PRODUCTS`` accepts (Binance ``BTCUSDT``, Coinbase ``BTC-USD``, …)."""


@dataclass(frozen=True, slots=True)
class SpotSettings:
    """The spot reference sources (``binance``, ``coinbase`` and their ``-sim``): public,
    keyless WebSocket streams of BTC and ETH (docs/VENUES.md, "Spot reference sources")."""

    binance_ws_url: str
    """``BINANCE_WS_URL``: the base; the combined-stream path is appended."""
    coinbase_ws_url: str
    products: tuple[str, ...]
    binance_sim_port: int
    coinbase_sim_port: int

    @property
    def binance_sim_url(self) -> str:
        return f"ws://127.0.0.1:{self.binance_sim_port}"

    @property
    def coinbase_sim_url(self) -> str:
        return f"ws://127.0.0.1:{self.coinbase_sim_port}/"


@dataclass(frozen=True, slots=True)
class VenueSettings:
    """Where the feed's market data comes from (``FEED_VENUES``) and each venue's endpoints."""

    venues: tuple[str, ...]
    deribit_ws_url: str
    deribit_rest_url: str
    deribit_currencies: tuple[str, ...]
    deribit_sim_port: int
    """Port of the local simulator that ``deribit-sim`` runs (``make up``) and connects to."""
    metrics_port: int
    """Prometheus metrics of the feed process (every venue's health) on ``METRICS_HOST``
    (``FEED_METRICS_PORT``; 0 = off)."""
    kite: KiteSettings
    spot: SpotSettings

    @property
    def sim_ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.deribit_sim_port}/ws/api/v2"

    @property
    def sim_rest_url(self) -> str:
        return f"http://127.0.0.1:{self.deribit_sim_port}/api/v2"


@dataclass(frozen=True, slots=True)
class ReferenceSettings:
    """The reference price of an underlying priced by several sources (docs/VENUES.md,
    "Reference price"); seconds and basis points (1 bp = 0.01 %)."""

    deviation_bps: float = 50.0
    """``REFERENCE_DEVIATION_BPS``: how far from the other sources a source may be."""
    deviation_bps_by_product: Mapping[str, float] = field(default_factory=dict)
    """Per product overrides of it (``REFERENCE_DEVIATION_BPS=50,BTC:30,NIFTY:20``)."""
    window_s: float = 5.0
    """``REFERENCE_WINDOW_S``: a source off for longer is quarantined; one quarantined comes
    back after agreeing again for as long."""
    stale_after_s: float = 5.0
    """``REFERENCE_STALE_AFTER_S``: a source silent for longer is stale."""
    stale_after_s_by_source: Mapping[str, float] = field(default_factory=dict)
    """Per source overrides of it (``REFERENCE_STALE_AFTER_S=5,parity:10``)."""
    emit_interval_s: float = 0.25
    """``REFERENCE_EMIT_INTERVAL_S``: at most one reference tick per product this often (and
    one at every change of a source's state)."""

    def deviation_for(self, product: str) -> float:
        return self.deviation_bps_by_product.get(product, self.deviation_bps)

    def stale_after_for(self, source: str) -> float:
        return self.stale_after_s_by_source.get(source, self.stale_after_s)


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Alerts (alerts/, alert_service/, the workers' evaluation and delivery)."""

    per_user: int = 100
    """``ALERTS_PER_USER``: alerts one user may hold (active or paused)."""
    webhook_allow_private: bool = False
    """``ALERT_WEBHOOK_ALLOW_PRIVATE``: webhooks may go to loopback, private, link-local and
    other non-public addresses (tests, a trusted network); refused by default."""
    webhook_timeout_s: float = 5.0
    """``ALERT_WEBHOOK_TIMEOUT_S``: connect + read timeout of one webhook attempt."""
    webhook_attempts: int = 6
    """``ALERT_WEBHOOK_ATTEMPTS``: attempts of one webhook delivery, backoff and jitter
    between them, before it is given up (and logged)."""
    webhook_backoff_s: float = 1.0
    """``ALERT_WEBHOOK_BACKOFF_S``: the first retry's delay bound (doubling, full jitter,
    at most 30 s, below the broker's visibility timeout)."""


def _default_start_cash() -> dict[str, Decimal]:
    return {"INR": Decimal(10_000_000), "USD": Decimal(100_000)}


@dataclass(frozen=True, slots=True)
class PaperSettings:
    """Paper trading's account rules (paper/, store/paper/; docs/PAPER.md). Amounts and
    rates are exact decimals; rates are fractions (0.15 = 15 %)."""

    start_cash: Mapping[str, Decimal] = field(default_factory=_default_start_cash)
    """``PAPER_START_CASH``: a new wallet's cash per currency (``INR:10000000,USD:100000``);
    a currency not listed starts with none."""
    fee_per_unit: Mapping[str, Decimal] = field(default_factory=dict)
    """``PAPER_FEE_PER_UNIT``: fee per unit of the underlying filled, per currency
    (``INR:0.05``); a currency not listed pays none."""
    fee_rate: Decimal = Decimal("0.0005")
    """``PAPER_FEE_RATE``: fee as a fraction of a fill's premium (0.0005 = 5 bp; 0: none)."""
    margin_rate: Decimal = Decimal("0.15")
    """``PAPER_MARGIN_RATE``: a short option blocks premium + this × underlying − the
    out-of-the-money amount per unit …"""
    margin_floor_rate: Decimal = Decimal("0.10")
    """``PAPER_MARGIN_FLOOR_RATE``: … and at least premium + this × underlying."""
    underlying_margin_rate: Decimal = Decimal("0.20")
    """``PAPER_UNDERLYING_MARGIN_RATE``: a short underlying or future blocks this × its
    value per unit."""
    strategies_per_user: int = 100
    """``STRATEGIES_PER_USER``: saved strategies one user may hold (paper_service)."""


@dataclass(frozen=True, slots=True)
class Settings:
    env: Environment
    log_level: str
    redis_url: str | None = field(repr=False)
    """``None`` means: start an embedded redis-server on a free port. Left out of the repr,
    like ``store_url``: either may hold a password."""
    store_url: str = field(repr=False)
    var_dir: Path
    sentry_dsn: str | None
    risk_free_rate: float
    """Continuously compounded, per year (0.065 = 6.5 %)."""
    dividend_yield: float
    """Continuous yield per year applied to every product unless it has its own."""
    expiry_time_utc: dt.time
    """Time of day (UTC) at which options expire on their expiry date."""
    feed_session: str
    """``FEED_SESSION``: when the synthetic market's options trade: ``simulated`` (around
    the clock, a simulated session outside the real one) or ``exchange`` (the real session)."""
    jwt_private_key_path: Path | None
    jwt_public_key_path: Path | None
    pipeline: PipelineSettings
    http: HttpSettings
    socket: SocketSettings
    observability: ObservabilitySettings
    web: WebSettings
    login: LoginSettings
    venues: VenueSettings
    browser: BrowserSettings
    trust: TrustSettings
    create_user_password: str | None = field(repr=False)
    """``OPTIONSFLOW_PASSWORD``: the password ``python -m auth_service create-user`` sets
    (``None``: it reads standard input); never printed."""
    data_stale_after_s: float = DEFAULT_STALE_AFTER_S
    """``DATA_STALE_AFTER_S``: the age (seconds from the origin timestamp) past which the NSE
    products' newest chain or tick is served marked stale (as ``RISK_FREE_RATE``, their
    convention; Deribit's keep the venue's 10 s, common/products.py)."""
    reference: ReferenceSettings = field(default_factory=ReferenceSettings)
    """``REFERENCE_*``: the reference price of products with several sources."""
    alerts: AlertSettings = field(default_factory=AlertSettings)
    """``ALERT*``: per-user limits and webhook delivery."""
    paper: PaperSettings = field(default_factory=PaperSettings)
    """``PAPER_*``: paper trading's starting cash, fees and margin rates."""

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION


def _parse_time(text: str, name: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: expected HH:MM, got {text!r}") from exc


def _pipeline(env: Env) -> PipelineSettings:
    return PipelineSettings(
        batch_size=env.int("BATCH_SIZE", 200, validate=Range(1, 10_000)),
        batch_ms=env.float("BATCH_MS", 20.0, validate=Range(0.1, 10_000.0)),
        queue_high_water=env.int("QUEUE_HIGH_WATER", 200, validate=Range(1, 10_000_000)),
        coalesce_release_ms=env.float("COALESCE_RELEASE_MS", 500.0, validate=Range(1.0, 60_000.0)),
        claim_idle_ms=env.int("SUBSCRIBER_CLAIM_IDLE_MS", 10_000, validate=Range(100, 3_600_000)),
        max_message_bytes=env.int("MAX_MESSAGE_BYTES", 2 << 20, validate=Range(1024, 64 << 20)),
        raw_stream_maxlen=env.int(
            "RAW_STREAM_MAXLEN", DEFAULT_RAW_STREAM_MAXLEN, validate=Range(1_000, 1_000_000_000)
        ),
        deadletter_max=env.int("DEADLETTER_MAX", 10_000, validate=Range(1, 10_000_000)),
        latest_ttl_s=env.int("LATEST_TTL_S", 86_400, validate=Range(1, 30 * 86_400)),
        broker_url=env.str("CELERY_BROKER_URL", None) or None,
        visibility_timeout_s=env.int("CELERY_VISIBILITY_TIMEOUT_S", 60, validate=Range(1, 86_400)),
        metrics_port=env.int("SUBSCRIBER_METRICS_PORT", 0, validate=Range(0, 65_535)),
        worker_metrics_port=env.int("WORKER_METRICS_PORT", 0, validate=Range(0, 65_535)),
    )


def _http(env: Env) -> HttpSettings:
    def port(name: str, default: int) -> int:
        return env.int(name, default, validate=Range(1, 65_535))

    def url(name: str, port: int) -> str:
        return env.str(name, f"http://127.0.0.1:{port}").rstrip("/")

    def limit(name: str, default: str) -> str:
        value = env.str(name, default)
        try:
            parse_many(value)
        except ValueError as exc:
            raise SettingsError(f"{name}: not a rate limit ({value!r}): {exc}") from exc
        return value

    # A service's URL defaults to its port on this machine, so moving a port moves both.
    auth, storage = port("AUTH_SERVICE_PORT", 8001), port("STORAGE_SERVICE_PORT", 8003)
    analytics, logging = port("ANALYTICS_SERVICE_PORT", 8004), port("LOGGING_SERVICE_PORT", 8005)
    alert, paper = port("ALERT_SERVICE_PORT", 8006), port("PAPER_SERVICE_PORT", 8007)
    return HttpSettings(
        gateway_port=port("API_GATEWAY_PORT", 8000),
        auth_port=auth,
        socket_port=port("SOCKET_GATEWAY_PORT", 8002),
        storage_port=storage,
        analytics_port=analytics,
        logging_port=logging,
        alert_port=alert,
        paper_port=paper,
        auth_url=url("AUTH_SERVICE_URL", auth),
        storage_url=url("STORAGE_SERVICE_URL", storage),
        analytics_url=url("ANALYTICS_SERVICE_URL", analytics),
        logging_url=url("LOGGING_SERVICE_URL", logging),
        alert_url=url("ALERT_SERVICE_URL", alert),
        paper_url=url("PAPER_SERVICE_URL", paper),
        upstream_timeout_s=env.float("UPSTREAM_TIMEOUT_S", 5.0, validate=Range(0.05, 120.0)),
        proxy_hops=env.int("PROXY_HOPS", 0, validate=Range(0, 10)),
        rate_limit_user=limit("RATE_LIMIT_USER", "50/second"),
        rate_limit_ip=limit("RATE_LIMIT_IP", "200/second"),
        login_limit_user=limit("LOGIN_LIMIT_USER", "5/minute;20/hour"),
        login_limit_ip=limit("LOGIN_LIMIT_IP", "30/minute"),
        shed_inflight=env.int("SHED_INFLIGHT", 24, validate=Range(1, 100_000)),
        jwks_ttl_s=env.int("JWKS_TTL_S", 300, validate=Range(1, 86_400)),
        access_ttl_s=env.int("ACCESS_TTL_S", 900, validate=Range(10, 86_400)),
        refresh_ttl_s=env.int("REFRESH_TTL_S", 7 * 86_400, validate=Range(60, 90 * 86_400)),
        refresh_cookie_secure=env.bool("REFRESH_COOKIE_SECURE", True),
        store_timeout_ms=env.int("STORE_TIMEOUT_MS", 500, validate=Range(1, 60_000)),
        breaker_fail_max=env.int("BREAKER_FAIL_MAX", 5, validate=Range(1, 1000)),
        breaker_reset_s=env.float("BREAKER_RESET_S", 10.0, validate=Range(0.01, 3600.0)),
        cache_ttl_s=env.int("CACHE_TTL_S", 5, validate=Range(1, 86_400)),
        stale_ttl_s=env.int("STALE_TTL_S", 3600, validate=Range(1, 30 * 86_400)),
        lock_ttl_ms=env.int("CACHE_LOCK_TTL_MS", 3000, validate=Range(10, 600_000)),
        lock_wait_ms=env.int("CACHE_LOCK_WAIT_MS", 1000, validate=Range(1, 60_000)),
    )


def _socket(env: Env) -> SocketSettings:
    def origin(text: str) -> str:
        """``scheme://host[:port]`` as a browser's ``Origin`` header spells it, or "*"."""
        scheme, sep, netloc = text.rstrip("/").partition("://")
        ok = sep and scheme.lower() in ("http", "https") and netloc
        if text == "*" or (ok and not any(c in netloc for c in "/?#@ \t")):
            return text if text == "*" else f"{scheme.lower()}://{netloc.lower()}"
        raise SettingsError(
            f"SOCKET_CORS_ORIGINS: {text!r} is not an origin (http(s)://host[:port])"
        )

    raw = env.str("SOCKET_CORS_ORIGINS", "") or ""
    origins = tuple(dict.fromkeys(origin(o.strip()) for o in raw.split(",") if o.strip()))
    return SocketSettings(
        public_url=(env.str("SOCKET_PUBLIC_URL", "") or "").rstrip("/") or None,
        cors_origins=("*",) if "*" in origins else origins,
        max_clients=env.int("SOCKET_MAX_CLIENTS", 20_000, validate=Range(1, 1_000_000)),
        max_connections_per_ip=env.int("SOCKET_MAX_CONN_PER_IP", 50, validate=Range(1, 1_000_000)),
        max_pending=env.int("SOCKET_MAX_PENDING", 1_000, validate=Range(1, 1_000_000)),
        auth_timeout_s=env.float("SOCKET_AUTH_TIMEOUT_S", 10.0, validate=Range(0.1, 3600.0)),
        max_subscriptions=env.int("SOCKET_MAX_SUBSCRIPTIONS", 20, validate=Range(1, 10_000)),
        subscribe_rate_hz=env.float(
            "SOCKET_SUBSCRIBE_RATE_HZ", 5.0, validate=Range(0.01, 10_000.0)
        ),
        subscribe_burst=env.int("SOCKET_SUBSCRIBE_BURST", 20, validate=Range(1, 100_000)),
        ping_interval_s=env.float("SOCKET_PING_INTERVAL_S", 25.0, validate=Range(0.1, 3600.0)),
        ping_timeout_s=env.float("SOCKET_PING_TIMEOUT_S", 20.0, validate=Range(0.1, 3600.0)),
        degrade_lag_ms=env.float("SOCKET_DEGRADE_LAG_MS", 250.0, validate=Range(1.0, 60_000.0)),
        degraded_rate_hz=env.float("SOCKET_DEGRADED_RATE_HZ", 1.0, validate=Range(0.01, 100.0)),
        recover_s=env.float("SOCKET_RECOVER_S", 5.0, validate=Range(0.01, 3600.0)),
    )


def _secret(env: Env, name: str) -> str | None:
    """``name``, else the stripped contents of the file ``{name}_FILE`` names (a mounted
    Secret), else ``None``."""
    value = env.str(name, "") or ""
    path = env.str(f"{name}_FILE", "") or ""
    if value and path:
        raise SettingsError(f"{name}: set either {name} or {name}_FILE, not both")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{name}_FILE: cannot read {path!r}: {exc.strerror}") from exc
        if not value:
            raise SettingsError(f"{name}_FILE: {path!r} is empty")
    return value or None


def _trust(env: Env) -> TrustSettings:
    token = _secret(env, "SERVICE_TOKEN")
    if token is not None and len(token) < MIN_SERVICE_TOKEN_CHARS:
        raise SettingsError(
            f"SERVICE_TOKEN: at least {MIN_SERVICE_TOKEN_CHARS} characters "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
        )
    return TrustSettings(service_token=token, redis_password=_secret(env, "REDIS_PASSWORD"))


def with_redis_password(url: str | None, password: str | None) -> str | None:
    """``url`` with ``password`` in it, unless it has credentials already (or is a socket)."""
    if url is None or password is None or not url.startswith(("redis://", "rediss://")):
        return url
    scheme, rest = url.split("://", 1)
    if "@" in rest.split("/", 1)[0]:
        return url
    return f"{scheme}://:{quote(password, safe='')}@{rest}"


def _observability(env: Env, var_dir: Path) -> ObservabilitySettings:
    return ObservabilitySettings(
        metrics_host=env.str("METRICS_HOST", "127.0.0.1"),
        log_shipping=env.bool("LOG_SHIPPING", True),
        log_stream_maxlen=env.int("LOG_STREAM_MAXLEN", 100_000, validate=Range(100, 100_000_000)),
        log_dir=env.path("LOG_DIR", var_dir / "logs"),
        log_file_bytes=env.int("LOG_FILE_BYTES", 50 << 20, validate=Range(1024, 1 << 40)),
        log_files=env.int("LOG_FILES", 10, validate=Range(1, 10_000)),
        log_retention_s=env.int("LOG_RETENTION_S", 7 * 86_400, validate=Range(60, 3650 * 86_400)),
        elasticsearch_url=(env.str("ELASTICSEARCH_URL", "") or "").rstrip("/") or None,
        sentry_traces_sample_rate=env.float(
            "SENTRY_TRACES_SAMPLE_RATE", 0.0, validate=Range(0.0, 1.0)
        ),
        flower_port=env.int("FLOWER_PORT", 5555, validate=Range(1, 65_535)),
        prometheus_multiproc_dir=_optional_path(env, MULTIPROC_ENV),
    )


def _optional_path(env: Env, name: str) -> Path | None:
    """``None`` when ``name`` is unset or empty (prometheus_client treats both as unset)."""
    value = env.str(name, "") or ""
    return Path(value) if value else None


def _login(env: Env) -> LoginSettings:
    return LoginSettings(
        verify_concurrency=env.int("LOGIN_VERIFY_CONCURRENCY", None, validate=Range(1, 1024))
    )


def _web(env: Env) -> WebSettings:
    def unset_or(name: str, upper: int) -> int | None:
        return env.int(name, None, validate=Range(1, upper))

    return WebSettings(
        workers=unset_or("WEB_CONCURRENCY", 256),
        threads=unset_or("GUNICORN_THREADS", 1024),
        timeout_s=env.int("GUNICORN_TIMEOUT", 30, validate=Range(0, 86_400)),
        service_name=env.str("SERVICE_NAME", "optionsflow", validate=Length(min=1)),
    )


def _comma_list(env: Env, name: str, default: str) -> tuple[str, ...]:
    items = tuple(i.strip() for i in env.str(name, default).split(",") if i.strip())
    if not items:
        raise SettingsError(f"{name}: expected a comma list, got nothing")
    return tuple(dict.fromkeys(items))  # a repeated name would run the venue twice


def parse_venues(text: str, name: str = "FEED_VENUES") -> tuple[str, ...]:
    """The venues of a comma list given as ``name``, or :class:`SettingsError` naming it."""
    names = tuple(dict.fromkeys(n.strip().lower() for n in text.split(",") if n.strip()))
    later = [n for n in names if n in LATER_VENUES]
    if later:
        raise SettingsError(f"{name}: {', '.join(later)} not available yet")
    unknown = [n for n in names if n not in VENUES]
    if unknown or not names:
        raise SettingsError(f"{name}: expected a comma list of {', '.join(VENUES)}, got {text!r}")
    return names


def _url(env: Env, name: str, default: str, schemes: tuple[str, str]) -> str:
    value = env.str(name, default).rstrip("/")
    if not value.startswith(tuple(f"{s}://" for s in schemes)):
        raise SettingsError(f"{name}: expected {' or '.join(s + '://' for s in schemes)}, "
                            f"got {value!r}")  # fmt: skip
    return value


def _kite(env: Env, venues: tuple[str, ...]) -> KiteSettings:
    underlyings = tuple(u.upper() for u in _comma_list(env, "KITE_UNDERLYINGS", "NIFTY,BANKNIFTY"))
    if bad := [u for u in underlyings if u not in KITE_UNDERLYINGS]:
        raise SettingsError(
            f"KITE_UNDERLYINGS: expected some of {', '.join(KITE_UNDERLYINGS)}, "
            f"got {', '.join(bad)}"
        )
    kite = KiteSettings(
        api_key=env.str("KITE_API_KEY", "").strip() or None,
        access_token=_secret(env, "KITE_ACCESS_TOKEN"),
        access_token_file=_optional_path(env, "KITE_ACCESS_TOKEN_FILE"),
        ws_url=_url(env, "KITE_WS_URL", "wss://ws.kite.trade", ("ws", "wss")),
        api_url=_url(env, "KITE_API_URL", "https://api.kite.trade", ("http", "https")),
        underlyings=underlyings,
        expiries=env.int("KITE_EXPIRIES", 2, validate=Range(1, 8)),
        strikes_around=env.int("KITE_STRIKES_AROUND", 10, validate=Range(1, 200)),
        sim_port=env.int("KITE_SIM_PORT", 8011, validate=Range(1, 65_535)),
    )
    require_kite_credentials(venues, kite)
    return kite


def require_kite_credentials(
    venues: tuple[str, ...], kite: KiteSettings, name: str = "FEED_VENUES"
) -> None:
    """:class:`SettingsError` when ``venues`` (given as ``name``) run ``kite`` without a key
    and an access token."""
    if "kite" in venues and (kite.api_key is None or kite.access_token is None):
        raise SettingsError(
            f"{name}=kite needs KITE_API_KEY and KITE_ACCESS_TOKEN (or "
            "KITE_ACCESS_TOKEN_FILE): your Kite Connect app's key and today's access token "
            "(docs/VENUES.md)"
        )


def _spot(env: Env) -> SpotSettings:
    products = tuple(p.upper() for p in _comma_list(env, "SPOT_PRODUCTS", "BTC,ETH"))
    if bad := [p for p in products if p not in SPOT_PRODUCTS]:
        raise SettingsError(f"SPOT_PRODUCTS: expected BTC and/or ETH, got {', '.join(bad)}")
    return SpotSettings(
        binance_ws_url=_url(env, "BINANCE_WS_URL", "wss://stream.binance.com:9443", ("ws", "wss")),
        coinbase_ws_url=_url(
            env, "COINBASE_WS_URL", "wss://ws-feed.exchange.coinbase.com", ("ws", "wss")
        ),
        products=products,
        binance_sim_port=env.int("BINANCE_SIM_PORT", 8012, validate=Range(1, 65_535)),
        coinbase_sim_port=env.int("COINBASE_SIM_PORT", 8013, validate=Range(1, 65_535)),
    )


def _overrides(
    env: Env, name: str, default: float, keys: str, bounds: tuple[float, float]
) -> tuple[float, dict[str, float]]:
    """``name`` as ``[default,]KEY:value,…``: the default and the per-key values, each within
    ``bounds``; ``keys`` is the pattern of a key. :class:`SettingsError` naming ``name``."""
    text = env.str(name, str(default))
    low, high = bounds
    found: dict[str, float] = {}
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, _, value = item.rpartition(":")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (low <= number <= high) or (key and not re.fullmatch(keys, key)):
            raise SettingsError(
                f"{name}: expected [number,]KEY:number,… with numbers in [{low}, {high}], "
                f"got {item!r}"
            )
        if key:
            found[key] = number
        else:
            default = number
    return default, found


def _reference(env: Env) -> ReferenceSettings:
    deviation, by_product = _overrides(
        env, "REFERENCE_DEVIATION_BPS", 50.0, r"[A-Z][A-Z0-9]{0,19}", (0.1, 10_000.0)
    )
    stale, by_source = _overrides(
        env, "REFERENCE_STALE_AFTER_S", 5.0, r"[a-z][a-z0-9_-]{0,31}", (0.05, 3_600.0)
    )
    return ReferenceSettings(
        deviation_bps=deviation,
        deviation_bps_by_product=by_product,
        window_s=env.float("REFERENCE_WINDOW_S", 5.0, validate=Range(0.0, 3_600.0)),
        stale_after_s=stale,
        stale_after_s_by_source=by_source,
        emit_interval_s=env.float("REFERENCE_EMIT_INTERVAL_S", 0.25, validate=Range(0.01, 60.0)),
    )


def check_one_source_per_product(
    venues: tuple[str, ...], kite_underlyings: tuple[str, ...], name: str = "FEED_VENUES"
) -> None:
    """:class:`SettingsError` naming ``name`` when the synthetic market and Kite would both
    publish a product's options (two chains and two ``seq`` series of one product)."""
    if "synthetic" not in venues or not {"kite", "kite-sim"} & set(venues):
        return
    both = [u for u in kite_underlyings if u in NSE_CONTRACT_SIZES]
    if both:
        raise SettingsError(
            f"{name}: synthetic and kite would both publish {', '.join(both)}: run one of them"
        )


def _venues(env: Env) -> VenueSettings:
    currencies = tuple(c.upper() for c in _comma_list(env, "DERIBIT_CURRENCIES", "BTC,ETH"))
    if bad := [c for c in currencies if c not in ("BTC", "ETH")]:
        raise SettingsError(f"DERIBIT_CURRENCIES: expected BTC and/or ETH, got {', '.join(bad)}")
    ws_url = env.str("DERIBIT_WS_URL", "wss://www.deribit.com/ws/api/v2")
    rest_url = env.str("DERIBIT_REST_URL", "https://www.deribit.com/api/v2").rstrip("/")
    if not ws_url.startswith(("ws://", "wss://")):
        raise SettingsError(f"DERIBIT_WS_URL: expected ws:// or wss://, got {ws_url!r}")
    if not rest_url.startswith(("http://", "https://")):
        raise SettingsError(f"DERIBIT_REST_URL: expected http:// or https://, got {rest_url!r}")
    venues = parse_venues(env.str("FEED_VENUES", "synthetic"))
    kite = _kite(env, venues)
    check_one_source_per_product(venues, kite.underlyings)
    return VenueSettings(
        venues=venues,
        deribit_ws_url=ws_url,
        deribit_rest_url=rest_url,
        deribit_currencies=currencies,
        deribit_sim_port=env.int("DERIBIT_SIM_PORT", 8010, validate=Range(1, 65_535)),
        metrics_port=env.int("FEED_METRICS_PORT", 0, validate=Range(0, 65_535)),
        kite=kite,
        spot=_spot(env),
    )


def _alerts(env: Env) -> AlertSettings:
    return AlertSettings(
        per_user=env.int("ALERTS_PER_USER", 100, validate=Range(1, 100_000)),
        webhook_allow_private=env.bool("ALERT_WEBHOOK_ALLOW_PRIVATE", False),
        webhook_timeout_s=env.float("ALERT_WEBHOOK_TIMEOUT_S", 5.0, validate=Range(0.1, 60.0)),
        webhook_attempts=env.int("ALERT_WEBHOOK_ATTEMPTS", 6, validate=Range(1, 20)),
        webhook_backoff_s=env.float("ALERT_WEBHOOK_BACKOFF_S", 1.0, validate=Range(0.01, 60.0)),
    )


_CURRENCY = re.compile(r"[A-Z]{3}")


def _decimal(text: str, name: str, low: Decimal, high: Decimal, places: int) -> Decimal:
    """``text`` as a decimal in [low, high] with at most ``places`` decimals;
    :class:`SettingsError` naming ``name`` otherwise."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not (number.is_finite() and low <= number <= high) or number != round(number, places):
        raise SettingsError(
            f"{name}: expected a number in [{low}, {high}] with at most {places} decimals, "
            f"got {text!r}"
        )
    return number


def _per_currency(
    env: Env, name: str, default: str, high: Decimal, places: int
) -> dict[str, Decimal]:
    """``name`` as ``CUR:amount,…`` (ISO codes, amounts in [0, high]); :class:`SettingsError`
    naming ``name``."""
    found: dict[str, Decimal] = {}
    for item in (i.strip() for i in env.str(name, default).split(",") if i.strip()):
        currency, _, value = item.partition(":")
        if not _CURRENCY.fullmatch(currency) or currency in found:
            raise SettingsError(f"{name}: expected CUR:amount,… (each currency once), got {item!r}")
        found[currency] = _decimal(value, name, Decimal(0), high, places)
    return found


def _paper(env: Env) -> PaperSettings:
    def rate(name: str, default: str) -> Decimal:
        return _decimal(env.str(name, default), name, Decimal(0), Decimal(1), 8)

    return PaperSettings(
        start_cash=_per_currency(
            env, "PAPER_START_CASH", "INR:10000000,USD:100000", Decimal(10) ** 15, 2
        ),
        fee_per_unit=_per_currency(env, "PAPER_FEE_PER_UNIT", "", Decimal(10) ** 6, 8),
        fee_rate=rate("PAPER_FEE_RATE", "0.0005"),
        margin_rate=rate("PAPER_MARGIN_RATE", "0.15"),
        margin_floor_rate=rate("PAPER_MARGIN_FLOOR_RATE", "0.10"),
        underlying_margin_rate=rate("PAPER_UNDERLYING_MARGIN_RATE", "0.20"),
        strategies_per_user=env.int("STRATEGIES_PER_USER", 100, validate=Range(1, 100_000)),
    )


def load_settings() -> Settings:
    """Read and validate settings from the process environment."""
    env = Env(eager=True)
    try:
        var_dir = Path(env.str("VAR_DIR", "var"))
        trust = _trust(env)
        settings = Settings(
            env=Environment(
                env.str("ENV", "development", validate=OneOf([e.value for e in Environment]))
            ),
            log_level=env.str(
                "LOG_LEVEL", "INFO", validate=OneOf(["DEBUG", "INFO", "WARNING", "ERROR"])
            ),
            redis_url=with_redis_password(env.str("REDIS_URL", None) or None, trust.redis_password),
            store_url=env.str("STORE_URL", f"sqlite:///{var_dir / 'optionsflow.db'}"),
            var_dir=var_dir,
            sentry_dsn=env.str("SENTRY_DSN", None) or None,
            risk_free_rate=env.float(
                "RISK_FREE_RATE", DEFAULT_RISK_FREE_RATE, validate=Range(-0.2, 1.0)
            ),
            dividend_yield=env.float(
                "DIVIDEND_YIELD", DEFAULT_DIVIDEND_YIELD, validate=Range(-0.2, 1.0)
            ),
            expiry_time_utc=_parse_time(
                env.str("EXPIRY_TIME_UTC", DEFAULT_EXPIRY_TIME_UTC.strftime("%H:%M")),
                "EXPIRY_TIME_UTC",
            ),
            feed_session=env.str(
                "FEED_SESSION", "simulated", validate=OneOf(["simulated", "exchange"])
            ),
            jwt_private_key_path=env.path("JWT_PRIVATE_KEY_PATH", None),
            jwt_public_key_path=env.path("JWT_PUBLIC_KEY_PATH", None),
            pipeline=_pipeline(env),
            http=_http(env),
            socket=_socket(env),
            observability=_observability(env, var_dir),
            web=_web(env),
            login=_login(env),
            venues=_venues(env),
            browser=BrowserSettings(
                hsts_max_age_s=env.int("HSTS_MAX_AGE_S", 0, validate=Range(0, 2 * 365 * 86_400))
            ),
            trust=trust,
            create_user_password=env.str(PASSWORD_ENV, None),
            data_stale_after_s=env.float(
                "DATA_STALE_AFTER_S", DEFAULT_STALE_AFTER_S, validate=Range(0.1, 86_400.0)
            ),
            reference=_reference(env),
            alerts=_alerts(env),
            paper=_paper(env),
        )
    except (EnvError, ValueError) as exc:
        if isinstance(exc, SettingsError):
            raise
        raise SettingsError(f"invalid configuration: {exc}") from exc
    if settings.redis_url is not None and not settings.redis_url.startswith(
        ("redis://", "rediss://", "unix://")
    ):
        raise SettingsError(
            f"REDIS_URL: expected redis://, rediss:// or unix://, got {settings.redis_url!r}"
        )
    if not settings.store_url.startswith(("sqlite:///", "mongodb://", "mongodb+srv://")):
        raise SettingsError(
            f"STORE_URL: expected sqlite:///path or mongodb://…, got {settings.store_url!r}"
        )
    unix_redis = settings.redis_url is not None and settings.redis_url.startswith("unix://")
    if unix_redis and settings.pipeline.broker_url is None:  # kombu spells socket URLs its own way
        raise SettingsError(
            "CELERY_BROKER_URL: must be set with a unix:// REDIS_URL "
            "(e.g. redis+socket:///run/redis.sock?virtual_host=1)"
        )
    return settings
