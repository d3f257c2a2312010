"""``make up``'s process set: embedded Redis, feed, subscriber, worker, the services and
both gateways; Ctrl-C stops all."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from typing import Any

import pytest

from common.names import Channel
from common.redis_client import make_redis
from tests.e2e.conftest import Devstack

pytestmark = pytest.mark.slow


ALL_CHANNELS = {str(c) for c in Channel}


def _call(url: str, body: dict[str, str] | None = None, token: str | None = None) -> Any:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _through_the_gateway(url: str, deadline: float) -> None:
    """Register, log in and read the newest chain of a product the pipeline enriched."""
    while True:
        try:
            _call(url + "/api/auth/register", {"username": "e2e", "password": "e2e-password-1"})
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    token = _call(url + "/api/auth/login", {"username": "e2e", "password": "e2e-password-1"})[
        "access_token"
    ]
    while True:
        products = _call(url + "/api/products", token=token)["products"]
        if products or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert products, "no product reached the store"
    first = products[0]
    chain = _call(f"{url}/api/data/chain/{first['product']}", token=token)
    assert chain["product"] == first["product"]
    assert chain["expiry"] in first["expiries"]
    assert {"pcr_oi", "max_pain_strike", "calls", "puts"} <= set(chain)


def test_up_enriches_and_answers_through_the_gateway(devstack: Devstack) -> None:
    url = devstack.redis_url()
    client = make_redis(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*ALL_CHANNELS)
    channels: set[str] = set()
    deadline = time.monotonic() + 60
    while channels != ALL_CHANNELS and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=1.0)
        if message:
            channels.add(message["channel"].decode())
    assert channels == ALL_CHANNELS  # market data in, enriched data out
    pubsub.close()
    client.close()
    _through_the_gateway(devstack.gateway, time.monotonic() + 60)


def test_the_dashboard_in_chromium(devstack: Devstack) -> None:
    """Log in, pick a product, see the chain fill and change live, the charts drawn; at a
    desktop and a phone width, with screenshots in test-artifacts/."""
    from tests.e2e.browser import drive_dashboard

    user = {"username": "e2e-browser", "password": "e2e-password-2"}
    _call(devstack.gateway + "/api/auth/register", user)
    drive_dashboard(devstack.gateway, user["username"], user["password"])


def test_ctrl_c_stops_everything_cleanly(devstack: Devstack) -> None:
    url = devstack.redis_url()
    rc, out = devstack.interrupt()
    assert rc == 130  # interrupted, every child stopped
    assert "feed started" in out
    services = ("auth", "storage", "analytics", "api_gateway", "socket")
    for name in ("feed", "subscriber", "worker", *services):  # each stopped cleanly on SIGTERM
        assert f"{name} stopped (rc=0)" in out
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "embedded Redis still running"
