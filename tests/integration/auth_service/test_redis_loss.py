"""Issue 16: what logout and rotation decided survives the loss of Redis.

Real processes (auth_service, storage_service and the gateway under gunicorn) on a private
redis-server without persistence, killed with SIGKILL and started again on the same port
EMPTY, as a failover to an empty replica would leave it. Logged-out access and refresh
tokens, and spent refresh tokens, stay refused; a spent token still revokes its family;
the login limits start counting again (they neither fail open nor answer errors).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auth_service.sessions import DENY_LIST_REBUILT_KEY
from common.embedded_redis import EmbeddedRedis
from common.redis_client import make_redis
from tests.integration.api_gateway.conftest import Stack, start_stack

pytestmark = [pytest.mark.redis, pytest.mark.timeout(180)]

PASSWORD = "correct-horse-1"


@pytest.fixture
def volatile_redis() -> Iterator[EmbeddedRedis]:
    """A redis-server of this test only, with no AOF and no snapshot: a restart is empty."""
    server = EmbeddedRedis()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def stack(tmp_path: Path, volatile_redis: EmbeddedRedis) -> Iterator[Stack]:
    started = start_stack(
        tmp_path,
        volatile_redis.url,
        {"LOGIN_LIMIT_USER": "3/minute", "LOGIN_LIMIT_IP": "100/minute"},
        services=("auth_service", "storage_service"),
    )
    yield started
    started.procs.close()


def _refresh(stack: Stack, token: str) -> tuple[int, Any]:
    return stack.json("POST", "/api/auth/refresh", body={"refresh_token": token})


def _login(stack: Stack, username: str, password: str = PASSWORD) -> tuple[int, Any]:
    body = {"username": username, "password": password}
    return stack.json("POST", "/api/auth/login", body=body)


def _eventually(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def _rebuilt_on_the_new_server(redis_url: str) -> bool:
    client = make_redis(redis_url, retries=0)
    try:
        mark = client.get(DENY_LIST_REBUILT_KEY)
        return mark is not None and mark.decode() == str(client.info("server")["run_id"])
    except Exception:  # the server is still coming back
        return False
    finally:
        client.close()


def test_logged_out_and_spent_tokens_stay_refused_after_redis_comes_back_empty(
    stack: Stack, volatile_redis: EmbeddedRedis
) -> None:
    # alice: logs in, refreshes once (first["refresh_token"] is spent), logs out
    first = stack.login("alice", PASSWORD)
    status, second = _refresh(stack, first["refresh_token"])
    assert status == 200, second
    status, _ = stack.json(
        "POST", "/api/auth/logout", body={"refresh_token": second["refresh_token"]},
        token=second["access_token"],
    )  # fmt: skip
    assert status == 204
    assert stack.json("GET", "/api/products", token=second["access_token"])[0] == 401
    # bob: logs in and refreshes once; he stays logged in (his first token is spent)
    bob_first = stack.login("bob", PASSWORD)
    status, bob_second = _refresh(stack, bob_first["refresh_token"])
    assert status == 200, bob_second

    before = make_redis(volatile_redis.url)
    old_run_id = before.info("server")["run_id"]
    before.close()
    volatile_redis.kill()  # SIGKILL: no shutdown, nothing saved
    volatile_redis.restart()
    after = make_redis(volatile_redis.url)
    assert after.info("server")["run_id"] != old_run_id
    after.close()

    # Each auth_service process rebuilds the deny-list within DENY_LIST_CHECK_S (1 s) of
    # Redis coming back; before this change nothing ever did, and the tokens below passed.
    _eventually(lambda: _rebuilt_on_the_new_server(volatile_redis.url), 15, "deny-list rebuilt")

    status, body = stack.json("GET", "/api/products", token=second["access_token"])
    assert status == 401, body  # before this change: 200 (and 200 for each refresh below)
    assert body["error"]["code"] == "token_revoked"
    status, body = _refresh(stack, second["refresh_token"])  # logged out
    assert (status, body["error"]["message"]) == (401, "session revoked")
    status, body = _refresh(stack, first["refresh_token"])  # spent, and logged out
    assert status == 401, body

    # bob's spent token replayed: reuse is still detected, and ends his family
    status, body = _refresh(stack, bob_first["refresh_token"])
    assert (status, body["error"]["code"]) == (401, "token_reused")
    status, body = _refresh(stack, bob_second["refresh_token"])
    assert (status, body["error"]["message"]) == (401, "session revoked")
    # bob's access token was never revoked: it still works (nothing fails closed for good)
    assert stack.json("GET", "/api/products", token=bob_second["access_token"])[0] == 200


def test_login_limits_count_again_from_zero_after_redis_comes_back_empty(
    stack: Stack, volatile_redis: EmbeddedRedis
) -> None:
    stack.login("carol", PASSWORD)  # registers carol: one of her 3 logins a minute
    assert [_login(stack, "carol", "wrong-password")[0] for _ in range(3)] == [401, 401, 429]
    volatile_redis.kill()
    volatile_redis.restart()
    # While Redis is down or just back, a login is answered (503 at worst), never a 500.
    statuses: list[int] = []

    def answered() -> bool:
        statuses.append(_login(stack, "carol")[0])
        return statuses[-1] == 200

    _eventually(answered, 15, "a login after the restart")
    assert set(statuses) <= {200, 503}, statuses
    # The window restarted empty (what the lost Redis counted is forgotten), and bites again.
    assert [_login(stack, "carol", "wrong-password")[0] for _ in range(3)] == [401, 401, 429]
