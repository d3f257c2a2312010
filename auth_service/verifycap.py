"""A cap on the password hashing one process runs at once: beyond it, 503 at once.

Argon2 is CPU work that releases the GIL, so every gunicorn thread could run one.
Verifications beyond the cores a process may use add no throughput; they only make
each one slower, until a burst of logins holds every thread, the requests behind it
wait in the socket and the gateway answers 504, while the same cores serve everyone
else's requests late. So a process runs at most :func:`default_limit` hashes (one
per core it can count on, fewer than its threads); a login, registration or hash
upgrade that finds no free slot is refused at once with 503 and ``Retry-After``
(:class:`HashingBusyError`), never queued.

The cap is per process (gunicorn's workers are processes), held in this module and
set by :func:`init_verify_cap` when ``create_app`` builds the app; a process that
never builds one (the ``create-user`` command) hashes one at a time anyway.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Iterator

from flask import Flask, Response, request

from common.settings import Settings
from common.web.errors import ApiError, error_response

RETRY_AFTER_S = 1
"""Advice to a refused client (seconds): many verifications end in that time."""
BUSY_MESSAGE = "too many sign-ins in progress; retry shortly"
HASHING_ENDPOINTS = frozenset({"auth_sessions.auth_login", "auth_users.auth_register"})
"""The routes that hash a password (``accounts.authenticate`` and ``accounts.register``)."""


class HashingBusyError(Exception):
    """Every hashing slot of this process is taken; answered 503 with ``Retry-After``."""


class VerifyCap:
    """At most ``limit`` holders of :meth:`slot` at once; the next is refused, not queued."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("the cap needs at least one slot")
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        """Whether every slot is held now (a hint: the next :meth:`slot` decides)."""
        return self._held >= self.limit

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the block; :class:`HashingBusyError` if none is free."""
        with self._lock:
            if self._held >= self.limit:
                raise HashingBusyError
            self._held += 1
        try:
            yield
        finally:
            with self._lock:
                self._held -= 1


def usable_cpus() -> int:
    """The cores this process may run on (its affinity; a container quota is not read)."""
    return len(os.sched_getaffinity(0))


def default_limit(cpus: int, workers: int, threads: int) -> int:
    """Slots per process: the process's share of the cores, and fewer than its threads.

    ``workers`` processes of ``threads`` threads share ``cpus`` cores: each gets
    ``ceil(cpus / workers)`` slots, so the processes together hash on every core but
    no more (make up: 2 cores, 2 processes: one each), and at most ``threads - 1``,
    so a thread is always left for refresh, logout and the JWKS (a one-thread
    process is serial anyway: one slot).
    """
    share = math.ceil(max(cpus, 1) / max(workers, 1))
    return max(1, min(share, threads - 1))


_cap = VerifyCap(1)


def current() -> VerifyCap:
    """This process's cap (one slot until :func:`configure` sets another)."""
    return _cap


def configure(limit: int) -> VerifyCap:
    """Replace this process's cap by one of ``limit`` slots (holders of the old one keep it)."""
    global _cap
    _cap = VerifyCap(limit)
    return _cap


def limit_from(settings: Settings) -> int:
    """``LOGIN_VERIFY_CONCURRENCY`` when set, else :func:`default_limit` for this process."""
    if settings.login.verify_concurrency is not None:
        return settings.login.verify_concurrency
    web = settings.web
    return default_limit(usable_cpus(), web.worker_count, web.thread_count)


def hashing_slot() -> contextlib.AbstractContextManager[None]:
    """One slot of this process's cap: ``with hashing_slot(): verify…``."""
    return _cap.slot()


def init_verify_cap(app: Flask, settings: Settings) -> None:
    """Size this process's cap from ``settings`` and answer :class:`HashingBusyError` with 503.

    Registered before the login limits: while every slot is held, a login or a
    registration is refused before its rate-limit round trips and body validation, so
    a burst's refusals cost little of the CPU the held slots and everyone else need
    (and do not spend the user's login budget: no password was tried).
    """
    configure(limit_from(settings))

    @app.before_request
    def _refuse_while_full() -> None:
        if request.endpoint in HASHING_ENDPOINTS and _cap.full:
            raise HashingBusyError

    @app.errorhandler(HashingBusyError)
    def _busy(_exc: HashingBusyError) -> Response:
        return error_response(
            ApiError(503, BUSY_MESSAGE, headers={"Retry-After": str(RETRY_AFTER_S)})
        )
