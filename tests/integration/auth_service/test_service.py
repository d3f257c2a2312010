"""auth_service as it runs: gunicorn with two workers, a real Redis, SQLite, real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization

from auth_service.keys import SigningKeys
from common.embedded_redis import EmbeddedRedis
from common.web.servicecred import SERVICE_TOKEN_HEADER
from tests.support.processes import ProcessSet, free_port

pytestmark = pytest.mark.redis

PASSWORD = "correct horse battery"
TIMEOUT = 10


class Service:
    def __init__(self, url: str, env: dict[str, str], procs: ProcessSet) -> None:
        self.url, self.env, self.procs = url, env, procs
        self.http = requests.Session()
        self.http.headers[SERVICE_TOKEN_HEADER] = env["SERVICE_TOKEN"]  # as the gateway calls

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.http.post(self.url + path, json=body, timeout=TIMEOUT, **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url + path, timeout=TIMEOUT, **kw)

    def login(
        self, username: str, password: str = PASSWORD, ip: str = "192.0.2.1"
    ) -> requests.Response:
        body = {"username": username, "password": password}
        return self.post("/auth/login", body, headers={"X-Forwarded-For": ip})


def _env(tmp: Path, redis_url: str, key_file: Path) -> dict[str, str]:
    skip = {"REDIS_URL", "STORE_URL", "PROMETHEUS_MULTIPROC_DIR", "JWT_PUBLIC_KEY_PATH"}
    skip |= {"SERVICE_TOKEN_FILE"}
    env = {k: v for k, v in os.environ.items() if k not in skip}
    env.update(
        ENV="test",
        REDIS_URL=redis_url,
        STORE_URL=f"sqlite:///{tmp / 'auth.db'}",
        VAR_DIR=str(tmp / "var"),
        JWT_PRIVATE_KEY_PATH=str(key_file),
        LOGIN_LIMIT_USER="3/minute",
        LOGIN_LIMIT_IP="50/minute",
        PROXY_HOPS="1",  # as behind the gateway: the client is the last X-Forwarded-For entry
        SERVICE_TOKEN="auth-test-service-token-0123456789abcdef",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis, signing_keys: SigningKeys
) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("auth_service")
    key_file = tmp / "private.pem"
    key_file.write_bytes(
        signing_keys.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    env = _env(tmp, redis_server.url, key_file)
    procs = ProcessSet(tmp, env)
    try:
        url = procs.service("auth_service", free_port(), workers=2)
        yield Service(url, env, procs)
    finally:
        procs.close()


def test_health_readiness_and_trace_ids(service: Service, redis_url: str) -> None:
    assert service.get("/healthz").json() == {"status": "ok"}
    ready = service.get("/readyz", headers={"X-Trace-ID": "probe-1"})
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"redis": "ok", "store": "ok"}}
    assert ready.headers["X-Trace-ID"] == "probe-1"
    refused = service.post("/auth/register", {"username": "x"}, headers={"X-Trace-ID": "bad id!"})
    assert refused.status_code == 422
    assert refused.headers["X-Trace-ID"] != "bad id!"
    assert refused.json()["error"]["trace_id"] == refused.headers["X-Trace-ID"]


def test_register_login_refresh_reuse_logout(service: Service, redis_url: str) -> None:
    created = service.post("/auth/register", {"username": "alice", "password": PASSWORD})
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["username"], user["role"]) == ("alice", "user")
    assert (
        service.post("/auth/register", {"username": "Alice", "password": PASSWORD}).json()["error"][
            "code"
        ]
        == "username_taken"
    )

    first = service.login("alice")
    assert first.status_code == 200, first.text
    pair = first.json()
    jwks = service.get("/auth/jwks.json")
    assert jwks.headers["Cache-Control"] == "public, max-age=300"
    key = jwt.PyJWK(jwks.json()["keys"][0])
    assert jwt.decode(pair["access_token"], key, algorithms=["RS256"])["sub"] == user["id"]

    rotated = service.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    newest = rotated.json()
    reused = service.post("/auth/refresh", {"refresh_token": pair["refresh_token"]})
    assert (reused.status_code, reused.json()["error"]["code"]) == (401, "token_reused")
    after = service.post("/auth/refresh", {"refresh_token": newest["refresh_token"]})
    assert (after.status_code, after.json()["error"]["code"]) == (401, "invalid_token")

    session = service.login("alice").json()
    auth = {"Authorization": f"Bearer {session['access_token']}"}
    out = service.post("/auth/logout", {"refresh_token": session["refresh_token"]}, headers=auth)
    assert (out.status_code, out.content) == (204, b"")
    assert service.post("/auth/logout", headers=auth).status_code == 401
    dead = service.post("/auth/refresh", {"refresh_token": session["refresh_token"]})
    assert dead.status_code == 401


def test_login_limit_holds_across_workers(service: Service, redis_url: str) -> None:
    service.post("/auth/register", {"username": "bob", "password": PASSWORD})
    # Fresh connections, which either worker may take: the count lives in Redis.
    answers = [
        requests.post(
            service.url + "/auth/login",
            json={"username": "bob", "password": "wrong password"},
            headers={"X-Forwarded-For": "198.51.100.9", **service.http.headers},
            timeout=TIMEOUT,
        )
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401]
    limited = service.login("bob", ip="198.51.100.10")  # right password, another address
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["X-RateLimit-Remaining"] == "0"


def test_operator_creates_an_admin(service: Service, redis_url: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "auth_service", "create-user", "root", "--role", "admin"],
        env={**service.env, "OPTIONSFLOW_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    pair = service.login("root").json()
    claims = jwt.decode(pair["access_token"], options={"verify_signature": False})
    assert claims["role"] == "admin"


def test_production_without_keys_refuses_to_start(service: Service) -> None:
    env = {**service.env, "ENV": "production"}
    del env["JWT_PRIVATE_KEY_PATH"]
    done = subprocess.run(
        [sys.executable, "-c", "import auth_service.wsgi"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert (
        "SettingsError: JWT_PRIVATE_KEY_PATH and JWT_PUBLIC_KEY_PATH must be set in production"
        in (done.stderr)
    )


def test_starts_under_gunicorn_while_the_store_is_down(service: Service) -> None:
    # A worker that failed to boot used to make gunicorn exit (and honcho stop `make up`).
    store_url = f"mongodb://127.0.0.1:{free_port()}/x?serverSelectionTimeoutMS=200"
    name = "auth_store_down"
    url = service.procs.service(
        "auth_service", free_port(), name=name, env={"STORE_URL": store_url}
    )
    try:
        assert requests.get(url + "/healthz", timeout=TIMEOUT).status_code == 200
        ready = requests.get(url + "/readyz", timeout=TIMEOUT)
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"].startswith("error: StoreUnavailable")
        body = {"username": "zoe", "password": PASSWORD}
        login = service.http.post(url + "/auth/login", json=body, timeout=TIMEOUT)
        assert (login.status_code, login.headers["Retry-After"]) == (503, "1")
        assert login.json()["error"]["code"] == "unavailable"
    finally:
        service.procs.kill(name)
