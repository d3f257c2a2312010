"""An auth_service app per test: real Redis, SQLite in tmp_path, the session's signing keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from flask import Flask
from flask.testing import FlaskClient

from auth_service.keys import SigningKeys
from auth_service.state import AuthState, auth_state
from tests.unit.auth_service.support import running_app


@pytest.fixture(scope="session")
def key_file(signing_keys: SigningKeys, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session key pair as PEM, so apps do not generate a 3072-bit key each."""
    path = tmp_path_factory.mktemp("jwt") / "private.pem"
    path.write_bytes(
        signing_keys.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


@pytest.fixture
def auth_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str, key_file: Path
) -> pytest.MonkeyPatch:
    """The environment of a test deployment; tests may set more variables before ``app``."""
    for name, value in {
        "ENV": "test",
        "REDIS_URL": redis_url,
        "STORE_URL": f"sqlite:///{tmp_path / 'auth.db'}",
        "VAR_DIR": str(tmp_path / "var"),
        "JWT_PRIVATE_KEY_PATH": str(key_file),
        "LOGIN_LIMIT_USER": "100/minute",
        "LOGIN_LIMIT_IP": "100/minute",
        "PROXY_HOPS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("JWT_PUBLIC_KEY_PATH", raising=False)
    return monkeypatch


@pytest.fixture
def app(auth_env: pytest.MonkeyPatch) -> Iterator[Flask]:
    with running_app() as app:
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def state(app: Flask) -> AuthState:
    return auth_state(app)
