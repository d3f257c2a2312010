"""Issue 16: ``make up``'s embedded Redis requires a password, generated once under
``var/secrets/`` (mode 0600), read from a 0600 configuration file rather than the command
line; and every client ``make up`` starts is given a URL carrying it."""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from common import devstack
from common.embedded_redis import EmbeddedRedis, free_port, ping
from common.redis_client import make_redis, redis_db_url
from common.settings import Settings, load_settings, with_redis_password
from tests.support.processes import wait_until

NO_RETRY = Retry(NoBackoff(), 0)
"""redis-py's AuthenticationError is a ConnectionError: its default retries only wait."""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("SERVICE_TOKEN", "SERVICE_TOKEN_FILE", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    return dataclasses.replace(load_settings(), var_dir=tmp_path / "var")


@pytest.fixture
def make_up_redis(settings: Settings) -> Iterator[tuple[int, str, list[str]]]:
    """The Redis program ``make up`` runs (``devstack.redis_program``), started as its
    supervisor would; (port, password, argv)."""
    port, password = free_port(), devstack.redis_password(settings)
    program = devstack.redis_program(port, devstack.redis_data_dir(settings), password)
    proc = subprocess.Popen(
        list(program.argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        ready = program.ready
        assert ready is not None
        assert wait_until(lambda: proc.poll() is not None or ready(), 20), "not ready"
        assert proc.poll() is None
        yield port, password, list(program.argv)
    finally:
        proc.terminate()
        proc.wait(10)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_make_up_redis_refuses_an_unauthenticated_client(
    make_up_redis: tuple[int, str, list[str]],
) -> None:
    port, password, argv = make_up_redis
    anonymous = redis.Redis(host="127.0.0.1", port=port, retry=NO_RETRY)
    with pytest.raises(redis.AuthenticationError):
        anonymous.ping()
    with pytest.raises(redis.AuthenticationError):
        anonymous.get("auth:access:revoked:x")
    anonymous.close()
    wrong = redis.Redis(host="127.0.0.1", port=port, password="guess" * 8, retry=NO_RETRY)
    with pytest.raises(redis.AuthenticationError):
        wrong.ping()
    wrong.close()
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    client = make_redis(url)
    assert client.set("k", "v")
    assert client.get("k") == b"v"
    client.close()
    broker = make_redis(redis_db_url(url, 1))  # Celery's database keeps the password
    assert broker.ping()
    broker.close()
    assert password not in " ".join(argv)  # not in ps output


def test_the_password_is_generated_once_and_kept_private(
    settings: Settings, make_up_redis: tuple[int, str, list[str]]
) -> None:
    _, password, _ = make_up_redis
    kept = settings.var_dir.resolve() / "secrets" / "redis_password"
    assert kept.read_text().strip() == password
    assert len(password) >= 40
    assert _mode(kept) == 0o600
    assert _mode(kept.parent) == 0o700
    config = devstack.redis_data_dir(settings) / "auth.conf"
    assert _mode(config) == 0o600
    assert devstack.redis_password(settings) == password  # the next make up: the same one


def test_make_up_generates_a_service_token_unless_one_is_set(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = devstack.service_token(settings)
    kept = settings.var_dir.resolve() / "secrets" / "service_token"
    assert kept.read_text().strip() == token
    assert _mode(kept) == 0o600
    assert devstack.service_token(settings) == token
    monkeypatch.setenv("SERVICE_TOKEN", "given-service-token-0123456789abcdef")
    given = dataclasses.replace(load_settings(), var_dir=settings.var_dir)
    assert devstack.service_token(given) == "given-service-token-0123456789abcdef"


def test_redis_password_from_a_mounted_secret_goes_into_the_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Compose and the chart mount the password (REDIS_PASSWORD_FILE / REDIS_PASSWORD) and
    give a REDIS_URL without it; every process's settings put it in."""
    secret = tmp_path / "redis_password"
    secret.write_text("s3cret-from-a-Secret\n")
    monkeypatch.delenv("REDIS_PASSWORD", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://redis:6379/0")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(secret))
    assert load_settings().redis_url == "redis://:s3cret-from-a-Secret@redis:6379/0"
    assert with_redis_password("redis://:own@h:1/0", "other") == "redis://:own@h:1/0"
    assert with_redis_password("redis://h:1/0", "a/b@c") == "redis://:a%2Fb%40c@h:1/0"


def test_an_embedded_redis_with_a_password(tmp_path: Path) -> None:
    with EmbeddedRedis(password="pw-0123456789abcdef") as server:
        assert server.port is not None
        assert not _answers_anonymously(server.port)
        assert ping(server.port, "pw-0123456789abcdef")
        client = make_redis(server.url)
        assert client.ping()
        client.close()


def _answers_anonymously(port: int) -> bool:
    client = redis.Redis(host="127.0.0.1", port=port, retry=NO_RETRY)
    try:
        return bool(client.ping())
    except redis.AuthenticationError:
        return False
    finally:
        client.close()


def test_the_secrets_directory_is_not_world_readable_after_a_wide_umask(
    settings: Settings,
) -> None:
    old = os.umask(0)
    try:
        devstack.service_token(settings)
    finally:
        os.umask(old)
    assert _mode(settings.var_dir.resolve() / "secrets" / "service_token") == 0o600
