"""``GET /api/logs`` through the real gateway to a real logging_service: an admin (made
with ``python -m auth_service create-user --role admin``) follows a trace id across
services; a user's token is refused 403; bad parameters are 422 naming the field."""

from __future__ import annotations

import io
import logging
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from common.embedded_redis import EmbeddedRedis
from common.jsonlog import configure_logging, trace
from common.logship import RedisStreamHandler
from common.redis_client import make_redis, redis_db_url
from tests.integration.api_gateway.conftest import Stack, start_stack
from tests.support.processes import wait_until

pytestmark = pytest.mark.redis

LOGS_DB = 3
"""A database of the session's Redis for this module alone: its stream ``logs`` holds only
what this stack and these tests write (one collector per stream, as deployed)."""


@pytest.fixture(scope="module")
def logs_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Stack]:
    url = redis_db_url(redis_server.url, LOGS_DB)
    client = make_redis(url)
    client.flushdb()
    client.close()
    started = start_stack(
        tmp_path_factory.mktemp("logs-stack"), url, services=("auth_service", "logging_service")
    )
    try:
        started.create_admin("root")
        yield started
    finally:
        started.procs.close()


@pytest.fixture(scope="module")
def admin(logs_stack: Stack) -> str:
    return str(logs_stack.login("root")["access_token"])


@pytest.fixture(scope="module")
def user(logs_stack: Stack) -> str:
    return str(logs_stack.login("trader")["access_token"])


@pytest.fixture
def shipper(logs_stack: Stack) -> Iterator[RedisStreamHandler]:
    """This process logs as ``feed_generator`` to the stack's stream, as every service does."""
    handler = RedisStreamHandler(lambda: make_redis(logs_stack.redis_url, retries=0))
    configure_logging("feed_generator", "INFO", stream=io.StringIO(), shipper=handler)
    yield handler
    handler.close()


def _logs(stack: Stack, token: str, **query: str) -> list[dict[str, Any]]:
    status, body = stack.json("GET", f"/api/logs?{urllib.parse.urlencode(query)}", token=token)
    assert status == 200, body
    assert body["count"] == len(body["lines"])
    return list(body["lines"])


def test_an_admin_finds_lines_by_trace_id(
    logs_stack: Stack, admin: str, shipper: RedisStreamHandler
) -> None:
    log = logging.getLogger("feed_generator.test")
    with trace("trace-admin-1"):
        log.info("tick published", extra={"n": 1})
        log.warning("tick late", extra={"n": 2})
    assert wait_until(lambda: len(_logs(logs_stack, admin, trace_id="trace-admin-1")) == 2, 20)
    lines = _logs(logs_stack, admin, trace_id="trace-admin-1")
    assert [(x["service"], x["level"], x["message"], x["n"]) for x in lines] == [
        ("feed_generator", "INFO", "tick published", 1),
        ("feed_generator", "WARNING", "tick late", 2),
    ]
    warnings = _logs(logs_stack, admin, trace_id="trace-admin-1", level="warning")
    assert [x["n"] for x in warnings] == [2]


def test_a_request_through_the_gateway_is_followed_into_every_service(
    logs_stack: Stack, admin: str
) -> None:
    status, _, _ = logs_stack.request(
        "POST", "/api/auth/login", body={"username": "root", "password": "correct-horse-1"},
        headers={"X-Trace-ID": "trace-login-1"},
    )  # fmt: skip
    assert status == 200

    def services() -> set[str]:
        return {x["service"] for x in _logs(logs_stack, admin, trace_id="trace-login-1")}

    assert wait_until(lambda: services() >= {"api_gateway", "auth_service"}, 20), services()


def test_a_user_token_is_refused_403(logs_stack: Stack, user: str) -> None:
    status, body = logs_stack.json(
        "GET", "/api/logs?trace_id=trace-admin-1", token=user,
        headers={"X-Trace-ID": "trace-refused-1"},
    )  # fmt: skip
    assert status == 403
    assert body == {
        "error": {
            "code": "forbidden",
            "message": "this route needs the admin role",
            "fields": {},
            "trace_id": "trace-refused-1",
        }
    }
    assert logs_stack.json("GET", "/api/logs")[0] == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [("level=LOUD", "level"), ("limit=0", "limit"), ("trace_id=a%20b", "trace_id")],
)
def test_bad_parameters_are_422_naming_the_field(
    logs_stack: Stack, admin: str, query: str, field: str
) -> None:
    status, body = logs_stack.json("GET", f"/api/logs?{query}", token=admin)
    assert status == 422, body
    assert body["error"]["code"] == "validation_error"
    assert list(body["error"]["fields"]) == [field]
