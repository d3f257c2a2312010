"""Error tracking: with ``SENTRY_DSN`` an unexpected error reaches a (local) Sentry with
the service and trace id as tags; without it sentry-sdk is not even imported."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from typing import Any

import orjson
from flask import Flask, Request, request

from tests.support.http import served

FAILING_SERVICE = """
import sys
from common.observability import setup_service
from common.settings import load_settings
from common.web import create_base_app

settings = load_settings()
setup_service("storage_service", settings)
app = create_base_app("storage_service", settings, readiness={})

@app.get("/boom")
def boom():
    raise RuntimeError("boom for sentry")

reply = app.test_client().get("/boom", headers={"X-Trace-ID": "sentry-trace-1"})
assert reply.status_code == 500, reply.status_code
if "sentry_sdk" in sys.modules:
    import sentry_sdk
    sentry_sdk.flush(10)
print("sentry loaded:", "sentry_sdk" in sys.modules)
"""


def _events(req: Request) -> list[dict[str, Any]]:
    body, encoding = req.get_data(), req.headers.get("Content-Encoding")
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":  # sentry-sdk prefers brotli when it is installed (the dev extras)
        import brotli

        body = brotli.decompress(body)
    lines = body.split(b"\n")
    events = []
    for header, payload in zip(lines[1::2], lines[2::2], strict=False):
        if orjson.loads(header).get("type") == "event":
            events.append(orjson.loads(payload))
    return events


def _run(env: dict[str, str]) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("SENTRY_DSN", "REDIS_URL")}
    done = subprocess.run(
        [sys.executable, "-c", FAILING_SERVICE],
        env={**base, **env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_an_unexpected_error_is_sent_with_service_and_trace_id() -> None:
    sentry = Flask("sentry")
    events: list[dict[str, Any]] = []
    received = threading.Event()

    @sentry.post("/api/42/envelope/")
    def envelope() -> str:
        events.extend(_events(request))
        received.set()
        return "{}"

    with served(sentry) as url:
        dsn = url.replace("http://", "http://publickey@") + "/42"
        out = _run({"SENTRY_DSN": dsn})
        assert received.wait(10)
    assert "sentry loaded: True" in out
    (event,) = events
    assert event["tags"]["service"] == "storage_service"
    assert event["tags"]["trace_id"] == "sentry-trace-1"
    assert event["environment"] == "development"
    assert event["release"] == "optionsflow@0.1.0"
    (exc,) = event["exception"]["values"]
    assert (exc["type"], exc["value"]) == ("RuntimeError", "boom for sentry")


def test_without_a_dsn_nothing_is_loaded() -> None:
    assert "sentry loaded: False" in _run({})
