"""The saved-strategy repository: its port and the factory choosing its adapter from
``STORE_URL``.

The same URL as the main store (``store.parse_store_url``): ``sqlite:///…`` opens the table
``strategies`` in the main store's SQLite file, ``mongodb://…`` the collections
``strategies`` and ``strategy_quotas`` in its database. Adapters are imported only when
chosen.
"""

from __future__ import annotations

from store import parse_store_url
from store.strategies.port import StrategyLimitReached, StrategyStore

__all__ = ["StrategyLimitReached", "StrategyStore", "open_strategy_store"]


def open_strategy_store(url: str) -> StrategyStore:
    """The strategy repository at ``url``; ``ValueError`` naming STORE_URL for an unusable
    URL. Connecting may raise ``StoreUnavailable`` (retry later)."""
    where = parse_store_url(url)
    if where.adapter == "sqlite":
        from store.strategies.sqlite import SqliteStrategyStore

        return SqliteStrategyStore(where.path, busy_timeout_ms=where.busy_timeout_ms)
    from store.strategies.mongo import MongoStrategyStore

    return MongoStrategyStore(url)
