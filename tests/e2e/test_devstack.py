"""``make up``'s process set: embedded Redis, feed, subscriber, worker; Ctrl-C stops all."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def test_up_enriches_then_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["VAR_DIR"] = str(tmp_path)
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
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130  # interrupted, every child stopped
    assert "feed started" in out
    for name in ("feed", "subscriber", "worker"):  # each handled SIGTERM and exited cleanly
        assert f"{name} stopped (rc=0)" in out
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0, "embedded Redis still running"
