"""An analytics app on the session's Redis and a SQLite store in ``tmp_path``, clock fixed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from analytics_service import create_app
from analytics_service.sources import Sources
from common.settings import load_settings
from store.sqlite import SqliteStore
from tests.unit.analytics_service.support import NOW


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(store_path)
    yield s
    s.close()


@pytest.fixture
def app(redis_url: str, store_path: Path) -> Iterator[Flask]:
    settings = dataclasses.replace(
        load_settings(), redis_url=redis_url, store_url=f"sqlite:///{store_path}"
    )
    flask_app = create_app(settings)
    sources: Sources = flask_app.extensions["analytics"]
    sources.clock = lambda: NOW
    sources.products_ttl_s = 0.0  # tests write between requests
    yield flask_app
    sources.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
