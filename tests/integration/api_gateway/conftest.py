"""The whole request side as real processes: auth, storage, analytics, alerts, paper (and,
when asked, logging) and the gateway under gunicorn on free ports, one real redis-server, a
SQLite store in a temp dir."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from common.embedded_redis import EmbeddedRedis
from common.redis_client import make_redis
from tests.support.processes import ProcessSet, free_ports

SERVICES = (
    "auth_service", "storage_service", "analytics_service", "alert_service", "paper_service",
)  # fmt: skip
"""What a stack runs by default."""
URL_SETTINGS = {
    "auth_service": "AUTH_SERVICE_URL",
    "storage_service": "STORAGE_SERVICE_URL",
    "analytics_service": "ANALYTICS_SERVICE_URL",
    "logging_service": "LOGGING_SERVICE_URL",
    "alert_service": "ALERT_SERVICE_URL",
    "paper_service": "PAPER_SERVICE_URL",
}
"""Every service behind the gateway and the setting telling it where that service is."""
SERVICE_TOKEN = "stack-service-token-0123456789abcdef"
"""The credential the stack's gateway sends and its services require, as deployed."""


@dataclass
class Stack:
    url: str
    redis_url: str
    store_url: str
    procs: ProcessSet

    def create_admin(self, username: str, password: str = "correct-horse-1") -> None:
        """``python -m auth_service create-user NAME --role admin``, as an operator runs it."""
        done = subprocess.run(
            [sys.executable, "-m", "auth_service", "create-user", username, "--role", "admin"],
            input=password + "\n", capture_output=True, text=True, timeout=60,
            env=self.procs.env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def request(
        self, method: str, path: str, *, body: Any = None, token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
        """One request to the gateway: (status, headers, body), errors included."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers.items()), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers.items()), err.read()

    def json(self, method: str, path: str, **kw: Any) -> tuple[int, Any]:
        status, _, body = self.request(method, path, **kw)
        return status, (json.loads(body) if body else None)

    def login(self, username: str, password: str = "correct-horse-1") -> dict[str, Any]:
        self.json("POST", "/api/auth/register", body={"username": username, "password": password})
        status, pair = self.json(
            "POST", "/api/auth/login", body={"username": username, "password": password}
        )
        assert status == 200, pair
        return dict(pair)


def start_stack(
    tmp: Path, redis_url: str, env: dict[str, str] | None = None,
    services: tuple[str, ...] = SERVICES,
) -> Stack:  # fmt: skip
    """The gateway and ``services`` (keys of :data:`URL_SETTINGS`) on a flushed Redis; the
    gateway is told where every service is, and answers 502 for those not started."""
    client = make_redis(redis_url)
    client.flushall()  # what an earlier module left (a half-written latest:*) is not ours
    client.close()
    names = (*URL_SETTINGS, "api_gateway")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    store_url = f"sqlite:///{tmp / 'store.db'}"
    base = {
        "REDIS_URL": redis_url, "STORE_URL": store_url, "VAR_DIR": str(tmp),
        **{var: f"http://127.0.0.1:{ports[name]}" for name, var in URL_SETTINGS.items()},
        "GUNICORN_THREADS": "8", "SERVICE_TOKEN": SERVICE_TOKEN, **(env or {}),
    }  # fmt: skip
    procs = ProcessSet(tmp, {**_inherited(), **base})
    try:
        for name in services:
            procs.service(name, ports[name], env={"PROXY_HOPS": "1"})
        url = procs.service("api_gateway", ports["api_gateway"], env={"PROXY_HOPS": "0"})
    except BaseException:
        procs.close()
        raise
    return Stack(url, redis_url, store_url, procs)


def _inherited() -> dict[str, str]:
    import os

    skip = {"REDIS_URL", "STORE_URL", "PROMETHEUS_MULTIPROC_DIR", "SERVICE_TOKEN_FILE"}
    return {k: v for k, v in os.environ.items() if k not in skip}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    started = start_stack(
        tmp, redis_server.url, {"LOGIN_LIMIT_USER": "5/minute", "RATE_LIMIT_USER": "40/second"}
    )
    yield started
    started.procs.close()
