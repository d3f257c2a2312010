"""The REST side of a simulated user: register once, log in once, keep the access token
fresh with ``/api/auth/refresh`` and call the gateway through Locust's client, so every
call lands in the statistics with a failure reason that groups well (no trace ids or
timings in it)."""

from __future__ import annotations

import random
import time
from typing import Any

import gevent
from locust.contrib.fasthttp import FastHttpSession, ResponseContextManager

from .plan import Tokens, backoff_s

RETRY_CAP_S = 60.0
"""Longest pause before signing in again (``Retry-After`` is obeyed up to it)."""


class SignInError(RuntimeError):
    """Signing in cannot work by trying again (a wrong password, a refused user name)."""


def retryable(status: int) -> bool:
    """No answer, rate limited or a server-side failure: worth trying again."""
    return status == 0 or status == 429 or status >= 500


def error_code(resp: ResponseContextManager) -> str:
    """The ``error.code`` of an error answer (``no_body`` when it has none)."""
    try:
        body = resp.json()
    except (ValueError, TypeError):
        return "no_body"
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else "no_code"


def failure_reason(resp: ResponseContextManager) -> str | None:
    """``None`` for a 2xx; otherwise the reason Locust groups the failure under."""
    status = resp.status_code
    if 200 <= status < 300:
        return None
    if not status:
        return f"no answer: {type(getattr(resp, 'error', None)).__name__}"
    code = error_code(resp)
    if status == 429:
        # Every simulated user shares the generator's address: a 429 here is the target's
        # per-address limit unless docs/LOADTEST.md's settings were applied.
        return f"429 {code}: rate limited"
    if status == 503 and code == "overloaded":
        return "503 overloaded: load shed by the gateway"
    return f"{status} {code}"


def retry_after(resp: ResponseContextManager) -> float:
    """The answer's ``Retry-After`` in seconds (0 without one), at most RETRY_CAP_S."""
    headers = resp.headers  # None when nothing answered
    try:
        wait = float(str(headers.get("Retry-After") or 0.0)) if headers else 0.0
    except ValueError:
        wait = 0.0
    return min(max(wait, 0.0), RETRY_CAP_S)


class ApiSession:
    """One user's signed-in session on the gateway."""

    def __init__(
        self, client: FastHttpSession, username: str, password: str, rng: random.Random
    ) -> None:
        self.client = client
        self.username = username
        self.password = password
        self.rng = rng
        self.tokens: Tokens | None = None
        self.failures = 0
        """Sign-in attempts refused in a row (the backoff grows with them)."""

    # -- signing in ----------------------------------------------------------------------

    def sign_in(self, register: bool = True) -> None:
        """Register (a 409 means an earlier run did) and log in, trying again after a
        refusal worth retrying (a person would press the button again); SignInError
        when trying again cannot help."""
        for step in (self._register, self._login) if register else (self._login,):
            while (wait := step()) is not None:
                gevent.sleep(wait)
            self.failures = 0

    def _register(self) -> float | None:
        """``None`` once the user exists, else how long to wait before trying again."""
        body = {"username": self.username, "password": self.password}
        with self.client.post(
            "/api/auth/register", json=body, name="/api/auth/register", catch_response=True
        ) as resp:
            if resp.status_code in (201, 409):
                resp.success()
                return None
            return self._refused(resp, failure_reason(resp) or "unexpected answer")

    def _login(self) -> float | None:
        """``None`` once logged in, else how long to wait before trying again."""
        body = {"username": self.username, "password": self.password}
        with self.client.post(
            "/api/auth/login", json=body, name="/api/auth/login", catch_response=True
        ) as resp:
            reason = failure_reason(resp)
            if reason is None and self._take(resp):
                return None
            return self._refused(resp, reason or "login answer without tokens")

    def _refused(self, resp: ResponseContextManager, reason: str) -> float:
        resp.failure(reason)
        if not retryable(resp.status_code):
            raise SignInError(f"{self.username}: {reason} (another password? see --user-prefix)")
        self.failures += 1
        return max(retry_after(resp), backoff_s(self.failures, self.rng, cap_s=RETRY_CAP_S))

    def _take(self, resp: ResponseContextManager) -> bool:
        try:
            self.tokens = Tokens.from_answer(resp.json(), time.monotonic())
        except ValueError:
            return False
        return True

    def refresh(self) -> bool:
        """Spend the refresh token for a new pair; when the session has ended (401), log
        in again. False when the gateway failed: the current token stays in use."""
        assert self.tokens is not None, "sign_in first"
        body = {"refresh_token": self.tokens.refresh}
        with self.client.post(
            "/api/auth/refresh", json=body, name="/api/auth/refresh", catch_response=True
        ) as resp:
            reason = failure_reason(resp)
            if reason is None and self._take(resp):
                return True
            resp.failure(reason or "refresh answer without tokens")
            ended = bool(resp.status_code == 401)
        if ended:  # the family was revoked or has expired: the user exists, log in again
            self.tokens = None
            self.sign_in(register=False)
        return ended

    def access_token(self) -> str:
        """The access token, refreshed first when it is about to expire."""
        if self.tokens is None:
            self.sign_in(register=False)
        assert self.tokens is not None
        if self.tokens.refresh_due(time.monotonic()):
            self.refresh()
        return self.tokens.access

    # -- reading -------------------------------------------------------------------------

    def get(self, path: str, name: str, params: dict[str, str] | None = None) -> Any:
        """GET with the bearer token; the JSON body, or ``None`` when the call failed.
        A 401 (token expired under us) refreshes once and tries again."""
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access_token()}"}
            with self.client.get(
                path, params=params, headers=headers, name=name, catch_response=True
            ) as resp:
                reason = failure_reason(resp)
                if resp.status_code == 401 and attempt == 1:
                    resp.failure(f"{reason}: refreshed and tried again")
                    if self.refresh():
                        continue
                    return None
                if reason is not None:
                    resp.failure(reason)
                    return None
                try:
                    return resp.json()
                except ValueError:
                    resp.failure("2xx answer that is not JSON")
                    return None
        return None
