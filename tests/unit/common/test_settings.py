"""Settings: defaults that run on one machine, clear errors naming the variable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from common.settings import Environment, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENV", "REDIS_URL", "STORE_URL", "VAR_DIR", "RISK_FREE_RATE", "EXPIRY_TIME_UTC",
                 "LOG_LEVEL", "DIVIDEND_YIELD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_defaults_run_on_one_machine() -> None:
    s = load_settings()
    assert s.env is Environment.DEVELOPMENT
    assert s.redis_url is None  # embedded Redis
    assert s.store_url == "sqlite:///var/optionsflow.db"
    assert s.risk_free_rate == 0.065
    assert s.expiry_time_utc == dt.time(10, 0)
    assert not s.is_production


def test_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:7000/1")
    monkeypatch.setenv("RISK_FREE_RATE", "0.04")
    monkeypatch.setenv("EXPIRY_TIME_UTC", "09:30")
    monkeypatch.setenv("VAR_DIR", "/tmp/of")
    s = load_settings()
    assert s.is_production
    assert s.redis_url == "redis://127.0.0.1:7000/1"
    assert s.risk_free_rate == 0.04
    assert s.expiry_time_utc == dt.time(9, 30)
    assert s.store_url == "sqlite:////tmp/of/optionsflow.db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ENV", "staging"),
        ("RISK_FREE_RATE", "six percent"),
        ("RISK_FREE_RATE", "5"),
        ("EXPIRY_TIME_UTC", "25:00"),
        ("REDIS_URL", "http://localhost"),
        ("STORE_URL", "postgres://db"),
        ("LOG_LEVEL", "LOUD"),
    ],
)
def test_invalid_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


def test_pipeline_settings_and_their_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATCH_SIZE", "BATCH_MS", "QUEUE_HIGH_WATER", "RAW_STREAM_MAXLEN",
                 "SUBSCRIBER_CLAIM_IDLE_MS", "CELERY_BROKER_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    p = load_settings().pipeline
    assert (p.batch_size, p.batch_ms, p.queue_high_water) == (200, 20.0, 200)
    assert (p.raw_stream_maxlen, p.claim_idle_ms, p.broker_url) == (2_000_000, 10_000, None)
    monkeypatch.setenv("RAW_STREAM_MAXLEN", "50000")
    monkeypatch.setenv("SUBSCRIBER_CLAIM_IDLE_MS", "2500")
    p = load_settings().pipeline
    assert (p.raw_stream_maxlen, p.claim_idle_ms) == (50_000, 2_500)
    for name, value in (("RAW_STREAM_MAXLEN", "999"), ("SUBSCRIBER_CLAIM_IDLE_MS", "99"),
                        ("BATCH_SIZE", "0")):  # fmt: skip
        monkeypatch.setenv(name, value)
        with pytest.raises(SettingsError, match=name):
            load_settings()
        monkeypatch.delenv(name)


def test_a_unix_socket_redis_needs_an_explicit_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "unix:///run/redis.sock")
    with pytest.raises(SettingsError, match="CELERY_BROKER_URL"):
        load_settings()
    monkeypatch.setenv("CELERY_BROKER_URL", "redis+socket:///run/redis.sock?virtual_host=1")
    assert load_settings().pipeline.broker_url == "redis+socket:///run/redis.sock?virtual_host=1"


SERVICES = (
    ("AUTH_SERVICE", "auth"),
    ("STORAGE_SERVICE", "storage"),
    ("ANALYTICS_SERVICE", "analytics"),
    ("LOGGING_SERVICE", "logging"),
)


@pytest.fixture
def no_service_addresses(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, _ in SERVICES:
        monkeypatch.delenv(f"{variable}_PORT", raising=False)
        monkeypatch.delenv(f"{variable}_URL", raising=False)


@pytest.mark.usefixtures("no_service_addresses")
def test_service_urls_default_to_their_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    http = load_settings().http
    assert (http.auth_url, http.storage_url, http.analytics_url, http.logging_url) == (
        "http://127.0.0.1:8001",
        "http://127.0.0.1:8003",
        "http://127.0.0.1:8004",
        "http://127.0.0.1:8005",
    )
    for offset, (variable, _) in enumerate(SERVICES):
        monkeypatch.setenv(f"{variable}_PORT", str(9101 + offset))
    http = load_settings().http
    assert (http.auth_port, http.storage_port, http.analytics_port, http.logging_port) == (
        9101,
        9102,
        9103,
        9104,
    )
    assert (http.auth_url, http.storage_url, http.analytics_url, http.logging_url) == (
        "http://127.0.0.1:9101",
        "http://127.0.0.1:9102",
        "http://127.0.0.1:9103",
        "http://127.0.0.1:9104",
    )


@pytest.mark.usefixtures("no_service_addresses")
def test_a_service_url_given_wins_over_its_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_SERVICE_PORT", "9103")
    monkeypatch.setenv("STORAGE_SERVICE_URL", "http://storage.internal:8003/")
    http = load_settings().http
    assert (http.storage_port, http.storage_url) == (9103, "http://storage.internal:8003")
    assert http.auth_url == "http://127.0.0.1:8001"


@pytest.fixture
def no_web_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "SERVICE_NAME",
                 "PROMETHEUS_MULTIPROC_DIR", "OPTIONSFLOW_PASSWORD"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_web_settings")
def test_gunicorn_settings_unset_and_given(monkeypatch: pytest.MonkeyPatch) -> None:
    web = load_settings().web
    assert (web.workers, web.threads, web.timeout_s, web.service_name) == (
        None,
        None,
        30,
        "optionsflow",
    )
    assert (web.worker_count, web.thread_count) == (2, 8)
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("GUNICORN_THREADS", "32")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "0")  # gunicorn: no timeout
    monkeypatch.setenv("SERVICE_NAME", "api_gateway")
    web = load_settings().web
    assert (web.worker_count, web.thread_count, web.timeout_s, web.service_name) == (
        5,
        32,
        0,
        "api_gateway",
    )


@pytest.mark.usefixtures("no_web_settings")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "two"),
        ("GUNICORN_THREADS", "0"),
        ("GUNICORN_THREADS", "4096"),
        ("GUNICORN_TIMEOUT", "-1"),
        ("SERVICE_NAME", ""),
        ("AUTH_SERVICE_PORT", "0"),
    ],
)
def test_invalid_web_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=name):
        load_settings()


@pytest.mark.usefixtures("no_web_settings")
def test_metrics_directory_unset_empty_or_given(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert load_settings().observability.prometheus_multiproc_dir is None
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")  # prometheus_client: unset too
    assert load_settings().observability.prometheus_multiproc_dir is None
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    assert load_settings().observability.prometheus_multiproc_dir == tmp_path


def test_urls_that_may_hold_a_password_are_not_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret-redis@127.0.0.1:6390/0")
    monkeypatch.setenv("STORE_URL", "mongodb://app:s3cret-mongo@db.internal:27017/optionsflow")
    settings = load_settings()
    assert settings.store_url.endswith("/optionsflow")
    assert "s3cret" not in repr(settings)


@pytest.mark.usefixtures("no_web_settings")
def test_the_create_user_password_is_read_but_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().create_user_password is None
    monkeypatch.setenv("OPTIONSFLOW_PASSWORD", "correct-horse-1")
    settings = load_settings()
    assert settings.create_user_password == "correct-horse-1"
    assert "correct-horse-1" not in repr(settings)


@pytest.fixture
def no_venue_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FEED_VENUES", "DERIBIT_WS_URL", "DERIBIT_REST_URL", "DERIBIT_CURRENCIES",
                 "DERIBIT_SIM_PORT", "FEED_METRICS_PORT", "SPOT_PRODUCTS", "BINANCE_WS_URL",
                 "COINBASE_WS_URL", "BINANCE_SIM_PORT", "COINBASE_SIM_PORT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_venue_env")
def test_venue_defaults_are_the_synthetic_market_and_deribit_live() -> None:
    v = load_settings().venues
    assert v.venues == ("synthetic",)
    assert v.deribit_ws_url == "wss://www.deribit.com/ws/api/v2"
    assert v.deribit_rest_url == "https://www.deribit.com/api/v2"
    assert v.deribit_currencies == ("BTC", "ETH")
    assert v.sim_ws_url == "ws://127.0.0.1:8010/ws/api/v2"
    assert v.sim_rest_url == "http://127.0.0.1:8010/api/v2"
    assert v.metrics_port == 0  # the feed's /metrics is off
    assert v.spot.binance_ws_url == "wss://stream.binance.com:9443"
    assert v.spot.coinbase_ws_url == "wss://ws-feed.exchange.coinbase.com"
    assert v.spot.products == ("BTC", "ETH")
    assert v.spot.binance_sim_url == "ws://127.0.0.1:8012"
    assert v.spot.coinbase_sim_url == "ws://127.0.0.1:8013/"


@pytest.mark.usefixtures("no_venue_env")
def test_venue_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEED_VENUES", " Deribit-Sim , synthetic,deribit-sim")
    monkeypatch.setenv("DERIBIT_WS_URL", "ws://10.0.0.1:9/ws/api/v2")
    monkeypatch.setenv("DERIBIT_REST_URL", "http://10.0.0.1:9/api/v2/")
    monkeypatch.setenv("DERIBIT_CURRENCIES", "eth")
    monkeypatch.setenv("DERIBIT_SIM_PORT", "9100")
    monkeypatch.setenv("FEED_METRICS_PORT", "9102")
    v = load_settings().venues
    assert v.venues == ("deribit-sim", "synthetic")  # a repeated venue runs once
    assert v.deribit_ws_url == "ws://10.0.0.1:9/ws/api/v2"
    assert v.deribit_rest_url == "http://10.0.0.1:9/api/v2"
    assert v.deribit_currencies == ("ETH",)
    assert v.sim_rest_url == "http://127.0.0.1:9100/api/v2"
    assert v.metrics_port == 9102


@pytest.mark.usefixtures("no_venue_env")
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FEED_VENUES", "kite", "FEED_VENUES=kite needs KITE_API_KEY and KITE_ACCESS_TOKEN"),
        ("SPOT_PRODUCTS", "BTC,SOL", "SPOT_PRODUCTS: expected BTC and/or ETH, got SOL"),
        ("BINANCE_WS_URL", "https://stream.binance.com", "BINANCE_WS_URL: expected ws://"),
        ("COINBASE_SIM_PORT", "0", "COINBASE_SIM_PORT"),
        (
            "FEED_VENUES",
            "synthetic,kite-sim",
            "FEED_VENUES: synthetic and kite would both publish NIFTY, BANKNIFTY: run one of them",
        ),
        ("FEED_VENUES", "nasdaq", "FEED_VENUES: expected a comma list of synthetic, deribit"),
        ("FEED_VENUES", " , ", "FEED_VENUES: expected a comma list"),
        ("DERIBIT_WS_URL", "https://www.deribit.com/ws", "DERIBIT_WS_URL: expected ws://"),
        ("DERIBIT_REST_URL", "www.deribit.com", "DERIBIT_REST_URL: expected http://"),
        ("DERIBIT_CURRENCIES", "BTC,SOL", "DERIBIT_CURRENCIES: expected BTC and/or ETH, got SOL"),
        ("DERIBIT_SIM_PORT", "0", "DERIBIT_SIM_PORT"),
        ("FEED_METRICS_PORT", "65536", "FEED_METRICS_PORT"),
        ("FEED_METRICS_PORT", "-1", "FEED_METRICS_PORT"),
    ],
)
def test_bad_venue_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_paper_defaults() -> None:
    paper = load_settings().paper
    assert dict(paper.start_cash) == {"INR": Decimal(10_000_000), "USD": Decimal(100_000)}
    assert (dict(paper.fee_per_unit), paper.fee_rate) == ({}, Decimal("0.0005"))
    assert (paper.margin_rate, paper.margin_floor_rate, paper.underlying_margin_rate) == (
        Decimal("0.15"), Decimal("0.10"), Decimal("0.20"),
    )  # fmt: skip


def test_paper_values_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPER_START_CASH", " INR:2500000.50 , USD:0,BTC:0 ")
    monkeypatch.setenv("PAPER_FEE_PER_UNIT", "INR:0.05")
    monkeypatch.setenv("PAPER_FEE_RATE", "0")
    monkeypatch.setenv("PAPER_MARGIN_RATE", "0.2")
    monkeypatch.setenv("PAPER_MARGIN_FLOOR_RATE", "0.125")
    monkeypatch.setenv("PAPER_UNDERLYING_MARGIN_RATE", "1")
    paper = load_settings().paper
    assert dict(paper.start_cash) == {
        "INR": Decimal("2500000.50"), "USD": Decimal(0), "BTC": Decimal(0),
    }  # fmt: skip
    assert dict(paper.fee_per_unit) == {"INR": Decimal("0.05")}
    assert (paper.fee_rate, paper.margin_rate) == (Decimal(0), Decimal("0.2"))
    assert (paper.margin_floor_rate, paper.underlying_margin_rate) == (Decimal("0.125"), 1)
    monkeypatch.setenv("PAPER_START_CASH", "")
    assert dict(load_settings().paper.start_cash) == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("PAPER_START_CASH", "INR=100", "PAPER_START_CASH: expected CUR:amount"),
        ("PAPER_START_CASH", "inr:100", "PAPER_START_CASH: expected CUR:amount"),
        ("PAPER_START_CASH", "INR:1,INR:2", r"PAPER_START_CASH: expected CUR:amount,… \(each"),
        ("PAPER_START_CASH", "INR:-1", r"PAPER_START_CASH: expected a number in \[0, 10+\]"),
        ("PAPER_START_CASH", "INR:1e16", "PAPER_START_CASH: expected a number in"),
        ("PAPER_START_CASH", "INR:0.001", "with at most 2 decimals, got '0.001'"),
        ("PAPER_START_CASH", "INR:lots", "PAPER_START_CASH: expected a number in"),
        ("PAPER_FEE_PER_UNIT", "INR:NaN", "PAPER_FEE_PER_UNIT: expected a number in"),
        ("PAPER_FEE_RATE", "1.5", r"PAPER_FEE_RATE: expected a number in \[0, 1\]"),
        ("PAPER_FEE_RATE", "-0.1", "PAPER_FEE_RATE: expected a number in"),
        ("PAPER_MARGIN_RATE", "15%", "PAPER_MARGIN_RATE: expected a number in"),
        ("PAPER_MARGIN_FLOOR_RATE", "Infinity", "PAPER_MARGIN_FLOOR_RATE: expected"),
        ("PAPER_UNDERLYING_MARGIN_RATE", "0.123456789", "at most 8 decimals"),
    ],
)
def test_bad_paper_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_paper_service_address_and_strategies_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PAPER_SERVICE_PORT", "PAPER_SERVICE_URL", "STRATEGIES_PER_USER"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.http.paper_port, settings.http.paper_url) == (8007, "http://127.0.0.1:8007")
    assert settings.paper.strategies_per_user == 100
    monkeypatch.setenv("PAPER_SERVICE_PORT", "9107")
    monkeypatch.setenv("STRATEGIES_PER_USER", "7")
    settings = load_settings()
    assert (settings.http.paper_port, settings.http.paper_url) == (9107, "http://127.0.0.1:9107")
    assert settings.paper.strategies_per_user == 7
    monkeypatch.setenv("PAPER_SERVICE_URL", "http://paper.internal:8007/")
    assert load_settings().http.paper_url == "http://paper.internal:8007"
    for bad in ("0", "100001", "ten"):
        monkeypatch.setenv("STRATEGIES_PER_USER", bad)
        with pytest.raises(SettingsError, match="STRATEGIES_PER_USER"):
            load_settings()
