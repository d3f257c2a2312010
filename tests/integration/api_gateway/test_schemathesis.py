"""schemathesis over the gateway's OpenAPI document, against the real services:
no 5xx for any generated input, and every answer matches its documented status,
content type and schema. Bounded: a few examples per operation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from common.embedded_redis import EmbeddedRedis
from tests.integration.api_gateway.conftest import Stack, start_stack

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzz_stack(
    tmp_path_factory: pytest.TempPathFactory, redis_server: EmbeddedRedis
) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    unlimited = {
        "RATE_LIMIT_USER": "100000/second", "RATE_LIMIT_IP": "100000/second",
        "LOGIN_LIMIT_USER": "100000/second", "LOGIN_LIMIT_IP": "100000/second",
    }  # fmt: skip
    started = start_stack(tmp, redis_server.url, unlimited)
    yield started
    started.procs.close()


@pytest.fixture(scope="module")
def token(fuzz_stack: Stack) -> str:
    return str(fuzz_stack.login("fuzzer")["access_token"])


@pytest.fixture(scope="module")
def api_schema(fuzz_stack: Stack) -> Any:
    # Logout would revoke the token every other case uses; its flow is tested in test_stack.
    return schemathesis.openapi.from_url(fuzz_stack.url + "/api/openapi.json").exclude(
        path="/api/auth/logout"
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_5xx_and_answers_match_the_document(case: Any, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=10)
