"""Issue 16: Argon2id at OWASP's parameters, old hashes upgraded at login, and a cap on the
hashing one process runs at once (503 with Retry-After beyond it, at once)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from flask.testing import FlaskClient

from auth_service import accounts, passwords, verifycap
from auth_service.passwords import hash_password, needs_rehash, verify_password
from auth_service.state import AuthState, auth_state
from auth_service.verifycap import HashingBusyError, VerifyCap, default_limit
from common.settings import SettingsError, load_settings
from tests.unit.auth_service.support import PASSWORD, conforms, login, register, running_app

OWASP = {"type": Type.ID, "memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}
"""OWASP Password Storage Cheat Sheet's Argon2id baseline: 19 MiB, t=2, p=1."""


def _parameters(encoded: str) -> dict[str, object]:
    p = extract_parameters(encoded)
    return {
        "type": p.type,
        "memory_cost": p.memory_cost,
        "time_cost": p.time_cost,
        "parallelism": p.parallelism,
    }


# -- parameters -------------------------------------------------------------------------------


def test_new_hashes_use_owasps_parameters() -> None:
    assert _parameters(hash_password(PASSWORD)) == OWASP


@pytest.mark.redis
def test_a_registered_users_stored_hash_has_owasps_parameters(
    client: FlaskClient, state: AuthState
) -> None:
    assert register(client, "alice").status_code == 201
    user = state.store.find_user("alice")
    assert user is not None
    assert _parameters(user["password_hash"]) == OWASP


def test_argon2_cffi_default_hashes_need_a_rehash() -> None:
    """The parameters every existing account was hashed with before issue 16."""
    old = PasswordHasher().hash(PASSWORD)  # argon2-cffi's defaults: 64 MiB, t=3, p=4
    assert _parameters(old)["memory_cost"] == 65_536
    assert verify_password(old, PASSWORD)  # still verifies at its own parameters
    assert needs_rehash(old)


@pytest.mark.redis
def test_a_default_parameter_hash_is_rehashed_at_login(
    client: FlaskClient, state: AuthState
) -> None:
    old = PasswordHasher().hash(PASSWORD)
    user = state.store.create_user("veteran", old, "user")

    resp = login(client, "veteran")
    assert resp.status_code == 200
    assert conforms("auth_login", resp)["token_type"] == "Bearer"
    stored = state.store.find_user("veteran")
    assert stored is not None
    assert stored["password_hash"] != old
    assert _parameters(stored["password_hash"]) == OWASP
    assert verify_password(stored["password_hash"], PASSWORD)
    assert stored == {**user, "password_hash": stored["password_hash"]}
    assert login(client, "veteran").status_code == 200  # the new hash logs in too


# -- the cap ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cpus", "workers", "threads", "expected"),
    [
        (2, 2, 8, 1),  # make up on two cores: one per process, two in all
        (8, 2, 8, 4),  # every core, no more
        (16, 1, 8, 7),  # never every thread: refresh, logout and the JWKS keep one
        (1, 4, 8, 1),  # at least one
        (4, 1, 1, 1),  # a one-thread process is serial anyway
        (3, 2, 8, 2),  # a core shared by two processes counts for both
    ],
)
def test_default_limit(cpus: int, workers: int, threads: int, expected: int) -> None:
    assert default_limit(cpus, workers, threads) == expected


def test_a_full_cap_refuses_at_once_and_a_freed_slot_admits() -> None:
    cap = VerifyCap(2)
    with cap.slot(), cap.slot(), pytest.raises(HashingBusyError), cap.slot():
        pytest.fail("a third holder got in")
    with cap.slot():
        pass  # both released


def test_a_slot_is_released_when_the_hashing_raises() -> None:
    cap = VerifyCap(1)
    with pytest.raises(RuntimeError), cap.slot():
        raise RuntimeError("argon2 failed")
    with cap.slot():
        pass


@contextlib.contextmanager
def _all_slots_held() -> Iterator[int]:
    """Hold every slot of this process's cap (as that many verifications in progress)."""
    cap = verifycap.current()
    with contextlib.ExitStack() as stack:
        for _ in range(cap.limit):
            stack.enter_context(cap.slot())
        yield cap.limit


@pytest.mark.redis
def test_the_cap_comes_from_the_setting(auth_env: pytest.MonkeyPatch) -> None:
    auth_env.setenv("LOGIN_VERIFY_CONCURRENCY", "3")
    with running_app():
        assert verifycap.current().limit == 3


