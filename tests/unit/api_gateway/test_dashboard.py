"""The dashboard's assets and config as the gateway serves them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from api_gateway.dashboard import dashboard_blueprint
from common.settings import Settings
from common.web import create_base_app


def _app(settings: Settings, dist: Path) -> object:
    app = create_base_app("api_gateway", settings, {})
    app.register_blueprint(dashboard_blueprint(settings, dist))
    return app.test_client()


def test_built_assets_and_config(gateway_settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>OptionsFlow</title>")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    client = _app(gateway_settings, tmp_path)
    page = client.get("/")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert b"OptionsFlow" in page.data
    page.close()
    assert page.headers["Cache-Control"] == "no-cache"
    asset = client.get("/assets/index-abc123.js")  # type: ignore[attr-defined]
    assert asset.status_code == 200
    assert "immutable" in asset.headers["Cache-Control"]
    assert asset.data == b"console.log(1)"
    asset.close()
    assert client.get("/assets/../index.html").status_code == 404  # type: ignore[attr-defined]
    assert client.get("/config.json").get_json() == {  # type: ignore[attr-defined]
        "socket_url": None, "socket_port": 8002
    }  # fmt: skip


def test_config_names_a_public_socket_url(gateway_settings: Settings, tmp_path: Path) -> None:
    socket = dataclasses.replace(gateway_settings.socket, public_url="https://flow.example")
    client = _app(dataclasses.replace(gateway_settings, socket=socket), tmp_path)
    assert client.get("/config.json").get_json()["socket_url"] == "https://flow.example"  # type: ignore[attr-defined]


def test_an_unbuilt_dashboard_says_how_to_build_it(
    gateway_settings: Settings, tmp_path: Path
) -> None:
    resp = _app(gateway_settings, tmp_path / "missing").get("/")  # type: ignore[attr-defined]
    assert resp.status_code == 503
    assert "make up" in resp.get_json()["error"]["message"]
