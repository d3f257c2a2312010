"""What an auth_service app holds: its store (opened lazily), Redis, tokens and sessions.

Kept in ``app.extensions`` under one typed object, so views get it with
:func:`auth_state` instead of module globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import redis
from flask import Flask, current_app

from auth_service.sessions import DenyListKeeper, SessionStore
from auth_service.tokens import TokenService
from common.settings import Settings
from store import Store, open_store
from store.lazy import LazyStore

EXTENSION = "auth_service"


@dataclass(frozen=True, slots=True)
class AuthState:
    settings: Settings
    lazy_store: LazyStore
    redis: redis.Redis
    tokens: TokenService
    sessions: SessionStore
    keeper: DenyListKeeper = field(init=False)
    """Rebuilds the access deny-list into a Redis that lost it (started with the state)."""

    def __post_init__(self) -> None:
        # Families and revocations are kept in this app's store; the keeper runs for as long
        # as the app's sessions live (a thread per process: gunicorn builds the app per worker).
        if not self.sessions.bound:
            self.sessions.bind_ledger(self.lazy_store.get)
        url = self.settings.store_url
        keeper = DenyListKeeper(self.sessions, LazyStore(lambda: open_store(url)))
        object.__setattr__(self, "keeper", keeper)
        keeper.start()

    @property
    def store(self) -> Store:
        """The user store, opened on first use; ``StoreUnavailable`` (503) while it is down."""
        return self.lazy_store.get()


def auth_state(app: Flask | None = None) -> AuthState:
    """The state of ``app`` (default: the current app)."""
    state = (app or current_app).extensions.get(EXTENSION)
    if not isinstance(state, AuthState):
        raise RuntimeError("not an auth_service app: create it with auth_service.create_app()")
    return state