@pytest.mark.redis
def test_the_default_cap_is_the_processs_share_of_the_cores(
    auth_env: pytest.MonkeyPatch,
) -> None:
    auth_env.delenv("LOGIN_VERIFY_CONCURRENCY", raising=False)
    auth_env.setenv("WEB_CONCURRENCY", "2")
    auth_env.setenv("GUNICORN_THREADS", "8")
    with running_app():
        assert verifycap.current().limit == default_limit(verifycap.usable_cpus(), 2, 8)


@pytest.mark.parametrize("value", ["0", "-1", "many", "1025"])
def test_a_bad_cap_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LOGIN_VERIFY_CONCURRENCY", value)
    with pytest.raises(SettingsError, match="LOGIN_VERIFY_CONCURRENCY"):
        load_settings()


@pytest.mark.redis
def test_beyond_the_cap_login_is_503_with_retry_after_and_no_hashing(
    auth_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_env.setenv("LOGIN_VERIFY_CONCURRENCY", "2")
    hashed: list[str] = []
    real_verify = passwords.verify_password

    def counting_verify(password_hash: str, password: str) -> bool:
        hashed.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting_verify)
    with running_app() as app:
        client = app.test_client()
        assert register(client, "alice").status_code == 201
        with _all_slots_held() as held:
            assert held == 2
            resp = login(client, "alice", headers={"X-Trace-ID": "busy-trace"})
            unknown = login(client, "nobody")
            registration = register(client, "bob")
        assert hashed == []  # refused before any Argon2 work
        for refused in (resp, unknown):
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == str(verifycap.RETRY_AFTER_S)
        assert conforms("auth_login", resp) == {
            "error": {
                "code": "unavailable",
                "message": verifycap.BUSY_MESSAGE,
                "fields": {},
                "trace_id": "busy-trace",
            }
        }
        assert registration.status_code == 503
        assert registration.headers["Retry-After"] == str(verifycap.RETRY_AFTER_S)
        assert auth_state(app).store.find_user("bob") is None  # nothing was created

        # The slots freed, the same logins go through.
        assert login(client, "alice").status_code == 200
        assert register(client, "bob").status_code == 201
        assert hashed == [PASSWORD]


@pytest.mark.redis
def test_an_upgrade_holds_its_verifications_slot(
    auth_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one slot, a login that verified an old hash also replaces it: the rehash
    is not a second acquisition that a concurrent login could take from it."""
    auth_env.setenv("LOGIN_VERIFY_CONCURRENCY", "1")
    with running_app() as app:
        client = app.test_client()
        store = auth_state(app).store
        old = PasswordHasher().hash(PASSWORD)
        store.create_user("veteran", old, "user")
        cap = verifycap.current()
        free_during_rehash: list[bool] = []
        real_hash = passwords.hash_password

        def probing_hash(password: str) -> str:
            try:
                with cap.slot():
                    free_during_rehash.append(True)
            except HashingBusyError:
                free_during_rehash.append(False)
            return real_hash(password)

        monkeypatch.setattr(accounts, "hash_password", probing_hash)
        assert login(client, "veteran").status_code == 200
        assert free_during_rehash == [False]  # its own slot was still held
        stored = store.find_user("veteran")
        assert stored is not None
        assert _parameters(stored["password_hash"]) == OWASP


@pytest.mark.redis
def test_refused_logins_do_not_spend_the_users_login_budget(
    auth_env: pytest.MonkeyPatch,
) -> None:
    """Refused before the rate limits: no password was tried, so no attempt is counted."""
    auth_env.setenv("LOGIN_VERIFY_CONCURRENCY", "1")
    auth_env.setenv("LOGIN_LIMIT_USER", "2/minute")
    with running_app() as app:
        client = app.test_client()
        assert register(client, "alice").status_code == 201
        with _all_slots_held():
            refused = [login(client, "alice").status_code for _ in range(3)]
        assert refused == [503, 503, 503]
        assert [login(client, "alice").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.redis
def test_accounts_refuse_hashing_while_the_cap_is_full(state: AuthState) -> None:
    """The binding check, behind the early refusal of the routes (a race past it)."""
    accounts.register(state.store, "alice", PASSWORD)
    with _all_slots_held():
        with pytest.raises(HashingBusyError):
            accounts.authenticate(state.store, "alice", PASSWORD)
        with pytest.raises(HashingBusyError):
            accounts.authenticate(state.store, "nobody", PASSWORD)
        with pytest.raises(HashingBusyError):
            accounts.register(state.store, "bob", PASSWORD)
    assert state.store.find_user("bob") is None
    assert accounts.authenticate(state.store, "alice", PASSWORD) is not None
