"""Settings: defaults that run on one machine, clear errors naming the variable."""

from __future__ import annotations

import datetime as dt

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
    for name in ("BATCH_SIZE", "BATCH_MS", "QUEUE_HIGH_WATER", "SUBSCRIBER_INSTANCE",
                 "SUBSCRIBER_INSTANCES", "CELERY_BROKER_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    p = load_settings().pipeline
    assert (p.batch_size, p.batch_ms, p.queue_high_water) == (200, 20.0, 200)
    assert (p.instance, p.instances, p.broker_url) == (0, 1, None)
    monkeypatch.setenv("SUBSCRIBER_INSTANCES", "2")
    monkeypatch.setenv("SUBSCRIBER_INSTANCE", "2")
    with pytest.raises(SettingsError, match="SUBSCRIBER_INSTANCE"):
        load_settings()
    monkeypatch.setenv("SUBSCRIBER_INSTANCE", "1")
    monkeypatch.setenv("BATCH_SIZE", "0")
    with pytest.raises(SettingsError, match="BATCH_SIZE"):
        load_settings()


def test_a_unix_socket_redis_needs_an_explicit_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "unix:///run/redis.sock")
    with pytest.raises(SettingsError, match="CELERY_BROKER_URL"):
        load_settings()
    monkeypatch.setenv("CELERY_BROKER_URL", "redis+socket:///run/redis.sock?virtual_host=1")
    assert load_settings().pipeline.broker_url == "redis+socket:///run/redis.sock?virtual_host=1"
