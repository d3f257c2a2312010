"""``make up``'s process set: embedded Redis, feed, subscriber, worker, the services and
both gateways; Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from common.embedded_redis import free_port
from common.names import Channel
from common.redis_client import make_redis

pytestmark = pytest.mark.slow


def _redis_url_from_logs(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stderr is not None
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        record = json.loads(line)
        if "redis_url" in record:
            assert record["service"] == "devstack"
            return str(record["redis_url"])
    raise AssertionError("devstack never logged its embedded Redis URL")


ALL_CHANNELS = {str(c) for c in Channel}
PORT_VARIABLES = (
    "API_GATEWAY_PORT", "AUTH_SERVICE_PORT", "STORAGE_SERVICE_PORT", "ANALYTICS_SERVICE_PORT",
    "SOCKET_GATEWAY_PORT",
)  # fmt: skip


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


def test_up_enriches_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["VAR_DIR"] = str(tmp_path)
    ports = {name: free_port() for name in PORT_VARIABLES}
    env.update({name: str(port) for name, port in ports.items()})
    gateway = f"http://127.0.0.1:{ports['API_GATEWAY_PORT']}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "common.devstack"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        url = _redis_url_from_logs(proc, time.monotonic() + 30)
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
        _through_the_gateway(gateway, time.monotonic() + 60)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130  # interrupted, every child stopped
    assert "feed started" in out
    services = ("auth", "storage", "analytics", "api_gateway", "socket")
    for name in ("feed", "subscriber", "worker", *services):  # each stopped cleanly on SIGTERM
        assert f"{name} stopped (rc=0)" in out
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "embedded Redis still running"
