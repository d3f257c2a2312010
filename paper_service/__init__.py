"""paper_service (port 8007): strategies over REST, behind the API gateway.

Evaluate legs on the live chains (payoff, breakevens, limits, Greeks, probability of
profit: ``optionsmath.strategy``), build templates around the live ATM strike, keep
each user's saved strategies, and paper-trade (``/paper/*``: orders, baskets, positions,
the account, trades). The newest chains are read from Redis (``common.latest``) at every
request; the saved strategies are in ``store.strategies`` and the paper accounts in
``store.paper`` (``STORE_URL``), each opened on first use; the owners' paper events go to
the Socket.IO message queue on ``REDIS_URL``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask

from common.latest import LatestReader
from common.products import serving_registry
from common.redis_client import make_redis
from common.settings import Settings, SettingsError, load_settings
from common.web import create_base_app
from common.web.openapi import make_api
from paper_service.context import EXTENSION, PaperContext
from paper_service.errors import install_error_handlers
from paper_service.events import Announcer, Emitter
from paper_service.paper_errors import install_paper_error_handlers
from paper_service.routes import BLUEPRINTS
from store.lazy import LazyRepository
from store.paper.port import PaperStore
from store.strategies.port import StrategyStore

SERVICE = "paper_service"
REDIS_TIMEOUT_S = 2.0
"""Redis connect and read timeout of a request: a slow Redis answers 503, not a hung thread."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_app(
    settings: Settings | None = None,
    *,
    strategies: StrategyStore | None = None,
    paper: PaperStore | None = None,
    emitter: Emitter | None = None,
    clock: Callable[[], dt.datetime] = _utc_now,
) -> Flask:
    """The paper service; ``settings`` default to the environment's; needs ``REDIS_URL``.

    ``strategies`` and ``paper`` replace the repositories ``STORE_URL`` names, ``emitter``
    the Socket.IO message queue on ``REDIS_URL`` (tests); ``clock`` gives the instant legs
    are valued at, strategies saved at and orders placed at. The repositories are opened
    on first use, so the service starts, and ``/readyz`` reports the store, while it is
    down.
    """
    settings = settings or load_settings()
    if settings.redis_url is None:
        raise SettingsError(
            "REDIS_URL: paper_service needs the Redis the workers keep the newest chains in"
            " (e.g. redis://127.0.0.1:6379/0); it does not start an embedded one"
        )
    store_url = settings.store_url

    def _open() -> StrategyStore:
        if strategies is not None:
            return strategies
        from store.strategies import open_strategy_store

        return open_strategy_store(store_url)

    def _open_paper() -> PaperStore:
        if paper is not None:
            return paper
        from store.paper import account_rules, open_paper_store

        return open_paper_store(store_url, account_rules(settings.paper))

    client = make_redis(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, connect_timeout=REDIS_TIMEOUT_S,
        retries=1,
    )  # fmt: skip
    repository = LazyRepository("strategy store", _open)
    paper_repository = LazyRepository("paper store", _open_paper)
    # one STORE_URL: the strategy repository's check is the paper repository's too
    app = create_base_app(
        SERVICE, settings, readiness={"redis": client.ping, "store": repository.ping}
    )
    if emitter is None:
        from common.queue_emitter import QueueEmitter

        emitter = QueueEmitter(settings.redis_url)
    registry = serving_registry(settings)
    app.extensions[EXTENSION] = PaperContext(
        strategies=repository,
        reader=LatestReader(client),
        registry=registry,
        products=frozenset(registry.products),
        strategies_per_user=settings.paper.strategies_per_user,
        clock=clock,
        paper=paper_repository,
        announcer=Announcer(client, emitter),
    )
    install_error_handlers(app, settings.paper.strategies_per_user)
    install_paper_error_handlers(app)
    api = make_api(app, "paper")
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
