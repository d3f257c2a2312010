"""schemathesis over the gateway's OpenAPI document, against the real services:
no 5xx for any generated input, and every answer matches its documented status,
content type and schema. Bounded: a few examples per operation. Routes for some roles
only (documented with a 403) are called with an admin's token, the others with a user's."""

from __future__ import annotations

import dataclasses
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

from api_gateway import create_app
from common.embedded_redis import EmbeddedRedis
from common.settings import load_settings
from tests.integration.api_gateway.conftest import SERVICES, Stack, start_stack

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
    started = start_stack(tmp, redis_server.url, unlimited, services=(*SERVICES, "logging_service"))
    yield started
    started.procs.close()


@pytest.fixture(scope="module")
def token(fuzz_stack: Stack) -> str:
    return str(fuzz_stack.login("fuzzer")["access_token"])


@pytest.fixture(scope="module")
def admin_token(fuzz_stack: Stack) -> str:
    fuzz_stack.create_admin("fuzz-admin")
    return str(fuzz_stack.login("fuzz-admin")["access_token"])


def _document() -> dict[str, Any]:
    """The gateway's OpenAPI document, built in-process (no connection is made).

    Cases are generated at collection time from it; the running gateway serves the
    same document (checked below).
    """
    settings = dataclasses.replace(load_settings(), redis_url="redis://127.0.0.1:9/0")
    return dict(create_app(settings).test_client().get("/api/openapi.json").get_json())


DOCUMENT = _document()
# Logout would revoke the token every other case uses; its flow is tested in test_stack.
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(path="/api/auth/logout")
ADMIN_ONLY = {
    path
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if method != "parameters" and "403" in operation["responses"]
}
"""Paths for some roles only (every method: the role is checked before the method is
looked at); a user's 403 there is tested in test_logs."""


def test_the_gateway_serves_the_document_the_cases_come_from(fuzz_stack: Stack) -> None:
    status, served = fuzz_stack.json("GET", "/api/openapi.json")
    assert status == 200
    assert served == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_5xx_and_answers_match_the_document(
    case: Any, token: str, admin_token: str, fuzz_stack: Stack
) -> None:
    if case.path in ADMIN_ONLY:
        token = admin_token
    response = case.call_and_validate(
        base_url=fuzz_stack.url,
        headers={"Authorization": f"Bearer {token}"},
        checks=CHECKS,
        timeout=10,
    )
    assert response.status_code != 403  # each operation is fuzzed past the role check
