"""What the routes share: the repositories (opened on first use), the newest chains in
Redis, the products' conventions, the clock, and who is calling."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, request

from common.latest import LatestReader
from common.products import ConventionsRegistry
from common.web.errors import ApiError
from paper_service.events import Announcer
from store.lazy import LazyRepository
from store.paper.port import PaperStore
from store.strategies.port import StrategyStore

EXTENSION = "paper_service"
USER_HEADER = "X-User-Id"
"""The caller's user id, set by the gateway from the access token (``common.web.servicecred``
makes sure only the gateway reaches the service)."""
MAX_USER_ID = 128


@dataclass(frozen=True, slots=True)
class PaperContext:
    """The service's collaborators, kept in ``app.extensions``."""

    strategies: LazyRepository[StrategyStore]
    reader: LatestReader
    """``latest:*``: the newest enriched chains the workers keep."""
    registry: ConventionsRegistry
    products: frozenset[str]
    """The products the platform serves."""
    strategies_per_user: int
    """``STRATEGIES_PER_USER``."""
    clock: Callable[[], dt.datetime]
    """The current instant (aware UTC)."""
    paper: LazyRepository[PaperStore] | None = None
    """Paper trading's repository (``STORE_URL``), opened on first use."""
    announcer: Announcer | None = None
    """The owner's events and the workers' version tokens after a placement or a cancel."""

    def strategy_store(self) -> StrategyStore:
        return self.strategies.get()

    def paper_store(self) -> PaperStore:
        if self.paper is None:
            raise RuntimeError("paper_service was created without a paper repository")
        return self.paper.get()

    def now(self) -> dt.datetime:
        """The clock's instant to the millisecond (the answers state it in the wire format,
        so a client can value the same legs at exactly the same instant)."""
        at = self.clock().astimezone(dt.UTC)
        return at.replace(microsecond=at.microsecond // 1000 * 1000)


def paper_context() -> PaperContext:
    context: PaperContext = current_app.extensions[EXTENSION]
    return context


def caller() -> str:
    """The calling user's id (``X-User-Id``); 401 without one."""
    user = request.headers.get(USER_HEADER, "")
    if not user or len(user) > MAX_USER_ID:
        raise ApiError(401, "no caller identity: paper_service answers through the API gateway")
    return user
