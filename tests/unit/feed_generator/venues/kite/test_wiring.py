"""Kite's settings (errors naming the variable, the token never shown), its simulator in
``make up`` and its rows in the feed's command line."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from common import devstack
from common.messages.enums import ForwardSource
from common.products import serving_registry
from common.settings import SettingsError, load_settings
from feed_generator.cli import _BUILDERS, Plan, build_venues, metric_sources
from feed_generator.options import build_parser
from feed_generator.runner import Progress
from feed_generator.venues.kite.connector import KiteVenue

KITE_ENV = ("FEED_VENUES", "KITE_API_KEY", "KITE_ACCESS_TOKEN", "KITE_ACCESS_TOKEN_FILE",
            "KITE_WS_URL", "KITE_API_URL", "KITE_UNDERLYINGS", "KITE_EXPIRIES",
            "KITE_STRIKES_AROUND", "KITE_SIM_PORT")  # fmt: skip


@pytest.fixture(autouse=True)
def no_kite_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in KITE_ENV:
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    kite = load_settings().venues.kite
    assert (kite.ws_url, kite.api_url) == ("wss://ws.kite.trade", "https://api.kite.trade")
    assert (kite.underlyings, kite.expiries, kite.strikes_around) == (("NIFTY", "BANKNIFTY"), 2, 10)
    assert (kite.sim_port, kite.sim_ws_url) == (8011, "ws://127.0.0.1:8011/")
    assert kite.api_key is None
    assert kite.access_token is None


def test_values_and_the_token_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("file-token-123\n")
    monkeypatch.setenv("FEED_VENUES", "kite")
    monkeypatch.setenv("KITE_API_KEY", "appkey")
    monkeypatch.setenv("KITE_ACCESS_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("KITE_UNDERLYINGS", "banknifty, finnifty")
    monkeypatch.setenv("KITE_API_URL", "http://127.0.0.1:9/")
    settings = load_settings()
    kite = settings.venues.kite
    assert (kite.api_key, kite.access_token) == ("appkey", "file-token-123")
    assert kite.access_token_file == tmp_path / "token"
    assert kite.underlyings == ("BANKNIFTY", "FINNIFTY")
    assert kite.api_url == "http://127.0.0.1:9"
    assert "file-token-123" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("KITE_UNDERLYINGS", "NIFTY,SENSEX", "KITE_UNDERLYINGS: expected some of NIFTY, BANKNIFTY"),
        ("KITE_WS_URL", "https://ws.kite.trade", "KITE_WS_URL: expected ws:// or wss://"),
        ("KITE_API_URL", "api.kite.trade", "KITE_API_URL: expected http:// or https://"),
        ("KITE_EXPIRIES", "0", "KITE_EXPIRIES"),
        ("KITE_STRIKES_AROUND", "x", "KITE_STRIKES_AROUND"),
        ("KITE_SIM_PORT", "70000", "KITE_SIM_PORT"),
        ("KITE_ACCESS_TOKEN_FILE", "/nonexistent/kite", "KITE_ACCESS_TOKEN_FILE: cannot read"),
        ("FEED_VENUES", "kite", "FEED_VENUES=kite needs KITE_API_KEY and KITE_ACCESS_TOKEN"),
    ],
)
def test_bad_settings_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_kite_sim_needs_no_credentials_and_make_up_starts_its_simulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FEED_VENUES", "kite-sim")
    monkeypatch.setenv("KITE_SIM_PORT", "9011")
    settings = load_settings()
    commands = devstack.processes(settings)
    assert commands["kite-sim"][1:] == ["-m", "feed_generator.venues.kite.sim", "--port", "9011"]
    assert "kite-sim" not in devstack.processes(replace(settings, venues=replace(
        settings.venues, venues=("synthetic",))))  # fmt: skip


def test_the_feed_builds_both_kite_venues_with_their_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KITE_API_KEY", "appkey")
    monkeypatch.setenv("KITE_ACCESS_TOKEN", "tok")
    settings = load_settings()
    plan = Plan(build_parser().parse_args([]), settings, None, ("kite", "kite-sim"))
    live, sim = build_venues(plan, [], Progress(interval=0))
    assert isinstance(live, KiteVenue)
    assert isinstance(sim, KiteVenue)
    assert (live.name, live.ws_url, live.api_url) == (
        "kite", "wss://ws.kite.trade", "https://api.kite.trade",
    )  # fmt: skip
    assert (sim.name, sim.ws_url) == ("kite-sim", "ws://127.0.0.1:8011/")
    assert set(_BUILDERS) >= {"kite", "kite-sim"}
    sources = metric_sources(live)
    assert sources.budget is live.quote_budget
    assert sources.breaker is live.breaker


def test_the_nse_products_show_kite_when_kite_feeds_them(monkeypatch: pytest.MonkeyPatch) -> None:
    synthetic = serving_registry(load_settings()).get("NIFTY")
    assert (synthetic.venue, synthetic.forward_method) == ("synthetic", ForwardSource.CARRY)
    monkeypatch.setenv("FEED_VENUES", "kite-sim")
    nifty = serving_registry(load_settings()).get("NIFTY")
    # Kite counts OI in units, not lots: a contract of 1 unit (common/products.OI_IN_UNITS).
    assert (nifty.venue, nifty.quote_currency, nifty.contract_size) == ("kite", "INR", 1.0)
    assert nifty.expiry_instant(dt.date(2026, 12, 8)) == dt.datetime(2026, 12, 8, 10, tzinfo=dt.UTC)
    # A real venue's quotes give the forward by parity; the synthetic market's keep the carry.
    assert nifty.forward_method is ForwardSource.PARITY
    assert serving_registry(load_settings()).get("BTC").venue == "deribit"
