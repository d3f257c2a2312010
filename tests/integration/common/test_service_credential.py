"""Issue 16: the shared app factory closes the internal services (common/web/servicecred.py)
and ``/readyz`` keeps its error text to the log (common/web/health.py). In process, on the
factory alone: a route echoing the address Flask sees, and failing readiness checks."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from flask import Flask, Response, request

from common.settings import Environment, Settings, SettingsError, load_settings
from common.web import create_base_app, json_response
from common.web.servicecred import SERVICE_TOKEN_HEADER, ServiceCredentialError

TOKEN = "unit-service-token-0123456789abcdef"


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("PROXY_HOPS", "SERVICE_TOKEN", "SERVICE_TOKEN_FILE", "ENV"):
        monkeypatch.delenv(name, raising=False)
    base = load_settings()
    return dataclasses.replace(base, http=dataclasses.replace(base.http, proxy_hops=1))


def _app(service: str, settings: Settings, token: str | None) -> Flask:
    trust = dataclasses.replace(settings.trust, service_token=token)
    app = create_base_app(service, dataclasses.replace(settings, trust=trust), {})

    @app.get("/whoami")
    def whoami() -> Response:
        return json_response(
            {"addr": request.remote_addr, "token": request.headers.get(SERVICE_TOKEN_HEADER)}
        )

    return app


def test_only_the_credential_unlocks_an_internal_service(settings: Settings) -> None:
    client = _app("auth_service", settings, TOKEN).test_client()
    refused = client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "service_credential_required"
    assert refused.get_json()["error"]["trace_id"]  # the refusal is traced like any answer
    wrong = client.get("/whoami", headers={SERVICE_TOKEN_HEADER: TOKEN[:-1] + "X"})
    assert wrong.status_code == 401
    ok = client.get(
        "/whoami", headers={SERVICE_TOKEN_HEADER: TOKEN, "X-Forwarded-For": "203.0.113.9"}
    )
    # The gateway's client address is honoured, and no code sees the credential.
    assert ok.get_json() == {"addr": "203.0.113.9", "token": None}
    assert client.get("/healthz").status_code == 200


def test_without_a_token_forwarding_headers_are_ignored(settings: Settings) -> None:
    """Development without SERVICE_TOKEN: open, but X-Forwarded-For (PROXY_HOPS=1) is no
    longer believed: every direct caller is its own socket address."""
    client = _app("auth_service", settings, None).test_client()
    seen = {
        client.get("/whoami", headers={"X-Forwarded-For": f"198.51.100.{i}"}).get_json()["addr"]
        for i in range(5)
    }
    assert seen == {"127.0.0.1"}


def test_the_public_services_are_not_closed(settings: Settings) -> None:
    """The gateway faces the clients; its own ProxyFix (an ingress in front) is unchanged."""
    client = _app("api_gateway", settings, TOKEN).test_client()
    answer = client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.status_code == 200
    assert answer.get_json()["addr"] == "203.0.113.9"


def test_production_refuses_an_internal_service_without_a_token(settings: Settings) -> None:
    production = dataclasses.replace(settings, env=Environment.PRODUCTION)
    with pytest.raises(ServiceCredentialError, match="SERVICE_TOKEN: required in production"):
        _app("storage_service", production, None)
    assert _app("storage_service", production, TOKEN) is not None


def test_readyz_keeps_the_error_text_in_the_log(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def redis_down() -> None:
        raise ConnectionError("Error 111 connecting to redis://:hunter2@10.1.2.3:6379/0")

    app = create_base_app("auth_service", settings, {"redis": redis_down, "store": lambda: None})
    with caplog.at_level(logging.WARNING, logger="common.web.health"):
        answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json() == {
        "status": "unavailable",
        "checks": {"redis": "error: ConnectionError", "store": "ok"},
    }
    text = answer.get_data(as_text=True)
    assert "hunter2" not in text
    assert "10.1.2.3" not in text
    logged = [r for r in caplog.records if r.getMessage() == "readiness check failed"]
    assert "10.1.2.3" in logged[0].__dict__["error"]  # the operator still learns why


@pytest.mark.parametrize("service", ["api_gateway", "socket_gateway"])
def test_the_gateways_metrics_are_not_served_through_their_proxy(
    settings: Settings, service: str
) -> None:
    """Prometheus scrapes a gateway's container directly; the chart's ingress (or a proxy in
    front of compose) adds X-Forwarded-For, so a scrape from outside through it is refused."""
    client = _app(service, settings, TOKEN).test_client()
    assert client.get("/metrics").status_code == 200
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        outside = client.get("/metrics", headers={header: "203.0.113.9"})
        assert outside.status_code == 403, header
        assert b"optionsflow_http" not in outside.data
    with_token = {"X-Forwarded-For": "203.0.113.9", SERVICE_TOKEN_HEADER: TOKEN}
    assert client.get("/metrics", headers=with_token).status_code == 200
    assert client.get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 200


def test_the_service_token_setting_is_validated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("SERVICE_TOKEN", "SERVICE_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SERVICE_TOKEN", "short")
    with pytest.raises(SettingsError, match="SERVICE_TOKEN: at least 32 characters"):
        load_settings()
    secret = tmp_path / "service_token"
    secret.write_text(TOKEN + "\n")
    monkeypatch.setenv("SERVICE_TOKEN_FILE", str(secret))
    with pytest.raises(SettingsError, match="not both"):
        load_settings()
    monkeypatch.delenv("SERVICE_TOKEN")
    assert load_settings().trust.service_token == TOKEN  # a mounted Secret, newline dropped
    assert TOKEN not in repr(load_settings())
    monkeypatch.setenv("SERVICE_TOKEN_FILE", str(secret) + ".missing")
    with pytest.raises(SettingsError, match="SERVICE_TOKEN_FILE: cannot read"):
        load_settings()
