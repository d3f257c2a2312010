"""The browser-side defences on the gateway's answers (issue 16): pages, assets, the API."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask

from api_gateway import create_app
from api_gateway.dashboard import dashboard_blueprint
from api_gateway.secheaders import API_CSP, install_security_headers, page_policy, socket_origins
from auth_service.keys import SigningKeys
from common.settings import Settings
from common.web import create_base_app
from tests.unit.api_gateway.test_gateway import _auth, _token

COMMON = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (d.split() for d in policy.split(";") if d.strip())
    return {name: values for name, *values in parts}


def test_an_api_answer_loads_nothing_and_cannot_be_framed(
    gateway: Flask, signing_keys: SigningKeys
) -> None:
    client = gateway.test_client()
    ok = client.get("/api/data/echo/NIFTY?n=5", headers=_auth(_token(signing_keys, "alice")))
    refused = client.get("/api/data/echo/NIFTY?n=5")  # no token: the gateway's own 401
    for resp in (ok, refused):
        assert resp.headers["Content-Security-Policy"] == API_CSP
        assert {k: resp.headers[k] for k in COMMON} == COMMON
        assert "Strict-Transport-Security" not in resp.headers  # HSTS_MAX_AGE_S unset
    assert (ok.status_code, refused.status_code) == (200, 401)


def test_the_dashboard_page_and_its_assets_carry_the_headers(
    gateway_settings: Settings, tmp_path: Path
) -> None:
    """The built dashboard as the gateway serves it: the page under the page policy (its
    scripts and styles from the gateway only, nothing inline but styles), its assets under
    the API's (a script or a stylesheet loads nothing itself), neither frameable."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<!doctype html><script src="/assets/a-1.js"></script>')
    (tmp_path / "assets" / "a-1.js").write_text("console.log(1)")
    (tmp_path / "assets" / "a-1.css").write_text("body{}")
    app = create_base_app("api_gateway", gateway_settings, {})
    app.register_blueprint(dashboard_blueprint(gateway_settings, tmp_path))
    install_security_headers(app, gateway_settings)
    client = app.test_client()
    page = client.get("/", base_url="http://flow.test:8000")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == page_policy(
        gateway_settings, "flow.test:8000", secure=False
    )
    assert _directives(page.headers["Content-Security-Policy"])["script-src"] == ["'self'"]
    for path in ("/assets/a-1.js", "/assets/a-1.css"):
        asset = client.get(path)
        assert asset.status_code == 200
        assert asset.headers["Content-Security-Policy"] == API_CSP
        assert {k: asset.headers[k] for k in COMMON} == COMMON
        asset.close()
    assert {k: page.headers[k] for k in COMMON} == COMMON
    page.close()


def test_the_docs_page_runs_no_inline_script(gateway: Flask) -> None:
    resp = gateway.test_client().get("/api/docs", base_url="http://flow.test:8000")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    policy = _directives(resp.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'", "http://flow.test:8002", "ws://flow.test:8002"]
    # Every script is a file of the gateway's; none is inline.
    assert html.count("<script") == html.count('<script src="/api/docs/') == 3
    assert 'data-spec-url="/api/openapi.json"' in html
    start = gateway.test_client().get("/api/docs/start.js")
    assert start.status_code == 200
    assert start.mimetype == "text/javascript"
    assert b"SwaggerUIBundle" in start.data
    assert start.headers["Content-Security-Policy"] == API_CSP


def test_hsts_is_sent_when_a_max_age_is_set(gateway_settings: Settings) -> None:
    browser = dataclasses.replace(gateway_settings.browser, hsts_max_age_s=31_536_000)
    app = create_app(dataclasses.replace(gateway_settings, browser=browser))
    resp = app.test_client().get("/api/docs", base_url="http://flow.test")
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Behind TLS the Socket.IO gateway is reached over TLS too.
    assert "https://flow.test:8002 wss://flow.test:8002" in resp.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("host", "secure", "expected"),
    [
        ("127.0.0.1:8000", False, ["http://127.0.0.1:8002", "ws://127.0.0.1:8002"]),
        ("flow.test", True, ["https://flow.test:8002", "wss://flow.test:8002"]),
        ("[::1]:8000", False, ["http://[::1]:8002", "ws://[::1]:8002"]),
        ("[::1]", False, ["http://[::1]:8002", "ws://[::1]:8002"]),
        # A Host header that would add a directive or a source is left out, not reflected.
        ("evil.test; script-src *", False, []),
        ("a b:8000", False, []),
    ],
)
def test_the_socket_origin_follows_the_pages_host(
    gateway_settings: Settings, host: str, secure: bool, expected: list[str]
) -> None:
    assert socket_origins(gateway_settings, host, secure) == expected


def test_a_public_socket_url_is_the_one_origin_allowed(gateway_settings: Settings) -> None:
    socket = dataclasses.replace(gateway_settings.socket, public_url="https://ws.flow.test/io")
    settings = dataclasses.replace(gateway_settings, socket=socket)
    assert socket_origins(settings, "anything:8000", False) == [
        "https://ws.flow.test", "wss://ws.flow.test"
    ]  # fmt: skip
    connect = _directives(page_policy(settings, "flow.test", True))["connect-src"]
    assert connect == ["'self'", "https://ws.flow.test", "wss://ws.flow.test"]
